/* notification_store.c - the notifications table's SQL (see notification_store.h). */
#include "notification_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"

int notification_store_add(saga_db *db, const notification_new *rows, size_t n, uint64_t *added)
{
    *added = 0;
    if (n > NOTIFY_CH_COUNT)
        return SAGA_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        const notification_new *r = &rows[i];
        saga_param params[] = {
            SAGA_P_UUID(r->id),
            SAGA_P_UUID(r->order_id),
            SAGA_P_STR(r->customer_id),
            SAGA_P_STR(notification_trigger_name(r->trigger)),
            SAGA_P_UUID(r->trigger_event_id),
            SAGA_P_STR(notification_channel_name(r->channel)),
            SAGA_P_STR(r->payload),
            SAGA_P_STR(r->traceparent),
            SAGA_P_STR(r->created_at),
        };
        int rc = saga_db_insert(db,
                                "INSERT INTO notifications (id, order_id, customer_id,"
                                " trigger_type, trigger_event_id, channel, status, attempts,"
                                " next_attempt_at, payload, traceparent, created_at) VALUES ",
                                "(?, ?, ?, ?, ?, ?, 'PENDING', 0, UTC_TIMESTAMP(3), ?, ?, ?)",
                                params, sizeof(params) / sizeof(params[0]));
        /* an existing (order, trigger, channel) row stays as it is */
        if (rc == SAGA_ERR_CONFLICT)
            continue;
        if (rc)
            return rc;
        (*added)++;
    }
    return SAGA_OK;
}

int notification_store_claim(saga_db *db, notification_channel channel, const char *token,
                             long lease_ms, long batch, uint64_t *claimed)
{
    saga_param params[] = {SAGA_P_UUID(token), SAGA_P_I64((long long)lease_ms * 1000),
                           SAGA_P_STR(notification_channel_name(channel)), SAGA_P_I64(batch)};
    return saga_db_exec(db,
                        "UPDATE notifications SET claim_token = ?,"
                        " claimed_until = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND"
                        " WHERE status = 'PENDING' AND channel = ?"
                        " AND next_attempt_at <= UTC_TIMESTAMP(3)"
                        " AND (claimed_until IS NULL OR claimed_until < UTC_TIMESTAMP(3))"
                        " ORDER BY next_attempt_at LIMIT ?",
                        params, 4, claimed, NULL);
}

typedef struct claimed_rows {
    notification_row *rows;
    size_t n, cap;
} claimed_rows;

static int claimed_row(const saga_row *row, void *ud)
{
    claimed_rows *cr = ud;
    notification_row *r;
    const char *trigger = saga_row_str(row, 2), *channel = saga_row_str(row, 4);
    const char *payload = saga_row_str(row, 6);

    if (cr->n == cr->cap) {
        size_t cap = cr->cap ? cr->cap * 2 : 8;
        notification_row *p = realloc(cr->rows, cap * sizeof(*p));
        if (!p)
            return SAGA_ERR_NOMEM;
        cr->rows = p;
        cr->cap = cap;
    }
    r = &cr->rows[cr->n];
    memset(r, 0, sizeof(*r));
    saga_row_uuid(row, 0, r->id);
    saga_row_uuid(row, 1, r->order_id);
    saga_row_uuid(row, 3, r->trigger_event_id);
    saga_row_copy(row, 7, r->traceparent, sizeof(r->traceparent));
    /* an unknown value (a newer version's row) is delivered as a permanent failure */
    if (notification_trigger_parse(trigger, &r->trigger) != SAGA_OK)
        r->trigger = NOTIFY_TRIGGER_COUNT;
    if (!channel || notification_channel_parse(channel, strlen(channel), &r->channel) != SAGA_OK)
        r->channel = NOTIFY_CH_COUNT;
    r->attempts = (int)saga_row_i64(row, 5);
    r->payload = strdup(payload ? payload : "");
    if (!r->payload)
        return SAGA_ERR_NOMEM;
    cr->n++;
    return 0;
}

int notification_store_claimed(saga_db *db, const char *token, notification_row **rows, size_t *n)
{
    saga_param params[] = {SAGA_P_UUID(token)};
    claimed_rows cr = {0};
    int rc = saga_db_query(db,
                           "SELECT id, order_id, trigger_type, trigger_event_id, channel,"
                           " attempts, payload, traceparent FROM notifications"
                           " WHERE claim_token = ? AND status = 'PENDING'"
                           " ORDER BY next_attempt_at, id",
                           params, 1, claimed_row, &cr);
    if (rc) {
        notification_rows_free(cr.rows, cr.n);
        *rows = NULL;
        *n = 0;
        return rc;
    }
    *rows = cr.rows;
    *n = cr.n;
    return SAGA_OK;
}

