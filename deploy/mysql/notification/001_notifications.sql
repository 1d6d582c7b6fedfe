-- notification-service: one row per (order, terminal event, channel), and its delivery state.
--
-- status: PENDING (waiting for delivery, possibly after failed attempts) | SENT | FAILED.
-- One delivery thread per channel claims due PENDING rows of its channel with a lease:
-- claim_token is the claiming pass's random id, claimed_until when the claim lapses (a
-- crashed instance's rows are claimable again after that). The claim is one autocommit
-- UPDATE, so two instances never claim the same row at once, and the row is marked SENT
-- only by the pass that still holds the claim.
CREATE TABLE IF NOT EXISTS notifications (
    id               CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    order_id         CHAR(36) NOT NULL,
    customer_id      VARCHAR(64) NOT NULL,
    trigger_type     VARCHAR(20) CHARACTER SET ascii NOT NULL COMMENT 'OrderConfirmed|OrderCancelled',
    trigger_event_id VARCHAR(64) NOT NULL,
    channel          VARCHAR(10) CHARACTER SET ascii NOT NULL COMMENT 'log|webhook|email',
    status           VARCHAR(10) CHARACTER SET ascii NOT NULL DEFAULT 'PENDING'
                     COMMENT 'PENDING|SENT|FAILED',
    attempts         INT NOT NULL DEFAULT 0,
    last_error       TEXT NULL,
    next_attempt_at  DATETIME(3) NOT NULL,
    payload          TEXT NOT NULL COMMENT 'the notification JSON, rendered at creation',
    traceparent      VARCHAR(64) CHARACTER SET ascii NULL COMMENT 'of the triggering message',
    claim_token      CHAR(36) CHARACTER SET ascii NULL,
    claimed_until    DATETIME(3) NULL,
    created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    sent_at          DATETIME(3) NULL,
    UNIQUE KEY notifications_trigger (order_id, trigger_type, channel),
    KEY notifications_due (status, channel, next_attempt_at),
    KEY notifications_claim (claim_token)
) ENGINE=InnoDB;
