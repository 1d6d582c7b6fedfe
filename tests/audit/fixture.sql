-- tests/audit/fixture.sql - the audit test's four databases: tables per
-- docs/DOMAIN.md (CREATE TABLE IF NOT EXISTS, so the services' real migrations,
-- applied first by run.sh when present, take precedence) and one clean scenario.
-- run.sh replaces @ORDER_DB@, @PAYMENT_DB@, @INVENTORY_DB@, @NOTIFICATION_DB@ and
-- @DLQ_TOPIC@ before loading it.
--
-- The scenario (ids: order oN = 00000000-0000-4000-8000-00000000000N):
--   o1 alice CONFIRMED   2 x A (1000) + 1 x B (250) = 2250, captured, committed
--   o2 bob   CANCELLED   OUT_OF_STOCK (5 x C, only 3 in stock): nothing reserved
--   o3 bob   CANCELLED   PAYMENT_DECLINED (10 x B = 2500): declined, released
--   o4 alice CANCELLED   CUSTOMER_REQUEST after CONFIRMED (1 x A): refunded, restocked
--   o5 alice CANCELLED   TIMEOUT, paid late (2 x B = 500): refunded, released
--   o6 bob   AWAITING_PAYMENT, deadline in an hour (1 x C = 99): held
--   notifications on channels log and webhook; one dead letter of order-service
--   (inventory-events [2] @17), whose message run.sh puts on @DLQ_TOPIC@.
-- Stock: A 10 + 5 restocked = 13 available + 2 sold; B 20 = 19 + 1 sold;
-- C 3 = 2 available + 1 reserved. Wallets: alice 10000 + 500 = 8250 + 2250
-- captured; bob 1000; carol 0 (blocked).

-- ---------------------------------------------------------------- schema

USE @ORDER_DB@;
CREATE TABLE IF NOT EXISTS orders (
    id CHAR(36) NOT NULL PRIMARY KEY, customer_id VARCHAR(64) NOT NULL,
    status VARCHAR(20) NOT NULL, cancel_reason VARCHAR(20) NULL, currency CHAR(3) NOT NULL,
    amount BIGINT NULL, payment_id CHAR(36) NULL, deadline DATETIME(3) NOT NULL,
    created_at DATETIME(3) NOT NULL, updated_at DATETIME(3) NOT NULL,
    KEY orders_customer (customer_id, id), KEY orders_status_deadline (status, deadline));
CREATE TABLE IF NOT EXISTS order_items (
    order_id CHAR(36) NOT NULL, sku VARCHAR(64) NOT NULL, quantity INT NOT NULL,
    unit_price BIGINT NULL, PRIMARY KEY (order_id, sku));

USE @PAYMENT_DB@;
CREATE TABLE IF NOT EXISTS wallets (
    customer_id VARCHAR(64) NOT NULL PRIMARY KEY, balance BIGINT NOT NULL,
    initial_balance BIGINT NOT NULL, topped_up BIGINT NOT NULL DEFAULT 0,
    blocked TINYINT NOT NULL DEFAULT 0,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3));
CREATE TABLE IF NOT EXISTS payments (
    id CHAR(36) NOT NULL PRIMARY KEY, order_id CHAR(36) NOT NULL, customer_id VARCHAR(64) NOT NULL,
    amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, status VARCHAR(10) NOT NULL,
    decline_reason VARCHAR(32) NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY payments_order (order_id));
CREATE TABLE IF NOT EXISTS cancelled_orders (
    order_id CHAR(36) NOT NULL PRIMARY KEY, customer_id VARCHAR(64) NOT NULL,
    reason VARCHAR(20) NOT NULL, created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3));

USE @INVENTORY_DB@;
CREATE TABLE IF NOT EXISTS products (
    sku VARCHAR(64) NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, price BIGINT NOT NULL,
    available INT NOT NULL, reserved INT NOT NULL DEFAULT 0, sold INT NOT NULL DEFAULT 0,
    initial_stock INT NOT NULL, restocked BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3));
CREATE TABLE IF NOT EXISTS reservations (
    order_id CHAR(36) NOT NULL, sku VARCHAR(64) NOT NULL, customer_id VARCHAR(64) NOT NULL,
    quantity INT NOT NULL, unit_price BIGINT NOT NULL, status VARCHAR(12) NOT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (order_id, sku));
CREATE TABLE IF NOT EXISTS order_outcomes (
    order_id CHAR(36) NOT NULL PRIMARY KEY, customer_id VARCHAR(64) NOT NULL,
    outcome VARCHAR(12) NOT NULL, amount BIGINT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3));

USE @NOTIFICATION_DB@;
CREATE TABLE IF NOT EXISTS notifications (
    id CHAR(36) NOT NULL PRIMARY KEY, order_id CHAR(36) NOT NULL,
    customer_id VARCHAR(64) NOT NULL, trigger_type VARCHAR(20) NOT NULL,
    trigger_event_id VARCHAR(64) NOT NULL, channel VARCHAR(10) NOT NULL,
    status VARCHAR(10) NOT NULL DEFAULT 'PENDING', attempts INT NOT NULL DEFAULT 0,
    last_error TEXT NULL, next_attempt_at DATETIME(3) NOT NULL, payload TEXT NOT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), sent_at DATETIME(3) NULL,
    UNIQUE KEY notifications_trigger (order_id, trigger_type, channel));

