//! The seeds' procedures, walked step by step through the API on both databases: the roles
//! allowed at each step, the step clocks against the standard (a fixed clock on the eve of
//! Christmas 2026, so clocks cross the holidays and a weekend), approvals bound to the exact
//! draft; the whole clock's pause, restart and the citizen's deadline; escalation; dismissal;
//! `sla recompute` after next year's holiday list arrives.

use aduan::db::Backend;
use aduan::sla::Standard;
use aduan::workflow::{Role, Status};
use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;

/// An instant given in WIB.
fn wib(s: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .unwrap()
        .and_local_timezone(FixedOffset::east_opt(7 * 3600).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Wednesday 23 December 2026, 15:30 WIB: the 24th is cuti bersama, the 25th Christmas, then a
/// weekend; office hours 08:00-16:00.
const T: &str = "2026-12-23 15:30";

/// Each standard the shipped profiles use, started at [`T`], computed by hand.
fn due_at_t(std: Standard) -> DateTime<Utc> {
    let s = std.to_string();
    let at = match s.as_str() {
        "5 min" => "2026-12-23 15:35",
        "10 min" => "2026-12-23 15:40",
        "15 min" => "2026-12-23 15:45",
        "30 min" => "2026-12-23 16:00",
        // Half an hour before the close, the rest after Christmas and the weekend.
        "1 h" => "2026-12-28 08:30",
        "2 h" => "2026-12-28 09:30",
        "1 working day" => "2026-12-28 16:00",
        "2 working days" => "2026-12-29 16:00",
        // 28, 29, 30, 31 Dec; 4, 6, 7, 8 Jan (1 Jan and Isra Mikraj on 5 Jan are off).
        "8 working days" => "2027-01-08 16:00",
        "14 days" => "2027-01-07 00:00",
        other => panic!("no hand-computed deadline for `{other}`"),
    };
    wib(at)
}

const SIGNER: &str = "Drs. Bambang Sutrisno, M.Si";
const SIGNER_NIP: &str = "19680512 199003 1 004";

async fn office(backend: Backend, procedure: &str) -> Option<Office> {
    Office::start(
        backend,
        &[
            ("ADUAN_OFFICE__PROCEDURE", procedure),
            ("ADUAN_LETTER__SIGNER_NAME", SIGNER),
            ("ADUAN_LETTER__SIGNER_NIP", SIGNER_NIP),
            ("ADUAN_LETTER__ANSWER_NUMBER", "500.16/{seq}/DPMPTSP/{year}"),
        ],
    )
    .await
}

/// Sets the register's clock to an instant given in WIB.
fn set_clock(o: &Office, at: &str) {
    o.app.core.clock.set(Some(wib(at)));
}

fn ms(v: &Value) -> Option<DateTime<Utc>> {
    v.as_i64().and_then(DateTime::from_timestamp_millis)
}

/// One move of a walk: who, what, and where it leads.
type Move = (Role, Value, Status);

/// Walks `moves` from registration at [`T`]. At every step: a role the procedure does not list
/// for the move is refused (403), the listed one succeeds, and the new step's clock is the
/// hand-computed deadline of its standard.
async fn walk(o: &Office, moves: &[Move]) -> String {
    set_clock(o, T);
    let (no, _) = o
        .app
        .submit(json!({"name": "Ibu Sari", "body": "Izin usaha saya belum terbit"}))
        .await;
    let p = &o.app.core.procedure;
    let mut status = Status::Registered;
    let mut approvals = 0;
    let mut letters = 0;
    let c = o.get(&no).await;
    assert_eq!(
        ms(&c["step_due_at"]),
        p.step(status).and_then(|s| s.standard).map(due_at_t),
        "{} registered",
        p.name
    );
    for (role, body, to) in moves {
        let action = body["action"].as_str().unwrap();
        // A role the procedure does not name for this move is refused, and changes nothing.
        let allowed: Vec<Role> = if action == "approve" {
            vec![p.approvals()[approvals].role]
        } else {
            p.step(status)
                .and_then(|s| s.next.iter().find(|(t, _)| t == to))
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| panic!("{}: {status} → {to} is not a move", p.name))
        };
        assert!(
            allowed.contains(role),
            "{}: {role} not listed for {action}",
            p.name
        );
        for other in Role::ALL
            .into_iter()
            .filter(|r| *r != Role::Admin && !allowed.contains(r))
        {
            let (s, _) = o.act(other, &no, body.clone()).await;
            assert_eq!(
                s,
                StatusCode::FORBIDDEN,
                "{}: {other} may not {action} at {status}",
                p.name
            );
        }
        let (s, v) = if action == "record_field_review" {
            // The report (BAP) is required: refused without it, recorded with it.
            let (s, _) = o.act(*role, &no, body.clone()).await;
            assert_eq!(
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}: BAP required",
                p.name
            );
            action_with_files(
                &o.app,
                &o.tokens[role],
                &no,
                &[
                    ("action", action),
                    ("note", "BAP ditandatangani para pihak"),
                ],
                &[("bap.pdf", "application/pdf", b"%PDF-1.4 BAP")],
            )
            .await
        } else {
            o.act(*role, &no, body.clone()).await
        };
        assert_eq!(
            s,
            StatusCode::OK,
            "{}: {role} {action} at {status}: {v}",
            p.name
        );
        assert_eq!(v["status"], to.as_str(), "{}", p.name);
        approvals = if action == "approve" && *to == Status::AnswerDrafted {
            approvals + 1
        } else {
            0
        };
        status = *to;
        let want = if status.is_final() {
            None
        } else if status == Status::Incomplete {
            Some(due_at_t(p.completion_deadline))
        } else if status == Status::AnswerDrafted && !p.approvals().is_empty() {
            let a = &p.approvals()[approvals];
            a.standard
                .or(p.step(status).unwrap().standard)
                .map(due_at_t)
        } else {
            p.step(status).and_then(|s| s.standard).map(due_at_t)
        };
        assert_eq!(ms(&v["step_due_at"]), want, "{}: clock of {status}", p.name);
        if action == "decide_field_review" {
            // The parties are invited by a numbered letter (the year's first), with the
            // decision's note as its time and place.
            let text = pdf_text(&o.letter(&no, "invitation").await);
            for want in [
                "005/1/PENGADUAN/2026",
                "Undangan Peninjauan Lapangan",
                &no,
                SIGNER,
                "catatan decide_field_review",
            ] {
                assert!(
                    text.contains(want),
                    "{}: `{want}` in the invitation: {text}",
                    p.name
                );
            }
            letters += 1;
        }
        if action == "send_answer" {
            // The answer went as the year's next numbered letter (one sequence for all the
            // office's letters), signed, with the complaint's number; answered when the
            // tracking page published it.
            let text = pdf_text(&o.letter(&no, "answer").await);
            let number = format!("500.16/{}/DPMPTSP/2026", letters + 1);
            for want in [
                number.as_str(),
                &no,
                SIGNER,
                &format!("NIP. {SIGNER_NIP}"),
                "Ibu Sari",
                "catatan draft_answer",
            ] {
                assert!(
                    text.contains(want),
                    "{}: `{want}` in the letter: {text}",
                    p.name
                );
            }
            assert!(
                eventually(10, || async { !o.get(&no).await["answered_at"].is_null() }).await,
                "{}: the published answer sets answered_at",
                p.name
            );
            assert_eq!(ms(&o.get(&no).await["answered_at"]), Some(wib(T)));
        }
    }
    no
}

