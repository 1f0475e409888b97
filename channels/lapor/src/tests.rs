use super::*;

#[test]
fn config_and_offsets() {
    let c: Config = toml::from_str(
        "secret = \"s\"\ntoken = \"8f0c-11\"\nuser_id = 12\ninstitution_id = \"34\"",
    )
    .unwrap();
    assert!(c.problems().is_empty(), "{:?}", c.problems());
    assert!(!format!("{c:?}").contains("8f0c"));
    assert_eq!(parse_offset("+07:00"), Some(25200));
    assert_eq!(parse_offset("-03:30"), Some(-12600));
    assert_eq!(parse_offset("07:00"), None);
    let bad: Config = toml::from_str(
        "base_url = \"http://lapor.example\"\nauth_header = \"X\"\nuser_id = \"\"\ninstitution_id = \"1\"",
    )
    .unwrap();
    let keys: Vec<_> = bad.problems().into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "channels.lapor.base_url",
            "channels.lapor.auth_header",
            "channels.lapor.secret",
            "channels.lapor.token",
            "channels.lapor.user_id"
        ]
    );
}

#[test]
fn notifications() {
    assert_eq!(
        tracking_id_in("Laporan #5312345 telah didisposikan").as_deref(),
        Some("5312345")
    );
    assert_eq!(
        tracking_id_in("Tracking ID: LAP-20261116").as_deref(),
        Some("LAP-20261116")
    );
    assert_eq!(
        tracking_id_in("ID Laporan 1234567 menunggu").as_deref(),
        Some("1234567")
    );
    assert_eq!(tracking_id_in("Nomor #12 saja"), None);
    assert_eq!(tracking_id_in("tidak ada nomor"), None);
    let c: Config = toml::from_str("user_id = 1\ninstitution_id = 2").unwrap();
    assert!(c.is_notification_sender("noreply@lapor.go.id"));
    assert!(c.is_notification_sender("info@mail.lapor.go.id"));
    assert!(!c.is_notification_sender("warga@notlapor.go.id"));
}

#[test]
fn links_and_ids() {
    let m = link_message("5312345", "siti");
    assert_eq!(m.external_id, "link:5312345");
    assert_eq!(m.hints.conversation.as_deref(), Some("5312345"));
    assert!(m.auto_generated);
    assert!(valid_tracking_id("LAP-2026_01"));
    assert!(!valid_tracking_id("1; DROP"));
    assert!(!valid_tracking_id(""));
}