-- the common library's tables (deploy/mysql/common/001_outbox_inbox.sql), in each
USE @ORDER_DB@;
CREATE TABLE IF NOT EXISTS outbox (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, topic VARCHAR(249) NOT NULL,
    msg_key VARBINARY(255) NULL, payload LONGBLOB NOT NULL, headers TEXT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3));
CREATE TABLE IF NOT EXISTS dead_letters (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, src_topic VARCHAR(249) NOT NULL,
    src_partition INT NOT NULL, src_offset BIGINT NOT NULL,
    src_timestamp BIGINT NOT NULL DEFAULT -1, event_id VARCHAR(255) NULL,
    event_type VARCHAR(255) NULL, reason VARCHAR(64) NOT NULL, message TEXT NOT NULL,
    attempts INT NOT NULL, created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY dead_letters_source (src_topic, src_partition, src_offset, src_timestamp));
USE @PAYMENT_DB@;
CREATE TABLE IF NOT EXISTS outbox LIKE @ORDER_DB@.outbox;
CREATE TABLE IF NOT EXISTS dead_letters LIKE @ORDER_DB@.dead_letters;
USE @INVENTORY_DB@;
CREATE TABLE IF NOT EXISTS outbox LIKE @ORDER_DB@.outbox;
CREATE TABLE IF NOT EXISTS dead_letters LIKE @ORDER_DB@.dead_letters;
USE @NOTIFICATION_DB@;
CREATE TABLE IF NOT EXISTS outbox LIKE @ORDER_DB@.outbox;
CREATE TABLE IF NOT EXISTS dead_letters LIKE @ORDER_DB@.dead_letters;

-- ---------------------------------------------------------------- data

USE @ORDER_DB@;
INSERT INTO orders (id, customer_id, status, cancel_reason, currency, amount, payment_id,
                    deadline, created_at, updated_at) VALUES
 ('00000000-0000-4000-8000-000000000001', 'alice', 'CONFIRMED', NULL, 'EUR', 2250,
  '10000000-0000-4000-8000-000000000001', '2026-01-01 00:00:30.000', '2026-01-01 00:00:00.000',
  '2026-01-01 00:00:01.000'),
 ('00000000-0000-4000-8000-000000000002', 'bob', 'CANCELLED', 'OUT_OF_STOCK', 'EUR', NULL,
  NULL, '2026-01-01 00:00:30.000', '2026-01-01 00:00:00.000', '2026-01-01 00:00:01.000'),
 ('00000000-0000-4000-8000-000000000003', 'bob', 'CANCELLED', 'PAYMENT_DECLINED', 'EUR', 2500,
  NULL, '2026-01-01 00:00:30.000', '2026-01-01 00:00:00.000', '2026-01-01 00:00:01.000'),
 ('00000000-0000-4000-8000-000000000004', 'alice', 'CANCELLED', 'CUSTOMER_REQUEST', 'EUR', 1000,
  '10000000-0000-4000-8000-000000000004', '2026-01-01 00:00:30.000', '2026-01-01 00:00:00.000',
  '2026-01-01 00:00:09.000'),
 ('00000000-0000-4000-8000-000000000005', 'alice', 'CANCELLED', 'TIMEOUT', 'EUR', 500,
  NULL, '2026-01-01 00:00:30.000', '2026-01-01 00:00:00.000', '2026-01-01 00:00:31.000'),
 ('00000000-0000-4000-8000-000000000006', 'bob', 'AWAITING_PAYMENT', NULL, 'EUR', 99,
  NULL, UTC_TIMESTAMP(3) + INTERVAL 1 HOUR, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3));
INSERT INTO order_items (order_id, sku, quantity, unit_price) VALUES
 ('00000000-0000-4000-8000-000000000001', 'A', 2, 1000),
 ('00000000-0000-4000-8000-000000000001', 'B', 1, 250),
 ('00000000-0000-4000-8000-000000000002', 'C', 5, NULL),
 ('00000000-0000-4000-8000-000000000003', 'B', 10, 250),
 ('00000000-0000-4000-8000-000000000004', 'A', 1, 1000),
 ('00000000-0000-4000-8000-000000000005', 'B', 2, 250),
 ('00000000-0000-4000-8000-000000000006', 'C', 1, 99);
INSERT INTO dead_letters (src_topic, src_partition, src_offset, src_timestamp, event_id,
                          event_type, reason, message, attempts) VALUES
 ('inventory-events', 2, 17, 1767225600000, NULL, NULL, 'INVALID_JSON',
  'not JSON: unexpected character', 1);

