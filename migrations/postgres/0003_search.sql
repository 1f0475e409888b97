-- Full-text search over complaints.search_text: a stored `simple` tsvector (no stemming, so
-- Indonesian words are matched as written) with a GIN index; stored so that rechecking a row
-- costs a lookup, not a re-parse of its text.
ALTER TABLE complaints
    ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;
CREATE INDEX complaints_search ON complaints USING GIN (search_tsv);

-- The inbox lists the most recently registered first, also within a status or channel filter.
CREATE INDEX complaints_by_status_id ON complaints(status, id);
CREATE INDEX complaints_by_channel_id ON complaints(channel, id);
