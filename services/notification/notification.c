/* notification.c - notification-service's domain rules (see notification.h). No I/O. */
#include "notification.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saga/backoff.h"
#include "saga/err.h"

/* JSON numbers are doubles: amounts are integers up to 2^53 - 1 (envelope.json). */
#define AMOUNT_MAX 9007199254740991.0

static const char *const channel_names[NOTIFY_CH_COUNT] = {"log", "webhook", "email"};
static const char *const trigger_names[NOTIFY_TRIGGER_COUNT] = {"OrderConfirmed", "OrderCancelled"};

const char *notification_channel_name(notification_channel ch)
{
    if ((int)ch < 0 || ch >= NOTIFY_CH_COUNT)
        return NULL;
    return channel_names[ch];
}

int notification_channel_parse(const char *s, size_t len, notification_channel *out)
{
    for (int i = 0; i < NOTIFY_CH_COUNT; i++) {
        if (strlen(channel_names[i]) == len && memcmp(s, channel_names[i], len) == 0) {
            *out = (notification_channel)i;
            return SAGA_OK;
        }
    }
    return SAGA_ERR_INVALID;
}

const char *notification_trigger_name(notification_trigger t)
{
    if ((int)t < 0 || t >= NOTIFY_TRIGGER_COUNT)
        return NULL;
    return trigger_names[t];
}

int notification_trigger_parse(const char *type, notification_trigger *out)
{
    for (int i = 0; type && i < NOTIFY_TRIGGER_COUNT; i++) {
        if (strcmp(type, trigger_names[i]) == 0) {
            *out = (notification_trigger)i;
            return SAGA_OK;
        }
    }
    return SAGA_ERR_INVALID;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int notification_channels_parse(const char *list, unsigned *mask, char *err, size_t errlen)
{
    const char *p = list ? list : "";
    unsigned m = 0;
    bool any_text = false;

    for (const char *c = p; *c; c++)
        any_text = any_text || !is_blank(*c);
    if (!any_text) {
        snprintf(err, errlen, "no channel given");
        return SAGA_ERR_INVALID;
    }
    for (;;) {
        const char *end = p + strcspn(p, ",");
        const char *a = p, *b = end;
        notification_channel ch;

        while (a < b && is_blank(*a))
            a++;
        while (b > a && is_blank(b[-1]))
            b--;
        if (a == b) {
            snprintf(err, errlen, "empty channel name in \"%s\"", list);
            return SAGA_ERR_INVALID;
        }
        if (notification_channel_parse(a, (size_t)(b - a), &ch) != SAGA_OK) {
            snprintf(err, errlen, "unknown channel \"%.*s\" (expected log, webhook or email)",
                     (int)(b - a > 32 ? 32 : b - a), a);
            return SAGA_ERR_INVALID;
        }
        m |= NOTIFY_CH_BIT(ch);
        if (*end == '\0')
            break;
        p = end + 1;
    }
    *mask = m;
    return SAGA_OK;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0 && s[strlen(prefix)] != '\0';
}

int notification_channels_check(unsigned mask, const char *webhook_url, const char *smtp_url,
                                const char *smtp_from, const char *email_domain, char *err,
                                size_t errlen)
{
    if (mask == 0) {
        snprintf(err, errlen, "SAGA_NOTIFY_CHANNELS: no channel given");
        return SAGA_ERR_INVALID;
    }
    if (mask & NOTIFY_CH_BIT(NOTIFY_CH_WEBHOOK)) {
        if (!webhook_url || !*webhook_url) {
            snprintf(err, errlen, "SAGA_WEBHOOK_URL is required by the webhook channel");
            return SAGA_ERR_INVALID;
        }
        if (!has_prefix(webhook_url, "http://") && !has_prefix(webhook_url, "https://")) {
            snprintf(err, errlen, "SAGA_WEBHOOK_URL must be an http:// or https:// URL");
            return SAGA_ERR_INVALID;
        }
    }
    if (mask & NOTIFY_CH_BIT(NOTIFY_CH_EMAIL)) {
        if (!smtp_url || !*smtp_url) {
            snprintf(err, errlen, "SAGA_SMTP_URL is required by the email channel");
            return SAGA_ERR_INVALID;
        }
        if (!has_prefix(smtp_url, "smtp://") && !has_prefix(smtp_url, "smtps://")) {
            snprintf(err, errlen, "SAGA_SMTP_URL must be an smtp:// or smtps:// URL");
            return SAGA_ERR_INVALID;
        }
        if (!smtp_from || !*smtp_from) {
            snprintf(err, errlen, "SAGA_SMTP_FROM is required by the email channel");
            return SAGA_ERR_INVALID;
        }
        if (!notification_email_address_valid(smtp_from)) {
            snprintf(err, errlen, "SAGA_SMTP_FROM must be a plain address like shop@example.com");
            return SAGA_ERR_INVALID;
        }
        if (!email_domain || !notification_email_domain_valid(email_domain)) {
            snprintf(err, errlen, "SAGA_EMAIL_DOMAIN must be a host name like example.com");
            return SAGA_ERR_INVALID;
        }
    }
    return SAGA_OK;
}

/* --- the message --- */

/* Copies the string member `name` of 1..max bytes into out (max + 1 bytes). */
/* Copies a string member of 1..max characters (as the schemas count them: code
 * points, not bytes) into out, a buffer of outsize bytes. */
static int copy_member(const cJSON *data, const char *name, size_t max, char *out, size_t outsize,
                       char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, name);
    size_t len, chars = 0;

    if (!cJSON_IsString(v) || !v->valuestring) {
        snprintf(err, errlen, "data.%s must be a string", name);
        return SAGA_ERR_INVALID;
    }
    len = strlen(v->valuestring);
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)v->valuestring[i] & 0xc0) != 0x80; /* not a continuation */
    if (chars < 1 || chars > max || len >= outsize) {
        snprintf(err, errlen, "data.%s must be 1 to %zu characters long", name, max);
        return SAGA_ERR_INVALID;
    }
    memcpy(out, v->valuestring, len + 1);
    return SAGA_OK;
}

