/* service.c - the service runtime (see service.h). */
#include "saga/service.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "saga/backoff.h"
#include "saga/err.h"
#include "saga/file.h"
#include "saga/inbox.h"
#include "saga/kafka.h"
#include "saga/log.h"
#include "saga/metrics.h"
#include "saga/outbox.h"
#include "saga/swagger_ui.h"
#include "saga/version.h"

#define STARTUP_DB_WAIT_S 60
#define RELAY_STOP_TIMEOUT_MS 10000
#define OPENAPI_MAX_BYTES (4 * 1024 * 1024)

struct saga_service {
    const saga_service_def *def;
    saga_config cfg;
    saga_schema_registry *schemas;
    saga_relay *relay;
    saga_consumer *consumer;
    pthread_t consumer_thread;
    bool consumer_started;
    pthread_t maintenance_thread;
    bool maintenance_started;
    saga_http_server *http;
    saga_auth *auth; /* verifies the bearer tokens of API requests */
    pthread_key_t thread_db_key;
    saga_metric *up;
    char *openapi; /* the OpenAPI description served at /openapi.json, NULL if none */
    size_t openapi_len;
    saga_swagger_ui *swagger_ui; /* the page at /swagger-ui.html */
    saga_http_route *routes;     /* the service's routes, then the Swagger UI's */
};

/* The one thing the signal handler does. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

const saga_config *saga_service_config(const saga_service *svc)
{
    return &svc->cfg;
}

void *saga_service_userdata(const saga_service *svc)
{
    return svc->def->ud;
}

const saga_schema_registry *saga_service_schemas(const saga_service *svc)
{
    return svc->schemas;
}

bool saga_service_running(const saga_service *svc)
{
    (void)svc;
    return !stop_requested;
}

saga_service *saga_service_from_request(const saga_http_req *req)
{
    return saga_http_userdata(req);
}

static void thread_db_free(void *db)
{
    saga_db_close(db);
}

saga_db *saga_service_thread_db(saga_service *svc)
{
    saga_db *db = pthread_getspecific(svc->thread_db_key);
    char err[512];

    if (db)
        return db;
    db = saga_db_open(&svc->cfg, err, sizeof(err));
    if (!db) {
        LOG_WARN("db.unavailable", "%s", err);
        return NULL;
    }
    saga_db_set_commit_hook(db, saga_relay_wake, svc->relay);
    pthread_setspecific(svc->thread_db_key, db);
    return db;
}

static bool service_ready(void *ud, char *why, size_t whylen)
{
    saga_service *svc = ud;
    saga_db *db = saga_service_thread_db(svc);

    if (!db || !saga_db_ping(db)) {
        snprintf(why, whylen, "mysql is not reachable%s%s", db ? ": " : "",
                 db ? saga_db_error(db) : "");
        return false;
    }
    if (svc->consumer && !saga_kafka_reachable(saga_consumer_kafka(svc->consumer), 2000)) {
        snprintf(why, whylen, "kafka is not reachable at %s", svc->cfg.kafka_bootstrap);
        return false;
    }
    return true;
}

/* Housekeeping: forgets inbox ids older than the retention window, every
 * SAGA_INBOX_PRUNE_INTERVAL_S (and once at start). */
