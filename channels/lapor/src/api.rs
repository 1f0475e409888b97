//! The SP4N-LAPOR! v3 API as publicly known (no official document exists): every call carries
//! `auth: Bearer <secret>` (header name configurable) and `token: {GUID}`; errors carry
//! `message`. Every response field is optional to these parsers and unknown fields are ignored;
//! status names are kept as free text.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Network trouble, timeouts, 5xx, 408, 429: may work later.
    #[error("{0}")]
    Transient(String),
    /// 4xx: will not work as is.
    #[error("{0}")]
    Permanent(String),
    /// 401/403: LAPOR! refuses our credentials — every call will fail until they are fixed.
    #[error("{0}")]
    Auth(String),
}

#[derive(Clone)]
pub struct Api {
    /// For calls that carry the credentials: the API's origin only, redirects never followed.
    http: reqwest::Client,
    /// For files on other origins: no credentials; public addresses only (unless the API
    /// itself is on a private or loopback address), at most three redirects.
    plain: reqwest::Client,
    base: String,
    base_url: url::Url,
    /// The API is on a loopback or private address (a test, a mirror inside the office).
    base_private: bool,
    auth_header: String,
    secret: String,
    token: String,
    /// Offset of LAPOR!'s local times (`d-m-Y H:i:s`), seconds east of UTC.
    utc_offset: i32,
}

/// A text field that may come as a string or a number.
pub fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    match cur {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn array<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(n) => cur = n,
            None => return &[],
        }
    }
    cur.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// One follow-up (`tindak lanjut`) of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Followup {
    pub id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub created_raw: String,
    pub from: String,
    pub to: String,
    pub content: String,
    /// (file name, path or URL)
    pub attachments: Vec<(String, String)>,
}

impl Followup {
    /// A stable key: the id, else a hash of time, sender institution and content.
    pub fn key(&self) -> String {
        match &self.id {
            Some(id) => format!("followup:{id}"),
            None => {
                use sha2::Digest;
                let h = sha2::Sha256::digest(
                    format!("{}\n{}\n{}", self.created_raw, self.from, self.content).as_bytes(),
                );
                format!("followup:h:{}", hex::encode(&h[..12]))
            }
        }
    }
}

/// One disposition log entry (`data_logs[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// `log:{id}`, else a hash of date, sender institution and content.
    pub key: String,
    pub text: String,
    /// (file name, path or URL)
    pub attachments: Vec<(String, String)>,
}

/// A file list (`attachments[]` with `path` and `file_name`) as (name, path).
fn files(v: &Value) -> Vec<(String, String)> {
    array(v, &["attachments"])
        .iter()
        .filter_map(|a| {
            let path = text(a, &["path"])?;
            let name = text(a, &["file_name"])
                .unwrap_or_else(|| path.rsplit('/').next().unwrap_or("lampiran").to_string());
            Some((name, path))
        })
        .collect()
}

/// What `GET /complaints/{id}/complaint` says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub status_code: Option<String>,
    pub status_name: Option<String>,
    pub disposition: Option<String>,
    pub title: Option<String>,
    pub content: Option<String>,
    pub status_logs: usize,
    pub last_note: Option<String>,
    /// The disposition log entries.
    pub logs: Vec<LogEntry>,
}

impl Api {
    pub fn new(
        base: &str,
        auth_header: &str,
        secret: &str,
        token: &str,
        timeout: Duration,
        utc_offset: i32,
    ) -> Result<Api, String> {
        let base = base.trim_end_matches('/').to_string();
        let base_url = url::Url::parse(&base).map_err(|e| format!("base_url: {e}"))?;
        let base_private = match base_url.host() {
            Some(url::Host::Domain(d)) => aduan_channel::is_loopback_host(d),
            Some(url::Host::Ipv4(ip)) => !is_public(ip.into()),
            Some(url::Host::Ipv6(ip)) => !is_public(ip.into()),
            None => true,
        };
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("aduan/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        let mut plain = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("aduan/", env!("CARGO_PKG_VERSION")));
        if base_private {
            plain = plain.redirect(reqwest::redirect::Policy::limited(3));
        } else {
            plain = plain
                .dns_resolver(std::sync::Arc::new(PublicOnly))
                .redirect(reqwest::redirect::Policy::custom(|attempt| {
                    if attempt.previous().len() >= 3 {
                        attempt.error("too many redirects")
                    } else if !url_may_be_fetched(attempt.url()) {
                        attempt.error("redirect to a private or loopback address")
                    } else {
                        attempt.follow()
                    }
                }));
        }
        let plain = plain.build().map_err(|e| e.to_string())?;
        Ok(Api {
            http,
            plain,
            base,
            base_url,
            base_private,
            auth_header: auth_header.to_string(),
            secret: secret.to_string(),
            token: token.to_string(),
            utc_offset,
        })
    }

    /// The URL of an API call: a path below `base_url`, or an absolute URL (LAPOR!'s
    /// `next_page_url`) of which only the path and query are kept, on `base_url`'s origin —
    /// the credentials never go to another host, whatever a response names.
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            match url::Url::parse(path) {
                Ok(u) => {
                    if u.origin() != self.base_url.origin() {
                        tracing::warn!(
                            given = %u.origin().ascii_serialization(),
                            "LAPOR! named another origin for an API call; asking the configured one"
                        );
                    }
                    let mut on_base = self.base_url.clone();
                    on_base.set_path(u.path());
                    on_base.set_query(u.query());
                    on_base.to_string()
                }
                Err(_) => format!("{}/", self.base),
            }
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        r.header(self.auth_header.as_str(), format!("Bearer {}", self.secret))
            .header("token", self.token.as_str())
            .header("accept", "application/json")
    }

