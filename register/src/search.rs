//! Full-text search as both databases run it: the words of a query, folded like the indexed
//! text, as an FTS5 match (SQLite) or a `tsquery` (PostgreSQL); a reader who may not see
//! confidential complainants matches a confidential complaint on its text alone, never on the
//! name indexed apart (`identity_text`, see [`super::identity`]).

use super::QueryBuilder;

/// The search text of a complaint stops growing past this many characters (PostgreSQL's
/// tsvector holds at most 1 MB; follow-ups beyond it stay in the thread, unsearched).
pub const MAX_SEARCH_CHARS: i64 = 200_000;

/// A full-text condition on complaint `c` for placeholder `$n`, and the value to bind; `None`
/// when the query has no word. Words are letters and digits (everything else separates them,
/// so nothing of the query reaches the match syntax); every word must occur as a whole word,
/// the last one also as a word's beginning (search as you type). Whole words keep PostgreSQL's
/// GIN lookups exact: prefixes on every word made two common words 4× slower at 1M complaints.
///
/// `identity`: whether the reader sees confidential complaints' complainants; without it a
/// confidential complaint matches only on its text, never on its complainant's name
/// (`identity_text`, see [`identity`]). The condition may name `$n` more than once.
pub fn text_search(
    backend: crate::db::Backend,
    n: usize,
    q: &str,
    identity: bool,
) -> Option<(String, String)> {
    let words = search_words(q);
    if words.is_empty() {
        return None;
    }
    Some(match backend {
        crate::db::Backend::Sqlite => (
            format!("c.id IN (SELECT rowid FROM complaints_fts WHERE complaints_fts MATCH ${n})"),
            fts_expression(&words, identity),
        ),
        crate::db::Backend::Postgres => {
            let value = words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let star = if i + 1 == words.len() { ":*" } else { "" };
                    format!("{w}{star}")
                })
                .collect::<Vec<_>>()
                .join(" & ");
            let cond = if identity {
                format!("c.search_tsv @@ to_tsquery('simple', ${n})")
            } else {
                // The stored vector covers the name too; a confidential complaint's match is
                // checked again on its text's own vector (`text_tsv`).
                format!(
                    "(c.search_tsv @@ to_tsquery('simple', ${n}) AND (c.confidential = 0 \
                     OR c.text_tsv @@ to_tsquery('simple', ${n})))"
                )
            };
            (cond, value)
        }
    })
}

/// The FTS5 expression of `words`: every word (the last also as a prefix), in any column, or
/// in `search_text` only when the reader may not see confidential complaints' names.
fn fts_expression(words: &[String], identity: bool) -> String {
    let terms = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let star = if i + 1 == words.len() { "*" } else { "" };
            format!("\"{w}\"{star}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    if identity {
        terms
    } else {
        format!("search_text : ({terms})")
    }
}

/// The words of a search: letters and digits, folded like the search text, at most 16.
pub(super) fn search_words(q: &str) -> Vec<String> {
    fold(q)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_string)
        .collect()
}

/// Search text as both databases index it: lower case, diacritics removed ("Café" →
/// "cafe"). SQLite's FTS5 folds diacritics itself but PostgreSQL's `simple` configuration does
/// not; folding here, for what is stored and for what is asked, makes both answer alike.
pub fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

/// [`text_search`] pushed onto a query being built, its value bound (once per placeholder).
pub(super) fn text_query(
    qb: &mut QueryBuilder,
    backend: crate::db::Backend,
    q: &str,
    identity: bool,
) {
    if let Some((cond, value)) = text_search(backend, 0, q, identity) {
        let mut parts = cond.split("$0");
        if let Some(first) = parts.next() {
            qb.push(first);
        }
        for rest in parts {
            qb.push_bind(value.clone()).push(rest);
        }
    }
}

/// The FTS5 match expression of a search (SQLite).
pub(super) fn fts_match(q: &str, identity: bool) -> String {
    text_search(crate::db::Backend::Sqlite, 0, q, identity)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_search_keeps_only_words() {
        use crate::db::Backend;
        assert_eq!(text_search(Backend::Sqlite, 1, " %_'\"* ", true), None);
        let (c, v) = text_search(Backend::Sqlite, 3, "Jalan \"rusak\"; DROP--", true).unwrap();
        assert!(c.ends_with("MATCH $3)"));
        assert_eq!(v, "\"jalan\" \"rusak\" \"drop\"*");
        let (_, v) = text_search(Backend::Postgres, 1, "izin usaha", true).unwrap();
        assert_eq!(v, "izin & usaha:*");
        // Without the identity, SQLite matches the text column only; PostgreSQL checks a
        // confidential complaint's text again (the placeholder twice).
        let (_, v) = text_search(Backend::Sqlite, 1, "wati", false).unwrap();
        assert_eq!(v, "search_text : (\"wati\"*)");
        let (c, _) = text_search(Backend::Postgres, 1, "wati", false).unwrap();
        assert_eq!(c.matches("$1").count(), 2);
    }

    #[test]
    fn folding_removes_diacritics() {
        assert_eq!(fold("Café Sudirmán ÉLAN"), "cafe sudirman elan");
        assert_eq!(search_words("café, Ñandú"), vec!["cafe", "nandu"]);
    }
}
