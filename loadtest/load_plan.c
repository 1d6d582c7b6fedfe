/* load_plan.c - which orders to offer, seeded. */
#include "load_plan.h"

#include <stdio.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void load_rng_seed(load_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t load_rng_next(load_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Rejection sampling keeps the modulo unbiased. */
uint64_t load_rng_below(load_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

    do
        x = load_rng_next(r);
    while (x >= limit);
    return x % n;
}

void load_customer_id(int cls, unsigned long n, char out[LOAD_ID_MAX])
{
    if (cls == LOAD_CUSTOMER_POOR)
        snprintf(out, LOAD_ID_MAX, "load-poor-%03lu", n);
    else
        snprintf(out, LOAD_ID_MAX, "load-c-%06lu", n);
}

void load_plan_init(load_plan *p, const load_opts *opts)
{
    p->opts = opts;
    load_rng_seed(&p->rng, opts->seed);
}

static load_kind pick_kind(load_plan *p)
{
    const load_mix *mix = &p->opts->mix;
    uint64_t r;

    if (p->opts->flash_sku)
        return LOAD_KIND_FLASH;
    r = load_rng_below(&p->rng, mix->total);
    for (int k = 0; k < LOAD_KIND_FLASH; k++) {
        if (r < mix->weight[k])
            return (load_kind)k;
        r -= mix->weight[k];
    }
    return LOAD_KIND_CONFIRMED; /* not reached: the weights add up to total */
}

static int sku_taken(const load_order_spec *s, unsigned n, const char *sku)
{
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(s->skus[i], sku))
            return 1;
    return 0;
}

void load_plan_next(load_plan *p, load_order_spec *out)
{
    const load_opts *o = p->opts;
    unsigned i = 0;

    memset(out, 0, sizeof(*out));
    out->kind = pick_kind(p);
    if (out->kind == LOAD_KIND_DECLINED) {
        out->customer_class = LOAD_CUSTOMER_POOR;
        out->customer = 1 + (unsigned long)load_rng_below(&p->rng, LOAD_POOR_CUSTOMERS);
    } else {
        out->customer_class = LOAD_CUSTOMER_RICH;
        out->customer = 1 + (unsigned long)load_rng_below(&p->rng, o->customers);
    }
    load_customer_id(out->customer_class, out->customer, out->customer_id);

    if (out->kind == LOAD_KIND_FLASH) {
        snprintf(out->skus[0], LOAD_ID_MAX, "%s", o->flash_sku);
        out->nitems = 1;
        return;
    }
    out->nitems = o->items_per_order;
    if (out->kind == LOAD_KIND_OUT_OF_STOCK) /* one empty line is enough to be refused */
        snprintf(out->skus[i++], LOAD_ID_MAX, "load-empty-%02u",
                 1 + (unsigned)load_rng_below(&p->rng, LOAD_EMPTY_PRODUCTS));
    while (i < out->nitems) {
        char sku[LOAD_ID_MAX];
        snprintf(sku, sizeof(sku), "load-p-%07lu",
                 1 + (unsigned long)load_rng_below(&p->rng, o->products));
        if (!sku_taken(out, i, sku)) /* skus of an order must be distinct */
            memcpy(out->skus[i++], sku, sizeof(sku));
    }
}

/* Ids made here are [A-Za-z0-9._-] (the flash sku is checked by the options), so
 * they go into JSON as they are. */
int load_plan_body(const load_order_spec *spec, char *out, size_t outlen)
{
    size_t used;
    int n = snprintf(out, outlen, "{\"customerId\":\"%s\",\"items\":[", spec->customer_id);

    if (n < 0 || (size_t)n >= outlen)
        return -1;
    used = (size_t)n;
    for (unsigned i = 0; i < spec->nitems; i++) {
        n = snprintf(out + used, outlen - used, "%s{\"sku\":\"%s\",\"quantity\":1}", i ? "," : "",
                     spec->skus[i]);
        if (n < 0 || (size_t)n >= outlen - used)
            return -1;
        used += (size_t)n;
    }
    n = snprintf(out + used, outlen - used, "]}");
    if (n < 0 || (size_t)n >= outlen - used)
        return -1;
    return (int)(used + (size_t)n);
}
