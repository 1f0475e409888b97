-- The office's procedure (src/workflow/procedure.rs) and its clocks (src/sla.rs).
-- The step clock: when the complaint entered its current step, and when that step's service
-- standard runs out (NULL: no standard, or a final status); escalated once when it passes.
ALTER TABLE complaints ADD COLUMN step_started_at BIGINT;
ALTER TABLE complaints ADD COLUMN step_due_at BIGINT;
ALTER TABLE complaints ADD COLUMN step_escalated BIGINT NOT NULL DEFAULT 0;
-- The whole clock starts when the file is complete (registration, or the completion of a file
-- returned at its first check) and pauses while the complaint waits for the citizen.
ALTER TABLE complaints ADD COLUMN clock_started_at BIGINT;
-- The first year the whole clock's window reaches that no holiday list covers (its due date
-- counts weekends only until a list is added and `aduan sla recompute` runs).
ALTER TABLE complaints ADD COLUMN calendar_gap BIGINT;
-- Why a dismissed complaint was closed without writing to the sender (spam, duplicate, robot).
ALTER TABLE complaints ADD COLUMN close_reason TEXT;
UPDATE complaints SET step_started_at = updated_at, clock_started_at = received_at;
CREATE INDEX complaints_by_step_due ON complaints(is_open, step_due_at);

-- Waiting for the citizen: each return of an incomplete file, until its completion.
CREATE TABLE clock_pauses (
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    paused_at     BIGINT NOT NULL,
    resumed_at    BIGINT,
    from_status   TEXT NOT NULL
);
CREATE INDEX clock_pauses_by_complaint ON clock_pauses(complaint_id);

-- The chain of approval: each initial (paraf) or signature, bound to the exact draft it read.
-- A changed draft has another hash, so approvals of an earlier version no longer count.
CREATE TABLE approvals (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    draft_sha256  TEXT NOT NULL,
    stage         BIGINT NOT NULL,
    role          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    officer_id    BIGINT NOT NULL REFERENCES officers(id),
    at            BIGINT NOT NULL,
    UNIQUE (complaint_id, draft_sha256, stage)
);
