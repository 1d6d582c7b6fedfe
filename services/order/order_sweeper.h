/* order_sweeper.h - the deadline sweeper: a thread that cancels orders left
 * PENDING or AWAITING_PAYMENT past their deadline with reason TIMEOUT.
 *
 * Every SAGA_SWEEP_INTERVAL_MS it takes up to SAGA_SWEEP_BATCH due order ids and
 * cancels each in its own transaction, which locks the order (FOR UPDATE) and
 * re-checks its state: a consumer confirming it at the same moment wins or loses
 * cleanly. It goes on with the next batch while batches come back full.
 *
 * One sweeper per database works at a time: the one whose connection holds the
 * MySQL named lock "<database>.sweeper" (taken without waiting, kept while the
 * connection lives; another instance takes over when it goes). The others only
 * refresh the gauge saga_orders_past_deadline (open orders at or past their
 * deadline after the last pass), which every instance reports. */
#ifndef ORDER_SWEEPER_H
#define ORDER_SWEEPER_H

#include "order_service.h"
#include "saga/service.h"

/* Starts the sweeper thread; it uses its own MySQL connection
 * (saga_service_thread_db). Returns NULL if the thread cannot be started. Both
 * svc and app must outlive it. */
order_sweeper *order_sweeper_start(saga_service *svc, order_service *app);

/* Stops the thread (waking it), waits for it, frees s. NULL is fine. */
void order_sweeper_stop(order_sweeper *s);

#endif
