/* load_report.c - the verdict of a run, and its report as text and JSON. */
#include "load_report.h"

#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

void load_results_init(load_results *r, const load_opts *opts)
{
    memset(r, 0, sizeof(*r));
    r->opts = opts;
    load_hist_init(&r->http);
    load_hist_init(&r->http_service);
    load_hist_init(&r->e2e);
    load_hist_init(&r->e2e_confirmed);
    load_hist_init(&r->cancel_http);
    load_hist_init(&r->sold_out_http);
    load_hist_init(&r->send_lag);
    r->audit_status = -1;
    r->exit_status = 1;
}

void load_results_error(load_results *r, const char *message)
{
    int i;

    r->errors++;
    for (i = 0; i < LOAD_ERROR_KINDS && r->error_kinds[i].name; i++)
        if (!strcmp(r->error_kinds[i].name, message))
            break;
    if (i == LOAD_ERROR_KINDS) {
        r->error_kinds[i].name = "other";
    } else if (!r->error_kinds[i].name) {
        r->error_kinds[i].name = message;
    }
    r->error_kinds[i].n++;
}

void load_results_judge(load_results *r)
{
    const load_opts *o = r->opts;
    uint64_t confirmed = r->outcomes[LOAD_OUTCOME_CONFIRMED];

    r->failure[0] = '\0';
    if (o->flash_sku && confirmed > (uint64_t)o->flash_stock)
        r->flash_oversell = confirmed - (uint64_t)o->flash_stock;

    if (r->run_error[0])
        snprintf(r->failure, sizeof(r->failure), "the run could not start: %.255s", r->run_error);
    else if (o->flash_sku && !r->flash_setup_ok)
        snprintf(r->failure, sizeof(r->failure), "the flash sale sku could not be set up");
    else if (r->accepted == 0)
        snprintf(r->failure, sizeof(r->failure), "no order was accepted");
    else if (r->missing)
        snprintf(r->failure, sizeof(r->failure), "%llu accepted orders got no outcome",
                 (unsigned long long)r->missing);
    else if (r->bad_answers)
        snprintf(r->failure, sizeof(r->failure), "%llu answers 202 carried no order id",
                 (unsigned long long)r->bad_answers);
    else if (r->flash_oversell)
        snprintf(r->failure, sizeof(r->failure), "oversold: %llu confirmed for a stock of %ld",
                 (unsigned long long)confirmed, o->flash_stock);
    else if (r->audit_ran && r->audit_status != 0)
        snprintf(r->failure, sizeof(r->failure), "the audit failed (exit status %d)",
                 r->audit_status);
    else if (o->strict && r->unexpected)
        snprintf(r->failure, sizeof(r->failure), "%llu outcomes their kind does not expect",
                 (unsigned long long)r->unexpected);
    r->ok = r->failure[0] == '\0';
    r->exit_status = r->ok ? 0 : 1;
}

