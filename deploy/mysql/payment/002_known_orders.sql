-- payment-service: the orders payment has seen created, and the reservations that
-- arrived before their order's OrderCreated (see docs/DOMAIN.md).
--
-- order-events is written only by order-service and keeps one order's events in
-- order, so an OrderCancelled about an order not in known_orders is about an order
-- nobody created: it is dead-lettered. InventoryReserved comes on another topic and
-- may arrive before OrderCreated: it waits in pending_reservations, and is decided
-- when the OrderCreated arrives (a forged one, for an order never created, waits
-- there forever and never charges).

CREATE TABLE IF NOT EXISTS known_orders (
    order_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    customer_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS pending_reservations (
    order_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    customer_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    amount      BIGINT NOT NULL,
    currency    CHAR(3) CHARACTER SET ascii NOT NULL,
    event_id    VARCHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'the parked InventoryReserved',
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A database from before this migration: the orders it already has a payment or a
-- cancellation for were created (their OrderCreated went by unrecorded), so that
-- their later events (a customer's cancellation of a CONFIRMED order) still apply.
INSERT IGNORE INTO known_orders (order_id, customer_id, created_at)
    SELECT order_id, customer_id, created_at FROM payments;
INSERT IGNORE INTO known_orders (order_id, customer_id, created_at)
    SELECT order_id, customer_id, created_at FROM cancelled_orders;
