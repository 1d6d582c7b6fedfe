/* inventory-service: products (price and stock) and reservations.
 *
 * Wiring only: the runtime in common/ (service.h) does the rest. */
#include "saga/service.h"

static const char *const inventory_topics[] = {"order-events"};

int main(void)
{
    saga_service_def def = {
        .name = "inventory",
        .default_port = 8083,
        .topics = inventory_topics,
        .ntopics = sizeof(inventory_topics) / sizeof(inventory_topics[0]),
    };
    return saga_service_main(&def);
}