static int read_amount(const cJSON *v, long long *out)
{
    if (!cJSON_IsNumber(v))
        return SAGA_ERR_INVALID;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= AMOUNT_MAX) || floor(d) != d)
        return SAGA_ERR_INVALID;
    *out = (long long)d;
    return SAGA_OK;
}

static bool currency_valid(const char *s)
{
    return strlen(s) == 3 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
           isupper((unsigned char)s[2]);
}

int notification_msg_from_event(const char *type, const cJSON *data, notification_msg *m, char *err,
                                size_t errlen)
{
    int rc;

    memset(m, 0, sizeof(*m));
    m->amount = -1;
    if (notification_trigger_parse(type, &m->trigger) != SAGA_OK) {
        snprintf(err, errlen, "event type %s is not a notification trigger", type ? type : "?");
        return SAGA_ERR_INVALID;
    }
    if (!cJSON_IsObject(data)) {
        snprintf(err, errlen, "data must be an object");
        return SAGA_ERR_INVALID;
    }
    if ((rc = copy_member(data, "orderId", NOTIFY_ORDER_ID_MAX, m->order_id, sizeof(m->order_id),
                          err, errlen)) ||
        (rc = copy_member(data, "customerId", NOTIFY_CUSTOMER_CHARS_MAX, m->customer_id,
                          sizeof(m->customer_id), err, errlen)))
        return rc;
    if (m->trigger == NOTIFY_TRIGGER_CONFIRMED) {
        if (read_amount(cJSON_GetObjectItemCaseSensitive(data, "amount"), &m->amount)) {
            snprintf(err, errlen, "data.amount must be an integer from 0 to 2^53-1");
            return SAGA_ERR_INVALID;
        }
        if ((rc = copy_member(data, "currency", 3, m->currency, sizeof(m->currency), err, errlen)))
            return rc;
        if (!currency_valid(m->currency)) {
            snprintf(err, errlen, "data.currency must be three capital letters");
            return SAGA_ERR_INVALID;
        }
    } else {
        if ((rc = copy_member(data, "reason", sizeof(m->reason) - 1, m->reason, sizeof(m->reason),
                              err, errlen)) ||
            (rc = copy_member(data, "previousStatus", sizeof(m->previous_status) - 1,
                              m->previous_status, sizeof(m->previous_status), err, errlen)))
            return rc;
    }
    return SAGA_OK;
}