USE @PAYMENT_DB@;
INSERT INTO wallets (customer_id, balance, initial_balance, topped_up, blocked) VALUES
 ('alice', 8250, 10000, 500, 0), ('bob', 1000, 1000, 0, 0), ('carol', 0, 0, 0, 1);
INSERT INTO payments (id, order_id, customer_id, amount, currency, status, decline_reason) VALUES
 ('10000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'alice', 2250,
  'EUR', 'CAPTURED', NULL),
 ('10000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000003', 'bob', 2500,
  'EUR', 'DECLINED', 'INSUFFICIENT_FUNDS'),
 ('10000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000004', 'alice', 1000,
  'EUR', 'REFUNDED', NULL),
 ('10000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000005', 'alice', 500,
  'EUR', 'REFUNDED', NULL);
INSERT INTO cancelled_orders (order_id, customer_id, reason) VALUES
 ('00000000-0000-4000-8000-000000000002', 'bob', 'OUT_OF_STOCK'),
 ('00000000-0000-4000-8000-000000000003', 'bob', 'PAYMENT_DECLINED'),
 ('00000000-0000-4000-8000-000000000004', 'alice', 'CUSTOMER_REQUEST'),
 ('00000000-0000-4000-8000-000000000005', 'alice', 'TIMEOUT');

USE @INVENTORY_DB@;
INSERT INTO products (sku, name, price, available, reserved, sold, initial_stock, restocked) VALUES
 ('A', 'Product A', 1000, 13, 0, 2, 10, 5),
 ('B', 'Product B', 250, 19, 0, 1, 20, 0),
 ('C', 'Product C', 99, 2, 1, 0, 3, 0);
INSERT INTO reservations (order_id, sku, customer_id, quantity, unit_price, status) VALUES
 ('00000000-0000-4000-8000-000000000001', 'A', 'alice', 2, 1000, 'COMMITTED'),
 ('00000000-0000-4000-8000-000000000001', 'B', 'alice', 1, 250, 'COMMITTED'),
 ('00000000-0000-4000-8000-000000000003', 'B', 'bob', 10, 250, 'RELEASED'),
 ('00000000-0000-4000-8000-000000000004', 'A', 'alice', 1, 1000, 'RESTOCKED'),
 ('00000000-0000-4000-8000-000000000005', 'B', 'alice', 2, 250, 'RELEASED'),
 ('00000000-0000-4000-8000-000000000006', 'C', 'bob', 1, 99, 'HELD');
INSERT INTO order_outcomes (order_id, customer_id, outcome, amount) VALUES
 ('00000000-0000-4000-8000-000000000001', 'alice', 'RESERVED', 2250),
 ('00000000-0000-4000-8000-000000000002', 'bob', 'SHORTAGE', NULL),
 ('00000000-0000-4000-8000-000000000003', 'bob', 'RESERVED', 2500),
 ('00000000-0000-4000-8000-000000000004', 'alice', 'RESERVED', 1000),
 ('00000000-0000-4000-8000-000000000005', 'alice', 'RESERVED', 500),
 ('00000000-0000-4000-8000-000000000006', 'bob', 'RESERVED', 99);

USE @NOTIFICATION_DB@;
INSERT INTO notifications (id, order_id, customer_id, trigger_type, trigger_event_id, channel,
                           status, attempts, next_attempt_at, payload, sent_at) VALUES
 ('20000000-0000-4000-8000-000000000011', '00000000-0000-4000-8000-000000000001', 'alice',
  'OrderConfirmed', 'e1', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000012', '00000000-0000-4000-8000-000000000001', 'alice',
  'OrderConfirmed', 'e1', 'webhook', 'SENT', 2, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000021', '00000000-0000-4000-8000-000000000002', 'bob',
  'OrderCancelled', 'e2', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000022', '00000000-0000-4000-8000-000000000002', 'bob',
  'OrderCancelled', 'e2', 'webhook', 'FAILED', 5, UTC_TIMESTAMP(3), '{}', NULL),
 ('20000000-0000-4000-8000-000000000031', '00000000-0000-4000-8000-000000000003', 'bob',
  'OrderCancelled', 'e3', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000032', '00000000-0000-4000-8000-000000000003', 'bob',
  'OrderCancelled', 'e3', 'webhook', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000041', '00000000-0000-4000-8000-000000000004', 'alice',
  'OrderConfirmed', 'e4', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000042', '00000000-0000-4000-8000-000000000004', 'alice',
  'OrderConfirmed', 'e4', 'webhook', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000043', '00000000-0000-4000-8000-000000000004', 'alice',
  'OrderCancelled', 'e5', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000044', '00000000-0000-4000-8000-000000000004', 'alice',
  'OrderCancelled', 'e5', 'webhook', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000005', 'alice',
  'OrderCancelled', 'e6', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3)),
 ('20000000-0000-4000-8000-000000000052', '00000000-0000-4000-8000-000000000005', 'alice',
  'OrderCancelled', 'e6', 'webhook', 'SENT', 1, UTC_TIMESTAMP(3), '{}', UTC_TIMESTAMP(3));