static void *maintenance_main(void *arg)
{
    saga_service *svc = arg;
    saga_metric *pruned = saga_metrics_counter("saga_inbox_pruned_total",
                                               "Inbox ids forgotten after the retention window", "");
    long waited_ms = (long)svc->cfg.inbox_prune_interval_s * 1000;

    while (!stop_requested) {
        if (waited_ms >= (long)svc->cfg.inbox_prune_interval_s * 1000) {
            saga_db *db = saga_service_thread_db(svc);
            uint64_t deleted = 0;
            if (db && saga_inbox_prune(db, (long)svc->cfg.inbox_retention_hours * 3600, 5000,
                                       &deleted) == SAGA_OK && deleted > 0) {
                saga_metric_add(pruned, (double)deleted);
                LOG_INFO("inbox.pruned", "forgot %llu event ids older than %d h",
                         (unsigned long long)deleted, svc->cfg.inbox_retention_hours);
            }
            waited_ms = 0;
        }
        usleep(100 * 1000);
        waited_ms += 100;
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    saga_service *svc = arg;
    saga_consumer_run(svc->consumer);
    return NULL;
}

/* Opens a connection with cfg's account, waiting for MySQL at start (compose starts
 * everything at once) up to STARTUP_DB_WAIT_S. NULL (logged) if it never answers. */
static saga_db *open_waiting(const saga_config *cfg)
{
    char err[512];
    unsigned seed = (unsigned)getpid();
    time_t started = time(NULL);
    saga_db *db = NULL;

    for (unsigned attempt = 0; !db; attempt++) {
        db = saga_db_open(cfg, err, sizeof(err));
        if (db)
            break;
        if (stop_requested || time(NULL) - started > STARTUP_DB_WAIT_S) {
            LOG_ERROR("service.start_failed", "%s (user %s)", err, cfg->mysql_user);
            return NULL;
        }
        LOG_WARN("service.waiting_for_db", "%s", err);
        usleep((useconds_t)saga_backoff_ms(attempt, 200, 2000, &seed) * 1000);
    }
    return db;
}

/* How long one migration statement may run: converting a grown table (a column's
 * type, every row rewritten) takes minutes, far past the runtime read timeout, and a
 * connection given up mid-statement would roll it back and fail start-up every time. */
#define MIGRATION_READ_TIMEOUT_S (24 * 3600)

/* Applies the migrations, with SAGA_MYSQL_MIGRATE_USER's account when it is set (the
 * runtime account then needs no DDL privilege), and checks that the runtime account
 * can connect. */
static int connect_and_migrate(saga_service *svc)
{
    char err[512];
    saga_config migrate = svc->cfg;
    saga_db *db;
    int rc;

    migrate.mysql_read_timeout_s = MIGRATION_READ_TIMEOUT_S;
    if (svc->cfg.mysql_migrate_user[0]) {
        snprintf(migrate.mysql_user, sizeof(migrate.mysql_user), "%s",
                 svc->cfg.mysql_migrate_user);
        snprintf(migrate.mysql_password, sizeof(migrate.mysql_password), "%s",
                 svc->cfg.mysql_migrate_password);
    }
    if (!(db = open_waiting(&migrate)))
        return SAGA_ERR_UNAVAILABLE;
    rc = saga_db_migrate(db, svc->cfg.migrations_dir, svc->cfg.service, err, sizeof(err));
    if (rc)
        LOG_ERROR("service.migration_failed", "%s (user %s)", err, migrate.mysql_user);
    saga_db_close(db);
    if (rc || !svc->cfg.mysql_migrate_user[0])
        return rc;
    LOG_INFO("service.migrated", "migrations applied as %s; running as %s",
             migrate.mysql_user, svc->cfg.mysql_user);
    if (!(db = open_waiting(&svc->cfg)))
        return SAGA_ERR_UNAVAILABLE;
    saga_db_close(db);
    return SAGA_OK;
}

/* Loads the OpenAPI description: SAGA_OPENAPI_FILE, else
 * services/<name>/openapi.json from the working directory or, for a run from
 * elsewhere (a build tree), beside the schemas directory. A configured file that
 * cannot be read stops start-up; a missing default only makes /openapi.json 404. */
static int load_openapi(saga_service *svc)
{
    const char *set = getenv("SAGA_OPENAPI_FILE");
    char path[1100];
    int rc;

    if (set && *set) {
        rc = saga_file_read(set, OPENAPI_MAX_BYTES, &svc->openapi, &svc->openapi_len);
        if (rc)
            LOG_ERROR("service.start_failed", "SAGA_OPENAPI_FILE: cannot read %s: %s", set,
                      saga_rc_str(rc));
        return rc;
    }
    snprintf(path, sizeof(path), "services/%s/openapi.json", svc->cfg.service);
    if (saga_file_read(path, OPENAPI_MAX_BYTES, &svc->openapi, &svc->openapi_len) == SAGA_OK)
        return SAGA_OK;
    snprintf(path, sizeof(path), "%s/../services/%s/openapi.json", svc->cfg.schemas_dir,
             svc->cfg.service);
    if (saga_file_read(path, OPENAPI_MAX_BYTES, &svc->openapi, &svc->openapi_len) == SAGA_OK)
        return SAGA_OK;
    LOG_WARN("service.openapi_missing",
             "no services/%s/openapi.json here or beside %s: GET /openapi.json answers 404",
             svc->cfg.service, svc->cfg.schemas_dir);
    return SAGA_OK;
}

static void service_swagger_ui(saga_http_req *req, saga_http_resp *resp)
{
    saga_swagger_ui_serve(saga_service_from_request(req)->swagger_ui, req, resp);
}

/* The Swagger UI (saga/swagger_ui.h): its files, and the routes that serve it after
 * the service's own. */
static int load_swagger_ui(saga_service *svc)
{
    const saga_service_def *def = svc->def;
    size_t n = def->nroutes + saga_swagger_ui_npaths;

    svc->swagger_ui = saga_swagger_ui_load(svc->cfg.service, svc->cfg.schemas_dir);
    svc->routes = calloc(n, sizeof(*svc->routes));
    if (!svc->swagger_ui || !svc->routes) {
        LOG_ERROR("service.start_failed", "out of memory loading the Swagger UI");
        return SAGA_ERR_NOMEM;
    }
    for (size_t i = 0; i < def->nroutes; i++)
        svc->routes[i] = def->routes[i];
    for (size_t i = 0; i < saga_swagger_ui_npaths; i++)
        svc->routes[def->nroutes + i] = (saga_http_route){
            "GET", saga_swagger_ui_paths[i], service_swagger_ui, SAGA_ROUTE_PUBLIC, NULL};
    return SAGA_OK;
}

static int service_start(saga_service *svc)
{
    const saga_service_def *def = svc->def;
    char err[512];

    if (saga_schema_registry_load(svc->cfg.schemas_dir, &svc->schemas, err, sizeof(err))) {
        LOG_ERROR("service.start_failed", "cannot load event schemas from %s: %s",
                  svc->cfg.schemas_dir, err);
        return SAGA_ERR_INVALID;
    }
    if (load_openapi(svc))
        return SAGA_ERR_INVALID;
    if (load_swagger_ui(svc))
        return SAGA_ERR_NOMEM;
    if (connect_and_migrate(svc))
        return SAGA_ERR_UNAVAILABLE;
    if (!(svc->relay = saga_relay_start(&svc->cfg, err, sizeof(err)))) {
        LOG_ERROR("service.start_failed", "outbox relay: %s", err);
        return SAGA_ERR_UNAVAILABLE;
    }
    if (def->ntopics > 0) {
        saga_consumer_opts opts = {
            .cfg = &svc->cfg,
            .topics = def->topics,
            .ntopics = def->ntopics,
            .handlers = def->handlers,
            .nhandlers = def->nhandlers,
            .ud = def->ud,
            .schemas = svc->schemas,
            .commit_hook = saga_relay_wake,
            .commit_hook_ud = svc->relay,
        };
        if (!(svc->consumer = saga_consumer_new(&opts, err, sizeof(err)))) {
            LOG_ERROR("service.start_failed", "consumer: %s", err);
            return SAGA_ERR_UNAVAILABLE;
        }
        if (pthread_create(&svc->consumer_thread, NULL, consumer_main, svc) != 0) {
            LOG_ERROR("service.start_failed", "cannot start the consumer thread");
            return SAGA_ERR_INTERNAL;
        }
        svc->consumer_started = true;
    }
    if (pthread_create(&svc->maintenance_thread, NULL, maintenance_main, svc) != 0) {
        LOG_ERROR("service.start_failed", "cannot start the maintenance thread");
        return SAGA_ERR_INTERNAL;
    }
    svc->maintenance_started = true;
    if (def->start && def->start(svc) != 0) {
        LOG_ERROR("service.start_failed", "%s-service start-up failed", def->name);
        return SAGA_ERR_INTERNAL;
    }
    saga_http_opts http = {
        .bind = svc->cfg.http_bind,
        .port = svc->cfg.http_port,
        .threads = svc->cfg.http_threads,
        .body_max = svc->cfg.http_body_max,
        .max_connections = svc->cfg.http_max_connections,
        .max_per_address = svc->cfg.http_max_per_address,
        .timeout_s = svc->cfg.http_timeout_s,
        .ready_cache_ms = svc->cfg.http_ready_cache_ms,
        .routes = svc->routes,
        .nroutes = def->nroutes + saga_swagger_ui_npaths,
        .ready = service_ready,
        .ud = svc,
        .openapi = svc->openapi,
        .openapi_len = svc->openapi_len,
        .auth = svc->auth,
        .metrics_bind = svc->cfg.metrics_bind,
        .metrics_port = svc->cfg.metrics_port,
    };
    if (!(svc->http = saga_http_start(&http, err, sizeof(err)))) {
        LOG_ERROR("service.start_failed", "http: %s", err);
        return SAGA_ERR_UNAVAILABLE;
    }
    return SAGA_OK;
}

static void service_stop(saga_service *svc)
{
    stop_requested = 1;
    saga_http_stop(svc->http);
    svc->http = NULL;
    if (svc->consumer) {
        saga_consumer_stop(svc->consumer);
        if (svc->consumer_started)
            pthread_join(svc->consumer_thread, NULL);
        saga_consumer_free(svc->consumer);
        svc->consumer = NULL;
    }
    if (svc->def->stop)
        svc->def->stop(svc);
    if (svc->maintenance_started)
        pthread_join(svc->maintenance_thread, NULL);
    svc->maintenance_started = false;
    saga_relay_stop(svc->relay, RELAY_STOP_TIMEOUT_MS);
    svc->relay = NULL;
    saga_schema_registry_free(svc->schemas);
    svc->schemas = NULL;
    free(svc->openapi);
    svc->openapi = NULL;
    saga_swagger_ui_free(svc->swagger_ui);
    svc->swagger_ui = NULL;
    free(svc->routes);
    svc->routes = NULL;
}

int saga_service_main(const saga_service_def *def)
{
    saga_service svc = {.def = def};
    struct sigaction sa = {.sa_handler = on_stop_signal};
    char err[512];
    int rc;

    saga_db_library_init();
    if (saga_config_load(&svc.cfg, def->name, def->default_port, err, sizeof(err))) {
        fprintf(stderr, "%s-service: invalid configuration: %s\n", def->name, err);
        return 2;
    }
    if (!(svc.auth = saga_auth_from_env(err, sizeof(err)))) {
        fprintf(stderr, "%s-service: invalid configuration: %s\n", def->name, err);
        return 2;
    }
    saga_log_init(svc.cfg.service, svc.cfg.log_level);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* the main thread's own connection is closed by the key's destructor only
     * in other threads; service_stop does not use one */
    pthread_key_create(&svc.thread_db_key, thread_db_free);
    svc.up = saga_metrics_gauge("saga_up", "1 while the service runs", "");
    saga_metrics_process_register();
    if (def->init && def->init(&svc) != SAGA_OK) {
        LOG_ERROR("service.start_failed", "%s-service: its state could not be set up", def->name);
        pthread_key_delete(svc.thread_db_key);
        saga_auth_free(svc.auth);
        saga_db_library_end();
        return 1;
    }

    LOG_INFO("service.starting", "%s-service %s (commit %s) starting (mysql %s:%d/%s, kafka %s)",
             def->name, saga_version(), saga_version_commit(),
             svc.cfg.mysql_host, svc.cfg.mysql_port, svc.cfg.mysql_database,
             svc.cfg.kafka_bootstrap);
    rc = service_start(&svc);
    if (rc == SAGA_OK) {
        saga_metric_set(svc.up, 1);
        LOG_INFO("service.started", "%s-service listening on http://%s:%d (metrics on %s:%d)",
                 def->name, svc.cfg.http_bind, saga_http_port(svc.http), svc.cfg.metrics_bind,
                 saga_http_metrics_port(svc.http));
        while (!stop_requested)
            usleep(100 * 1000);
        LOG_INFO("service.stopping", "%s-service stopping", def->name);
    }
    service_stop(&svc);
    saga_db *own = pthread_getspecific(svc.thread_db_key);
    saga_db_close(own);
    pthread_key_delete(svc.thread_db_key);
    saga_auth_free(svc.auth);
    saga_db_library_end();
    LOG_INFO("service.stopped", "%s-service stopped", def->name);
    return rc == SAGA_OK ? 0 : 1;
}
