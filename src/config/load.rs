//! Loading: the TOML text (or the embedded default), `ADUAN_*` overrides, each section
//! deserialized on its own (type errors name their key, unknown keys are warned about).

use super::keys;
use super::*;

/// Loads the configuration: the file named by `path` (or `ADUAN_CONFIG`), else the embedded
/// default; then the environment overrides in `env`; then validation.
pub fn load(path: Option<&Path>, env: &BTreeMap<String, String>) -> Loaded {
    let mut out = Loaded::default();
    let path = path
        .map(Path::to_path_buf)
        .or_else(|| env.get("ADUAN_CONFIG").map(PathBuf::from));
    let text = match &path {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => {
                out.source = p.display().to_string();
                out.base_dir = p.parent().map(Path::to_path_buf);
                t
            }
            Err(e) => {
                out.source = p.display().to_string();
                out.errors.push(Problem {
                    key: "ADUAN_CONFIG".into(),
                    message: format!("cannot read {}: {e}", p.display()),
                    fix: if e.kind() == std::io::ErrorKind::PermissionDenied {
                        "run the command as the service's user (`runuser -u aduan -- aduan …`) \
                         or as root"
                            .into()
                    } else {
                        "point --config or ADUAN_CONFIG at a readable TOML file".into()
                    },
                });
                return out;
            }
        },
        None => {
            out.source = "(embedded default config/aduan.toml)".into();
            DEFAULT_CONFIG.to_string()
        }
    };
    load_text(out, &text, env)
}

/// [`load`] of a configuration text already read (`out` names its source).
pub fn load_text(mut out: Loaded, text: &str, env: &BTreeMap<String, String>) -> Loaded {
    let mut value: toml::Value = match toml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.errors.push(Problem {
                key: e
                    .span()
                    .map(|s| format!("line {}", line_of(text, s.start)))
                    .unwrap_or_else(|| "(file)".into()),
                message: format!("not valid TOML: {}", e.message()),
                fix: "correct the TOML syntax".into(),
            });
            return out;
        }
    };
    apply_env(&mut value, env, &mut out.warnings);
    let Some(root) = value.as_table() else {
        return out;
    };
    for k in root.keys() {
        if !SECTIONS.contains(&k.as_str()) {
            out.warnings.push(Problem {
                key: k.clone(),
                message: keys::UNKNOWN_SECTION.into(),
                fix: format!("sections are: {}", SECTIONS.join(", ")),
            });
        }
    }
    // Each section on its own, so a mistake in one does not hide those in the others.
    let (errors, warnings) = (&mut out.errors, &mut out.warnings);
    let office = section(root, "office", errors, warnings);
    let data = section(root, "data", errors, warnings);
    let database = section(root, "database", errors, warnings);
    let web = section(root, "web", errors, warnings);
    let intake = section(root, "intake", errors, warnings);
    let outbox = section(root, "outbox", errors, warnings);
    let telemetry = section(root, "telemetry", errors, warnings);
    let shutdown = section(root, "shutdown", errors, warnings);
    let letter = section(root, "letter", errors, warnings);
    let channels = channels_section(root, errors, warnings);
    // Sections that failed stand in with their defaults, so the others are still validated.
    let failed: Vec<String> = out
        .errors
        .iter()
        .map(|p| p.key.split('.').next().unwrap_or("").to_string())
        .collect();
    let cfg = Config {
        office: office.unwrap_or_default(),
        data: data.unwrap_or_default(),
        database: database.unwrap_or_default(),
        web: web.unwrap_or_default(),
        intake: intake.unwrap_or_default(),
        outbox: outbox.unwrap_or_default(),
        telemetry: telemetry.unwrap_or_default(),
        shutdown: shutdown.unwrap_or_default(),
        letter: letter.unwrap_or_default(),
        channels: channels.unwrap_or_default(),
    };
    let semantic = validate(&cfg, out.base_dir.as_deref());
    out.errors.extend(semantic.into_iter().filter(|p| {
        !failed
            .iter()
            .any(|f| p.key.split('.').next() == Some(f.as_str()))
    }));
    if failed.is_empty() {
        out.config = Some(cfg);
    }
    name_unknown_keys(&mut out);
    // Reported by key, so an operator reads each section's problems together.
    out.errors.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// Collects the keys not understood into `out.unknown`, each warning's fix naming the nearest
/// known key and the file to correct.
fn name_unknown_keys(out: &mut Loaded) {
    let file = if out.source.starts_with('(') {
        "the configuration".to_string()
    } else {
        out.source.clone()
    };
    for w in &mut out.warnings {
        // `ADUAN_*` variables not understood stay warnings: the environment is shared.
        if w.message != keys::UNKNOWN_KEY && w.message != keys::UNKNOWN_SECTION {
            continue;
        }
        out.unknown.push(w.key.clone());
        w.fix = match keys::nearest(&w.key, SECTIONS) {
            Some(k) => format!("did you mean `{k}`? Correct it in {file}"),
            None => {
                format!("remove it from {file}, or check its spelling against config/aduan.toml")
            }
        };
    }
}

