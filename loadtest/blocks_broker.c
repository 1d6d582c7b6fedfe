/* blocks_broker.c - the broker's produce rate, consume rate and produce->consume
 * latency, on a scratch topic, without the services.
 *
 * Produce: one idempotent producer (acks=all, linger.ms 5) as fast as librdkafka
 * takes messages, counted by successful delivery reports. Consume: one consumer
 * reading all the topic retains from the beginning, again and again (the local
 * mock keeps ~5 MiB per partition, so one pass is short). Latency: a consumer sits
 * at the end of every partition with fetch.wait.max.ms 5 (the services' setting)
 * while a producer configured like the services' outbox relay (acks=all,
 * idempotent, linger.ms 1) sends at a fixed rate; each message carries its send
 * time. Producer and consumer share one process, so one monotonic clock. */
#include "blocks.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define SCRATCH_PARTITIONS 6
#define SCRATCH_REPLICATION 3
#define FLUSH_TIMEOUT_MS 30000

typedef struct kv {
    const char *name, *value;
} kv;

static rd_kafka_t *kafka_new(rd_kafka_type_t type, const blocks_opts *o, const kv *settings,
                             void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                             void *opaque, char *err, size_t errlen)
{
    char why[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, why, sizeof(why)) ||
        rd_kafka_conf_set(conf, "client.id", "saga-blocks", why, sizeof(why)))
        goto bad;
    for (const kv *s = settings; s && s->name; s++)
        if (rd_kafka_conf_set(conf, s->name, s->value, why, sizeof(why)))
            goto bad;
    if (dr)
        rd_kafka_conf_set_dr_msg_cb(conf, dr);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof(why));
    if (!rk)
        goto bad;
    /* conf is now owned by rk */
    return rk;
bad:
    snprintf(err, errlen, "kafka client: %.200s", why);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* The partition count of topic from metadata (no topic handle: nothing is
 * auto-created), or -1 if the broker does not know it. */
static int topic_partitions(rd_kafka_t *rk, const char *topic)
{
    const rd_kafka_metadata_t *md = NULL;
    int partitions = -1;
    if (rd_kafka_metadata(rk, 1, NULL, &md, 5000))
        return -1;
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err &&
            md->topics[i].partition_cnt > 0)
            partitions = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return partitions;
}

/* Makes sure the scratch topic exists and returns its partition count, or -1 with
 * err set. CreateTopics first (6 partitions, like the event topics); a broker that
 * does not answer it (librdkafka 2.0.2's mock cluster) creates the topic on the
 * producer's metadata request instead, with its default partition count. */
