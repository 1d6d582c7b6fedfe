/* http.c - the HTTP server every service runs, over libmicrohttpd 0.9.75.
 *
 * Request lifecycle (as libmicrohttpd's post_example.c):
 *   1st call of the access handler: allocate the request state, return MHD_YES and
 *       queue nothing (a response queued here costs the connection its keep-alive).
 *   middle calls (*upload_data_size > 0): append the body; once it passes body_max,
 *       drop it and remember "too large" but keep reading (413 comes at the end; the
 *       connection is not closed early).
 *   last call (*upload_data_size == 0): route, check, run the handler, queue the
 *       answer, count and time it.
 *   MHD_OPTION_NOTIFY_COMPLETED frees the request state, whatever happened.
 *
 * Routing: the built-ins (/health, /ready, /openapi.json) come first, then the
 * caller's table. /metrics is served only by a second, internal server on its own
 * listen address (metrics_bind), so it never shares the API's port.
 *
 * Access: with a verifier (opts.auth), every route not flagged SAGA_ROUTE_PUBLIC
 * needs a valid bearer token (401 with WWW-Authenticate otherwise), before the
 * body is looked at; SAGA_ROUTE_ADMIN routes need the admin role and owner_param
 * routes the owner or an admin (403). The first route whose method and pattern both match runs. If
 * some pattern matches but no method does: 405 with Allow listing the methods of
 * the patterns that match. Otherwise 404.
 *
 * Before routing: a NUL decoded from the URL (the path handed to us would end there),
 * a URL or headers over their limits: 400/414/431. JSON bodies are scanned for a NUL
 * in a string (cJSON would cut the string) before they are believed.
 *
 * Connections: libmicrohttpd limits them in total and per address. Its own timeout
 * is an idle timeout, which a client trickling a byte at a time never lets run out,
 * so each connection also has a deadline: a whole request must be in within
 * timeout_s of the connection's opening or the previous answer. A watchdog thread
 * shuts down (shutdown(), never close(): the descriptor stays libmicrohttpd's) the
 * connections past it. The connection list is kept by MHD_OPTION_NOTIFY_CONNECTION.
 *
 * Metrics: each route (pattern, plus "unmatched") has a slot made at start with
 * its histogram and a small table of counter pointers by (method, status) filled
 * on first use; other methods and statuses are counted under one fixed label each
 * ("OTHER", "other"), so that clients cannot add series. */
#include "saga/http.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "saga/clock.h"
#include "saga/err.h"
#include "saga/jsonscan.h"
#include "saga/log.h"
#include "saga/metrics.h"

#define HTTP_DEFAULT_BODY_MAX (1024L * 1024L)
#define HTTP_DEFAULT_THREADS 2
#define HTTP_DEFAULT_TIMEOUT_S 10
#define HTTP_DEFAULT_MAX_CONNECTIONS 512
#define HTTP_WATCH_MS 100               /* how often deadlines are looked at */
#define HTTP_MEMORY_LIMIT (64u * 1024u) /* per connection, libmicrohttpd's pool */
#define HTTP_TARGET_MAX 8192            /* path and query, decoded; over it: 414 */
#define HTTP_INSTANCE_MAX 1024          /* a longer path is not echoed in a problem answer */
#define HTTP_HEADERS_MAX 16384          /* header names and values; over it: 431 */
#define HTTP_STOP_GRACE_MS 5000
#define HTTP_DETAIL_MAX 1024

static const char *const http_methods[] = {"GET",   "POST", "PUT",    "DELETE",
                                           "PATCH", "HEAD", "OPTIONS"};
#define HTTP_NMETHODS (sizeof(http_methods) / sizeof(http_methods[0]))
static const int http_statuses[] = {200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405, 409,
                                    410, 412, 413, 414, 415, 422, 429, 431, 500, 502, 503, 504};
#define HTTP_NSTATUSES (sizeof(http_statuses) / sizeof(http_statuses[0]))

typedef struct http_metric_slot {
    char *route;          /* label value, escaped: the pattern or "unmatched" */
    saga_metric *seconds; /* saga_http_request_seconds{route} */
    _Atomic(saga_metric *) count[HTTP_NMETHODS][HTTP_NSTATUSES];
} http_metric_slot;

/* One open connection (libmicrohttpd's socket context), on its server's list. The
 * watchdog closes (shutdown) one whose request is not in by its deadline. */
typedef struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    bool armed;            /* a request is awaited: the deadline counts */
    long long deadline_ms; /* CLOCK_MONOTONIC */
    bool nul_in_url;       /* the unescape callback decoded a %00 for the request being read */
} http_conn;

typedef struct http_header {
    char *name;
    char *value;
} http_header;

struct saga_http_resp {
    saga_http_req *req;
    bool set;
    int status;
    const char *ctype; /* static string, or ctype_owned */
    char *ctype_owned;
    char *body; /* freed with body_free */
    size_t len;
    void (*body_free)(void *);
    http_header *hdrs;
    size_t nhdrs;
};

struct saga_http_req {
    saga_http_server *srv;
    struct MHD_Connection *conn;
    const char *method; /* MHD's, valid for the request */
    const char *path;
    struct timespec t0;
    char *body; /* NUL-terminated; NULL until data arrives */
    size_t len;
    size_t cap;
    bool too_large;
    bool nomem;
    cJSON *json;
    saga_http_params params;
    saga_http_resp resp;
    bool authenticated; /* principal is set */
    saga_principal principal;
    char client_address[64]; /* filled on first use */
    /* refused before routing: a NUL in the URL (nul_field names where), sizes */
    bool nul_in_url;
    char nul_field[64];
    bool target_too_long;
    bool headers_too_big;
};

