use super::*;

/// The config loader takes any text and any environment: every problem is reported,
/// nothing panics (run longer in CI). Inputs are the shipped config with lines dropped,
/// duplicated and values replaced, plus overrides of real keys with arbitrary values.
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const KEYS: [&str; 12] = [
        "ADUAN_WEB__MAX_CONNECTIONS",
        "ADUAN_WEB__TRUSTED_PROXY_HOPS",
        "ADUAN_WEB__LISTEN",
        "ADUAN_OFFICE__UTC_OFFSET",
        "ADUAN_OFFICE__SLA_WORKING_DAYS",
        "ADUAN_INTAKE__MAX_ATTACHMENT_BYTES",
        "ADUAN_OUTBOX__HEARTBEAT_SECS",
        "ADUAN_DATABASE_URL",
        "ADUAN_CHANNELS__SMS__MODEMS",
        "ADUAN_CHANNELS__TELEGRAM__TOKEN",
        "ADUAN_CHANNELS__LAPOR__BASE_URL",
        "ADUAN_NOT__A_KEY",
    ];

    proptest! {
        #[test]
        fn fuzz_config_loader(
            edits in proptest::collection::vec((0usize..400, 0u8..3, "\\PC{0,30}"), 0..8),
            env in proptest::collection::vec((0usize..KEYS.len(), "\\PC{0,30}"), 0..6),
        ) {
            let mut lines: Vec<String> = DEFAULT_CONFIG.lines().map(str::to_string).collect();
            for (pos, op, text) in edits {
                let i = pos % lines.len().max(1);
                match op {
                    0 => { lines.remove(i.min(lines.len().saturating_sub(1))); }
                    1 => lines.insert(i, text),
                    _ => {
                        if let Some((k, _)) = lines[i].clone().split_once('=') {
                            lines[i] = format!("{k}= {text}");
                        }
                    }
                }
                if lines.is_empty() {
                    lines.push(String::new());
                }
            }
            let env: BTreeMap<String, String> =
                env.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)).collect();
            let loaded = load_text(Loaded::default(), &lines.join("\n"), &env);
            let _ = loaded.into_result();
        }
    }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn embedded_default_is_valid() {
    let l = load(None, &BTreeMap::new());
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let c = l.config.unwrap();
    assert_eq!(c.web.listen.to_string(), "127.0.0.1:8080");
    assert!(c.database_url().starts_with("sqlite://"));
}

