//! Real mail servers for the email tests: Dovecot (Debian `dovecot-imapd`) and an aiosmtpd
//! receiver (Debian `python3-aiosmtpd`, `tests/support/smtp_sink.py`), each started in its own
//! temporary directory on loopback high ports. `scripts/test` installs them when missing; off
//! CI a machine without them skips the email tests with a note, under `CI=true` that fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aduan_email::config::{ImapConfig, Secret, Security};
use tokio::process::{Child, Command};

const DOVECOT: &str = "/usr/sbin/dovecot";
const PYTHON: &str = "/usr/bin/python3";
pub const USER: &str = "aduan";
pub const PASSWORD: &str = "rahasia";

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn missing(what: &str) -> bool {
    if on_ci() {
        panic!("CI=true but {what} is not installed (scripts/test installs it)");
    }
    eprintln!("SKIP: {what} is not installed; email tests skipped (run scripts/test to install)");
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "aduan-{tag}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn wait_port(port: u16, what: &str) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not open port {port}");
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

pub struct Dovecot {
    pub dir: PathBuf,
    pub port: u16,
    pub tls_port: u16,
    child: Option<Child>,
}

impl Dovecot {
    /// Starts a private Dovecot; `None` (skip) when it is not installed, off CI.
    pub async fn start() -> Option<Dovecot> {
        Self::start_with("").await
    }

    /// Starts one with extra configuration lines.
    pub async fn start_with(extra_conf: &str) -> Option<Dovecot> {
        if !Path::new(DOVECOT).exists() {
            missing("Dovecot (dovecot-imapd)");
            return None;
        }
        let dir = temp_dir("dovecot");
        let d = dir.display();
        // A test CA and a server certificate it signed (webpki refuses a CA as the server's).
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ok = std::process::Command::new("sh")
            .current_dir(&dir)
            .arg("-c")
            .arg(
                "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
                   -subj /CN=aduan-test-ca && \
                 openssl req -newkey rsa:2048 -nodes -keyout key.pem -out req.csr -subj /CN=localhost && \
                 openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
                   -extfile ext.cnf -out cert.pem",
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "openssl could not make a test certificate");
        std::fs::write(dir.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        // As root, mail is stored as the `mail` user (Dovecot refuses uid 0); otherwise as us.
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        std::fs::create_dir_all(dir.join("mail")).unwrap();
        let (uid, extra) = if root {
            let _ = std::process::Command::new("chown")
                .args(["-R", "mail:mail"])
                .arg(dir.join("mail"))
                .status();
            ("uid=mail gid=mail".to_string(), String::new())
        } else {
            let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            (
                format!("uid={me} gid={me}"),
                format!("default_login_user = {me}\ndefault_internal_user = {me}\n"),
            )
        };
        let conf_path = dir.join("dovecot.conf");
        let conf = |port: u16, tls_port: u16| {
            std::fs::write(
            &conf_path,
            format!(
                "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
                 protocols = imap\nlisten = 127.0.0.1\nssl = yes\n\
                 ssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n\
                 disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
                 first_valid_uid = 1\nmail_location = maildir:{d}/mail/%u\n{extra}\
                 passdb {{\n driver = passwd-file\n args = scheme=PLAIN {d}/passwd\n}}\n\
                 userdb {{\n driver = static\n args = {uid} home={d}/mail/%u\n}}\n\
                 service imap-login {{\n chroot =\n inet_listener imap {{\n  address = 127.0.0.1\n  port = {port}\n }}\n\
                 inet_listener imaps {{\n  address = 127.0.0.1\n  port = {tls_port}\n  ssl = yes\n }}\n}}\n\
                 service anvil {{\n chroot =\n}}\n{extra_conf}\n"
            ),
        )
        .unwrap();
        };
        // A port picked free may be taken by a parallel test before Dovecot binds it: then
        // Dovecot exits at once and the start is retried on other ports.
        for _ in 0..5 {
            let (port, tls_port) = (free_port(), free_port());
            conf(port, tls_port);
            let mut dv = Dovecot {
                dir: dir.clone(),
                port,
                tls_port,
                child: None,
            };
            if dv.spawn().await {
                return Some(dv);
            }
            std::mem::forget(dv);
        }
        panic!("dovecot did not start; see {}/dovecot.log", dir.display());
    }

    /// Starts the server; false when it exited at once (its port was taken).
    async fn spawn(&mut self) -> bool {
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(self.dir.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start dovecot");
        self.child = Some(child);
        wait_port(self.port, "dovecot").await;
        wait_port(self.tls_port, "dovecot").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let exited = self
            .child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some());
        if exited {
            self.child = None;
        }
        !exited
    }

    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c).await;
        }
    }

    /// Stops Dovecot (its sessions end) and starts it again on the same ports and mail.
    pub async fn restart(&mut self) {
        self.stop().await;
        assert!(
            self.spawn().await,
            "dovecot did not restart on port {}",
            self.port
        );
    }

    pub fn ca_file(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }

    pub fn imap_config(&self, mailbox: &str) -> ImapConfig {
        ImapConfig {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            security: Security::Plain,
            username: USER.into(),
            password: Secret::new(PASSWORD),
            mailbox: mailbox.into(),
            move_to: None,
            idle_secs: 60,
            poll_secs: 1,
            batch: 100,
            batch_bytes: 32 * 1024 * 1024,
            ca_file: None,
            timeout_secs: 10,
        }
    }

    pub async fn session(&self) -> aduan_email::imap::Session {
        aduan_email::imap::connect(&self.imap_config("INBOX"), None)
            .await
            .expect("IMAP login")
    }

    /// Delivers messages into a mailbox (IMAP APPEND), creating it when needed.
    pub async fn append(&self, mailbox: &str, raws: &[Vec<u8>]) {
        let mut s = self.session().await;
        if mailbox != "INBOX" {
            let _ = s.create(mailbox).await;
        }
        for r in raws {
            s.append(mailbox, None, None, r).await.expect("APPEND");
        }
        s.logout().await.ok();
    }

    /// UIDs of messages without `\Seen` in a mailbox.
    pub async fn unseen(&self, mailbox: &str) -> Vec<u32> {
        let mut s = self.session().await;
        s.select(mailbox).await.unwrap();
        let mut v: Vec<u32> = s.uid_search("UNSEEN").await.unwrap().into_iter().collect();
        v.sort_unstable();
        s.logout().await.ok();
        v
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_ref().and_then(|c| c.id()) {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &c.to_string()])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct SmtpSink {
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl SmtpSink {
    pub async fn start() -> Option<SmtpSink> {
        let has = std::process::Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !has {
            missing("aiosmtpd (python3-aiosmtpd)");
            return None;
        }
        let mut s = SmtpSink {
            dir: temp_dir("smtp"),
            port: free_port(),
            child: None,
        };
        for _ in 0..5 {
            if s.try_spawn().await {
                return Some(s);
            }
            s.port = free_port();
        }
        panic!("the SMTP sink did not start");
    }

    /// Starts it again on the same port (after [`SmtpSink::stop`]).
    pub async fn spawn(&mut self) {
        assert!(
            self.try_spawn().await,
            "SMTP sink did not restart on {}",
            self.port
        );
    }

    async fn try_spawn(&mut self) -> bool {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let child = Command::new(PYTHON)
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start smtp sink");
        self.child = Some(child);
        wait_port(self.port, "smtp sink").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let exited = self
            .child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some());
        if exited {
            self.child = None;
        }
        !exited
    }

    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
            let _ = c.wait().await;
        }
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The office address the test messages are sent to.
pub const OFFICE: &str = "pengaduan@dinas.example.go.id";