struct saga_http_server {
    struct MHD_Daemon *d;
    saga_http_opts opts; /* routes borrowed */
    const saga_http_route *builtins;
    size_t nbuiltins;
    saga_http_server *metrics; /* the /metrics listener, or NULL */
    long body_max;
    int port;
    atomic_int inflight;
    http_metric_slot *slots; /* builtins, then opts.routes, then "unmatched" */
    size_t nslots;
    /* connections and their deadlines */
    pthread_mutex_t conns_lock;
    http_conn *conns;
    long long timeout_ms;
    pthread_t watchdog;
    bool watchdog_started;
    atomic_bool stopping;
    saga_metric *timed_out; /* saga_http_connections_timed_out_total */
    /* /ready: the last check, reused for ready_cache_ms; the reason shown only here */
    pthread_mutex_t ready_lock;
    bool ready_known;
    bool ready_checking; /* a thread is running the check */
    bool ready_ok;
    long long ready_at_ms;
    char ready_why[256];
    bool ready_detail; /* the metrics listener: a failure's answer names the reason */
};

static void http_builtin_health(saga_http_req *req, saga_http_resp *resp);
static void http_builtin_ready(saga_http_req *req, saga_http_resp *resp);
static void http_builtin_metrics(saga_http_req *req, saga_http_resp *resp);
static void http_builtin_openapi(saga_http_req *req, saga_http_resp *resp);

static const saga_http_route http_api_builtins[] = {
    {"GET", "/health", http_builtin_health, SAGA_ROUTE_PUBLIC, NULL},
    {"GET", "/ready", http_builtin_ready, SAGA_ROUTE_PUBLIC, NULL},
    {"GET", "/openapi.json", http_builtin_openapi, SAGA_ROUTE_PUBLIC, NULL},
};
static const saga_http_route http_metrics_builtins[] = {
    {"GET", "/metrics", http_builtin_metrics, SAGA_ROUTE_PUBLIC, NULL},
    {"GET", "/health", http_builtin_health, SAGA_ROUTE_PUBLIC, NULL},
    {"GET", "/ready", http_builtin_ready, SAGA_ROUTE_PUBLIC, NULL},
};
#define HTTP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- route matching --- */

bool saga_http_route_match(const char *pattern, const char *path, saga_http_params *p)
{
    saga_http_params scratch;
    if (!p)
        p = &scratch;
    p->n = 0;
    if (!pattern || !path || pattern[0] != '/' || path[0] != '/')
        return false;

    const char *pend = path + strcspn(path, "?"); /* the query string is never path */
    if ((size_t)(pend - path) >= sizeof(p->buf))
        return false;

    size_t used = 0;
    const char *a = pattern;
    const char *b = path;
    while (*a == '/' && b < pend && *b == '/') {
        a++;
        b++;
        const char *aend = a + strcspn(a, "/");
        const char *bend = b;
        while (bend < pend && *bend != '/')
            bend++;
        size_t alen = (size_t)(aend - a);
        size_t blen = (size_t)(bend - b);
        if (alen >= 2 && a[0] == '{' && a[alen - 1] == '}') {
            size_t nlen = alen - 2;
            if (blen == 0 || p->n == SAGA_HTTP_MAX_PARAMS ||
                used + nlen + 1 + blen + 1 > sizeof(p->buf))
                goto fail;
            char *name = p->buf + used;
            memcpy(name, a + 1, nlen);
            name[nlen] = '\0';
            used += nlen + 1;
            char *value = p->buf + used;
            memcpy(value, b, blen);
            value[blen] = '\0';
            used += blen + 1;
            p->names[p->n] = name;
            p->values[p->n] = value;
            p->n++;
        } else if (alen != blen || memcmp(a, b, alen) != 0) {
            goto fail;
        }
        a = aend;
        b = bend;
    }
    if (*a == '\0' && b == pend)
        return true;
fail:
    p->n = 0;
    return false;
}

/* --- status mapping and problem bodies --- */

int saga_http_status_for_rc(int rc)
{
    switch (rc) {
    case SAGA_OK:
        return 200;
    case SAGA_ERR_INVALID:
        return 400;
    case SAGA_ERR_NOT_FOUND:
        return 404;
    case SAGA_ERR_CONFLICT:
    case SAGA_ERR_DUPLICATE:
        return 409;
    case SAGA_ERR_TOO_LARGE:
        return 413;
    case SAGA_ERR_UNSUPPORTED:
        return 415;
    case SAGA_ERR_TRANSIENT:
    case SAGA_ERR_UNAVAILABLE:
        return 503;
    default:
        return 500;
    }
}

char *saga_http_problem_body(int status, const char *title, const char *detail,
                             const char *instance)
{
    char *out = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        goto out;
    if (!title)
        title = MHD_get_reason_phrase_for((unsigned)status);
    if (!cJSON_AddStringToObject(o, "type", "about:blank") ||
        !cJSON_AddStringToObject(o, "title", title) ||
        !cJSON_AddNumberToObject(o, "status", status))
        goto out;
    if (detail && !cJSON_AddStringToObject(o, "detail", detail))
        goto out;
    if (instance && !cJSON_AddStringToObject(o, "instance", instance))
        goto out;
    out = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return out;
}

/* --- answering --- */

bool saga_http_reply_field(saga_http_resp *resp, int status, const char *field, const char *fmt,
                           ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);

    char *text = saga_http_problem_body(status, NULL, detail, NULL);
    cJSON *problem = text ? cJSON_Parse(text) : NULL;
    char *out = NULL;
    if (problem && field)
        cJSON_AddStringToObject(problem, "field", field);
    if (problem && (out = cJSON_PrintUnformatted(problem)))
        saga_http_reply_raw(resp, status, "application/problem+json", out, strlen(out));
    else
        saga_http_reply_problem(resp, status, "%s", detail);
    cJSON_free(out);
    cJSON_free(text);
    cJSON_Delete(problem);
    return false;
}

static void http_free_cjson(void *p)
{
    cJSON_free(p);
}

static void http_free_none(void *p)
{
    (void)p; /* static bodies */
}

static void http_resp_clear_body(saga_http_resp *resp)
{
    if (resp->body)
        resp->body_free(resp->body);
    resp->body = NULL;
    resp->len = 0;
    free(resp->ctype_owned);
    resp->ctype_owned = NULL;
    resp->ctype = NULL;
}

