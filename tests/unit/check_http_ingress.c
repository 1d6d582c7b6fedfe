/* check_http_ingress.c - what the HTTP layer refuses before a handler sees a request,
 * and what bounds a client's hold on the server (common/src/http.c).
 *
 * "core": a NUL in a JSON body, a query argument or the path (400 naming where);
 * URL and headers over their limits (414/431 problem+json); the method label of
 * saga_http_requests_total bounded whatever methods clients send; /ready's check
 * cached. "connections": while one address holds idle and trickling connections,
 * it gets no more than its share, the slow ones are closed at their deadline
 * though they keep sending, and other clients are served meanwhile.
 *
 * A server on 127.0.0.1 (port 0), spoken to over plain sockets; the slow clients
 * connect from 127.0.0.2, another loopback address. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "saga/http.h"
#include "saga/log.h"
#include "saga/metrics.h"

/* --- a blocking client --- */

typedef struct answer {
    int status;
    char head[4096];
    char *body; /* malloc'd, NUL-terminated */
    size_t blen;
} answer;

static int connect_from(const char *from, int port, int timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, from, &sin.sin_addr);
    ck_assert_msg(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "bind %s: %s", from,
                  strerror(errno));
    sin.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "connect: %s",
                  strerror(errno));
    return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        ck_assert_msg(n > 0, "send: %s", strerror(errno));
        buf += n;
        len -= (size_t)n;
    }
}

/* Sends raw (len bytes) on a new connection from 127.0.0.1 and reads the answer,
 * framed by Content-Length, within 5 s. */
static void exchange(int port, const char *raw, size_t len, answer *a)
{
    int fd = connect_from("127.0.0.1", port, 5);
    send_all(fd, raw, len);
    size_t cap = 8192, got = 0;
    char *buf = malloc(cap + 1);
    char *eoh = NULL;
    ck_assert_ptr_nonnull(buf);
    memset(a, 0, sizeof(*a));
    for (;;) {
        buf[got] = '\0';
        if (!eoh && (eoh = strstr(buf, "\r\n\r\n"))) {
            size_t hlen = (size_t)(eoh - buf);
            ck_assert_uint_lt(hlen, sizeof(a->head));
            memcpy(a->head, buf, hlen);
            a->head[hlen] = '\0';
        }
        if (eoh) {
            const char *cl = strcasestr(a->head, "\r\nContent-Length:");
            ck_assert_msg(cl != NULL, "no Content-Length: %s", a->head);
            size_t want = strtoul(cl + 17, NULL, 10);
            size_t at = (size_t)(eoh - buf) + 4;
            if (got >= at + want) {
                a->body = malloc(want + 1);
                ck_assert_ptr_nonnull(a->body);
                memcpy(a->body, buf + at, want);
                a->body[want] = '\0';
                a->blen = want;
                break;
            }
        }
        if (got == cap) {
            cap *= 2;
            char *p = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(p);
            buf = p;
            eoh = NULL; /* look again in the moved buffer */
        }
        ssize_t r = recv(fd, buf + got, cap - got, 0);
        ck_assert_msg(r > 0, "recv: %s", r == 0 ? "connection closed" : strerror(errno));
        got += (size_t)r;
    }
    ck_assert_int_eq(sscanf(a->head, "HTTP/1.1 %d", &a->status), 1);
    free(buf);
    close(fd);
}

static void request(int port, const char *method, const char *target, const char *body,
                    answer *a)
{
    char raw[4096];
    int n = snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: t\r\n", method, target);
    if (body)
        n += snprintf(raw + n, sizeof(raw) - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                      strlen(body), body);
    else
        n += snprintf(raw + n, sizeof(raw) - (size_t)n, "\r\n");
    ck_assert_int_lt(n, (int)sizeof(raw));
    exchange(port, raw, (size_t)n, a);
}

static void answer_free(answer *a)
{
    free(a->body);
    a->body = NULL;
}

/* A problem+json answer with this status; field (if not NULL) is its "field". */
static void assert_problem(answer *a, int status, const char *field)
{
    ck_assert_msg(a->status == status, "status %d, expected %d: %s", a->status, status,
                  a->body);
    ck_assert_msg(strcasestr(a->head, "\r\nContent-Type: application/problem+json") != NULL,
                  "not problem+json: %s", a->head);
    cJSON *o = cJSON_ParseWithLength(a->body, a->blen);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "status")->valueint, status);
    if (field) {
        const cJSON *f = cJSON_GetObjectItem(o, "field");
        ck_assert_msg(cJSON_IsString(f) && strcmp(f->valuestring, field) == 0,
                      "field is not %s: %s", field, a->body);
    }
    cJSON_Delete(o);
    answer_free(a);
}

/* --- the server --- */

static saga_http_server *srv;
static int port;
static int ready_calls;