/// The commented channel examples in the embedded config, uncommented, are valid as shipped
/// (passwords from the environment).
#[test]
fn commented_channel_examples_are_valid() {
    let mut text = String::new();
    let mut on = false;
    for line in DEFAULT_CONFIG.lines() {
        if line.starts_with("# [channels.") || line.starts_with("# [[channels.") {
            on = true;
        }
        match line.strip_prefix("# ") {
            Some(l) if on => text.push_str(l),
            _ => {
                on = false;
                text.push_str(line);
            }
        }
        text.push('\n');
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let path = dir.join("aduan.toml");
    std::fs::write(&path, &text).unwrap();
    std::fs::write(dir.join("holidays-id-2026.toml"), EMBEDDED_HOLIDAYS[0].1).unwrap();
    let l = load(
        Some(&path),
        &env(&[
            ("ADUAN_CHANNELS__EMAIL__IMAP__PASSWORD", "123456"),
            ("ADUAN_CHANNELS__EMAIL__SMTP__PASSWORD", "x"),
            (
                "ADUAN_CHANNELS__TELEGRAM__TOKEN",
                "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            ),
            ("ADUAN_CHANNELS__TELEGRAM__WEBHOOK_SECRET", "w_s-1"),
            ("ADUAN_CHANNELS__LAPOR__SECRET", "s"),
            ("ADUAN_CHANNELS__LAPOR__TOKEN", "3f6c2a9e-0b1d"),
            ("ADUAN_CHANNELS__WHATSAPP__ACCESS_TOKEN", "EAAG"),
            ("ADUAN_CHANNELS__WHATSAPP__APP_SECRET", "s"),
            ("ADUAN_CHANNELS__WHATSAPP__VERIFY_TOKEN", "v"),
        ]),
    );
    // The example's CA file does not exist here: that, and only that, is reported.
    let keys: Vec<&str> = l.errors.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["channels.email.imap.ca_file"], "{:?}", l.errors);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let c = l.config.unwrap();
    let ch = |k| c.channels.get(k).expect("example section");
    let ChannelConfig::Email(email) = ch(ChannelKind::Email) else {
        panic!("email example")
    };
    assert_eq!(email.imap.password.expose(), "123456");
    assert_eq!(email.imap.move_to.as_deref(), Some("Terdaftar"));
    let ChannelConfig::Sms(sms) = ch(ChannelKind::Sms) else {
        panic!("sms example")
    };
    assert_eq!(sms.modems.len(), 1);
    let ChannelConfig::Telegram(tg) = ch(ChannelKind::Telegram) else {
        panic!("telegram example")
    };
    assert_eq!(tg.poll_timeout_secs, 30);
    let ChannelConfig::Lapor(lapor) = ch(ChannelKind::Lapor) else {
        panic!("lapor example")
    };
    assert_eq!(lapor.institution_id, "678");
    assert_eq!(
        lapor.list_path.as_deref(),
        Some("complaints/institution?page=1")
    );
    let ChannelConfig::Whatsapp(wa) = ch(ChannelKind::Whatsapp) else {
        panic!("whatsapp example")
    };
    assert_eq!(wa.phone_number_id, "1098765432");
    assert_eq!(wa.template_params, ["register_no", "text"]);
    // Every channel has an example: none can be added without one.
    for k in ChannelKind::iter() {
        assert!(c.channels.get(k).is_some(), "no [channels.{k}] example");
    }
}

#[test]
fn env_overrides_win() {
    let l = load(
        None,
        &env(&[
            ("ADUAN_DATABASE_URL", "postgres://x@127.0.0.1/db"),
            ("ADUAN_LISTEN", "127.0.0.1:9999"),
            ("ADUAN_DATA_DIR", "/tmp/aduan-x"),
            ("ADUAN_OUTBOX__MAX_ATTEMPTS", "3"),
            ("ADUAN_OFFICE__REGISTER_PREFIX", "PGD"),
        ]),
    );
    let c = l.config.unwrap();
    assert_eq!(c.database_url(), "postgres://x@127.0.0.1/db");
    assert_eq!(c.web.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(c.data.dir, Path::new("/tmp/aduan-x"));
    assert_eq!(c.outbox.max_attempts, 3);
    assert_eq!(c.office.register_prefix, "PGD");
}

#[test]
fn every_problem_reported_at_once_and_unknown_keys_warned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        r#"
[office]
name = ""
register_prefix = "adu-"
utc_offset = "WIB"
colour = "blue"
[web]
listen = "nowhere"
[outbox]
workers = 0
"#,
    )
    .unwrap();
    let l = load(Some(&f), &env(&[("ADUAN_BOGUS", "1")]));
    let keys: Vec<&str> = l.errors.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "office.name",
        "office.register_prefix",
        "office.utc_offset",
        "web.listen",
        "outbox.workers",
    ] {
        assert!(keys.contains(&k), "missing {k} in {keys:?}");
    }
    let w: Vec<&str> = l.warnings.iter().map(|p| p.key.as_str()).collect();
    assert!(w.contains(&"office.colour"), "{w:?}");
    assert!(w.contains(&"ADUAN_BOGUS"), "{w:?}");
    assert!(l.into_result().is_err());
}

#[test]
fn type_errors_name_the_key_and_do_not_hide_other_problems() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let f = dir.join("types.toml");
    std::fs::write(
        &f,
        "[office]\nname = \"X\"\nsla_working_days = \"seven\"\n[outbox]\nworkers = -1\n[web]\nlisten = \"nowhere\"\n",
    )
    .unwrap();
    let l = load(Some(&f), &BTreeMap::new());
    let keys: Vec<&str> = l.errors.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["office.sla_working_days", "outbox.workers", "web.listen"],
        "{:?}",
        l.errors
    );
    assert!(l.config.is_none());
}

#[test]
fn broken_toml_names_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let f = dir.join("broken.toml");
    std::fs::write(&f, "[office]\nname = \"x\"\nsla_working_days = = 3\n").unwrap();
    let l = load(Some(&f), &BTreeMap::new());
    assert_eq!(l.errors.len(), 1);
    assert_eq!(l.errors[0].key, "line 3", "{:?}", l.errors);
    let missing = load(Some(&dir.join("nope.toml")), &BTreeMap::new());
    assert!(missing.errors[0].message.contains("cannot read"));
}

#[test]
fn secrets_do_not_print() {
    let s = Secret::new("postgres://u:hunter2@h/db");
    assert!(!format!("{s:?}").contains("hunter2"));
}
