/* console_routes.c - the console's HTTP API and its static page. /api/ routes are
 * for administrators only (the services' bearer tokens); the page itself is public
 * and asks for a token. Bad input gets a problem+json 400 naming the parameter. */
#include "console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"

/* Serves one static file with headers that keep the page to its own scripts. */
static void reply_file(saga_http_resp *resp, const console_file *f, const char *type)
{
    if (saga_http_reply_raw(resp, 200, type, f->body, f->len) == SAGA_OK) {
        saga_http_add_header(resp, "Cache-Control", "no-cache");
        saga_http_add_header(resp, "X-Content-Type-Options", "nosniff");
        saga_http_add_header(resp, "Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    }
}

static void page_index(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    reply_file(resp, &c->index_html, "text/html; charset=utf-8");
}

static void page_js(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    reply_file(resp, &c->console_js, "text/javascript; charset=utf-8");
}

static void page_css(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    reply_file(resp, &c->console_css, "text/css; charset=utf-8");
}

/* An integer query or path parameter in [min, max]; def when absent (query only).
 * Replies 400 naming it and returns false when it is not one. */
static bool int_param(saga_http_resp *resp, const char *name, const char *s, long long def,
                      long long min, long long max, long long *out)
{
    char *end = NULL;
    long long v;
    if (!s) {
        *out = def;
        return true;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        saga_http_reply_problem(resp, 400, "%s: must be an integer in %lld..%lld", name, min, max);
        return false;
    }
    *out = v;
    return true;
}

/* An order id as the services make them and keys carry them: 1..64 of [A-Za-z0-9._-]. */
static bool key_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.'))
            return false;
    }
    return true;
}

static void reply_result(saga_http_resp *resp, int rc, cJSON *body, const char *err)
{
    if (rc == SAGA_OK)
        saga_http_reply_json(resp, 200, body);
    else
        saga_http_reply_rc(resp, rc, err);
}

static void api_topics(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    cJSON *body = NULL;
    char err[600] = "";
    int rc = console_topics_json(c, &body, err, sizeof(err));
    reply_result(resp, rc, body, err);
}

static void api_messages(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    const char *topic = saga_http_param(req, "topic"), *order = saga_http_query(req, "order");
    const char *key = saga_http_query(req, "key");
    console_browse b = {.topic = -1};
    long long partition, offset, limit;
    cJSON *body = NULL;
    char err[600] = "";

    for (int t = 0; t < CONSOLE_NTOPICS; t++) {
        if (topic && !strcmp(topic, c->cfg.topics[t]))
            b.topic = t;
    }
    if (b.topic < 0) {
        saga_http_reply_problem(resp, 404, "topic: not one of the console's five topics");
        return;
    }
    if (!int_param(resp, "partition", saga_http_param(req, "partition"), 0, 0,
                   CONSOLE_MAX_PARTITIONS - 1, &partition) ||
        !int_param(resp, "offset", saga_http_query(req, "offset"), -1, -1, INT64_MAX, &offset) ||
        !int_param(resp, "limit", saga_http_query(req, "limit"), 20, 1, 100, &limit))
        return;
    if (order && strcmp(order, "newest") != 0 && strcmp(order, "oldest") != 0) {
        saga_http_reply_problem(resp, 400, "order: must be newest or oldest");
        return;
    }
    if (key && *key && !key_ok(key)) {
        saga_http_reply_problem(resp, 400, "key: must be 1..64 of A-Z a-z 0-9 . _ -");
        return;
    }
    b.partition = (int32_t)partition;
    b.offset = offset;
    b.limit = (int)limit;
    b.newest = !order || !strcmp(order, "newest");
    b.key = key && *key ? key : NULL;
    int rc = console_browse_json(c, &b, &body, err, sizeof(err));
    reply_result(resp, rc, body, err);
}

static void api_saga(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    const char *id = saga_http_param(req, "id");
    cJSON *body = NULL;
    char err[600] = "";

    if (!key_ok(id)) {
        saga_http_reply_problem(resp, 400, "id: must be 1..64 of A-Z a-z 0-9 . _ -");
        return;
    }
    int rc = console_saga_json(c, id, &body, err, sizeof(err));
    reply_result(resp, rc, body, err);
}

static void api_dlq(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    long long limit;
    cJSON *body = NULL;
    char err[600] = "";

    if (!int_param(resp, "limit", saga_http_query(req, "limit"), 50, 1, c->cfg.dlq_max, &limit))
        return;
    int rc = console_dlq_json(c, (int)limit, &body, err, sizeof(err));
    reply_result(resp, rc, body, err);
}

static void api_replay(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    long long partition, offset;
    cJSON *body = NULL;
    char err[800] = "";

    if (!int_param(resp, "partition", saga_http_param(req, "partition"), 0, 0,
                   CONSOLE_MAX_PARTITIONS - 1, &partition) ||
        !int_param(resp, "offset", saga_http_param(req, "offset"), 0, 0, INT64_MAX, &offset))
        return;
    int rc = console_dlq_replay(c, (int32_t)partition, offset, &body, err, sizeof(err));
    reply_result(resp, rc, body, err);
}

static void api_glance(saga_http_req *req, saga_http_resp *resp)
{
    console *c = saga_http_userdata(req);
    cJSON *body = NULL;
    int rc = console_glance_json(c, &body);
    reply_result(resp, rc, body, "out of memory");
}

const saga_http_route console_routes[] = {
    {"GET", "/", page_index, SAGA_ROUTE_PUBLIC, NULL},
    {"GET", "/console.js", page_js, SAGA_ROUTE_PUBLIC, NULL},
    {"GET", "/console.css", page_css, SAGA_ROUTE_PUBLIC, NULL},
    {"GET", "/api/topics", api_topics, SAGA_ROUTE_ADMIN, NULL},
    {"GET", "/api/topics/{topic}/partitions/{partition}/messages", api_messages, SAGA_ROUTE_ADMIN,
     NULL},
    {"GET", "/api/orders/{id}/saga", api_saga, SAGA_ROUTE_ADMIN, NULL},
    {"GET", "/api/dlq", api_dlq, SAGA_ROUTE_ADMIN, NULL},
    {"POST", "/api/dlq/{partition}/{offset}/replay", api_replay, SAGA_ROUTE_ADMIN, NULL},
    {"GET", "/api/glance", api_glance, SAGA_ROUTE_ADMIN, NULL},
};
const size_t console_nroutes = sizeof(console_routes) / sizeof(console_routes[0]);
