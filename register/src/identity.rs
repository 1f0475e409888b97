//! What a reader of a confidential complaint may learn of who complained: the one redaction
//! every renderer uses (officer pages, the JSON API, search, notices, exports).
//!
//! A complaint filed as *rahasia* keeps its complainant's name and addresses from the roles
//! that may not see them (`workflow::sees_identity` decides who). For those readers every
//! text of the complaint — subject, messages, file names, the audit trail's notes, internal
//! notes, the counter hand-over's recipient — goes through [`IdentityView::text`], which
//! replaces the name, each of its words, and every address (a phone number however it is
//! written) with "[dirahasiakan]". The same replacement is applied to what the register
//! indexes for search (`search_text`); the name itself is indexed apart (`identity_text`) and
//! searched only for the roles that see it.

use std::borrow::Cow;

use aduan_channel::Address;

use sqlx::AnyConnection;

use super::Complaint;
use crate::db::Db;

/// What replaces a hidden name or address.
pub const HIDDEN: &str = "[dirahasiakan]";

/// Words of a name that identify no one on their own (honorifics), never hidden alone.
const COMMON_WORDS: &[&str] = &[
    "bapak", "ibu", "bpk", "sdr", "sdri", "saudara", "saudari", "tuan", "nyonya", "haji", "hajah",
    "hajjah", "mas", "mbak", "pak", "bu", "dan", "bin", "binti",
];

/// A reader's view of one complaint's identity: everything shown ([`IdentityView::open`]), or
/// the complainant's name and addresses hidden.
#[derive(Debug, Clone, Default)]
pub struct IdentityView {
    hidden: Option<Secrets>,
}

#[derive(Debug, Clone, Default)]
struct Secrets {
    /// Names and address texts, lower case, longest first.
    words: Vec<String>,
    /// Phone numbers as national digits (`0812…`).
    phones: Vec<String>,
}

impl IdentityView {
    /// A reader who sees who complained.
    pub fn open() -> Self {
        IdentityView { hidden: None }
    }

    /// A reader who may not see `names` (the complainant's, a hand-over recipient's) and
    /// `addresses` (proven identities and typed contacts, as [`Address`] keys or plain).
    pub fn hiding<'a>(
        names: impl IntoIterator<Item = &'a str>,
        addresses: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut s = Secrets::default();
        for n in names {
            let n = n.trim();
            if n.chars().count() >= 3 {
                s.words.push(n.to_lowercase());
            }
            for w in n.split(|c: char| !c.is_alphanumeric()) {
                let lw = w.to_lowercase();
                if w.chars().count() >= 3 && !COMMON_WORDS.contains(&lw.as_str()) {
                    s.words.push(lw);
                }
            }
        }
        for a in addresses {
            let v = a.split_once(':').map_or(a, |(_, v)| v).trim();
            if let Some(national) = national_digits(v) {
                s.phones.push(national);
            } else if v.chars().count() >= 5 {
                s.words.push(v.to_lowercase());
            }
        }
        s.words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        s.words.dedup();
        s.phones.sort();
        s.phones.dedup();
        IdentityView { hidden: Some(s) }
    }

    /// Whether the reader sees who complained.
    pub fn sees(&self) -> bool {
        self.hidden.is_none()
    }

    /// `text` as this reader may read it.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.hidden {
            None => Cow::Borrowed(text),
            Some(s) => Cow::Owned(s.redact(text)),
        }
    }

    /// The complainant's name (or an address, a recipient) as this reader may read it:
    /// [`HIDDEN`] when hidden.
    pub fn name<'a>(&self, name: &'a str) -> &'a str {
        if self.sees() {
            name
        } else {
            HIDDEN
        }
    }
}

impl Secrets {
    fn redact(&self, text: &str) -> String {
        let mut out = self.redact_phones(text);
        for w in &self.words {
            out = replace_word(&out, w);
        }
        out
    }

