-- Officer web sessions (the id is stored as its sha256) and failed logins for throttling.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    officer_id  BIGINT NOT NULL REFERENCES officers(id),
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_by_officer ON sessions(officer_id);

CREATE TABLE login_failures (
    key  TEXT NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures(key, at);