    async fn finish(r: Result<reqwest::Response, reqwest::Error>) -> Result<Value, ApiError> {
        let resp = r.map_err(|e| ApiError::Transient(format!("LAPOR! unreachable: {e}")))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| ApiError::Transient(format!("LAPOR! answer cut off: {e}")))?;
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if status.is_success() {
            if v.is_null() {
                return Err(ApiError::Transient(format!(
                    "LAPOR! answered {status} without JSON: {}",
                    body.chars().take(200).collect::<String>()
                )));
            }
            return Ok(v);
        }
        let msg = text(&v, &["message"])
            .or_else(|| text(&v, &["results", "message"]))
            .unwrap_or_else(|| body.chars().take(200).collect());
        let e = format!("LAPOR! {status}: {msg}");
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(ApiError::Transient(e))
        } else if matches!(status.as_u16(), 401 | 403) {
            Err(ApiError::Auth(e))
        } else {
            Err(ApiError::Permanent(e))
        }
    }

    /// Downloads a file a follow-up names (a path on the API or an absolute URL), at most
    /// `max` bytes. LAPOR!'s credentials go only to the API's own origin (redirects not
    /// followed); a file elsewhere is fetched without them, and only from a public address
    /// unless the API itself is on a private one (no requests into the office's network on a
    /// stranger's say-so).
    pub async fn download(&self, path: &str, max: usize) -> Result<Vec<u8>, ApiError> {
        let url = url::Url::parse(&self.file_url(path))
            .map_err(|e| ApiError::Permanent(format!("file URL `{path}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ApiError::Permanent(format!(
                "file URL `{path}`: not http(s)"
            )));
        }
        let same_origin = self.base_url.origin() == url.origin();
        let req = if same_origin {
            self.auth(self.http.get(url))
        } else {
            if !self.base_private && !url_may_be_fetched(&url) {
                return Err(ApiError::Permanent(format!(
                    "file URL `{path}`: a private or loopback address"
                )));
            }
            self.plain.get(url)
        };
        let mut resp = req
            .send()
            .await
            .map_err(|e| ApiError::Transient(format!("file unreachable: {e}")))?;
        let status = resp.status();
        if !status.is_success() {
            let e = format!("file: {status}");
            return Err(
                if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
                    ApiError::Transient(e)
                } else {
                    ApiError::Permanent(e)
                },
            );
        }
        let too_large = || ApiError::Permanent(format!("file larger than {max} bytes"));
        if resp.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let mut data = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ApiError::Transient(format!("file cut off: {e}")))?
        {
            if data.len() + chunk.len() > max {
                return Err(too_large());
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    }

    /// A file's URL: a path below `base_url`, or an absolute URL as given.
    fn file_url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        Self::finish(self.auth(self.http.get(self.url(path))).send().await).await
    }

    pub async fn report(&self, id: &str) -> Result<Report, ApiError> {
        let v = self.get(&format!("complaints/{id}/complaint")).await?;
        Ok(parse_report(&v))
    }

    /// Every follow-up, following `next_page_url` (at most 100 pages).
    pub async fn followups(&self, id: &str) -> Result<Vec<Followup>, ApiError> {
        let mut out = Vec::new();
        let mut next = Some(format!("complaints/{id}/followups?page=1"));
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            let v = self.get(&path).await?;
            let (items, n) = parse_followups(&v, |t| self.parse_time(t));
            out.extend(items);
            next = n.filter(|_| pages < 100);
        }
        Ok(out)
    }

    /// `d-m-Y H:i:s` in LAPOR!'s local time.
    pub fn parse_time(&self, s: &str) -> Option<DateTime<Utc>> {
        let n = NaiveDateTime::parse_from_str(s.trim(), "%d-%m-%Y %H:%M:%S").ok()?;
        chrono::FixedOffset::east_opt(self.utc_offset)?
            .from_local_datetime(&n)
            .single()
            .map(|d| d.with_timezone(&Utc))
    }

    /// `POST /complaints/followup/add` (multipart).
    pub async fn add_followup(
        &self,
        fields: &[(&str, String)],
        files: &[(String, String, Vec<u8>)],
    ) -> Result<Value, ApiError> {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.clone());
        }
        for (i, (name, ct, data)) in files.iter().enumerate() {
            let part = reqwest::multipart::Part::bytes(data.clone())
                .file_name(name.clone())
                .mime_str(ct)
                .unwrap_or_else(|_| {
                    reqwest::multipart::Part::bytes(data.clone()).file_name(name.clone())
                });
            form = form.part(format!("attachment[{i}]"), part);
        }
        Self::finish(
            self.auth(self.http.post(self.url("complaints/followup/add")))
                .multipart(form)
                .send()
                .await,
        )
        .await
    }

    /// Report ids from a list endpoint (offices with the real documentation configure it):
    /// `results.data[]` with `id` or `tracking_id`, paged by `next_page_url`.
    pub async fn list(&self, path: &str) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(p) = next.take() {
            pages += 1;
            let v = self.get(&p).await?;
            let items = match v.get("results").and_then(|r| r.get("data")) {
                Some(Value::Array(a)) => a.as_slice(),
                _ => array(&v, &["data"]),
            };
            for it in items {
                if let Some(id) = text(it, &["tracking_id"]).or_else(|| text(it, &["id"])) {
                    out.push(id);
                }
            }
            next = text(&v, &["results", "next_page_url"]).filter(|_| pages < 100);
        }
        Ok(out)
    }
}

