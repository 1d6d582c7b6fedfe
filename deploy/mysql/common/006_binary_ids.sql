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
--
-- The inbox keeps the ids of consumed events; a dead letter's event_id stays text,
-- since a poison message's id may be anything.

UPDATE inbox SET event_id = UNHEX(REPLACE(event_id, '-', '')) WHERE LENGTH(event_id) = 36;
ALTER TABLE inbox MODIFY event_id BINARY(16) NOT NULL;