/* Sets the answer, taking over body (freed with body_free). */
static void http_resp_set(saga_http_resp *resp, int status, const char *ctype, char *body,
                          size_t len, void (*body_free)(void *))
{
    http_resp_clear_body(resp);
    resp->set = true;
    resp->status = status;
    resp->ctype = body ? ctype : NULL;
    resp->body = body;
    resp->len = body ? len : 0;
    resp->body_free = body_free;
}

int saga_http_reply_json(saga_http_resp *resp, int status, cJSON *body)
{
    char *text = NULL;
    if (body) {
        text = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        if (!text)
            return SAGA_ERR_NOMEM;
    }
    http_resp_set(resp, status, "application/json", text, text ? strlen(text) : 0, http_free_cjson);
    return SAGA_OK;
}

static int http_reply_problem_detail(saga_http_resp *resp, int status, const char *detail)
{
    /* the path as the instance, unless it is long (a 414 would echo what it refuses) */
    const char *path = resp->req->path;
    char *text = saga_http_problem_body(status, NULL, detail,
                                        path && strlen(path) <= HTTP_INSTANCE_MAX ? path : NULL);
    if (!text)
        return SAGA_ERR_NOMEM;
    http_resp_set(resp, status, "application/problem+json", text, strlen(text), http_free_cjson);
    return SAGA_OK;
}

int saga_http_reply_problem(saga_http_resp *resp, int status, const char *fmt, ...)
{
    char detail[HTTP_DETAIL_MAX];
    if (!fmt)
        return http_reply_problem_detail(resp, status, NULL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return http_reply_problem_detail(resp, status, detail);
}

int saga_http_reply_rc(saga_http_resp *resp, int rc, const char *detail)
{
    return http_reply_problem_detail(resp, saga_http_status_for_rc(rc),
                                     detail ? detail : saga_rc_str(rc));
}

int saga_http_reply_raw(saga_http_resp *resp, int status, const char *content_type,
                        const char *body, size_t len)
{
    char *copy = NULL;
    char *ctype = NULL;
    if (body && len) {
        copy = malloc(len);
        if (!copy)
            goto nomem;
        memcpy(copy, body, len);
    }
    if (copy && content_type) {
        ctype = strdup(content_type);
        if (!ctype)
            goto nomem;
    }
    http_resp_set(resp, status, ctype, copy, copy ? len : 0, free);
    resp->ctype_owned = ctype; /* now owned by resp */
    return SAGA_OK;
nomem:
    free(copy);
    free(ctype);
    return SAGA_ERR_NOMEM;
}

int saga_http_reply_static(saga_http_resp *resp, int status, const char *content_type,
                           const char *body, size_t len)
{
    http_resp_set(resp, status, content_type, (char *)body, body ? len : 0, http_free_none);
    return SAGA_OK;
}

int saga_http_add_header(saga_http_resp *resp, const char *name, const char *value)
{
    char *n = strdup(name);
    char *v = strdup(value);
    http_header *h = realloc(resp->hdrs, (resp->nhdrs + 1) * sizeof(*h));
    if (!n || !v || !h) {
        free(n);
        free(v);
        if (h)
            resp->hdrs = h;
        return SAGA_ERR_NOMEM;
    }
    resp->hdrs = h;
    resp->hdrs[resp->nhdrs++] = (http_header){n, v};
    return SAGA_OK;
}

/* --- reading the request --- */

const char *saga_http_method(const saga_http_req *req)
{
    return req->method;
}

const char *saga_http_path(const saga_http_req *req)
{
    return req->path;
}

const char *saga_http_param(const saga_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->params.n; i++)
        if (strcmp(req->params.names[i], name) == 0)
            return req->params.values[i];
    return NULL;
}

/* A key given without a value ("?flag") reads as "". */
const char *saga_http_query(const saga_http_req *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v && MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name),
                                            NULL, NULL) == MHD_YES)
        v = "";
    return v;
}

const char *saga_http_header(const saga_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* Never NULL: "" with *len 0 when there is no body. */
const char *saga_http_body(const saga_http_req *req, size_t *len)
{
    if (len)
        *len = req->body ? req->len : 0;
    return req->body ? req->body : "";
}

const cJSON *saga_http_json(const saga_http_req *req)
{
    return req->json;
}

void *saga_http_userdata(const saga_http_req *req)
{
    return req->srv->opts.ud;
}

const saga_principal *saga_http_principal(const saga_http_req *req)
{
    return req->authenticated ? &req->principal : NULL;
}

bool saga_http_may_act_for(const saga_http_req *req, const char *customer_id)
{
    if (!req->authenticated || req->principal.admin)
        return true;
    return customer_id && strcmp(customer_id, req->principal.subject) == 0;
}

const char *saga_http_client_address(const saga_http_req *req)
{
    saga_http_req *r = (saga_http_req *)req; /* the cache is not part of the request */
    if (r->client_address[0])
        return r->client_address;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info ? info->client_addr : NULL;
    const char *text = NULL;
    if (sa && sa->sa_family == AF_INET)
        text = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->client_address,
                         sizeof(r->client_address));
    else if (sa && sa->sa_family == AF_INET6)
        text = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->client_address,
                         sizeof(r->client_address));
    if (!text)
        snprintf(r->client_address, sizeof(r->client_address), "unknown");
    return r->client_address;
}

/* --- built-ins --- */

static void http_builtin_health(saga_http_req *req, saga_http_resp *resp)
{
    static const char body[] = "{\"status\":\"UP\"}";
    (void)req;
    http_resp_set(resp, 200, "application/json", (char *)body, sizeof(body) - 1, http_free_none);
}

/* The readiness check, run at most once per ready_cache_ms and by one thread at a
 * time: meanwhile callers get the last answer (only before the first one is known do
 * they run a check of their own). The check runs outside the lock, so a slow
 * database holds one HTTP thread, not every caller of /ready. A failure is logged
 * with its reason when it is found. */
