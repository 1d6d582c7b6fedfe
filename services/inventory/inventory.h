/* inventory.h - inventory-service's pure domain rules: no I/O, unit-tested in
 * tests/unit/check_inventory.c.
 *
 * - what a valid sku, product name, order id, page limit looks like;
 * - an order's lines: checked, sorted by sku (the order rows are locked in);
 * - reserve or shortage, decided from the locked stock rows, and the order's price;
 * - reservation status transitions on confirm and cancel, and what they do to the
 *   product's available / reserved / sold counters;
 * - stock changes by PUT and restock, kept within the column limits;
 * - the sold-out hint: set when available is 0, deleted when it is not. */
#ifndef INVENTORY_H
#define INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#define INVENTORY_SKU_MAX 64   /* ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ */
#define INVENTORY_NAME_MAX 255 /* characters (code points), not bytes */
#define INVENTORY_NAME_BYTES_MAX (4 * INVENTORY_NAME_MAX)
#define INVENTORY_AMOUNT_MAX 9007199254740991LL /* 2^53-1 minor units, as the event schemas */
/* The highest unit price a product may have: the largest order an OrderCreated can
 * carry (INVENTORY_LINES_MAX lines of INVENTORY_QUANTITY_MAX units) at this price
 * still totals at most INVENTORY_AMOUNT_MAX, so that every order can be priced in
 * an InventoryReserved. order-service does not know prices; this bound is what
 * makes every order it accepts representable. 90,071,992,547 minor units. */
#define INVENTORY_PRICE_MAX (INVENTORY_AMOUNT_MAX / (INVENTORY_LINES_MAX * INVENTORY_QUANTITY_MAX))
#define INVENTORY_STOCK_MAX 1000000000LL   /* PUT stock, and available after any change */
#define INVENTORY_RESTOCK_MAX 1000000LL    /* POST restock quantity */
#define INVENTORY_COUNTER_MAX 2147483647LL /* available + reserved + sold fit an INT column */
#define INVENTORY_QUANTITY_MAX 1000        /* per order line (event schema) */
#define INVENTORY_LINES_MAX 100            /* per order (event schema) */
#define INVENTORY_ORDER_ID_LEN 36          /* orders.id CHAR(36): a UUID */
#define INVENTORY_CUSTOMER_MAX 64
#define INVENTORY_PAGE_DEFAULT 20
#define INVENTORY_PAGE_MAX 100
#define INVENTORY_SOLDOUT_TTL_S 60
#define INVENTORY_SOLDOUT_PREFIX "saga:soldout:"

/* --- values --- */

/* True if sku matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$. NULL is not valid. */
bool inventory_sku_valid(const char *sku);

/* True if name is valid UTF-8 of 1..255 characters without control characters. */
bool inventory_name_valid(const char *name);

/* True if id is a UUID in its canonical 36-character text form (lowercase hex). */
bool inventory_order_id_valid(const char *id);

/* True if currency is three upper-case ASCII letters. */
bool inventory_currency_valid(const char *currency);

/* Parses the `limit` query parameter: NULL gives the default (20); else decimal
 * digits only, 1..100. Returns SAGA_OK or SAGA_ERR_INVALID. */
int inventory_page_limit_parse(const char *s, int *out);

/* Writes "saga:soldout:<sku>" into out (at least 13 + 64 + 1 bytes). Returns SAGA_OK,
 * or SAGA_ERR_INVALID if sku is not valid or out is too small. */
int inventory_soldout_key(const char *sku, char *out, size_t outlen);

/* --- an order's lines and the reserve-or-shortage decision --- */

/* One order line. sku is borrowed (from the event). The stock members are filled
 * from the product row locked for it. */
typedef struct inventory_line {
    const char *sku;
    long long quantity;
    bool found;          /* a product with this sku exists */
    long long available; /* its available stock (0 if not found) */
    long long price;     /* its unit price in minor units (0 if not found) */
} inventory_line;