const SECTIONS: &[&str] = &[
    "office",
    "data",
    "database",
    "web",
    "intake",
    "outbox",
    "telemetry",
    "shutdown",
    "letter",
    "channels",
];

/// Deserializes one top-level section, naming the exact key of a type error and warning about
/// unknown keys. A missing section is an empty one (its defaults).
fn section<T: serde::de::DeserializeOwned>(
    root: &toml::Table,
    name: &str,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<T> {
    let v = root
        .get(name)
        .cloned()
        .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
    section_value(v, name, errors, warnings)
}

/// `[channels]`: each `[channels.NAME]` on its own as that channel's [`ChannelConfig`], so a
/// mistake in one channel does not hide those in the others.
fn channels_section(
    root: &toml::Table,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<ChannelsConfig> {
    let table = match root.get("channels") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => {
            errors.push(problem(
                "channels",
                "must be a table of channel sections",
                "write each channel as [channels.NAME]",
            ));
            return None;
        }
    };
    let mut sections = Vec::new();
    let mut ok = true;
    for (name, v) in table {
        if name.parse::<ChannelKind>().is_err() {
            errors.push(problem(
                &format!("channels.{name}"),
                "is not a channel aduan knows",
                format!(
                    "channels are: {}",
                    ChannelKind::iter()
                        .map(ChannelKind::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            ok = false;
            continue;
        }
        let one = toml::Value::Table(toml::Table::from_iter([(name, v)]));
        match section_value::<ChannelConfig>(one, "channels", errors, warnings) {
            Some(c) => sections.push(c),
            None => ok = false,
        }
    }
    ok.then(|| ChannelsConfig::from_sections(sections))
}

/// [`section`] of a value already taken out of the tree.
fn section_value<T: serde::de::DeserializeOwned>(
    v: toml::Value,
    name: &str,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<T> {
    let mut unknown = Vec::new();
    let mut note = |p: serde_ignored::Path<'_>| unknown.push(format!("{name}.{p}"));
    let de = serde_ignored::Deserializer::new(v, &mut note);
    let result: Result<T, _> = serde_path_to_error::deserialize(de);
    for k in unknown {
        warnings.push(Problem {
            key: k,
            message: keys::UNKNOWN_KEY.into(),
            fix: "remove it or check its spelling against config/aduan.toml".into(),
        });
    }
    match result {
        Ok(t) => Some(t),
        Err(e) => {
            let path = e.path().to_string();
            let key = if path == "." || path.is_empty() {
                name.to_string()
            } else {
                format!("{name}.{path}")
            };
            errors.push(Problem {
                key,
                message: e.into_inner().to_string(),
                fix: "give the key a value of the documented type (see config/aduan.toml)".into(),
            });
            None
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Applies `ADUAN_*` environment overrides to the parsed TOML tree.
fn apply_env(value: &mut toml::Value, env: &BTreeMap<String, String>, warnings: &mut Vec<Problem>) {
    for (k, v) in env {
        let Some(rest) = k.strip_prefix("ADUAN_") else {
            continue;
        };
        let path: Vec<String> = match rest {
            "CONFIG" => continue,
            "DATABASE_URL" => vec!["database".into(), "url".into()],
            "LISTEN" => vec!["web".into(), "listen".into()],
            "DATA_DIR" => vec!["data".into(), "dir".into()],
            _ if rest.contains("__") => rest.split("__").map(|s| s.to_lowercase()).collect(),
            _ => {
                warnings.push(Problem {
                    key: k.clone(),
                    message: "environment variable not understood, ignored".into(),
                    fix: "use ADUAN_<SECTION>__<KEY>, e.g. ADUAN_OUTBOX__MAX_ATTEMPTS".into(),
                });
                continue;
            }
        };
        set_path(value, &path, env_value(v));
    }
}

/// An environment value as TOML: integers, floats, booleans and arrays as such, else a string.
fn env_value(v: &str) -> toml::Value {
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(b) = v.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if v.starts_with('[') {
        if let Ok(t) = toml::from_str::<toml::Table>(&format!("v = {v}")) {
            if let Some(a) = t.get("v") {
                return a.clone();
            }
        }
    }
    toml::Value::String(v.to_string())
}

fn set_path(value: &mut toml::Value, path: &[String], v: toml::Value) {
    let mut cur = value;
    for (i, seg) in path.iter().enumerate() {
        let Some(table) = cur.as_table_mut() else {
            return;
        };
        if i == path.len() - 1 {
            // Keep strings where the file has strings (an all-digit password stays a string).
            let v = match (table.get(seg), v) {
                (Some(toml::Value::String(_)), toml::Value::Integer(n)) => {
                    toml::Value::String(n.to_string())
                }
                (Some(toml::Value::String(_)), toml::Value::Boolean(b)) => {
                    toml::Value::String(b.to_string())
                }
                (_, v) => v,
            };
            table.insert(seg.clone(), v);
            return;
        }
        cur = table
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
}
