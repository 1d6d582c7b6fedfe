/* audit_data.h - what the audit holds in memory: an arena, a string-keyed hash
 * map, and per order id what payment, inventory and notification know about it.
 *
 * Everything is allocated from one arena and freed with it at once: a million
 * orders are a few million small records, and no record is freed on its own. */
#ifndef SAGA_AUDIT_DATA_H
#define SAGA_AUDIT_DATA_H

#include <stdbool.h>
#include <stddef.h>

/* ---- arena ---- */

typedef struct audit_arena audit_arena;

audit_arena *audit_arena_new(void);    /* NULL: no memory */
void audit_arena_free(audit_arena *a); /* frees every allocation; NULL is fine */
/* Zeroed, 16-byte aligned memory owned by the arena. NULL: no memory. */
void *audit_arena_alloc(audit_arena *a, size_t size);
/* A copy of s (NULL stays NULL; len bytes, NUL-terminated) owned by the arena.
 * On no memory returns NULL and sets *oom. */
char *audit_arena_strdup(audit_arena *a, const char *s, bool *oom);

/* ---- map: string key -> pointer ---- */

typedef struct audit_map audit_map;

/* Keys are copied into arena a, which must outlive the map. NULL: no memory. */
audit_map *audit_map_new(audit_arena *a);
void audit_map_free(audit_map *m); /* values are not freed (they live in arenas); NULL ok */
/* The value slot of key, created (holding NULL) if missing. NULL: no memory. */
void **audit_map_slot(audit_map *m, const char *key);
/* The value of key, or NULL. */
void *audit_map_get(const audit_map *m, const char *key);
size_t audit_map_size(const audit_map *m);
/* Calls fn for every entry in no particular order; a non-zero return stops and is
 * returned. */
int audit_map_each(const audit_map *m, int (*fn)(const char *key, void *val, void *ud), void *ud);

/* ---- what the other services know about one order ---- */

typedef enum audit_pay_status {
    AUDIT_PAY_OTHER = 0,
    AUDIT_PAY_CAPTURED,
    AUDIT_PAY_REFUNDED,
    AUDIT_PAY_DECLINED,
} audit_pay_status;

typedef enum audit_resv_status {
    AUDIT_RESV_OTHER = 0,
    AUDIT_RESV_HELD,
    AUDIT_RESV_COMMITTED,
    AUDIT_RESV_RELEASED,
    AUDIT_RESV_RESTOCKED,
} audit_resv_status;

typedef enum audit_trigger {
    AUDIT_TRIGGER_OTHER = 0,
    AUDIT_TRIGGER_CONFIRMED, /* OrderConfirmed */
    AUDIT_TRIGGER_CANCELLED, /* OrderCancelled */
} audit_trigger;

typedef enum audit_notif_status {
    AUDIT_NOTIF_OTHER = 0,
    AUDIT_NOTIF_PENDING,
    AUDIT_NOTIF_SENT,
    AUDIT_NOTIF_FAILED,
} audit_notif_status;

typedef struct audit_payment {
    struct audit_payment *next;
    const char *id;
    const char *customer;
    long long amount;
    audit_pay_status status;
} audit_payment;

typedef struct audit_resv {
    struct audit_resv *next;
    const char *sku;
    const char *customer;
    long long quantity;
    long long unit_price;
    bool unit_price_null;
    audit_resv_status status;
    bool matched; /* scratch: matched to an order line */
} audit_resv;

typedef struct audit_notif {
    struct audit_notif *next;
    const char *id;
    const char *customer;
    const char *trigger_text;
    const char *channel;
    audit_trigger trigger;
    audit_notif_status status;
} audit_notif;

/* Everything keyed by one order id. */
typedef struct audit_side {
    audit_payment *payments;
    audit_resv *resv;
    audit_notif *notifs;
    bool payment_saw_cancel; /* in payment's cancelled_orders */
    bool order_known;        /* set when the order database has the order */
} audit_side;

/* The side of order_id in m, created if missing. NULL: no memory. */
audit_side *audit_side_get(audit_map *m, audit_arena *a, const char *order_id);

audit_pay_status audit_pay_status_parse(const char *s);
audit_resv_status audit_resv_status_parse(const char *s);
audit_trigger audit_trigger_parse(const char *s);
audit_notif_status audit_notif_status_parse(const char *s);
const char *audit_resv_status_str(audit_resv_status st);

#endif
