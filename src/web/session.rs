//! Officer web sessions: argon2id passwords, throttled logins, session cookies (the register
//! keeps only the id's sha256), and a CSRF token per session.

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::db::now_ms;
use crate::register::{ct_eq, sessions, sha256_hex};
use crate::state::Core;
use crate::workflow::Officer;

pub const COOKIE: &str = "aduan_session";
/// The login form's CSRF cookie (there is no session yet) on a plain-HTTP office address.
pub const LOGIN_COOKIE: &str = "aduan_login";
/// The same behind HTTPS: a `__Host-` cookie, which a sibling host cannot set.
pub const LOGIN_COOKIE_HOST: &str = "__Host-aduan_login";
/// How long a login form may be filled in.
pub const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(3600);
/// How long a session lasts without a new login.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Login attempts allowed within [`WINDOW`] before further ones are refused without a password
/// check: per user name from one client address (a guesser at one officer), per client address
/// (a guesser at many names), and per user name from everywhere (a distributed guesser). A
/// stranger at one address can thus lock only themselves out; a user name is refused for
/// everyone only after [`MAX_PER_USER`] attempts from several addresses, and only until the
/// window slides past them (`aduan officer unlock NAME` ends it at once).
pub const MAX_PER_USER_AND_ADDRESS: i64 = 5;
pub const MAX_PER_ADDRESS: i64 = 20;
pub const MAX_PER_USER: i64 = 50;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a login waits for a password-check slot before it is answered "busy".
pub const VERIFY_WAIT: Duration = Duration::from_secs(10);

/// A random token, hex.
pub fn token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// An argon2id hash (PHC string) of a password. CPU-heavy: run off the async threads.
pub async fn hash_password(password: &str) -> anyhow::Result<String> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || {
        let mut raw = [0u8; 16];
        {
            use rand::RngCore;
            rand::rng().fill_bytes(&mut raw);
        }
        let salt =
            SaltString::encode_b64(&raw).map_err(|e| anyhow::anyhow!("password salt: {e}"))?;
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
    })
    .await?
}

/// A hash (of a random password thrown away when it was made, with the same parameters as
/// every stored hash) that a login for a user without a password is verified against, so the
/// answer takes as long as for a real one. Fixed, so no request ever pays for making one.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$RQUvbjDRJT26doD9MZirPw$PJ0bIZgacRl4nfiL/ppLZ8+th0tjBvV9njujtowvVWo";

#[cfg(test)]
fn check_hash(hash: &str, password: &str) -> bool {
    check_hash_in(&mut Vec::new(), hash, password)
}

/// Verifies `password` against a PHC argon2 `hash`, with the algorithm's working memory in
/// `blocks` (grown when a hash needs more, then reused: the allocator never sees a new 19 MiB
/// block per check, which would fragment it).
fn check_hash_in(blocks: &mut Vec<argon2::Block>, hash: &str, password: &str) -> bool {
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(alg), Ok(params)) = (
        argon2::Algorithm::try_from(h.algorithm),
        argon2::Params::try_from(&h),
    ) else {
        return false;
    };
    let version = match h.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let need = params.block_count();
    if blocks.len() < need {
        blocks.resize(need, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(alg, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..need])
        .is_ok()
        && aduan_channel::ct_eq(&out, expected.as_bytes())
}

/// A job of the [`PasswordChecker`]: a stored hash, the password given, where to answer.
type CheckJob = (String, String, tokio::sync::oneshot::Sender<bool>);

/// Password checks on a few long-lived threads of their own, each with its argon2 working
/// memory (~19 MiB) allocated once and reused. Checks that allocate their own block each time
/// fragment the allocator so that peak memory grew by ~19 MiB per check up to ~220 MB (measured
/// with two threads); here it is bounded by the number of checker threads, and a burst waits
/// in a short queue (or is answered "busy").
pub struct PasswordChecker {
    jobs: std::sync::mpsc::SyncSender<CheckJob>,
}

impl PasswordChecker {
    /// `threads` checkers and a queue of `16 × threads` waiting checks.
    pub fn new(threads: usize) -> PasswordChecker {
        let (tx, rx) = std::sync::mpsc::sync_channel::<CheckJob>(16 * threads.max(1));
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("aduan-argon2-{i}"))
                .spawn(move || {
                    let mut blocks = Vec::new();
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok((hash, password, answer)) = job else {
                            return; // the checker was dropped
                        };
                        let _ = answer.send(check_hash_in(&mut blocks, &hash, &password));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "password checker thread not started");
            }
        }
        PasswordChecker { jobs: tx }
    }

    /// Whether `password` matches `hash`; `Err(Busy)` when the queue is full or the check does
    /// not finish within [`VERIFY_WAIT`].
    pub async fn check(&self, hash: String, password: &str) -> Result<bool, LoginError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send((hash, password.to_string(), tx))
            .map_err(|_| LoginError::Busy)?;
        tokio::time::timeout(VERIFY_WAIT, rx)
            .await
            .map_err(|_| LoginError::Busy)?
            .map_err(|_| LoginError::Busy)
    }
}