static bool http_ready_check(saga_http_server *srv, char *why, size_t whylen)
{
    char fresh[sizeof(srv->ready_why)] = "";
    why[0] = '\0';
    if (!srv->opts.ready)
        return true;
    pthread_mutex_lock(&srv->ready_lock);
    bool stale =
        !srv->ready_known || saga_clock_mono_ms() - srv->ready_at_ms >= srv->opts.ready_cache_ms;
    bool mine = stale && !srv->ready_checking;
    if (mine)
        srv->ready_checking = true;
    if (stale && !mine && srv->ready_known)
        stale = false; /* another thread is checking: its last answer stands */
    pthread_mutex_unlock(&srv->ready_lock);
    if (stale) {
        bool ok = srv->opts.ready(srv->opts.ud, fresh, sizeof(fresh));
        fresh[sizeof(fresh) - 1] = '\0';
        pthread_mutex_lock(&srv->ready_lock);
        if (mine) {
            srv->ready_ok = ok;
            snprintf(srv->ready_why, sizeof(srv->ready_why), "%s", fresh[0] ? fresh : "not ready");
            srv->ready_known = true;
            srv->ready_at_ms = saga_clock_mono_ms();
            srv->ready_checking = false;
        }
        pthread_mutex_unlock(&srv->ready_lock);
        if (!ok && !srv->ready_detail)
            LOG_WARN("http.not_ready", "/ready answers 503: %s", fresh[0] ? fresh : "not ready");
        if (!ok)
            snprintf(why, whylen, "%s", fresh[0] ? fresh : "not ready");
        return ok;
    }
    pthread_mutex_lock(&srv->ready_lock);
    bool ok = srv->ready_ok;
    if (!ok)
        snprintf(why, whylen, "%s", srv->ready_why);
    pthread_mutex_unlock(&srv->ready_lock);
    return ok;
}

/* On the API port a failure says only that: the reason (a database error, broker
 * addresses) is for operators, in the log and on the metrics listener's /ready. */
static void http_builtin_ready(saga_http_req *req, saga_http_resp *resp)
{
    static const char body[] = "{\"status\":\"READY\"}";
    saga_http_server *srv = req->srv;
    char why[256];
    if (!http_ready_check(srv, why, sizeof(why))) {
        if (srv->ready_detail)
            saga_http_reply_problem(resp, 503, "%s", why);
        else
            saga_http_reply_problem(resp, 503, "not ready; the reason is in the service's log");
        return;
    }
    http_resp_set(resp, 200, "application/json", (char *)body, sizeof(body) - 1, http_free_none);
}

static void http_builtin_metrics(saga_http_req *req, saga_http_resp *resp)
{
    size_t len = 0;
    char *text = saga_metrics_render(&len);
    (void)req;
    if (!text) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "cannot render metrics");
        return;
    }
    http_resp_set(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, free);
}

static void http_builtin_openapi(saga_http_req *req, saga_http_resp *resp)
{
    const saga_http_server *srv = req->srv;
    if (!srv->opts.openapi) {
        saga_http_reply_problem(resp, 404, "this service has no OpenAPI description loaded");
        return;
    }
    http_resp_set(resp, 200, "application/json", (char *)srv->opts.openapi, srv->opts.openapi_len,
                  http_free_none);
}

/* --- metrics per request --- */

static char *http_label_escape(const char *s)
{
    size_t n = 0;
    for (const char *c = s; *c; c++)
        n += (*c == '\\' || *c == '"' || *c == '\n') ? 2 : 1;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *c = s; *c; c++) {
        if (*c == '\\' || *c == '"') {
            *o++ = '\\';
            *o++ = *c;
        } else if (*c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

static saga_metric *http_counter_lookup(const http_metric_slot *slot, const char *method,
                                        int status)
{
    char labels[1024];
    char *m = http_label_escape(method);
    if (!m)
        return NULL;
    if (status)
        snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"%d\"", slot->route, m,
                 status);
    else
        snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"other\"", slot->route,
                 m);
    free(m);
    return saga_metrics_counter("saga_http_requests_total", "HTTP requests answered", labels);
}

static void http_record(saga_http_req *req, http_metric_slot *slot, int status)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - req->t0.tv_sec) + (t1.tv_nsec - req->t0.tv_nsec) / 1e9;
    saga_metric_observe(slot->seconds, secs);

    size_t mi = HTTP_NMETHODS;
    size_t si = HTTP_NSTATUSES;
    for (size_t i = 0; i < HTTP_NMETHODS; i++)
        if (strcmp(req->method, http_methods[i]) == 0) {
            mi = i;
            break;
        }
    for (size_t i = 0; i < HTTP_NSTATUSES; i++)
        if (http_statuses[i] == status) {
            si = i;
            break;
        }
    saga_metric *c;
    if (mi < HTTP_NMETHODS && si < HTTP_NSTATUSES) {
        c = atomic_load_explicit(&slot->count[mi][si], memory_order_acquire);
        if (!c) {
            /* the registry hands every thread the same pointer, so a race is harmless */
            c = http_counter_lookup(slot, req->method, status);
            atomic_store_explicit(&slot->count[mi][si], c, memory_order_release);
        }
    } else {
        /* a method or status outside the lists: one fixed label each, so that no
         * client can grow the series (a method is any token a client sends) */
        c = http_counter_lookup(slot, mi < HTTP_NMETHODS ? http_methods[mi] : "OTHER",
                                si < HTTP_NSTATUSES ? status : 0);
    }
    saga_metric_add(c, 1);
}

/* --- the request lifecycle --- */

static const saga_http_route *http_route_at(const saga_http_server *srv, size_t i)
{
    return i < srv->nbuiltins ? &srv->builtins[i] : &srv->opts.routes[i - srv->nbuiltins];
}

/* Checks the caller's token and its right to the route; answers 401/403 and
 * returns false when it may not go on. */