int notification_order_from_created(const cJSON *data, notification_order *o, char *err,
                                    size_t errlen)
{
    int rc;

    memset(o, 0, sizeof(*o));
    if (!cJSON_IsObject(data)) {
        snprintf(err, errlen, "data must be an object");
        return SAGA_ERR_INVALID;
    }
    if ((rc = copy_member(data, "orderId", NOTIFY_ORDER_ID_MAX, o->order_id, sizeof(o->order_id),
                          err, errlen)) ||
        (rc = copy_member(data, "customerId", NOTIFY_CUSTOMER_CHARS_MAX, o->customer_id,
                          sizeof(o->customer_id), err, errlen)))
        return rc;
    return SAGA_OK;
}

int notification_order_check(const char *known_customer, const char *customer)
{
    if (!known_customer)
        return SAGA_ERR_NOT_FOUND;
    if (!customer || strcmp(known_customer, customer) != 0)
        return SAGA_ERR_CONFLICT;
    return SAGA_OK;
}

char *notification_payload_print(const notification_msg *m)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;
    bool cancelled = m->trigger == NOTIFY_TRIGGER_CANCELLED;

    if (!o || !cJSON_AddStringToObject(o, "id", m->id) ||
        !cJSON_AddStringToObject(o, "orderId", m->order_id) ||
        !cJSON_AddStringToObject(o, "customerId", m->customer_id) ||
        !cJSON_AddStringToObject(o, "trigger", notification_trigger_name(m->trigger)) ||
        !cJSON_AddStringToObject(o, "status", cancelled ? "CANCELLED" : "CONFIRMED"))
        goto out;
    if (cancelled && m->reason[0] && !cJSON_AddStringToObject(o, "reason", m->reason))
        goto out;
    if (cancelled && m->previous_status[0] &&
        !cJSON_AddStringToObject(o, "previousStatus", m->previous_status))
        goto out;
    if (m->amount >= 0) {
        if (!cJSON_AddNumberToObject(o, "amount", (double)m->amount))
            goto out;
        if (m->currency[0] && !cJSON_AddStringToObject(o, "currency", m->currency))
            goto out;
    }
    if (!cJSON_AddStringToObject(o, "createdAt", m->created_at))
        goto out;
    out = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return out;
}

/* Copies an optional string member into out (outlen bytes); false if present and not a
 * string or too long, or absent and required. */
static bool payload_string(const cJSON *o, const char *name, bool required, char *out,
                           size_t outlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v)
        return !required;
    if (!cJSON_IsString(v) || !v->valuestring || strlen(v->valuestring) >= outlen)
        return false;
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return true;
}

int notification_payload_parse(const char *buf, size_t len, notification_msg *m)
{
    cJSON *o = cJSON_ParseWithLengthOpts(buf, len, NULL, false);
    char trigger[32] = "";
    int rc = SAGA_ERR_INVALID;
    const cJSON *amount;

    memset(m, 0, sizeof(*m));
    m->amount = -1;
    if (!cJSON_IsObject(o))
        goto out;
    if (!payload_string(o, "id", true, m->id, sizeof(m->id)) ||
        !payload_string(o, "orderId", true, m->order_id, sizeof(m->order_id)) ||
        !payload_string(o, "customerId", true, m->customer_id, sizeof(m->customer_id)) ||
        !payload_string(o, "trigger", true, trigger, sizeof(trigger)) ||
        !payload_string(o, "reason", false, m->reason, sizeof(m->reason)) ||
        !payload_string(o, "previousStatus", false, m->previous_status,
                        sizeof(m->previous_status)) ||
        !payload_string(o, "currency", false, m->currency, sizeof(m->currency)) ||
        !payload_string(o, "createdAt", true, m->created_at, sizeof(m->created_at)))
        goto out;
    if (notification_trigger_parse(trigger, &m->trigger) != SAGA_OK)
        goto out;
    amount = cJSON_GetObjectItemCaseSensitive(o, "amount");
    if (amount && read_amount(amount, &m->amount) != SAGA_OK)
        goto out;
    rc = SAGA_OK;
out:
    cJSON_Delete(o);
    return rc;
}

