/* audit_report.c - violation lines, notes, the summary and the --json object. */
#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#define AUDIT_LINE_MAX 1024

struct audit_report {
    long max_print;
    bool json;
    long long violations[AUDIT_NINV];
    long long counts[AUDIT_NCOUNT];
    cJSON *items; /* JSON: the printed violations */
    cJSON *notes; /* JSON: the notes */
};

static const char *const inv_names[AUDIT_NINV] = {
    "inv1", "inv2", "inv3", "inv3a", "inv4", "inv5", "inv6", "inv7",
};

static const char *const count_names[AUDIT_NCOUNT] = {
    "orders",   "confirmed",    "cancelled",     "inFlight",    "products",    "wallets",
    "payments", "reservations", "notifications", "deadLetters", "dlqMessages",
};

static const char *const svc_names[AUDIT_NSVC] = {"order", "payment", "inventory", "notification"};

const char *audit_svc_name(audit_svc svc)
{
    return (unsigned)svc < AUDIT_NSVC ? svc_names[svc] : "unknown";
}

const char *audit_inv_name(audit_inv inv)
{
    return (unsigned)inv < AUDIT_NINV ? inv_names[inv] : "unknown";
}

const char *audit_safe(const char *s, char *buf, size_t buflen)
{
    size_t i = 0;
    if (buflen == 0)
        return "";
    if (!s)
        s = "(null)";
    for (; s[i] && i + 1 < buflen; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    buf[i] = '\0';
    return buf;
}

audit_report *audit_report_new(long max_print, bool json)
{
    audit_report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->max_print = max_print;
    r->json = json;
    if (json && (!(r->items = cJSON_CreateArray()) || !(r->notes = cJSON_CreateArray()))) {
        audit_report_free(r);
        return NULL;
    }
    return r;
}

void audit_report_free(audit_report *r)
{
    if (!r)
        return;
    cJSON_Delete(r->items);
    cJSON_Delete(r->notes);
    free(r);
}

void audit_violation(audit_report *r, audit_inv inv, const char *k1, const char *v1, const char *k2,
                     const char *v2, const char *fmt, ...)
{
    char msg[AUDIT_LINE_MAX], safe_msg[AUDIT_LINE_MAX], s1[160], s2[160];
    va_list ap;

    r->violations[inv]++;
    if (r->max_print > 0 && r->violations[inv] > r->max_print)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    audit_safe(msg, safe_msg, sizeof(safe_msg));
    audit_safe(v1, s1, sizeof(s1));
    if (k2)
        printf("VIOLATION %s %s=%s %s=%s: %s\n", inv_names[inv], k1, s1, k2,
               audit_safe(v2, s2, sizeof(s2)), safe_msg);
    else
        printf("VIOLATION %s %s=%s: %s\n", inv_names[inv], k1, s1, safe_msg);

    if (r->items) {
        cJSON *item = cJSON_CreateObject();
        cJSON *ids = cJSON_CreateObject();
        if (!item || !ids) {
            cJSON_Delete(item);
            cJSON_Delete(ids);
            return;
        }
        cJSON_AddStringToObject(item, "invariant", inv_names[inv]);
        cJSON_AddStringToObject(ids, k1, v1 ? v1 : "");
        if (k2)
            cJSON_AddStringToObject(ids, k2, v2 ? v2 : "");
        cJSON_AddItemToObject(item, "ids", ids);
        cJSON_AddStringToObject(item, "message", msg);
        cJSON_AddItemToArray(r->items, item);
    }
}

void audit_note(audit_report *r, const char *fmt, ...)
{
    char msg[AUDIT_LINE_MAX], safe_msg[AUDIT_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("note: %s\n", audit_safe(msg, safe_msg, sizeof(safe_msg)));
    if (r->notes)
        cJSON_AddItemToArray(r->notes, cJSON_CreateString(msg));
}

void audit_count_add(audit_report *r, audit_count c, long long n)
{
    r->counts[c] += n;
}

long long audit_report_violations(const audit_report *r)
{
    long long n = 0;
    for (int i = 0; i < AUDIT_NINV; i++)
        n += r->violations[i];
    return n;
}

static void report_json(audit_report *r, long long total)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *by = NULL, *counts = NULL;
    char *text = NULL;

    if (!root)
        goto out;
    cJSON_AddBoolToObject(root, "clean", total == 0);
    cJSON_AddNumberToObject(root, "violations", (double)total);
    if (!(by = cJSON_AddObjectToObject(root, "byInvariant")))
        goto out;
    for (int i = 0; i < AUDIT_NINV; i++)
        cJSON_AddNumberToObject(by, inv_names[i], (double)r->violations[i]);
    if (!(counts = cJSON_AddObjectToObject(root, "counts")))
        goto out;
    for (int i = 0; i < AUDIT_NCOUNT; i++)
        cJSON_AddNumberToObject(counts, count_names[i], (double)r->counts[i]);
    cJSON_AddItemToObject(root, "items", r->items);
    r->items = NULL;
    cJSON_AddItemToObject(root, "notes", r->notes);
    r->notes = NULL;
    if (!(text = cJSON_PrintUnformatted(root)))
        goto out;
    printf("%s\n", text);
out:
    cJSON_free(text);
    cJSON_Delete(root);
}

void audit_report_finish(audit_report *r)
{
    long long total = audit_report_violations(r);
    for (int i = 0; i < AUDIT_NINV; i++) {
        if (r->max_print > 0 && r->violations[i] > r->max_print)
            printf("note: %s: %lld more violations not printed (--max-print 0 prints all)\n",
                   inv_names[i], r->violations[i] - r->max_print);
    }
    if (total) {
        printf("audit: %lld violation%s (", total, total == 1 ? "" : "s");
        const char *sep = "";
        for (int i = 0; i < AUDIT_NINV; i++) {
            if (r->violations[i]) {
                printf("%s%s=%lld", sep, inv_names[i], r->violations[i]);
                sep = ", ";
            }
        }
        printf(")\n");
    } else {
        printf("audit: clean (orders=%lld, confirmed=%lld, cancelled=%lld, products=%lld, "
               "wallets=%lld)\n",
               r->counts[AUDIT_C_ORDERS], r->counts[AUDIT_C_CONFIRMED],
               r->counts[AUDIT_C_CANCELLED], r->counts[AUDIT_C_PRODUCTS],
               r->counts[AUDIT_C_WALLETS]);
    }
    if (r->json)
        report_json(r, total);
    fflush(stdout);
}
