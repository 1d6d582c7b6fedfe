-- The type of the event an outbox row carries (NULL for a dead letter), kept beside
-- the payload for the relay's per-type counters: events carry no ce_type header
-- any more (structured-mode CloudEvents: the type is in the payload).
ALTER TABLE outbox ADD COLUMN event_type VARCHAR(64) NULL AFTER headers;
