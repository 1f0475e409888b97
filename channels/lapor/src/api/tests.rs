use super::*;
use serde_json::json;

#[test]
fn only_public_addresses_without_trust() {
    for (ip, public) in [
        ("93.184.216.34", true),
        ("103.10.20.30", true),
        ("127.0.0.1", false),
        ("10.1.2.3", false),
        ("172.16.0.1", false),
        ("192.168.1.1", false),
        ("169.254.169.254", false),
        ("100.64.0.1", false),
        ("0.0.0.0", false),
        ("::1", false),
        ("fd00::1", false),
        ("fe80::1", false),
        ("::ffff:127.0.0.1", false),
        ("2001:4860:4860::8888", true),
    ] {
        assert_eq!(is_public(ip.parse().unwrap()), public, "{ip}");
    }
    let ok = |u: &str| url_may_be_fetched(&url::Url::parse(u).unwrap());
    assert!(ok("https://files.lapor.go.id/a.jpg"));
    assert!(!ok("http://localhost:8080/x"));
    assert!(!ok("http://169.254.169.254/latest/meta-data"));
    assert!(!ok("http://[::1]/x"));
}

#[test]
fn api_calls_stay_on_the_configured_origin() {
    let api = test_api("https://api.example.go.id/lapor/3.0.0");
    assert_eq!(
        api.url("complaints/5/followups?page=1"),
        "https://api.example.go.id/lapor/3.0.0/complaints/5/followups?page=1"
    );
    assert_eq!(
        api.url("http://evil.example/lapor/3.0.0/complaints/5/followups?page=2"),
        "https://api.example.go.id/lapor/3.0.0/complaints/5/followups?page=2"
    );
    assert_eq!(
        api.url("https://api.example.go.id/lapor/3.0.0/complaints/5/followups?page=3"),
        "https://api.example.go.id/lapor/3.0.0/complaints/5/followups?page=3"
    );
    assert!(!api.base_private);
}

/// An API client for WIB (+07:00) that is never asked anything.
fn test_api(base: &str) -> Api {
    Api::new(base, "auth", "s", "t", Duration::from_secs(1), 7 * 3600).unwrap()
}

/// Arbitrary JSON of any shape: a JSON value generator for the readers below.
fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("results".to_string()),
            Just("data".to_string()),
            Just("data_logs".to_string()),
            Just("status_logs".to_string()),
            Just("attachments".to_string()),
            Just("path".to_string()),
            Just("file_name".to_string()),
            Just("content".to_string()),
            Just("created_at".to_string()),
            Just("next_page_url".to_string()),
            Just("id".to_string()),
            Just("status_new".to_string()),
            Just("name".to_string()),
            "[a-z_]{1,12}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    /// The LAPOR! readers take any JSON without panicking (run longer in CI).
    #[test]
    fn fuzz_lapor_json_readers(v in any_json(), t in "\\PC{0,30}") {
        let r = parse_report(&v);
        for l in &r.logs {
            proptest::prop_assert!(l.key.starts_with("log:"));
        }
        let api = test_api("http://127.0.0.1:1");
        let (items, _next) = parse_followups(&v, |s| api.parse_time(s));
        for f in &items {
            proptest::prop_assert!(f.key().starts_with("followup:"));
        }
        let _ = api.parse_time(&t);
        let _ = text(&v, &["results", "data", "id"]);
    }
}

#[test]
fn tolerant_fields() {
    let v = json!({"a": {"b": 7, "c": " x ", "d": null, "e": ""}});
    assert_eq!(text(&v, &["a", "b"]).as_deref(), Some("7"));
    assert_eq!(text(&v, &["a", "c"]).as_deref(), Some("x"));
    assert_eq!(text(&v, &["a", "d"]), None);
    assert_eq!(text(&v, &["a", "e"]), None);
    assert_eq!(text(&v, &["z"]), None);
    assert!(array(&v, &["a", "b"]).is_empty());
}

#[test]
fn times_and_keys() {
    let api = test_api("http://x");
    let t = api.parse_time("16-11-2026 09:30:00").unwrap();
    assert_eq!(t.to_rfc3339(), "2026-11-16T02:30:00+00:00");
    assert_eq!(api.parse_time("2026-11-16"), None);
    let f = Followup {
        id: None,
        created_at: None,
        created_raw: "16-11-2026 09:30:00".into(),
        from: "Dinas".into(),
        to: "Pelapor".into(),
        content: "Sedang diproses".into(),
        attachments: vec![],
    };
    assert!(f.key().starts_with("followup:h:"));
    assert_eq!(f.key(), f.clone().key());
    let g = Followup {
        id: Some("99".into()),
        ..f
    };
    assert_eq!(g.key(), "followup:99");
}
