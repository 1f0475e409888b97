-- Confidential complaints (issue 21): the complainant's name is indexed apart from the rest of
-- the complaint's text, so that roles that may not see who complained cannot find a complaint
-- by its complainant's name. `search_text` of a confidential complaint holds its text with the
-- name and addresses redacted; `identity_text` the folded name (empty for other complaints,
-- whose name stays in `search_text`). The register rewrites existing confidential complaints'
-- two columns when it opens (`register::identity::reindex`).
ALTER TABLE complaints ADD COLUMN identity_text TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN identity_indexed BIGINT NOT NULL DEFAULT 0;

DROP TRIGGER complaints_fts_ai;
DROP TRIGGER complaints_fts_ad;
DROP TRIGGER complaints_fts_au;
DROP TABLE complaints_fts;
CREATE VIRTUAL TABLE complaints_fts USING fts5(
    search_text,
    identity_text,
    content = 'complaints',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO complaints_fts(complaints_fts) VALUES ('rebuild');
CREATE TRIGGER complaints_fts_ai AFTER INSERT ON complaints BEGIN
    INSERT INTO complaints_fts(rowid, search_text, identity_text)
        VALUES (new.id, new.search_text, new.identity_text);
END;
CREATE TRIGGER complaints_fts_ad AFTER DELETE ON complaints BEGIN
    INSERT INTO complaints_fts(complaints_fts, rowid, search_text, identity_text)
        VALUES ('delete', old.id, old.search_text, old.identity_text);
END;
CREATE TRIGGER complaints_fts_au AFTER UPDATE OF search_text, identity_text ON complaints BEGIN
    INSERT INTO complaints_fts(complaints_fts, rowid, search_text, identity_text)
        VALUES ('delete', old.id, old.search_text, old.identity_text);
    INSERT INTO complaints_fts(rowid, search_text, identity_text)
        VALUES (new.id, new.search_text, new.identity_text);
END;
CREATE INDEX complaints_confidential ON complaints(id) WHERE confidential = 1 AND identity_indexed = 0;

-- The register's own secrets (issue 21): the key that signs the login form's token, shared by
-- every daemon on the register so a form served by one is accepted by another.
CREATE TABLE register_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Approvals belong to one version of the draft (issue 21): every new draft or correction is a
-- new version, and an approval of an earlier version never counts again, even when an edit
-- brings back an earlier text (same hash). Approvals given before keep version 0, the version
-- every complaint starts at. The table is rebuilt to drop its (complaint, hash, stage) key.
ALTER TABLE complaints ADD COLUMN draft_version BIGINT NOT NULL DEFAULT 0;
CREATE TABLE approvals_by_version (
    id            INTEGER PRIMARY KEY,
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    draft_version BIGINT NOT NULL DEFAULT 0,
    draft_sha256  TEXT NOT NULL,
    stage         BIGINT NOT NULL,
    role          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    officer_id    BIGINT NOT NULL REFERENCES officers(id),
    at            BIGINT NOT NULL,
    UNIQUE (complaint_id, draft_version, draft_sha256, stage)
);
INSERT INTO approvals_by_version
    (id, complaint_id, draft_version, draft_sha256, stage, role, kind, officer_id, at)
    SELECT id, complaint_id, 0, draft_sha256, stage, role, kind, officer_id, at FROM approvals;
DROP TABLE approvals;
ALTER TABLE approvals_by_version RENAME TO approvals;

-- Officers' notification addresses are confirmed with a code before use (issue 21): a new
-- address waits here, with the code's sha256, its expiry and the wrong tries, until the
-- officer types the code the address received.
ALTER TABLE officers ADD COLUMN notify_pending_email TEXT;
ALTER TABLE officers ADD COLUMN notify_pending_telegram TEXT;
ALTER TABLE officers ADD COLUMN notify_code_sha256 TEXT;
ALTER TABLE officers ADD COLUMN notify_code_expires BIGINT;
ALTER TABLE officers ADD COLUMN notify_code_tries BIGINT NOT NULL DEFAULT 0;

-- Every provider id a reply's send took beyond its receipt (a long SMS's other parts, the
-- letter sent as a document after the text, issue 22): a delivery report naming one of them
-- is about that reply.
CREATE TABLE outbox_receipts (
    outbox_id    BIGINT NOT NULL REFERENCES outbox(id),
    channel      TEXT NOT NULL,
    provider_id  TEXT NOT NULL,
    PRIMARY KEY (outbox_id, provider_id)
);
CREATE INDEX outbox_receipts_by_provider_id ON outbox_receipts(channel, provider_id);

-- A reply parked as failed because its channel kept failing for a while (not refused for
-- good): sent again by itself when that channel comes back (issue 22).
ALTER TABLE outbox ADD COLUMN parked BIGINT NOT NULL DEFAULT 0;
-- When a reply was last put back in the queue (an officer's retry, its channel back): its
-- time cap counts from then (NULL: from `created_at`).
ALTER TABLE outbox ADD COLUMN retrying_since BIGINT;
