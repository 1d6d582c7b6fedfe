/* notification.h - notification-service's domain rules, without I/O.
 *
 * Which channels a notification goes to (SAGA_NOTIFY_CHANNELS), what it says (the
 * JSON payload stored with the row and posted to webhooks, the e-mail message, the
 * log line's summary), and when a failed delivery is tried again. Everything here is
 * pure and unit-tested in tests/unit/check_notification.c. */
#ifndef NOTIFICATION_H
#define NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "saga/envelope.h"

/* Column sizes of the notifications table (deploy/mysql/notification). */
#define NOTIFY_ORDER_ID_MAX 36
#define NOTIFY_CUSTOMER_CHARS_MAX 64 /* characters, as the event schemas count them */
#define NOTIFY_CUSTOMER_ID_MAX (NOTIFY_CUSTOMER_CHARS_MAX * 4) /* bytes, in UTF-8 */
#define NOTIFY_EVENT_ID_MAX 64
/* last_error is clipped to this many bytes */
#define NOTIFY_ERROR_MAX 1000

typedef enum notification_channel {
    NOTIFY_CH_LOG = 0,
    NOTIFY_CH_WEBHOOK,
    NOTIFY_CH_EMAIL,
    NOTIFY_CH_COUNT
} notification_channel;

#define NOTIFY_CH_BIT(ch) (1u << (unsigned)(ch))

typedef enum notification_trigger {
    NOTIFY_TRIGGER_CONFIRMED = 0, /* OrderConfirmed */
    NOTIFY_TRIGGER_CANCELLED,     /* OrderCancelled */
    NOTIFY_TRIGGER_COUNT
} notification_trigger;

/* "log", "webhook", "email"; NULL for an out-of-range value. */
const char *notification_channel_name(notification_channel ch);
/* The channel named by the len bytes at s (case-sensitive). SAGA_OK or SAGA_ERR_INVALID. */
int notification_channel_parse(const char *s, size_t len, notification_channel *out);

/* "OrderConfirmed", "OrderCancelled"; NULL for an out-of-range value. */
const char *notification_trigger_name(notification_trigger t);
/* SAGA_OK, or SAGA_ERR_INVALID for any other event type. */
int notification_trigger_parse(const char *type, notification_trigger *out);

/* The topic and source of the one event this service emits. */
#define NOTIFICATION_TOPIC "notification-events"
#define NOTIFICATION_SOURCE "/notification-service"

/* NotificationSent(orderId, notificationId, channel, trigger) about order_id (its key),
 * caused by the event cause_id (NULL: none). A new event the caller frees with
 * saga_event_free; NULL on no memory (or an out-of-range channel or trigger). */
saga_event *notification_sent_event(const char *order_id, const char *notification_id,
                                    notification_channel ch, notification_trigger t,
                                    const char *cause_id);

/* Parses SAGA_NOTIFY_CHANNELS: channel names separated by commas, blanks around names
 * ignored, a name given twice counted once ("log, webhook"). Fills *mask with
 * NOTIFY_CH_BIT bits. Returns SAGA_OK, or SAGA_ERR_INVALID with the reason in err
 * ("unknown channel \"sms\"", "no channel given"). */
int notification_channels_parse(const char *list, unsigned *mask, char *err, size_t errlen);

/* Checks that every channel in mask has what it needs: webhook an http(s):// URL,
 * email an smtp(s):// URL, a valid sender address and a valid recipient domain.
 * Arguments of unused channels may be NULL or empty. Returns SAGA_OK, or
 * SAGA_ERR_INVALID with err naming the missing or bad variable. */
int notification_channels_check(unsigned mask, const char *webhook_url, const char *smtp_url,
                                const char *smtp_from, const char *email_domain, char *err,
                                size_t errlen);

/* What one notification says: taken from the triggering event's data, stored as the
 * row's payload. Strings are NUL-terminated copies. */
typedef struct notification_msg {
    char id[SAGA_UUID_LEN + 1]; /* the notification (row) id */
    char order_id[NOTIFY_ORDER_ID_MAX + 1];
    char customer_id[NOTIFY_CUSTOMER_ID_MAX + 1];
    notification_trigger trigger;
    char reason[24];          /* OrderCancelled's reason, "" otherwise */
    char previous_status[24]; /* OrderCancelled's previousStatus, "" otherwise */
    long long amount;         /* OrderConfirmed's amount in minor units, -1 when unknown */
    char currency[4];         /* with amount, "" otherwise */
    char created_at[SAGA_TIME_LEN + 1]; /* RFC 3339 UTC with milliseconds */
} notification_msg;

/* Fills m (except id and created_at, left empty) from an event's type and data.
 * Returns SAGA_OK, or SAGA_ERR_INVALID with the reason in err: not a trigger type,
 * a missing or ill-typed member, an order id over NOTIFY_ORDER_ID_MAX characters. */
int notification_msg_from_event(const char *type, const cJSON *data, notification_msg *m, char *err,
                                size_t errlen);