void notification_rows_free(notification_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].payload);
    free(rows);
}

/* The statement for token and the ids[0..n) (n <= SAGA_DB_IN_LIST_MAX) in an IN list
 * (saga_db_in_list), and its parameters: token, then the ids, padded. Returns how
 * many parameters, 0 if sql is too short. */
static size_t ids_statement(char *sql, size_t sqllen, saga_param *params, const char *head,
                            const char *tail, const char *token, const char *const *ids, size_t n)
{
    size_t shape = saga_db_in_list(sql, sqllen, head, n, tail);

    params[0] = SAGA_P_UUID(token);
    for (size_t i = 0; i < shape; i++)
        params[1 + i] = SAGA_P_UUID(ids[i < n ? i : n - 1]);
    return shape ? 1 + shape : 0;
}

typedef struct held_ids {
    const char *const *ids;
    bool *held;
    size_t n;
} held_ids;

static int held_row(const saga_row *row, void *ud)
{
    held_ids *h = ud;
    char id[SAGA_UUID_LEN + 1];

    if (!saga_row_uuid(row, 0, id))
        return 0;
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->ids[i], id) == 0)
            h->held[i] = true;
    return 0;
}

int notification_store_lock_held(saga_db *db, const char *token, const char *const *ids, size_t n,
                                 bool *held)
{
    char sql[2048];
    saga_param params[1 + SAGA_DB_IN_LIST_MAX];

    for (size_t i = 0; i < n; i++)
        held[i] = false;
    for (size_t at = 0; at < n; at += SAGA_DB_IN_LIST_MAX) {
        size_t some = n - at < SAGA_DB_IN_LIST_MAX ? n - at : SAGA_DB_IN_LIST_MAX;
        held_ids h = {.ids = ids + at, .held = held + at, .n = some};
        size_t np = ids_statement(sql, sizeof(sql), params,
                                  "SELECT id FROM notifications WHERE claim_token = ?"
                                  " AND status = 'PENDING' AND id IN (",
                                  ") FOR UPDATE", token, ids + at, some);
        if (np == 0)
            return SAGA_ERR_INTERNAL;
        int rc = saga_db_query(db, sql, params, np, held_row, &h);
        if (rc)
            return rc;
    }
    return SAGA_OK;
}

int notification_store_mark_sent_held(saga_db *db, const char *token, const char *const *ids,
                                      size_t n)
{
    char sql[2048];
    saga_param params[1 + SAGA_DB_IN_LIST_MAX];
    uint64_t changed = 0;

    for (size_t at = 0; at < n; at += SAGA_DB_IN_LIST_MAX) {
        size_t some = n - at < SAGA_DB_IN_LIST_MAX ? n - at : SAGA_DB_IN_LIST_MAX;
        uint64_t affected = 0;
        size_t np = ids_statement(sql, sizeof(sql), params,
                                  "UPDATE notifications SET status = 'SENT',"
                                  " attempts = attempts + 1, sent_at = UTC_TIMESTAMP(3),"
                                  " claim_token = NULL, claimed_until = NULL"
                                  " WHERE claim_token = ? AND status = 'PENDING' AND id IN (",
                                  ")", token, ids + at, some);
        if (np == 0)
            return SAGA_ERR_INTERNAL;
        int rc = saga_db_exec(db, sql, params, np, &affected, NULL);
        if (rc)
            return rc;
        changed += affected;
    }
    /* the rows were locked as held: anything else means they were not */
    return changed == n ? SAGA_OK : SAGA_ERR_CONFLICT;
}

int notification_store_mark_failed(saga_db *db, const char *id, const char *token,
                                   const char *error, long delay_ms, bool *applied)
{
    uint64_t affected = 0;
    int rc;

    if (delay_ms >= 0) {
        saga_param params[] = {SAGA_P_STR(error), SAGA_P_I64((long long)delay_ms * 1000),
                               SAGA_P_UUID(id), SAGA_P_UUID(token)};
        rc = saga_db_exec(db,
                          "UPDATE notifications SET attempts = attempts + 1, last_error = ?,"
                          " next_attempt_at = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND,"
                          " claim_token = NULL, claimed_until = NULL"
                          " WHERE id = ? AND claim_token = ? AND status = 'PENDING'",
                          params, 4, &affected, NULL);
    } else {
        saga_param params[] = {SAGA_P_STR(error), SAGA_P_UUID(id), SAGA_P_UUID(token)};
        rc = saga_db_exec(db,
                          "UPDATE notifications SET status = 'FAILED', attempts = attempts + 1,"
                          " last_error = ?, claim_token = NULL, claimed_until = NULL"
                          " WHERE id = ? AND claim_token = ? AND status = 'PENDING'",
                          params, 3, &affected, NULL);
    }
    *applied = rc == SAGA_OK && affected == 1;
    return rc;
}