/// Reads `GET /complaints/{id}/complaint`: every field optional, unknown ones ignored.
pub fn parse_report(v: &Value) -> Report {
    let d = v
        .get("results")
        .and_then(|r| r.get("data"))
        .unwrap_or(&Value::Null);
    let status_logs = array(d, &["status_logs"]);
    let mut logs = Vec::new();
    for l in array(v, &["results", "data_logs"]) {
        let content = text(l, &["content"]).unwrap_or_default();
        let from = text(l, &["institution_from_name"]).unwrap_or_default();
        let to = text(l, &["institution_to_name"]).unwrap_or_default();
        let old = text(l, &["status_old", "name"]).unwrap_or_default();
        let new = text(l, &["status_new", "name"]).unwrap_or_default();
        let date = text(l, &["date"]).unwrap_or_default();
        let key = match text(l, &["id"]) {
            Some(id) => format!("log:{id}"),
            None => {
                use sha2::Digest;
                let h = sha2::Sha256::digest(format!("{date}\n{from}\n{content}").as_bytes());
                format!("log:h:{}", hex::encode(&h[..12]))
            }
        };
        let mut t = String::new();
        if !from.is_empty() || !to.is_empty() {
            t.push_str(&format!("{from} → {to}. "));
        }
        if !old.is_empty() || !new.is_empty() {
            t.push_str(&format!("Status: {old} → {new}. "));
        }
        t.push_str(&content);
        logs.push(LogEntry {
            key,
            text: t.trim().to_string(),
            attachments: files(l),
        });
    }
    Report {
        status_code: text(d, &["status_code"]),
        status_name: text(d, &["status_name"]),
        disposition: text(d, &["disposition_name"]),
        title: text(d, &["title"]),
        content: text(d, &["content"]),
        status_logs: status_logs.len(),
        last_note: status_logs.last().and_then(|l| text(l, &["note"])),
        logs,
    }
}

/// Reads one page of follow-ups: the entries and the `next_page_url`.
pub fn parse_followups(
    v: &Value,
    parse_time: impl Fn(&str) -> Option<DateTime<Utc>>,
) -> (Vec<Followup>, Option<String>) {
    let items = array(v, &["results", "data"])
        .iter()
        .map(|f| {
            let created_raw = text(f, &["created_at"]).unwrap_or_default();
            Followup {
                id: text(f, &["id"]),
                created_at: parse_time(&created_raw),
                created_raw,
                from: text(f, &["institution_from_name"]).unwrap_or_default(),
                to: text(f, &["institution_to_name"]).unwrap_or_default(),
                content: text(f, &["content"])
                    .or_else(|| text(f, &["template_content"]))
                    .unwrap_or_default(),
                attachments: files(f),
            }
        })
        .collect();
    (items, text(v, &["results", "next_page_url"]))
}

/// Whether an address is on the public internet (not loopback, private, link-local, CGNAT,
/// unique-local, multicast or unspecified).
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            !(v.is_loopback()
                || v.is_private()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || v.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        IpAddr::V6(v) => {
            if let Some(v4) = v.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v.segments();
            !(v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// Whether a URL's host may be fetched without the API's trust: not a literal private or
/// loopback address, nor `localhost` (names are checked again when resolved).
fn url_may_be_fetched(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => is_public(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_public(ip.into()),
        Some(url::Host::Domain(d)) => !aduan_channel::is_loopback_host(d),
        None => false,
    }
}

/// A resolver that answers only public addresses: a name that resolves into the office's
/// network (or loopback) is refused, also after a redirect.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests;
