//! The office's letters as the register keeps them: the number taken from the year's
//! gap-free sequence in the transaction that issues the letter, and the PDF in `blobs`.

use sqlx::Row;

use crate::db::{Db, Tx};
use crate::domain::LetterKind;

/// The sequence all letters share (`register_seq`).
const LETTER_SEQ: &str = "letter";

/// Takes the next number of `prefix`'s sequence for `year` (1, 2, …): in the caller's
/// transaction, so a rolled-back action leaves no gap.
pub async fn next_seq(tx: &mut Tx, prefix: &str, year: i32) -> sqlx::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO register_seq (prefix, year, last) VALUES ($1, $2, 1) \
         ON CONFLICT (prefix, year) DO UPDATE SET last = register_seq.last + 1 RETURNING last",
    )
    .bind(prefix)
    .bind(year as i64)
    .fetch_one(&mut **tx)
    .await?;
    row.try_get("last")
}

/// A letter being issued.
#[derive(Debug, Clone)]
pub struct NewLetter<'a> {
    pub complaint_id: i64,
    pub kind: LetterKind,
    pub year: i32,
    pub seq: i64,
    pub number: &'a str,
    pub pdf: &'a [u8],
    pub signer: &'a str,
    pub at: i64,
}

/// The next letter sequence number of `year`.
pub async fn next_letter_seq(tx: &mut Tx, year: i32) -> sqlx::Result<i64> {
    next_seq(tx, LETTER_SEQ, year).await
}

/// Records an issued letter and keeps its PDF.
pub async fn record(tx: &mut Tx, l: &NewLetter<'_>) -> sqlx::Result<()> {
    let sha = super::store_blob(tx, l.pdf).await?;
    sqlx::query(
        "INSERT INTO letters (complaint_id, kind, year, seq, number, sha256, signer, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(l.complaint_id)
    .bind(l.kind.as_str())
    .bind(l.year as i64)
    .bind(l.seq)
    .bind(l.number)
    .bind(sha)
    .bind(l.signer)
    .bind(l.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A complaint's letter as issued.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredLetter {
    pub number: String,
    pub signer: String,
    pub issued_at: i64,
    pub pdf: Vec<u8>,
}

/// The complaint's latest letter of `kind`, with its PDF.
pub async fn latest(
    db: &Db,
    complaint_id: i64,
    kind: LetterKind,
) -> sqlx::Result<Option<StoredLetter>> {
    sqlx::query_as(
        "SELECT l.number, l.signer, l.issued_at, b.data AS pdf FROM letters l \
         JOIN blobs b ON b.sha256 = l.sha256 WHERE l.complaint_id = $1 AND l.kind = $2 \
         ORDER BY l.id DESC LIMIT 1",
    )
    .bind(complaint_id)
    .bind(kind.as_str())
    .fetch_optional(&db.pool)
    .await
}