static void h_echo(saga_http_req *req, saga_http_resp *resp)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", saga_http_param(req, "id"));
    const char *q = saga_http_query(req, "q");
    if (q)
        cJSON_AddStringToObject(o, "q", q);
    const cJSON *body = saga_http_json(req);
    if (body)
        cJSON_AddItemToObject(o, "body", cJSON_Duplicate(body, true));
    saga_http_reply_json(resp, 200, o);
}

static bool ready_fn(void *ud, char *why, size_t whylen)
{
    (void)ud;
    (void)why;
    (void)whylen;
    __atomic_add_fetch(&ready_calls, 1, __ATOMIC_SEQ_CST);
    return true;
}

static const saga_http_route routes[] = {
    {"GET", "/api/x/{id}", h_echo, 0, NULL},
    {"POST", "/api/x/{id}", h_echo, SAGA_ROUTE_JSON, NULL},
};

static void server_start(int per_address, int timeout_s)
{
    char err[256] = "";
    saga_http_opts opts = {
        .bind = "127.0.0.1",
        .threads = 2,
        .routes = routes,
        .nroutes = sizeof(routes) / sizeof(routes[0]),
        .ready = ready_fn,
        .ready_cache_ms = 60000,
        .max_connections = 256,
        .max_per_address = per_address,
        .timeout_s = timeout_s,
    };
    saga_log_init("check_http_ingress", SAGA_LOG_ERROR);
    ready_calls = 0;
    srv = saga_http_start(&opts, err, sizeof(err));
    ck_assert_msg(srv != NULL, "start: %s", err);
    port = saga_http_port(srv);
}

static void core_setup(void)
{
    server_start(0, 10);
}

static void teardown(void)
{
    saga_http_stop(srv);
    srv = NULL;
}

/* --- core --- */

