-- notification-service: the orders seen created (their OrderCreated) and their customer.
-- order-events keeps one order's events in order, so an OrderConfirmed or OrderCancelled
-- about an order not recorded here is about an order nobody created: it is dead-lettered,
-- and so is one naming another customer than the order's.
CREATE TABLE IF NOT EXISTS known_orders (
    order_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    customer_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A database from before this migration: the orders it has notified about were created
-- (their OrderCreated went by unrecorded), so that their later events (a customer's
-- cancellation of a CONFIRMED order) are still notified.
INSERT IGNORE INTO known_orders (order_id, customer_id, created_at)
    SELECT order_id, MIN(customer_id), MIN(created_at) FROM notifications GROUP BY order_id;