fn act(action: &str) -> Value {
    json!({"action": action, "note": format!("catatan {action}")})
}

async fn seed_binjai(backend: Backend) {
    let Some(o) = office(backend, "binjai").await else {
        return;
    };
    use Role::*;
    let no = walk(
        &o,
        &[
            (SectionHead, act("verify"), Status::Verified),
            (
                DivisionHead,
                json!({"action": "dispose", "note": "selesaikan", "assignee": "section_head"}),
                Status::Disposed,
            ),
            (SectionHead, act("draft_answer"), Status::AnswerDrafted),
            (DivisionHead, act("approve"), Status::AnswerDrafted),
            (HeadOfOffice, act("approve"), Status::AnswerApproved),
            (FrontOffice, act("send_answer"), Status::Answered),
            (FrontOffice, act("close"), Status::Closed),
        ],
    )
    .await;
    // Binjai's Kadis signs but does not dispose; no field review, no study.
    let p = &o.app.core.procedure;
    assert!(p.step(Status::FieldReview).is_none() && p.step(Status::Studied).is_none());
    assert!(!p.role_may_ever(Status::Disposed, HeadOfOffice));
    assert_eq!(o.get(&no).await["status"], "closed");
    o.app.stop().await;
}
both!(seed_binjai);

async fn seed_madiun(backend: Backend) {
    let Some(o) = office(backend, "madiun").await else {
        return;
    };
    use Role::*;
    walk(
        &o,
        &[
            (SectionHead, act("verify"), Status::Verified),
            (
                DivisionHead,
                json!({"action": "dispose", "note": "koordinasikan", "assignee": "technical_team"}),
                Status::Disposed,
            ),
            (TechnicalTeam, act("draft_answer"), Status::AnswerDrafted),
            // Online: the admin sends the answer without a signature step.
            (FrontOffice, act("send_answer"), Status::Answered),
            (FrontOffice, act("close"), Status::Closed),
        ],
    )
    .await;
    assert!(o.app.core.procedure.approvals().is_empty());
    o.app.stop().await;
}
both!(seed_madiun);

