-- Identifiers compare byte for byte, on MariaDB 10.11 and MySQL 8 alike.
--
-- The binary collations of character columns (utf8mb4_bin, ascii_bin) are PAD SPACE:
-- "bob" = "bob " is true there, so a token naming "bob " reached bob's rows, and
-- ascii_general_ci also folds case. The NO PAD binary collations differ between the
-- two servers (utf8mb4_nopad_bin on MariaDB only, utf8mb4_0900_bin on MySQL only).
-- Binary strings (VARBINARY) compare by their bytes on both, trailing spaces
-- included, and sort as ascii_bin did. The services accept only canonical ids
-- (docs/DOMAIN.md, "Identifiers"); this makes the database agree with them.
-- customer_id is 256 bytes wide so that rows from before the ASCII-only rule fit.

ALTER TABLE notifications
    MODIFY id               VARBINARY(36) NOT NULL,
    MODIFY order_id         VARBINARY(36) NOT NULL,
    MODIFY customer_id      VARBINARY(256) NOT NULL,
    MODIFY trigger_event_id VARBINARY(64) NOT NULL;
ALTER TABLE known_orders
    MODIFY order_id    VARBINARY(36) NOT NULL,
    MODIFY customer_id VARBINARY(256) NOT NULL;
