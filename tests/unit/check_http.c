/* check_http.c - the HTTP server wrapper and the metrics registry.
 *
 * "core": route matching, problem bodies, the rc-to-status mapping, metrics
 * rendering, and a live server on 127.0.0.1 (port 0) spoken to over plain
 * sockets by the small blocking HTTP/1.1 client below.
 * "limits": overlong paths, too many parameters, bodies over the limit. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "saga/err.h"
#include "saga/http.h"
#include "saga/log.h"
#include "saga/metrics.h"

/* --- a tiny blocking HTTP/1.1 client --- */

typedef struct cli_answer {
    int status;
    char head[4096]; /* status line and headers, NUL-terminated */
    char body[16384];
    size_t blen;
} cli_answer;

static int cli_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "connect: %s",
                  strerror(errno));
    return fd;
}

static void cli_send_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        ck_assert_msg(n > 0, "send: %s", strerror(errno));
        buf += n;
        len -= (size_t)n;
    }
}

/* Value of header name in a->head, copied into out; false if absent. */
static bool cli_header(const cli_answer *a, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *line = strstr(a->head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            v += strspn(v, " ");
            size_t vlen = strcspn(v, "\r");
            snprintf(out, outlen, "%.*s", (int)vlen, v);
            return true;
        }
    }
    return false;
}

/* Sends one request on fd and reads one answer (Content-Length framed). */
static void cli_exchange(int fd, const char *method, const char *target, const char *ctype,
                         const char *body, cli_answer *a)
{
    char req[8192];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, target);
    if (ctype)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Content-Type: %s\r\n", ctype);
    if (body)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Content-Length: %zu\r\n", blen);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    ck_assert_int_lt(n, (int)sizeof(req));
    cli_send_all(fd, req, (size_t)n);
    if (body)
        cli_send_all(fd, body, blen);

    /* head */
    char buf[sizeof(a->head) + sizeof(a->body)];
    size_t got = 0;
    char *eoh = NULL;
    memset(a, 0, sizeof(*a));
    while (!eoh) {
        ck_assert_msg(got < sizeof(buf) - 1, "answer head too long");
        ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        ck_assert_msg(r > 0, "recv head: %s", r == 0 ? "connection closed" : strerror(errno));
        got += (size_t)r;
        buf[got] = '\0';
        eoh = strstr(buf, "\r\n\r\n");
    }
    size_t hlen = (size_t)(eoh - buf) + 2;
    ck_assert_uint_lt(hlen, sizeof(a->head));
    memcpy(a->head, buf, hlen);
    a->head[hlen] = '\0';
    ck_assert_int_eq(sscanf(a->head, "HTTP/1.1 %d", &a->status), 1);

    char cl[32];
    ck_assert_msg(cli_header(a, "Content-Length", cl, sizeof(cl)), "no Content-Length: %s",
                  a->head);
    size_t want = strtoul(cl, NULL, 10);
    ck_assert_uint_lt(want, sizeof(a->body));
    size_t have = got - (hlen + 2);
    ck_assert_uint_le(have, want); /* nothing pipelined */
    memcpy(a->body, eoh + 4, have);
    while (have < want) {
        ssize_t r = recv(fd, a->body + have, want - have, 0);
        ck_assert_msg(r > 0, "recv body: %s", r == 0 ? "connection closed" : strerror(errno));
        have += (size_t)r;
    }
    a->body[want] = '\0';
    a->blen = want;
}

/* One request on a fresh connection. */
static void cli_request(int port, const char *method, const char *target, const char *ctype,
                        const char *body, cli_answer *a)
{
    int fd = cli_connect(port);
    cli_exchange(fd, method, target, ctype, body, a);
    close(fd);
}

/* --- the server under test --- */

static saga_http_server *live_srv;
static int live_port;
static int live_metrics_port;
static bool live_ready = true;

static void h_echo_get(saga_http_req *req, saga_http_resp *resp)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", saga_http_param(req, "id"));
    const char *q = saga_http_query(req, "q");
    if (q)
        cJSON_AddStringToObject(o, "q", q);
    saga_http_reply_json(resp, 200, o);
}

