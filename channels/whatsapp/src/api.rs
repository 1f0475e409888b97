//! The Graph API calls the channel makes: send a message, upload a file, look up and download
//! a media file, read the phone number (health). Errors are read from Meta's error object
//! (`error.code`, `error.message`, `error.error_data.details`) and sorted into what a retry
//! can fix and what it cannot.

use std::time::Duration;

use serde_json::{json, Value};

use crate::Config;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Might work later: network, 5xx, rate limits (130429, 131056, 131048), a refused token
    /// (the office must fix it; the message waits).
    #[error("{0}")]
    Transient(String),
    /// The customer-service window is closed (131047): only a template may be sent.
    #[error("{0}")]
    Reengage(String),
    /// Will never work as it is (131026 undeliverable, invalid parameters…).
    #[error("{0}")]
    Permanent(String),
    /// The access token was refused (HTTP 401, code 190): nothing can be sent until the
    /// office gives a working one.
    #[error("{0}")]
    Auth(String),
}

/// Why a media file of a message was not downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaError {
    /// Over `max_media_bytes` (as declared, or as it came).
    TooLarge(u64),
    /// Its URL is on a host the access token may not go to, or WhatsApp does not know it.
    Refused(String),
    /// Try again with the redelivery.
    Transient(String),
}

pub struct Media {
    pub data: Vec<u8>,
    pub mime_type: Option<String>,
}

pub struct Api {
    base: url::Url,
    version: String,
    phone_id: String,
    token: String,
    media_hosts: Vec<String>,
    http: reqwest::Client,
}

/// Codes Meta documents as throttling or temporary.
const TRANSIENT_CODES: &[i64] = &[
    1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004,
];

/// What an error answer means.
pub fn classify(status: u16, body: &Value) -> ApiError {
    let e = body.get("error").cloned().unwrap_or_default();
    let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no error message");
    let details = e
        .get("error_data")
        .and_then(|d| d.get("details"))
        .and_then(Value::as_str);
    let text = match details {
        Some(d) if !d.is_empty() => format!("WhatsApp {code}: {message} ({d})"),
        _ => format!("WhatsApp {code}: {message}"),
    };
    let text = format!("HTTP {status}, {text}");
    if code == 131047 {
        ApiError::Reengage(text)
    } else if status == 429 || status >= 500 || TRANSIENT_CODES.contains(&code) {
        ApiError::Transient(text)
    } else if status == 401 || code == 190 {
        ApiError::Auth(format!("the access token was refused: {text}"))
    } else {
        ApiError::Permanent(text)
    }
}

impl Api {
    pub fn new(cfg: &Config) -> Result<Api, String> {
        let base = url::Url::parse(cfg.api_url.trim_end_matches('/'))
            .map_err(|e| format!("channels.whatsapp.api_url: {e}"))?;
        // The token goes with every call: never follow a redirect elsewhere.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.timeout_secs.min(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Api {
            base,
            version: cfg.api_version.clone(),
            phone_id: cfg.phone_number_id.clone(),
            token: cfg.access_token.expose().to_string(),
            media_hosts: cfg
                .media_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.base.as_str().trim_end_matches('/'),
            self.version,
            path
        )
    }

    async fn finish(r: Result<reqwest::Response, reqwest::Error>) -> Result<Value, ApiError> {
        let r = r.map_err(|e| ApiError::Transient(format!("WhatsApp not reachable: {e}")))?;
        let status = r.status().as_u16();
        let body = r
            .bytes()
            .await
            .map_err(|e| ApiError::Transient(format!("WhatsApp answer cut off: {e}")))?;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            Err(classify(status, &v))
        }
    }

    /// `POST /{phone-number-id}/messages`; the new message's id.
    pub async fn send(&self, payload: &Value) -> Result<String, ApiError> {
        let r = self
            .http
            .post(self.url(&format!("{}/messages", self.phone_id)))
            .bearer_auth(&self.token)
            .json(payload)
            .send()
            .await;
        let v = Self::finish(r).await?;
        v.pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::Transient(format!("WhatsApp answer without a message id: {v}"))
            })
    }

    /// `POST /{phone-number-id}/media` (multipart); the media id.
    pub async fn upload(&self, a: &aduan_channel::Attachment) -> Result<String, ApiError> {
        let part = reqwest::multipart::Part::bytes(a.data.clone())
            .file_name(a.filename.clone())
            .mime_str(&a.content_type)
            .or_else(|_| {
                reqwest::multipart::Part::bytes(a.data.clone())
                    .file_name(a.filename.clone())
                    .mime_str("application/octet-stream")
            })
            .map_err(|e| ApiError::Permanent(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", a.content_type.clone())
            .part("file", part);
        let r = self
            .http
            .post(self.url(&format!("{}/media", self.phone_id)))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await;
        let v = Self::finish(r).await?;
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ApiError::Transient(format!("upload answer without an id: {v}")))
    }

    /// `GET /{phone-number-id}`: the number's display name, when the token is good.
    pub async fn check(&self) -> Result<String, ApiError> {
        let r = self
            .http
            .get(self.url(&self.phone_id))
            .bearer_auth(&self.token)
            .send()
            .await;
        let v = Self::finish(r).await?;
        Ok(v.get("display_phone_number")
            .or_else(|| v.get("verified_name"))
            .and_then(Value::as_str)
            .unwrap_or("phone number")
            .to_string())
    }

    /// Whether the access token may go to `u`: the API's own origin, or https on a configured
    /// media host.
    pub fn token_may_go_to(&self, u: &url::Url) -> bool {
        let same_origin = u.origin() == self.base.origin();
        let media_host = u.scheme() == "https"
            && u.host_str().is_some_and(|h| {
                self.media_hosts
                    .iter()
                    .any(|m| m == &h.to_ascii_lowercase())
            });
        same_origin || media_host
    }

    /// `GET /{media-id}`, then the URL it returns (with the token, to an allowed host only),
    /// read to at most `max` bytes.
    pub async fn media(&self, id: &str, max: usize) -> Result<Media, MediaError> {
        let transient = |e: ApiError| match e {
            ApiError::Permanent(m) => MediaError::Refused(m),
            other => MediaError::Transient(other.to_string()),
        };
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(MediaError::Refused(format!("not a media id: {id:?}")));
        }
        let r = self
            .http
            .get(self.url(id))
            .bearer_auth(&self.token)
            .send()
            .await;
        let v = Self::finish(r).await.map_err(transient)?;
        if let Some(n) = v
            .get("file_size")
            .and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok()))
        {
            if n > max as u64 {
                return Err(MediaError::TooLarge(n));
            }
        }
        let Some(u) = v
            .get("url")
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u).ok())
        else {
            return Err(MediaError::Refused(format!("media {id} has no URL")));
        };
        if !self.token_may_go_to(&u) {
            return Err(MediaError::Refused(format!(
                "media {id} is on {}, not an allowed media host (channels.whatsapp.media_hosts)",
                u.host_str().unwrap_or("?")
            )));
        }
        let mut r = self
            .http
            .get(u)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| MediaError::Transient(format!("media {id}: {e}")))?;
        let status = r.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(MediaError::Transient(format!("media {id}: HTTP {status}")));
        }
        if !status.is_success() {
            return Err(MediaError::Refused(format!("media {id}: HTTP {status}")));
        }
        let mut data = Vec::new();
        while let Some(chunk) = r
            .chunk()
            .await
            .map_err(|e| MediaError::Transient(format!("media {id}: {e}")))?
        {
            if data.len() + chunk.len() > max {
                return Err(MediaError::TooLarge((data.len() + chunk.len()) as u64));
            }
            data.extend_from_slice(&chunk);
        }
        Ok(Media {
            data,
            mime_type: v
                .get("mime_type")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// The body of a text message, answering `context` when given.
pub fn text_message(to: &str, body: &str, context: Option<&str>) -> Value {
    let mut v = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": false, "body": body},
    });
    if let Some(c) = context {
        v["context"] = json!({"message_id": c});
    }
    v
}

