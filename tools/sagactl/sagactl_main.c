/* sagactl: the admin CLI (see sagactl.h and --help). */
#include <stdio.h>

#include "sagactl.h"
#include "saga/err.h"
#include "saga/version.h"

int main(int argc, char **argv)
{
    sagactl_opts opts;
    char err[512] = "";
    int status;

    if (saga_version_requested(argc, argv, "sagactl"))
        return 0;
    if (sagactl_opts_load(&opts, argc, argv, err, sizeof(err))) {
        fprintf(stderr, "sagactl: %s\n(sagactl --help for usage)\n", err);
        sagactl_opts_free(&opts);
        return SAGACTL_EXIT_USAGE;
    }
    switch (opts.cmd) {
    case SAGACTL_DLQ_LIST:
        status = sagactl_dlq_list(&opts);
        break;
    case SAGACTL_DLQ_REPLAY:
        status = sagactl_dlq_replay(&opts);
        break;
    default:
        fputs(sagactl_usage, stdout);
        status = SAGACTL_EXIT_OK;
        break;
    }
    sagactl_opts_free(&opts);
    return status;
}
