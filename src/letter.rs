//! The office's outgoing letters — the answer to a complaint (seed 004 #8–9) and the field
//! review's invitation (003 #4): numbered by the office's format in one gap-free sequence per
//! year, and rendered as an A4 PDF with the letterhead, the complaint's details and the
//! signer's name, rank and NIP. Letters are written in Indonesian, the language of official
//! correspondence, whatever the complaint's reply language.
//!
//! The PDF is made by `printpdf` with the standard Times fonts (nothing embedded; text is
//! WinAnsi, so characters outside it print as `?`). A letter is rendered once, when it is
//! numbered, and kept in the register: what was sent is what is shown again.

use chrono::{Datelike, NaiveDate};
use printpdf::{
    BuiltinFont, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, RawImage, TextItem, XObjectTransform,
};

use crate::config::LetterConfig;

pub use crate::register::domain::LetterKind;

/// The office's letterhead and signer, ready to render (the logo read and decoded once).
#[derive(Debug, Clone, Default)]
pub struct Letterhead {
    pub office_name: String,
    pub config: LetterConfig,
    logo: Option<RawImage>,
}

/// A letter's content.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    pub kind: LetterKind,
    pub number: &'a str,
    pub date: NaiveDate,
    pub register_no: &'a str,
    /// The addressee: the complainant's name (or "Pengadu" when it is unknown).
    pub to: &'a str,
    /// The complaint's subject as the office may quote it; `None` when only the office's own
    /// words may stand on the letter (a web complaint: its contacts are typed by anyone).
    pub subject: Option<&'a str>,
    pub received: NaiveDate,
    /// How the complaint came in, in words (`surat elektronik`, `SMS`, …).
    pub channel: &'a str,
    /// The answer, or the invitation's time, place and purpose.
    pub body: &'a str,
}

/// A letter number format must name the sequence and the year.
pub fn check_number_format(format: &str) -> Result<(), String> {
    for p in ["{seq}", "{year}"] {
        if !format.contains(p) {
            return Err(format!("`{format}` lacks {p}"));
        }
    }
    let rest = format
        .replace("{seq}", "")
        .replace("{year}", "")
        .replace("{month}", "");
    if rest.contains('{') || rest.contains('}') {
        return Err(format!(
            "`{format}` has an unknown placeholder (known: {{seq}}, {{year}}, {{month}})"
        ));
    }
    Ok(())
}

/// The number of the year's `seq`-th letter: `{seq}`, `{year}` and `{month}` (in Roman
/// numerals, as Indonesian agenda numbers write it).
pub fn format_number(format: &str, seq: i64, date: NaiveDate) -> String {
    format
        .replace("{seq}", &seq.to_string())
        .replace("{year}", &date.year().to_string())
        .replace("{month}", ROMAN[date.month0() as usize])
}

