/* routes.c - notification-service's HTTP routes (see routes.h). */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "saga/config.h"
#include "saga/err.h"
#include "saga/fields.h"
#include "saga/log.h"
#include "saga/service.h"
#include "notification.h"
#include "notification_store.h"

#define OPENAPI_DEFAULT "services/notification/openapi.json"
#define OPENAPI_MAX (4L * 1024 * 1024)

/* Read once at start, before the HTTP server runs; read-only afterwards. */
static char *openapi_text;
static size_t openapi_len;

void notification_routes_init(void)
{
    char path[1024], err[512];
    FILE *f = NULL;
    char *text = NULL;
    long size;
    cJSON *doc = NULL;

    if (saga_config_str("SAGA_OPENAPI_FILE", OPENAPI_DEFAULT, path, sizeof(path), err,
                        sizeof(err)) != SAGA_OK) {
        LOG_WARN("openapi.unavailable", "%s", err);
        return;
    }
    if (!(f = fopen(path, "rb")) || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        size > OPENAPI_MAX || fseek(f, 0, SEEK_SET) != 0) {
        LOG_WARN("openapi.unavailable", "cannot read %s: GET /openapi.json answers 404", path);
        goto out;
    }
    if (!(text = malloc((size_t)size + 1)) || fread(text, 1, (size_t)size, f) != (size_t)size) {
        LOG_WARN("openapi.unavailable", "cannot read %s: GET /openapi.json answers 404", path);
        goto out;
    }
    text[size] = '\0';
    if (!(doc = cJSON_ParseWithOpts(text, NULL, true)))
        LOG_WARN("openapi.invalid", "%s is not valid JSON; serving it anyway", path);
    openapi_text = text;
    openapi_len = (size_t)size;
    text = NULL;
out:
    cJSON_Delete(doc);
    free(text);
    if (f)
        fclose(f);
}

void notification_routes_free(void)
{
    free(openapi_text);
    openapi_text = NULL;
    openapi_len = 0;
}

static void openapi_get(saga_http_req *req, saga_http_resp *resp)
{
    (void)req;
    if (!openapi_text) {
        saga_http_reply_problem(resp, 404, "no OpenAPI description was loaded");
        return;
    }
    saga_http_reply_raw(resp, 200, "application/json", openapi_text, openapi_len);
}

static void notifications_list(saga_http_req *req, saga_http_resp *resp)
{
    saga_service *svc = saga_service_from_request(req);
    const char *order_id = saga_http_query(req, "orderId");
    cJSON *body = NULL, *items;
    saga_db *db;
    int rc;

    if (!order_id || !*order_id) {
        saga_field_reply(resp, 400, "orderId", "orderId is required");
        return;
    }
    if (strlen(order_id) > NOTIFY_ORDER_ID_MAX) {
        saga_field_reply(resp, 400, "orderId", "orderId must be 1 to %d characters long",
                         NOTIFY_ORDER_ID_MAX);
        return;
    }
    if (!(db = saga_service_thread_db(svc))) {
        saga_http_reply_rc(resp, SAGA_ERR_UNAVAILABLE, "the database is not reachable");
        return;
    }
    if (!(body = cJSON_CreateObject()) || !(items = cJSON_AddArrayToObject(body, "items"))) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, NULL);
        goto out;
    }
    if ((rc = notification_store_list(db, order_id, items)) != SAGA_OK) {
        LOG_WARN("notification.list_failed", "cannot list notifications: %s", saga_db_error(db));
        saga_http_reply_rc(resp, rc, "cannot read notifications");
        goto out;
    }
    saga_http_reply_json(resp, 200, body);
    body = NULL; /* taken over by the answer */
out:
    cJSON_Delete(body);
}

const saga_http_route notification_routes[] = {
    {"GET", "/api/notifications", notifications_list, 0},
    {"GET", "/openapi.json", openapi_get, 0},
};
const size_t notification_nroutes = sizeof(notification_routes) / sizeof(notification_routes[0]);