static bool http_authorize(saga_http_req *req, const saga_http_route *route)
{
    saga_http_resp *resp = &req->resp;
    char why[256];
    saga_auth_result r =
        saga_auth_verify(req->srv->opts.auth, saga_http_header(req, MHD_HTTP_HEADER_AUTHORIZATION),
                         &req->principal, why, sizeof(why));
    if (r != SAGA_AUTH_OK) {
        /* RFC 6750: no error code when no token was sent at all */
        char challenge[384];
        if (r == SAGA_AUTH_MISSING)
            snprintf(challenge, sizeof(challenge), "Bearer realm=\"saga\"");
        else
            snprintf(challenge, sizeof(challenge),
                     "Bearer realm=\"saga\", error=\"invalid_token\", error_description=\"%s\"",
                     why);
        saga_http_reply_problem(resp, 401, "%s", why);
        saga_http_add_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
        return false;
    }
    req->authenticated = true;
    if ((route->flags & SAGA_ROUTE_ADMIN) && !req->principal.admin) {
        saga_http_reply_problem(resp, 403, "this needs the admin role");
        return false;
    }
    if (route->owner_param &&
        !saga_http_may_act_for(req, saga_http_param(req, route->owner_param))) {
        saga_http_reply_problem(resp, 403, "a customer may only act on its own %s",
                                route->owner_param);
        return false;
    }
    return true;
}

static bool http_is_json_type(const char *ct)
{
    static const char json[] = "application/json";
    if (!ct)
        return false;
    ct += strspn(ct, " \t");
    if (strncasecmp(ct, json, sizeof(json) - 1) != 0)
        return false;
    ct += sizeof(json) - 1;
    ct += strspn(ct, " \t");
    return *ct == '\0' || *ct == ';';
}

/* Parses the body for a SAGA_ROUTE_JSON route, or answers 415/400 and returns false. */
static bool http_parse_json_or_reply(saga_http_req *req)
{
    saga_http_resp *resp = &req->resp;
    const char *ct = saga_http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!http_is_json_type(ct)) {
        saga_http_reply_problem(resp, 415, "content type must be application/json, not %s",
                                ct ? ct : "(none)");
        return false;
    }
    if (!req->body || req->len == 0) {
        saga_http_reply_problem(resp, 400, "request body is empty; a JSON document is required");
        return false;
    }
    const char *end = NULL;
    req->json = cJSON_ParseWithLengthOpts(req->body, req->len, &end, false);
    if (!req->json) {
        size_t at = end ? (size_t)(end - req->body) : 0;
        saga_http_reply_problem(resp, 400, "request body is not valid JSON (error near byte %zu)",
                                at);
        return false;
    }
    size_t at = (size_t)(end - req->body);
    if (at + strspn(end, " \t\r\n") != req->len) {
        saga_http_reply_problem(resp, 400, "request body has data after the JSON value at byte %zu",
                                at);
        return false;
    }
    /* cJSON cuts a string at a NUL ("a\u0000b" reads as "a"): refused, never cut */
    char where[128];
    if (saga_json_find_nul(req->body, req->len, where, sizeof(where))) {
        saga_http_reply_field(resp, 400, where[0] ? where : NULL,
                              "%s holds a NUL character (\\u0000), which is not accepted",
                              where[0] ? where : "the request body");
        return false;
    }
    return true;
}

/* Routes, checks and runs the handler; leaves the answer in req->resp and returns the
 * metric slot to count it under. */
static http_metric_slot *http_dispatch(saga_http_req *req)
{
    saga_http_server *srv = req->srv;
    saga_http_resp *resp = &req->resp;
    size_t nall = srv->nbuiltins + srv->opts.nroutes;
    const saga_http_route *route = NULL;
    size_t slot = srv->nslots - 1; /* unmatched */

    /* what must not reach routing: the path could have been cut at a NUL */
    if (req->nul_in_url) {
        saga_http_reply_field(resp, 400, req->nul_field,
                              "%s holds a NUL character (%%00), which is not accepted",
                              req->nul_field);
        return &srv->slots[slot];
    }
    if (req->target_too_long) {
        saga_http_reply_problem(resp, 414, "the URL is over the limit of %d bytes",
                                HTTP_TARGET_MAX);
        return &srv->slots[slot];
    }
    if (req->headers_too_big) {
        saga_http_reply_problem(resp, 431, "the request's headers are over the limit of %d bytes",
                                HTTP_HEADERS_MAX);
        return &srv->slots[slot];
    }

    for (size_t i = 0; i < nall; i++) {
        const saga_http_route *r = http_route_at(srv, i);
        if (strcmp(r->method, req->method) == 0 &&
            saga_http_route_match(r->pattern, req->path, &req->params)) {
            route = r;
            slot = i;
            break;
        }
    }

    if (!route) {
        char allow[256] = "";
        size_t alen = 0;
        bool matched = false;
        for (size_t i = 0; i < nall; i++) {
            const saga_http_route *r = http_route_at(srv, i);
            if (!saga_http_route_match(r->pattern, req->path, NULL))
                continue;
            if (!matched)
                slot = i;
            matched = true;
            bool seen = false; /* Allow lists each method once */
            for (size_t j = 0; j < i && !seen; j++) {
                const saga_http_route *q = http_route_at(srv, j);
                seen = strcmp(q->method, r->method) == 0 &&
                       saga_http_route_match(q->pattern, req->path, NULL);
            }
            if (!seen && alen + strlen(r->method) + 3 < sizeof(allow))
                alen += (size_t)snprintf(allow + alen, sizeof(allow) - alen, "%s%s",
                                         alen ? ", " : "", r->method);
        }
        if (matched) {
            saga_http_reply_problem(resp, 405, "method %s is not allowed here; allowed: %s",
                                    req->method, allow);
            saga_http_add_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        } else {
            saga_http_reply_problem(resp, 404, "no resource at this path");
        }
        return &srv->slots[slot];
    }

    if (srv->opts.auth && !(route->flags & SAGA_ROUTE_PUBLIC) && !http_authorize(req, route))
        return &srv->slots[slot];
    if (req->too_large) {
        saga_http_reply_problem(resp, 413, "request body is over the limit of %ld bytes",
                                srv->body_max);
        return &srv->slots[slot];
    }
    if (req->nomem) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory reading the request body");
        return &srv->slots[slot];
    }
    if ((route->flags & SAGA_ROUTE_JSON) && !http_parse_json_or_reply(req))
        return &srv->slots[slot];

    route->fn(req, resp);
    if (!resp->set) {
        LOG_ERROR("http.no_reply", "handler for %s %s set no reply", route->method, route->pattern);
        saga_http_reply_problem(resp, 500, "the handler produced no answer");
    }
    return &srv->slots[slot];
}

