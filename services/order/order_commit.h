/* order_commit.h - order creations committed together when they come together.
 *
 * Creating an order is a transaction of its own rows (the idempotency key, the
 * order and its lines, a history row, OrderCreated in the outbox) and a durable
 * commit: six round trips and an fsync per order. Requests that arrive while
 * another creation is committing queue up, and the next request thread to commit
 * takes the whole queue (up to 64) into one transaction, its rows written with one
 * multi-row INSERT per table. Nothing waits to gather a group: a lone request
 * commits at once, as before.
 *
 * A group either commits whole or not at all; when a group of several fails (an
 * idempotency key taken, a deadlock), each of its requests is told to try again
 * alone, so that one request's conflict never fails another's. */
#ifndef ORDER_COMMIT_H
#define ORDER_COMMIT_H

#include <pthread.h>
#include <stdbool.h>

#include "order.h"
#include "saga/db.h"
#include "saga/metrics.h"

/* One creation to commit; the strings are borrowed until order_commit returns. */
typedef struct order_creation {
    const order *o;
    const char *idem_key; /* NULL: the request had no Idempotency-Key */
    const char *hash;     /* the request's hash, stored with the key */
    const char *traceparent;
    /* the committer's */
    int rc;
    bool done;
    struct order_creation *next;
} order_creation;

/* Writes one creation's rows in db's open transaction (order_events_create);
 * SAGA_OK or the error that fails its group. */
typedef int (*order_creation_write_fn)(saga_db *db, const order_creation *job);

typedef struct order_committer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    order_creation *head, *tail; /* waiting to be committed */
    bool committing;             /* a thread is committing a group */
    saga_metric *group_size;     /* saga_order_creations_per_commit */
    order_creation_write_fn write;
} order_committer;

/* 0 or an errno. write writes each creation; the committer only groups them. */
int order_committer_init(order_committer *c, order_creation_write_fn write);
void order_committer_destroy(order_committer *c);

/* Commits the creation on db (the calling thread's connection), with whatever
 * other creations are waiting unless `alone`. Returns SAGA_OK when committed; the
 * error of a transaction that held this creation alone (SAGA_ERR_CONFLICT: the
 * idempotency key exists); or SAGA_ERR_TRANSIENT when a group of several failed:
 * try again alone. */
int order_commit(order_committer *c, saga_db *db, order_creation *job, bool alone);

#endif