/* Copies s into out, bytes outside printable ASCII shown as '?'. */
static void ascii_copy(const char *s, char *out, size_t outlen)
{
    size_t i = 0;
    if (outlen == 0)
        return;
    for (; s && s[i] && i + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[i] = '\0';
}

static const char *reason_text(const char *reason)
{
    static const struct {
        const char *code, *text;
    } texts[] = {
        {"OUT_OF_STOCK", "an item is out of stock"},
        {"PAYMENT_DECLINED", "the payment was declined"},
        {"TIMEOUT", "it was not completed in time"},
        {"CUSTOMER_REQUEST", "at the customer's request"},
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (strcmp(reason, texts[i].code) == 0)
            return texts[i].text;
    }
    return NULL;
}

void notification_amount_format(long long amount, char *out, size_t outlen)
{
    unsigned long long abs_amount =
        amount < 0 ? 0ULL - (unsigned long long)amount : (unsigned long long)amount;
    snprintf(out, outlen, "%s%llu.%02llu", amount < 0 ? "-" : "", abs_amount / 100,
             abs_amount % 100);
}

void notification_summary(const notification_msg *m, char *out, size_t outlen)
{
    char order[NOTIFY_ORDER_ID_MAX + 1], reason[sizeof(m->reason)], currency[4];
    char amount[32];

    ascii_copy(m->order_id, order, sizeof(order));
    if (m->trigger == NOTIFY_TRIGGER_CONFIRMED) {
        if (m->amount < 0) {
            snprintf(out, outlen, "Order %s is confirmed.", order);
            return;
        }
        notification_amount_format(m->amount, amount, sizeof(amount));
        ascii_copy(m->currency, currency, sizeof(currency));
        snprintf(out, outlen, "Order %s is confirmed: %s%s%s.", order, amount,
                 currency[0] ? " " : "", currency);
        return;
    }
    const char *text = reason_text(m->reason);
    ascii_copy(m->reason, reason, sizeof(reason));
    if (text)
        snprintf(out, outlen, "Order %s was cancelled: %s.", order, text);
    else if (reason[0])
        snprintf(out, outlen, "Order %s was cancelled (%s).", order, reason);
    else
        snprintf(out, outlen, "Order %s was cancelled.", order);
}

/* --- e-mail --- */

static bool is_atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

bool notification_email_local_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len < 1 || len > 64 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (c >= 0x80 || !is_atext(c)) {
            return false;
        }
    }
    return true;
}

bool notification_email_domain_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0, label = 0;
    if (len < 1 || len > 253)
        return false;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (c < 0x80 && (isalnum(c) || c == '-')) {
            if (label == 0 && c == '-')
                return false;
            label++;
        } else {
            return false;
        }
    }
    return true;
}

bool notification_email_address_valid(const char *s)
{
    char local[65];
    const char *at = s ? strrchr(s, '@') : NULL;
    size_t n;

    if (!at)
        return false;
    n = (size_t)(at - s);
    if (n == 0 || n >= sizeof(local))
        return false;
    memcpy(local, s, n);
    local[n] = '\0';
    return notification_email_local_valid(local) && notification_email_domain_valid(at + 1);
}

int notification_email_recipient(const char *customer_id, const char *domain, char *out,
                                 size_t outlen)
{
    if (!notification_email_local_valid(customer_id) || !notification_email_domain_valid(domain))
        return SAGA_ERR_INVALID;
    int n = snprintf(out, outlen, "%s@%s", customer_id, domain);
    if (n < 0 || (size_t)n >= outlen)
        return SAGA_ERR_TOO_LARGE;
    return SAGA_OK;
}

/* A growing string for the message. */
typedef struct strbuf {
    char *buf;
    size_t len, cap;
    bool oom;
} strbuf;

