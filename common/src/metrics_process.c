/* metrics_process.c - the process_* metrics of the Prometheus client libraries,
 * read from /proc at every render, and saga_build_info. */
#include "saga/metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "saga/version.h"

static struct {
    pthread_mutex_t mu;
    bool registered;
    double cpu_seen; /* CPU seconds already added to the counter */
    saga_metric *cpu, *rss, *vsize, *fds, *max_fds, *start;
} proc = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Fields 14 (utime), 15 (stime), 22 (starttime), 23 (vsize) and 24 (rss) of
 * /proc/self/stat, counted from the state field (3), which follows the command's
 * last ')' (a command may hold spaces and parentheses). Returns 0, -1 if unreadable. */
static int proc_stat_read(unsigned long long out[5])
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    int field = 2, got = 0;
    for (char *save = NULL, *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        field++;
        int slot = field == 14   ? 0
                   : field == 15 ? 1
                   : field == 22 ? 2
                   : field == 23 ? 3
                   : field == 24 ? 4
                                 : -1;
        if (slot >= 0) {
            out[slot] = strtoull(tok, NULL, 10);
            got++;
        }
        if (field == 24)
            break;
    }
    return got == 5 ? 0 : -1;
}

/* The system's boot time (btime in /proc/stat), in seconds since the epoch; 0 if unknown. */
static double boot_time(void)
{
    char line[256];
    double btime = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0) {
            btime = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return btime;
}

/* Open file descriptors: the entries of /proc/self/fd (less the one reading it). */
static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    double n = 0;
    if (!d)
        return -1;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

static void proc_collect(void *ud)
{
    unsigned long long st[5];
    double ticks = (double)sysconf(_SC_CLK_TCK);
    double page = (double)sysconf(_SC_PAGESIZE);
    struct rlimit rl;
    (void)ud;

    pthread_mutex_lock(&proc.mu);
    if (ticks > 0 && proc_stat_read(st) == 0) {
        double cpu = (double)(st[0] + st[1]) / ticks;
        if (cpu > proc.cpu_seen) {
            saga_metric_add(proc.cpu, cpu - proc.cpu_seen);
            proc.cpu_seen = cpu;
        }
        saga_metric_set(proc.vsize, (double)st[3]);
        saga_metric_set(proc.rss, (double)st[4] * page);
    }
    saga_metric_set(proc.fds, open_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        saga_metric_set(proc.max_fds, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
    pthread_mutex_unlock(&proc.mu);
}

/* A label value with \, " and newlines escaped (text format 0.0.4). */
static void label_escape(char *out, size_t outlen, const char *s)
{
    size_t o = 0;
    for (; *s && o + 3 < outlen; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            out[o++] = '\\';
            out[o++] = *s == '\n' ? 'n' : *s;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

void saga_metrics_process_register(void)
{
    unsigned long long st[5];
    char version[128], commit[128], labels[320];

    pthread_mutex_lock(&proc.mu);
    if (proc.registered) {
        pthread_mutex_unlock(&proc.mu);
        return;
    }
    proc.registered = true;
    proc.cpu = saga_metrics_counter("process_cpu_seconds_total",
                                    "Total user and system CPU time spent in seconds.", "");
    proc.rss =
        saga_metrics_gauge("process_resident_memory_bytes", "Resident memory size in bytes.", "");
    proc.vsize =
        saga_metrics_gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", "");
    proc.fds = saga_metrics_gauge("process_open_fds", "Number of open file descriptors.", "");
    proc.max_fds =
        saga_metrics_gauge("process_max_fds", "Maximum number of open file descriptors.", "");
    proc.start = saga_metrics_gauge("process_start_time_seconds",
                                    "Start time of the process since unix epoch in seconds.", "");
    double ticks = (double)sysconf(_SC_CLK_TCK);
    if (ticks > 0 && proc_stat_read(st) == 0)
        saga_metric_set(proc.start, boot_time() + (double)st[2] / ticks);

    label_escape(version, sizeof(version), saga_version());
    label_escape(commit, sizeof(commit), saga_version_commit());
    snprintf(labels, sizeof(labels), "version=\"%s\",commit=\"%s\"", version, commit);
    saga_metric_set(saga_metrics_gauge("saga_build_info",
                                       "The build: its version and git commit; always 1", labels),
                    1);
    pthread_mutex_unlock(&proc.mu);
    saga_metrics_on_render(proc_collect, NULL);
}