static void h_echo_post(saga_http_req *req, saga_http_resp *resp)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(saga_http_json(req), "name");
    if (!cJSON_IsString(name)) {
        saga_http_reply_problem(resp, 422, "name must be a string");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", saga_http_param(req, "id"));
    cJSON_AddStringToObject(o, "name", name->valuestring);
    saga_http_reply_json(resp, 201, o);
}

static void h_pair(saga_http_req *req, saga_http_resp *resp)
{
    saga_http_reply_problem(resp, 409, "%s/%s", saga_http_param(req, "a"),
                            saga_http_param(req, "b"));
}

static void h_noreply(saga_http_req *req, saga_http_resp *resp)
{
    (void)req;
    (void)resp;
}

static bool live_ready_fn(void *ud, char *why, size_t whylen)
{
    (void)ud;
    if (!live_ready)
        snprintf(why, whylen, "database unreachable");
    return live_ready;
}

static const saga_http_route live_routes[] = {
    {"GET", "/api/echo/{id}", h_echo_get, 0, NULL},
    {"POST", "/api/echo/{id}", h_echo_post, SAGA_ROUTE_JSON, NULL},
    {"PUT", "/api/pair/{a}/{b}", h_pair, 0, NULL},
    {"GET", "/api/noreply", h_noreply, 0, NULL},
};

static void live_setup(void)
{
    char err[256] = "";
    saga_http_opts opts = {
        .bind = "127.0.0.1",
        .port = 0,
        .threads = 2,
        .body_max = 64,
        .routes = live_routes,
        .nroutes = sizeof(live_routes) / sizeof(live_routes[0]),
        .ready = live_ready_fn,
        .metrics_bind = "127.0.0.1",
        .metrics_port = 0,
    };
    saga_log_init("check_http", SAGA_LOG_ERROR);
    live_ready = true;
    live_srv = saga_http_start(&opts, err, sizeof(err));
    ck_assert_msg(live_srv != NULL, "start: %s", err);
    live_port = saga_http_port(live_srv);
    ck_assert_int_gt(live_port, 0);
    live_metrics_port = saga_http_metrics_port(live_srv);
    ck_assert_int_gt(live_metrics_port, 0);
    ck_assert_int_ne(live_metrics_port, live_port);
}

static void live_teardown(void)
{
    saga_http_stop(live_srv);
    live_srv = NULL;
}

/* Parses a problem+json answer and checks its standard fields. */
static void assert_problem(const cli_answer *a, int status, const char *instance)
{
    char ctype[128];
    ck_assert_int_eq(a->status, status);
    ck_assert(cli_header(a, "Content-Type", ctype, sizeof(ctype)));
    ck_assert_str_eq(ctype, "application/problem+json");
    cJSON *o = cJSON_ParseWithLength(a->body, a->blen);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "about:blank");
    ck_assert_int_eq(cJSON_GetObjectItem(o, "status")->valueint, status);
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "title")));
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "detail")));
    ck_assert_str_eq(cJSON_GetObjectItem(o, "instance")->valuestring, instance);
    cJSON_Delete(o);
}

static size_t count_occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* --- core: route matching --- */

START_TEST(test_match_exact)
{
    saga_http_params p;
    ck_assert(saga_http_route_match("/health", "/health", &p));
    ck_assert_uint_eq(p.n, 0);
    ck_assert(saga_http_route_match("/", "/", &p));
    ck_assert(saga_http_route_match("/api/orders", "/api/orders", NULL));
    ck_assert(!saga_http_route_match("/health", "/healthz", &p));
    ck_assert(!saga_http_route_match("/health", "/Health", &p));
    ck_assert(!saga_http_route_match("/health", "/health/", &p));
    ck_assert(!saga_http_route_match("/health/", "/health", &p));
    ck_assert(!saga_http_route_match("/", "", &p));
    ck_assert(saga_http_route_match("/health", "/health?verbose=1", &p));
}
END_TEST

