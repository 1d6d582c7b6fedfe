/* payment-service: customer wallets and payments.
 *
 * Wiring only: the runtime in common/ (service.h) does the rest. */
#include "saga/service.h"

static const char *const payment_topics[] = {"inventory-events", "order-events"};

int main(void)
{
    saga_service_def def = {
        .name = "payment",
        .default_port = 8082,
        .topics = payment_topics,
        .ntopics = sizeof(payment_topics) / sizeof(payment_topics[0]),
    };
    return saga_service_main(&def);
}
