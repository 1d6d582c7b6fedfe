/* notification-service: notifications and their delivery attempts.
 *
 * Wiring only: the runtime in common/ (service.h) does the rest. */
#include "saga/service.h"

static const char *const notification_topics[] = {"order-events"};

int main(void)
{
    saga_service_def def = {
        .name = "notification",
        .default_port = 8084,
        .topics = notification_topics,
        .ntopics = sizeof(notification_topics) / sizeof(notification_topics[0]),
    };
    return saga_service_main(&def);
}
