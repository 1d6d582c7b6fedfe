/* broker.c - saga-broker: a local Kafka-protocol broker for development and tests.
 *
 * librdkafka's mock cluster (rd_kafka_mock_cluster_new) with the project's topics
 * created up front, and a small HTTP control API on 127.0.0.1 to take brokers down
 * and bring them back (fault injection for the chaos and integration tests).
 *
 *   saga-broker [--brokers N] [--partitions N] [--topics a,b,c]
 *               [--bootstrap-file PATH] [--control-port N]
 *
 *   GET  /health                  200 {"status":"ok"}
 *   GET  /bootstrap               200 the bootstrap.servers list (text/plain)
 *   POST /brokers/all/down|up     every broker
 *   POST /brokers/<id>/down|up    one broker (ids 1..N)
 *
 * RETENTION - read before sizing anything. The mock keeps at most 5 MiB of record
 * batches AND at most 100,000 record batches ("message sets") per partition: see
 * rd_kafka_mock_partition_init() in librdkafka's src/rdkafka_mock.c
 * (mpart->max_size = 1024 * 1024 * 5; mpart->max_cnt = 100000), enforced on every
 * append by rd_kafka_mock_msgset_new(), which drops the oldest batches until the
 * partition is within both limits again. Neither limit can be changed through the
 * public API of librdkafka 2.0.2. So the log start offset moves forward silently,
 * and a consumer that falls further behind than ~5 MiB on a partition loses those
 * messages (its next fetch is OFFSET_OUT_OF_RANGE and auto.offset.reset decides
 * where it resumes). The partition count is how we size it: a topic retains about
 * partitions x 5 MiB (6 partitions: ~30 MiB, some tens of thousands of ~300-byte
 * events per topic when keys spread evenly). Raise --partitions (or
 * SAGA_TOPIC_PARTITIONS) for long load tests with slow consumers. Everything is
 * in memory and gone when this process exits; there is no persistence.
 *
 * Logs: one JSON object per line on stdout ({"ts","level","svc":"broker","event",
 * "msg"}). SIGTERM/SIGINT: the handler only clears the run flag; main then stops
 * the control API, removes the bootstrap file, destroys the cluster and exits 0.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <microhttpd.h>

#include "saga/version.h"

#define BROKER_DEFAULT_TOPICS                                                                      \
    "order-events,inventory-events,payment-events,notification-events,saga-dlq"
#define BROKER_DEFAULT_BROKERS 3
#define BROKER_DEFAULT_PARTITIONS 6
#define BROKER_DEFAULT_CONTROL_PORT 19092
#define BROKER_LOG_MSG_MAX 1024

typedef struct broker_opts {
    int brokers;
    int partitions;
    const char *topics;         /* comma-separated, borrowed from argv or a literal */
    const char *bootstrap_file; /* NULL: do not write one */
    int control_port;           /* 0: pick a free port (logged) */
} broker_opts;

/* Shared with the control API's thread; set before the daemon starts, then read-only. */
typedef struct broker_state {
    rd_kafka_mock_cluster_t *mcluster;
    const char *bootstraps; /* owned by mcluster */
    int brokers;
} broker_state;

static volatile sig_atomic_t run = 1;

static void broker_on_signal(int sig)
{
    (void)sig;
    run = 0;
}

/* ---- logging ------------------------------------------------------------ */

/* Appends s to out (size outlen, always NUL-terminated) as the inside of a JSON
 * string: quote, backslash and control characters escaped; bytes >= 0x80 copied. */
static void broker_json_escape(char *out, size_t outlen, const char *s)
{
    size_t n = 0;

    for (; *s && n + 7 < outlen; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, outlen - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

/* Writes one log line. Thread-safe: librdkafka calls it from its own threads, the
 * control API from the daemon's thread; one locked stdio call per line. */
static void broker_vlog(const char *level, const char *event, const char *fmt, va_list ap)
{
    char msg[BROKER_LOG_MSG_MAX];
    char esc[BROKER_LOG_MSG_MAX * 2];
    char ts[32];
    struct timespec now;
    struct tm tm;
    size_t len;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        msg[--len] = '\0';
    broker_json_escape(esc, sizeof(esc), msg);

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

    flockfile(stdout);
    printf("{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"svc\":\"broker\",\"event\":\"%s\","
           "\"msg\":\"%s\"}\n",
           ts, now.tv_nsec / 1000000L, level, event, esc);
    fflush(stdout);
    funlockfile(stdout);
}

static void broker_log(const char *level, const char *event, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    broker_vlog(level, event, fmt, ap);
    va_end(ap);
}

/* libmicrohttpd's error log (MHD_USE_ERROR_LOG), as JSON lines like the rest. */
static void broker_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    broker_vlog("error", "broker.control.mhd", fmt, ap);
}

static void broker_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const char *lvl = level <= 3 ? "error" : level == 4 ? "warn" : level <= 6 ? "info" : "debug";

    (void)rk;
    /* The handle only hosts the mock cluster and never connects anywhere. */
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
        return;
    broker_log(lvl, "broker.rdkafka", "%s: %s", fac, buf);
}

