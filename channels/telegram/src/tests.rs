use super::*;

#[test]
fn splits_on_utf16_units_and_spaces() {
    let t = "kata ".repeat(2000);
    let parts = split_text(&t, MAX_TEXT);
    assert!(parts.len() == 3);
    assert!(parts.iter().all(|p| p.encode_utf16().count() <= MAX_TEXT));
    assert_eq!(parts.concat(), t);
    assert!(parts[0].ends_with(' '));
    let e = "😀".repeat(3000); // 2 units each
    let parts = split_text(&e, MAX_TEXT);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].chars().count(), 2048);
    assert_eq!(parts.concat(), e);
    assert!(split_text("", 10).is_empty());
}

#[test]
fn config_checks() {
    let c: Config = toml::from_str("token = \"123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ\"").unwrap();
    assert!(c.problems().is_empty(), "{:?}", c.problems());
    assert!(!format!("{c:?}").contains("ABCDEF"));
    let c: Config = toml::from_str("token = \"x\"\napi_url = \"http://example.com\"").unwrap();
    let keys: Vec<_> = c.problems().into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        ["channels.telegram.token", "channels.telegram.api_url"]
    );
    let c: Config = toml::from_str(
        "token = \"1:ABCDEFGHIJKLMNOPQRSTUVWXYZ\"\napi_url = \"http://127.0.0.1:9\"",
    )
    .unwrap();
    assert!(c.problems().is_empty());
}
