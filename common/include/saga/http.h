/* http.h - the HTTP server every service runs, over libmicrohttpd.
 *
 * A route table with path parameters ("/api/orders/{id}"), request bodies up to a
 * limit (413), JSON bodies parsed for routes that take them (415 on another
 * content type, 400 on bad JSON), application/problem+json errors (RFC 9457), and
 * the built-in /health, /ready, /metrics and /openapi.json.
 *
 * The response is queued on a later call of the access handler, never on the
 * first: with libmicrohttpd 0.9.75 a response queued on the first call costs the
 * connection its keep-alive. */
#ifndef SAGA_HTTP_H
#define SAGA_HTTP_H

#include <stddef.h>
#include <stdbool.h>
#include <cjson/cJSON.h>

#include "saga/auth.h"

#define SAGA_HTTP_MAX_PARAMS 4

typedef struct saga_http_req saga_http_req;
typedef struct saga_http_resp saga_http_resp;
typedef struct saga_http_server saga_http_server;

/* Path parameters from a route match. Values point into `buf`. */
typedef struct saga_http_params {
    size_t n;
    const char *names[SAGA_HTTP_MAX_PARAMS]; /* borrowed from the pattern's copy in buf */
    const char *values[SAGA_HTTP_MAX_PARAMS];
    char buf[512];
} saga_http_params;

/* Matches path against pattern ("/api/orders/{id}/events"). A {name} segment
 * matches one non-empty segment. Returns true and fills p on a match. A path
 * longer than the buffer never matches. */
bool saga_http_route_match(const char *pattern, const char *path, saga_http_params *p);

/* --- Reading the request (all pointers borrowed; valid during the handler) --- */
const char *saga_http_method(const saga_http_req *req);
const char *saga_http_path(const saga_http_req *req);
const char *saga_http_param(const saga_http_req *req, const char *name);  /* path parameter */
const char *saga_http_query(const saga_http_req *req, const char *name);  /* NULL if absent */
const char *saga_http_header(const saga_http_req *req, const char *name); /* case-insensitive */
const char *saga_http_body(const saga_http_req *req, size_t *len);
const cJSON *saga_http_json(const saga_http_req *req); /* parsed body (SAGA_ROUTE_JSON routes) */
void *saga_http_userdata(const saga_http_req *req);    /* saga_http_opts.ud */
/* The caller as its bearer token says; NULL on SAGA_ROUTE_PUBLIC routes and when
 * the server runs without a verifier (saga_http_opts.auth NULL). */
const saga_principal *saga_http_principal(const saga_http_req *req);
/* True if the caller may act for customer_id: an admin, or that customer. Also
 * true when there is no principal (public route, or no verifier). */
bool saga_http_may_act_for(const saga_http_req *req, const char *customer_id);
/* The client's address as text ("127.0.0.1", "::1"), from the socket (a proxy's
 * X-Forwarded-For is not trusted). */
const char *saga_http_client_address(const saga_http_req *req);

/* --- Answering (each returns SAGA_OK or SAGA_ERR_NOMEM) --- */
/* JSON answer; takes over body (may be NULL for no body). */
int saga_http_reply_json(saga_http_resp *resp, int status, cJSON *body);
/* application/problem+json: {"type":"about:blank","title":<reason phrase>,"status",
 * "detail",...}. detail is printf-style and may be NULL. */
int saga_http_reply_problem(saga_http_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A problem answer naming the request's field at fault: the problem's "field" member
 * (a body member, a query parameter, a path part); field NULL: none. Always returns
 * false, so that a check can end with it. */
bool saga_http_reply_field(saga_http_resp *resp, int status, const char *field, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));
/* A problem answer for a library result code, with the status from
 * saga_http_status_for_rc. */
int saga_http_reply_rc(saga_http_resp *resp, int rc, const char *detail);
/* Raw answer (copied), e.g. the Prometheus text. */
int saga_http_reply_raw(saga_http_resp *resp, int status, const char *content_type,
                        const char *body, size_t len);
/* Raw answer whose body and content type are borrowed, not copied: both must
 * outlive the server (files read once at start, string literals). */
