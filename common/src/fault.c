/* fault.c - fault-injection points (test builds only; see fault.h). */
#include "saga/fault.h"

#ifdef SAGA_FAULT_INJECTION
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "saga/log.h"

void saga_fault_point(const char *name)
{
    const char *armed = getenv("SAGA_FAULT");
    if (!armed || strcmp(armed, name) != 0)
        return;
    LOG_WARN("fault.injected", "fault point %s reached: killing the process", name);
    kill(getpid(), SIGKILL);
    pause();
}
#else
/* ISO C forbids an empty translation unit */
typedef int saga_fault_unused;
#endif