/* ---- options ------------------------------------------------------------ */

/* Parses a decimal int in [min, max]. Returns 0, or -1 if s is not one. */
static int broker_parse_int(const char *s, long min, long max, int *out)
{
    char *end = NULL;
    long v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static void broker_usage(FILE *f)
{
    fprintf(f, "usage: saga-broker [--brokers N] [--partitions N] [--topics a,b,c]\n"
               "                   [--bootstrap-file PATH] [--control-port N]\n"
               "defaults: 3 brokers, 6 partitions (env SAGA_TOPIC_PARTITIONS),\n"
               "          topics " BROKER_DEFAULT_TOPICS ",\n"
               "          control port 19092 on 127.0.0.1 (0 picks a free one)\n"
               "--version (-V) prints the version and the commit of this build\n");
}

/* Fills opts from the environment and argv. Returns 0, 1 for --help, -1 on a bad
 * option (after printing what is wrong and the usage to stderr). */
static int broker_opts_parse(broker_opts *opts, int argc, char **argv)
{
    const char *env = getenv("SAGA_TOPIC_PARTITIONS");
    int i;

    opts->brokers = BROKER_DEFAULT_BROKERS;
    opts->partitions = BROKER_DEFAULT_PARTITIONS;
    opts->topics = BROKER_DEFAULT_TOPICS;
    opts->bootstrap_file = NULL;
    opts->control_port = BROKER_DEFAULT_CONTROL_PORT;

    if (env && *env && broker_parse_int(env, 1, 10000, &opts->partitions)) {
        fprintf(stderr, "saga-broker: SAGA_TOPIC_PARTITIONS=%s is not a number in 1..10000\n", env);
        return -1;
    }

    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;

        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            broker_usage(stdout);
            return 1;
        }
        if (!val) {
            fprintf(stderr, "saga-broker: %s needs a value\n", opt);
            broker_usage(stderr);
            return -1;
        }
        if (!strcmp(opt, "--brokers"))
            bad = broker_parse_int(val, 1, 64, &opts->brokers);
        else if (!strcmp(opt, "--partitions"))
            bad = broker_parse_int(val, 1, 10000, &opts->partitions);
        else if (!strcmp(opt, "--topics"))
            opts->topics = val;
        else if (!strcmp(opt, "--bootstrap-file"))
            opts->bootstrap_file = val;
        else if (!strcmp(opt, "--control-port"))
            bad = broker_parse_int(val, 0, 65535, &opts->control_port);
        else {
            fprintf(stderr, "saga-broker: unknown option %s\n", opt);
            broker_usage(stderr);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "saga-broker: invalid value for %s: %s\n", opt, val);
            return -1;
        }
        i++;
    }
    return 0;
}

/* ---- cluster ------------------------------------------------------------ */

/* Creates every topic of the comma-separated list. Returns 0 or -1 (logged). */
static int broker_topics_create(rd_kafka_mock_cluster_t *mcluster, const char *topics,
                                int partitions, int replication)
{
    char *list = NULL;
    char *save = NULL;
    char *topic;
    int created = 0;
    int rc = -1;

    list = strdup(topics);
    if (!list) {
        broker_log("error", "broker.topics.failed", "out of memory");
        goto out;
    }
    for (topic = strtok_r(list, ",", &save); topic; topic = strtok_r(NULL, ",", &save)) {
        rd_kafka_resp_err_t err;

        if (!*topic)
            continue;
        err = rd_kafka_mock_topic_create(mcluster, topic, partitions, replication);
        if (err) {
            broker_log("error", "broker.topics.failed", "cannot create topic %s: %s", topic,
                       rd_kafka_err2str(err));
            goto out;
        }
        broker_log("info", "broker.topic.created", "topic %s: %d partitions, replication factor %d",
                   topic, partitions, replication);
        created++;
    }
    if (!created) {
        broker_log("error", "broker.topics.failed", "no topics given");
        goto out;
    }
    rc = 0;
out:
    free(list);
    return rc;
}

