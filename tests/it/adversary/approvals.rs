//! Issue 21, items 9, 14 and 15: an approval belongs to one version of the draft — an edit
//! voids it for good, even when a later edit brings the approved text back; a stale approve
//! form cannot put an older draft back; and the answer is sent only when the whole chain
//! approved its current version, checked in the sending transaction. On both databases, with
//! two daemons on one register.

use aduan::db::Backend;
use aduan::workflow::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;
use crate::ui::Browser;

/// The `lapor` procedure: the section head drafts; the Kabid and the Sekretaris initial, the
/// Kadis signs.
async fn lapor(backend: Backend) -> Option<Office> {
    Office::start(backend, &[("ADUAN_OFFICE__PROCEDURE", "lapor")]).await
}

/// An action as `role` on the daemon at `base` (one of several on the register).
async fn act_at(o: &Office, base: &str, role: Role, no: &str, body: Value) -> (StatusCode, Value) {
    let r = o
        .app
        .http
        .post(format!("{base}/api/v1/complaints/{no}/actions"))
        .bearer_auth(&o.tokens[&role])
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

fn draft(text: &str) -> Value {
    json!({"action": "draft_answer", "note": text})
}

fn approve() -> Value {
    json!({"action": "approve"})
}

/// Item 9: Kabid and Sekretaris initial version 1; the draft becomes v2, then v1's text
/// again; the Kadis's signature is refused (the chain waits for the Kabid) and the voided
/// initials never count — across two daemons.
async fn voided_approvals_stay_void(backend: Backend) {
    let Some(o) = lapor(backend).await else {
        return;
    };
    let url = o.app.db.as_ref().unwrap().url.clone();
    let other = start_with_env(&url, &[("ADUAN_OFFICE__PROCEDURE".into(), "lapor".into())]).await;
    let (a, b) = (o.app.base.clone(), other.base.clone());
    use Role::*;
    let (no, _) = o
        .app
        .submit(json!({"body": "Izin usaha belum terbit"}))
        .await;
    for (base, role, body) in [
        (&a, SectionHead, json!({"action": "verify"})),
        (
            &b,
            SectionHead,
            json!({"action": "study", "note": "dikaji"}),
        ),
        (&a, SectionHead, draft("Jawaban versi satu")),
        (&b, DivisionHead, approve()),
        (&a, Secretary, approve()),
        (&b, SectionHead, draft("Jawaban versi dua")),
        (&a, SectionHead, draft("Jawaban versi satu")),
    ] {
        let (s, v) = act_at(&o, base, role, &no, body.clone()).await;
        assert_eq!(s, StatusCode::OK, "{role:?} {body}: {v}");
    }
    let v = o.get(&no).await;
    assert_eq!(v["draft_version"], 3, "{v}");
    for base in [&a, &b] {
        let (s, v) = act_at(&o, base, HeadOfOffice, &no, approve()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the voided initials count: {v}");
        assert!(v.to_string().contains("division_head"), "{v}");
        let (s, v) = act_at(&o, base, FrontOffice, &no, json!({"action": "send_answer"})).await;
        assert_ne!(s, StatusCode::OK, "{v}");
    }
    for (base, role) in [(&b, DivisionHead), (&a, Secretary), (&b, HeadOfOffice)] {
        let (s, v) = act_at(&o, base, role, &no, approve()).await;
        assert_eq!(s, StatusCode::OK, "{role:?}: {v}");
    }
    let notes = aduan::register::audit::named(&o.app.core.db, "approve")
        .await
        .unwrap();
    assert_eq!(notes.len(), 5, "{notes:?}");
    assert!(
        matches!(
            notes[4].event,
            aduan::register::audit::AuditEvent::Approved {
                kind: aduan::register::domain::ApprovalKind::Sign,
                stage: 3,
                of: 3,
                ..
            }
        ),
        "{notes:?}"
    );
    let per_version: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT draft_version, COUNT(*) FROM approvals GROUP BY draft_version ORDER BY draft_version",
    )
    .fetch_all(&o.app.core.db.pool)
    .await
    .unwrap();
    assert_eq!(per_version, [(1, 2), (3, 3)]);
    let (s, v) = act_at(&o, &a, FrontOffice, &no, json!({"action": "send_answer"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    other.stop().await;
    o.app.stop().await;
}
both!(voided_approvals_stay_void);

/// Item 14: the Kabid's page shows version 1; the drafter saves version 2; the Kabid's
/// approve (with the draft the page showed) is refused with 409 in words — version 2 stays,
/// no approval or edit is recorded. Over the API the same with `draft_version`.
async fn a_stale_approve_form_cannot_revert(backend: Backend) {
    let Some(o) = lapor(backend).await else {
        return;
    };
    use Role::*;
    let (no, _) = o
        .app
        .submit(json!({"body": "Izin usaha belum terbit"}))
        .await;
    for (role, body) in [
        (SectionHead, json!({"action": "verify"})),
        (SectionHead, json!({"action": "study", "note": "dikaji"})),
        (SectionHead, draft("Versi satu")),
    ] {
        assert_eq!(o.act(role, &no, body).await.0, StatusCode::OK);
    }
    aduan::web::session::set_password(&o.app.core.db, "division_head", PASSWORD)
        .await
        .unwrap();
    let mut kabid = Browser::new(&o.app);
    kabid.login("division_head", PASSWORD).await;
    let page = kabid.go("GET", &format!("/kotak/{no}"), &[]).await;
    assert!(
        page.body.contains("name=\"draft_version\" value=\"1\""),
        "the form carries its version"
    );
    let csrf = Browser::csrf(&page);
    assert_eq!(
        o.act(SectionHead, &no, draft("Versi dua")).await.0,
        StatusCode::OK
    );
    let r = kabid
        .go(
            "POST",
            &format!("/kotak/{no}/aksi"),
            &[
                ("csrf", &csrf),
                ("action", "approve"),
                ("draft_version", "1"),
                ("draft", "Versi satu"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("sudah diubah"), "{}", r.body);
    let v = o.get(&no).await;
    assert_eq!(v["draft_answer"], "Versi dua");
    assert_eq!(v["draft_version"], 2);
    assert_eq!(count(&o.app, "SELECT COUNT(*) FROM approvals").await, 0);
    assert_eq!(
        count(
            &o.app,
            "SELECT COUNT(*) FROM audit WHERE action = 'draft_edited'"
        )
        .await,
        0
    );
    let (s, v) = o
        .act(
            DivisionHead,
            &no,
            json!({"action": "approve", "draft_version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = o
        .act(
            DivisionHead,
            &no,
            json!({"action": "approve", "draft_version": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    o.app.stop().await;
}
both!(a_stale_approve_form_cannot_revert);

/// Item 15: `send_answer` checks the chain itself: a complaint standing at "approved" whose
/// current draft lacks its approvals (a draft replaced behind the chain's back, or a profile
/// changed mid-way) is not sent and nothing is queued.
async fn send_answer_rechecks_the_chain(backend: Backend) {
    let Some(o) = lapor(backend).await else {
        return;
    };
    use Role::*;
    let (no, _) = o
        .app
        .submit(json!({"body": "Izin usaha belum terbit"}))
        .await;
    for (role, body) in [
        (SectionHead, json!({"action": "verify"})),
        (SectionHead, json!({"action": "study", "note": "dikaji"})),
        (SectionHead, draft("Versi yang disetujui")),
        (DivisionHead, approve()),
        (Secretary, approve()),
        (HeadOfOffice, approve()),
    ] {
        assert_eq!(o.act(role, &no, body).await.0, StatusCode::OK);
    }
    assert_eq!(o.get(&no).await["status"], "answer_approved");
    sqlx::query(
        "UPDATE complaints SET draft_answer = 'Teks lain', draft_version = draft_version + 1",
    )
    .execute(&o.app.core.db.pool)
    .await
    .unwrap();
    let (s, v) = o
        .act(FrontOffice, &no, json!({"action": "send_answer"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v.to_string().contains("0 of the 3 approvals"), "{v}");
    assert_eq!(
        count(&o.app, "SELECT COUNT(*) FROM outbox WHERE kind = 'answer'").await,
        0
    );
    assert_eq!(o.get(&no).await["status"], "answer_approved");
    o.app.stop().await;
}
both!(send_answer_rechecks_the_chain);
