-- The officers' workspace (issue 11).

-- A unit's members: the officers who see the unit's complaints in their queue.
CREATE TABLE unit_members (
    unit_id     BIGINT NOT NULL REFERENCES units(id),
    officer_id  BIGINT NOT NULL REFERENCES officers(id),
    PRIMARY KEY (unit_id, officer_id)
);
CREATE INDEX unit_members_by_officer ON unit_members(officer_id);
CREATE INDEX complaints_by_unit ON complaints(unit_id, is_open);

-- Internal notes: the office's words about a complaint, never sent and never published (kept
-- apart from messages, which are the conversation with the complainant).
CREATE TABLE notes (
    id            INTEGER PRIMARY KEY,
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    officer_id    BIGINT NOT NULL REFERENCES officers(id),
    body          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX notes_by_complaint ON notes(complaint_id, id);

-- Canned replies (template balasan), managed by the admin; placeholders filled when picked.
CREATE TABLE canned_replies (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    active      BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- When each officer last opened each complaint: unread is "changed since".
CREATE TABLE complaint_reads (
    officer_id    BIGINT NOT NULL REFERENCES officers(id),
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (officer_id, complaint_id)
);

-- Confidential complaints (rahasia, as LAPOR! offers): the complainant's identity is shown
-- only to the front office, the heads and the admin.
ALTER TABLE complaints ADD COLUMN confidential BIGINT NOT NULL DEFAULT 0;

-- Officers' own notifications (opt-in): where to send them, and since when (nothing older
-- is announced). Sent through the outbox like every message; each notice once.
ALTER TABLE officers ADD COLUMN notify_email TEXT;
ALTER TABLE officers ADD COLUMN notify_telegram TEXT;
ALTER TABLE officers ADD COLUMN notify_since BIGINT;
CREATE TABLE officer_notices (
    officer_id    BIGINT NOT NULL REFERENCES officers(id),
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    kind          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (officer_id, complaint_id, kind)
);
CREATE INDEX officer_notices_by_kind ON officer_notices(officer_id, kind);
