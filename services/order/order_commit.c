/* order_commit.c - order creations committed together (see order_commit.h). */
#include "order_commit.h"

#include "saga/err.h"
#include "saga/write_batch.h"

/* Most creations in one transaction (the write batch's largest INSERT). */
#define GROUP_MAX 64

int order_committer_init(order_committer *c, order_creation_write_fn write)
{
    static const double bounds[] = {1, 2, 4, 8, 16, 32, 64};
    int rc;
    *c = (order_committer){.write = write};
    c->group_size = saga_metrics_histogram("saga_order_creations_per_commit",
                                           "Order creations committed in one transaction", "",
                                           bounds, sizeof(bounds) / sizeof(bounds[0]));
    if ((rc = pthread_mutex_init(&c->mu, NULL)))
        return rc;
    if ((rc = pthread_cond_init(&c->cv, NULL)))
        pthread_mutex_destroy(&c->mu);
    return rc;
}

void order_committer_destroy(order_committer *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

/* One transaction for the creations in the list at first: their rows kept and
 * written together just before the commit (the idempotency keys first, so that a
 * concurrent request with the same key waits for this commit). */
static int commit_group(const order_committer *c, saga_db *db, order_creation *first)
{
    saga_write_batch *rows = saga_write_batch_new();
    int rc;

    if (!rows)
        return SAGA_ERR_NOMEM;
    if ((rc = saga_db_begin(db)))
        goto out;
    rc = saga_db_intercept(db, saga_write_batch_interceptor(rows));
    for (order_creation *j = first; j && rc == SAGA_OK; j = j->next)
        rc = c->write(db, j);
    if (rc == SAGA_OK)
        rc = saga_write_batch_flush(db, rows);
    saga_db_unintercept(db, saga_write_batch_interceptor(rows));
    if (rc == SAGA_OK)
        rc = saga_db_commit(db);
    else
        saga_db_rollback(db);
out:
    saga_write_batch_free(rows);
    return rc;
}

int order_commit(order_committer *c, saga_db *db, order_creation *job, bool alone)
{
    job->next = NULL;
    job->done = false;
    if (alone) {
        int rc = commit_group(c, db, job);
        if (rc == SAGA_OK)
            saga_metric_observe(c->group_size, 1);
        return rc;
    }

    pthread_mutex_lock(&c->mu);
    if (c->tail)
        c->tail->next = job;
    else
        c->head = job;
    c->tail = job;
    while (!job->done) {
        if (c->committing) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        /* this thread commits the queue's first GROUP_MAX (its own creation among
         * them, unless more are waiting: then it goes round again) */
        order_creation *first = c->head, *last = first;
        size_t n = 1;
        while (last->next && n < GROUP_MAX) {
            last = last->next;
            n++;
        }
        c->head = last->next;
        if (!c->head)
            c->tail = NULL;
        last->next = NULL;
        c->committing = true;
        pthread_mutex_unlock(&c->mu);

        int rc = commit_group(c, db, first);
        if (rc == SAGA_OK)
            saga_metric_observe(c->group_size, (double)n);

        pthread_mutex_lock(&c->mu);
        for (order_creation *j = first; j; j = j->next) {
            j->rc = n == 1 || rc == SAGA_OK ? rc : SAGA_ERR_TRANSIENT;
            j->done = true;
        }
        c->committing = false;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return job->rc;
}
