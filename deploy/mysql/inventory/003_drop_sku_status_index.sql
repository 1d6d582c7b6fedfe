-- reservations_sku_status (sku, status) goes: no service statement reads reservations
-- by sku, only the audit's sum per product, which reads the whole table anyway. Its
-- entries are random by nature (a saga's sku is any of the catalogue's), so every
-- reservation inserted, and every status change, dirtied a page at a random place of
-- it; at 5,000,000 stored orders that index was 0.9 GB, and those pages were most of
-- the disk reads per saga (docs/PERFORMANCE.md, "Keys only the audit read").
-- Dropping a secondary key is a metadata change on MariaDB 10.11 and MySQL 8 alike.

ALTER TABLE reservations DROP INDEX reservations_sku_status;