/* Writes "bootstraps\n" to path atomically (temporary file, fsync, rename), so a
 * reader sees either no file or the whole list. Returns 0 or -1 (logged). */
static int broker_bootstrap_write(const char *path, const char *bootstraps)
{
    char tmp[PATH_MAX];
    FILE *f = NULL;
    int rc = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
        broker_log("error", "broker.bootstrap_file.failed", "path too long: %s", path);
        goto out;
    }
    f = fopen(tmp, "w");
    if (!f) {
        broker_log("error", "broker.bootstrap_file.failed", "cannot create %s: %s", tmp,
                   strerror(errno));
        goto out;
    }
    if (fprintf(f, "%s\n", bootstraps) < 0 || fflush(f) || fsync(fileno(f))) {
        broker_log("error", "broker.bootstrap_file.failed", "cannot write %s: %s", tmp,
                   strerror(errno));
        goto out;
    }
    if (fclose(f)) {
        f = NULL;
        broker_log("error", "broker.bootstrap_file.failed", "cannot write %s: %s", tmp,
                   strerror(errno));
        goto out;
    }
    f = NULL;
    if (rename(tmp, path)) {
        broker_log("error", "broker.bootstrap_file.failed", "cannot rename %s to %s: %s", tmp, path,
                   strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rc)
        unlink(tmp);
    return rc;
}

/* ---- control API -------------------------------------------------------- */

static enum MHD_Result broker_reply(struct MHD_Connection *conn, unsigned int status,
                                    const char *content_type, const char *body)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result broker_reply_json(struct MHD_Connection *conn, unsigned int status,
                                         const char *body)
{
    return broker_reply(conn, status, "application/json", body);
}

/* POST /brokers/<all|id>/<up|down>; rest is the part after "/brokers/". */
static enum MHD_Result broker_route_brokers(broker_state *st, struct MHD_Connection *conn,
                                            const char *method, const char *rest)
{
    char body[160];
    char which[16];
    const char *slash = strchr(rest, '/');
    const char *action;
    rd_kafka_resp_err_t err;
    int32_t id;
    int down;
    int n;

    if (!slash || (size_t)(slash - rest) >= sizeof(which) || slash == rest)
        return broker_reply_json(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}\n");
    memcpy(which, rest, (size_t)(slash - rest));
    which[slash - rest] = '\0';
    action = slash + 1;
    if (!strcmp(action, "down"))
        down = 1;
    else if (!strcmp(action, "up"))
        down = 0;
    else
        return broker_reply_json(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}\n");

    if (!strcmp(which, "all")) {
        id = -1;
    } else if (broker_parse_int(which, 1, st->brokers, &n) == 0) {
        id = n;
    } else {
        snprintf(body, sizeof(body), "{\"error\":\"no such broker\",\"brokers\":%d}\n",
                 st->brokers);
        return broker_reply_json(conn, MHD_HTTP_NOT_FOUND, body);
    }
    if (strcmp(method, MHD_HTTP_METHOD_POST))
        return broker_reply_json(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                 "{\"error\":\"method not allowed\"}\n");

    err = down ? rd_kafka_mock_broker_set_down(st->mcluster, id)
               : rd_kafka_mock_broker_set_up(st->mcluster, id);
    if (err) {
        broker_log("error", "broker.control.failed", "set broker %s %s: %s", which, action,
                   rd_kafka_err2str(err));
        snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", rd_kafka_err2name(err));
        return broker_reply_json(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, body);
    }
    broker_log("warn", down ? "broker.control.down" : "broker.control.up", "broker %s set %s",
               which, action);
    if (id == -1)
        snprintf(body, sizeof(body), "{\"broker\":\"all\",\"state\":\"%s\"}\n", action);
    else
        snprintf(body, sizeof(body), "{\"broker\":%d,\"state\":\"%s\"}\n", (int)id, action);
    return broker_reply_json(conn, MHD_HTTP_OK, body);
}

/* libmicrohttpd access handler. The first call only marks the request (queuing a
 * response there would turn keep-alive off); any body is discarded; the last call
 * routes. */