/// Rules for a new password.
pub fn password_problem(pw: &str) -> Option<&'static str> {
    if pw.chars().count() < 10 {
        Some("at least 10 characters")
    } else if pw.len() > 256 {
        Some("at most 256 bytes")
    } else {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong user name or password")]
    Wrong,
    #[error("too many failed logins; wait 15 minutes")]
    Throttled,
    #[error("too many logins at once; try again")]
    Busy,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// The throttle keys of one login attempt, most specific first.
fn throttle_keys(username: &str, client: &str) -> [(String, i64); 3] {
    let user = username.to_lowercase();
    [
        (format!("pair:{user}@{client}"), MAX_PER_USER_AND_ADDRESS),
        (format!("ip:{client}"), MAX_PER_ADDRESS),
        (format!("user:{user}"), MAX_PER_USER),
    ]
}

/// Records a login attempt before its password is checked, atomically with the check of the
/// limits: parallel attempts each see the ones before them, so a burst of 60 gets 5 password
/// checks, not 60. SQLite serializes writers; PostgreSQL takes a transaction lock shared by all
/// daemons on the register.
async fn record_attempt(core: &Core, keys: &[(String, i64)], now: i64) -> Result<(), LoginError> {
    let since = now - WINDOW.as_millis() as i64;
    if sessions::record_attempt(&core.db, keys, now, since).await? {
        Ok(())
    } else {
        Err(LoginError::Throttled)
    }
}

/// Checks the password, throttled (see [`MAX_PER_USER_AND_ADDRESS`]), on the `checker`'s
/// threads (a bounded number of argon2 checks at once, each ~19 MiB). Returns the new session's
/// (cookie value, CSRF token).
pub async fn login(
    core: &Core,
    checker: &PasswordChecker,
    username: &str,
    password: &str,
    client: &str,
) -> Result<(String, String), LoginError> {
    let now = now_ms();
    let keys = throttle_keys(username, client);
    record_attempt(core, &keys, now).await?;
    let row = sessions::password_of(&core.db, username).await?;
    // Without a stored hash the check still costs one verification (no user-name oracle).
    let (id, hash) = match row {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
    let ok = checker.check(hash, password).await? && id.is_some();
    let Some(id) = id.filter(|_| ok) else {
        return Err(LoginError::Wrong);
    };
    // The right password: this officer's attempts are forgiven (the address keeps its count,
    // less this attempt).
    let (sid, csrf) = (token(), token());
    sessions::open_session(
        &core.db,
        id,
        &sha256_hex(sid.as_bytes()),
        &csrf,
        now,
        now + LIFETIME.as_millis() as i64,
        [&keys[0].0, &keys[2].0],
        &keys[1].0,
    )
    .await?;
    Ok((sid, csrf))
}

/// Ends the login throttle of a user name (`aduan officer unlock NAME`): its attempts from
/// every address are forgotten. Returns how many were.
pub async fn unlock(db: &crate::db::Db, username: &str) -> sqlx::Result<u64> {
    sessions::forget_attempts(db, username).await
}

/// A cookie's value from the request (`axum-extra`'s cookie jar reads the headers).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_string())
}

/// The logged-in officer and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub officer: Officer,
    pub csrf: String,
    pub id_hash: String,
    /// Complaints waiting for their first check this officer has not opened (pages show it
    /// in the navigation and the title; filled for page loads).
    pub new_count: Option<i64>,
}

impl WebSession {
    /// Whether a submitted form token matches the session's.
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|t| ct_eq(t, &self.csrf))
    }
}

/// The session the request's cookie names, if valid.
pub async fn from_headers(core: &Core, headers: &HeaderMap) -> sqlx::Result<Option<WebSession>> {
    let Some(sid) = cookie(headers, COOKIE).filter(|s| s.len() == 64) else {
        return Ok(None);
    };
    let id_hash = sha256_hex(sid.as_bytes());
    Ok(sessions::session(&core.db, &id_hash, now_ms())
        .await?
        .map(|(officer, csrf)| WebSession {
            officer,
            csrf,
            id_hash,
            new_count: None,
        }))
}

pub async fn logout(core: &Core, s: &WebSession) -> sqlx::Result<()> {
    sessions::end_session(&core.db, &s.id_hash).await
}

/// `Set-Cookie` for a value: HttpOnly, SameSite=Lax, `Secure` when the public address is https;
/// without a lifetime the cookie is removed (`Max-Age=0`).
pub fn set_cookie(core: &Core, name: &str, value: &str, max_age: Option<Duration>) -> String {
    let age = max_age.map_or(0, |d| d.as_secs() as i64);
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(core.settings.public_url.starts_with("https://"))
        .max_age(cookie::time::Duration::seconds(age))
        .build()
        .to_string()
}

