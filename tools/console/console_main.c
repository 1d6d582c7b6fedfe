/* saga-console: the browser console (see console.h and README, "The console"). Wiring
 * only: settings, the static page, the token verifier, the HTTP server; Kafka and
 * MySQL are reached on first use, so the console starts (and says so) while they
 * are still coming up. SIGTERM/SIGINT stop it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "console.h"
#include "saga/err.h"
#include "saga/log.h"
#include "saga/version.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    static console c; /* large: not on the stack */
    saga_http_server *srv = NULL;
    char err[1024] = "";
    int status = 1;

    if (saga_version_requested(argc, argv, "saga-console"))
        return 0;
    if (argc > 1) {
        fprintf(stderr, "saga-console: no arguments are taken but --version (settings come "
                        "from the environment: README, \"The console\")\n");
        return 2;
    }
    if (console_cfg_load(&c.cfg, err, sizeof(err))) {
        fprintf(stderr, "saga-console: %s\n", err);
        return 2;
    }
    saga_log_init("console", c.cfg.log_level);
    saga_db_library_init(); /* before any thread */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&c.kafka_lock, NULL);
    for (int s = 0; s < CONSOLE_NSVC; s++)
        pthread_mutex_init(&c.db_lock[s], NULL);
    if (console_web_load(&c, err, sizeof(err))) {
        LOG_ERROR("console.start_failed", "%s", err);
        status = 2;
        goto out;
    }
    if (!(c.auth = saga_auth_from_env(err, sizeof(err)))) {
        LOG_ERROR("console.start_failed", "%s", err);
        status = 2;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    saga_http_opts http = {
        .bind = c.cfg.bind,
        .port = c.cfg.port,
        .threads = c.cfg.threads,
        .body_max = 4096,
        .routes = console_routes,
        .nroutes = console_nroutes,
        .ud = &c,
        .auth = c.auth,
    };
    if (!(srv = saga_http_start(&http, err, sizeof(err)))) {
        LOG_ERROR("console.start_failed", "http: %s", err);
        goto out;
    }
    LOG_INFO("console.started", "saga-console on http://%s:%d (kafka %s)", c.cfg.bind,
             saga_http_port(srv), c.cfg.bootstrap);
    while (!stop_requested)
        pause();
    LOG_INFO("console.stopping", "signal received");
    status = 0;
out:
    saga_http_stop(srv);
    console_kafka_free(&c);
    console_scan_free(&c);
    console_db_free(&c);
    console_web_free(&c);
    saga_auth_free(c.auth);
    curl_global_cleanup();
    saga_db_library_end();
    return status;
}
