/* audit_data.c - arena, hash map and the per-order records of the audit. */
#include "audit_data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

#define ARENA_CHUNK (1024 * 1024)

typedef struct arena_chunk {
    struct arena_chunk *prev;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
} arena_chunk;

struct audit_arena {
    arena_chunk *head;
};

audit_arena *audit_arena_new(void)
{
    return calloc(1, sizeof(audit_arena));
}

void audit_arena_free(audit_arena *a)
{
    if (!a)
        return;
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    free(a);
}

void *audit_arena_alloc(audit_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t want = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        arena_chunk *n = malloc(sizeof(*n) + want);
        if (!n)
            return NULL;
        n->prev = c;
        n->size = want;
        n->used = 0;
        a->head = c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *audit_arena_strdup(audit_arena *a, const char *s, bool *oom)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    char *p = audit_arena_alloc(a, len + 1);
    if (!p) {
        *oom = true;
        return NULL;
    }
    memcpy(p, s, len + 1);
    return p;
}

/* ---- map: open addressing, linear probing, at most half full ---- */

typedef struct map_entry {
    const char *key; /* NULL: empty */
    uint64_t hash;
    void *val;
} map_entry;

struct audit_map {
    audit_arena *arena;
    map_entry *slots;
    size_t cap; /* a power of two */
    size_t size;
};

static uint64_t map_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

audit_map *audit_map_new(audit_arena *a)
{
    audit_map *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->arena = a;
    m->cap = 1024;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void audit_map_free(audit_map *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

static map_entry *map_find(map_entry *slots, size_t cap, const char *key, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    for (;;) {
        map_entry *e = &slots[i];
        if (!e->key || (e->hash == h && strcmp(e->key, key) == 0))
            return e;
        i = (i + 1) & (cap - 1);
    }
}

static int map_grow(audit_map *m)
{
    size_t ncap = m->cap * 2;
    map_entry *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key)
            *map_find(ns, ncap, m->slots[i].key, m->slots[i].hash) = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

void **audit_map_slot(audit_map *m, const char *key)
{
    if ((m->size + 1) * 2 > m->cap && map_grow(m) != 0)
        return NULL;
    uint64_t h = map_hash(key);
    map_entry *e = map_find(m->slots, m->cap, key, h);
    if (!e->key) {
        bool oom = false;
        const char *copy = audit_arena_strdup(m->arena, key, &oom);
        if (!copy)
            return NULL;
        e->key = copy;
        e->hash = h;
        e->val = NULL;
        m->size++;
    }
    return &e->val;
}

void *audit_map_get(const audit_map *m, const char *key)
{
    map_entry *e = map_find(m->slots, m->cap, key, map_hash(key));
    return e->key ? e->val : NULL;
}

size_t audit_map_size(const audit_map *m)
{
    return m->size;
}

int audit_map_each(const audit_map *m, int (*fn)(const char *key, void *val, void *ud), void *ud)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        int rc = fn(m->slots[i].key, m->slots[i].val, ud);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- per-order records ---- */

audit_side *audit_side_get(audit_map *m, audit_arena *a, const char *order_id)
{
    void **slot = audit_map_slot(m, order_id);
    if (!slot)
        return NULL;
    if (!*slot)
        *slot = audit_arena_alloc(a, sizeof(audit_side));
    return *slot;
}

audit_pay_status audit_pay_status_parse(const char *s)
{
    if (!s)
        return AUDIT_PAY_OTHER;
    if (!strcmp(s, "CAPTURED"))
        return AUDIT_PAY_CAPTURED;
    if (!strcmp(s, "REFUNDED"))
        return AUDIT_PAY_REFUNDED;
    if (!strcmp(s, "DECLINED"))
        return AUDIT_PAY_DECLINED;
    return AUDIT_PAY_OTHER;
}

audit_resv_status audit_resv_status_parse(const char *s)
{
    if (!s)
        return AUDIT_RESV_OTHER;
    if (!strcmp(s, "HELD"))
        return AUDIT_RESV_HELD;
    if (!strcmp(s, "COMMITTED"))
        return AUDIT_RESV_COMMITTED;
    if (!strcmp(s, "RELEASED"))
        return AUDIT_RESV_RELEASED;
    if (!strcmp(s, "RESTOCKED"))
        return AUDIT_RESV_RESTOCKED;
    return AUDIT_RESV_OTHER;
}

const char *audit_resv_status_str(audit_resv_status st)
{
    switch (st) {
    case AUDIT_RESV_HELD:
        return "HELD";
    case AUDIT_RESV_COMMITTED:
        return "COMMITTED";
    case AUDIT_RESV_RELEASED:
        return "RELEASED";
    case AUDIT_RESV_RESTOCKED:
        return "RESTOCKED";
    default:
        return "unknown";
    }
}

audit_trigger audit_trigger_parse(const char *s)
{
    if (!s)
        return AUDIT_TRIGGER_OTHER;
    if (!strcmp(s, "OrderConfirmed"))
        return AUDIT_TRIGGER_CONFIRMED;
    if (!strcmp(s, "OrderCancelled"))
        return AUDIT_TRIGGER_CANCELLED;
    return AUDIT_TRIGGER_OTHER;
}

audit_notif_status audit_notif_status_parse(const char *s)
{
    if (!s)
        return AUDIT_NOTIF_OTHER;
    if (!strcmp(s, "PENDING"))
        return AUDIT_NOTIF_PENDING;
    if (!strcmp(s, "SENT"))
        return AUDIT_NOTIF_SENT;
    if (!strcmp(s, "FAILED"))
        return AUDIT_NOTIF_FAILED;
    return AUDIT_NOTIF_OTHER;
}
