-- Backups taken by `aduan backup`, so /metrics can say how old the last one is.
CREATE TABLE backup_runs (
    at          BIGINT NOT NULL,
    file        TEXT NOT NULL,
    complaints  BIGINT NOT NULL
);
CREATE INDEX backup_runs_by_at ON backup_runs(at);