/* An order as its OrderCreated names it (what notification-service records of it). */
typedef struct notification_order {
    char order_id[NOTIFY_ORDER_ID_MAX + 1];
    char customer_id[NOTIFY_CUSTOMER_ID_MAX + 1];
} notification_order;

/* Fills o from an OrderCreated's data (orderId, customerId; the other members are not
 * needed). Returns SAGA_OK, or SAGA_ERR_INVALID with the reason in err: a missing or
 * ill-typed member, or one over its column's size. */
int notification_order_from_created(const cJSON *data, notification_order *o, char *err,
                                    size_t errlen);

/* Whether an OrderConfirmed / OrderCancelled of `customer` may notify about the order
 * whose OrderCreated recorded known_customer (NULL: none seen). Returns SAGA_OK,
 * SAGA_ERR_NOT_FOUND (an order nobody created: dead letter) or SAGA_ERR_CONFLICT (the
 * order is another customer's: dead letter). */
int notification_order_check(const char *known_customer, const char *customer);

/* The notification JSON: {"id","orderId","customerId","trigger","status":"CONFIRMED"|
 * "CANCELLED","reason"?,"previousStatus"?,"amount"?,"currency"?,"createdAt"} (reason and
 * previousStatus for cancellations, amount and currency when known). Returns a string
 * the caller frees with cJSON_free; NULL on no memory. */
char *notification_payload_print(const notification_msg *m);

/* Reads a payload printed by notification_payload_print back into m. Returns SAGA_OK
 * or SAGA_ERR_INVALID. buf need not be NUL-terminated. */
int notification_payload_parse(const char *buf, size_t len, notification_msg *m);

/* One human sentence about m, e.g. "Order 1f0c... is confirmed: 25.00 EUR." or "Order
 * 1f0c... was cancelled: an item is out of stock.". Control and non-ASCII bytes of ids
 * are shown as '?'. Always NUL-terminates (truncates to outlen). */
void notification_summary(const notification_msg *m, char *out, size_t outlen);

/* Formats minor units as "25.00" (two decimals). Always NUL-terminates. */
void notification_amount_format(long long amount, char *out, size_t outlen);

/* True if s is a dot-atom local part (RFC 5322 atext and single inner dots), 1..64 bytes. */
bool notification_email_local_valid(const char *s);
/* True if s is a host name: dot-separated labels of letters, digits and inner hyphens,
 * 1..253 bytes. */
bool notification_email_domain_valid(const char *s);
/* True if s is local@domain with both parts valid (no display name, no brackets). */
bool notification_email_address_valid(const char *s);

/* The recipient <customer_id>@<domain>. Returns SAGA_OK, SAGA_ERR_INVALID if the
 * customer id cannot be an address's local part (a permanent failure: retrying will not
 * help), or SAGA_ERR_TOO_LARGE if out is too small. */
int notification_email_recipient(const char *customer_id, const char *domain, char *out,
                                 size_t outlen);

/* The RFC 5322 message for m: Date (from now_ms), From, To, Subject, Message-ID,
 * MIME-Version, Content-Type text/plain us-ascii, then the body; CRLF line ends,
 * lines under 998 characters, no bare CR or LF, and every byte of the ids 7-bit
 * printable (others become '?'). from and to must be valid addresses. Returns a malloc'd
 * NUL-terminated string (caller frees with free) and its length in *len; NULL on no memory. */
char *notification_email_render(const notification_msg *m, const char *from, const char *to,
                                long long now_ms, size_t *len);

/* After a failed delivery that made the row's attempts count `attempts` (1 after the
 * first failure): returns true and the wait before the next try in *delay_ms, drawn from
 * saga_backoff_ms(attempts - 1, base_ms, cap_ms, seed); or false when attempts has
 * reached max_attempts (the notification is FAILED). */
bool notification_retry_next(int attempts, int max_attempts, long base_ms, long cap_ms,
                             unsigned *seed, long *delay_ms);

/* True for a 2xx HTTP status: the webhook accepted the notification. */
bool notification_http_ok(long status);

/* True for an SMTP reply that refuses for good (5yz, RFC 5321 section 4.2.1: do not
 * repeat the same transaction): the notification is FAILED without more attempts. A
 * 4yz reply (and no reply: the server unreachable) is transient and retried. */
bool notification_smtp_permanent(long reply_code);

/* The lease a claiming pass takes on its rows when one delivery takes at most timeout_ms:
 * 2 * timeout_ms + 10 s. The pass starts a delivery only while it can end well within
 * the lease, so the lease bounds how long a crashed instance's rows wait, whatever the
 * batch size. */
long notification_lease_ms(long timeout_ms);

/* Copies src into out (outlen > 0) replacing control bytes with spaces and clipping to
 * outlen - 1 bytes without splitting a UTF-8 sequence: a last_error value. */
void notification_error_clip(const char *src, char *out, size_t outlen);

#endif