static int topic_prepare(rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    char why[512];
    int partitions = topic_partitions(rk, topic);
    rd_kafka_NewTopic_t *nt = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = NULL;

    if (partitions > 0)
        return partitions;
    nt = rd_kafka_NewTopic_new(topic, SCRATCH_PARTITIONS, SCRATCH_REPLICATION, why, sizeof(why));
    if (!nt) {
        snprintf(err, errlen, "scratch topic %.64s: %.160s", topic, why);
        goto out;
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 3000); /* an error or no answer: the fallback below */
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    /* a new topic's leaders may take a moment */
    for (int tries = 0; tries < 50 && partitions < 0; tries++) {
        if (!rd_kafka_metadata(rk, 0, rkt, &md, 5000)) {
            if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
                partitions = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        if (partitions < 0) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (partitions < 0)
        snprintf(err, errlen, "cannot create scratch topic %.64s (no metadata for it)", topic);
out:
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (ev)
        rd_kafka_event_destroy(ev);
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    if (q)
        rd_kafka_queue_destroy(q);
    return partitions;
}

static void payload_fill(char *p, int len)
{
    for (int i = 0; i < len; i++)
        p[i] = (char)('a' + (i * 7) % 26);
}

/* ---- produce --------------------------------------------------------------------- */

typedef struct produce_counts {
    unsigned long long ok, failed;
    rd_kafka_resp_err_t first_err;
} produce_counts;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    produce_counts *c = opaque;
    if (rkm->err) {
        c->failed++;
        if (!c->first_err)
            c->first_err = rkm->err;
    } else {
        c->ok++;
    }
}

static int measure_produce(const blocks_opts *o, blocks_broker_result *r)
{
    static const kv settings[] = {{"acks", "all"},
                                  {"enable.idempotence", "true"},
                                  {"linger.ms", "5"},
                                  {"queue.buffering.max.messages", "1000000"},
                                  {NULL, NULL}};
    produce_counts c = {0};
    char key[40];
    char *payload = malloc((size_t)o->message_bytes);
    rd_kafka_t *rk = payload ? kafka_new(RD_KAFKA_PRODUCER, o, settings, on_delivery, &c, r->error,
                                         sizeof(r->error))
                             : NULL;
    if (!rk) {
        if (!payload)
            snprintf(r->error, sizeof(r->error), "out of memory");
        free(payload);
        return -1;
    }
    payload_fill(payload, o->message_bytes);
    double start = blocks_now(), deadline = start + o->seconds;
    unsigned long long n = 0;
    while (blocks_now() < deadline) {
        for (int i = 0; i < 1000; i++, n++) {
            int klen = snprintf(key, sizeof(key), "%016llx-%019llu", n * 0x9e3779b97f4a7c15ULL, n);
            rd_kafka_resp_err_t err;
            while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic),
                                            RD_KAFKA_V_KEY(key, (size_t)klen),
                                            RD_KAFKA_V_VALUE(payload, (size_t)o->message_bytes),
                                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                            RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 1);
            if (err) {
                snprintf(r->error, sizeof(r->error), "produce: %s", rd_kafka_err2str(err));
                goto done;
            }
        }
        rd_kafka_poll(rk, 0);
    }
done:
    if (rd_kafka_flush(rk, FLUSH_TIMEOUT_MS))
        snprintf(r->error, sizeof(r->error), "%d messages still unsent after %d s",
                 rd_kafka_outq_len(rk), FLUSH_TIMEOUT_MS / 1000);
    r->produce_s = blocks_now() - start;
    r->produced = c.ok;
    if (c.failed && !r->error[0])
        snprintf(r->error, sizeof(r->error), "%llu deliveries failed: %s", c.failed,
                 rd_kafka_err2str(c.first_err));
    if (r->produce_s > 0) {
        r->produce_per_s = (double)c.ok / r->produce_s;
        r->produce_mib_per_s = r->produce_per_s * o->message_bytes / (1024.0 * 1024.0);
    }
    rd_kafka_destroy(rk);
    free(payload);
    return r->error[0] ? -1 : 0;
}

/* ---- consume --------------------------------------------------------------------- */

static rd_kafka_topic_partition_list_t *all_partitions(const char *topic, int partitions,
                                                       int64_t offset)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = offset;
    return parts;
}

static int measure_consume(const blocks_opts *o, int partitions, blocks_broker_result *r)
{
    static const kv settings[] = {
        {"group.id", "saga-blocks-consume"}, {"enable.auto.commit", "false"},
        {"enable.partition.eof", "true"},    {"fetch.wait.max.ms", "5"},
        {"auto.offset.reset", "earliest"},   {NULL, NULL}};
    rd_kafka_t *rk =
        kafka_new(RD_KAFKA_CONSUMER, o, settings, NULL, NULL, r->error, sizeof(r->error));
    if (!rk)
        return -1;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts =
        all_partitions(o->topic, partitions, RD_KAFKA_OFFSET_BEGINNING);
    char *at_end = calloc((size_t)partitions, 1);
    double start = blocks_now(), deadline = start + o->seconds;
    unsigned long long pass_count = 0;
    int ended = 0;

    rd_kafka_assign(rk, parts);
    while (at_end) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
        if (!rkm) {
            if (blocks_now() > deadline + 10) {
                snprintf(r->error, sizeof(r->error), "consume: no end of partition in 10 s");
                break;
            }
            continue;
        }
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (rkm->partition >= 0 && rkm->partition < partitions && !at_end[rkm->partition]) {
                at_end[rkm->partition] = 1;
                ended++;
            }
        } else if (rkm->err) {
            snprintf(r->error, sizeof(r->error), "consume: %s", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            break;
        } else {
            r->consumed++;
            pass_count++;
        }
        rd_kafka_message_destroy(rkm);
        if (ended == partitions) {
            /* everything retained is read: again from the start while time is left */
            if (blocks_now() >= deadline || pass_count == 0)
                break;
            memset(at_end, 0, (size_t)partitions);
            ended = 0;
            pass_count = 0;
            rd_kafka_assign(rk, NULL);
            rd_kafka_assign(rk, parts);
        }
    }
    r->consume_s = blocks_now() - start;
    if (r->consume_s > 0)
        r->consume_per_s = (double)r->consumed / r->consume_s;
    if (!at_end)
        snprintf(r->error, sizeof(r->error), "out of memory");
    free(at_end);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return r->error[0] ? -1 : 0;
}

