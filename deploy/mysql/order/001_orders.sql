-- order-service: orders, their lines, the saga history and API idempotency keys
-- (docs/DOMAIN.md). Idempotent DDL for MariaDB 10.11 and MySQL 8.
--
-- Identifiers and codes are ascii; customer ids and skus compare byte for byte
-- (binary collations), so "Alice" and "alice" are two customers, as in the events.

CREATE TABLE IF NOT EXISTS orders (
    id            CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    customer_id   VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    status        VARCHAR(20) CHARACTER SET ascii NOT NULL
                  COMMENT 'PENDING|AWAITING_PAYMENT|CONFIRMED|CANCELLED',
    cancel_reason VARCHAR(20) CHARACTER SET ascii NULL
                  COMMENT 'OUT_OF_STOCK|PAYMENT_DECLINED|TIMEOUT|CUSTOMER_REQUEST',
    currency      CHAR(3) CHARACTER SET ascii NOT NULL,
    amount        BIGINT NULL COMMENT 'minor units, priced by inventory (or the payment)',
    payment_id    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL
                  COMMENT 'the paymentId of PaymentCompleted (1..64 characters in its schema)',
    deadline      DATETIME(3) NOT NULL COMMENT 'UTC; the sweeper cancels open orders past it',
    created_at    DATETIME(3) NOT NULL,
    updated_at    DATETIME(3) NOT NULL,
    KEY orders_customer (customer_id, id),
    KEY orders_status_deadline (status, deadline)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS order_items (
    order_id   CHAR(36) CHARACTER SET ascii NOT NULL,
    sku        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    quantity   INT NOT NULL,
    unit_price BIGINT NULL COMMENT 'minor units, from InventoryReserved',
    PRIMARY KEY (order_id, sku)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS order_history (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id    CHAR(36) CHARACTER SET ascii NOT NULL,
    event_id    VARCHAR(64) CHARACTER SET ascii NULL,
    event_type  VARCHAR(64) CHARACTER SET ascii NOT NULL,
    kind        VARCHAR(10) CHARACTER SET ascii NOT NULL COMMENT 'consumed|emitted|api',
    status      VARCHAR(20) CHARACTER SET ascii NOT NULL COMMENT 'the order status after the step',
    detail      TEXT NULL COMMENT 'JSON',
    occurred_at DATETIME(3) NOT NULL,
    KEY order_history_order (order_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS idempotency_keys (
    customer_id  VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    idem_key     VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    request_hash CHAR(64) CHARACTER SET ascii NOT NULL
                 COMMENT '64-bit FNV-1a of the canonical request, 16 hex digits',
    order_id     CHAR(36) CHARACTER SET ascii NOT NULL,
    created_at   DATETIME(3) NOT NULL,
    PRIMARY KEY (customer_id, idem_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