static enum MHD_Result http_send(saga_http_req *req, http_metric_slot *slot)
{
    static const char nomem_body[] =
        "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\",\"status\":500,"
        "\"detail\":\"out of memory\"}";
    saga_http_resp *resp = &req->resp;
    struct MHD_Response *r = NULL;
    int status = resp->set ? resp->status : 500;

    if (resp->set && resp->body) {
        r = MHD_create_response_from_buffer_with_free_callback(resp->len, resp->body,
                                                               resp->body_free);
        if (r)
            resp->body = NULL; /* now owned by r */
    } else if (resp->set) {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (!r || !resp->set) {
        /* no memory for the answer itself: a fixed problem body */
        if (r)
            MHD_destroy_response(r);
        status = 500;
        r = MHD_create_response_from_buffer(sizeof(nomem_body) - 1, (void *)nomem_body,
                                            MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
    } else {
        if (resp->ctype)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->ctype);
        for (size_t i = 0; i < resp->nhdrs; i++)
            if (MHD_add_response_header(r, resp->hdrs[i].name, resp->hdrs[i].value) != MHD_YES)
                LOG_WARN("http.bad_header", "header %s refused by libmicrohttpd",
                         resp->hdrs[i].name);
    }
    enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    http_record(req, slot, status);
    return ret;
}

static void http_req_free(saga_http_req *req)
{
    if (!req)
        return;
    http_resp_clear_body(&req->resp);
    for (size_t i = 0; i < req->resp.nhdrs; i++) {
        free(req->resp.hdrs[i].name);
        free(req->resp.hdrs[i].value);
    }
    free(req->resp.hdrs);
    cJSON_Delete(req->json);
    free(req->body);
    free(req);
}

/* --- connections --- */

static http_conn *http_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* Arms (a request is awaited from now) or disarms the connection's deadline. */
static void http_conn_arm(saga_http_server *srv, http_conn *hc, bool on)
{
    if (!hc)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    hc->armed = on;
    hc->deadline_ms = saga_clock_mono_ms() + srv->timeout_ms;
    pthread_mutex_unlock(&srv->conns_lock);
}

static void http_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode toe)
{
    saga_http_server *srv = cls;
    http_conn *hc = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info || !(hc = calloc(1, sizeof(*hc))))
            return; /* no deadline for it; libmicrohttpd's idle timeout still holds */
        hc->fd = info->connect_fd;
        hc->armed = true;
        hc->deadline_ms = saga_clock_mono_ms() + srv->timeout_ms;
        pthread_mutex_lock(&srv->conns_lock);
        hc->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = hc;
        srv->conns = hc;
        pthread_mutex_unlock(&srv->conns_lock);
        *socket_context = hc; /* now owned by the connection: freed when it closes */
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && hc) {
        /* libmicrohttpd closes the socket only after this: once off the list, the
         * watchdog can no longer touch its fd */
        pthread_mutex_lock(&srv->conns_lock);
        if (hc->prev)
            hc->prev->next = hc->next;
        else
            srv->conns = hc->next;
        if (hc->next)
            hc->next->prev = hc->prev;
        pthread_mutex_unlock(&srv->conns_lock);
        free(hc);
        *socket_context = NULL;
    }
}

/* Closes the connections whose request is not in by its deadline: a client that
 * trickles a byte now and then keeps libmicrohttpd's idle timeout from ever running
 * out, but not this one. shutdown(), not close(): the descriptor stays
 * libmicrohttpd's, which sees the end of the stream and closes the connection. */
static void *http_watchdog(void *arg)
{
    saga_http_server *srv = arg;
    struct timespec nap = {0, HTTP_WATCH_MS * 1000000L};
    while (!atomic_load(&srv->stopping)) {
        nanosleep(&nap, NULL);
        long long now = saga_clock_mono_ms();
        unsigned closed = 0;
        pthread_mutex_lock(&srv->conns_lock);
        for (http_conn *hc = srv->conns; hc; hc = hc->next) {
            if (hc->armed && now >= hc->deadline_ms) {
                shutdown(hc->fd, SHUT_RDWR);
                hc->armed = false;
                closed++;
            }
        }
        pthread_mutex_unlock(&srv->conns_lock);
        if (closed) {
            saga_metric_add(srv->timed_out, closed);
            LOG_DEBUG("http.timed_out", "closed %u connection(s) without a whole request in %lld s",
                      closed, srv->timeout_ms / 1000);
        }
    }
    return NULL;
}

/* libmicrohttpd's own %-decoding, noting a decoded NUL: the URL handed to the access
 * handler is a C string and would end there ("/api/wallets/bob%00x" reads as
 * /api/wallets/bob). Query arguments keep their decoded length; the path does not. */
static size_t http_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    size_t n = MHD_http_unescape(s);
    if (memchr(s, '\0', n)) {
        http_conn *hc = http_conn_of(conn);
        if (hc)
            hc->nul_in_url = true;
    }
    return n;
}

typedef struct http_args_scan {
    size_t bytes;
    const char *nul_name; /* the first argument holding a NUL */
} http_args_scan;

