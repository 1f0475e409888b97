use super::*;

/// No word of the table is the code it translates (in Indonesian), and no two statuses or
/// actions read the same.
#[test]
fn words_are_not_codes_and_are_distinct() {
    let statuses: Vec<&str> = Status::iter().map(|s| status(s, Lang::Id)).collect();
    for s in Status::iter() {
        assert_ne!(status(s, Lang::Id), s.as_str());
    }
    let mut sorted = statuses.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), statuses.len());
    for a in Action::iter() {
        assert!(!action(a, Lang::Id).contains('_'));
        assert_eq!(audit(a.as_str(), Lang::Id), action(a, Lang::Id));
    }
    for r in Role::ALL {
        assert!(!role(r, Lang::Id).contains('_'));
    }
    assert_eq!(status_name("answer_drafted", Lang::Id), "konsep jawaban");
    assert_eq!(status_name("gone", Lang::Id), "(tidak dikenal)");
    assert_eq!(audit("something_new", Lang::Id), "Catatan sistem");
}

/// Deadlines in working days: the weekend and the holidays do not count.
#[test]
fn time_left_counts_working_days() {
    let mut cal = crate::sla::Calendar::default();
    cal.add_list(include_str!("../../../config/holidays-id-2026.toml"))
        .unwrap();
    let wib = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_local_timezone(chrono::FixedOffset::east_opt(7 * 3600).unwrap())
            .unwrap()
            .timestamp_millis()
    };
    // Friday 20 Nov 2026 to Wednesday 25 Nov: Mon, Tue, Wed.
    let (t, late) = time_left(
        &cal,
        wib("2026-11-25 15:00"),
        wib("2026-11-20 09:00"),
        Lang::Id,
    );
    assert_eq!((t.as_str(), late), ("sisa 3 hari kerja", false));
    let (t, _) = time_left(
        &cal,
        wib("2026-11-20 15:00"),
        wib("2026-11-20 09:00"),
        Lang::Id,
    );
    assert_eq!(t, "batas hari ini");
    // Due Friday, now the next Tuesday: Monday and Tuesday late.
    let (t, late) = time_left(
        &cal,
        wib("2026-11-20 15:00"),
        wib("2026-11-24 09:00"),
        Lang::Id,
    );
    assert_eq!((t.as_str(), late), ("terlambat 2 hari kerja", true));
    let (t, _) = time_left(
        &cal,
        wib("2026-11-20 15:00"),
        wib("2026-11-24 09:00"),
        Lang::En,
    );
    assert_eq!(t, "2 working days late");
    // Christmas (25 Dec 2026, a Friday) is not a working day.
    let (t, _) = time_left(
        &cal,
        wib("2026-12-28 15:00"),
        wib("2026-12-24 09:00"),
        Lang::Id,
    );
    assert_eq!(t, "sisa 1 hari kerja");
}

#[test]
fn sizes_read_like_people_write_them() {
    assert_eq!(size(820, Lang::Id), "820 B");
    assert_eq!(size(14 * 1024 + 300, Lang::Id), "14 KB");
    assert_eq!(size(2_400_000, Lang::Id), "2,3 MB");
    assert_eq!(size(2_400_000, Lang::En), "2.3 MB");
}

/// The register's own audit notes read in Indonesian; an officer's note as written.
#[test]
fn audit_notes_in_words() {
    let id = |a: &str, n: &str| audit_note(a, n, Lang::Id);
    assert_eq!(
        id("register", "via counter (telephone)"),
        "lewat Loket (Telepon)"
    );
    assert_eq!(
        id(
            "message_received",
            "message via email; flagged: mentions ADU-2026-000001"
        ),
        "lewat Surel; ditandai untuk diperiksa petugas"
    );
    assert_eq!(id("reply", "2 outbox row(s)"), "2 pesan keluar");
    assert_eq!(
        id(
            "letter",
            "answer letter 7/PGD/XI/2026 signed by Kepala Dinas"
        ),
        "surat jawaban 7/PGD/XI/2026 ditandatangani Kepala Dinas"
    );
    assert_eq!(
        id("approve", "initial 1/2 of draft sha256:0123456789abcdef"),
        "paraf 1/2 atas konsep sha256:0123456789abcdef"
    );
    assert_eq!(
        id("dispose", "to unit Tim Jalan and tono: segera"),
        "kepada unit Tim Jalan dan tono: segera"
    );
    assert_eq!(id("dismiss", "spam"), reason(DismissReason::Spam, Lang::Id));
    assert_eq!(
        id("escalate", "step `verified` passed its standard: owner section_head, superior division_head"),
        "langkah \u{201c}terverifikasi\u{201d} melewati baku mutu; pemilik: kepala seksi; atasan: kepala bidang"
    );
    assert_eq!(
        id("send_failed", "outbox 9 via sms: modem said ERROR"),
        "pesan keluar 9 lewat SMS gagal dikirim"
    );
    assert_eq!(id("verify", "berkas lengkap"), "berkas lengkap");
    assert_eq!(
        audit_note("reply", "2 outbox row(s)", Lang::En),
        "2 outbox row(s)"
    );
}
