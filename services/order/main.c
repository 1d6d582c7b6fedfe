/* order-service: orders, their items, saga history and API idempotency keys.
 *
 * Wiring only: the runtime in common/ (service.h) does the rest. */
#include "saga/service.h"

static const char *const order_topics[] = {"inventory-events", "payment-events"};

int main(void)
{
    saga_service_def def = {
        .name = "order",
        .default_port = 8081,
        .topics = order_topics,
        .ntopics = sizeof(order_topics) / sizeof(order_topics[0]),
    };
    return saga_service_main(&def);
}
