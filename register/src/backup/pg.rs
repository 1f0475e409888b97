//! The PostgreSQL client tools a backup uses (`pg_dump`, `pg_restore`): the password passed
//! through the child's environment (never on its command line, where `ps` shows it), and a
//! verification that reads every entry of a custom-format archive.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use super::{BackupError, Summary};

/// A connection for the client tools: the URL without its password, and the password apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub url: String,
    pub password: Option<String>,
}

impl PgTarget {
    /// Splits the password out of `url` (from its user info or a `password=` parameter).
    pub fn parse(url: &str) -> PgTarget {
        let Ok(mut u) = url::Url::parse(url) else {
            return PgTarget {
                url: url.to_string(),
                password: None,
            };
        };
        let mut password = u.password().map(percent_decode);
        let _ = u.set_password(None);
        let query: Vec<(String, String)> = u
            .query_pairs()
            .filter_map(|(k, v)| {
                if k == "password" {
                    password = Some(v.into_owned());
                    None
                } else {
                    Some((k.into_owned(), v.into_owned()))
                }
            })
            .collect();
        if query.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(query);
        }
        PgTarget {
            url: u.to_string(),
            password,
        }
    }

    /// A client tool's command: `PGPASSWORD` in its environment, the URL as `--dbname`.
    pub fn command(&self, tool: &str) -> Command {
        let mut c = Command::new(tool);
        c.env_remove("PGPASSWORD");
        if let Some(p) = &self.password {
            c.env("PGPASSWORD", p);
        }
        c
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a client tool to the end; its standard output, or why it failed.
pub fn run(mut cmd: Command, tool: &'static str) -> Result<String, BackupError> {
    let out = cmd.output().map_err(|e| cannot_run(tool, e))?;
    if !out.status.success() {
        return Err(BackupError::Tool {
            tool,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cannot_run(tool: &'static str, e: std::io::Error) -> BackupError {
    BackupError::Tool {
        tool,
        message: format!("cannot run it ({e}); install postgresql-client"),
    }
}

/// Reads the whole archive `file` through `pg_restore` (every entry decompressed, as a
/// restore would) and counts what it holds from its data sections. A cut or overwritten
/// archive fails here: `pg_restore` stops at the damage, or the data is incomplete.
pub fn summary(file: &Path) -> Result<Summary, String> {
    let mut child = Command::new("pg_restore")
        .arg("--file=-")
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run pg_restore ({e}); install postgresql-client"))?;
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let scanned = scan(BufReader::with_capacity(
        1 << 16,
        child.stdout.take().expect("piped"),
    ));
    let status = child.wait().map_err(|e| e.to_string())?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        let first = errors.lines().next().unwrap_or("pg_restore failed");
        return Err(format!("the archive cannot be read whole: {first}"));
    }
    let s = scanned.map_err(|e| format!("the archive cannot be read whole: {e}"))?;
    if !s.tables.contains("complaints") {
        return Err("holds no register tables".into());
    }
    if s.orphans > 0 {
        return Err(format!(
            "{} attachments without their stored file",
            s.orphans
        ));
    }
    Ok(s.summary)
}

#[derive(Default)]
struct Scanned {
    summary: Summary,
    tables: HashSet<String>,
    orphans: usize,
}

/// Counts the rows of each `COPY … FROM stdin;` section of a restore script.
fn scan(mut r: impl BufRead) -> std::io::Result<Scanned> {
    let mut out = Scanned::default();
    let mut line = Vec::new();
    let mut current: Option<(String, Option<usize>)> = None;
    let mut attachment_files: Vec<Vec<u8>> = Vec::new();
    let mut stored: HashSet<Vec<u8>> = HashSet::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match &current {
            None => {
                if let Some(copy) = copy_header(text) {
                    out.tables.insert(copy.0.clone());
                    current = Some(copy);
                }
            }
            Some(_) if text == b"\\." => current = None,
            Some((table, sha_col)) => {
                let first = text.split(|b| *b == b'\t').next().unwrap_or_default();
                let sha = sha_col.and_then(|i| text.split(|b| *b == b'\t').nth(i));
                let s = &mut out.summary;
                match table.as_str() {
                    "complaints" => s.complaints += 1,
                    "messages" => s.messages += 1,
                    "attachments" => {
                        s.attachments += 1;
                        attachment_files.extend(sha.map(<[u8]>::to_vec));
                    }
                    "blobs" => {
                        s.blobs += 1;
                        stored.extend(sha.map(<[u8]>::to_vec));
                    }
                    "_sqlx_migrations" => {
                        let v = std::str::from_utf8(first)
                            .ok()
                            .and_then(|v| v.parse::<i64>().ok())
                            .unwrap_or(0);
                        s.schema = s.schema.max(v);
                    }
                    _ => {}
                }
            }
        }
    }
    if current.is_some() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "a table's data ends early",
        ));
    }
    out.orphans = attachment_files
        .iter()
        .filter(|f| !stored.contains(*f))
        .count();
    Ok(out)
}

/// `COPY public.attachments (id, …, sha256, …) FROM stdin;` → ("attachments", index of sha256).
fn copy_header(line: &[u8]) -> Option<(String, Option<usize>)> {
    let line = std::str::from_utf8(line).ok()?;
    let rest = line.strip_prefix("COPY ")?.strip_suffix(" FROM stdin;")?;
    let (name, cols) = rest.split_once(" (")?;
    let table = name.rsplit('.').next()?.trim_matches('"').to_string();
    let sha = cols
        .trim_end_matches(')')
        .split(", ")
        .position(|c| c.trim_matches('"') == "sha256");
    Some((table, sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        let t = PgTarget::parse("postgres://aduan:s%40cret@db.local:5432/aduan?sslmode=require");
        assert_eq!(t.password.as_deref(), Some("s@cret"));
        assert!(!t.url.contains("cret"), "{}", t.url);
        assert!(
            t.url.contains("aduan@db.local:5432/aduan?sslmode=require"),
            "{}",
            t.url
        );
        let t = PgTarget::parse("postgresql://aduan@db/aduan?password=rahasia&application_name=x");
        assert_eq!(t.password.as_deref(), Some("rahasia"));
        assert!(!t.url.contains("rahasia"), "{}", t.url);
        assert!(t.url.contains("application_name=x"), "{}", t.url);
        let t = PgTarget::parse("postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(t.password, None);
        assert_eq!(t.url, "postgres://postgres@127.0.0.1:5432/x");
    }

    #[test]
    fn a_script_is_counted_and_a_cut_one_refused() {
        let script = "SET x = 1;\n\
            COPY public.complaints (id, register_no) FROM stdin;\n1\tA\n2\tB\n\\.\n\
            COPY public.attachments (id, message_id, sha256) FROM stdin;\n1\t1\taa\n2\t1\tbb\n\\.\n\
            COPY public.blobs (sha256, data) FROM stdin;\naa\t\\\\x00\n\\.\n\
            COPY public._sqlx_migrations (version, description) FROM stdin;\n1\tinit\n11\tx\n\\.\n";
        let s = scan(script.as_bytes()).unwrap();
        assert_eq!(s.summary.complaints, 2);
        assert_eq!(s.summary.attachments, 2);
        assert_eq!(s.summary.blobs, 1);
        assert_eq!(s.summary.schema, 11);
        assert_eq!(s.orphans, 1);
        let cut = &script[..script.find("2\tB").unwrap()];
        assert!(scan(cut.as_bytes()).is_err());
    }
}
