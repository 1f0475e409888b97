//! Issue 21, item 18: an email's sender is proven as far as the office's mail server proves
//! it. When the receiving server's `Authentication-Results` (the topmost) reports a DMARC (or
//! SPF without DKIM) failure, the `From` is no identity: the mail joins no complaint by
//! number or reply header, reopens nothing, gives no verdict — it is registered on its own,
//! flagged.

use aduan::db::Backend;

use super::{all_sent, rig, Rig};
use crate::both;
use crate::helpers::*;

fn mail(id: &str, from: &str, results: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    let auth = if results.is_empty() {
        String::new()
    } else {
        format!("Authentication-Results: mail.kantor.go.id; {results}\r\n")
    };
    format!(
        "{auth}Authentication-Results: forged.example; dmarc=pass\r\nFrom: Ani <{from}>\r\n\
         To: pengaduan@kantor.go.id\r\nSubject: {subject}\r\nMessage-ID: <{id}@warga.id>\r\n{extra}\
         Date: Wed, 02 Dec 2026 09:00:00 +0700\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn submit(app: &App, raw: Vec<u8>) -> aduan_channel::Committed {
    let parsed = aduan_email::mime::parse(&raw, "pengaduan@kantor.go.id", None);
    aduan::intake::submit(&app.core, parsed.msg).await.unwrap()
}

async fn email_sender_failing_dmarc_is_no_identity(backend: Backend) {
    let Some(Rig { app, .. }) = rig(backend, &[("ADUAN_OFFICE__PROCEDURE", "madiun")]).await else {
        return;
    };
    let ani = "ani@warga.id";
    let first = submit(
        &app,
        mail(
            "m1",
            ani,
            "dmarc=pass header.from=warga.id",
            "Lampu",
            "",
            "Lampu mati",
        ),
    )
    .await;
    // A forged From naming her complaint's number: a complaint of its own, flagged.
    let forged = submit(
        &app,
        mail(
            "f1",
            ani,
            "spf=fail smtp.mailfrom=warga.id; dmarc=fail header.from=warga.id",
            &format!("Re: {}", first.register_no),
            "",
            "Batalkan pengaduan saya",
        ),
    )
    .await;
    assert_ne!(
        forged.register_no, first.register_no,
        "a forged From joined by number"
    );
    let flagged: Option<String> =
        sqlx::query_scalar("SELECT flagged FROM complaints WHERE register_no = $1")
            .bind(&forged.register_no)
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap();
    assert!(flagged.unwrap_or_default().contains("sender not proven"));
    // Her own mail (DMARC pass) still joins by number.
    let own = submit(
        &app,
        mail(
            "m2",
            ani,
            "dmarc=pass header.from=warga.id",
            &format!("Re: {}", first.register_no),
            "",
            "Tambahan foto menyusul",
        ),
    )
    .await;
    assert_eq!(own.register_no, first.register_no);
    // Closed and asked: a forged "1" replying to the question is no verdict.
    let t = super::verdicts::officers(&app).await;
    super::verdicts::answer_and_close(&app, &t, &first.register_no).await;
    all_sent(&app).await;
    let question: String = sqlx::query_scalar(
        "SELECT m.provider_message_id FROM outbox o JOIN messages m ON m.id = o.message_id \
         WHERE o.kind = 'rating_request'",
    )
    .fetch_one(&app.core.db.pool)
    .await
    .unwrap();
    let reply_hdr = format!("In-Reply-To: {question}\r\n");
    submit(
        &app,
        mail(
            "f2",
            ani,
            "dmarc=fail header.from=warga.id",
            "Re: Penilaian",
            &reply_hdr,
            "1",
        ),
    )
    .await;
    let rating: Option<i64> =
        sqlx::query_scalar("SELECT rating FROM complaints WHERE register_no = $1")
            .bind(&first.register_no)
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap();
    assert_eq!(rating, None, "a forged verdict counted");
    submit(
        &app,
        mail(
            "m3",
            ani,
            "dmarc=pass header.from=warga.id",
            "Re: Penilaian",
            &reply_hdr,
            "4",
        ),
    )
    .await;
    let rating: Option<i64> =
        sqlx::query_scalar("SELECT rating FROM complaints WHERE register_no = $1")
            .bind(&first.register_no)
            .fetch_one(&app.core.db.pool)
            .await
            .unwrap();
    assert_eq!(rating, Some(4));
    app.stop().await;
}
both!(email_sender_failing_dmarc_is_no_identity);