START_TEST(test_match_params)
{
    saga_http_params p;
    ck_assert(saga_http_route_match("/api/orders/{id}", "/api/orders/ord-42", &p));
    ck_assert_uint_eq(p.n, 1);
    ck_assert_str_eq(p.names[0], "id");
    ck_assert_str_eq(p.values[0], "ord-42");

    ck_assert(saga_http_route_match("/api/orders/{id}/events", "/api/orders/7/events?x=1", &p));
    ck_assert_uint_eq(p.n, 1);
    ck_assert_str_eq(p.values[0], "7");
}
END_TEST

START_TEST(test_match_multiple_params)
{
    saga_http_params p;
    ck_assert(saga_http_route_match("/a/{x}/b/{y}/{z}", "/a/1/b/22/333", &p));
    ck_assert_uint_eq(p.n, 3);
    ck_assert_str_eq(p.names[0], "x");
    ck_assert_str_eq(p.values[0], "1");
    ck_assert_str_eq(p.names[1], "y");
    ck_assert_str_eq(p.values[1], "22");
    ck_assert_str_eq(p.names[2], "z");
    ck_assert_str_eq(p.values[2], "333");
}
END_TEST

START_TEST(test_match_lengths)
{
    saga_http_params p;
    ck_assert(!saga_http_route_match("/api/orders/{id}", "/api/orders", &p));
    ck_assert_uint_eq(p.n, 0);
    ck_assert(!saga_http_route_match("/api/orders/{id}", "/api/orders/1/events", &p));
    ck_assert_uint_eq(p.n, 0);
    ck_assert(!saga_http_route_match("/api/orders/{id}", "/api/orders/1/", &p));
    ck_assert(!saga_http_route_match("/api/orders/{id}/events", "/api/orders/1", &p));
    ck_assert(!saga_http_route_match("/api", "/api/orders", &p));
}
END_TEST

START_TEST(test_match_empty_segment)
{
    saga_http_params p;
    ck_assert(!saga_http_route_match("/api/orders/{id}", "/api/orders/", &p));
    ck_assert(!saga_http_route_match("/a/{x}/b", "/a//b", &p));
    ck_assert(!saga_http_route_match("/a/b", "/a//b", &p));
    ck_assert(!saga_http_route_match("/api/orders/{id}", "/api/orders/?id=1", &p));
}
END_TEST

/* --- core: statuses and problem bodies --- */

START_TEST(test_status_for_rc)
{
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_OK), 200);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_INVALID), 400);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_NOT_FOUND), 404);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_CONFLICT), 409);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_DUPLICATE), 409);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_TOO_LARGE), 413);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_UNSUPPORTED), 415);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_TRANSIENT), 503);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_UNAVAILABLE), 503);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_NOMEM), 500);
    ck_assert_int_eq(saga_http_status_for_rc(SAGA_ERR_INTERNAL), 500);
    ck_assert_int_eq(saga_http_status_for_rc(-1), 500);
    ck_assert_int_eq(saga_http_status_for_rc(1000), 500);
}
END_TEST

static const struct {
    int status;
    const char *title;
} problem_titles[] = {
    {400, "Bad Request"},
    {404, "Not Found"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {503, "Service Unavailable"},
};

START_TEST(test_problem_body)
{
    int status = problem_titles[_i].status;
    char *text = saga_http_problem_body(status, NULL, "what went wrong", "/api/orders/1");
    ck_assert_ptr_nonnull(text);
    cJSON *o = cJSON_Parse(text);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(cJSON_GetArraySize(o), 5);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "about:blank");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "title")->valuestring, problem_titles[_i].title);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "status")->valueint, status);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "detail")->valuestring, "what went wrong");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "instance")->valuestring, "/api/orders/1");
    cJSON_Delete(o);
    cJSON_free(text);
}
END_TEST

START_TEST(test_problem_body_optional)
{
    char *text = saga_http_problem_body(418, "Custom Title", NULL, NULL);
    ck_assert_ptr_nonnull(text);
    cJSON *o = cJSON_Parse(text);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "title")->valuestring, "Custom Title");
    ck_assert_ptr_null(cJSON_GetObjectItem(o, "detail"));
    ck_assert_ptr_null(cJSON_GetObjectItem(o, "instance"));
    cJSON_Delete(o);
    cJSON_free(text);
}
END_TEST

