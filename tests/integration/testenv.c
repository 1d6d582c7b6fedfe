/* testenv.c - shared helpers of the integration tests. */
#include "testenv.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "saga/envelope.h"
#include "saga/err.h"
#include "saga/log.h"

void testenv_load(void)
{
    const char *path = getenv("SAGA_TEST_STATE");
    char line[1024];
    FILE *f;

    ck_assert_msg(path != NULL, "SAGA_TEST_STATE is not set: run through ctest");
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s: did servers.start run?", path);
    while (fgets(line, sizeof(line), f)) {
        char *eq = strchr(line, '=');
        if (!eq || line[0] == '#')
            continue;
        *eq = '\0';
        line[strcspn(line, "\0")] = '\0';
        eq[1 + strcspn(eq + 1, "\r\n")] = '\0';
        setenv(line, eq + 1, 1);
    }
    fclose(f);
}

void testenv_config_empty(saga_config *cfg, const char *service, const char *dbname)
{
    char err[512];
    const char *src = getenv("SAGA_SOURCE_DIR");
    saga_db *db;

    testenv_load();
    setenv("SAGA_RETRY_BASE_MS", "20", 1);
    setenv("SAGA_RETRY_MAX_MS", "500", 1);
    setenv("SAGA_RELAY_POLL_MS", "50", 1);
    if (!getenv("SAGA_LOG_LEVEL"))
        setenv("SAGA_LOG_LEVEL", "warn", 1);
    ck_assert_int_eq(saga_config_load(cfg, service, 0, err, sizeof(err)), SAGA_OK);
    saga_log_init(service, cfg->log_level);
    if (!src)
        src = ".";
    snprintf(cfg->migrations_dir, sizeof(cfg->migrations_dir), "%s/deploy/mysql", src);
    snprintf(cfg->schemas_dir, sizeof(cfg->schemas_dir), "%s/schemas", src);

    /* connect without a database to recreate it */
    saga_config admin = *cfg;
    snprintf(admin.mysql_database, sizeof(admin.mysql_database), "saga_test_%s", dbname);
    snprintf(cfg->mysql_database, sizeof(cfg->mysql_database), "saga_test_%s", dbname);
    admin.mysql_database[0] = '\0';
    db = saga_db_open(&admin, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
             cfg->mysql_database, cfg->mysql_database);
    ck_assert_msg(saga_db_exec_script(db, sql) == SAGA_OK, "%s", saga_db_error(db));
    saga_db_close(db);
}

void testenv_config(saga_config *cfg, const char *service, const char *dbname)
{
    char err[512];

    testenv_config_empty(cfg, service, dbname);
    saga_db *db = saga_db_open(cfg, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_msg(saga_db_migrate(db, cfg->migrations_dir, service, err, sizeof(err)) == SAGA_OK,
                  "%s", err);
    saga_db_close(db);
}

void testenv_migrations_copy(const saga_config *cfg, const char *service, const char *name,
                             const char *skip, char *dir, size_t dirlen)
{
    const char *subs[] = {"common", service};
    char cmd[1200], from[1024], to[1024];

    snprintf(dir, dirlen, "%s/%s", getenv("SAGA_TEST_DIR"), name);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (size_t s = 0; s < 2; s++) {
        snprintf(from, sizeof(from), "%s/%s", cfg->migrations_dir, subs[s]);
        snprintf(to, sizeof(to), "%s/%s", dir, subs[s]);
        ck_assert_int_eq(mkdir(to, 0755), 0);
        DIR *d = opendir(from);
        ck_assert_msg(d != NULL, "cannot open %s", from);
        for (struct dirent *de; (de = readdir(d));) {
            size_t len = strlen(de->d_name), skip_len = skip ? strlen(skip) : 0;
            if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0 ||
                (skip && len >= skip_len && strcmp(de->d_name + len - skip_len, skip) == 0))
                continue;
            snprintf(from, sizeof(from), "%s/%s/%s", cfg->migrations_dir, subs[s], de->d_name);
            snprintf(to, sizeof(to), "%s/%s/%s", dir, subs[s], de->d_name);
            ck_assert_int_eq(symlink(from, to), 0);
        }
        closedir(d);
    }
}

saga_schema_registry *testenv_schemas(void)
{
    char path[600], err[512];
    saga_schema_registry *reg = NULL;
    const char *src = getenv("SAGA_SOURCE_DIR");

    snprintf(path, sizeof(path), "%s/schemas", src ? src : ".");
    ck_assert_msg(saga_schema_registry_load(path, &reg, err, sizeof(err)) == SAGA_OK, "%s", err);
    return reg;
}

void testenv_run_id(char out[16])
{
    char uuid[SAGA_UUID_LEN + 1];
    saga_uuid_v4(uuid);
    memcpy(out, uuid, 8);
    out[8] = '\0';
}