static double per_s(uint64_t n, double s)
{
    return s > 0 ? (double)n / s : 0;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

/* ---- text ---------------------------------------------------------------------- */

static void text_latency_row(FILE *out, const char *name, const load_hist *h)
{
    if (!h->count) {
        fprintf(out, "  %-24s %9s\n", name, "-");
        return;
    }
    fprintf(out, "  %-24s %9llu %9.2f %9.2f %9.2f %9.2f %9.2f\n", name,
            (unsigned long long)h->count, ms(load_hist_percentile(h, 50)),
            ms(load_hist_percentile(h, 95)), ms(load_hist_percentile(h, 99)), ms(h->max),
            load_hist_mean(h) / 1000.0);
}

/* all: also the usual outcomes that did not happen (the totals line) */
static void text_outcomes(FILE *out, const uint64_t *counts, bool all)
{
    bool any = false;

    for (int k = LOAD_OUTCOME_CONFIRMED; k < LOAD_OUTCOME_COUNT; k++) {
        if (!counts[k] && (!all || k > LOAD_OUTCOME_TIMEOUT))
            continue;
        fprintf(out, " %s %llu", load_outcome_name(k), (unsigned long long)counts[k]);
        any = true;
    }
    if (!any)
        fprintf(out, " none");
}

void load_report_text(const load_results *r, FILE *out)
{
    const load_opts *o = r->opts;
    char mix[128];

    load_mix_format(&o->mix, mix, sizeof(mix));
    fprintf(out, "saga-load: ");
    if (o->rate > 0)
        fprintf(out, "open loop at %g orders/s", o->rate);
    else
        fprintf(out, "closed loop, %u in flight", o->concurrency);
    if (o->duration_s > 0)
        fprintf(out, " for %g s", o->duration_s);
    if (o->orders)
        fprintf(out, "%s %lu orders", o->duration_s > 0 ? " or" : ",", o->orders);
    fprintf(out, ", seed %llu\n", o->seed);
    if (o->flash_sku)
        fprintf(out, "  flash sale: sku %s, stock %ld, %lu customers\n", o->flash_sku,
                o->flash_stock, o->customers);
    else
        fprintf(out, "  mix %s; %lu customers, %lu products, %u item(s) per order\n", mix,
                o->customers, o->products, o->items_per_order);
    if (r->interrupted)
        fprintf(out, "  interrupted: sending stopped early\n");

    fprintf(out, "\norders      offered %llu, accepted %llu, refused %llu, errors %llu\n",
            (unsigned long long)r->offered, (unsigned long long)r->accepted,
            (unsigned long long)r->refused, (unsigned long long)r->errors);
    if (r->refused) {
        fprintf(out, "  refused by status:");
        for (int s = 0; s < LOAD_STATUS_MAX; s++)
            if (r->by_status[s] && s != 202)
                fprintf(out, " %d: %llu", s, (unsigned long long)r->by_status[s]);
        if (r->refused_sold_out)
            fprintf(out, " (409 sold out: %llu)", (unsigned long long)r->refused_sold_out);
        fprintf(out, "\n");
    }
    for (int i = 0; i <= LOAD_ERROR_KINDS && r->error_kinds[i].name; i++)
        fprintf(out, "  error: %s: %llu\n", r->error_kinds[i].name,
                (unsigned long long)r->error_kinds[i].n);
    if (r->bad_answers)
        fprintf(out, "  202 without an order id: %llu\n", (unsigned long long)r->bad_answers);
    fprintf(out, "throughput  offered %.1f/s, accepted %.1f/s, completed sagas %.1f/s\n",
            per_s(r->offered, r->send_s), per_s(r->accepted, r->send_s),
            per_s(r->completed, r->completion_s));
    fprintf(out, "            sending took %.2f s, the last outcome came at %.2f s\n", r->send_s,
            r->completion_s);

    fprintf(out, "\nlatency (ms)                  count       p50       p95       p99       max    "
                 "  mean\n");
    text_latency_row(out, "http (from schedule)", &r->http);
    text_latency_row(out, "http (service time)", &r->http_service);
    text_latency_row(out, "saga end-to-end", &r->e2e);
    text_latency_row(out, "  of which CONFIRMED", &r->e2e_confirmed);
    if (r->cancel_sent)
        text_latency_row(out, "cancel request", &r->cancel_http);
    if (r->sold_out_http.count || o->flash_sku)
        text_latency_row(out, "409 sold-out refusal", &r->sold_out_http);
    text_latency_row(out, "generator send lag", &r->send_lag);

    fprintf(out, "\noutcomes   ");
    text_outcomes(out, r->outcomes, true);
    fprintf(out, "\n");
    for (int k = 0; k < LOAD_KIND_COUNT; k++) {
        if (!r->offered_by_kind[k])
            continue;
        bool any = false;
        fprintf(out, "  %-13s offered %llu:", load_kind_name(k),
                (unsigned long long)r->offered_by_kind[k]);
        for (int x = LOAD_OUTCOME_CONFIRMED; x < LOAD_OUTCOME_COUNT; x++)
            any |= r->by_kind[k][x] > 0;
        if (any)
            text_outcomes(out, r->by_kind[k], false);
        if (r->refused_by_kind[k])
            fprintf(out, "%s refused %llu", any ? "," : "",
                    (unsigned long long)r->refused_by_kind[k]);
        if (r->missing_by_kind[k])
            fprintf(out, "%s missing %llu", any || r->refused_by_kind[k] ? "," : "",
                    (unsigned long long)r->missing_by_kind[k]);
        if (!any && !r->refused_by_kind[k] && !r->missing_by_kind[k])
            fprintf(out, " none");
        fprintf(out, "\n");
    }
    fprintf(out,
            "  completed %llu of %llu accepted, missing %llu, unexpected for their kind %llu\n",
            (unsigned long long)r->completed, (unsigned long long)r->accepted,
            (unsigned long long)r->missing, (unsigned long long)r->unexpected);
    for (int i = 0; i < LOAD_MISSING_SAMPLE && r->missing_sample[i][0]; i++)
        fprintf(out, "  missing: %s\n", r->missing_sample[i]);
    if (r->cancel_sent)
        fprintf(out,
                "  cancel requests %llu: 200 %llu, 409 %llu, failed %llu; cancelled after "
                "confirmation %llu\n",
                (unsigned long long)r->cancel_sent, (unsigned long long)r->cancel_ok,
                (unsigned long long)r->cancel_conflict, (unsigned long long)r->cancel_failed,
                (unsigned long long)r->cancelled_after_confirmed);
    fprintf(out, "  outcome events read %llu, about orders of others %llu, unreadable %llu\n",
            (unsigned long long)r->events_read, (unsigned long long)r->events_foreign,
            (unsigned long long)r->events_errors);

    if (o->flash_sku)
        fprintf(out, "\nflash sale  stock %ld, confirmed %llu, oversold %llu%s\n", o->flash_stock,
                (unsigned long long)r->outcomes[LOAD_OUTCOME_CONFIRMED],
                (unsigned long long)r->flash_oversell, r->flash_oversell ? "  <-- OVERSELL" : "");

    fprintf(out, "\naudit       ");
    if (r->audit_ran)
        fprintf(out, "%s (exit status %d)\n", r->audit_status == 0 ? "clean" : "FAILED",
                r->audit_status);
    else
        fprintf(out, "not run%s\n",
                o->no_audit ? " (--no-audit)" : (o->audit_cmd ? "" : " (no --audit-cmd)"));
    fprintf(out, "result      %s (exit status %d)%s%s\n", r->ok ? "OK" : "FAILED", r->exit_status,
            r->failure[0] ? ": " : "", r->failure);
}

/* ---- JSON ---------------------------------------------------------------------- */

/* Milliseconds with microsecond precision. */
static double json_ms(uint64_t us)
{
    return round((double)us) / 1000.0;
}

static cJSON *json_latency(const load_hist *h)
{
    cJSON *j = cJSON_CreateObject();

    if (!j)
        return NULL;
    cJSON_AddNumberToObject(j, "count", (double)h->count);
    cJSON_AddNumberToObject(j, "p50", json_ms(load_hist_percentile(h, 50)));
    cJSON_AddNumberToObject(j, "p95", json_ms(load_hist_percentile(h, 95)));
    cJSON_AddNumberToObject(j, "p99", json_ms(load_hist_percentile(h, 99)));
    cJSON_AddNumberToObject(j, "max", json_ms(h->max));
    cJSON_AddNumberToObject(j, "mean", round(load_hist_mean(h)) / 1000.0);
    return j;
}

static cJSON *json_outcomes(const uint64_t *counts)
{
    cJSON *j = cJSON_CreateObject();

    for (int k = LOAD_OUTCOME_CONFIRMED; j && k < LOAD_OUTCOME_COUNT; k++)
        cJSON_AddNumberToObject(j, load_outcome_name(k), (double)counts[k]);
    return j;
}

static double round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

static cJSON *json_config(const load_opts *o)
{
    cJSON *c = cJSON_CreateObject(), *mix;
    char seed[32];

    if (!c)
        return NULL;
    cJSON_AddNumberToObject(c, "rate", o->rate);
    cJSON_AddNumberToObject(c, "concurrency", o->concurrency);
    cJSON_AddNumberToObject(c, "duration_s", o->duration_s);
    cJSON_AddNumberToObject(c, "orders", (double)o->orders);
    cJSON_AddNumberToObject(c, "customers", (double)o->customers);
    cJSON_AddNumberToObject(c, "products", (double)o->products);
    cJSON_AddNumberToObject(c, "items_per_order", o->items_per_order);
    if ((mix = cJSON_AddObjectToObject(c, "mix")))
        for (int k = 0; k < LOAD_KIND_FLASH; k++)
            cJSON_AddNumberToObject(mix, load_kind_name(k), o->mix.weight[k]);
    /* a string: a 64-bit seed does not survive a JSON number */
    snprintf(seed, sizeof(seed), "%llu", o->seed);
    cJSON_AddStringToObject(c, "seed", seed);
    cJSON_AddStringToObject(c, "order_url", o->order_url);
    cJSON_AddNumberToObject(c, "connections", o->connections);
    cJSON_AddNumberToObject(c, "drain_timeout_s", o->drain_timeout_s);
    cJSON_AddBoolToObject(c, "strict", o->strict);
    return c;
}

static cJSON *json_orders(const load_results *r)
{
    cJSON *j = cJSON_CreateObject(), *by, *errs, *kinds;
    char key[16];

    if (!j)
        return NULL;
    cJSON_AddNumberToObject(j, "offered", (double)r->offered);
    cJSON_AddNumberToObject(j, "accepted", (double)r->accepted);
    cJSON_AddNumberToObject(j, "refused", (double)r->refused);
    cJSON_AddNumberToObject(j, "refused_sold_out", (double)r->refused_sold_out);
    cJSON_AddNumberToObject(j, "errors", (double)r->errors);
    cJSON_AddNumberToObject(j, "bad_answers", (double)r->bad_answers);
    if ((by = cJSON_AddObjectToObject(j, "by_status")))
        for (int s = 0; s < LOAD_STATUS_MAX; s++)
            if (r->by_status[s]) {
                snprintf(key, sizeof(key), "%d", s);
                cJSON_AddNumberToObject(by, key, (double)r->by_status[s]);
            }
    if ((errs = cJSON_AddObjectToObject(j, "errors_by_kind")))
        for (int i = 0; i <= LOAD_ERROR_KINDS && r->error_kinds[i].name; i++)
            cJSON_AddNumberToObject(errs, r->error_kinds[i].name, (double)r->error_kinds[i].n);
    if ((kinds = cJSON_AddObjectToObject(j, "offered_by_kind")))
        for (int k = 0; k < LOAD_KIND_COUNT; k++)
            cJSON_AddNumberToObject(kinds, load_kind_name(k), (double)r->offered_by_kind[k]);
    return j;
}

static cJSON *json_outcome_section(const load_results *r)
{
    cJSON *j = cJSON_CreateObject(), *kinds, *missing, *sample;

    if (!j)
        return NULL;
    cJSON_AddNumberToObject(j, "completed", (double)r->completed);
    cJSON_AddNumberToObject(j, "missing", (double)r->missing);
    cJSON_AddNumberToObject(j, "unexpected", (double)r->unexpected);
    cJSON_AddItemToObject(j, "by_outcome", json_outcomes(r->outcomes));
    if ((kinds = cJSON_AddObjectToObject(j, "by_kind")))
        for (int k = 0; k < LOAD_KIND_COUNT; k++)
            if (r->offered_by_kind[k])
                cJSON_AddItemToObject(kinds, load_kind_name(k), json_outcomes(r->by_kind[k]));
    if ((kinds = cJSON_AddObjectToObject(j, "refused_by_kind")))
        for (int k = 0; k < LOAD_KIND_COUNT; k++)
            if (r->offered_by_kind[k])
                cJSON_AddNumberToObject(kinds, load_kind_name(k), (double)r->refused_by_kind[k]);
    if ((missing = cJSON_AddObjectToObject(j, "missing_by_kind")))
        for (int k = 0; k < LOAD_KIND_COUNT; k++)
            if (r->offered_by_kind[k])
                cJSON_AddNumberToObject(missing, load_kind_name(k), (double)r->missing_by_kind[k]);
    if ((sample = cJSON_AddArrayToObject(j, "missing_sample")))
        for (int i = 0; i < LOAD_MISSING_SAMPLE && r->missing_sample[i][0]; i++)
            cJSON_AddItemToArray(sample, cJSON_CreateString(r->missing_sample[i]));
    cJSON_AddNumberToObject(j, "events_read", (double)r->events_read);
    cJSON_AddNumberToObject(j, "events_foreign", (double)r->events_foreign);
    cJSON_AddNumberToObject(j, "events_errors", (double)r->events_errors);
    return j;
}

static cJSON *json_build(const load_results *r)
{
    const load_opts *o = r->opts;
    cJSON *root = cJSON_CreateObject(), *d, *t, *lat, *c, *f, *a;

    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "tool", "saga-load");
    cJSON_AddNumberToObject(root, "schema_version", 1);
    cJSON_AddBoolToObject(root, "ok", r->ok);
    cJSON_AddNumberToObject(root, "exit_status", r->exit_status);
    if (r->failure[0])
        cJSON_AddStringToObject(root, "failure", r->failure);
    else
        cJSON_AddNullToObject(root, "failure");
    cJSON_AddItemToObject(root, "config", json_config(o));
    cJSON_AddBoolToObject(root, "interrupted", r->interrupted);
    cJSON_AddNumberToObject(root, "started_at_unix_s", round3(r->started_unix_s));
    if ((d = cJSON_AddObjectToObject(root, "duration_s"))) {
        cJSON_AddNumberToObject(d, "send", round3(r->send_s));
        cJSON_AddNumberToObject(d, "completion", round3(r->completion_s));
        cJSON_AddNumberToObject(d, "total", round3(r->total_s));
    }
    cJSON_AddItemToObject(root, "orders", json_orders(r));
    if ((t = cJSON_AddObjectToObject(root, "throughput_per_s"))) {
        cJSON_AddNumberToObject(t, "offered", round3(per_s(r->offered, r->send_s)));
        cJSON_AddNumberToObject(t, "accepted", round3(per_s(r->accepted, r->send_s)));
        cJSON_AddNumberToObject(t, "completed", round3(per_s(r->completed, r->completion_s)));
    }
    if ((lat = cJSON_AddObjectToObject(root, "latency_ms"))) {
        cJSON_AddItemToObject(lat, "http", json_latency(&r->http));
        cJSON_AddItemToObject(lat, "http_service", json_latency(&r->http_service));
        cJSON_AddItemToObject(lat, "e2e", json_latency(&r->e2e));
        cJSON_AddItemToObject(lat, "e2e_confirmed", json_latency(&r->e2e_confirmed));
        cJSON_AddItemToObject(lat, "cancel_http", json_latency(&r->cancel_http));
        cJSON_AddItemToObject(lat, "sold_out_http", json_latency(&r->sold_out_http));
        cJSON_AddItemToObject(lat, "send_lag", json_latency(&r->send_lag));
    }
    cJSON_AddItemToObject(root, "outcomes", json_outcome_section(r));
    if ((c = cJSON_AddObjectToObject(root, "cancel"))) {
        cJSON_AddNumberToObject(c, "sent", (double)r->cancel_sent);
        cJSON_AddNumberToObject(c, "ok", (double)r->cancel_ok);
        cJSON_AddNumberToObject(c, "conflict", (double)r->cancel_conflict);
        cJSON_AddNumberToObject(c, "failed", (double)r->cancel_failed);
        cJSON_AddNumberToObject(c, "after_confirmed", (double)r->cancelled_after_confirmed);
    }
    if (!o->flash_sku) {
        cJSON_AddNullToObject(root, "flash");
    } else if ((f = cJSON_AddObjectToObject(root, "flash"))) {
        cJSON_AddStringToObject(f, "sku", o->flash_sku);
        cJSON_AddNumberToObject(f, "stock", (double)o->flash_stock);
        cJSON_AddBoolToObject(f, "setup_ok", r->flash_setup_ok);
        cJSON_AddNumberToObject(f, "confirmed", (double)r->outcomes[LOAD_OUTCOME_CONFIRMED]);
        cJSON_AddNumberToObject(f, "out_of_stock", (double)r->outcomes[LOAD_OUTCOME_OUT_OF_STOCK]);
        cJSON_AddNumberToObject(f, "refused_sold_out", (double)r->refused_sold_out);
        cJSON_AddNumberToObject(f, "oversell", (double)r->flash_oversell);
        cJSON_AddBoolToObject(f, "oversold", r->flash_oversell > 0);
        cJSON_AddItemToObject(f, "refusal_latency_ms", json_latency(&r->sold_out_http));
    }
    if ((a = cJSON_AddObjectToObject(root, "audit"))) {
        cJSON_AddBoolToObject(a, "ran", r->audit_ran);
        if (o->audit_cmd && !o->no_audit)
            cJSON_AddStringToObject(a, "command", o->audit_cmd);
        else
            cJSON_AddNullToObject(a, "command");
        if (r->audit_ran) {
            cJSON_AddNumberToObject(a, "exit_status", r->audit_status);
            cJSON_AddBoolToObject(a, "clean", r->audit_status == 0);
        } else {
            cJSON_AddNullToObject(a, "exit_status");
            cJSON_AddNullToObject(a, "clean");
        }
    }
    return root;
}

int load_report_json(const load_results *r, FILE *out)
{
    cJSON *root = json_build(r);
    char *text = NULL;
    int rc = -1;

    if (!root)
        goto out;
    if (!(text = cJSON_Print(root)))
        goto out;
    if (fputs(text, out) == EOF || fputc('\n', out) == EOF)
        goto out;
    rc = 0;
out:
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}