int notification_store_release(saga_db *db, const char *token)
{
    saga_param params[] = {SAGA_P_UUID(token)};
    return saga_db_exec(db,
                        "UPDATE notifications SET claim_token = NULL, claimed_until = NULL"
                        " WHERE claim_token = ? AND status = 'PENDING'",
                        params, 1, NULL, NULL);
}

/* Adds a time column as RFC 3339, or null. */
static bool add_time(cJSON *o, const char *name, const char *sql_time)
{
    char t[SAGA_TIME_LEN + 1];
    if (!sql_time || saga_db_time_to_rfc3339(sql_time, t) != SAGA_OK)
        return cJSON_AddNullToObject(o, name) != NULL;
    return cJSON_AddStringToObject(o, name, t) != NULL;
}

static bool add_str_or_null(cJSON *o, const char *name, const char *s)
{
    return (s ? cJSON_AddStringToObject(o, name, s) : cJSON_AddNullToObject(o, name)) != NULL;
}

static int list_row(const saga_row *row, void *ud)
{
    cJSON *items = ud;
    cJSON *o = cJSON_CreateObject();
    char id[SAGA_UUID_LEN + 1] = "", order_id[SAGA_UUID_LEN + 1] = "";
    const char *s;

    if (!o)
        return SAGA_ERR_NOMEM;
    cJSON_AddItemToArray(items, o); /* owned by items from here on */
    saga_row_uuid(row, 0, id);
    saga_row_uuid(row, 1, order_id);
    if (!cJSON_AddStringToObject(o, "id", id) ||
        !cJSON_AddStringToObject(o, "orderId", order_id) ||
        !cJSON_AddStringToObject(o, "customerId", (s = saga_row_str(row, 2)) ? s : "") ||
        !cJSON_AddStringToObject(o, "trigger", (s = saga_row_str(row, 3)) ? s : "") ||
        !cJSON_AddStringToObject(o, "channel", (s = saga_row_str(row, 4)) ? s : "") ||
        !cJSON_AddStringToObject(o, "status", (s = saga_row_str(row, 5)) ? s : "") ||
        !cJSON_AddNumberToObject(o, "attempts", (double)saga_row_i64(row, 6)) ||
        !add_str_or_null(o, "lastError", saga_row_str(row, 7)) ||
        !add_time(o, "createdAt", saga_row_str(row, 8)) ||
        !add_time(o, "sentAt", saga_row_str(row, 9)))
        return SAGA_ERR_NOMEM;
    return 0;
}

int notification_store_list(saga_db *db, const char *order_id, cJSON *items)
{
    saga_param params[] = {SAGA_P_UUID(order_id)};
    return saga_db_query(db,
                         "SELECT id, order_id, customer_id, trigger_type, channel, status,"
                         " attempts, last_error, created_at, sent_at FROM notifications"
                         " WHERE order_id = ? ORDER BY created_at, trigger_type DESC, channel",
                         params, 1, list_row, items);
}

/* known_orders rows never change, so an unlocked read may be kept (see prefetch.h) */
const saga_prefetch_query notification_known_query = {
    .table = "known_orders",
    .point_sql = "SELECT customer_id FROM known_orders WHERE order_id = ?",
    .batch_head = "SELECT order_id, customer_id FROM known_orders WHERE order_id IN (",
    .batch_tail = ")",
    .uuid_key = true,
};

int notification_store_known_add(saga_db *db, const notification_order *o, bool *added)
{
    saga_param params[] = {SAGA_P_UUID(o->order_id), SAGA_P_STR(o->customer_id)};
    /* a replay (another event id for the order) is rare: one shared INSERT for the
     * batch, and a rerun when a duplicate shows */
    int rc = saga_db_insert(db, "INSERT INTO known_orders (order_id, customer_id) VALUES ",
                            "(?, ?)", params, 2);
    *added = rc == SAGA_OK;
    return rc == SAGA_ERR_CONFLICT ? SAGA_OK : rc;
}

static int known_row(const saga_row *row, void *ud)
{
    const char *s = saga_row_str(row, 0);
    snprintf(ud, NOTIFY_CUSTOMER_ID_MAX + 1, "%s", s ? s : "");
    return 0;
}

int notification_store_known_get(saga_db *db, const char *order_id,
                                 char customer[NOTIFY_CUSTOMER_ID_MAX + 1])
{
    return saga_db_query_one_prefetched(db, &notification_known_query, order_id, known_row,
                                        customer);
}