static void strbuf_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void strbuf_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (sb->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->oom = true;
        return;
    }
    if (sb->len + (size_t)n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 512;
        while (cap < sb->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(sb->buf, cap);
        if (!p) {
            sb->oom = true;
            return;
        }
        sb->buf = p;
        sb->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *notification_email_render(const notification_msg *m, const char *from, const char *to,
                                long long now_ms, size_t *len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char order[NOTIFY_ORDER_ID_MAX + 1], customer[NOTIFY_CUSTOMER_ID_MAX + 1];
    char id[SAGA_UUID_LEN + 1], created[SAGA_TIME_LEN + 1], summary[256];
    const char *from_domain = strrchr(from, '@');
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    strbuf sb = {0};

    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof(tm));
    ascii_copy(m->order_id, order, sizeof(order));
    ascii_copy(m->customer_id, customer, sizeof(customer));
    ascii_copy(m->id, id, sizeof(id));
    ascii_copy(m->created_at, created, sizeof(created));
    notification_summary(m, summary, sizeof(summary));

    strbuf_printf(&sb, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
                  days[(unsigned)tm.tm_wday % 7], tm.tm_mday, months[(unsigned)tm.tm_mon % 12],
                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    strbuf_printf(&sb, "From: %s\r\nTo: %s\r\n", from, to);
    strbuf_printf(&sb, "Subject: Your order %s %s\r\n", order,
                  m->trigger == NOTIFY_TRIGGER_CONFIRMED ? "is confirmed" : "was cancelled");
    strbuf_printf(&sb, "Message-ID: <%s@%s>\r\n", id, from_domain ? from_domain + 1 : "localhost");
    strbuf_printf(&sb, "MIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=us-ascii\r\n"
                       "Content-Transfer-Encoding: 7bit\r\n");
    strbuf_printf(&sb, "\r\nHello %s,\r\n\r\n%s\r\n\r\n", customer, summary);
    strbuf_printf(&sb, "-- \r\nNotification %s of %s\r\n", id, created);
    if (sb.oom) {
        free(sb.buf);
        return NULL;
    }
    *len = sb.len;
    return sb.buf;
}

/* --- retries, times, errors --- */

bool notification_retry_next(int attempts, int max_attempts, long base_ms, long cap_ms,
                             unsigned *seed, long *delay_ms)
{
    if (attempts >= max_attempts)
        return false;
    *delay_ms =
        saga_backoff_ms(attempts > 0 ? (unsigned)(attempts - 1) : 0u, base_ms, cap_ms, seed);
    return true;
}

bool notification_http_ok(long status)
{
    return status >= 200 && status <= 299;
}

bool notification_smtp_permanent(long reply_code)
{
    return reply_code >= 500 && reply_code <= 599;
}

long notification_lease_ms(long timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    return 2 * timeout_ms + 10000;
}

void notification_error_clip(const char *src, char *out, size_t outlen)
{
    size_t n = 0;

    if (outlen == 0)
        return;
    for (; src && src[n] && n + 1 < outlen; n++) {
        unsigned char c = (unsigned char)src[n];
        out[n] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    /* clipped in the middle of a UTF-8 sequence: drop its lead and continuation bytes */
    if (src && src[n] && ((unsigned char)src[n] & 0xC0) == 0x80) {
        while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
            n--;
    }
    out[n] = '\0';
}

saga_event *notification_sent_event(const char *order_id, const char *notification_id,
                                    notification_channel ch, notification_trigger t,
                                    const char *cause_id)
{
    const char *channel = notification_channel_name(ch);
    const char *trigger = notification_trigger_name(t);
    cJSON *data = channel && trigger ? cJSON_CreateObject() : NULL;

    if (!data || !cJSON_AddStringToObject(data, "orderId", order_id) ||
        !cJSON_AddStringToObject(data, "notificationId", notification_id) ||
        !cJSON_AddStringToObject(data, "channel", channel) ||
        !cJSON_AddStringToObject(data, "trigger", trigger)) {
        cJSON_Delete(data);
        return NULL;
    }
    /* data is the event's from here on, also when saga_event_new fails */
    return saga_event_new("NotificationSent", NOTIFICATION_SOURCE, order_id, order_id, cause_id,
                          data);
}
