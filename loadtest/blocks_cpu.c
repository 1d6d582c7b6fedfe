/* blocks_cpu.c - the CPU of the work every saga repeats in the services, each piece
 * timed alone in one thread: parsing an event, checking it against its schema (as the
 * consumer does: its type known, then the whole document), and verifying the order
 * request's bearer token with each algorithm the services accept.
 *
 * The events are the four a completed saga consumes, built as the services build
 * them (envelope.c) with data of saga-load's shape (two lines); each must parse and
 * validate, or the measurement fails. The keys are made here (a P-256 key, a
 * 2048-bit RSA key, a 32-byte secret), and the tokens are verified both on first use
 * and again (the verifier remembers a token it verified). Each piece (an event's
 * parse, its parse and check; a token's first use, its use again) runs o->seconds in
 * 5 slices of equal length; the figure is the median slice's CPU time
 * (CLOCK_THREAD_CPUTIME_ID) per operation, because the machine's speed itself varies
 * from second to second (docs/PERFORMANCE.md, "Why single runs spread"). */
#include "blocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "saga/auth.h"
#include "saga/envelope.h"
#include "saga/schema.h"

#define SLICES 5

/* The four events of a completed saga, and how many consumers read each one. */
static const struct {
    const char *type, *data;
    int consumers;
} EVENTS[] = {
    {"OrderCreated",
     "{\"orderId\":\"%s\",\"customerId\":\"c-000421\",\"items\":[{\"sku\":\"SKU-000017\","
     "\"quantity\":1},{\"sku\":\"SKU-004711\",\"quantity\":2}],\"currency\":\"EUR\","
     "\"deadline\":\"2026-12-06T13:00:30.000Z\"}",
     3},
    {"InventoryReserved",
     "{\"orderId\":\"%s\",\"customerId\":\"c-000421\",\"amount\":4297,\"currency\":\"EUR\","
     "\"items\":[{\"sku\":\"SKU-000017\",\"quantity\":1,\"unitPrice\":1299},"
     "{\"sku\":\"SKU-004711\",\"quantity\":2,\"unitPrice\":1499}]}",
     2},
    {"PaymentCompleted",
     "{\"orderId\":\"%s\",\"customerId\":\"c-000421\",\"paymentId\":"
     "\"01939a4e-7c3b-7d2a-9f10-3c5e8b7a6d41\",\"amount\":4297,\"currency\":\"EUR\"}",
     1},
    {"OrderConfirmed",
     "{\"orderId\":\"%s\",\"customerId\":\"c-000421\",\"amount\":4297,\"currency\":\"EUR\"}", 3},
};
_Static_assert(sizeof(EVENTS) / sizeof(EVENTS[0]) == BLOCKS_CPU_EVENTS, "one result per event");

static const char *const ALGS[BLOCKS_CPU_ALGS] = {"ES256", "RS256", "HS256"};

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int (*cpu_op)(void *arg);

/* Runs op for `seconds` in SLICES slices; the median slice's CPU µs per call, or -1
 * when op failed. */
static double time_op(cpu_op op, void *arg, double seconds)
{
    double per[SLICES];

    for (int s = 0; s < SLICES; s++) {
        double end = blocks_now() + seconds / SLICES, cpu0 = thread_cpu_s();
        unsigned long n = 0;
        do {
            for (int i = 0; i < 64; i++, n++)
                if (op(arg))
                    return -1;
        } while (blocks_now() < end);
        per[s] = (thread_cpu_s() - cpu0) * 1e6 / (double)n;
    }
    return blocks_quantile(per, SLICES, 0.5);
}

/* ---- events ---------------------------------------------------------------------- */

typedef struct event_case {
    const saga_schema_registry *reg;
    char *text; /* the event as it travels */
    size_t len;
    char why[192];
} event_case;

static int op_parse(void *arg)
{
    event_case *c = arg;
    saga_event *ev = NULL;
    int rc = saga_event_parse(c->text, c->len, &ev, c->why, sizeof(c->why));
    saga_event_free(ev);
    return rc;
}

static int op_check(void *arg)
{
    event_case *c = arg;
    saga_event *ev = NULL;
    int rc = saga_event_parse(c->text, c->len, &ev, c->why, sizeof(c->why));

    if (rc == 0 && !saga_schema_type_known(c->reg, ev->type)) {
        snprintf(c->why, sizeof(c->why), "unknown event type %s", ev->type);
        rc = -1;
    }
    if (rc == 0)
        rc = saga_schema_validate(c->reg, ev->dataschema, ev->doc, c->why, sizeof(c->why));
    saga_event_free(ev);
    return rc;
}

static char *event_text(const char *type, const char *data_fmt)
{
    char order_id[SAGA_UUID_LEN + 1], data[1024];
    saga_event *ev;
    char *printed, *text = NULL;

    saga_uuid_v7(order_id);
    snprintf(data, sizeof(data), data_fmt, order_id);
    ev = saga_event_new(type, "blocks", order_id, order_id, NULL, cJSON_Parse(data));
    printed = ev ? saga_event_print(ev) : NULL;
    if (printed)
        text = strdup(printed);
    cJSON_free(printed);
    saga_event_free(ev);
    return text;
}