static rd_kafka_conf_t *base_conf(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[256];
    ck_assert(rd_kafka_conf_set(conf, "bootstrap.servers", getenv("SAGA_KAFKA_BOOTSTRAP"), why,
                                sizeof(why)) == RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_log_cb(conf, saga_log_rdkafka);
    return conf;
}

rd_kafka_t *testenv_producer(void)
{
    char why[256];
    rd_kafka_conf_t *conf = base_conf();
    rd_kafka_conf_set(conf, "linger.ms", "0", why, sizeof(why));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    ck_assert_msg(rk != NULL, "%s", why);
    return rk;
}

void testenv_produce(rd_kafka_t *rk, const char *topic, const char *key, const char *payload,
                     size_t len)
{
    rd_kafka_resp_err_t kerr = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    ck_assert_msg(kerr == 0, "produce: %s", rd_kafka_err2str(kerr));
    ck_assert_int_eq(rd_kafka_flush(rk, 10000), 0);
}

rd_kafka_t *testenv_reader(const char *topic)
{
    char why[256];
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_conf_t *conf = base_conf();

    /* no group: partitions are assigned directly, which is immediate, and every
     * partition reports its end */
    rd_kafka_conf_set(conf, "group.id", "test-reader", why, sizeof(why));
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", why, sizeof(why));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", why, sizeof(why));
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", why, sizeof(why));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    ck_assert_msg(rk != NULL, "%s", why);
    rd_kafka_poll_set_consumer(rk);

    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
    ck_assert_int_eq(md->topic_cnt, 1);
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    ck_assert_int_eq(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rk;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t testenv_read_key(rd_kafka_t *reader, const char *key, size_t want, int timeout_ms,
                        testenv_msg_fn fn, void *ud)
{
    size_t seen = 0;
    long long deadline = now_ms() + timeout_ms;
    size_t klen = strlen(key);
    rd_kafka_topic_partition_list_t *assigned = NULL;
    bool at_end[64] = {false};

    ck_assert_int_eq(rd_kafka_assignment(reader, &assigned), 0);
    int nparts = assigned->cnt;
    rd_kafka_topic_partition_list_destroy(assigned);
    ck_assert_int_le(nparts, 64);

    while (now_ms() < deadline) {
        int ended = 0;
        for (int i = 0; i < nparts; i++)
            ended += at_end[i];
        if (ended == nparts && seen >= want)
            break;
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(reader, 100);
        if (!rkm)
            continue;
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (rkm->partition < 64)
                at_end[rkm->partition] = true;
        } else if (!rkm->err) {
            if (rkm->partition < 64)
                at_end[rkm->partition] = false;
            if (rkm->key_len == klen && memcmp(rkm->key, key, klen) == 0) {
                seen++;
                if (fn)
                    fn(rkm, ud);
            }
        }
        rd_kafka_message_destroy(rkm);
    }
    return seen;
}

const char *testenv_header(const rd_kafka_message_t *rkm, const char *name, char *buf,
                           size_t buflen)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *value;
    size_t size;

    if (rd_kafka_message_headers(rkm, &hdrs) != 0)
        return NULL;
    if (rd_kafka_header_get_last(hdrs, name, &value, &size) != 0)
        return NULL;
    snprintf(buf, buflen, "%.*s", (int)size, (const char *)value);
    return buf;
}

void testenv_broker(const char *action)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "curl -sf -X POST %s/brokers/%s > /dev/null",
             getenv("SAGA_BROKER_CONTROL_URL"), action);
    ck_assert_msg(system(cmd) == 0, "broker control %s failed", action);
}

void testenv_sleep_ms(long ms)
{
    usleep((useconds_t)ms * 1000);
}

long long testenv_wait_i64(saga_db *db, const char *sql, long long want, int timeout_ms)
{
    long long v = -1;
    long long deadline = now_ms() + timeout_ms;
    do {
        if (saga_db_query_i64(db, sql, NULL, 0, &v) == SAGA_OK && v == want)
            return v;
        testenv_sleep_ms(50);
    } while (now_ms() < deadline);
    return v;
}

int testenv_http_get(int port, const char *path, char *body, size_t bodylen)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    enum { RESP_MAX = 1 << 20 };
    char req[512];
    char *resp = malloc(RESP_MAX);
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        goto out;
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n)
        goto out;
    for (;;) {
        ssize_t r = read(fd, resp + got, RESP_MAX - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == RESP_MAX - 1)
            break;
    }
    resp[got] = '\0';
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    if (body) {
        const char *start = strstr(resp, "\r\n\r\n");
        snprintf(body, bodylen, "%s", start ? start + 4 : "");
    }
out:
    if (fd >= 0)
        close(fd);
    free(resp);
    return status;
}
