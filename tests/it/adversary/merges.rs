//! Issue 21, item 16: merges are safe under concurrency and across people — A merged into B
//! and B into A at the same moment merge once (both rows locked in id order, the original
//! re-checked under the lock); a merge across complainants with proven identities, or across
//! confidentiality, is refused and moves nothing.

use aduan::db::Backend;
use aduan::workflow::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::helpers::*;
use crate::intake::sms;

fn merge(into: &str) -> serde_json::Value {
    json!({"action": "dismiss", "reason": "duplicate", "into": into})
}

async fn status(o: &Office, no: &str) -> String {
    o.get(no).await["status"].as_str().unwrap().to_string()
}

async fn merges_are_safe(backend: Backend) {
    let Some(o) = Office::start(backend, &[]).await else {
        return;
    };
    let phone = "+6281200000001";
    for i in 0..6 {
        let a = aduan::intake::submit(&o.app.core, sms(&format!("a{i}"), phone, "Jalan rusak"))
            .await
            .unwrap()
            .register_no;
        let b = aduan::intake::submit(
            &o.app.core,
            sms(&format!("b{i}"), phone, "Jalan rusak lagi"),
        )
        .await
        .unwrap()
        .register_no;
        assert_ne!(a, b);
        let (x, y) = tokio::join!(
            o.act(Role::FrontOffice, &a, merge(&b)),
            o.act(Role::SectionHead, &b, merge(&a)),
        );
        let ok = [x.0, y.0].iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(ok, 1, "pair {i}: {x:?} {y:?}");
        let open = [status(&o, &a).await, status(&o, &b).await]
            .iter()
            .filter(|s| *s != "dismissed")
            .count();
        assert_eq!(open, 1, "pair {i}: one original stays open");
        let merged_in: i64 = count(
            &o.app,
            &format!(
                "SELECT COUNT(*) FROM complaints WHERE merged_into IS NOT NULL \
                 AND register_no IN ('{a}', '{b}')"
            ),
        )
        .await;
        assert_eq!(merged_in, 1, "pair {i}");
    }
    // Another complainant's (proven by their own number): refused, nothing moved.
    let mine = aduan::intake::submit(&o.app.core, sms("m1", phone, "Lampu mati"))
        .await
        .unwrap()
        .register_no;
    let theirs = aduan::intake::submit(&o.app.core, sms("t1", "+6281200000002", "Lampu mati"))
        .await
        .unwrap()
        .register_no;
    let (s, v) = o.act(Role::FrontOffice, &theirs, merge(&mine)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("another complainant"), "{v}");
    assert_eq!(status(&o, &theirs).await, "registered");
    // Confidential into open: refused either way.
    let (secret, _) = o
        .app
        .submit(json!({"name": "Wati", "body": "Pungli", "confidential": true}))
        .await;
    let (plain, _) = o
        .app
        .submit(json!({"name": "Wati", "body": "Pungli"}))
        .await;
    for (from, into) in [(&secret, &plain), (&plain, &secret)] {
        let (s, v) = o.act(Role::FrontOffice, from, merge(into)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v.to_string().contains("confidentiality"), "{v}");
    }
    // Two web submissions (no proven identity, the officer judges): merged.
    let (again, _) = o
        .app
        .submit(json!({"name": "Wati", "body": "Pungli lagi"}))
        .await;
    let (s, v) = o.act(Role::FrontOffice, &again, merge(&plain)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    o.app.stop().await;
}
both!(merges_are_safe);
