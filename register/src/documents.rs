//! The office's own documents of a complaint (the field review's BAP): kept, never sent.

use aduan_channel::Attachment;

use crate::db::{Db, Tx};

/// Keeps `file` as a document of `kind` of the complaint.
pub async fn add(
    tx: &mut Tx,
    complaint_id: i64,
    kind: &str,
    file: &Attachment,
    officer_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    let sha = super::store_blob(tx, &file.data).await?;
    sqlx::query(
        "INSERT INTO documents (complaint_id, kind, filename, content_type, size, sha256, \
         officer_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(complaint_id)
    .bind(kind)
    .bind(&file.filename)
    .bind(&file.content_type)
    .bind(file.data.len() as i64)
    .bind(sha)
    .bind(officer_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A complaint's documents: (id, kind, file name, size).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Document {
    pub id: i64,
    pub kind: String,
    pub filename: String,
    pub size: i64,
}

pub async fn of(db: &Db, complaint_id: i64) -> sqlx::Result<Vec<Document>> {
    sqlx::query_as(
        "SELECT id, kind, filename, size FROM documents WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(complaint_id)
    .fetch_all(&db.pool)
    .await
}

/// One document's file.
pub async fn file(db: &Db, id: i64) -> sqlx::Result<Option<super::StoredFile>> {
    #[derive(sqlx::FromRow)]
    struct F {
        register_no: String,
        filename: String,
        content_type: String,
        data: Vec<u8>,
    }
    let f: Option<F> = sqlx::query_as(
        "SELECT c.register_no, d.filename, d.content_type, b.data FROM documents d \
         JOIN blobs b ON b.sha256 = d.sha256 JOIN complaints c ON c.id = d.complaint_id \
         WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(f.map(|f| super::StoredFile {
        register_no: f.register_no,
        outbound: false,
        file: Attachment {
            filename: f.filename,
            content_type: f.content_type,
            data: f.data,
        },
    }))
}
