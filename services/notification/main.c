/* notification-service: notifications and their delivery attempts.
 *
 * Wiring only: the runtime in common/ (service.h) runs the consumer, the outbox relay
 * and the HTTP server; notification_events.c handles OrderConfirmed / OrderCancelled,
 * notification_delivery.c runs the delivery thread, routes.c the REST API. */
#include <stdio.h>
#include <curl/curl.h>

#include "saga/service.h"
#include "saga/version.h"
#include "notification_delivery.h"
#include "notification_events.h"
#include "notification_service.h"
#include "routes.h"

static const char *const notification_topics[] = {"order-events"};

static notification_service state;

static int notification_start(saga_service *svc)
{
    notification_service *ns = saga_service_userdata(svc);
    return notification_delivery_start(ns->delivery, svc);
}

static void notification_stop(saga_service *svc)
{
    notification_service *ns = saga_service_userdata(svc);
    notification_delivery_stop(ns->delivery);
}

int main(int argc, char **argv)
{
    char err[512];
    int rc;

    if (saga_version_requested(argc, argv, "notification-service"))
        return 0;
    if (notification_settings_load(&state.settings, err, sizeof(err)) != 0) {
        fprintf(stderr, "notification-service: invalid configuration: %s\n", err);
        return 2;
    }
    /* before any thread starts: curl_global_init is not thread-safe */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "notification-service: cannot initialise libcurl\n");
        return 1;
    }
    if (!(state.delivery = notification_delivery_new(&state.settings))) {
        fprintf(stderr, "notification-service: out of memory\n");
        curl_global_cleanup();
        return 1;
    }
    saga_service_def def = {
        .name = "notification",
        .default_port = 8084,
        .topics = notification_topics,
        .ntopics = sizeof(notification_topics) / sizeof(notification_topics[0]),
        .handlers = notification_handlers,
        .nhandlers = notification_nhandlers,
        .routes = notification_routes,
        .nroutes = notification_nroutes,
        .start = notification_start,
        .stop = notification_stop,
        .ud = &state,
    };
    rc = saga_service_main(&def);
    notification_delivery_free(state.delivery);
    curl_global_cleanup();
    return rc;
}