async fn seed_pagar_alam(backend: Backend) {
    let Some(o) = office(backend, "pagar_alam").await else {
        return;
    };
    use Role::*;
    // The Kadis disposes to a section (003 #7), with the instruction.
    aduan::register::units::add(&o.app.core.db, "Seksi Pengawasan", 0)
        .await
        .unwrap();
    let no = walk(
        &o,
        &[
            (SectionHead, act("verify"), Status::Verified),
            (SectionHead, act("decide_field_review"), Status::FieldReview),
            (TechnicalTeam, act("record_field_review"), Status::FieldReviewed),
            (SectionHead, act("study"), Status::Studied),
            (
                HeadOfOffice,
                json!({"action": "dispose", "note": "siapkan surat balasan", "unit": "Seksi Pengawasan"}),
                Status::Disposed,
            ),
            (SectionHead, act("draft_answer"), Status::AnswerDrafted),
            (HeadOfOffice, act("approve"), Status::AnswerApproved),
            (FrontOffice, act("send_answer"), Status::Answered),
            (FrontOffice, act("close"), Status::Closed),
        ],
    )
    .await;
    let c = o.get(&no).await;
    assert_eq!(c["close_reason"], Value::Null);
    assert_eq!(c["unit"], "Seksi Pengawasan");
    assert_eq!(c["instruction"], "siapkan surat balasan");
    // The BAP is the complaint's document; both letters are listed.
    assert_eq!(c["documents"][0]["kind"], "bap");
    let kinds: Vec<&str> = c["letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["answer", "invitation"]);
    o.app.stop().await;
}
both!(seed_pagar_alam);

async fn seed_lapor(backend: Backend) {
    let Some(o) = office(backend, "lapor").await else {
        return;
    };
    use Role::*;
    walk(
        &o,
        &[
            (SectionHead, act("verify"), Status::Verified),
            (SectionHead, act("study"), Status::Studied),
            (
                DivisionHead,
                json!({"action": "dispose", "note": "susun jawaban", "assignee": "section_head"}),
                Status::Disposed,
            ),
            (SectionHead, act("draft_answer"), Status::AnswerDrafted),
            (DivisionHead, act("approve"), Status::AnswerDrafted),
            (Secretary, act("approve"), Status::AnswerDrafted),
            (HeadOfOffice, act("approve"), Status::AnswerApproved),
            (FrontOffice, act("send_answer"), Status::Answered),
            (FrontOffice, act("close"), Status::Closed),
        ],
    )
    .await;
    o.app.stop().await;
}
both!(seed_lapor);

/// The default (the union): every step, a return for completion on the way.
async fn seed_default_union(backend: Backend) {
    let Some(o) = office(backend, "default").await else {
        return;
    };
    use Role::*;
    walk(
        &o,
        &[
            (SectionHead, act("verify"), Status::Verified),
            (FrontOffice, act("return_incomplete"), Status::Incomplete),
            (FrontOffice, act("complete"), Status::Registered),
            (SectionHead, act("verify"), Status::Verified),
            (
                DivisionHead,
                act("decide_field_review"),
                Status::FieldReview,
            ),
            (
                TechnicalTeam,
                act("record_field_review"),
                Status::FieldReviewed,
            ),
            (SectionHead, act("study"), Status::Studied),
            (
                HeadOfOffice,
                json!({"action": "dispose", "note": "tindak lanjuti", "assignee": "section_head"}),
                Status::Disposed,
            ),
            (SectionHead, act("draft_answer"), Status::AnswerDrafted),
            (DivisionHead, act("approve"), Status::AnswerDrafted),
            (Secretary, act("approve"), Status::AnswerDrafted),
            (HeadOfOffice, act("approve"), Status::AnswerApproved),
            (FrontOffice, act("send_answer"), Status::Answered),
            (FrontOffice, act("close"), Status::Closed),
        ],
    )
    .await;
    o.app.stop().await;
}
both!(seed_default_union);

/// Approvals bind to the exact draft: after an edit the chain starts again, and what is sent is
/// the text the last approver signed.
async fn approvals_are_bound_to_the_draft(backend: Backend) {
    let Some(o) = office(backend, "default").await else {
        return;
    };
    use Role::*;
    let (no, _) = o.app.submit(json!({"body": "Jalan rusak"})).await;
    for (role, body) in [
        (SectionHead, act("verify")),
        (
            SectionHead,
            json!({"action": "draft_answer", "note": "Versi satu"}),
        ),
        (DivisionHead, act("approve")),
    ] {
        assert_eq!(o.act(role, &no, body).await.0, StatusCode::OK);
    }
    // An administrator approves in no one's name.
    let (s, v) = o.act(Admin, &no, act("approve")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // The Kadis may not sign before the Sekretaris initials.
    let (s, v) = o.act(HeadOfOffice, &no, act("approve")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(v.to_string().contains("secretary"), "{v}");
    // The Kadis edits the draft: the Kabid's initial was for version one.
    let (s, _) = o
        .act(
            HeadOfOffice,
            &no,
            json!({"action": "draft_answer", "note": "Versi dua"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = o.act(Secretary, &no, act("approve")).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the chain starts again at the Kabid: {v}"
    );
    for role in [DivisionHead, Secretary] {
        assert_eq!(
            o.act(role, &no, act("approve")).await.1["status"],
            "answer_drafted"
        );
    }
    // Two approvals of the same stage at once: one is recorded.
    let (a, b) = tokio::join!(
        o.act(HeadOfOffice, &no, act("approve")),
        o.act(HeadOfOffice, &no, act("approve")),
    );
    let mut st = [a.0, b.0];
    st.sort();
    assert_eq!(st, [StatusCode::OK, StatusCode::CONFLICT]);
    assert_eq!(o.get(&no).await["status"], "answer_approved");
    let v1 = aduan::register::sha256_hex(b"Versi satu");
    let v2 = aduan::register::sha256_hex(b"Versi dua");
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT draft_sha256, stage, kind FROM approvals ORDER BY id")
            .fetch_all(&o.app.core.db.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (v1.clone(), 0, "initial".to_string()),
            (v2.clone(), 0, "initial".into()),
            (v2.clone(), 1, "initial".into()),
            (v2, 2, "sign".into()),
        ]
    );
    assert_eq!(
        o.act(FrontOffice, &no, act("send_answer")).await.0,
        StatusCode::OK
    );
    let body: String = sqlx::query_scalar("SELECT body FROM outbox WHERE kind = 'answer'")
        .fetch_one(&o.app.core.db.pool)
        .await
        .unwrap();
    assert!(
        body.contains("Versi dua") && !body.contains("Versi satu"),
        "{body}"
    );
    o.app.stop().await;
}
both!(approvals_are_bound_to_the_draft);

/// The whole clock: after-hours receipt, the pause while waiting for the citizen, the restart
/// of a file returned at its first check, and the citizen's deadline.
async fn whole_clock_pauses_and_restarts(backend: Backend) {
    let Some(o) = office(backend, "default").await else {
        return;
    };
    use Role::*;
    // Received Monday 23 Nov 2026 10:00: 7 working days → Wednesday 2 Dec at the close.
    set_clock(&o, "2026-11-23 10:00");
    let (a, _) = o.app.submit(json!({"body": "A"})).await;
    assert_eq!(
        ms(&o.get(&a).await["due_at"]),
        Some(wib("2026-12-02 16:00"))
    );
    // Saturday and Monday before opening: the same clock as Monday 08:00, not a shorter one.
    for at in ["2026-11-21 11:00", "2026-11-23 06:00"] {
        set_clock(&o, at);
        let (x, _) = o.app.submit(json!({"body": "sabtu"})).await;
        let c = o.get(&x).await;
        assert_eq!(ms(&c["due_at"]), Some(wib("2026-12-02 16:00")), "{at}");
        assert_eq!(c["due_date"], "2026-12-02");
    }
    // Verified Tuesday 10:00, returned the same minute, completed Thursday 10:00: two working
    // days of waiting move the deadline by two working days.
    set_clock(&o, "2026-11-24 10:00");
    assert_eq!(
        o.act(SectionHead, &a, act("verify")).await.0,
        StatusCode::OK
    );
    let (_, v) = o.act(FrontOffice, &a, act("return_incomplete")).await;
    assert_eq!(v["status"], "incomplete");
    assert_eq!(
        ms(&v["step_due_at"]),
        Some(wib("2026-12-09 00:00")),
        "14 days to complete"
    );
    // Waiting for the citizen is never overdue, even past the old due date.
    set_clock(&o, "2026-12-03 10:00");
    assert_eq!(o.get(&a).await["overdue"], false);
    set_clock(&o, "2026-11-26 10:00");
    let (_, v) = o.act(FrontOffice, &a, act("complete")).await;
    assert_eq!(v["status"], "registered");
    assert_eq!(ms(&v["due_at"]), Some(wib("2026-12-04 16:00")));
    // Returned at its first check: the clock starts when the file is complete.
    set_clock(&o, "2026-11-23 10:00");
    let (b, _) = o.app.submit(json!({"body": "B"})).await;
    set_clock(&o, "2026-11-23 10:15");
    assert_eq!(
        o.act(FrontOffice, &b, act("return_incomplete")).await.0,
        StatusCode::OK
    );
    set_clock(&o, "2026-11-26 10:00");
    let (_, v) = o.act(FrontOffice, &b, act("complete")).await;
    assert_eq!(
        ms(&v["due_at"]),
        Some(wib("2026-12-07 16:00")),
        "7 working days from Thursday"
    );
    assert_eq!(v["due_date"], "2026-12-07");
    o.app.stop().await;
}
both!(whole_clock_pauses_and_restarts);

/// The citizen's deadline closes a returned file with notice; a step past its standard is
/// escalated once; both show in the audit trail and `/metrics`.
async fn deadlines_close_and_escalate(backend: Backend) {
    let Some(o) = office(backend, "default").await else {
        return;
    };
    use Role::*;
    set_clock(&o, "2026-11-23 10:00");
    let (returned, _) = o
        .app
        .submit(json!({"body": "tanpa KTP", "email": "sari@example.org"}))
        .await;
    let (waiting, _) = o.app.submit(json!({"body": "belum diverifikasi"})).await;
    assert_eq!(
        o.act(FrontOffice, &returned, act("return_incomplete"))
            .await
            .0,
        StatusCode::OK
    );
    let core = &o.app.core;
    // Before any deadline: nothing to do.
    assert_eq!(
        aduan::workflow::clock::sweep(core).await.unwrap(),
        Default::default()
    );
    // Tuesday 16:01: the verification step (1 working day) has passed; the file is still
    // within its 14 days.
    set_clock(&o, "2026-11-24 16:01");
    let s = aduan::workflow::clock::sweep(core).await.unwrap();
    assert_eq!((s.closed, s.escalated), (0, 1));
    assert_eq!(
        aduan::workflow::clock::sweep(core).await.unwrap().escalated,
        0,
        "once"
    );
    let id: i64 = sqlx::query_scalar("SELECT id FROM complaints WHERE register_no = $1")
        .bind(&waiting)
        .fetch_one(&core.db.pool)
        .await
        .unwrap();
    let trail = aduan::register::audit::of(&core.db.pool, id).await.unwrap();
    let escalated: Vec<_> = trail
        .iter()
        .filter(|a| a.event.name() == "escalate")
        .collect();
    assert_eq!(escalated.len(), 1, "{trail:?}");
    assert!(
        matches!(
            escalated[0].event,
            aduan::register::audit::AuditEvent::Escalated {
                owner: Some(Role::SectionHead),
                superior: Some(Role::DivisionHead),
                ..
            }
        ),
        "{escalated:?}"
    );
    // 8 December 00:00 WIB: the 14 days are over.
    set_clock(&o, "2026-12-08 00:01");
    let s = aduan::workflow::clock::sweep(core).await.unwrap();
    assert_eq!(s.closed, 1);
    let c = o.get(&returned).await;
    assert_eq!(
        (c["status"].as_str(), c["close_reason"].as_str()),
        (Some("closed"), Some("not_completed"))
    );
    let notices: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
         WHERE o.kind = 'closed_incomplete' AND c.register_no = $1",
    )
    .bind(&returned)
    .fetch_one(&core.db.pool)
    .await
    .unwrap();
    assert!(notices >= 1, "the complainant is told");
    assert_eq!(aduan::workflow::clock::sweep(core).await.unwrap().closed, 0);
    let metrics = o
        .app
        .http
        .get(o.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "aduan_incomplete_closed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "aduan_step_escalations_total 1"),
        "{metrics}"
    );
    o.app.stop().await;
}
both!(deadlines_close_and_escalate);

/// Spam, duplicates and robots are closed without a word to the sender.
async fn dismissal_is_silent(backend: Backend) {
    let Some(o) = office(backend, "default").await else {
        return;
    };
    use Role::*;
    let (no, _) = o
        .app
        .submit(json!({"body": "MENANGKAN HADIAH", "email": "x@example.org"}))
        .await;
    let core = &o.app.core;
    let before: i64 = scalar(&core.db, "SELECT COUNT(*) FROM outbox").await;
    let (s, v) = o.act(FrontOffice, &no, json!({"action": "dismiss"})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required: {v}"
    );
    assert_eq!(
        o.act(
            TechnicalTeam,
            &no,
            json!({"action": "dismiss", "reason": "spam"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = o
        .act(
            FrontOffice,
            &no,
            json!({"action": "dismiss", "reason": "spam"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["close_reason"].as_str()),
        (Some("dismissed"), Some("spam"))
    );
    assert_eq!(v["step_due_at"], Value::Null);
    assert_eq!(
        scalar(&core.db, "SELECT COUNT(*) FROM outbox").await,
        before,
        "nothing sent"
    );
    let dismissed = aduan::register::audit::named(&core.db, "dismiss")
        .await
        .unwrap();
    assert_eq!(dismissed.len(), 1);
    assert!(matches!(
        &dismissed[0].event,
        aduan::register::audit::AuditEvent::Dismissed {
            reason: aduan::workflow::DismissReason::Spam,
            into: None,
            ..
        }
    ));
    o.app.stop().await;
}
both!(dismissal_is_silent);

/// The 2027 example: received Mon 2026-12-28 by an office whose configuration names
/// only the 2026 list (the shipped lists turned off), due Wed 2027-01-06 and flagged; once the
/// 2027 list is in force, `sla recompute` gives Fri 2027-01-08 (1 January and Isra Mikraj on
/// 5 January off) and clears the flag.
async fn recompute_after_next_years_list(backend: Backend) {
    let Some(o) = Office::start(
        backend,
        &[
            ("ADUAN_OFFICE__PROCEDURE", "default"),
            ("ADUAN_OFFICE__NATIONAL_HOLIDAYS", "false"),
            ("ADUAN_OFFICE__HOLIDAY_FILES", "[\"holidays-id-2026.toml\"]"),
        ],
    )
    .await
    else {
        return;
    };
    set_clock(&o, "2026-12-28 10:00");
    let (no, _) = o.app.submit(json!({"body": "akhir tahun"})).await;
    let c = o.get(&no).await;
    assert_eq!(
        (c["due_date"].as_str(), c["calendar_gap"].as_i64()),
        (Some("2027-01-06"), Some(2027))
    );
    // A second daemon (or `aduan sla recompute`) with the shipped lists (2027 too).
    let cfg = test_config(&o.app.db.as_ref().unwrap().url, &[]);
    let core2 = std::sync::Arc::try_unwrap(open_core(&cfg).await)
        .ok()
        .unwrap();
    core2.clock.set(Some(wib("2026-12-29 09:00")));
    let r = aduan::workflow::clock::recompute(&core2).await.unwrap();
    assert_eq!((r.open, r.changed, r.gaps), (1, 1, 0));
    let c = o.get(&no).await;
    assert_eq!(
        (c["due_date"].as_str(), c["calendar_gap"].as_i64()),
        (Some("2027-01-08"), None)
    );
    assert_eq!(ms(&c["due_at"]), Some(wib("2027-01-08 16:00")));
    // Nothing changes the second time.
    assert_eq!(
        aduan::workflow::clock::recompute(&core2)
            .await
            .unwrap()
            .changed,
        0
    );
    core2.db.close().await;
    o.app.stop().await;
}
both!(recompute_after_next_years_list);

/// The complainant answering the request to complete (an SMS from the proven number) brings the
/// file back to be checked: the pause ends and the whole clock runs on by the time it waited.
async fn the_citizens_answer_resumes_the_clock(backend: Backend) {
    let Some(o) = office(backend, "default").await else {
        return;
    };
    let core = &o.app.core;
    let sms = |ext: &str, text: &str| {
        aduan_channel::InboundMessage::new(
            aduan_channel::ChannelKind::Sms,
            ext,
            aduan_channel::Address::Phone("+6281234567890".into()),
            text,
        )
    };
    set_clock(&o, "2026-11-23 10:00");
    let first = aduan::intake::submit(core, sms("m:1", "Lampu jalan mati"))
        .await
        .unwrap();
    let no = first.register_no;
    set_clock(&o, "2026-11-24 10:00");
    assert_eq!(
        o.act(Role::SectionHead, &no, act("verify")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        o.act(Role::FrontOffice, &no, act("return_incomplete"))
            .await
            .0,
        StatusCode::OK
    );
    set_clock(&o, "2026-11-26 10:00");
    aduan::intake::submit(core, sms("m:2", &format!("{no} lokasinya di depan SD 3")))
        .await
        .unwrap();
    let c = o.get(&no).await;
    assert_eq!(c["status"], "registered");
    assert_eq!(ms(&c["due_at"]), Some(wib("2026-12-04 16:00")));
    assert_eq!(ms(&c["step_started_at"]), Some(wib("2026-11-26 10:00")));
    assert_eq!(ms(&c["step_due_at"]), Some(wib("2026-11-27 16:00")));
    let open: i64 = scalar(
        &core.db,
        "SELECT COUNT(*) FROM clock_pauses WHERE resumed_at IS NULL",
    )
    .await;
    assert_eq!(open, 0);
    o.app.stop().await;
}
both!(the_citizens_answer_resumes_the_clock);

/// A duplicate merged into its original: the thread moves over, the sender is told the
/// original's number; the original must be another, open complaint.
async fn duplicates_merge_into_their_original(backend: Backend) {
    let Some(o) = office(backend, "default").await else {
        return;
    };
    use Role::*;
    let (orig, _) = o
        .app
        .submit(json!({"name": "Ani", "body": "Lampu jalan Jl. Mawar mati", "email": "ani@example.org"}))
        .await;
    let (dup, _) = o
        .app
        .submit(json!({"name": "Ani", "body": "Lampu jalan Jl. Mawar masih mati", "email": "ani@example.org"}))
        .await;
    let merge =
        |into: &str, reason: &str| json!({"action": "dismiss", "reason": reason, "into": into});
    for (body, why) in [
        (merge(&dup, "duplicate"), "into itself"),
        (merge("ADU-2026-999999", "duplicate"), "unknown original"),
        (merge(&orig, "spam"), "`into` only with duplicate"),
    ] {
        let (s, v) = o.act(FrontOffice, &dup, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {v}");
    }
    let (s, v) = o.act(FrontOffice, &dup, merge(&orig, "duplicate")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "dismissed");
    assert_eq!(v["close_reason"], "duplicate");
    assert_eq!(v["merged_into"], orig.as_str());
    // The thread moved: the original holds both messages.
    let thread = o.get(&orig).await["thread"].as_array().unwrap().clone();
    let bodies: Vec<&str> = thread
        .iter()
        .filter(|m| m["direction"] == "in")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "Lampu jalan Jl. Mawar mati",
            "Lampu jalan Jl. Mawar masih mati"
        ]
    );
    assert!(o.get(&orig).await["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "merged_in"));
    // The sender is told the original's number, through the duplicate's reply targets.
    let told = count(
        &o.app,
        &format!(
            "SELECT COUNT(*) FROM outbox o JOIN complaints c ON c.id = o.complaint_id \
             WHERE c.register_no = '{dup}' AND o.kind = 'merged' AND o.body LIKE '%{orig}%'"
        ),
    )
    .await;
    assert!(told >= 1, "the sender is told {orig}");
    // A closed original cannot take a merge.
    let (third, _) = o.app.submit(json!({"body": "Lampu mati lagi"})).await;
    let (s, _) = o
        .act(
            FrontOffice,
            &dup,
            json!({"action": "dismiss", "reason": "spam"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "the duplicate is dismissed already"
    );
    let (s, v) = o.act(FrontOffice, &third, merge(&dup, "duplicate")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    o.app.stop().await;
}
both!(duplicates_merge_into_their_original);

/// The recap's per-step figures against a hand-computed fixture (Madiun: 5 minutes a step,
/// one working day to close after the answer; office hours 08:00–16:00 WIB).
async fn recap_per_step_matches_the_fixture(backend: Backend) {
    let Some(o) = office(backend, "madiun").await else {
        return;
    };
    use Role::*;
    let step = |at: &'static str, role: Role, no: String, body: Value| {
        let o = &o;
        async move {
            set_clock(o, at);
            let (s, v) = o.act(role, &no, body).await;
            assert_eq!(s, StatusCode::OK, "{at}: {v}");
        }
    };
    set_clock(&o, "2026-12-02 09:00");
    let (a, _) = o.app.submit(json!({"body": "Izin belum terbit"})).await;
    set_clock(&o, "2026-12-02 10:00");
    let (b, _) = o.app.submit(json!({"body": "Antrian lama"})).await;
    // A: registered 3 min (within), verified 17 min (over), disposed 4 min (within), drafted
    // 6 h 34 min = 394 working min (over), answered from Wed 15:58 to Thu 10:00 = 2 + 120 =
    // 122 working min (within one working day).
    step("2026-12-02 09:03", SectionHead, a.clone(), act("verify")).await;
    step(
        "2026-12-02 09:20",
        DivisionHead,
        a.clone(),
        json!({"action": "dispose", "note": "tindak lanjuti", "assignee": "section_head"}),
    )
    .await;
    step(
        "2026-12-02 09:24",
        SectionHead,
        a.clone(),
        act("draft_answer"),
    )
    .await;
    step(
        "2026-12-02 15:58",
        FrontOffice,
        a.clone(),
        act("send_answer"),
    )
    .await;
    step("2026-12-03 10:00", FrontOffice, a.clone(), act("close")).await;
    // B: registered 30 min (over), then waits in verified past its standard.
    step("2026-12-02 10:30", SectionHead, b.clone(), act("verify")).await;
    set_clock(&o, "2026-12-04 09:00");
    let r = aduan::recap::compute(&o.app.core, aduan::recap::Period::month(2026, 12).unwrap())
        .await
        .unwrap();
    // (step, stays, within, over, running, running over, median working minutes)
    type Row = (Status, i64, i64, i64, i64, i64, Option<f64>);
    let got: Vec<Row> = r
        .steps
        .iter()
        .map(|x| {
            (
                x.status,
                x.stays,
                x.within,
                x.over,
                x.running,
                x.running_over,
                x.median_minutes,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // Nearest-rank median of [3, 30]: 3.
            (Status::Registered, 2, 1, 1, 0, 0, Some(3.0)),
            (Status::Verified, 1, 0, 1, 1, 1, Some(17.0)),
            (Status::Disposed, 1, 1, 0, 0, 0, Some(4.0)),
            (Status::AnswerDrafted, 1, 0, 1, 0, 0, Some(394.0)),
            (Status::Answered, 1, 1, 0, 0, 0, Some(122.0)),
        ]
    );
    assert_eq!(r.steps[0].standard, "5 min");
    assert_eq!(r.steps[4].standard, "1 working day");
    let csv = aduan::recap::csv(&aduan::recap::Period::month(2026, 12).unwrap(), &r);
    for line in [
        "step_over_standard,verified,1",
        "step_running_over_standard,verified,1",
        "step_median_working_minutes,answer_drafted,394",
    ] {
        assert!(csv.contains(line), "{line} in {csv}");
    }
    o.app.stop().await;
}
both!(recap_per_step_matches_the_fixture);