int saga_http_reply_static(saga_http_resp *resp, int status, const char *content_type,
                           const char *body, size_t len);
/* Adds a header to the answer (copied). */
int saga_http_add_header(saga_http_resp *resp, const char *name, const char *value);

/* The one mapping of saga_rc to HTTP status: invalid 400, not found 404,
 * conflict/duplicate 409, too large 413, unsupported 415, transient/unavailable
 * 503, else 500. */
int saga_http_status_for_rc(int rc);

/* Builds a problem+json body. Caller frees with cJSON_free. */
char *saga_http_problem_body(int status, const char *title, const char *detail,
                             const char *instance);

/* --- Routes and the server --- */
typedef void (*saga_http_handler_fn)(saga_http_req *req, saga_http_resp *resp);

/* Who may call a route. By default (no flag) any caller with a valid bearer token,
 * customer or admin: 401 otherwise (with WWW-Authenticate). */
enum {
    SAGA_ROUTE_JSON = 1 << 0,   /* takes a JSON body: content type checked (415), parsed (400) */
    SAGA_ROUTE_PUBLIC = 1 << 1, /* no token needed (/health, /ready, /openapi.json) */
    SAGA_ROUTE_ADMIN = 1 << 2,  /* admins only: a customer gets 403 */
};

typedef struct saga_http_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/orders/{id}" */
    saga_http_handler_fn fn;
    unsigned flags;
    /* Optional: the path parameter naming the customer the resource belongs to
     * ("customerId"); a customer whose token subject differs gets 403. */
    const char *owner_param;
} saga_http_route;

/* /ready: return true when ready; otherwise write the reason into why. */
typedef bool (*saga_http_ready_fn)(void *ud, char *why, size_t whylen);

typedef struct saga_http_opts {
    const char *bind; /* "127.0.0.1" */
    int port;         /* 0 picks a free port: read it back with saga_http_port */
    int threads;      /* size of the thread pool */
    long body_max;    /* bytes; larger bodies get 413 */
    /* Connections (each listener): at most max_connections open at once (0: 512) and
     * max_per_address from one client address (0: no limit); a connection over a
     * limit is closed at once. A client has timeout_s seconds (0: 10) from the
     * connection's opening, or from the previous answer on it, to send a whole
     * request, however slowly it trickles; then the connection is closed. An idle
     * keep-alive connection is closed after the same time. */
    int max_connections;
    int max_per_address;
    int timeout_s;
    /* /ready's check is run at most once per ready_cache_ms (0: every call) and its
     * answer reused. On the API port a failure answers 503 without the reason
     * (logged); the metrics listener's /ready names it. */
    int ready_cache_ms;
    const saga_http_route *routes;
    size_t nroutes;
    saga_http_ready_fn ready;
    void *ud;            /* passed to handlers (saga_http_userdata) and to ready */
    const char *openapi; /* served at GET /openapi.json (borrowed); NULL: 404 */
    size_t openapi_len;
    /* Verifies bearer tokens (borrowed). NULL turns authentication off: every
     * route is served as if public (embedding and the HTTP layer's own tests). */
    const saga_auth *auth;
    /* /metrics is served only on this second listener, never on the API port.
     * metrics_bind NULL: no metrics listener. metrics_port 0 picks a free port. */
    const char *metrics_bind;
    int metrics_port;
} saga_http_opts;

/* Starts the server; routes are borrowed and must outlive it. Returns NULL with a
 * reason in err on failure. Unknown path: 404; known path, other method: 405 with
 * an Allow header. Every request is counted and timed in /metrics
 * (saga_http_requests_total{route,method,status}, saga_http_request_seconds). */
saga_http_server *saga_http_start(const saga_http_opts *opts, char *err, size_t errlen);
int saga_http_port(const saga_http_server *srv);
/* The metrics listener's port, or 0 when there is none. */
int saga_http_metrics_port(const saga_http_server *srv);
/* Stops accepting, finishes requests in flight, frees the server. NULL is fine. */
void saga_http_stop(saga_http_server *srv);

#endif
