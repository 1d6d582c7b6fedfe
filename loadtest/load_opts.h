/* load_opts.h - saga-load's command line and environment, and the order mix.
 *
 * Pure: no I/O but getenv, so tests/unit/check_load.c can drive it. */
#ifndef LOAD_OPTS_H
#define LOAD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What an order is meant to exercise; each kind has one expected outcome. */
typedef enum load_kind {
    LOAD_KIND_CONFIRMED = 0, /* a rich customer, stocked skus: CONFIRMED */
    LOAD_KIND_OUT_OF_STOCK,  /* a load-empty sku: OUT_OF_STOCK (or a 409 sold-out refusal) */
    LOAD_KIND_DECLINED,      /* a load-poor customer: PAYMENT_DECLINED */
    LOAD_KIND_CANCEL,        /* cancelled right after the 202: CUSTOMER_REQUEST */
    LOAD_KIND_FLASH,         /* --flash: CONFIRMED while stock lasts, then OUT_OF_STOCK */
    LOAD_KIND_COUNT
} load_kind;

/* "confirmed", "out_of_stock", "declined", "cancel", "flash". Never NULL. */
const char *load_kind_name(int kind);

/* Relative weights of the kinds (LOAD_KIND_FLASH is never in a mix). */
typedef struct load_mix {
    unsigned weight[LOAD_KIND_COUNT];
    unsigned total;
} load_mix;

/* Parses "confirmed=90,out_of_stock=4,declined=3,cancel=3": any subset of the four
 * mixable kinds, each once, integer weights 0..1000000, a positive total; kinds left
 * out weigh 0. Returns 0, or -1 with the reason in err. */
int load_mix_parse(const char *spec, load_mix *out, char *err, size_t errlen);

/* Writes the mix as "confirmed=90,out_of_stock=4,...". */
void load_mix_format(const load_mix *mix, char *out, size_t outlen);

#define LOAD_ITEMS_MAX 50       /* lines per order (the order API's limit) */
#define LOAD_POOR_CUSTOMERS 100 /* load-poor-001..100 */
#define LOAD_EMPTY_PRODUCTS 10  /* load-empty-01..10 */

typedef struct load_opts {
    /* what to offer */
    double rate;              /* orders per second; 0 = closed loop with `concurrency` */
    unsigned concurrency;     /* orders in flight when rate is 0 */
    double duration_s;        /* 0: until `orders` */
    unsigned long orders;     /* 0: until `duration_s` */
    unsigned long customers;  /* load-c-000001..customers */
    unsigned long products;   /* load-p-0000001..products */
    unsigned items_per_order; /* distinct skus per order, quantity 1 each */
    load_mix mix;
    unsigned long long seed;
    bool seed_given;
    const char *flash_sku; /* NULL: no flash sale */
    long flash_stock;      /* -1: not given */
    bool strict;           /* unexpected outcomes fail the run too */

    /* where */
    const char *order_url;
    const char *inventory_url;
    const char *bootstrap;
    const char *topic;
    int fetch_wait_ms;
    unsigned connections;
    double http_timeout_s;
    double drain_timeout_s;

    /* tokens: each NULL when not configured */
    const char *jwt_alg;
    const char *jwt_private_key_file;
    const char *jwt_secret;      /* HS256, from SAGA_JWT_SECRET */
    const char *jwt_secret_file; /* HS256, from --jwt-secret-file or SAGA_JWT_SECRET_FILE */
    const char *jwt_issuer;
    const char *jwt_audience;
    long token_ttl_s;
    const char *write_tokens; /* write customer -> token JSON here and exit */
    const char *tokens_file;  /* read customer -> token JSON (as written above) */

    /* after the run */
    const char *json_path;
    const char *audit_cmd;
    bool no_audit;
    double audit_settle_s;
    bool quiet;
} load_opts;

typedef enum load_opts_result {
    LOAD_OPTS_RUN = 0, /* options are good: run */
    LOAD_OPTS_HELP,    /* --help was given: print the usage, exit 0 */
    LOAD_OPTS_BAD,     /* err says what is wrong: exit 2 */
} load_opts_result;

/* Fills *o from argv and the environment (SAGA_KAFKA_BOOTSTRAP, SAGA_ORDER_URL,
 * SAGA_INVENTORY_URL, SAGA_JWT_*, SAGA_LOAD_AUDIT_CMD). Strings in *o point into argv
 * or the environment (borrowed). Resets getopt, so it can be called more than once. */
load_opts_result load_opts_parse(int argc, char **argv, load_opts *o, char *err, size_t errlen);

void load_opts_usage(FILE *out);

#endif