    /// Every run of digits (with spaces, dots, dashes, parentheses and a leading `+` between
    /// them) that is one of the phone numbers, however written: `+62 812-3450-0077`,
    /// `0812 3450 0077`, `6281234500077`.
    fn redact_phones(&self, text: &str) -> String {
        if self.phones.is_empty() {
            return text.to_string();
        }
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut i = 0;
        while i < chars.len() {
            let (start, c) = chars[i];
            if !(c.is_ascii_digit() || c == '+') {
                i += 1;
                continue;
            }
            // The longest run of phone characters from here.
            let mut j = i;
            let mut end = start;
            let mut digits = String::new();
            while j < chars.len() {
                let (at, d) = chars[j];
                if d.is_ascii_digit() {
                    digits.push(d);
                    end = at + 1;
                } else if !(" .-()+".contains(d) && (j > i || d == '+')) {
                    break;
                }
                j += 1;
            }
            let hit = national_digits(&digits).is_some_and(|n| self.phones.contains(&n));
            if hit {
                out.push_str(&text[last..start]);
                out.push_str(HIDDEN);
                last = end;
            }
            // Past the run's last digit.
            while i < chars.len() && chars[i].0 < end.max(start + 1) {
                i += 1;
            }
        }
        out.push_str(&text[last..]);
        out
    }
}

