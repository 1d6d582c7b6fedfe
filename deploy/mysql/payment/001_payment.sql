-- payment-service: customer wallets (the simulated gateway), payments, and the
-- orders seen cancelled (see docs/DOMAIN.md).
--
-- Invariant: initial_balance + topped_up = balance + sum(amount of CAPTURED payments)
-- for each wallet (a refunded payment's money is back in the balance).

CREATE TABLE IF NOT EXISTS wallets (
    customer_id     VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    balance         BIGINT NOT NULL,
    initial_balance BIGINT NOT NULL,
    topped_up       BIGINT NOT NULL DEFAULT 0,
    blocked         TINYINT NOT NULL DEFAULT 0,
    created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One payment per order (UNIQUE order_id): a replayed InventoryReserved never
-- charges twice. status CAPTURED|REFUNDED|DECLINED; decline_reason only when DECLINED.
CREATE TABLE IF NOT EXISTS payments (
    id             CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    order_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    customer_id    VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    amount         BIGINT NOT NULL,
    currency       CHAR(3) CHARACTER SET ascii NOT NULL,
    status         VARCHAR(10) CHARACTER SET ascii NOT NULL,
    decline_reason VARCHAR(32) CHARACTER SET ascii NULL,
    created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY payments_order (order_id),
    KEY payments_customer_status (customer_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Orders payment has seen cancelled: an InventoryReserved arriving after the
-- OrderCancelled (another topic, no mutual order) must not charge.
CREATE TABLE IF NOT EXISTS cancelled_orders (
    order_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    customer_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    reason      VARCHAR(20) CHARACTER SET ascii NOT NULL,
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
