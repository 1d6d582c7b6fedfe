-- Kafka header values are bytes: store them as bytes, so that no header (a dead
-- letter's reason quoting a malformed message, say) can fail the outbox insert
-- on a character set check.
ALTER TABLE outbox MODIFY headers BLOB NULL COMMENT 'JSON object of header values';
