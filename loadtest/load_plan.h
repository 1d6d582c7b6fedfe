/* load_plan.h - which orders to offer: a seeded random sequence of kinds, customers
 * and skus following the shared load conventions, and the request bodies.
 *
 * Conventions (the data generator creates them): customers load-c-000001..C with
 * plenty of money, load-poor-001..100 with none; products load-p-0000001..P with
 * plenty of stock, load-empty-01..10 with none. The same seed gives the same
 * sequence. Pure: no I/O. */
#ifndef LOAD_PLAN_H
#define LOAD_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "load_opts.h"

#define LOAD_ID_MAX 72 /* a customer id or sku (at most 64 characters) with the NUL */

/* xoshiro256** seeded through splitmix64. */
typedef struct load_rng {
    uint64_t s[4];
} load_rng;

void load_rng_seed(load_rng *r, uint64_t seed);
uint64_t load_rng_next(load_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t load_rng_below(load_rng *r, uint64_t n);

/* Customer classes: a customer is (class, number). */
typedef enum load_customer_class {
    LOAD_CUSTOMER_RICH = 0, /* load-c-%06lu, 1..customers */
    LOAD_CUSTOMER_POOR,     /* load-poor-%03lu, 1..100 */
} load_customer_class;

/* Writes the customer id ("load-c-000042", "load-poor-007"). */
void load_customer_id(int cls, unsigned long n, char out[LOAD_ID_MAX]);

typedef struct load_order_spec {
    load_kind kind;
    int customer_class;
    unsigned long customer; /* 1-based number within the class */
    char customer_id[LOAD_ID_MAX];
    unsigned nitems;
    char skus[LOAD_ITEMS_MAX][LOAD_ID_MAX]; /* distinct; quantity 1 each */
} load_order_spec;

typedef struct load_plan {
    const load_opts *opts; /* borrowed */
    load_rng rng;
} load_plan;

/* opts is borrowed and must outlive the plan. */
void load_plan_init(load_plan *p, const load_opts *opts);

/* The next order to offer. */
void load_plan_next(load_plan *p, load_order_spec *out);

/* Writes the POST /api/orders body for spec. Returns its length, or -1 if it does not
 * fit in outlen bytes. */
int load_plan_body(const load_order_spec *spec, char *out, size_t outlen);

#endif
