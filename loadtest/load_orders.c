/* load_orders.c - the orders saga-load placed, matched with their outcome events. */
#include "load_orders.h"

#include <stdlib.h>
#include <string.h>

enum {
    ORDER_PLACED = 1,        /* our POST got a 202 for it */
    ORDER_AWAITS_CANCEL = 2, /* kind cancel, and its cancel request has not failed */
    ORDER_DONE = 4,
};

static const char *const outcome_names[LOAD_OUTCOME_COUNT] = {
    "NONE", "CONFIRMED", "OUT_OF_STOCK", "PAYMENT_DECLINED", "CUSTOMER_REQUEST", "TIMEOUT", "OTHER",
};

const char *load_outcome_name(int outcome)
{
    return outcome >= 0 && outcome < LOAD_OUTCOME_COUNT ? outcome_names[outcome] : "OTHER";
}

load_outcome load_outcome_from_reason(const char *reason, size_t len)
{
    if (!reason)
        return LOAD_OUTCOME_OTHER;
    for (int o = LOAD_OUTCOME_OUT_OF_STOCK; o < LOAD_OUTCOME_OTHER; o++)
        if (strlen(outcome_names[o]) == len && !memcmp(outcome_names[o], reason, len))
            return (load_outcome)o;
    return LOAD_OUTCOME_OTHER;
}

bool load_outcome_expected(int kind, int outcome)
{
    switch (kind) {
    case LOAD_KIND_CONFIRMED:
        return outcome == LOAD_OUTCOME_CONFIRMED;
    case LOAD_KIND_OUT_OF_STOCK:
        return outcome == LOAD_OUTCOME_OUT_OF_STOCK;
    case LOAD_KIND_DECLINED:
        return outcome == LOAD_OUTCOME_PAYMENT_DECLINED;
    case LOAD_KIND_CANCEL:
        return outcome == LOAD_OUTCOME_CUSTOMER_REQUEST;
    case LOAD_KIND_FLASH:
        return outcome == LOAD_OUTCOME_CONFIRMED || outcome == LOAD_OUTCOME_OUT_OF_STOCK;
    default:
        return false;
    }
}

/* FNV-1a: ids are random UUIDs, any decent mix will do. */
static uint64_t id_hash(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < LOAD_ORDER_ID_LEN; i++)
        h = (h ^ (unsigned char)id[i]) * 0x100000001b3ULL;
    return h;
}

static int slots_grow(load_orders *t, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof(*slots));

    if (!slots)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t s = (size_t)id_hash(t->orders[i].id) & (nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

int load_orders_init(load_orders *t, size_t expected)
{
    size_t nslots = 1024;

    memset(t, 0, sizeof(*t));
    if (expected > ((size_t)1 << 20)) /* a hint: the table grows as orders come */
        expected = (size_t)1 << 20;
    while (nslots < expected * 2)
        nslots <<= 1;
    t->cap = nslots / 2;
    if (!(t->orders = malloc(t->cap * sizeof(*t->orders))) || slots_grow(t, nslots)) {
        load_orders_free(t);
        return -1;
    }
    return 0;
}

void load_orders_free(load_orders *t)
{
    free(t->orders);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* The order with this id, created (not placed, no events) if absent; NULL on no
 * memory or an id that is not a UUID's length. */
static load_order *find_or_add(load_orders *t, const char *id, size_t idlen)
{
    size_t s;
    load_order *o;

    if (idlen != LOAD_ORDER_ID_LEN)
        return NULL;
    s = (size_t)id_hash(id) & (t->nslots - 1);
    while (t->slots[s]) {
        o = &t->orders[t->slots[s] - 1];
        if (!memcmp(o->id, id, LOAD_ORDER_ID_LEN))
            return o;
        s = (s + 1) & (t->nslots - 1);
    }
    if (t->n >= UINT32_MAX - 1)
        return NULL;
    if (t->n == t->cap) {
        load_order *grown = realloc(t->orders, 2 * t->cap * sizeof(*grown));
        if (!grown)
            return NULL;
        t->orders = grown;
        t->cap *= 2;
    }
    o = &t->orders[t->n];
    memset(o, 0, sizeof(*o));
    memcpy(o->id, id, LOAD_ORDER_ID_LEN);
    t->slots[s] = (uint32_t)++t->n;
    /* keep the table at most half full; on failure it just gets fuller */
    if (t->n * 2 > t->nslots)
        (void)slots_grow(t, t->nslots * 2);
    return o;
}

/* Completes o if what has been seen of it decides it. */
static int settle(load_orders *t, load_order *o, load_completion *done)
{
    int64_t at;

    if (!(o->flags & ORDER_PLACED) || (o->flags & ORDER_DONE))
        return 0;
    if (o->cancelled_us) {
        at = o->cancelled_us;
    } else if (o->confirmed_us && !(o->flags & ORDER_AWAITS_CANCEL)) {
        at = o->confirmed_us;
        o->outcome = LOAD_OUTCOME_CONFIRMED;
    } else {
        return 0;
    }
    o->flags |= ORDER_DONE;
    t->done++;
    done->kind = (load_kind)o->kind;
    done->outcome = (load_outcome)o->outcome;
    done->latency_us = at - o->sched_us;
    done->at_us = at;
    done->after_confirmed = o->cancelled_us && o->confirmed_us;
    return 1;
}

int load_orders_placed(load_orders *t, const char *id, size_t idlen, load_kind kind,
                       int64_t sched_us, bool awaits_cancel, load_completion *done)
{
    load_order *o = find_or_add(t, id, idlen);

    if (!o)
        return -1;
    if (o->flags & ORDER_PLACED) /* the same id twice: the service broke its contract */
        return 0;
    o->flags |= ORDER_PLACED | (awaits_cancel ? ORDER_AWAITS_CANCEL : 0);
    o->kind = (uint8_t)kind;
    o->sched_us = sched_us;
    t->placed++;
    return settle(t, o, done);
}

int load_orders_event(load_orders *t, const char *id, size_t idlen, bool confirmed,
                      load_outcome reason, int64_t seen_us, load_completion *done)
{
    load_order *o = find_or_add(t, id, idlen);

    if (!o)
        return -1;
    if (seen_us <= 0) /* 0 means "not seen" */
        seen_us = 1;
    if (confirmed) {
        if (!o->confirmed_us)
            o->confirmed_us = seen_us;
    } else if (!o->cancelled_us) {
        o->cancelled_us = seen_us;
        o->outcome = (uint8_t)reason;
    }
    return settle(t, o, done);
}

int load_orders_cancel_failed(load_orders *t, const char *id, size_t idlen, load_completion *done)
{
    load_order *o = find_or_add(t, id, idlen);

    if (!o)
        return -1;
    o->flags &= (uint8_t)~ORDER_AWAITS_CANCEL;
    return settle(t, o, done);
}

size_t load_orders_missing(const load_orders *t, size_t *by_kind, const char **sample,
                           size_t nsample)
{
    size_t missing = 0;

    for (size_t i = 0; i < t->n; i++) {
        const load_order *o = &t->orders[i];
        if ((o->flags & ORDER_PLACED) && !(o->flags & ORDER_DONE)) {
            if (by_kind && o->kind < LOAD_KIND_COUNT)
                by_kind[o->kind]++;
            if (missing < nsample)
                sample[missing] = o->id;
            missing++;
        }
    }
    return missing;
}

size_t load_orders_foreign(const load_orders *t)
{
    return t->n - t->placed;
}
