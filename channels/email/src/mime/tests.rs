use super::*;

const OWN: &str = "pengaduan@dinas.go.id";

fn p(raw: &str) -> Parsed {
    parse(raw.replace('\n', "\r\n").as_bytes(), OWN, None)
}

#[test]
fn plain_message() {
    let r = p(
        "From: Budi Santoso <Budi@Example.com>\nTo: pengaduan@dinas.go.id\n\
               Subject: Izin usaha belum terbit\nMessage-ID: <abc@example.com>\n\
               Date: Mon, 16 Nov 2026 09:00:00 +0700\n\nSudah tiga minggu.\n",
    );
    let m = r.msg;
    assert_eq!(m.sender, Address::Email("budi@example.com".into()));
    assert_eq!(m.display_name.as_deref(), Some("Budi Santoso"));
    assert_eq!(m.subject.as_deref(), Some("Izin usaha belum terbit"));
    assert_eq!(m.text, "Sudah tiga minggu.");
    assert_eq!(m.hints.message_id.as_deref(), Some("<abc@example.com>"));
    assert!(m.external_id.starts_with("<abc@example.com>#"));
    assert!(!m.auto_generated);
    assert!(m.parse_error.is_none());
    let want = DateTime::parse_from_rfc2822("Mon, 16 Nov 2026 09:00:00 +0700").unwrap();
    assert_eq!(m.received_at, want.with_timezone(&Utc));
}

#[test]
fn html_only_quoted_printable_latin1() {
    let r = p("From: a@example.com\nSubject: =?iso-8859-1?Q?Pengaduan_caf=E9?=\n\
               MIME-Version: 1.0\nContent-Type: text/html; charset=iso-8859-1\n\
               Content-Transfer-Encoding: quoted-printable\n\n\
               <html><body><p>Jalan rusak di depan caf=E9.</p><p>Mohon <b>segera</b></p></body></html>\n");
    assert_eq!(r.msg.subject.as_deref(), Some("Pengaduan café"));
    assert!(
        r.msg.text.contains("Jalan rusak di depan café."),
        "{}",
        r.msg.text
    );
    assert!(r.msg.text.contains("segera"));
    assert!(!r.msg.text.contains("<p>"));
}

#[test]
fn alternative_prefers_plain_and_keeps_attachments() {
    let r = p("From: a@example.com\nSubject: x\nMIME-Version: 1.0\n\
        Content-Type: multipart/mixed; boundary=\"m\"\n\n--m\n\
        Content-Type: multipart/alternative; boundary=\"a\"\n\n--a\n\
        Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n\
        VGVyaW1hIGthc2loLCBwZWxheWFuYW4gbGFtYmF0Lg==\n--a\n\
        Content-Type: text/html\n\n<p>HTML version</p>\n--a--\n--m\n\
        Content-Type: application/pdf; name=\"=?utf-8?B?c3VyYXQucGRm?=\"\n\
        Content-Disposition: attachment\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQ=\n--m--\n");
    assert_eq!(r.msg.text, "Terima kasih, pelayanan lambat.");
    assert_eq!(r.msg.attachments.len(), 1);
    let a = &r.msg.attachments[0];
    assert_eq!(a.filename, "surat.pdf");
    assert_eq!(a.content_type, "application/pdf");
    assert_eq!(a.data, b"%PDF-1.4");
}

/// Trust finding 15: a multipart message with no parts is no junk attachment; it is
/// flagged, and a body without boundaries is kept as text.
#[test]
fn empty_multipart_is_flagged_not_an_attachment() {
    let head = "From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary=\"b\"\n\n";
    let r = p(head);
    assert!(r.msg.attachments.is_empty());
    assert_eq!(
        r.msg.parse_error.as_deref(),
        Some("the message has no text")
    );
    let r = p(&format!("{head}Jalan rusak, tanpa batas bagian\n"));
    assert!(r.msg.attachments.is_empty());
    assert_eq!(r.msg.text, "Jalan rusak, tanpa batas bagian");
    assert!(r.msg.parse_error.unwrap().contains("without parts"));
}

