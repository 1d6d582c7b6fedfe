/* console_db.c - an order's state in each service's database, read with that
 * database's read-only user (see console.h). Every statement is prepared and reads
 * rows by their keys (the order id), never a whole table. */
#include "console.h"

#include <stdio.h>
#include <string.h>

#include "saga/err.h"
#include "saga/log.h"

/* UTC DATETIME(3) as RFC 3339 text */
#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%fZ')"

/* One result column: its JSON name and its kind. */
typedef enum col_kind { COL_TEXT, COL_INT, COL_ID /* BINARY(16), shown as text */ } col_kind;
typedef struct col {
    const char *name;
    col_kind kind;
} col;

typedef struct rows_state {
    const col *cols;
    size_t ncols;
    cJSON *array; /* each row appended as an object */
    int rc;
} rows_state;

static int row_to_json(const saga_row *row, void *ud)
{
    rows_state *st = ud;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(st->array, o)) {
        cJSON_Delete(o);
        return st->rc = SAGA_ERR_NOMEM;
    }
    for (size_t i = 0; i < st->ncols && i < saga_row_count(row); i++) {
        char id[SAGA_TEXT_UUID_LEN + 1];
        cJSON *v;
        if (saga_row_is_null(row, i))
            v = cJSON_CreateNull();
        else if (st->cols[i].kind == COL_INT)
            v = cJSON_CreateNumber((double)saga_row_i64(row, i));
        else if (st->cols[i].kind == COL_ID && saga_row_uuid(row, i, id))
            v = cJSON_CreateString(id);
        else
            v = cJSON_CreateString(saga_row_str(row, i));
        if (!v || !cJSON_AddItemToObject(o, st->cols[i].name, v)) {
            cJSON_Delete(v);
            return st->rc = SAGA_ERR_NOMEM;
        }
    }
    return 0;
}

/* The service's connection, opened if needed; call with its lock held. NULL with
 * why filled when the database cannot be reached. */
static saga_db *db_get(console *c, int s, char *why, size_t whylen)
{
    if (!c->db[s]) {
        c->db[s] = saga_db_open(&c->cfg.db[s], why, whylen);
        if (!c->db[s])
            LOG_WARN("console.db_unavailable", "%s database: %s", console_svc_names[s], why);
    }
    return c->db[s];
}

/* Runs sql (one parameter: the order id) on service s and returns its rows as an array
 * of objects named by cols, in *out (none for a key that is not an order id). */
static int query_rows(console *c, int s, const char *sql, const char *order_id, const col *cols,
                      size_t ncols, cJSON **out, char *why, size_t whylen)
{
    rows_state st = {.cols = cols, .ncols = ncols, .array = cJSON_CreateArray()};
    saga_param p[] = {SAGA_P_UUID(order_id)};
    int rc;

    *out = NULL;
    if (!st.array)
        return SAGA_ERR_NOMEM;
    if (!saga_text_is_uuid(order_id)) { /* a message key no order has: no row anywhere */
        *out = st.array;
        return SAGA_OK;
    }
    pthread_mutex_lock(&c->db_lock[s]);
    saga_db *db = db_get(c, s, why, whylen);
    rc = db ? saga_db_query(db, sql, p, 1, row_to_json, &st) : SAGA_ERR_UNAVAILABLE;
    if (rc && rc != SAGA_ERR_NOMEM && db)
        snprintf(why, whylen, "%s", saga_db_error(db));
    pthread_mutex_unlock(&c->db_lock[s]);
    if (rc) {
        cJSON_Delete(st.array);
        return rc;
    }
    *out = st.array;
    return SAGA_OK;
}

/* Moves the first element of rows (or null) into parent under name; frees rows. */
static bool add_first(cJSON *parent, const char *name, cJSON *rows)
{
    cJSON *first = rows ? cJSON_DetachItemFromArray(rows, 0) : NULL;
    cJSON_Delete(rows);
    if (!first)
        first = cJSON_CreateNull();
    return first && cJSON_AddItemToObject(parent, name, first);
}

