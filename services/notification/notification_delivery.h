/* notification_delivery.h - the delivery threads and the channels.
 *
 * One delivery thread per configured channel (a slow SMTP server does not hold up
 * webhooks or log lines). Each claims due PENDING notifications of its channel a few at a
 * time (a lease, see notification_store.h), delivers each outside any transaction, then
 * either marks it
 * SENT and writes NotificationSent in one transaction, or records the failed attempt and
 * schedules the next one with backoff (FAILED after SAGA_NOTIFY_MAX_ATTEMPTS). They are
 * woken right after the consumer commits new rows, and polls every SAGA_NOTIFY_POLL_MS for
 * retries that fall due.
 *
 * Channels:
 * - log: one JSON log line, event key "notification.delivered";
 * - webhook: HTTP POST of the notification JSON to SAGA_WEBHOOK_URL (libcurl); a 2xx is
 *   delivered, any other status, a connection error or SAGA_WEBHOOK_TIMEOUT_MS is a
 *   failed attempt;
 * - email: an RFC 5322 message over SMTP (libcurl smtp:// or smtps://, SAGA_SMTP_URL)
 *   from SAGA_SMTP_FROM to <customerId>@SAGA_EMAIL_DOMAIN. */
#ifndef NOTIFICATION_DELIVERY_H
#define NOTIFICATION_DELIVERY_H

#include <stddef.h>

#include "saga/service.h"
#include "notification.h"

typedef struct notification_settings {
    unsigned channels;       /* SAGA_NOTIFY_CHANNELS, default "log": NOTIFY_CH_BIT bits */
    char webhook_url[2048];  /* SAGA_WEBHOOK_URL, required by webhook */
    long webhook_timeout_ms; /* SAGA_WEBHOOK_TIMEOUT_MS, default 3000 */
    char smtp_url[1024];     /* SAGA_SMTP_URL, required by email */
    char smtp_from[320];     /* SAGA_SMTP_FROM, required by email */
    char email_domain[254];  /* SAGA_EMAIL_DOMAIN, default example.com */
    long smtp_timeout_ms;    /* SAGA_SMTP_TIMEOUT_MS, default 10000 */
    long poll_ms;            /* SAGA_NOTIFY_POLL_MS, default 200 */
    long retry_base_ms;      /* SAGA_NOTIFY_RETRY_BASE_MS, default 500 */
    long retry_max_ms;       /* SAGA_NOTIFY_RETRY_MAX_MS, default 30000 */
    long max_attempts;       /* SAGA_NOTIFY_MAX_ATTEMPTS, default 5 */
    long batch;              /* SAGA_NOTIFY_BATCH: rows claimed per pass, default 32 */
} notification_settings;

/* Reads the settings above from the environment. Returns SAGA_OK, or SAGA_ERR_INVALID
 * with err naming the variable. */
int notification_settings_load(notification_settings *s, char *err, size_t errlen);

typedef struct notification_delivery notification_delivery;

/* Creates the delivery state (settings copied); the threads are not started yet, but
 * notification_delivery_wake may already be called. NULL on no memory. */
notification_delivery *notification_delivery_new(const notification_settings *s);

/* The configured channels (NOTIFY_CH_BIT bits). Thread-safe. */
unsigned notification_delivery_channels(const notification_delivery *d);

/* Wakes the threads: new rows were committed (the consumer's handler has it called
 * after its transaction commits: saga_db_after_commit). Thread-safe. */
void notification_delivery_wake(notification_delivery *d);

/* Starts the threads (the service's start hook). Each uses saga_service_thread_db(svc) and
 * runs while saga_service_running(svc). Returns SAGA_OK or SAGA_ERR_INTERNAL. */
int notification_delivery_start(notification_delivery *d, saga_service *svc);

/* Stops the threads after the delivery in hand (a transfer in progress is aborted and
 * its rows given back), and joins them (the service's stop hook). Safe if never started. */
void notification_delivery_stop(notification_delivery *d);

/* Frees d (after notification_delivery_stop). NULL is fine. */
void notification_delivery_free(notification_delivery *d);

#endif