/* ---- latency --------------------------------------------------------------------- */

typedef struct latency_reader {
    rd_kafka_t *rk;
    volatile int run;
    int warm_seen; /* a warm-up message came through (under lock) */
    double *lat_ms;
    size_t n, cap;
    unsigned long long received;
    pthread_mutex_t lock;
} latency_reader;

static void *latency_reader_main(void *arg)
{
    latency_reader *lr = arg;
    while (lr->run) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(lr->rk, 50);
        if (!rkm)
            continue;
        if (!rkm->err && rkm->len >= 1 && ((const char *)rkm->payload)[0] == 'w') {
            pthread_mutex_lock(&lr->lock);
            lr->warm_seen = 1;
            pthread_mutex_unlock(&lr->lock);
        } else if (!rkm->err && rkm->len >= 20) {
            char stamp[21];
            memcpy(stamp, rkm->payload, 20);
            stamp[20] = '\0';
            double sent = (double)strtoll(stamp, NULL, 10) / 1e9;
            double ms = (blocks_now() - sent) * 1000.0;
            pthread_mutex_lock(&lr->lock);
            if (lr->n < lr->cap)
                lr->lat_ms[lr->n++] = ms;
            lr->received++;
            pthread_mutex_unlock(&lr->lock);
        }
        rd_kafka_message_destroy(rkm);
    }
    return NULL;
}

