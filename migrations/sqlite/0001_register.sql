-- The register (SQLite). Times are Unix milliseconds (UTC); dates are ISO `YYYY-MM-DD` in office time.
CREATE TABLE complainants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

-- Every address a complainant is known by (email:…, phone:+62…, telegram:…, lapor:…).
CREATE TABLE complainant_addresses (
    address         TEXT PRIMARY KEY,
    complainant_id  BIGINT NOT NULL REFERENCES complainants(id)
);
CREATE INDEX complainant_addresses_by_complainant ON complainant_addresses(complainant_id);

CREATE TABLE officers (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    token_hash     TEXT UNIQUE,
    password_hash  TEXT,
    active         BIGINT NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL
);

CREATE TABLE register_seq (
    prefix  TEXT NOT NULL,
    year    BIGINT NOT NULL,
    last    BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);

CREATE TABLE complaints (
    id              INTEGER PRIMARY KEY,
    register_no     TEXT NOT NULL UNIQUE,
    tracking_code   TEXT NOT NULL,
    complainant_id  BIGINT NOT NULL REFERENCES complainants(id),
    channel         TEXT NOT NULL,
    medium          TEXT,
    reply_to        TEXT NOT NULL DEFAULT '',
    conversation    TEXT,
    subject         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    is_open         BIGINT NOT NULL DEFAULT 1,
    assignee_id     BIGINT REFERENCES officers(id),
    lang            TEXT NOT NULL,
    auto_generated  BIGINT NOT NULL DEFAULT 0,
    flagged         TEXT,
    draft_answer    TEXT,
    received_at     BIGINT NOT NULL,
    due_date        TEXT NOT NULL,
    due_at          BIGINT NOT NULL,
    answered_at     BIGINT,
    closed_at       BIGINT,
    updated_at      BIGINT NOT NULL,
    search_text     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX complaints_by_status ON complaints(status, received_at);
CREATE INDEX complaints_by_received ON complaints(received_at);
CREATE INDEX complaints_by_due ON complaints(is_open, due_at);
CREATE INDEX complaints_by_conversation ON complaints(channel, conversation) WHERE is_open = 1;
CREATE INDEX complaints_by_complainant ON complaints(complainant_id);

-- The thread: every inbound and outbound message of a complaint.
CREATE TABLE messages (
    id                   INTEGER PRIMARY KEY,
    complaint_id         BIGINT NOT NULL REFERENCES complaints(id),
    direction            TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    channel              TEXT NOT NULL,
    external_id          TEXT,
    sender               TEXT NOT NULL DEFAULT '',
    subject              TEXT NOT NULL DEFAULT '',
    body                 TEXT NOT NULL,
    raw_sha256           TEXT,
    provider_message_id  TEXT,
    auto_generated       BIGINT NOT NULL DEFAULT 0,
    parse_error          TEXT,
    public               BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL
);
-- Invariant 2: one source message is registered once.
CREATE UNIQUE INDEX messages_dedup ON messages(channel, external_id);
CREATE INDEX messages_by_complaint ON messages(complaint_id, id);
-- Threading: provider message ids (email Message-IDs in and out) lead to their complaint.
CREATE INDEX messages_by_provider_id ON messages(channel, provider_message_id);

-- Content-addressed file store: attachments and raw source messages.
CREATE TABLE blobs (
    sha256  TEXT PRIMARY KEY,
    size    BIGINT NOT NULL,
    data    BLOB NOT NULL
);

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    message_id    BIGINT NOT NULL REFERENCES messages(id),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL REFERENCES blobs(sha256)
);
CREATE INDEX attachments_by_message ON attachments(message_id);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    complaint_id     BIGINT NOT NULL REFERENCES complaints(id),
    message_id       BIGINT NOT NULL REFERENCES messages(id),
    channel          TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    provider_msg_id  TEXT NOT NULL,
    refs             TEXT NOT NULL DEFAULT '[]',
    automatic        BIGINT NOT NULL DEFAULT 0,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    last_error       TEXT,
    receipt          TEXT,
    delivery         TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_by_recipient ON outbox(recipient, kind, created_at);
CREATE INDEX outbox_by_complaint ON outbox(complaint_id);

CREATE TABLE audit (
    id            INTEGER PRIMARY KEY,
    complaint_id  BIGINT REFERENCES complaints(id),
    officer_id    BIGINT REFERENCES officers(id),
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    from_status   TEXT,
    to_status     TEXT,
    note          TEXT NOT NULL DEFAULT '',
    at            BIGINT NOT NULL
);
CREATE INDEX audit_by_complaint ON audit(complaint_id, id);

CREATE TABLE channel_cursors (
    channel     TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (channel, key)
);
