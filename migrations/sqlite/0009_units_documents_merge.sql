-- Sections and teams a complaint can be disposed to (disposisi), with the instruction given.
CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    active      BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL
);
ALTER TABLE complaints ADD COLUMN unit_id BIGINT REFERENCES units(id);
ALTER TABLE complaints ADD COLUMN instruction TEXT;

-- A duplicate merged into its original: the original's register number.
ALTER TABLE complaints ADD COLUMN merged_into TEXT;

-- The office's own documents of a complaint, never sent by themselves: the field review's
-- report (BAP, required by record_field_review).
CREATE TABLE documents (
    id            INTEGER PRIMARY KEY,
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    kind          TEXT NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL REFERENCES blobs(sha256),
    officer_id    BIGINT REFERENCES officers(id),
    created_at    BIGINT NOT NULL
);
CREATE INDEX documents_by_complaint ON documents(complaint_id);
