/* load_http.c - asynchronous HTTP/1.1 over libcurl's multi interface. */
#include "load_http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "load_clock.h"

#define BODY_MAX (1024 * 1024)
#define LOCATION_MAX 256

/* One request; kept on a free list afterwards so its easy handle and buffers are
 * reused rather than allocated per request. */
typedef struct http_req {
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* the request body (a copy) */
    size_t body_cap;
    char *resp; /* the response body */
    size_t resp_len, resp_cap;
    char location[LOCATION_MAX];
    bool has_location;
    load_http_done_fn done;
    void *opaque;
    int64_t started_us;
    bool in_flight;
    struct http_req *next_free;
} http_req;

struct load_http {
    CURLM *multi;
    long timeout_ms;
    unsigned active;
    http_req *free_list;
    http_req **all; /* every request ever made, to free them */
    size_t nall, capall;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_req *r = userdata;
    size_t n = size * nmemb, keep = n;

    if (r->resp_len + keep > BODY_MAX) /* keep the start; the rest is not needed */
        keep = BODY_MAX - r->resp_len;
    if (r->resp_len + keep + 1 > r->resp_cap) {
        size_t cap = r->resp_cap ? r->resp_cap : 1024;
        char *grown;
        while (cap < r->resp_len + keep + 1)
            cap *= 2;
        if (!(grown = realloc(r->resp, cap)))
            return 0; /* curl fails the transfer: "failed writing received data" */
        r->resp = grown;
        r->resp_cap = cap;
    }
    memcpy(r->resp + r->resp_len, data, keep);
    r->resp_len += keep;
    r->resp[r->resp_len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_req *r = userdata;
    size_t n = size * nmemb, len;
    const size_t name = sizeof("Location:") - 1;
    const char *v;

    if (n > name && !strncasecmp(data, "Location:", name)) {
        v = data + name;
        len = n - name;
        while (len && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        if (len < LOCATION_MAX) {
            memcpy(r->location, v, len);
            r->location[len] = '\0';
            r->has_location = true;
        }
    }
    return n;
}

load_http *load_http_new(unsigned connections, long timeout_ms, char *err, size_t errlen)
{
    load_http *h = calloc(1, sizeof(*h));

    if (!h || !(h->multi = curl_multi_init())) {
        snprintf(err, errlen, "cannot create the HTTP client: out of memory");
        free(h);
        return NULL;
    }
    h->timeout_ms = timeout_ms;
    /* HTTP/1.1 keep-alive, one request at a time per connection, at most
     * `connections` of them; all of them stay in the cache between requests. */
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)connections);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)connections);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)connections);
    return h;
}

void load_http_free(load_http *h)
{
    if (!h)
        return;
    /* the callers' per-request state is freed by their callbacks */
    for (size_t i = 0; i < h->nall; i++) {
        http_req *r = h->all[i];
        if (r->in_flight) {
            load_http_answer a = {
                .error = "aborted by saga-load", .body = "", .started_us = r->started_us};
            r->in_flight = false;
            if (r->done)
                r->done(r->opaque, &a);
        }
    }
    for (size_t i = 0; i < h->nall; i++) {
        http_req *r = h->all[i];
        if (r->easy) {
            curl_multi_remove_handle(h->multi, r->easy); /* harmless if not added */
            curl_easy_cleanup(r->easy);
        }
        curl_slist_free_all(r->headers);
        free(r->body);
        free(r->resp);
        free(r);
    }
    free(h->all);
    curl_multi_cleanup(h->multi);
    free(h);
}

static http_req *req_get(load_http *h)
{
    http_req *r = h->free_list;

    if (r) {
        h->free_list = r->next_free;
        curl_easy_reset(r->easy);
        return r;
    }
    if (h->nall == h->capall) {
        size_t cap = h->capall ? 2 * h->capall : 64;
        http_req **grown = realloc(h->all, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        h->all = grown;
        h->capall = cap;
    }
    if (!(r = calloc(1, sizeof(*r))))
        return NULL;
    if (!(r->easy = curl_easy_init())) {
        free(r);
        return NULL;
    }
    h->all[h->nall++] = r;
    return r;
}

static void req_put(load_http *h, http_req *r)
{
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    r->resp_len = 0;
    r->has_location = false;
    r->done = NULL;
    r->opaque = NULL;
    r->next_free = h->free_list;
    h->free_list = r;
}

static int req_headers(http_req *r, const char *header)
{
    struct curl_slist *l = NULL, *next;

    /* no "Expect: 100-continue" round trip for larger bodies */
    const char *lines[] = {"Content-Type: application/json", "Accept: application/json",
                           "Expect:", header};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!lines[i])
            continue;
        if (!(next = curl_slist_append(l, lines[i]))) {
            curl_slist_free_all(l);
            return -1;
        }
        l = next;
    }
    r->headers = l;
    return 0;
}

int load_http_start(load_http *h, const char *method, const char *url, const char *header,
                    const char *body, size_t body_len, load_http_done_fn done, void *opaque)
{
    http_req *r = req_get(h);
    CURL *e;

    if (!r)
        return -1;
    e = r->easy;
    if (!body && strcmp(method, "GET")) /* an empty body: Content-Length: 0 */
        body = "";
    if (req_headers(r, header))
        goto fail;
    if (body) {
        if (body_len + 1 > r->body_cap) {
            char *grown = realloc(r->body, body_len + 1);
            if (!grown)
                goto fail;
            r->body = grown;
            r->body_cap = body_len + 1;
        }
        memcpy(r->body, body, body_len);
        r->body[body_len] = '\0';
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (strcmp(method, "GET") && strcmp(method, "POST"))
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 5000 ? h->timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    r->done = done;
    r->opaque = opaque;
    r->started_us = load_now_us();
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
        goto fail;
    r->in_flight = true;
    h->active++;
    return 0;
fail:
    req_put(h, r);
    return -1;
}

/* Calls back for every finished transfer. */
static int finish_done(load_http *h)
{
    CURLMsg *msg;
    int left, finished = 0;

    while ((msg = curl_multi_info_read(h->multi, &left))) {
        http_req *r = NULL;
        load_http_answer a = {0};
        CURLcode code;

        if (msg->msg != CURLMSG_DONE)
            continue;
        code = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (code == CURLE_OK)
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &a.status);
        else
            a.error = curl_easy_strerror(code);
        curl_multi_remove_handle(h->multi, msg->easy_handle);
        r->in_flight = false;
        h->active--;
        a.body = r->resp ? r->resp : "";
        a.body_len = r->resp_len;
        a.location = r->has_location ? r->location : NULL;
        a.started_us = r->started_us;
        if (r->done)
            r->done(r->opaque, &a);
        req_put(h, r);
        finished++;
    }
    return finished;
}

int load_http_run(load_http *h, int wait_ms)
{
    int running = 0;

    if (wait_ms > 0 && curl_multi_poll(h->multi, NULL, 0, wait_ms, NULL) != CURLM_OK)
        return -1;
    if (curl_multi_perform(h->multi, &running) != CURLM_OK)
        return -1;
    return finish_done(h);
}

unsigned load_http_active(const load_http *h)
{
    return h->active;
}
