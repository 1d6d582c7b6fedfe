/* load_events.h - reads order outcomes (OrderConfirmed, OrderCancelled) from
 * order-events in a thread of its own, for the run loop to match to its orders.
 *
 * The consumer is assigned every partition at its current end (high watermark)
 * before load_events_start returns, so it sees every outcome of orders placed after
 * that, and nothing older; it joins no group and commits nothing (a fresh group id
 * is set only to name it). */
#ifndef LOAD_EVENTS_H
#define LOAD_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load_opts.h"
#include "load_orders.h"

typedef struct load_event {
    char order_id[LOAD_ORDER_ID_LEN + 1];
    bool confirmed;      /* OrderConfirmed; else OrderCancelled */
    load_outcome reason; /* OrderCancelled's reason */
    int64_t seen_us;     /* load_now_us() when it was read */
} load_event;

typedef struct load_events load_events;

/* Connects to opts->bootstrap, positions at the end of opts->topic and starts the
 * reading thread. Returns NULL with the reason in err (broker unreachable, no such
 * topic). opts is borrowed and must outlive it. */
load_events *load_events_start(const load_opts *opts, char *err, size_t errlen);

/* Hands over the outcomes read since the last call: swaps *buf (capacity *cap, its
 * contents discarded) with the reader's queue. Returns how many *buf holds now. */
size_t load_events_take(load_events *ev, load_event **buf, size_t *cap);

/* Counters: outcome events read, other events on the topic, messages that could not
 * be read (consumer errors, unparseable payloads). */
void load_events_counts(load_events *ev, uint64_t *outcomes, uint64_t *others, uint64_t *errors);

/* Stops the thread, closes the consumer and frees everything. NULL is fine. */
void load_events_stop(load_events *ev);

#endif
