-- Full-text search over complaints.search_text (subject, text, follow-ups): FTS5, kept in step
-- by triggers; diacritics folded so "cafe" finds "café".
CREATE VIRTUAL TABLE complaints_fts USING fts5(
    search_text,
    content = 'complaints',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO complaints_fts(complaints_fts) VALUES ('rebuild');
CREATE TRIGGER complaints_fts_ai AFTER INSERT ON complaints BEGIN
    INSERT INTO complaints_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER complaints_fts_ad AFTER DELETE ON complaints BEGIN
    INSERT INTO complaints_fts(complaints_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER complaints_fts_au AFTER UPDATE OF search_text ON complaints BEGIN
    INSERT INTO complaints_fts(complaints_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO complaints_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;

-- The inbox lists the most recently registered first, also within a status or channel filter.
CREATE INDEX complaints_by_status_id ON complaints(status, id);
CREATE INDEX complaints_by_channel_id ON complaints(channel, id);
