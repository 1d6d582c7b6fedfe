/* load_run.c - one load run: schedule, send, follow outcomes, drain. */
#include "load_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "load_clock.h"
#include "load_events.h"
#include "load_http.h"
#include "load_orders.h"
#include "load_plan.h"

#define URL_MAX 1024
#define BODY_BUF (128 + LOAD_ITEMS_MAX * (LOAD_ID_MAX + 32))
#define TICK_MS 5           /* longest sleep of the loop: the outcome queue's latency */
#define PROGRESS_US 1000000 /* a progress line every second */

typedef struct run {
    const load_opts *o;
    load_tokens *tokens;
    load_results *r;
    load_http *http;
    load_events *events;
    load_orders orders;
    load_plan plan;
    char orders_url[URL_MAX];
    int64_t start_us;
    int64_t last_send_us;   /* the last POST started */
    int64_t last_answer_us; /* the last POST answered */
    int64_t last_outcome_us;
    unsigned posts_in_flight;
    load_event *evbuf;
    size_t evcap;
    bool token_warned;
    /* the flash sale's set-up request */
    bool setup_done;
    long setup_status;
} run;

/* What one request was for. Freed by its callback. */
typedef struct order_req {
    run *run;
    load_kind kind;
    int customer_class;
    unsigned long customer;
    int64_t sched_us; /* when it was meant to go: latency counts from here */
    char order_id[LOAD_ORDER_ID_LEN + 1];
} order_req;

/* The base URL without its trailing slashes, then path. */
static int url_join(char *out, size_t outlen, const char *base, const char *path)
{
    size_t n = strlen(base);
    int len;

    while (n && base[n - 1] == '/')
        n--;
    len = snprintf(out, outlen, "%.*s%s", (int)n, base, path);
    return len < 0 || (size_t)len >= outlen ? -1 : 0;
}

static const char *auth_header(run *run, int cls, unsigned long n)
{
    char err[256];
    const char *h = load_tokens_customer(run->tokens, cls, n, err, sizeof(err));

    if (!h && load_tokens_enabled(run->tokens) && !run->token_warned) {
        fprintf(stderr, "saga-load: cannot mint a token: %s\n", err);
        run->token_warned = true;
    }
    return h;
}

/* ---- outcomes ------------------------------------------------------------------- */

static void record_completion(run *run, const load_completion *c)
{
    load_results *r = run->r;

    r->completed++;
    r->outcomes[c->outcome]++;
    r->by_kind[c->kind][c->outcome]++;
    load_hist_add(&r->e2e, c->latency_us);
    if (c->outcome == LOAD_OUTCOME_CONFIRMED)
        load_hist_add(&r->e2e_confirmed, c->latency_us);
    if (!load_outcome_expected(c->kind, c->outcome))
        r->unexpected++;
    if (c->after_confirmed)
        r->cancelled_after_confirmed++;
    if (c->at_us > run->last_outcome_us)
        run->last_outcome_us = c->at_us;
}

static void take_events(run *run)
{
    size_t n = load_events_take(run->events, &run->evbuf, &run->evcap);

    for (size_t i = 0; i < n; i++) {
        const load_event *e = &run->evbuf[i];
        load_completion c;
        if (load_orders_event(&run->orders, e->order_id, LOAD_ORDER_ID_LEN, e->confirmed, e->reason,
                              e->seen_us, &c) == 1)
            record_completion(run, &c);
    }
}

/* ---- cancels -------------------------------------------------------------------- */

static void on_cancel_answer(void *opaque, const load_http_answer *a)
{
    order_req *req = opaque;
    run *run = req->run;
    load_results *r = run->r;
    load_completion c;

    load_hist_add(&r->cancel_http, load_now_us() - a->started_us);
    if (a->status == 200) {
        r->cancel_ok++;
    } else if (a->status == 409) { /* already cancelled: its OrderCancelled decides */
        r->cancel_conflict++;
    } else {
        r->cancel_failed++;
        if (a->status == 0)
            fprintf(stderr, "saga-load: cancel %s: %s\n", req->order_id, a->error);
        /* no customer cancel will come: its OrderConfirmed is the outcome */
        if (load_orders_cancel_failed(&run->orders, req->order_id, LOAD_ORDER_ID_LEN, &c) == 1)
            record_completion(run, &c);
    }
    free(req);
}

