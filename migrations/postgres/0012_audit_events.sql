-- The audit trail as events (issue 24): each entry's facts as JSON fields beside its name.
-- Entries written before hold an English note instead; the register turns those into events
-- when it opens (`aduan_register::audit::upgrade_legacy`), and `fields` stays NULL until then.
ALTER TABLE audit ADD COLUMN fields TEXT;