/* --- core: metrics --- */

START_TEST(test_metrics_counter_gauge)
{
    saga_metric *a = saga_metrics_counter("t_ck_events_total", "Events\nseen", "type=\"A\"");
    saga_metric *b = saga_metrics_counter("t_ck_events_total", "Events\nseen", "type=\"B\"");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_eq(saga_metrics_counter("t_ck_events_total", "x", "type=\"A\""), a);
    ck_assert_ptr_null(saga_metrics_gauge("t_ck_events_total", "x", "")); /* type clash */
    saga_metric_add(a, 2);
    saga_metric_add(a, 1.5);
    saga_metric_add(a, -10); /* counters only go up */
    saga_metric_add(b, 1);
    saga_metric *g = saga_metrics_gauge("t_ck_backlog", "Backlog", "");
    saga_metric_set(g, 7);
    saga_metric_add(g, -2);

    size_t len = 0;
    char *text = saga_metrics_render(&len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_uint_eq(count_occurrences(text, "# HELP t_ck_events_total "), 1);
    ck_assert_uint_eq(count_occurrences(text, "# TYPE t_ck_events_total counter\n"), 1);
    ck_assert_ptr_nonnull(strstr(text, "# HELP t_ck_events_total Events\\nseen\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nt_ck_events_total{type=\"A\"} 3.5\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nt_ck_events_total{type=\"B\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE t_ck_backlog gauge\nt_ck_backlog 5\n"));
    free(text);
}
END_TEST

START_TEST(test_metrics_histogram)
{
    static const double bounds[] = {0.1, 1};
    saga_metric *h = saga_metrics_histogram("t_ck_seconds", "Latency", "op=\"x\"", bounds, 2);
    saga_metric *h2 = saga_metrics_histogram("t_ck_seconds", "Latency", "op=\"y\"", bounds, 2);
    saga_metric *bare = saga_metrics_histogram("t_ck_bare_seconds", "Bare", "", bounds, 2);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(h2);
    saga_metric_observe(h, 0.05);
    saga_metric_observe(h, 0.1); /* le is inclusive */
    saga_metric_observe(h, 0.5);
    saga_metric_observe(h, 5);
    saga_metric_observe(bare, 2);

    char *text = saga_metrics_render(NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(count_occurrences(text, "# TYPE t_ck_seconds histogram\n"), 1);
    ck_assert_uint_eq(count_occurrences(text, "# HELP t_ck_seconds "), 1);
    ck_assert_ptr_nonnull(strstr(text, "t_ck_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"
                                       "t_ck_seconds_bucket{op=\"x\",le=\"1\"} 3\n"
                                       "t_ck_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"
                                       "t_ck_seconds_sum{op=\"x\"} 5.65\n"
                                       "t_ck_seconds_count{op=\"x\"} 4\n"));
    ck_assert_ptr_nonnull(strstr(text, "t_ck_seconds_bucket{op=\"y\",le=\"+Inf\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(text, "t_ck_bare_seconds_bucket{le=\"0.1\"} 0\n"
                                       "t_ck_bare_seconds_bucket{le=\"1\"} 0\n"
                                       "t_ck_bare_seconds_bucket{le=\"+Inf\"} 1\n"
                                       "t_ck_bare_seconds_sum 2\n"
                                       "t_ck_bare_seconds_count 1\n"));
    free(text);
}
END_TEST

static int collector_calls;

static void collect_lag(void *ud)
{
    collector_calls++;
    saga_metric_set(saga_metrics_gauge("t_ck_lag", "Lag", ""), *(double *)ud);
}

START_TEST(test_metrics_collector)
{
    static double lag = 12;
    saga_metrics_on_render(collect_lag, &lag);
    char *text = saga_metrics_render(NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(collector_calls, 1);
    ck_assert_ptr_nonnull(strstr(text, "\nt_ck_lag 12\n"));
    free(text);
    ck_assert_uint_eq(saga_metrics_latency_nbounds, 14);
    ck_assert(saga_metrics_latency_bounds[0] == 0.0005);
    ck_assert(saga_metrics_latency_bounds[13] == 10);
}
END_TEST

/* --- core: a live server --- */

START_TEST(test_live_get_param)
{
    cli_answer a;
    char ctype[64];
    cli_request(live_port, "GET", "/api/echo/ord-7?q=hello", NULL, NULL, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert(cli_header(&a, "Content-Type", ctype, sizeof(ctype)));
    ck_assert_str_eq(ctype, "application/json");
    ck_assert_str_eq(a.body, "{\"id\":\"ord-7\",\"q\":\"hello\"}");
}
END_TEST

START_TEST(test_live_post_json)
{
    cli_answer a;
    cli_request(live_port, "POST", "/api/echo/9", "Application/JSON; charset=utf-8",
                "{\"name\":\"widget\"}", &a);
    ck_assert_int_eq(a.status, 201);
    ck_assert_str_eq(a.body, "{\"id\":\"9\",\"name\":\"widget\"}");
    cli_request(live_port, "POST", "/api/echo/9", "application/json", "{\"name\":1}", &a);
    assert_problem(&a, 422, "/api/echo/9");
}
END_TEST

START_TEST(test_live_404_405)
{
    cli_answer a;
    char allow[64];
    cli_request(live_port, "GET", "/api/nothing", NULL, NULL, &a);
    assert_problem(&a, 404, "/api/nothing");
    cli_request(live_port, "GET", "/api/echo/1/", NULL, NULL, &a);
    assert_problem(&a, 404, "/api/echo/1/");

    cli_request(live_port, "DELETE", "/api/echo/1", NULL, NULL, &a);
    assert_problem(&a, 405, "/api/echo/1");
    ck_assert(cli_header(&a, "Allow", allow, sizeof(allow)));
    ck_assert_str_eq(allow, "GET, POST");

    cli_request(live_port, "POST", "/health", "application/json", "{}", &a);
    assert_problem(&a, 405, "/health");
    ck_assert(cli_header(&a, "Allow", allow, sizeof(allow)));
    ck_assert_str_eq(allow, "GET");

    cli_request(live_port, "PUT", "/api/pair/x/y", NULL, NULL, &a);
    assert_problem(&a, 409, "/api/pair/x/y");
}
END_TEST

START_TEST(test_live_415_400)
{
    cli_answer a;
    cli_request(live_port, "POST", "/api/echo/1", "text/plain", "{\"name\":\"a\"}", &a);
    assert_problem(&a, 415, "/api/echo/1");
    cli_request(live_port, "POST", "/api/echo/1", NULL, "{\"name\":\"a\"}", &a);
    assert_problem(&a, 415, "/api/echo/1");
    cli_request(live_port, "POST", "/api/echo/1", "application/jsonx", "{}", &a);
    assert_problem(&a, 415, "/api/echo/1");

    cli_request(live_port, "POST", "/api/echo/1", "application/json", "{\"name\":", &a);
    assert_problem(&a, 400, "/api/echo/1");
    cli_request(live_port, "POST", "/api/echo/1", "application/json", "", &a);
    assert_problem(&a, 400, "/api/echo/1");
    cli_request(live_port, "POST", "/api/echo/1", "application/json", "{} x", &a);
    assert_problem(&a, 400, "/api/echo/1");
}
END_TEST

START_TEST(test_live_noreply_500)
{
    cli_answer a;
    cli_request(live_port, "GET", "/api/noreply", NULL, NULL, &a);
    assert_problem(&a, 500, "/api/noreply");
}
END_TEST

START_TEST(test_live_builtins)
{
    cli_answer a;
    char ctype[64];
    cli_request(live_port, "GET", "/health", NULL, NULL, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.body, "{\"status\":\"UP\"}");

    cli_request(live_port, "GET", "/ready", NULL, NULL, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.body, "{\"status\":\"READY\"}");
    live_ready = false;
    cli_request(live_port, "GET", "/ready", NULL, NULL, &a);
    assert_problem(&a, 503, "/ready");
    /* the reason (database errors, broker addresses) is not for the public port... */
    ck_assert_ptr_null(strstr(a.body, "database unreachable"));
    /* ...but for operators, on the metrics listener */
    cli_request(live_metrics_port, "GET", "/ready", NULL, NULL, &a);
    assert_problem(&a, 503, "/ready");
    ck_assert_ptr_nonnull(strstr(a.body, "\"detail\":\"database unreachable\""));

    cli_request(live_port, "GET", "/api/echo/m1", NULL, NULL, &a);
    /* /metrics lives on its own listener only */
    cli_request(live_port, "GET", "/metrics", NULL, NULL, &a);
    assert_problem(&a, 404, "/metrics");
    cli_request(live_metrics_port, "GET", "/api/echo/m1", NULL, NULL, &a);
    assert_problem(&a, 404, "/api/echo/m1");
    cli_request(live_metrics_port, "GET", "/metrics", NULL, NULL, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert(cli_header(&a, "Content-Type", ctype, sizeof(ctype)));
    ck_assert_ptr_nonnull(strstr(ctype, "text/plain; version=0.0.4"));
    ck_assert_ptr_nonnull(strstr(
        a.body,
        "saga_http_requests_total{route=\"/api/echo/{id}\",method=\"GET\",status=\"200\"} "));
    ck_assert_ptr_nonnull(strstr(
        a.body, "saga_http_requests_total{route=\"/ready\",method=\"GET\",status=\"503\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(a.body, "saga_http_request_seconds_bucket{route=\"/health\",le=\"+Inf\"} "));
    ck_assert_uint_eq(count_occurrences(a.body, "# TYPE saga_http_requests_total counter"), 1);
}
END_TEST

START_TEST(test_live_keep_alive)
{
    cli_answer a;
    int fd = cli_connect(live_port);
    cli_exchange(fd, "GET", "/api/echo/first", NULL, NULL, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.body, "{\"id\":\"first\"}");
    cli_exchange(fd, "POST", "/api/echo/second", "application/json", "{\"name\":\"n\"}", &a);
    ck_assert_int_eq(a.status, 201);
    cli_exchange(fd, "GET", "/api/nothing", NULL, NULL, &a);
    ck_assert_int_eq(a.status, 404);
    cli_exchange(fd, "GET", "/health", NULL, NULL, &a);
    ck_assert_int_eq(a.status, 200);
    close(fd);
}
END_TEST

/* --- limits --- */

/* "/" followed by len - 1 letters */
static const char *long_path(char *buf, size_t len)
{
    buf[0] = '/';
    memset(buf + 1, 'a', len - 1);
    buf[len] = '\0';
    return buf;
}

START_TEST(test_limit_overlong_path)
{
    char path[700];
    saga_http_params p;
    ck_assert(!saga_http_route_match("/{x}", long_path(path, 699), &p));
    ck_assert_uint_eq(p.n, 0);
    /* the longest path that fits: name "x" + NUL + 507-byte value + NUL = 511 bytes */
    ck_assert(saga_http_route_match("/{x}", long_path(path, 508), &p));
    ck_assert_uint_eq(p.n, 1);
    ck_assert_uint_eq(strlen(p.values[0]), 507);
    /* 511 bytes of path: fits the buffer, but the value does not fit beside the name */
    ck_assert(!saga_http_route_match("/{x}", long_path(path, 511), &p));
    /* a path as long as the buffer never matches, not even itself */
    long_path(path, 511);
    ck_assert(saga_http_route_match(path, path, &p));
    long_path(path, sizeof(p.buf));
    ck_assert(!saga_http_route_match(path, path, &p));
}
END_TEST

START_TEST(test_limit_too_many_params)
{
    saga_http_params p;
    ck_assert(saga_http_route_match("/{a}/{b}/{c}/{d}", "/1/2/3/4", &p));
    ck_assert_uint_eq(p.n, SAGA_HTTP_MAX_PARAMS);
    ck_assert(!saga_http_route_match("/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5", &p));
    ck_assert_uint_eq(p.n, 0);
    ck_assert(!saga_http_route_match(NULL, "/", &p));
    ck_assert(!saga_http_route_match("/", NULL, &p));
}
END_TEST

START_TEST(test_limit_body_413)
{
    cli_answer a;
    char big[200];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    int fd = cli_connect(live_port);
    cli_exchange(fd, "POST", "/api/echo/1", "application/json", big, &a);
    assert_problem(&a, 413, "/api/echo/1");
    /* the whole body was read, so the connection is still good */
    cli_exchange(fd, "POST", "/api/echo/1", "application/json", "{\"name\":\"ok\"}", &a);
    ck_assert_int_eq(a.status, 201);
    close(fd);

    /* exactly at the limit is fine: 64 bytes */
    char at[65];
    memset(at, ' ', 64);
    at[64] = '\0';
    memcpy(at, "{\"name\":\"x\"}", 12);
    cli_request(live_port, "POST", "/api/echo/1", "application/json", at, &a);
    ck_assert_int_eq(a.status, 201);
}
END_TEST

START_TEST(test_limit_start_errors)
{
    char err[128] = "";
    saga_http_opts opts = {.bind = "not-an-address", .port = 0};
    ck_assert_ptr_null(saga_http_start(&opts, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "not-an-address"));
    opts.bind = "127.0.0.1";
    opts.port = 70000;
    ck_assert_ptr_null(saga_http_start(&opts, err, sizeof(err)));
    opts.port = live_port; /* taken */
    ck_assert_ptr_null(saga_http_start(&opts, err, sizeof(err)));
    saga_http_stop(NULL);
}
END_TEST

static void *hammer(void *arg)
{
    saga_metric **m = arg;
    for (int i = 0; i < 100000; i++) {
        saga_metric_add(m[0], 1);
        saga_metric_observe(m[1], 0.5);
    }
    return NULL;
}

START_TEST(test_limit_metrics_concurrent)
{
    static const double bounds[] = {1};
    saga_metric *m[2] = {saga_metrics_counter("t_ck_race_total", "Race", ""),
                         saga_metrics_histogram("t_ck_race_seconds", "Race", "", bounds, 1)};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, m), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *text = saga_metrics_render(NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "\nt_ck_race_total 400000\n"));
    ck_assert_ptr_nonnull(strstr(text, "t_ck_race_seconds_bucket{le=\"1\"} 400000\n"
                                       "t_ck_race_seconds_bucket{le=\"+Inf\"} 400000\n"
                                       "t_ck_race_seconds_sum 200000\n"
                                       "t_ck_race_seconds_count 400000\n"));
    free(text);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");

    TCase *core = tcase_create("core");
    tcase_add_checked_fixture(core, live_setup, live_teardown);
    tcase_add_test(core, test_match_exact);
    tcase_add_test(core, test_match_params);
    tcase_add_test(core, test_match_multiple_params);
    tcase_add_test(core, test_match_lengths);
    tcase_add_test(core, test_match_empty_segment);
    tcase_add_test(core, test_status_for_rc);
    tcase_add_loop_test(core, test_problem_body, 0,
                        (int)(sizeof(problem_titles) / sizeof(problem_titles[0])));
    tcase_add_test(core, test_problem_body_optional);
    tcase_add_test(core, test_metrics_counter_gauge);
    tcase_add_test(core, test_metrics_histogram);
    tcase_add_test(core, test_metrics_collector);
    tcase_add_test(core, test_live_get_param);
    tcase_add_test(core, test_live_post_json);
    tcase_add_test(core, test_live_404_405);
    tcase_add_test(core, test_live_415_400);
    tcase_add_test(core, test_live_noreply_500);
    tcase_add_test(core, test_live_builtins);
    tcase_add_test(core, test_live_keep_alive);
    suite_add_tcase(s, core);

    TCase *limits = tcase_create("limits");
    tcase_add_checked_fixture(limits, live_setup, live_teardown);
    tcase_add_test(limits, test_limit_overlong_path);
    tcase_add_test(limits, test_limit_too_many_params);
    tcase_add_test(limits, test_limit_body_413);
    tcase_add_test(limits, test_limit_start_errors);
    tcase_add_test(limits, test_limit_metrics_concurrent);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
