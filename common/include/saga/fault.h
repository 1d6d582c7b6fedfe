/* fault.h - fault-injection points, compiled only into test builds (Debug).
 *
 * saga_fault_point("relay.after_produce") kills the process with SIGKILL, as
 * `kill -9` would, when the environment variable SAGA_FAULT names that point.
 * Tests use it to crash at the worst moments: after a consumer batch is applied but
 * before its DB commit (consumer.before_db_commit), between the DB commit and the
 * offset commit (consumer.after_db_commit), and in the relay between produce and
 * row delete (relay.after_produce). In Release builds the points are empty. */
#ifndef SAGA_FAULT_H
#define SAGA_FAULT_H

#ifdef SAGA_FAULT_INJECTION
void saga_fault_point(const char *name);
#else
#define saga_fault_point(name) ((void)0)
#endif

#endif
