/* console_glance.c - "at a glance": the services' own counters and gauges from their
 * /metrics, and the orders in flight from order-service's status index (see
 * console.h). The page turns counters into rates between two polls.
 *
 * Where each figure comes from (order-service unless named):
 *   created    saga_orders_created_total
 *   confirmed  saga_events_published_total{type="OrderConfirmed"}
 *   completed  confirmed + saga_events_published_total{type="OrderCancelled"} (a saga
 *              ends with one of the two; a customer's cancellation of a confirmed
 *              order ends its compensation and counts again)
 *   cancelled  by reason: OUT_OF_STOCK saga_events_consumed_total{type="InventoryShortage"},
 *              PAYMENT_DECLINED ..{type="PaymentFailed"}, TIMEOUT saga_orders_timed_out_total,
 *              CUSTOMER_REQUEST saga_http_requests_total{route=".../cancel",status="200"}
 *   per service: saga_consumer_total_lag, saga_outbox_backlog,
 *              saga_outbox_oldest_age_seconds, saga_events_consumed_total,
 *              saga_outbox_published_total, saga_dead_letters_total
 * Counters restart from zero with their service; the page shows no rate across a
 * drop. */
#include "console.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <curl/curl.h>

#include "saga/err.h"

#define METRICS_MAX (4u << 20) /* bytes of one /metrics answer read */

typedef struct body_buf {
    char *p;
    size_t len;
    bool too_large;
} body_buf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > METRICS_MAX) {
        b->too_large = true;
        return 0;
    }
    char *p = realloc(b->p, b->len + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, ptr, n);
    b->len += n;
    p[b->len] = '\0';
    b->p = p;
    return n;
}

/* GET url; the body in *out (free()) on a 200. */
static int scrape(const char *url, body_buf *out)
{
    CURL *h = curl_easy_init();
    long status = 0;
    int rc = SAGA_ERR_UNAVAILABLE;

    memset(out, 0, sizeof(*out));
    if (!h)
        return SAGA_ERR_NOMEM;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 500L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_easy_perform(h) == CURLE_OK &&
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
        out->p)
        rc = SAGA_OK;
    curl_easy_cleanup(h);
    if (rc) {
        free(out->p);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* What one service's /metrics says. */
typedef struct svc_figures {
    double lag, backlog, oldest, consumed, published, dead_letters;
    double created, confirmed, cancelled_events;
    double shortage, declined, timed_out, customer_cancel;
} svc_figures;

static const char *label_of(const console_prom_label *l, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(l[i].name, name))
            return l[i].value;
    }
    return "";
}

static void on_sample(const char *name, const console_prom_label *l, size_t n, double v, void *ud)
{
    svc_figures *f = ud;
    if (!strcmp(name, "saga_consumer_total_lag"))
        f->lag += v;
    else if (!strcmp(name, "saga_outbox_backlog"))
        f->backlog += v;
    else if (!strcmp(name, "saga_outbox_oldest_age_seconds"))
        f->oldest = v > f->oldest ? v : f->oldest;
    else if (!strcmp(name, "saga_outbox_published_total"))
        f->published += v;
    else if (!strcmp(name, "saga_dead_letters_total"))
        f->dead_letters += v;
    else if (!strcmp(name, "saga_orders_created_total"))
        f->created += v;
    else if (!strcmp(name, "saga_orders_timed_out_total"))
        f->timed_out += v;
    else if (!strcmp(name, "saga_events_consumed_total")) {
        const char *type = label_of(l, n, "type");
        f->consumed += v;
        if (!strcmp(type, "InventoryShortage"))
            f->shortage += v;
        else if (!strcmp(type, "PaymentFailed"))
            f->declined += v;
    } else if (!strcmp(name, "saga_events_published_total")) {
        const char *type = label_of(l, n, "type");
        if (!strcmp(type, "OrderConfirmed"))
            f->confirmed += v;
        else if (!strcmp(type, "OrderCancelled"))
            f->cancelled_events += v;
    } else if (!strcmp(name, "saga_http_requests_total")) {
        const char *route = label_of(l, n, "route");
        size_t rl = strlen(route);
        if (rl >= 7 && !strcmp(route + rl - 7, "/cancel") &&
            !strcmp(label_of(l, n, "method"), "POST") && !strcmp(label_of(l, n, "status"), "200"))
            f->customer_cancel += v;
    }
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int console_glance_json(console *c, cJSON **out)
{
    cJSON *root = cJSON_CreateObject(), *svcs = NULL, *cancelled = NULL;
    svc_figures order = {0};
    bool order_up = false;
    long long in_flight = 0;

    *out = NULL;
    if (!root || !(svcs = cJSON_AddObjectToObject(root, "services")))
        goto nomem;
    cJSON_AddNumberToObject(root, "time", (double)now_ms());
    for (int s = 0; s < CONSOLE_NSVC; s++) {
        body_buf b;
        svc_figures f = {0};
        cJSON *o = cJSON_AddObjectToObject(svcs, console_svc_names[s]);
        if (!o)
            goto nomem;
        bool up = scrape(c->cfg.metrics_url[s], &b) == SAGA_OK;
        cJSON_AddBoolToObject(o, "up", up);
        if (!up)
            continue;
        size_t bad = console_prom_parse(b.p, b.len, on_sample, &f);
        free(b.p);
        cJSON_AddNumberToObject(o, "lag", f.lag);
        cJSON_AddNumberToObject(o, "outboxBacklog", f.backlog);
        cJSON_AddNumberToObject(o, "outboxOldestSeconds", f.oldest);
        cJSON_AddNumberToObject(o, "consumed", f.consumed);
        cJSON_AddNumberToObject(o, "published", f.published);
        cJSON_AddNumberToObject(o, "deadLetters", f.dead_letters);
        cJSON_AddNumberToObject(o, "unparsedLines", (double)bad);
        if (s == CONSOLE_ORDER) {
            order = f;
            order_up = true;
        }
    }
    if (order_up) {
        cJSON_AddNumberToObject(root, "created", order.created);
        cJSON_AddNumberToObject(root, "confirmed", order.confirmed);
        cJSON_AddNumberToObject(root, "completed", order.confirmed + order.cancelled_events);
        if (!(cancelled = cJSON_AddObjectToObject(root, "cancelled")))
            goto nomem;
        cJSON_AddNumberToObject(cancelled, "OUT_OF_STOCK", order.shortage);
        cJSON_AddNumberToObject(cancelled, "PAYMENT_DECLINED", order.declined);
        cJSON_AddNumberToObject(cancelled, "TIMEOUT", order.timed_out);
        cJSON_AddNumberToObject(cancelled, "CUSTOMER_REQUEST", order.customer_cancel);
    }
    if (console_db_in_flight(c, &in_flight) == SAGA_OK)
        cJSON_AddNumberToObject(root, "inFlight", (double)in_flight);
    *out = root;
    return SAGA_OK;
nomem:
    cJSON_Delete(root);
    return SAGA_ERR_NOMEM;
}
