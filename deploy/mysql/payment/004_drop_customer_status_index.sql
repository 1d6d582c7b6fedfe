-- payments_customer_status (customer_id, status) goes: no service statement reads
-- payments by customer, only the audit's captured sum per wallet, which reads the whole
-- table anyway. Its entries are random by nature (a saga's customer is any of them), so
-- every payment inserted dirtied a page at a random place of it; at 5,000,000 stored
-- orders that index was 0.45 GB (docs/PERFORMANCE.md, "Keys only the audit read").
-- Dropping a secondary key is a metadata change on MariaDB 10.11 and MySQL 8 alike.

ALTER TABLE payments DROP INDEX payments_customer_status;
