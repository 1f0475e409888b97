//! Letter benchmark (`cargo bench --bench letters`): the answer letter rendered as a PDF —
//! a typical one-page answer and a long one running onto further pages — per letter time and
//! size. Figures go to BENCHMARKS.md.

use std::time::Instant;

use aduan::config::LetterConfig;
use aduan::letter::{Letter, LetterKind, Letterhead};
use chrono::NaiveDate;

fn main() {
    let config = LetterConfig {
        letterhead: vec!["PEMERINTAH KOTA CONTOH".into()],
        address: "Jl. Merdeka No. 1, Kota Contoh 12345\nTelp. (021) 555-0100".into(),
        city: "Kota Contoh".into(),
        signer_title: "Kepala Dinas".into(),
        signer_name: "Drs. Bambang Sutrisno, M.Si".into(),
        signer_rank: "Pembina Utama Muda (IV/c)".into(),
        signer_nip: "19680512 199003 1 004".into(),
        ..LetterConfig::default()
    };
    let head = Letterhead::load("Dinas Penanaman Modal dan PTSP", &config, None).unwrap();
    let typical = "Permohonan izin usaha Saudara telah kami periksa. Berkas dinyatakan lengkap \
                   dan izin dapat diambil di loket pelayanan pada hari kerja pukul 08.00-15.00. "
        .repeat(6);
    let long = typical.repeat(8);
    for (name, body, n) in [("typical", &typical, 2000), ("long", &long, 300)] {
        let started = Instant::now();
        let mut bytes = 0;
        for i in 0..n {
            let number = format!("500.16/{}/DPMPTSP/2026", i + 1);
            let pdf = head.render(&Letter {
                kind: LetterKind::Answer,
                number: &number,
                date: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
                register_no: "ADU-2026-000042",
                to: "Ibu Sari Wulandari",
                subject: Some("Izin usaha belum terbit"),
                received: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                channel: "SMS",
                body,
            });
            bytes = pdf.len();
        }
        let per = started.elapsed().as_secs_f64() * 1000.0 / n as f64;
        let pages = lopdf::Document::load_mem(&head.render(&Letter {
            kind: LetterKind::Answer,
            number: "1",
            date: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
            register_no: "ADU-2026-000042",
            to: "x",
            subject: Some("x"),
            received: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            channel: "SMS",
            body,
        }))
        .unwrap()
        .get_pages()
        .len();
        println!(
            "{name}: {} chars, {pages} page(s), {:.2} ms per letter ({:.0} letters/s), {:.1} KiB",
            body.len(),
            per,
            1000.0 / per,
            bytes as f64 / 1024.0
        );
    }
}