static void sleep_until(double t)
{
    double d = t - blocks_now();
    if (d <= 0)
        return;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static int measure_latency(const blocks_opts *o, int partitions, blocks_broker_result *r)
{
    static const kv consumer_settings[] = {{"group.id", "saga-blocks-latency"},
                                           {"enable.auto.commit", "false"},
                                           {"fetch.wait.max.ms", "5"},
                                           {NULL, NULL}};
    static const kv producer_settings[] = {
        {"acks", "all"}, {"enable.idempotence", "true"}, {"linger.ms", "1"}, {NULL, NULL}};
    latency_reader lr = {.run = 1};
    produce_counts c = {0};
    unsigned long long total = (unsigned long long)(o->latency_rate * o->seconds);
    char *payload = malloc((size_t)o->message_bytes);
    rd_kafka_t *prod = NULL;
    pthread_t reader;
    int reading = 0;
    char key[32];

    pthread_mutex_init(&lr.lock, NULL);
    lr.cap = total + 1000;
    lr.lat_ms = malloc(lr.cap * sizeof(*lr.lat_ms));
    if (!payload || !lr.lat_ms || o->message_bytes < 20) {
        snprintf(r->error, sizeof(r->error), "latency: out of memory or messages under 20 bytes");
        goto out;
    }
    payload_fill(payload, o->message_bytes);
    lr.rk =
        kafka_new(RD_KAFKA_CONSUMER, o, consumer_settings, NULL, NULL, r->error, sizeof(r->error));
    if (!lr.rk)
        goto out;
    rd_kafka_poll_set_consumer(lr.rk);
    rd_kafka_topic_partition_list_t *parts =
        all_partitions(o->topic, partitions, RD_KAFKA_OFFSET_END);
    rd_kafka_assign(lr.rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    prod = kafka_new(RD_KAFKA_PRODUCER, o, producer_settings, on_delivery, &c, r->error,
                     sizeof(r->error));
    if (!prod)
        goto out;
    if (pthread_create(&reader, NULL, latency_reader_main, &lr)) {
        snprintf(r->error, sizeof(r->error), "latency: cannot start a thread");
        goto out;
    }
    reading = 1;
    /* Warm-up: the consumer resolves the end offsets and the producer gets its
     * idempotence id (either takes up to a second or so) before the clock starts;
     * neither is a per-message cost. */
    payload[0] = 'w';
    double warm_end = blocks_now() + 15.0;
    for (int warm = 0; !warm && blocks_now() < warm_end;) {
        rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY("warm", 4),
                          RD_KAFKA_V_VALUE(payload, (size_t)o->message_bytes),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        rd_kafka_poll(prod, 0);
        sleep_until(blocks_now() + 0.02);
        pthread_mutex_lock(&lr.lock);
        warm = lr.warm_seen;
        pthread_mutex_unlock(&lr.lock);
    }
    rd_kafka_flush(prod, FLUSH_TIMEOUT_MS);
    sleep_until(blocks_now() + 0.2);

    double start = blocks_now();
    for (unsigned long long i = 0; i < total; i++) {
        sleep_until(start + (double)i / o->latency_rate);
        char stamp[21];
        snprintf(stamp, sizeof(stamp), "%020" PRId64, (int64_t)(blocks_now() * 1e9));
        memcpy(payload, stamp, 20);
        int klen = snprintf(key, sizeof(key), "lat-%llu", i);
        rd_kafka_resp_err_t err =
            rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(key, (size_t)klen),
                              RD_KAFKA_V_VALUE(payload, (size_t)o->message_bytes),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err) {
            snprintf(r->error, sizeof(r->error), "latency produce: %s", rd_kafka_err2str(err));
            break;
        }
        r->lat_sent++;
        rd_kafka_poll(prod, 0);
    }
    rd_kafka_flush(prod, FLUSH_TIMEOUT_MS);
    /* the last messages' way to the consumer */
    double wait_end = blocks_now() + 5.0;
    while (blocks_now() < wait_end) {
        pthread_mutex_lock(&lr.lock);
        unsigned long long got = lr.received;
        pthread_mutex_unlock(&lr.lock);
        if (got >= r->lat_sent)
            break;
        sleep_until(blocks_now() + 0.01);
    }
out:
    if (reading) {
        lr.run = 0;
        pthread_join(reader, NULL);
    }
    r->lat_received = lr.received;
    if (lr.n) {
        r->lat_p50_ms = blocks_quantile(lr.lat_ms, lr.n, 0.50);
        r->lat_p99_ms = blocks_quantile(lr.lat_ms, lr.n, 0.99);
        r->lat_max_ms = blocks_quantile(lr.lat_ms, lr.n, 1.0);
    }
    if (!r->error[0] && c.failed)
        snprintf(r->error, sizeof(r->error), "latency: %llu deliveries failed: %s", c.failed,
                 rd_kafka_err2str(c.first_err));
    if (prod)
        rd_kafka_destroy(prod);
    if (lr.rk) {
        rd_kafka_consumer_close(lr.rk);
        rd_kafka_destroy(lr.rk);
    }
    free(lr.lat_ms);
    free(payload);
    pthread_mutex_destroy(&lr.lock);
    return r->error[0] ? -1 : 0;
}

int blocks_broker_measure(const blocks_opts *o, blocks_broker_result *r)
{
    static const kv admin_settings[] = {{NULL, NULL}};
    rd_kafka_t *rk =
        kafka_new(RD_KAFKA_PRODUCER, o, admin_settings, NULL, NULL, r->error, sizeof(r->error));
    if (!rk)
        return -1;
    int partitions = topic_prepare(rk, o->topic, r->error, sizeof(r->error));
    rd_kafka_destroy(rk);
    if (partitions < 0)
        return -1;
    r->partitions = partitions;
    if (measure_produce(o, r) || measure_consume(o, partitions, r) ||
        measure_latency(o, partitions, r))
        return -1;
    return 0;
}