static void send_cancel(run *run, order_req *req)
{
    char url[URL_MAX], path[64];
    load_completion c;

    snprintf(path, sizeof(path), "/api/orders/%s/cancel", req->order_id);
    run->r->cancel_sent++;
    if (url_join(url, sizeof(url), run->o->order_url, path) == 0 &&
        load_http_start(run->http, "POST", url,
                        auth_header(run, req->customer_class, req->customer), NULL, 0,
                        on_cancel_answer, req) == 0)
        return;
    run->r->cancel_failed++;
    if (load_orders_cancel_failed(&run->orders, req->order_id, LOAD_ORDER_ID_LEN, &c) == 1)
        record_completion(run, &c);
    free(req);
}

/* ---- orders --------------------------------------------------------------------- */

/* The order id of a 202: the last segment of Location, else the body's "id". */
static bool answer_order_id(const load_http_answer *a, char out[LOAD_ORDER_ID_LEN + 1])
{
    const char *slash;
    cJSON *doc, *id;
    bool ok = false;

    if (a->location && (slash = strrchr(a->location, '/')) &&
        strlen(slash + 1) == LOAD_ORDER_ID_LEN) {
        memcpy(out, slash + 1, LOAD_ORDER_ID_LEN + 1);
        return true;
    }
    if (!(doc = cJSON_ParseWithLength(a->body, a->body_len)))
        return false;
    id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    if (cJSON_IsString(id) && strlen(id->valuestring) == LOAD_ORDER_ID_LEN) {
        memcpy(out, id->valuestring, LOAD_ORDER_ID_LEN + 1);
        ok = true;
    }
    cJSON_Delete(doc);
    return ok;
}

static void on_order_answer(void *opaque, const load_http_answer *a)
{
    order_req *req = opaque;
    run *run = req->run;
    load_results *r = run->r;
    int64_t now = load_now_us();
    load_completion c;

    run->posts_in_flight--;
    run->last_answer_us = now;
    load_hist_add(&r->http, now - req->sched_us);
    load_hist_add(&r->http_service, now - a->started_us);
    if (a->status == 0) {
        load_results_error(r, a->error);
        goto done;
    }
    if (a->status < LOAD_STATUS_MAX)
        r->by_status[a->status]++;
    if (a->status < 200 || a->status > 299) {
        r->refused++;
        r->refused_by_kind[req->kind]++;
        if (a->status == 409 && strstr(a->body, "out-of-stock")) { /* the sold-out hint */
            r->refused_sold_out++;
            load_hist_add(&r->sold_out_http, now - req->sched_us);
        }
        goto done;
    }
    r->accepted++;
    if (!answer_order_id(a, req->order_id)) {
        r->bad_answers++;
        goto done;
    }
    if (load_orders_placed(&run->orders, req->order_id, LOAD_ORDER_ID_LEN, req->kind, req->sched_us,
                           req->kind == LOAD_KIND_CANCEL, &c) == 1)
        record_completion(run, &c);
    if (req->kind == LOAD_KIND_CANCEL) {
        send_cancel(run, req); /* takes req over */
        return;
    }
done:
    free(req);
}

/* Offers the plan's next order, meant to go at sched_us (0: now, once its token is
 * ready: a closed loop does not count the generator's own minting). */
static void send_order(run *run, int64_t sched_us)
{
    load_results *r = run->r;
    load_order_spec spec;
    char body[BODY_BUF];
    const char *auth;
    order_req *req;
    int len;
    int64_t now;

    load_plan_next(&run->plan, &spec);
    auth = auth_header(run, spec.customer_class, spec.customer);
    if (!sched_us)
        sched_us = load_now_us();
    r->offered++;
    r->offered_by_kind[spec.kind]++;
    len = load_plan_body(&spec, body, sizeof(body));
    if (len < 0 || !(req = calloc(1, sizeof(*req)))) {
        load_results_error(r, "cannot build the request");
        return;
    }
    req->run = run;
    req->kind = spec.kind;
    req->customer_class = spec.customer_class;
    req->customer = spec.customer;
    req->sched_us = sched_us;
    now = load_now_us();
    load_hist_add(&r->send_lag, now - sched_us);
    if (load_http_start(run->http, "POST", run->orders_url, auth, body, (size_t)len,
                        on_order_answer, req)) {
        load_results_error(r, "cannot start the request");
        free(req);
        return;
    }
    run->posts_in_flight++;
    run->last_send_us = now;
}

/* ---- the flash sale's set-up ---------------------------------------------------- */

static void on_setup_answer(void *opaque, const load_http_answer *a)
{
    run *run = opaque;

    run->setup_done = true;
    run->setup_status = a->status;
    if (a->status != 200 && a->status != 201)
        fprintf(stderr, "saga-load: flash sale set-up: %s%s%.300s\n", a->status ? "" : a->error,
                a->status ? "answered " : "", a->status ? a->body : "");
}