static bool note_error(cJSON *errors, int s, int rc, const char *why)
{
    char text[600];
    snprintf(text, sizeof(text), "%s", rc == SAGA_ERR_NOMEM ? "out of memory" : why);
    return cJSON_AddStringToObject(errors, console_svc_names[s], text) != NULL;
}

int console_db_state(console *c, const char *order_id, cJSON **out, int64_t *created_ms)
{
    static const col order_cols[] = {
        {"id", COL_ID},           {"customerId", COL_TEXT}, {"status", COL_TEXT},
        {"cancelReason", COL_TEXT}, {"currency", COL_TEXT}, {"amount", COL_INT},
        {"paymentId", COL_ID},    {"deadline", COL_TEXT},   {"createdAt", COL_TEXT},
        {"updatedAt", COL_TEXT},  {"createdMs", COL_INT}};
    static const col item_cols[] = {{"sku", COL_TEXT}, {"quantity", COL_INT},
                                    {"unitPrice", COL_INT}};
    static const col outcome_cols[] = {{"outcome", COL_TEXT}, {"amount", COL_INT},
                                       {"at", COL_TEXT}};
    static const col reservation_cols[] = {{"sku", COL_TEXT},
                                           {"quantity", COL_INT},
                                           {"unitPrice", COL_INT},
                                           {"status", COL_TEXT},
                                           {"updatedAt", COL_TEXT}};
    static const col payment_cols[] = {
        {"id", COL_ID},          {"status", COL_TEXT},        {"amount", COL_INT},
        {"currency", COL_TEXT},  {"declineReason", COL_TEXT}, {"updatedAt", COL_TEXT}};
    static const col cancelled_cols[] = {{"reason", COL_TEXT}, {"at", COL_TEXT}};
    static const col notification_cols[] = {{"trigger", COL_TEXT},   {"channel", COL_TEXT},
                                            {"status", COL_TEXT},    {"attempts", COL_INT},
                                            {"lastError", COL_TEXT}, {"sentAt", COL_TEXT}};
#define N(a) (sizeof(a) / sizeof(a[0]))
    cJSON *root = cJSON_CreateObject(), *errors, *rows = NULL, *inv, *pay;
    char why[512];
    int rc;

    *out = NULL;
    *created_ms = -1;
    if (!root || !(errors = cJSON_AddObjectToObject(root, "errors")))
        goto nomem;

    /* order-service */
    rc = query_rows(c, CONSOLE_ORDER,
                    "SELECT id, customer_id, status, cancel_reason, currency, amount, "
                    "payment_id, " TS("deadline") ", " TS("created_at") ", " TS(
                        "updated_at") ", "
                                      "CAST(UNIX_TIMESTAMP(created_at) * 1000 AS SIGNED) FROM "
                                      "orders WHERE id = ?",
                    order_id, order_cols, N(order_cols), &rows, why, sizeof(why));
    if (rc) {
        if (!note_error(errors, CONSOLE_ORDER, rc, why) || !cJSON_AddNullToObject(root, "order"))
            goto nomem;
    } else {
        cJSON *first = cJSON_GetArrayItem(rows, 0);
        cJSON *ms = first ? cJSON_GetObjectItemCaseSensitive(first, "createdMs") : NULL;
        if (cJSON_IsNumber(ms))
            *created_ms = (int64_t)ms->valuedouble;
        if (!add_first(root, "order", rows))
            goto nomem;
        rc = query_rows(c, CONSOLE_ORDER,
                        "SELECT sku, quantity, unit_price FROM order_items WHERE order_id = ? "
                        "ORDER BY sku",
                        order_id, item_cols, N(item_cols), &rows, why, sizeof(why));
        if (rc ? !note_error(errors, CONSOLE_ORDER, rc, why)
               : !cJSON_AddItemToObject(root, "items", rows))
            goto nomem;
    }

    /* inventory-service */
    if (!(inv = cJSON_AddObjectToObject(root, "inventory")))
        goto nomem;
    rc = query_rows(
        c, CONSOLE_INVENTORY,
        "SELECT outcome, amount, " TS("created_at") " FROM order_outcomes WHERE order_id = ?",
        order_id, outcome_cols, N(outcome_cols), &rows, why, sizeof(why));
    if (rc) {
        if (!note_error(errors, CONSOLE_INVENTORY, rc, why))
            goto nomem;
    } else {
        if (!add_first(inv, "outcome", rows))
            goto nomem;
        rc = query_rows(c, CONSOLE_INVENTORY,
                        "SELECT sku, quantity, unit_price, status, " TS(
                            "updated_at") " FROM reservations WHERE order_id = ? ORDER BY sku",
                        order_id, reservation_cols, N(reservation_cols), &rows, why, sizeof(why));
        if (rc ? !note_error(errors, CONSOLE_INVENTORY, rc, why)
               : !cJSON_AddItemToObject(inv, "reservations", rows))
            goto nomem;
    }

    /* payment-service */
    if (!(pay = cJSON_AddObjectToObject(root, "payment")))
        goto nomem;
    rc = query_rows(c, CONSOLE_PAYMENT,
                    "SELECT id, status, amount, currency, decline_reason, " TS(
                        "updated_at") " FROM payments WHERE order_id = ?",
                    order_id, payment_cols, N(payment_cols), &rows, why, sizeof(why));
    if (rc) {
        if (!note_error(errors, CONSOLE_PAYMENT, rc, why))
            goto nomem;
    } else {
        if (!add_first(pay, "payment", rows))
            goto nomem;
        rc = query_rows(
            c, CONSOLE_PAYMENT,
            "SELECT reason, " TS("created_at") " FROM cancelled_orders WHERE order_id = ?",
            order_id, cancelled_cols, N(cancelled_cols), &rows, why, sizeof(why));
        if (rc ? !note_error(errors, CONSOLE_PAYMENT, rc, why)
               : !add_first(pay, "cancellation", rows))
            goto nomem;
    }

    /* notification-service */
    rc = query_rows(
        c, CONSOLE_NOTIFICATION,
        "SELECT trigger_type, channel, status, attempts, last_error, " TS(
            "sent_at") " FROM notifications WHERE order_id = ? ORDER BY created_at, channel",
        order_id, notification_cols, N(notification_cols), &rows, why, sizeof(why));
    if (rc ? !note_error(errors, CONSOLE_NOTIFICATION, rc, why)
           : !cJSON_AddItemToObject(root, "notifications", rows))
        goto nomem;
#undef N
    *out = root;
    return SAGA_OK;
nomem:
    cJSON_Delete(root);
    return SAGA_ERR_NOMEM;
}

static int one_i64(const saga_row *row, void *ud)
{
    *(long long *)ud = saga_row_i64(row, 0);
    return 0;
}

int console_db_in_flight(console *c, long long *n)
{
    char why[512];
    int rc;
    pthread_mutex_lock(&c->db_lock[CONSOLE_ORDER]);
    saga_db *db = db_get(c, CONSOLE_ORDER, why, sizeof(why));
    rc = db ? saga_db_query_one(db,
                                "SELECT COUNT(*) FROM orders "
                                "WHERE status IN ('PENDING', 'AWAITING_PAYMENT')",
                                NULL, 0, one_i64, n)
            : SAGA_ERR_UNAVAILABLE;
    pthread_mutex_unlock(&c->db_lock[CONSOLE_ORDER]);
    return rc;
}

void console_db_free(console *c)
{
    for (int s = 0; s < CONSOLE_NSVC; s++) {
        saga_db_close(c->db[s]);
        c->db[s] = NULL;
    }
}