const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// `28 November 2026`.
pub fn date_id(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

impl Letterhead {
    /// Reads the logo (PNG or JPEG) named by the configuration, relative to `base_dir`.
    pub fn load(
        office_name: &str,
        config: &LetterConfig,
        base_dir: Option<&std::path::Path>,
    ) -> Result<Letterhead, String> {
        let logo = match config.logo.as_deref().filter(|l| !l.trim().is_empty()) {
            None => None,
            Some(path) => {
                let p = std::path::Path::new(path);
                let p = match base_dir {
                    Some(b) if p.is_relative() => b.join(p),
                    _ => p.to_path_buf(),
                };
                let bytes =
                    std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                let img = RawImage::decode_from_bytes(&bytes, &mut Vec::new())
                    .map_err(|e| format!("{} is not a PNG or JPEG image: {e}", p.display()))?;
                Some(img)
            }
        };
        Ok(Letterhead {
            office_name: office_name.to_string(),
            config: config.clone(),
            logo,
        })
    }

    /// The signer as the register records it: name and NIP.
    pub fn signer(&self) -> String {
        let c = &self.config;
        if c.signer_nip.is_empty() {
            c.signer_name.clone()
        } else {
            format!("{} (NIP {})", c.signer_name, c.signer_nip)
        }
    }

    /// Renders the letter as a PDF.
    pub fn render(&self, l: &Letter<'_>) -> Vec<u8> {
        let c = &self.config;
        let mut doc = PdfDocument::new(&format!("{} {}", l.kind.subject(l.register_no), l.number));
        let mut pages: Vec<Vec<Op>> = vec![Vec::new()];
        let mut w = Writer {
            ops: pages.last_mut().expect("one page"),
            y: 277.0,
        };
        // The letterhead: logo at the left, the office's lines beside it, a rule below.
        if let Some(img) = &self.logo {
            let id = doc.add_image(img);
            // 25 mm high at whatever resolution the image has.
            let dpi = img.height as f32 / (25.0 / 25.4);
            w.ops.push(Op::UseXobject {
                id,
                transform: XObjectTransform {
                    translate_x: Some(Mm(20.0).into()),
                    translate_y: Some(Mm(252.0).into()),
                    dpi: Some(dpi),
                    ..Default::default()
                },
            });
        }
        let x_head = if self.logo.is_some() { 50.0 } else { 25.0 };
        for line in &c.letterhead {
            w.text(x_head, BOLD, 12.0, line);
        }
        w.text(x_head, BOLD, 14.0, &self.office_name.to_uppercase());
        for line in c.address.lines() {
            w.text(x_head, REGULAR, 10.0, line);
        }
        w.y = w.y.min(250.0);
        w.rule(245.0);
        w.y = 238.0;
        let place = if c.city.is_empty() {
            date_id(l.date)
        } else {
            format!("{}, {}", c.city, date_id(l.date))
        };
        w.text(120.0, REGULAR, 11.0, &place);
        w.y -= 2.0;
        let subject = l.kind.subject(l.register_no);
        for (k, v) in [
            ("Nomor", l.number),
            ("Sifat", "Biasa"),
            ("Lampiran", "-"),
            ("Hal", subject.as_str()),
        ] {
            w.text(25.0, REGULAR, 11.0, k);
            w.y += LINE;
            w.text(50.0, REGULAR, 11.0, &format!(": {v}"));
        }
        w.y -= LINE;
        w.text(25.0, REGULAR, 11.0, "Yth.");
        w.text(25.0, BOLD, 11.0, l.to);
        w.text(25.0, REGULAR, 11.0, "di tempat");
        w.y -= LINE;
        let about = l
            .subject
            .map(|s| format!(" perihal \"{s}\""))
            .unwrap_or_default();
        let opening = match l.kind {
            LetterKind::Answer => format!(
                "Menindaklanjuti pengaduan Saudara yang kami terima pada tanggal {} melalui {} \
                 dengan nomor register {}{about}, dengan hormat kami sampaikan jawaban \
                 sebagai berikut:",
                date_id(l.received),
                l.channel,
                l.register_no,
            ),
            LetterKind::Invitation => format!(
                "Sehubungan dengan pengaduan Saudara yang kami terima pada tanggal {} melalui {} \
                 dengan nomor register {}{about}, kami mengundang Saudara untuk hadir \
                 pada peninjauan lapangan:",
                date_id(l.received),
                l.channel,
                l.register_no,
            ),
        };
        let mut paragraphs = vec![opening];
        paragraphs.extend(l.body.lines().map(str::to_string));
        paragraphs.push(
            "Demikian kami sampaikan. Atas perhatian Saudara kami ucapkan terima kasih.".into(),
        );
        for p in &paragraphs {
            for line in wrap(p, WRAP) {
                if w.y < 45.0 {
                    pages.push(Vec::new());
                    w = Writer {
                        ops: pages.last_mut().expect("a new page"),
                        y: 270.0,
                    };
                }
                w.text(25.0, REGULAR, 11.0, &line);
            }
            w.y -= 2.0;
        }
        // The signature block.
        if w.y < 75.0 {
            pages.push(Vec::new());
            w = Writer {
                ops: pages.last_mut().expect("a new page"),
                y: 270.0,
            };
        }
        w.y -= LINE;
        let title = if c.signer_title.is_empty() {
            format!("Pimpinan {}", self.office_name)
        } else {
            c.signer_title.clone()
        };
        w.text(120.0, REGULAR, 11.0, &format!("{title},"));
        w.y -= 4.0 * LINE;
        w.text(120.0, BOLD, 11.0, &c.signer_name);
        if !c.signer_rank.is_empty() {
            w.text(120.0, REGULAR, 11.0, &c.signer_rank);
        }
        if !c.signer_nip.is_empty() {
            w.text(120.0, REGULAR, 11.0, &format!("NIP. {}", c.signer_nip));
        }
        let pages = pages
            .into_iter()
            .map(|ops| PdfPage::new(Mm(210.0), Mm(297.0), ops))
            .collect();
        doc.with_pages(pages)
            .save(&PdfSaveOptions::default(), &mut Vec::new())
    }
}

const REGULAR: BuiltinFont = BuiltinFont::TimesRoman;
const BOLD: BuiltinFont = BuiltinFont::TimesBold;
/// Line height, mm.
const LINE: f32 = 5.5;
/// Characters per body line: 160 mm of 11 pt Times holds about 95; kept short of it.
const WRAP: usize = 88;

struct Writer<'a> {
    ops: &'a mut Vec<Op>,
    /// The next baseline, mm from the bottom.
    y: f32,
}