/* PUT /api/products/{sku} with the stock, as an admin; waits for the answer. */
static bool flash_setup(run *run, volatile sig_atomic_t *stop)
{
    const load_opts *o = run->o;
    char url[URL_MAX], path[128], body[256], err[256];
    const char *admin = load_tokens_admin(run->tokens, err, sizeof(err));

    if (!admin && load_tokens_enabled(run->tokens)) {
        fprintf(stderr, "saga-load: cannot mint the admin token: %s\n", err);
        return false;
    }
    snprintf(path, sizeof(path), "/api/products/%s", o->flash_sku);
    snprintf(body, sizeof(body), "{\"name\":\"saga-load flash sale\",\"price\":1000,\"stock\":%ld}",
             o->flash_stock);
    if (url_join(url, sizeof(url), o->inventory_url, path) ||
        load_http_start(run->http, "PUT", url, admin, body, strlen(body), on_setup_answer, run))
        return false;
    while (!run->setup_done && !*stop)
        if (load_http_run(run->http, 100) < 0)
            return false;
    return run->setup_status == 200 || run->setup_status == 201;
}

/* ---- tokens before the clock starts --------------------------------------------- */

/* Mints the tokens of every customer the run will use, before the clock starts: an
 * ES256 signature costs about half a millisecond of CPU, which would otherwise be
 * spent on the send path. The plan is replayed from a copy, so the same customers
 * come in the run. Without a known number of orders (--rate 0 with --duration only),
 * tokens are minted as orders go. */
static void tokens_prepare(run *run, volatile sig_atomic_t *stop)
{
    const load_opts *o = run->o;
    load_plan copy = run->plan;
    load_order_spec spec;
    double planned = 0;
    uint64_t n;
    int64_t started, next_note = load_now_us() + 5 * PROGRESS_US;
    const unsigned long distinct = o->customers + LOAD_POOR_CUSTOMERS;

    if (!load_tokens_can_mint(run->tokens))
        return;
    if (o->rate > 0 && o->duration_s > 0)
        planned = o->rate * o->duration_s;
    if (o->orders && (planned == 0 || (double)o->orders < planned))
        planned = (double)o->orders;
    if (planned <= 0)
        return;
    n = (uint64_t)planned + 1;
    started = load_now_us();
    for (uint64_t i = 0; i < n && !*stop; i++) {
        int64_t now;
        load_plan_next(&copy, &spec);
        (void)auth_header(run, spec.customer_class, spec.customer);
        if (load_tokens_minted(run->tokens) + load_tokens_loaded(run->tokens) >= distinct)
            break; /* every customer has one */
        if (!o->quiet && (i & 1023) == 0 && (now = load_now_us()) >= next_note) {
            fprintf(stderr, "saga-load: minting tokens: %lu so far\n",
                    load_tokens_minted(run->tokens));
            next_note = now + 5 * PROGRESS_US;
        }
    }
    if (!o->quiet && load_tokens_minted(run->tokens))
        fprintf(stderr, "saga-load: minted %lu tokens in %.1f s\n", load_tokens_minted(run->tokens),
                (double)(load_now_us() - started) / 1e6);
}

/* ---- the loop ------------------------------------------------------------------- */

static void progress(run *run, int64_t now)
{
    const load_results *r = run->r;

    fprintf(stderr,
            "saga-load: %6.1f s  offered %llu  accepted %llu  refused %llu  errors %llu  "
            "outcomes %llu  in flight %u\n",
            (double)(now - run->start_us) / 1e6, (unsigned long long)r->offered,
            (unsigned long long)r->accepted, (unsigned long long)r->refused,
            (unsigned long long)r->errors, (unsigned long long)r->completed,
            load_http_active(run->http));
}

/* Starts the orders whose time has come. Returns false once no more are to be sent. */
static bool send_due(run *run, uint64_t *sent, int64_t now, int64_t *next_us)
{
    const load_opts *o = run->o;
    int64_t end_us = o->duration_s > 0 ? run->start_us + (int64_t)(o->duration_s * 1e6) : 0;

    *next_us = 0;
    for (;;) {
        int64_t sched;
        if (o->orders && *sent >= o->orders)
            return false;
        if (o->rate > 0) {
            /* fixed times from the start, not from the last send: no drift, and a
             * slow answer cannot push the schedule back */
            sched = run->start_us + (int64_t)((double)*sent * 1e6 / o->rate);
            if (end_us && sched >= end_us)
                return false;
            if (sched > now) {
                *next_us = sched;
                return true;
            }
            /* every connection busy: wait; the lateness is counted in the latency */
            if (load_http_active(run->http) >= o->connections)
                return true;
        } else {
            if (end_us && now >= end_us)
                return false;
            if (run->posts_in_flight >= o->concurrency)
                return true;
            sched = 0; /* when it goes */
        }
        send_order(run, sched);
        (*sent)++;
    }
}

