/* inventory-service: products (price and stock) and reservations.
 *
 * Wiring only: the runtime in common/ (service.h) does the rest. Its own settings:
 *   SAGA_CURRENCY      (default EUR)  the shop currency prices are in; an order in
 *                                     another currency is dead-lettered
 *   SAGA_OPENAPI_FILE  (default services/inventory/openapi.json, relative to the
 *                                     working directory) served at GET /openapi.json */
#include <stdio.h>
#include <stdlib.h>

#include "saga/err.h"
#include "saga/log.h"
#include "saga/service.h"
#include "inventory.h"
#include "inventory_events.h"
#include "inventory_service.h"

#define OPENAPI_DEFAULT "services/inventory/openapi.json"
#define OPENAPI_MAX_BYTES (1024 * 1024)

static const char *const inventory_topics[] = {"order-events"};

static inventory_ctx ctx;

/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
static int file_read(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    int rc = SAGA_ERR_NOT_FOUND;

    if (!f)
        goto out;
    if (!(buf = malloc(OPENAPI_MAX_BYTES + 1))) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    n = fread(buf, 1, OPENAPI_MAX_BYTES + 1, f);
    if (ferror(f) || n > OPENAPI_MAX_BYTES) {
        rc = SAGA_ERR_TOO_LARGE;
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = SAGA_OK;
out:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

/* Runs once the runtime is up, before the HTTP server opens: loads the OpenAPI
 * description. An explicitly configured file that cannot be read stops start-up;
 * the default one is also looked for beside the schemas directory (a run from the
 * build tree), and /openapi.json answers 404 if neither is there. */
static int inventory_start(saga_service *svc)
{
    const saga_config *cfg = saga_service_config(svc);
    const char *env = getenv("SAGA_OPENAPI_FILE");
    char path[1024], err[256];

    if (saga_config_str("SAGA_OPENAPI_FILE", OPENAPI_DEFAULT, path, sizeof(path), err,
                        sizeof(err))) {
        LOG_ERROR("service.start_failed", "%s", err);
        return SAGA_ERR_INVALID;
    }
    if (file_read(path, &ctx.openapi, &ctx.openapi_len) == SAGA_OK)
        return SAGA_OK;
    if (env && env[0]) {
        LOG_ERROR("service.start_failed",
                  "SAGA_OPENAPI_FILE: cannot read %s (missing, unreadable or over 1 MiB)", path);
        return SAGA_ERR_INVALID;
    }
    snprintf(path, sizeof(path), "%s/../%s", cfg->schemas_dir, OPENAPI_DEFAULT);
    if (file_read(path, &ctx.openapi, &ctx.openapi_len) == SAGA_OK)
        return SAGA_OK;
    LOG_WARN("inventory.openapi_missing",
             "no %s in the working directory: GET /openapi.json answers 404", OPENAPI_DEFAULT);
    return SAGA_OK;
}

int main(void)
{
    char err[512];
    int status;

    /* the runtime loads and checks these again and reports a bad value itself; a
     * copy here gives the consumer thread the Redis settings from its first event */
    if (saga_config_load(&ctx.cfg, "inventory", 8083, err, sizeof(err)) == SAGA_OK) {
        if (saga_config_str("SAGA_CURRENCY", "EUR", ctx.currency, sizeof(ctx.currency), err,
                            sizeof(err)) != SAGA_OK ||
            !inventory_currency_valid(ctx.currency)) {
            fprintf(stderr, "inventory-service: invalid configuration: SAGA_CURRENCY must be three "
                            "upper-case letters (ISO 4217), like EUR\n");
            return 2;
        }
    }

    saga_service_def def = {
        .name = "inventory",
        .default_port = 8083,
        .topics = inventory_topics,
        .ntopics = sizeof(inventory_topics) / sizeof(inventory_topics[0]),
        .handlers = inventory_handlers,
        .nhandlers = inventory_nhandlers,
        .routes = inventory_routes,
        .nroutes = inventory_nroutes,
        .start = inventory_start,
        .ud = &ctx,
    };
    status = saga_service_main(&def);
    free(ctx.openapi);
    return status;
}
