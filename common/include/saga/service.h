/* service.h - the runtime every service's main() hands itself to.
 *
 * saga_service_main reads the configuration, connects to MySQL (waiting for it
 * at start), applies the migrations, loads the event schemas and the service's
 * OpenAPI description (served at /openapi.json), starts the outbox
 * relay, the consumer loop (its own thread) and the HTTP server, runs until
 * SIGTERM or SIGINT, then stops in order: HTTP server, consumer (finishing its
 * batch), the service's own stop, relay (flushing the producer), MySQL. */
#ifndef SAGA_SERVICE_H
#define SAGA_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/config.h"
#include "saga/consumer.h"
#include "saga/db.h"
#include "saga/http.h"
#include "saga/schema.h"

typedef struct saga_service saga_service;

typedef struct saga_service_def {
    const char *name; /* "order": the config and log name, database saga_<name> */
    int default_port;
    const char *const *topics; /* consumed */
    size_t ntopics;
    const saga_handler *handlers;
    size_t nhandlers;
    const saga_http_route *routes; /* besides /health, /ready, /metrics */
    size_t nroutes;
    /* Optional: runs once the configuration is loaded, before any thread starts:
     * the service's state keeps svc here, so that its handlers and routes reach the
     * runtime (saga_service_config, saga_service_thread_db) through the state. A
     * non-zero return stops start-up. */
    int (*init)(saga_service *svc);
    /* Optional: runs once everything is up, before the HTTP server opens; a
     * non-zero return stops start-up. Start background threads here. */
    int (*start)(saga_service *svc);
    /* Optional: runs after the consumer has stopped; join those threads here. */
    void (*stop)(saga_service *svc);
    void *ud; /* the service's own state: handlers and routes get it */
} saga_service_def;

/* Runs the service; returns the process exit status (0 after a clean stop). */
int saga_service_main(const saga_service_def *def);

const saga_config *saga_service_config(const saga_service *svc);
void *saga_service_userdata(const saga_service *svc);
const saga_schema_registry *saga_service_schemas(const saga_service *svc);
/* False once the service is stopping: background loops check it. */
bool saga_service_running(const saga_service *svc);

/* The calling thread's own MySQL connection (opened on first use, closed when the
 * thread exits), with the relay woken after commits that wrote outbox rows. For
 * HTTP handlers and background threads. NULL if MySQL cannot be reached. */
saga_db *saga_service_thread_db(saga_service *svc);

/* The service behind an HTTP request (saga_http_userdata). */
saga_service *saga_service_from_request(const saga_http_req *req);

/* --- a route's database --- */

/* The calling thread's connection (saga_service_thread_db) for the service behind req,
 * or NULL with a 503 problem ("the database is not reachable") already answered on
 * resp, so that the route just returns. The connection is the thread's: do not close. */
saga_db *saga_service_request_db(saga_http_req *req, saga_http_resp *resp);

/* Answers a database call that failed with rc (not SAGA_OK) and logs it (warn,
 * "http.db_error": what, rc and db's last error; db may be NULL): 503 "retry later"
 * for SAGA_ERR_TRANSIENT and SAGA_ERR_UNAVAILABLE, else 500 ("out of memory" for
 * SAGA_ERR_NOMEM, otherwise "database error while <what>"). The error text stays in the
 * log, never in the answer. what is a gerund phrase: "reading an order". */
void saga_service_reply_db_error(saga_http_resp *resp, saga_db *db, int rc, const char *what);

#endif
