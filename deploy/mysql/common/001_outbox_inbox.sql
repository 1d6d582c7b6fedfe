-- The tables of the common event library, in every service's database.

-- Events waiting to be published, in id order (see common/include/saga/outbox.h).
CREATE TABLE IF NOT EXISTS outbox (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    topic      VARCHAR(249) NOT NULL,
    msg_key    VARBINARY(255) NULL,
    payload    LONGBLOB NOT NULL,
    headers    TEXT NULL COMMENT 'JSON object of string header values',
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;

-- Ids of consumed events: a redelivered event is skipped.
CREATE TABLE IF NOT EXISTS inbox (
    event_id    VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    event_type  VARCHAR(64) NULL,
    received_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY inbox_received_at (received_at)
) ENGINE=InnoDB;

-- Every message this service sent to saga-dlq, once per source offset: the
-- accounting behind invariant 7, and what makes a redelivered poison message
-- dead-lettered only once.
CREATE TABLE IF NOT EXISTS dead_letters (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    src_topic     VARCHAR(249) NOT NULL,
    src_partition INT NOT NULL,
    src_offset    BIGINT NOT NULL,
    event_id      VARCHAR(255) NULL,
    event_type    VARCHAR(255) NULL,
    reason        VARCHAR(64) NOT NULL,
    message       TEXT NOT NULL,
    attempts      INT NOT NULL,
    created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY dead_letters_source (src_topic, src_partition, src_offset)
) ENGINE=InnoDB;
