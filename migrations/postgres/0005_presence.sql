-- Which channels the daemons on this register run: each daemon refreshes its channels' rows
-- every `outbox.heartbeat_secs`. A channel with a row is *known* (replies to its addresses are
-- queued even through a daemon that does not run it); one refreshed within three heartbeats is
-- *live*. Rows of a known channel that no live daemon runs wait visibly (readiness details,
-- dashboard, the complaint page).
CREATE TABLE channel_presence (
    channel   TEXT NOT NULL PRIMARY KEY,
    daemon    TEXT NOT NULL,
    seen_at   BIGINT NOT NULL
);