static enum MHD_Result broker_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **req_cls)
{
    static int seen;
    broker_state *st = cls;
    int is_get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);

    (void)version;
    (void)upload_data;
    if (!*req_cls) {
        *req_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (!strcmp(url, "/health")) {
        if (!is_get)
            return broker_reply_json(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                     "{\"error\":\"method not allowed\"}\n");
        return broker_reply_json(conn, MHD_HTTP_OK, "{\"status\":\"ok\"}\n");
    }
    if (!strcmp(url, "/bootstrap")) {
        char body[1024];

        if (!is_get)
            return broker_reply_json(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                     "{\"error\":\"method not allowed\"}\n");
        snprintf(body, sizeof(body), "%s\n", st->bootstraps);
        return broker_reply(conn, MHD_HTTP_OK, "text/plain", body);
    }
    if (!strncmp(url, "/brokers/", 9))
        return broker_route_brokers(st, conn, method, url + 9);
    return broker_reply_json(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}\n");
}

/* Starts the control API on 127.0.0.1:port. Returns the daemon or NULL (logged).
 * No MHD_OPTION_LISTENING_ADDRESS_REUSE: on Linux that is SO_REUSEPORT, which lets a
 * second broker bind the same control port silently instead of failing. */
static struct MHD_Daemon *broker_control_start(broker_state *st, int port)
{
    struct sockaddr_in sin;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    /* the logger first: libmicrohttpd complains (through its own logger) about
     * any option before it */
    d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
                         NULL, broker_handle, st, MHD_OPTION_EXTERNAL_LOGGER, broker_mhd_log, NULL,
                         MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_CONNECTION_TIMEOUT, 30U,
                         MHD_OPTION_END);
    if (!d) {
        broker_log("error", "broker.control.failed", "cannot listen on 127.0.0.1:%d (port in use?)",
                   port);
        return NULL;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    broker_log("info", "broker.control.listening", "control API on http://127.0.0.1:%d",
               info ? (int)info->port : port);
    return d;
}

int main(int argc, char **argv)
{
    char errstr[512];
    broker_opts opts;
    broker_state st = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    struct MHD_Daemon *daemon = NULL;
    struct sigaction sa;
    struct timespec tick = {0, 100 * 1000000L};
    int wrote_bootstrap = 0;
    int rc = 1;

    if (saga_version_requested(argc, argv, "saga-broker"))
        return 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    rc = broker_opts_parse(&opts, argc, argv);
    if (rc)
        return rc < 0 ? 2 : 0;
    rc = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = broker_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, broker_rdkafka_log);
    if (rd_kafka_conf_set(conf, "client.id", "saga-broker", errstr, sizeof(errstr))) {
        broker_log("error", "broker.start.failed", "%s", errstr);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        broker_log("error", "broker.start.failed", "cannot create the client handle: %s", errstr);
        goto out;
    }
    conf = NULL; /* now owned by rk */

    st.brokers = opts.brokers;
    st.mcluster = rd_kafka_mock_cluster_new(rk, opts.brokers);
    if (!st.mcluster) {
        broker_log("error", "broker.start.failed", "cannot create the mock cluster");
        goto out;
    }
    st.bootstraps = rd_kafka_mock_cluster_bootstraps(st.mcluster);

    if (broker_topics_create(st.mcluster, opts.topics, opts.partitions,
                             opts.brokers >= 3 ? 3 : opts.brokers))
        goto out;

    daemon = broker_control_start(&st, opts.control_port);
    if (!daemon)
        goto out;

    if (opts.bootstrap_file) {
        if (broker_bootstrap_write(opts.bootstrap_file, st.bootstraps))
            goto out;
        wrote_bootstrap = 1;
    }
    broker_log("info", "broker.ready",
               "%d brokers at %s; retention per partition: 5 MiB or 100000 batches", opts.brokers,
               st.bootstraps);

    while (run)
        nanosleep(&tick, NULL);

    broker_log("info", "broker.stopping", "signal received, shutting down");
    rc = 0;
out:
    if (daemon)
        MHD_stop_daemon(daemon);
    if (wrote_bootstrap)
        unlink(opts.bootstrap_file);
    if (st.mcluster)
        rd_kafka_mock_cluster_destroy(st.mcluster);
    if (rk)
        rd_kafka_destroy(rk);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (!rc)
        broker_log("info", "broker.stopped", "stopped");
    return rc;
}