/// The body of a document message of an uploaded file.
pub fn document_message(to: &str, media_id: &str, filename: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "document",
        "document": {"id": media_id, "filename": filename},
    })
}

/// The body of a template message with these body parameters.
pub fn template_message(to: &str, name: &str, lang: &str, params: &[String]) -> Value {
    let mut t = json!({"name": name, "language": {"code": lang}});
    if !params.is_empty() {
        let p: Vec<Value> = params
            .iter()
            .map(|s| json!({"type": "text", "text": s}))
            .collect();
        t["components"] = json!([{"type": "body", "parameters": p}]);
    }
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": t,
    })
}

/// A template parameter: one line (no newlines or tabs, no more than four spaces in a row, as
/// the API requires), at most `max` characters.
pub fn template_param(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut spaces = 0;
    for c in s.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c == ' ' {
            spaces += 1;
            if spaces > 1 {
                continue;
            }
        } else {
            spaces = 0;
        }
        out.push(c);
    }
    let out = out.trim().to_string();
    if out.chars().count() <= max {
        return if out.is_empty() { "-".into() } else { out };
    }
    let mut cut: String = out.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted() {
        let e = |code: i64| json!({"error": {"message": "m", "type": "OAuthException", "code": code, "error_data": {"messaging_product": "whatsapp", "details": "d"}, "fbtrace_id": "A1"}});
        assert!(matches!(classify(400, &e(131047)), ApiError::Reengage(_)));
        assert!(matches!(classify(400, &e(130429)), ApiError::Transient(_)));
        assert!(matches!(classify(400, &e(131056)), ApiError::Transient(_)));
        assert!(matches!(classify(401, &e(190)), ApiError::Auth(_)));
        assert!(matches!(
            classify(500, &Value::Null),
            ApiError::Transient(_)
        ));
        let ApiError::Permanent(m) = classify(400, &e(131026)) else {
            panic!()
        };
        assert!(m.contains("131026") && m.contains("(d)"), "{m}");
    }

    #[test]
    fn template_params_are_one_line() {
        assert_eq!(template_param("a\nb\t\tc     d", 100), "a b c d");
        assert_eq!(template_param("", 10), "-");
        let long = template_param(&"x".repeat(50), 10);
        assert_eq!(long.chars().count(), 10);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn the_token_goes_only_to_the_api_and_media_hosts() {
        let cfg = Config {
            api_url: "https://graph.facebook.com".into(),
            ..Config::default()
        };
        let api = Api::new(&cfg).unwrap();
        let ok = |s: &str| api.token_may_go_to(&url::Url::parse(s).unwrap());
        assert!(ok("https://graph.facebook.com/v21.0/123"));
        assert!(ok(
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
        ));
        assert!(!ok("http://lookaside.fbsbx.com/x"));
        assert!(!ok("https://evil.example/x"));
        assert!(!ok("https://graph.facebook.com.evil.example/x"));
    }
}
