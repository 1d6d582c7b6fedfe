-- A dead letter's source is its message: topic, partition, offset AND the message's
-- timestamp (rd_kafka_message_timestamp, ms since the epoch: the value its dead letter
-- carries as kafka_dlt-original-timestamp). Offsets alone do not name a message once a
-- topic's offsets start again at 0 (the local in-memory broker restarted, a Kafka topic
-- deleted and re-created): a new poison message at a position an earlier dead letter
-- came from was taken for a redelivery of that one and skipped, with no dead letter.
-- A redelivered message keeps its timestamp, so it is still dead-lettered only once.
--
-- src_timestamp -1 means "not known": the rows recorded before this migration (the
-- timestamp was not stored), rows written by an older version still running during a
-- rolling upgrade (hence the default), and messages without a timestamp. The audit
-- matches a -1 row to a saga-dlq message at its position whatever the message's
-- kafka_dlt-original-timestamp (docs/DOMAIN.md, "Dead letters").
--
-- One statement, so that the column and the key change together.
ALTER TABLE dead_letters
    ADD COLUMN src_timestamp BIGINT NOT NULL DEFAULT -1 AFTER src_offset,
    DROP INDEX dead_letters_source,
    ADD UNIQUE KEY dead_letters_source (src_topic, src_partition, src_offset, src_timestamp);