static enum MHD_Result http_args_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                       size_t key_size, const char *value, size_t value_size)
{
    http_args_scan *scan = cls;
    (void)kind;
    scan->bytes += key_size + value_size + 2;
    if (!scan->nul_name && (strlen(key) != key_size || (value && strlen(value) != value_size)))
        scan->nul_name = key;
    return MHD_YES;
}

static enum MHD_Result http_headers_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                          size_t key_size, const char *value, size_t value_size)
{
    size_t *bytes = cls;
    (void)kind;
    (void)key;
    (void)value;
    *bytes += key_size + value_size + 4;
    return MHD_YES;
}

/* Notes, for http_dispatch to refuse: a NUL decoded in the URL, a URL or headers over
 * their limits. libmicrohttpd answers requests past its own memory pool itself. */
static void http_req_check_url(saga_http_req *req)
{
    http_conn *hc = http_conn_of(req->conn);
    http_args_scan args = {0};
    size_t header_bytes = 0;
    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, http_args_visit, &args);
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, http_headers_visit, &header_bytes);
    if (hc && hc->nul_in_url) {
        hc->nul_in_url = false; /* the next request on the connection starts clean */
        req->nul_in_url = true;
        snprintf(req->nul_field, sizeof(req->nul_field), "%s",
                 args.nul_name ? args.nul_name : "path");
    }
    req->target_too_long = strlen(req->path) + args.bytes > HTTP_TARGET_MAX;
    req->headers_too_big = header_bytes > HTTP_HEADERS_MAX;
}

static saga_http_req *http_req_new(saga_http_server *srv, struct MHD_Connection *conn,
                                   const char *url, const char *method)
{
    saga_http_req *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &req->t0);
    req->srv = srv;
    req->conn = conn;
    req->method = method;
    req->path = url;
    req->resp.req = req;

    http_req_check_url(req);

    /* a declared length over the limit: no need to buffer anything */
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end = NULL;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end != cl && n > (unsigned long long)srv->body_max)
            req->too_large = true;
    }
    return req;
}

static void http_req_append(saga_http_req *req, const char *data, size_t n)
{
    size_t max = (size_t)req->srv->body_max;
    if (req->too_large || req->nomem)
        return;
    if (n > max - req->len) {
        req->too_large = true;
        free(req->body);
        req->body = NULL;
        req->len = req->cap = 0;
        return;
    }
    if (req->len + n + 1 > req->cap) {
        size_t ncap = req->cap ? req->cap * 2 : 1024;
        while (ncap < req->len + n + 1)
            ncap *= 2;
        if (ncap > max + 1)
            ncap = max + 1;
        char *p = realloc(req->body, ncap);
        if (!p) {
            req->nomem = true;
            return;
        }
        req->body = p;
        req->cap = ncap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    saga_http_server *srv = cls;
    saga_http_req *req = *con_cls;
    (void)version;

    if (!req) {
        req = http_req_new(srv, conn, url, method);
        if (!req)
            return MHD_NO;
        atomic_fetch_add(&srv->inflight, 1);
        *con_cls = req; /* now owned by the connection: freed in http_completed */
        return MHD_YES;
    }
    if (*upload_data_size) {
        http_req_append(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    http_conn_arm(srv, http_conn_of(conn), false); /* the whole request is in */
    /* the lines logged while handling it carry the caller's trace (a handler that
     * starts a new trace sets its own) */
    saga_log_trace_set(saga_http_header(req, "traceparent"));
    enum MHD_Result ret = http_send(req, http_dispatch(req));
    saga_log_trace_clear();
    return ret;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    saga_http_server *srv = cls;
    (void)toe;
    http_conn_arm(srv, http_conn_of(conn), true); /* the next request's time starts now */
    if (!*con_cls)
        return;
    http_req_free(*con_cls);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

/* --- the server --- */

static void http_server_free(saga_http_server *srv)
{
    if (!srv)
        return;
    saga_http_stop(srv->metrics);
    for (size_t i = 0; i < srv->nslots; i++)
        free(srv->slots[i].route);
    free(srv->slots);
    pthread_mutex_destroy(&srv->conns_lock);
    pthread_mutex_destroy(&srv->ready_lock);
    free(srv);
}

/* Starts one listener with the given built-in routes ahead of opts->routes. */
static saga_http_server *http_server_start(const saga_http_opts *opts,
                                           const saga_http_route *builtins, size_t nbuiltins,
                                           char *err, size_t errlen)
{
    saga_http_server *srv = NULL;
    struct sockaddr_in sin;

    /* opts and err are never NULL here: saga_http_start sees to that */
    if (opts->nroutes && !opts->routes) {
        snprintf(err, errlen, "nroutes is %zu but routes is NULL", opts->nroutes);
        goto fail;
    }
    for (size_t i = 0; i < opts->nroutes; i++) {
        const saga_http_route *r = &opts->routes[i];
        if (!r->method || !r->pattern || !r->fn || r->pattern[0] != '/') {
            snprintf(err, errlen, "route %zu is incomplete (method, pattern from /, handler)", i);
            goto fail;
        }
    }
    if (opts->port < 0 || opts->port > 65535) {
        snprintf(err, errlen, "port %d is out of range", opts->port);
        goto fail;
    }
    const char *bind = opts->bind ? opts->bind : "0.0.0.0";
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)opts->port);
    if (inet_pton(AF_INET, bind, &sin.sin_addr) != 1) {
        snprintf(err, errlen, "bind address %s is not an IPv4 address", bind);
        goto fail;
    }

    srv = calloc(1, sizeof(*srv));
    if (!srv)
        goto nomem;
    srv->opts = *opts;
    srv->builtins = builtins;
    srv->nbuiltins = nbuiltins;
    if (!srv->opts.routes)
        srv->opts.nroutes = 0;
    srv->body_max = opts->body_max > 0 ? opts->body_max : HTTP_DEFAULT_BODY_MAX;
    atomic_init(&srv->inflight, 0);
    atomic_init(&srv->stopping, false);
    pthread_mutex_init(&srv->conns_lock, NULL);
    pthread_mutex_init(&srv->ready_lock, NULL);
    srv->timeout_ms = 1000LL * (opts->timeout_s > 0 ? opts->timeout_s : HTTP_DEFAULT_TIMEOUT_S);
    srv->timed_out = saga_metrics_counter(
        "saga_http_connections_timed_out_total",
        "connections closed because a whole request did not arrive in time", NULL);

    srv->nslots = nbuiltins + srv->opts.nroutes + 1;
    srv->slots = calloc(srv->nslots, sizeof(*srv->slots));
    if (!srv->slots)
        goto nomem;
    for (size_t i = 0; i < srv->nslots; i++) {
        http_metric_slot *s = &srv->slots[i];
        const char *label = i + 1 < srv->nslots ? http_route_at(srv, i)->pattern : "unmatched";
        s->route = http_label_escape(label);
        if (!s->route)
            goto nomem;
        for (size_t m = 0; m < HTTP_NMETHODS; m++)
            for (size_t st = 0; st < HTTP_NSTATUSES; st++)
                atomic_init(&s->count[m][st], NULL);
        char labels[1024];
        snprintf(labels, sizeof(labels), "route=\"%s\"", s->route);
        s->seconds = saga_metrics_histogram(
            "saga_http_request_seconds", "HTTP request latency in seconds", labels,
            saga_metrics_latency_bounds, saga_metrics_latency_nbounds);
    }

    unsigned int threads = opts->threads > 0 ? (unsigned int)opts->threads : HTTP_DEFAULT_THREADS;
    unsigned int max_conns = opts->max_connections > 0 ? (unsigned int)opts->max_connections
                                                       : HTTP_DEFAULT_MAX_CONNECTIONS;
    unsigned int per_address = opts->max_per_address > 0 ? (unsigned int)opts->max_per_address : 0;
    if (max_conns < threads)
        max_conns = threads; /* libmicrohttpd wants one per thread at least */
    /* MHD_USE_ITC lets saga_http_stop quiesce the daemon before stopping it */
    /* libmicrohttpd warns that a pool of one "is ignored": one thread is its
     * internal polling thread, so the pool option is given only for two or more */
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* clang-format off */
    srv->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC,
                              0, NULL, NULL, http_access, srv,
                              /* the logger must come first to catch every message */
                              MHD_OPTION_EXTERNAL_LOGGER, saga_log_mhd, NULL,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
                              MHD_OPTION_CONNECTION_LIMIT, max_conns,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)(srv->timeout_ms / 1000),
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
                              MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, srv,
                              MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, srv,
                              MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv,
                              MHD_OPTION_ARRAY, pool,
                              MHD_OPTION_END);
    /* clang-format on */
    if (!srv->d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not local?)", bind,
                 opts->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opts->port;
    if (pthread_create(&srv->watchdog, NULL, http_watchdog, srv) != 0) {
        snprintf(err, errlen, "cannot start the connection watchdog thread");
        MHD_stop_daemon(srv->d);
        goto fail;
    }
    srv->watchdog_started = true;
    LOG_INFO("http.started",
             "listening on %s:%d with %u threads, at most %u connections (%u per address, 0: "
             "no limit), %lld s to send a request",
             bind, srv->port, threads, max_conns, per_address, srv->timeout_ms / 1000);
    return srv;

nomem:
    snprintf(err, errlen, "out of memory");
fail:
    http_server_free(srv);
    return NULL;
}

