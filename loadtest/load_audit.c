/* load_audit.c - running the audit command after a run. */
#include "load_audit.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int load_audit_run(const char *cmd)
{
    posix_spawn_file_actions_t fa;
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int status, rc;

    fflush(NULL);
    if (posix_spawn_file_actions_init(&fa))
        return -1;
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        fprintf(stderr, "saga-load: cannot run the audit: %s\n", strerror(rc));
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}