impl Writer<'_> {
    fn text(&mut self, x: f32, font: BuiltinFont, size: f32, s: &str) {
        self.ops.extend([
            Op::StartTextSection,
            Op::SetTextCursor {
                pos: Point::new(Mm(x), Mm(self.y)),
            },
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(size),
            },
            Op::ShowText {
                items: vec![TextItem::Text(printable(s))],
            },
            Op::EndTextSection,
        ]);
        self.y -= LINE.max(size * 0.45);
    }

    fn rule(&mut self, y: f32) {
        self.ops.extend([
            Op::SetOutlineThickness { pt: Pt(1.5) },
            Op::DrawLine {
                line: Line {
                    points: [25.0, 190.0]
                        .map(|x| LinePoint {
                            p: Point::new(Mm(x), Mm(y)),
                            bezier: false,
                        })
                        .to_vec(),
                    is_closed: false,
                },
            },
        ]);
    }
}

/// Control characters out; the rest is left to WinAnsi (unknown characters print as `?`).
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Splits a paragraph into lines of at most `width` characters at spaces (a longer word gets
/// a line of its own, cut at `width`).
pub fn wrap(p: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in p.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_office_format() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(
            format_number("500.16/{seq}/DPMPTSP/{year}", 7, d),
            "500.16/7/DPMPTSP/2026"
        );
        assert_eq!(format_number("{seq}/{month}/{year}", 12, d), "12/XII/2026");
        assert!(check_number_format("500.16/{seq}/DPMPTSP/{year}").is_ok());
        assert!(check_number_format("500.16/{seq}/DPMPTSP").is_err());
        assert!(check_number_format("{seq}/{year}/{unit}").is_err());
    }

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let text = "Permohonan izin usaha Saudara telah kami proses dan dapat diambil di loket \
                    pelayanan pada hari kerja. "
            .repeat(5)
            + &"x".repeat(200);
        let lines = wrap(&text, 40);
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:?}");
        let joined: String = lines.concat().split_whitespace().collect();
        let orig: String = text.split_whitespace().collect();
        assert_eq!(joined, orig);
        assert_eq!(wrap("", 40), vec![String::new()]);
    }

    #[test]
    fn a_letter_renders_as_a_pdf_a_reader_can_read() {
        let head = Letterhead {
            office_name: "Dinas Contoh".into(),
            config: LetterConfig {
                signer_name: "Dra. Siti Aminah, M.Si".into(),
                signer_nip: "19700101 199503 2 001".into(),
                ..LetterConfig::default()
            },
            logo: None,
        };
        let body = "Izin Saudara terbit. ".repeat(200);
        let pdf = head.render(&Letter {
            kind: LetterKind::Answer,
            number: "500.16/1/PENGADUAN/2026",
            date: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
            register_no: "ADU-2026-000001",
            to: "Budi ☺",
            subject: Some("Izin usaha"),
            received: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            channel: "SMS",
            body: &body,
        });
        assert!(pdf.starts_with(b"%PDF-"));
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        let n = doc.get_pages().len() as u32;
        assert!(n >= 2, "a long answer runs onto a second page");
        let text = doc.extract_text(&(1..=n).collect::<Vec<_>>()).unwrap();
        for want in [
            "500.16/1/PENGADUAN/2026",
            "ADU-2026-000001",
            "Dra. Siti Aminah, M.Si",
            "NIP. 19700101 199503 2 001",
            "3 Desember 2026",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
    }
}
