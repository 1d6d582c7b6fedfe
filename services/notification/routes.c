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
#include "saga/text.h"
#include "notification.h"
#include "notification_store.h"

/* Drops the notifications the caller may not see: a customer sees only its own,
 * so another customer's order reads like one with no notifications. */
static void drop_others(saga_http_req *req, cJSON *items)
{
    cJSON *item = items->child;
    while (item) {
        cJSON *next = item->next;
        const cJSON *cust = cJSON_GetObjectItemCaseSensitive(item, "customerId");
        if (!saga_http_may_act_for(req, cJSON_IsString(cust) ? cust->valuestring : NULL))
            cJSON_Delete(cJSON_DetachItemViaPointer(items, item));
        item = next;
    }
}

static void notifications_list(saga_http_req *req, saga_http_resp *resp)
{
    const char *order_id = saga_http_query(req, "orderId");
    cJSON *body = NULL, *items;
    saga_db *db;
    int rc;

    if (!order_id || !*order_id) {
        saga_http_reply_field(resp, 400, "orderId", "orderId is required");
        return;
    }
    if (!saga_text_is_uuid(order_id)) {
        saga_http_reply_field(resp, 400, "orderId",
                              "orderId must be an order id: a UUID in lowercase hex");
        return;
    }
    if (!(db = saga_service_request_db(req, resp)))
        return;
    if (!(body = cJSON_CreateObject()) || !(items = cJSON_AddArrayToObject(body, "items"))) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, NULL);
        goto out;
    }
    if ((rc = notification_store_list(db, order_id, items)) != SAGA_OK) {
        saga_service_reply_db_error(resp, db, rc, "listing notifications");
        goto out;
    }
    drop_others(req, items);
    saga_http_reply_json(resp, 200, body);
    body = NULL; /* taken over by the answer */
out:
    cJSON_Delete(body);
}

const saga_http_route notification_routes[] = {
    {"GET", "/api/notifications", notifications_list, 0, NULL},
};
const size_t notification_nroutes = sizeof(notification_routes) / sizeof(notification_routes[0]);