static int measure_events(const blocks_opts *o, blocks_cpu_result *r, double seconds)
{
    saga_schema_registry *reg = NULL;
    char err[160];

    if (saga_schema_registry_load(o->schemas_dir, &reg, err, sizeof(err))) {
        snprintf(r->error, sizeof(r->error), "schemas %s: %s", o->schemas_dir, err);
        return -1;
    }
    for (size_t i = 0; i < BLOCKS_CPU_EVENTS && !r->error[0]; i++) {
        event_case c = {.reg = reg, .text = event_text(EVENTS[i].type, EVENTS[i].data)};
        double parse_us, check_us;

        if (!c.text) {
            snprintf(r->error, sizeof(r->error), "cannot build %s", EVENTS[i].type);
            break;
        }
        c.len = strlen(c.text);
        r->event_type[i] = EVENTS[i].type;
        r->consumers[i] = EVENTS[i].consumers;
        parse_us = time_op(op_parse, &c, seconds);
        check_us = parse_us < 0 ? -1 : time_op(op_check, &c, seconds);
        if (check_us < 0)
            snprintf(r->error, sizeof(r->error), "%s: %s", EVENTS[i].type, c.why);
        else {
            r->event_bytes[i] = c.len;
            r->parse_us[i] = parse_us;
            r->validate_us[i] = check_us - parse_us;
            r->events_per_saga_us += EVENTS[i].consumers * check_us;
        }
        free(c.text);
    }
    saga_schema_registry_free(reg);
    return r->error[0] ? -1 : 0;
}

/* ---- tokens ---------------------------------------------------------------------- */

/* More tokens than the verifier remembers (auth.c), used in turn: each use is a
 * first one, as when every order comes from another customer. */
#define TOKENS 4096

typedef struct token_case {
    saga_auth *auth;
    char *headers[TOKENS]; /* "Bearer <token>" */
    size_t ntokens, next;
    char why[128];
} token_case;

static int op_verify(void *arg)
{
    token_case *c = arg;
    saga_principal who;
    const char *header = c->headers[c->next++ % c->ntokens];

    return saga_auth_verify(c->auth, header, &who, c->why, sizeof(c->why)) == SAGA_AUTH_OK ? 0 : -1;
}

/* Mints ntokens customer tokens with alg and makes the verifier for them. */
static int token_case_make(const char *alg, size_t ntokens, token_case *c, char *err, size_t errlen)
{
    static const char secret[] = "blocks-hs256-secret-of-32-bytes!";
    char *priv = NULL, *pub = NULL;
    saga_minter *m = NULL;
    int rc = -1;

    if (strcmp(alg, "HS256") != 0 && saga_auth_keypair(alg, &priv, &pub, err, errlen))
        goto out;
    m = saga_minter_new(alg, priv ? priv : secret, priv ? strlen(priv) : strlen(secret), err,
                        errlen);
    if (!m)
        goto out;
    for (c->ntokens = 0; c->ntokens < ntokens; c->ntokens++) {
        char subject[32];
        char *token;

        snprintf(subject, sizeof(subject), "c-%06zu", c->ntokens);
        token = saga_minter_sign(
            m,
            &(saga_token_claims){
                .issuer = "blocks", .audience = "blocks", .subject = subject, .ttl_s = 3600},
            err, errlen);
        if (!token || asprintf(&c->headers[c->ntokens], "Bearer %s", token) < 0) {
            free(token);
            goto out;
        }
        free(token);
    }
    c->auth = saga_auth_new(&(saga_auth_opts){.alg = alg,
                                              .key = pub ? pub : secret,
                                              .key_len = pub ? strlen(pub) : strlen(secret),
                                              .issuer = "blocks",
                                              .audience = "blocks",
                                              .leeway_s = 30},
                            err, errlen);
    rc = c->auth ? 0 : -1;
out:
    saga_minter_free(m);
    free(priv);
    free(pub);
    return rc;
}

static void token_case_free(token_case *c)
{
    for (size_t i = 0; i < c->ntokens; i++)
        free(c->headers[i]);
    saga_auth_free(c->auth);
}

/* Each algorithm twice: a token used once, and one token used again (remembered). */
static int measure_tokens(blocks_cpu_result *r, double seconds)
{
    for (size_t i = 0; i < BLOCKS_CPU_ALGS && !r->error[0]; i++) {
        token_case first = {0}, again = {0};
        char err[256];

        r->alg[i] = ALGS[i];
        if (token_case_make(ALGS[i], TOKENS, &first, err, sizeof(err)) ||
            token_case_make(ALGS[i], 1, &again, err, sizeof(err)))
            snprintf(r->error, sizeof(r->error), "%s", err);
        else if ((r->verify_us[i] = time_op(op_verify, &first, seconds)) < 0 ||
                 (r->verify_again_us[i] = time_op(op_verify, &again, seconds)) < 0)
            snprintf(r->error, sizeof(r->error), "%s: %s", ALGS[i],
                     first.why[0] ? first.why : again.why);
        token_case_free(&first);
        token_case_free(&again);
    }
    return r->error[0] ? -1 : 0;
}

int blocks_cpu_measure(const blocks_opts *o, blocks_cpu_result *r)
{
    memset(r, 0, sizeof(*r));
    if (measure_events(o, r, o->seconds) == 0)
        measure_tokens(r, o->seconds);
    return r->error[0] ? -1 : 0;
}
