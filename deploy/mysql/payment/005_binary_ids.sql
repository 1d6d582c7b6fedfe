-- Ids stored as their 16 bytes (BINARY(16)) instead of their 36 characters of text.
--
-- Every id the services make is a UUID (docs/DOMAIN.md, "Identifiers"); stored as
-- bytes, every entry of every index keyed by one is 20 bytes shorter, so the
-- indexes are smaller and shallower as the tables grow. The services bind and read
-- them as text (saga_param_uuid, saga_row_uuid), so the API and the events keep the
-- text form. Rows written before are converted in place: each column still holding
-- text (36 bytes) gets its bytes, so a rerun after a failure part way converts
-- nothing twice; then the columns take their new type (a value that was not a UUID
-- would be NULL there, and the statement fails rather than keep it).

UPDATE payments SET
    id       = IF(LENGTH(id) = 36, UNHEX(REPLACE(id, '-', '')), id),
    order_id = IF(LENGTH(order_id) = 36, UNHEX(REPLACE(order_id, '-', '')), order_id);
ALTER TABLE payments
    MODIFY id       BINARY(16) NOT NULL,
    MODIFY order_id BINARY(16) NOT NULL;

UPDATE cancelled_orders SET order_id = UNHEX(REPLACE(order_id, '-', ''))
    WHERE LENGTH(order_id) = 36;
ALTER TABLE cancelled_orders MODIFY order_id BINARY(16) NOT NULL;

UPDATE known_orders SET order_id = UNHEX(REPLACE(order_id, '-', '')) WHERE LENGTH(order_id) = 36;
ALTER TABLE known_orders MODIFY order_id BINARY(16) NOT NULL;

UPDATE pending_reservations SET
    order_id = IF(LENGTH(order_id) = 36, UNHEX(REPLACE(order_id, '-', '')), order_id),
    event_id = IF(LENGTH(event_id) = 36, UNHEX(REPLACE(event_id, '-', '')), event_id);
ALTER TABLE pending_reservations
    MODIFY order_id BINARY(16) NOT NULL,
    MODIFY event_id BINARY(16) NOT NULL COMMENT 'the parked InventoryReserved';
