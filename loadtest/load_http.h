/* load_http.h - an asynchronous HTTP/1.1 client on libcurl's multi interface: many
 * requests in flight from one thread over a bounded pool of keep-alive connections
 * (requests beyond it wait inside curl for a free connection). Not thread-safe: one
 * thread starts requests and drives them with load_http_run. */
#ifndef LOAD_HTTP_H
#define LOAD_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct load_http load_http;

/* What a request came back with; everything borrowed until the callback returns. */
typedef struct load_http_answer {
    long status;       /* the HTTP status; 0 when there was no answer */
    const char *error; /* no answer: why (a static string), else NULL */
    const char *body;  /* the response body, NUL-terminated (cut at 1 MiB) */
    size_t body_len;
    const char *location; /* the Location header's value, or NULL */
    int64_t started_us;   /* load_now_us() when the request was started */
} load_http_answer;

typedef void (*load_http_done_fn)(void *opaque, const load_http_answer *answer);

/* A client keeping at most `connections` connections open, each request limited to
 * timeout_ms in all. Returns NULL with the reason in err. Call curl_global_init first. */
load_http *load_http_new(unsigned connections, long timeout_ms, char *err, size_t errlen);

/* Aborts what is in flight, calling each one back with an error (so its callback
 * frees what it owns), and frees everything. NULL is fine. */
void load_http_free(load_http *h);

/* Starts method ("POST", "PUT", ...) on url with a JSON body (body_len bytes, copied;
 * NULL: empty, except for GET) and an optional extra header line (copied), such as
 * "Authorization: Bearer ...". done is called once from load_http_run with the
 * answer. Returns 0, or -1 when memory runs out or curl refuses the request. */
int load_http_start(load_http *h, const char *method, const char *url, const char *header,
                    const char *body, size_t body_len, load_http_done_fn done, void *opaque);

/* Moves the transfers on: waits at most wait_ms for network activity (0: just
 * check), then calls back for each request that finished. Callbacks may start new
 * requests. Returns how many finished, or -1 on a curl multi error. */
int load_http_run(load_http *h, int wait_ms);

/* Requests started and not yet called back. */
unsigned load_http_active(const load_http *h);

#endif