#[test]
fn identity_is_from_and_reply_to_only_a_contact() {
    let r = p(
        "From: Budi <budi@example.id>\nReply-To: other@attacker.example\n\
        Subject: x\n\nisi\n",
    );
    assert_eq!(r.msg.sender, Address::Email("budi@example.id".into()));
    assert_eq!(
        r.msg.contacts,
        vec![Address::Email("other@attacker.example".into())]
    );
    let r = p("Reply-To: other@attacker.example\nSubject: x\n\nisi\n");
    assert_eq!(
        r.msg.sender,
        Address::None,
        "Reply-To never stands in for From"
    );
}

#[test]
fn reply_threads_and_drops_quoted_history() {
    let r = p("From: a@example.com\nSubject: Re: [ADU-2026-000042] Tanda terima\n\
        In-Reply-To: <r2@aduan>\nReferences: <m1@example.com> <r2@aduan>\n\n\
        Ini tambahan datanya.\n\nOn Mon, 16 Nov 2026 at 09:00, Layanan <pengaduan@dinas.go.id> wrote:\n\
        > Pengaduan Anda telah kami terima.\n");
    assert_eq!(
        r.msg.hints.references,
        vec!["<m1@example.com>", "<r2@aduan>"]
    );
    assert_eq!(r.msg.text, "Ini tambahan datanya.");
}

#[test]
fn quote_stripping_variants() {
    assert_eq!(
        strip_quoted(
            "Baik.\n\nPada Sen, 16 Nov 2026 pukul 09.00 Layanan <x@y.id>\nmenulis:\n> lama"
        ),
        "Baik."
    );
    assert_eq!(
        strip_quoted("Oke\n-----Original Message-----\nFrom: x\nSent: y\n\nold"),
        "Oke"
    );
    assert_eq!(
        strip_quoted("Siap\nDari: Layanan\nDikirim: Senin\nold"),
        "Siap"
    );
    assert_eq!(
        strip_quoted("> q1\njawab 1\n> q2\njawab 2\n\n> sig"),
        "> q1\njawab 1\n> q2\njawab 2"
    );
    assert_eq!(strip_quoted("> hanya kutipan"), "> hanya kutipan");
}

#[test]
fn robots_are_recognized() {
    for h in [
        "Auto-Submitted: auto-replied",
        "Precedence: bulk",
        "List-Id: <warga.lists.example>",
        "X-Autoreply: yes",
        "X-Auto-Response-Suppress: All",
        "Return-Path: <>",
    ] {
        let r = p(&format!(
            "From: a@example.com\n{h}\nSubject: Out of office\n\nSaya cuti.\n"
        ));
        assert!(r.msg.auto_generated, "{h}");
    }
    let r = p("From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered\n\nx\n");
    assert!(r.msg.auto_generated);
    let r = p("From: pengaduan@dinas.go.id\nSubject: loop\n\nx\n");
    assert!(r.msg.auto_generated);
    let r = p("From: a@example.com\nAuto-Submitted: no\nSubject: human\n\nx\n");
    assert!(!r.msg.auto_generated);
}

