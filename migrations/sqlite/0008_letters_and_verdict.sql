-- The answer reaches the complainant (src/outbox.rs, src/workflow/mod.rs): answered_at is the
-- provider's acceptance of the first answer, or the hand-over at the counter, recorded with the
-- name of who received it.
ALTER TABLE complaints ADD COLUMN handed_over_to TEXT;
ALTER TABLE complaints ADD COLUMN handed_over_at BIGINT;

-- The citizen's verdict on the handling (SKM scale 1-4), asked once after closure and kept
-- once: the first answer stands.
ALTER TABLE complaints ADD COLUMN rating BIGINT;
ALTER TABLE complaints ADD COLUMN rated_at BIGINT;
ALTER TABLE complaints ADD COLUMN rating_channel TEXT;
ALTER TABLE complaints ADD COLUMN rating_asked_at BIGINT;
CREATE INDEX complaints_by_rated_at ON complaints(rated_at);

-- Outgoing letters (the answer, the field review's invitation): numbered in one gap-free
-- sequence per year (register_seq, prefix 'letter'), rendered as a PDF kept in blobs.
CREATE TABLE letters (
    id            INTEGER PRIMARY KEY,
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    kind          TEXT NOT NULL,
    year          BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    number        TEXT NOT NULL,
    sha256        TEXT NOT NULL REFERENCES blobs(sha256),
    signer        TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX letters_by_complaint ON letters(complaint_id);
