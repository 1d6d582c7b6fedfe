-- inventory-service: products (price and stock), reservations, order outcomes.
-- See docs/DOMAIN.md. Invariant per product:
--   initial_stock + restocked = available + reserved + sold,
--   reserved = sum of HELD quantities, sold = sum of COMMITTED quantities.
-- Skus are case-sensitive ASCII (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$): binary
-- collation, so ORDER BY sku is the byte order the service locks rows in.

CREATE TABLE IF NOT EXISTS products (
    sku           VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    name          VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL,
    price         BIGINT NOT NULL COMMENT 'minor units of SAGA_CURRENCY',
    available     INT NOT NULL,
    reserved      INT NOT NULL DEFAULT 0,
    sold          INT NOT NULL DEFAULT 0,
    initial_stock INT NOT NULL,
    restocked     BIGINT NOT NULL DEFAULT 0
        COMMENT 'sum of every later stock change (restocks, PUT adjustments)',
    created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS reservations (
    order_id    CHAR(36) CHARACTER SET ascii NOT NULL,
    sku         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    customer_id VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL,
    quantity    INT NOT NULL,
    unit_price  BIGINT NOT NULL,
    status      VARCHAR(12) CHARACTER SET ascii NOT NULL COMMENT 'HELD|COMMITTED|RELEASED|RESTOCKED',
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (order_id, sku),
    KEY reservations_sku_status (sku, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per order inventory has decided on: the order's aggregate row, locked
-- first by the handlers of its events, and the record of every OrderCreated seen: an
-- OrderConfirmed or OrderCancelled for an order without a row is about an order
-- nobody created and is dead-lettered. (Older versions also wrote CANCELLED rows,
-- for a cancellation seen before the order; such rows are still read as "decided".)
CREATE TABLE IF NOT EXISTS order_outcomes (
    order_id    CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    customer_id VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL,
    outcome     VARCHAR(12) CHARACTER SET ascii NOT NULL COMMENT 'RESERVED|SHORTAGE',
    amount      BIGINT NULL COMMENT 'order total in minor units when RESERVED',
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
