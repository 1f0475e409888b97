-- Trust model (see SECURITY.md). A complainant's identity is only an address a channel proves
-- (SMS number, Telegram chat, email From, LAPOR! report); addresses typed into the web form or at
-- the counter are contacts of that one complaint and never identities.
CREATE TABLE complaint_contacts (
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    address       TEXT NOT NULL,
    PRIMARY KEY (complaint_id, address)
);

-- The contacts of existing web and counter complaints: where their receipts went, and the
-- address they were registered under.
INSERT INTO complaint_contacts (complaint_id, address)
SELECT DISTINCT c.id, o.recipient FROM complaints c
JOIN outbox o ON o.complaint_id = c.id AND o.kind = 'receipt' AND o.channel IN ('email', 'sms')
WHERE c.channel IN ('web', 'counter') AND o.recipient <> '';
INSERT INTO complaint_contacts (complaint_id, address)
SELECT id, reply_to FROM complaints
WHERE channel IN ('web', 'counter') AND reply_to <> ''
  AND NOT EXISTS (SELECT 1 FROM complaint_contacts k
                  WHERE k.complaint_id = complaints.id AND k.address = complaints.reply_to);
UPDATE complaints SET reply_to = '' WHERE channel IN ('web', 'counter');

-- Identities are only the senders of messages on channels that prove them; links made from
-- typed addresses (the hijack this migration closes) are dropped.
DELETE FROM complainant_addresses
WHERE NOT EXISTS (
    SELECT 1 FROM messages m JOIN complaints c ON c.id = m.complaint_id
    WHERE m.direction = 'in' AND m.channel IN ('email', 'sms', 'telegram', 'lapor')
      AND m.sender = complainant_addresses.address
      AND c.complainant_id = complainant_addresses.complainant_id);

-- When the source says the message was sent (an SMS centre's clock, a mail's Date); the
-- register number, `received_at` and the due date count from registration.
ALTER TABLE complaints ADD COLUMN sent_at BIGINT;
UPDATE complaints SET sent_at = received_at;

-- Delivery reports find their outbox row by either id without scanning the outbox.
CREATE INDEX outbox_by_receipt ON outbox(channel, receipt);
CREATE INDEX outbox_by_provider_msg_id ON outbox(channel, provider_msg_id);