START_TEST(test_nul_in_body)
{
    answer a;
    /* cJSON alone would read "a" and let the handler validate what is left */
    request(port, "POST", "/api/x/1", "{\"items\":[{\"sku\":\"a\\u0000b\",\"quantity\":1}]}", &a);
    assert_problem(&a, 400, "items[0].sku");
    request(port, "POST", "/api/x/1", "{\"customerId\":\"alice\\u0000evil\"}", &a);
    assert_problem(&a, 400, "customerId");
    request(port, "POST", "/api/x/1", "{\"ok\":1,\"na\\u0000me\":2}", &a);
    assert_problem(&a, 400, "na");
    request(port, "POST", "/api/x/1", "\"\\u0000\"", &a);
    assert_problem(&a, 400, NULL);
    /* an escaped backslash followed by the text u0000 is no NUL: taken whole */
    request(port, "POST", "/api/x/1", "{\"note\":\"\\\\u0000\"}", &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_ptr_nonnull(strstr(a.body, "\"note\":\"\\\\u0000\""));
    answer_free(&a);
}
END_TEST

START_TEST(test_nul_in_url)
{
    answer a;
    /* the path would otherwise end at the NUL: /api/x/bob */
    request(port, "GET", "/api/x/bob%00evil", NULL, &a);
    assert_problem(&a, 400, "path");
    request(port, "GET", "/api/x/bob?q=alice%00evil", NULL, &a);
    assert_problem(&a, 400, "q");
    /* the next request on a fresh connection is not affected, nor %2500 (text "%00") */
    request(port, "GET", "/api/x/bob?q=a%2500b", NULL, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_ptr_nonnull(strstr(a.body, "\"q\":\"a%00b\""));
    answer_free(&a);
}
END_TEST

START_TEST(test_url_and_headers_over_limits)
{
    /* bigger than libmicrohttpd's default memory per connection (32 KiB), which
     * answered such requests itself, in HTML; within the pool they are ours */
    size_t n = 40000;
    char *raw = malloc(n + 256);
    ck_assert_ptr_nonnull(raw);
    int len = snprintf(raw, n + 256, "GET /api/x/%0*d HTTP/1.1\r\nHost: t\r\n\r\n", (int)n, 7);
    answer a;
    exchange(port, raw, (size_t)len, &a);
    ck_assert_ptr_null(strstr(a.body, "0000000000")); /* not echoed */
    assert_problem(&a, 414, NULL);
    len = snprintf(raw, n + 256, "GET /api/x/1 HTTP/1.1\r\nHost: t\r\nX-Big: %0*d\r\n\r\n",
                   (int)n / 2, 7);
    exchange(port, raw, (size_t)len, &a);
    assert_problem(&a, 431, NULL);
    free(raw);
}
END_TEST

/* Counts the series of saga_http_requests_total in the registry's text. */
static size_t request_series(void)
{
    size_t len = 0, n = 0;
    char *text = saga_metrics_render(&len);
    ck_assert_ptr_nonnull(text);
    for (const char *p = strstr(text, "\nsaga_http_requests_total{"); p;
         p = strstr(p + 1, "\nsaga_http_requests_total{"))
        n++;
    free(text);
    return n;
}

START_TEST(test_method_label_bounded)
{
    answer a;
    request(port, "GET", "/api/x/1", NULL, &a);
    answer_free(&a);
    request(port, "GET", "/nowhere", NULL, &a);
    answer_free(&a);
    /* the one series per route for unknown methods */
    request(port, "BREW", "/api/x/1", NULL, &a);
    answer_free(&a);
    request(port, "BREW", "/nowhere", NULL, &a);
    answer_free(&a);
    size_t before = request_series();
    for (int i = 0; i < 30; i++) {
        char method[32];
        snprintf(method, sizeof(method), "JUNK%d", i);
        request(port, method, "/api/x/1", NULL, &a);
        answer_free(&a);
        request(port, method, "/nowhere", NULL, &a);
        answer_free(&a);
    }
    ck_assert_uint_eq(request_series(), before);
    size_t len = 0;
    char *text = saga_metrics_render(&len);
    ck_assert_ptr_null(strstr(text, "JUNK"));
    ck_assert_ptr_nonnull(strstr(text, "method=\"OTHER\""));
    free(text);
}
END_TEST

START_TEST(test_ready_cached)
{
    answer a;
    for (int i = 0; i < 5; i++) {
        request(port, "GET", "/ready", NULL, &a);
        ck_assert_int_eq(a.status, 200);
        answer_free(&a);
    }
    ck_assert_int_eq(__atomic_load_n(&ready_calls, __ATOMIC_SEQ_CST), 1);
}
END_TEST

/* --- connections --- */

#define SLOW_PER_ADDRESS 4
#define SLOW_TIMEOUT_S 4  /* the request deadline */
#define SLOW_REFUSED_S 2  /* "at once": well before the deadline */
#define SLOW_CLIENTS 24 /* half idle, half trickling, all from 127.0.0.2 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* True once the server has closed fd (end of stream or a reset). */
static bool closed_by_server(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

START_TEST(test_slow_clients_bounded)
{
    int fds[SLOW_CLIENTS];
    double closed_at[SLOW_CLIENTS];
    server_start(SLOW_PER_ADDRESS, SLOW_TIMEOUT_S);
    double t0 = now_s();
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        fds[i] = connect_from("127.0.0.2", port, 1);
        closed_at[i] = 0;
        if (i % 2) /* trickling: a request line and a header that never ends */
            send_all(fds[i], "GET /api/x/1 HTTP/1.1\r\nHost: t\r\nX-Slow: ", 40);
    }
    /* those over the address's share are closed at once (looked at before anything
     * else can delay the looking) */
    int open_left = SLOW_CLIENTS;
    while (open_left > SLOW_PER_ADDRESS && now_s() - t0 < SLOW_REFUSED_S) {
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            if (closed_at[i] == 0 && closed_by_server(fds[i])) {
                closed_at[i] = now_s() - t0;
                open_left--;
            }
        }
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    /* while the rest are held, and keep trickling a byte every 100 ms, others are served */
    int served = 0;
    while (open_left > 0 && now_s() - t0 < SLOW_TIMEOUT_S + 8) {
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            if (closed_at[i] != 0)
                continue;
            bool gone = closed_by_server(fds[i]);
            if (!gone && i % 2)
                gone = send(fds[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                       errno != EAGAIN && errno != EWOULDBLOCK;
            if (gone) {
                closed_at[i] = now_s() - t0;
                open_left--;
            }
        }
        answer a;
        request(port, "GET", "/api/x/fast", NULL, &a); /* 5 s at most, else it fails */
        ck_assert_int_eq(a.status, 200);
        answer_free(&a);
        served++;
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    ck_assert_int_gt(served, 5);
    /* no more than its share from one address: the rest closed at once... */
    int at_once = 0;
    for (int i = 0; i < SLOW_CLIENTS; i++)
        at_once += closed_at[i] != 0 && closed_at[i] < SLOW_REFUSED_S;
    ck_assert_msg(at_once >= SLOW_CLIENTS - SLOW_PER_ADDRESS,
                  "%d of %d connections from one address refused at once", at_once,
                  SLOW_CLIENTS);
    /* ...and the ones it held closed by their deadline (generous margin), trickling
     * or not: a byte now and then does not stretch it */
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        ck_assert_msg(closed_at[i] != 0, "connection %d (%s) still open after %.1f s", i,
                      i % 2 ? "trickling" : "idle", now_s() - t0);
        close(fds[i]);
    }
}
END_TEST

static Suite *http_ingress_suite(void)
{
    Suite *s = suite_create("http_ingress");
    TCase *core = tcase_create("core");
    tcase_add_checked_fixture(core, core_setup, teardown);
    tcase_add_test(core, test_nul_in_body);
    tcase_add_test(core, test_nul_in_url);
    tcase_add_test(core, test_url_and_headers_over_limits);
    tcase_add_test(core, test_method_label_bounded);
    tcase_add_test(core, test_ready_cached);
    suite_add_tcase(s, core);

    TCase *conns = tcase_create("connections");
    tcase_add_checked_fixture(conns, NULL, teardown);
    tcase_add_test(conns, test_slow_clients_bounded);
    tcase_set_timeout(conns, 60);
    suite_add_tcase(s, conns);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_ingress_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