/// `text` with every occurrence of `word` (lower case) that stands as a whole word, in any
/// case, replaced by [`HIDDEN`].
fn replace_word(text: &str, word: &str) -> String {
    let lower = text.to_lowercase();
    // Lower-casing may change lengths (rare scripts): then compare char by char is unsafe,
    // and the whole text is hidden rather than a wrong part of it.
    if lower.len() != text.len() {
        return if lower.contains(word) {
            HIDDEN.to_string()
        } else {
            text.to_string()
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut from = 0;
    while let Some(pos) = lower[from..].find(word) {
        let s = from + pos;
        let e = s + word.len();
        let before = lower[..s].chars().next_back();
        let after = lower[e..].chars().next();
        let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric());
        if boundary(before) && boundary(after) {
            out.push_str(&text[last..s]);
            out.push_str(HIDDEN);
            last = e;
        }
        from = e;
    }
    out.push_str(&text[last..]);
    out
}

/// A phone number's national digits (`0812…`) when `v` is one: 9 to 15 digits, written with
/// `+62`, `62` or `0` in front.
fn national_digits(v: &str) -> Option<String> {
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    let has_other = v
        .chars()
        .any(|c| !(c.is_ascii_digit() || " .-()+".contains(c)));
    if has_other || !(9..=15).contains(&digits.len()) {
        return None;
    }
    if let Some(rest) = digits.strip_prefix("62") {
        Some(format!("0{rest}"))
    } else if digits.starts_with('0') {
        Some(digits)
    } else {
        None
    }
}

/// The view of complaint `c` for a reader who sees its complainant (`sees`) or not: for the
/// latter the name, the hand-over's recipient, the complaint's address, its complainant's
/// proven identities and its own contacts are hidden.
pub async fn view(db: &Db, c: &Complaint, sees: bool) -> sqlx::Result<IdentityView> {
    if sees {
        return Ok(IdentityView::open());
    }
    let mut conn = db.pool.acquire().await?;
    view_in(&mut conn, c, sees).await
}

/// [`view`] on a connection (inside a transaction).
pub async fn view_in(
    conn: &mut AnyConnection,
    c: &Complaint,
    sees: bool,
) -> sqlx::Result<IdentityView> {
    if sees {
        return Ok(IdentityView::open());
    }
    let mut addresses: Vec<String> =
        sqlx::query_scalar("SELECT address FROM complainant_addresses WHERE complainant_id = $1")
            .bind(c.complainant_id)
            .fetch_all(&mut *conn)
            .await?;
    addresses.extend(
        super::complaint_contacts(conn, c.id)
            .await?
            .iter()
            .map(Address::to_key),
    );
    addresses.push(c.reply_to.clone());
    let names = [
        Some(c.complainant_name.as_str()),
        c.handed_over_to.as_deref(),
    ];
    Ok(IdentityView::hiding(
        names.into_iter().flatten(),
        addresses.iter().map(String::as_str),
    ))
}

/// Indexes confidential complaint `c` for search: its subject and the complainant's
/// messages with the name and addresses hidden (`search_text`, up to the intake's cap), and
/// the name apart (`identity_text`). Called by intake whenever a confidential complaint is
/// registered or receives a message, and by [`reindex`] for complaints filed before.
pub async fn index(conn: &mut AnyConnection, c: &Complaint) -> sqlx::Result<()> {
    let v = view_in(conn, c, false).await?;
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM messages WHERE complaint_id = $1 AND direction = 'in' ORDER BY id",
    )
    .bind(c.id)
    .fetch_all(&mut *conn)
    .await?;
    let mut text = format!(
        "{} {}",
        c.register_no.to_lowercase(),
        super::fold(&v.text(&c.subject))
    );
    for b in &bodies {
        if text.len() as i64 >= super::MAX_SEARCH_CHARS {
            break;
        }
        let cut: String = b.chars().take(2000).collect();
        text.push(' ');
        text.push_str(&super::fold(&v.text(&cut)));
    }
    // PostgreSQL keeps the text's own vector too, parsed once here rather than at every
    // search of a reader who may not see the name (SQLite's FTS5 has the column apart).
    let sql = if conn.backend_name() == "PostgreSQL" {
        "UPDATE complaints SET search_text = $2, identity_text = $3, identity_indexed = 1, \
         text_tsv = to_tsvector('simple', $2) WHERE id = $1"
    } else {
        "UPDATE complaints SET search_text = $2, identity_text = $3, identity_indexed = 1 \
         WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(c.id)
        .bind(text)
        .bind(super::fold(c.complainant_name.trim()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Indexes the confidential complaints registered before their names were indexed apart
/// (run when the register opens; a no-op once done).
pub async fn reindex(db: &Db) -> sqlx::Result<usize> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM complaints WHERE confidential = 1 AND identity_indexed = 0 ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?;
    for id in &ids {
        let mut tx = db.begin().await?;
        let c = super::complaint_by_id(&mut tx, *id).await?;
        index(&mut tx, &c).await?;
        tx.commit().await?;
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_phones_are_hidden_however_written() {
        let v = IdentityView::hiding(
            ["Ibu Wati Rahasia"],
            ["phone:+6281234500077", "email:wati@contoh.id"],
        );
        let t = v.text(
            "Saya WATI, hubungi 0812-3450-0077 atau +62 812 3450 0077 / wati@contoh.id. \
             Ibu kantor; Watiningsih bukan saya; nomor lain 081299990000.",
        );
        assert!(!t.to_lowercase().contains("wati,"), "{t}");
        assert!(!t.contains("0077") && !t.contains("contoh.id"), "{t}");
        assert!(t.contains("Ibu kantor"), "honorifics stay: {t}");
        assert!(t.contains("Watiningsih"), "only whole words: {t}");
        assert!(t.contains("081299990000"), "other numbers stay: {t}");
        assert_eq!(v.name("Wati"), HIDDEN);
        assert!(IdentityView::open().sees());
        assert_eq!(IdentityView::open().text("Wati"), "Wati");
    }

    #[test]
    fn national_digits_of_indonesian_numbers() {
        assert_eq!(
            national_digits("+62 812-3450-0077").as_deref(),
            Some("081234500077")
        );
        assert_eq!(
            national_digits("6281234500077").as_deref(),
            Some("081234500077")
        );
        assert_eq!(national_digits("2026"), None);
        assert_eq!(national_digits("ADU-2026-000001"), None);
    }
}
