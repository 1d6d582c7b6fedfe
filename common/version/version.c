/* version.c - the release and the commit (see saga/version.h). A library of its own
 * (saga_version) so that a new commit recompiles this file alone, and so that
 * executables that do not link the common library (saga-broker) can print it. */
#include "saga/version.h"

#include <string.h>

#include "saga_commit.h"  /* generated at build time: SAGA_GIT_COMMIT */
#include "saga_version.h" /* generated at configure time: SAGA_VERSION */

const char *saga_version(void)
{
    return SAGA_VERSION;
}

const char *saga_version_commit(void)
{
    return SAGA_GIT_COMMIT;
}

void saga_version_print(FILE *out, const char *name)
{
    fprintf(out, "%s %s (commit %s)\n", name, SAGA_VERSION, SAGA_GIT_COMMIT);
}

bool saga_version_requested(int argc, char **argv, const char *name)
{
    if (argc != 2 || (strcmp(argv[1], "--version") != 0 && strcmp(argv[1], "-V") != 0))
        return false;
    saga_version_print(stdout, name);
    fflush(stdout);
    return true;
}
