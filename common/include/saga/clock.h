/* clock.h - the clocks, deadlines and condition variables every waiting loop uses.
 *
 * Waits and intervals use CLOCK_MONOTONIC (a wall-clock step neither stretches nor
 * cuts them); only what is stored or shown (created_at, a DATETIME) uses the wall
 * clock. Nothing here allocates. */
#ifndef SAGA_CLOCK_H
#define SAGA_CLOCK_H

#include <pthread.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds (for intervals and deadlines). */
long long saga_clock_mono_ms(void);

/* CLOCK_MONOTONIC in seconds, with the nanoseconds as the fraction (for histograms). */
double saga_clock_mono_s(void);

/* The wall clock (CLOCK_REALTIME) in milliseconds since the epoch (for stored times). */
long long saga_clock_wall_ms(void);

/* *out = CLOCK_MONOTONIC now + ms (ms >= 0), normalised: the absolute deadline to
 * give pthread_cond_timedwait on a condition variable made by saga_clock_cond_init. */
void saga_clock_deadline(struct timespec *out, long ms);

/* Initialises *cv to time its waits on CLOCK_MONOTONIC. Returns 0 or the pthread error
 * (then *cv is not initialised); the caller destroys it with pthread_cond_destroy. */
int saga_clock_cond_init(pthread_cond_t *cv);

/* Sleeps ms milliseconds (ms >= 0), resuming after a signal until the time is up. */
void saga_clock_sleep_ms(long ms);

#endif