/* Checks an order's lines (1..100, each sku valid, quantity 1..1000, no sku twice)
 * and sorts them by sku in byte order, the order their product rows are locked in.
 * Returns SAGA_OK, or SAGA_ERR_INVALID with the reason in err ("items[3]: sku
 * FOO appears twice"). */
int inventory_lines_prepare(inventory_line *lines, size_t n, char *err, size_t errlen);

/* True if the line cannot be held: unknown sku or available < quantity. */
bool inventory_line_short(const inventory_line *line);

typedef enum inventory_decision {
    INVENTORY_RESERVE = 0, /* every line can be held: hold them all */
    INVENTORY_SHORTAGE,    /* some line cannot: hold none */
} inventory_decision;

/* Decides from the locked stock of every line. For INVENTORY_RESERVE *amount is the
 * order total, sum(quantity * price); for a shortage it is 0. Returns SAGA_OK, or
 * SAGA_ERR_TOO_LARGE if the total is over INVENTORY_AMOUNT_MAX (the order cannot be
 * priced in an event), SAGA_ERR_INVALID on bad arguments. */
int inventory_decide(const inventory_line *lines, size_t n, inventory_decision *out,
                     long long *amount);

/* --- reservations --- */

typedef enum inventory_action {
    INVENTORY_CONFIRM = 0, /* OrderConfirmed: the sale is final */
    INVENTORY_CANCEL,      /* OrderCancelled: give the stock back */
} inventory_action;

/* Change of a product's counters (available, reserved, sold) for one line. */
typedef struct inventory_delta {
    long long available;
    long long reserved;
    long long sold;
} inventory_delta;

/* The status a reservation in `status` ("HELD", "COMMITTED", "RELEASED",
 * "RESTOCKED") takes on `action`, and the change to its product's counters for
 * `quantity`. Returns the new status (a static string), or NULL if the action
 * does nothing to it (already done, or an unknown status): the status guard that
 * makes confirm and cancel happen exactly once. *delta is zeroed then. */
const char *inventory_reservation_next(const char *status, inventory_action action,
                                       long long quantity, inventory_delta *delta);

/* True if the product's counters after applying d are all within 0..INT max. */
bool inventory_delta_fits(long long available, long long reserved, long long sold,
                          const inventory_delta *d);

/* --- the order an event is about --- */

/* Whether an OrderConfirmed / OrderCancelled of `customer` may touch the order whose
 * order_outcomes row records known_customer (NULL: no row, inventory never saw the
 * order created). Returns SAGA_OK, SAGA_ERR_NOT_FOUND (an order nobody created: dead
 * letter) or SAGA_ERR_CONFLICT (another customer's order: dead letter). */
int inventory_order_check(const char *known_customer, const char *customer);

/* --- stock changes by the API --- */

/* PUT with a stock on an existing product: available becomes stock, and the
 * difference is added to `restocked`. *restocked_delta = stock - available.
 * Returns SAGA_OK, or SAGA_ERR_INVALID if stock is outside 0..1e9, SAGA_ERR_CONFLICT
 * if available + reserved + sold would pass the INT limit. */
int inventory_stock_set(long long available, long long reserved, long long sold, long long stock,
                        long long *restocked_delta);

/* POST restock: available += quantity. Returns SAGA_OK, SAGA_ERR_INVALID if quantity
 * is outside 1..1e6, or SAGA_ERR_CONFLICT if available would pass 1e9 or the
 * counters the INT limit. */
int inventory_restock_check(long long available, long long reserved, long long sold,
                            long long quantity);

/* --- the sold-out hint --- */

typedef enum inventory_hint {
    INVENTORY_HINT_SET = 0, /* available is 0: SET saga:soldout:<sku> EX 60 */
    INVENTORY_HINT_DEL,     /* stock is there: DEL saga:soldout:<sku> */
} inventory_hint;

inventory_hint inventory_hint_for(long long available);

#endif