#[test]
fn dsn_names_our_message() {
    let r = p("From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\n\
        Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n\
        MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
        --b\nContent-Type: text/plain\n\nI'm sorry to have to inform you...\n--b\n\
        Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n\
        Final-Recipient: rfc822; nobody@example.com\nAction: failed\nStatus: 5.1.1\n\
        Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--b\n\
        Content-Type: text/rfc822-headers\n\nFrom: pengaduan@dinas.go.id\n\
        Message-ID: <1.abc.adu-2026-000001@aduan.localhost>\nSubject: [ADU-2026-000001] x\n\n--b--\n");
    let (id, why) = r.bounce_of.expect("bounce");
    assert_eq!(id, "<1.abc.adu-2026-000001@aduan.localhost>");
    assert!(why.contains("5.1.1"), "{why}");
    assert!(r.msg.auto_generated);
}

#[test]
fn delayed_dsn_is_not_a_failure() {
    let r = p("From: MAILER-DAEMON@mx.example.com\nSubject: Delayed\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
        --b\nContent-Type: message/delivery-status\n\nAction: delayed\nStatus: 4.4.1\n\n--b\n\
        Content-Type: text/rfc822-headers\n\nMessage-ID: <x@aduan>\n\n--b--\n");
    assert!(r.bounce_of.is_none());
    assert!(r.msg.auto_generated);
}

#[test]
fn garbage_is_kept_raw_and_flagged() {
    let raw = [0xffu8, 0xfe, 0, 1, 2, b'\n', b'\n', 0x80];
    let r = parse(&raw, OWN, None);
    assert!(r.msg.parse_error.is_some());
    assert_eq!(r.msg.raw.as_deref(), Some(&raw[..]));
    let r = p("Subject: tanpa pengirim\n\nisi\n");
    assert!(r.msg.parse_error.as_deref().unwrap().contains("From"));
    assert_eq!(r.msg.sender, Address::None);
}

#[test]
fn inline_image_is_kept_as_an_attachment() {
    let r = p(
        "From: a@example.com\nSubject: Foto\nContent-Type: multipart/related; boundary=r\n\n\
        --r\nContent-Type: text/html\n\n<p>Lihat foto <img src=\"cid:foto1\"></p>\n--r\n\
        Content-Type: image/png\nContent-ID: <foto1>\nContent-Disposition: inline\n\
        Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--r--\n",
    );
    assert!(r.msg.text.contains("Lihat foto"), "{}", r.msg.text);
    assert_eq!(r.msg.attachments.len(), 1);
    assert_eq!(r.msg.attachments[0].content_type, "image/png");
    assert_eq!(r.msg.attachments[0].filename, "lampiran-1.png");
    assert_eq!(r.msg.attachments[0].data, b"\x89PNG\r\n\x1a\n");
}

#[test]
fn attached_message_is_an_eml_attachment() {
    let r = p(
        "From: a@example.com\nSubject: Fwd\nContent-Type: multipart/mixed; boundary=z\n\n\
        --z\nContent-Type: text/plain\n\nlihat lampiran\n--z\nContent-Type: message/rfc822\n\n\
        From: b@example.com\nSubject: Surat lama\n\nisi lama\n--z--\n",
    );
    assert_eq!(r.msg.text, "lihat lampiran");
    assert_eq!(r.msg.attachments.len(), 1);
    assert_eq!(r.msg.attachments[0].content_type, "message/rfc822");
    assert_eq!(r.msg.attachments[0].filename, "Surat lama.eml");
}

/// Real-shaped messages with bytes replaced, inserted and cut at random, and random bytes:
/// intake never panics and always yields a message it can register (run longer in CI).
const SEEDS: [&str; 4] = [
    "From: Budi <budi@example.id>\r\nTo: p@x\r\nSubject: =?utf-8?Q?Jalan_rusak?=\r\nMessage-ID: <a@b>\r\nIn-Reply-To: <r@aduan>\r\n\r\nIsi.\r\n\r\nPada Sen, 1 Des 2026 Layanan menulis:\r\n> lama\r\n",
    "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"z\"\r\n\r\n--z\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=E9</p>\r\n--z\r\nContent-Type: application/pdf; name=\"=?utf-8?B?c3VyYXQucGRm?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--z--\r\n",
    "From: MAILER-DAEMON@x\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n--r\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <1.x.adu-2026-000001@aduan>\r\n\r\nx\r\n--r--\r\n",
    "From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nSubject: dalam\r\n\r\nisi\r\n",
];

proptest::proptest! {
    #[test]
    fn fuzz_mime_intake(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((0usize..400, proptest::num::u8::ANY, 0u8..3), 0..12),
        cut in proptest::option::of(0usize..400),
    ) {
        let mut raw = SEEDS[seed].as_bytes().to_vec();
        for (pos, byte, op) in edits {
            let i = pos % (raw.len() + 1);
            match op {
                0 if i < raw.len() => raw[i] = byte,
                1 => raw.insert(i, byte),
                _ if i < raw.len() => { raw.remove(i); }
                _ => {}
            }
        }
        if let Some(c) = cut {
            raw.truncate(c.min(raw.len()));
        }
        let r = parse(&raw, OWN, None);
        proptest::prop_assert!(!r.msg.external_id.is_empty());
        proptest::prop_assert!(r.msg.raw.is_some());
    }

    #[test]
    fn fuzz_mime_random_bytes(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        let r = parse(&raw, OWN, None);
        proptest::prop_assert!(!r.msg.external_id.is_empty());
    }
}

#[test]
fn never_panics_on_prefixes_of_a_message() {
    let raw = "From: a@example.com\r\nSubject: =?utf-8?B?SXp?=\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nabc=9\r\n--z--\r\n";
    for n in 0..raw.len() {
        let _ = parse(&raw.as_bytes()[..n], OWN, None);
    }
}