saga_http_server *saga_http_start(const saga_http_opts *opts, char *err, size_t errlen)
{
    char dummy[1];
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (!opts) {
        snprintf(err, errlen, "no options given");
        return NULL;
    }
    /* the metrics listener first: a client that finds the API answering (its /ready
     * says 200 as soon as the database and Kafka are) finds /metrics too */
    saga_http_server *metrics = NULL;
    if (opts->metrics_bind) {
        saga_http_opts mopts = {
            .bind = opts->metrics_bind,
            .port = opts->metrics_port,
            .threads = 1,
            .body_max = 4096,
            .max_connections = 64,
            .max_per_address = 0,
            .timeout_s = opts->timeout_s,
            .ready = opts->ready,
            .ud = opts->ud,
            .ready_cache_ms = opts->ready_cache_ms,
        };
        char merr[256];
        metrics = http_server_start(&mopts, http_metrics_builtins,
                                    HTTP_COUNT(http_metrics_builtins), merr, sizeof(merr));
        if (!metrics) {
            snprintf(err, errlen, "metrics listener: %s", merr);
            return NULL;
        }
        metrics->ready_detail = true; /* for operators: /ready names the reason */
    }
    saga_http_server *srv =
        http_server_start(opts, http_api_builtins, HTTP_COUNT(http_api_builtins), err, errlen);
    if (!srv) {
        saga_http_stop(metrics);
        return NULL;
    }
    srv->metrics = metrics; /* stopped with srv, after it */
    return srv;
}

int saga_http_port(const saga_http_server *srv)
{
    return srv ? srv->port : 0;
}

int saga_http_metrics_port(const saga_http_server *srv)
{
    return srv && srv->metrics ? srv->metrics->port : 0;
}

void saga_http_stop(saga_http_server *srv)
{
    if (!srv)
        return;
    MHD_socket lfd = MHD_quiesce_daemon(srv->d);
    /* let requests in flight finish (idle keep-alive connections do not count) */
    struct timespec nap = {0, 5 * 1000 * 1000};
    for (int waited = 0; atomic_load(&srv->inflight) > 0 && waited < HTTP_STOP_GRACE_MS;
         waited += 5)
        nanosleep(&nap, NULL);
    MHD_stop_daemon(srv->d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd); /* only after MHD_stop_daemon, as microhttpd.h asks */
    atomic_store(&srv->stopping, true);
    if (srv->watchdog_started)
        pthread_join(srv->watchdog, NULL);
    LOG_INFO("http.stopped", "stopped listening on port %d", srv->port);
    http_server_free(srv);
}
