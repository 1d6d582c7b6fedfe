/* audit_notification.c - the notifications of every order (invariant 6, the parts
 * that need no order: duplicates, unknown values, PENDING after drain). */
#include "audit_check.h"

#include <stdio.h>
#include <string.h>

#include "saga/err.h"

/* Remembers a channel name; channels beyond AUDIT_MAX_CHANNELS are noted once. */
static int channel_add(audit_ctx *ctx, const char *channel)
{
    for (size_t i = 0; i < ctx->nchannels; i++) {
        if (!strcmp(ctx->channels[i], channel))
            return SAGA_OK;
    }
    if (ctx->nchannels == AUDIT_MAX_CHANNELS) {
        audit_violation(ctx->r, AUDIT_INV6, "channel", channel, NULL, NULL,
                        "more than %d distinct notification channels; not checked",
                        AUDIT_MAX_CHANNELS);
        return SAGA_OK;
    }
    if (!(ctx->channels[ctx->nchannels] = audit_dup(ctx, channel)))
        return SAGA_ERR_NOMEM;
    ctx->nchannels++;
    return SAGA_OK;
}

static int notification_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    char id_text[SAGA_TEXT_UUID_LEN + 1], order_text[SAGA_TEXT_UUID_LEN + 1];
    const char *id = audit_row_id(row, 0, id_text);
    const char *order_id = audit_row_id(row, 1, order_text);
    const char *trigger = saga_row_str(row, 3);
    const char *channel = saga_row_str(row, 4);
    const char *status = saga_row_str(row, 5);
    audit_side *side;
    audit_notif *n;
    int rc;

    audit_count_add(ctx->r, AUDIT_C_NOTIFICATIONS, 1);
    if (!order_id || !channel) {
        audit_violation(ctx->r, AUDIT_INV6, "notification", id, NULL, NULL,
                        "notification without an order id or a channel");
        return 0;
    }
    if (!(side = audit_side_get(ctx->sides, ctx->arena, order_id)) ||
        !(n = audit_arena_alloc(ctx->arena, sizeof(*n)))) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory loading notifications");
        return SAGA_ERR_NOMEM;
    }
    n->id = audit_dup(ctx, id);
    n->customer = audit_dup(ctx, saga_row_str(row, 2));
    n->trigger_text = audit_dup(ctx, trigger);
    n->channel = audit_dup(ctx, channel);
    if ((id && !n->id) || (saga_row_str(row, 2) && !n->customer) || (trigger && !n->trigger_text) ||
        !n->channel)
        return SAGA_ERR_NOMEM;
    n->trigger = audit_trigger_parse(trigger);
    n->status = audit_notif_status_parse(status);
    n->next = side->notifs;
    side->notifs = n;
    if ((rc = channel_add(ctx, channel)))
        return rc;

    if (n->trigger == AUDIT_TRIGGER_OTHER)
        audit_violation(ctx->r, AUDIT_INV6, "order", order_id, "notification", id,
                        "unknown trigger_type '%s'", trigger ? trigger : "NULL");
    if (n->status == AUDIT_NOTIF_OTHER)
        audit_violation(ctx->r, AUDIT_INV6, "order", order_id, "notification", id,
                        "notification in unknown status '%s'", status ? status : "NULL");
    if (n->status == AUDIT_NOTIF_PENDING && !ctx->opts->allow_in_flight)
        audit_violation(ctx->r, AUDIT_INV6, "order", order_id, "notification", id,
                        "%s notification on channel %s still PENDING after drain",
                        trigger ? trigger : "NULL", channel);
    return 0;
}

static int duplicate_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    char order_id[SAGA_TEXT_UUID_LEN + 1];
    audit_violation(ctx->r, AUDIT_INV6, "order", audit_row_id(row, 0, order_id), NULL, NULL,
                    "%lld notifications for trigger %s on channel %s (expected one)",
                    saga_row_i64(row, 3), saga_row_str(row, 1) ? saga_row_str(row, 1) : "NULL",
                    saga_row_str(row, 2) ? saga_row_str(row, 2) : "NULL");
    return 0;
}

int audit_notification_check(audit_ctx *ctx)
{
    int rc;
    if ((rc = audit_query(ctx, AUDIT_NOTIFICATION,
                          "SELECT order_id, trigger_type, channel, COUNT(*) FROM notifications"
                          " GROUP BY order_id, trigger_type, channel HAVING COUNT(*) > 1",
                          NULL, 0, duplicate_row, ctx)))
        return rc;
    return audit_query(ctx, AUDIT_NOTIFICATION,
                       "SELECT id, order_id, customer_id, trigger_type, channel, status"
                       " FROM notifications",
                       NULL, 0, notification_row, ctx);
}