pub fn crlf(s: &str) -> Vec<u8> {
    s.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
}

/// Message `i` of a varied set: plain UTF-8, HTML only, multipart/alternative in
/// quoted-printable, ISO-8859-1 in base64, and one with a PDF attachment.
pub fn varied(i: usize) -> Vec<u8> {
    let head = format!(
        "From: Warga {i} <warga{i}@example.com>\nTo: {OFFICE}\nMessage-ID: <m{i}.x@example.com>\n\
         Date: Mon, 16 Nov 2026 09:{:02}:00 +0700\nMIME-Version: 1.0\n",
        i % 60
    );
    let body = match i % 5 {
        0 => format!(
            "Subject: Pengaduan {i}: jalan rusak\nContent-Type: text/plain; charset=utf-8\n\n\
             Jalan di RT {i} rusak parah — mohon segera diperbaiki. Terima kasih.\n"
        ),
        1 => format!(
            "Subject: =?utf-8?B?{}?=\nContent-Type: text/html; charset=utf-8\n\n\
             <html><body><h1>Pengaduan</h1><p>Lampu jalan nomor {i} padam.</p></body></html>\n",
            b64(format!("Lampu padam {i}").as_bytes())
        ),
        2 => format!(
            "Subject: Antrian {i}\nContent-Type: multipart/alternative; boundary=\"alt{i}\"\n\n\
             --alt{i}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
             Antrian di loket {i} terlalu lama, petugas tidak ada =E2=80=93 mohon ditindaklanjuti.\n\
             --alt{i}\nContent-Type: text/html; charset=utf-8\n\n<p>Antrian di loket {i}</p>\n--alt{i}--\n"
        ),
        3 => format!(
            "Subject: =?iso-8859-1?Q?Pelayanan_kurang_ramah_{i}?=\n\
             Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\n{}\n",
            b64(&latin1(&format!("Petugas di kantor cabang {i} kurang ramah, saya menunggu 2½ jam.")))
        ),
        _ => format!(
            "Subject: Dokumen {i}\nContent-Type: multipart/mixed; boundary=\"mx{i}\"\n\n\
             --mx{i}\nContent-Type: text/plain; charset=utf-8\n\nBerkas terlampir untuk pengaduan {i}.\n\
             --mx{i}\nContent-Type: application/pdf; name=\"bukti-{i}.pdf\"\n\
             Content-Disposition: attachment; filename=\"bukti-{i}.pdf\"\nContent-Transfer-Encoding: base64\n\n{}\n--mx{i}--\n",
            b64(format!("%PDF-1.4 bukti {i}").as_bytes())
        ),
    };
    crlf(&format!("{head}{body}"))
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

pub fn b64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