static void summarize(run *run, int64_t end_us)
{
    load_results *r = run->r;
    const char *sample[LOAD_MISSING_SAMPLE];
    size_t by_kind[LOAD_KIND_COUNT] = {0}, n;
    uint64_t others = 0;

    int64_t sent_until =
        run->last_answer_us > run->last_send_us ? run->last_answer_us : run->last_send_us;
    r->send_s = sent_until > run->start_us ? (double)(sent_until - run->start_us) / 1e6 : 0;
    r->completion_s = run->last_outcome_us > run->start_us
                          ? (double)(run->last_outcome_us - run->start_us) / 1e6
                          : 0;
    r->total_s = (double)(end_us - run->start_us) / 1e6;
    n = load_orders_missing(&run->orders, by_kind, sample, LOAD_MISSING_SAMPLE);
    r->missing = n;
    for (int k = 0; k < LOAD_KIND_COUNT; k++)
        r->missing_by_kind[k] = by_kind[k];
    for (size_t i = 0; i < n && i < LOAD_MISSING_SAMPLE; i++)
        memcpy(r->missing_sample[i], sample[i], LOAD_ORDER_ID_LEN + 1);
    r->events_foreign = load_orders_foreign(&run->orders);
    load_events_counts(run->events, &r->events_read, &others, &r->events_errors);
}

int load_run(const load_opts *o, load_tokens *tokens, load_results *r, volatile sig_atomic_t *stop,
             char *err, size_t errlen)
{
    run run = {.o = o, .tokens = tokens, .r = r};
    bool sending = true;
    uint64_t sent = 0;
    int64_t now, next_us, next_progress, drain_until = 0;
    int rc = -1;

    if (url_join(run.orders_url, sizeof(run.orders_url), o->order_url, "/api/orders")) {
        snprintf(err, errlen, "--order-url is too long");
        return -1;
    }
    load_plan_init(&run.plan, o);
    if (load_orders_init(&run.orders,
                         o->orders ? o->orders : (size_t)(o->rate * o->duration_s) + 1024)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(run.http = load_http_new(o->connections, (long)(o->http_timeout_s * 1000), err, errlen)))
        goto out;
    if (!load_tokens_enabled(tokens))
        fprintf(stderr, "saga-load: warning: no JWT key configured: requests go without "
                        "Authorization\n");
    if (o->flash_sku && !(r->flash_setup_ok = flash_setup(&run, stop))) {
        rc = 0; /* the report says the set-up failed */
        goto out;
    }
    tokens_prepare(&run, stop);
    if (!(run.events = load_events_start(o, err, errlen)))
        goto out;

    run.start_us = now = load_now_us();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    r->started_unix_s = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
    next_progress = now + PROGRESS_US;
    for (;;) {
        int wait_ms = TICK_MS;

        now = load_now_us();
        if (sending && *stop) {
            sending = false;
            r->interrupted = true;
        }
        if (sending && !(sending = send_due(&run, &sent, now, &next_us)))
            drain_until =
                (run.last_send_us ? run.last_send_us : now) + (int64_t)(o->drain_timeout_s * 1e6);
        if (!sending && !drain_until)
            drain_until = now + (int64_t)(o->drain_timeout_s * 1e6);
        take_events(&run);
        if (*stop >= 2) /* interrupted twice: what is in flight is aborted */
            break;
        if (!sending && load_http_active(run.http) == 0 &&
            (run.orders.done >= run.orders.placed || now >= drain_until))
            break;
        if (sending && next_us) {
            /* sleep until the next order is due, at most a tick; rounded up, since the
             * poll counts whole milliseconds and a wait of 0 below one would spin (at
             * 1,000 orders/s that spinning took 0.36 instead of 0.13 ms of CPU per
             * order, on the same 2 cores as the stack). An order goes at most 1 ms
             * late, and its latency counts from when it was due. */
            int64_t until = (next_us - now + 999) / 1000;
            wait_ms = until < TICK_MS ? (int)until : TICK_MS;
        }
        if (load_http_run(run.http, wait_ms) < 0) {
            snprintf(err, errlen, "the HTTP client failed");
            goto out;
        }
        if (!o->quiet && now >= next_progress) {
            progress(&run, now);
            next_progress += PROGRESS_US;
        }
    }
    take_events(&run);
    summarize(&run, load_now_us());
    rc = 0;
out:
    load_events_stop(run.events);
    load_http_free(run.http);
    load_orders_free(&run.orders);
    free(run.evbuf);
    return rc;
}