/// Sets (or replaces) an officer's password.
pub async fn set_password(
    db: &crate::db::Db,
    username: &str,
    password: &str,
) -> anyhow::Result<()> {
    if let Some(p) = password_problem(password) {
        anyhow::bail!("the password needs {p}");
    }
    let hash = hash_password(password).await?;
    anyhow::ensure!(
        sessions::set_password_hash(db, username, &hash).await?,
        "no officer `{username}`"
    );
    Ok(())
}

/// The login form's cookie name for this office's address (`__Host-` behind HTTPS).
pub fn login_cookie_name(core: &Core) -> &'static str {
    if core.settings.public_url.starts_with("https://") {
        LOGIN_COOKIE_HOST
    } else {
        LOGIN_COOKIE
    }
}

/// A login form's token: `nonce.expiry.mac`, the mac the register's login key's HMAC-SHA256
/// of nonce and expiry. Only the server makes one; it is sent as the form's cookie and field.
pub fn login_token(key: &[u8], now_ms: i64) -> String {
    let nonce = token();
    let expires = now_ms / 1000 + LOGIN_FORM_LIFETIME.as_secs() as i64;
    let mac = login_mac(key, &nonce[..32], expires);
    format!("{}.{expires}.{mac}", &nonce[..32])
}

fn login_mac(key: &[u8], nonce: &str, expires: i64) -> String {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    m.update(format!("login|{nonce}|{expires}").as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Whether `token` is one this register made ([`login_token`]) and has not expired.
pub fn login_token_valid(key: &[u8], token: &str, now_ms: i64) -> bool {
    let mut parts = token.split('.');
    let (Some(nonce), Some(expires), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    expires >= now_ms / 1000 && ct_eq(&login_mac(key, nonce, expires), mac)
}

/// Whether a form post comes from this office's own pages as far as the browser says: no
/// `Sec-Fetch-Site` but `same-origin` (or `none`, typed by the user), and an `Origin`, when
/// sent, naming the host the request was sent to or the office's public address.
pub fn same_origin_post(headers: &HeaderMap, public_url: &str) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    let Some(origin) = header("origin") else {
        return true;
    };
    let host_of = |url: &str| {
        url.split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_ascii_lowercase())
    };
    let Some(from) = host_of(origin) else {
        return false;
    };
    header("host").is_some_and(|h| h.eq_ignore_ascii_case(&from))
        || host_of(public_url).is_some_and(|p| p == from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("rahasia-panjang").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(check_hash(&h, "rahasia-panjang"));
        assert!(!check_hash(&h, "salah-panjang!"));
        assert!(!check_hash("not a hash", "x"));
        // The same answers on a reused working memory, and from the checker threads.
        let mut blocks = Vec::new();
        assert!(check_hash_in(&mut blocks, &h, "rahasia-panjang"));
        assert!(!check_hash_in(&mut blocks, &h, "rahasia-panjang!"));
        assert!(!check_hash_in(&mut blocks, DUMMY_HASH, "rahasia-panjang"));
        let c = PasswordChecker::new(1);
        assert!(c.check(h.clone(), "rahasia-panjang").await.unwrap());
        assert!(!c.check(h, "x").await.unwrap());
        assert_eq!(password_problem("pendek"), Some("at least 10 characters"));
        assert_eq!(password_problem("cukup panjang"), None);
    }

    #[test]
    fn cookies_are_read() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; aduan_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn login_tokens_are_the_registers_own_and_expire() {
        let key = b"k".repeat(32);
        let now = 1_800_000_000_000;
        let t = login_token(&key, now);
        assert!(login_token_valid(&key, &t, now));
        assert!(!login_token_valid(b"other key", &t, now), "another key");
        assert!(
            !login_token_valid(&key, &t, now + 2 * 3600 * 1000),
            "expired"
        );
        let forged = t.replacen('.', "0.", 1);
        assert!(!login_token_valid(&key, &forged, now), "another nonce");
        assert!(!login_token_valid(&key, &"a".repeat(64), now));
        let mut h = HeaderMap::new();
        assert!(same_origin_post(&h, "https://aduan.contoh.id"));
        h.insert("host", "aduan.contoh.id".parse().unwrap());
        h.insert("origin", "https://aduan.contoh.id".parse().unwrap());
        assert!(same_origin_post(&h, ""));
        h.insert("sec-fetch-site", "same-site".parse().unwrap());
        assert!(!same_origin_post(&h, ""));
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        h.insert("origin", "https://kantor-lain.contoh.id".parse().unwrap());
        assert!(!same_origin_post(&h, "https://aduan.contoh.id"));
    }
}
