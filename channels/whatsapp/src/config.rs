//! `[channels.whatsapp]`: one WhatsApp Business phone number on the Cloud API.

use aduan_channel::{is_loopback_host, Problem, Secret};
use serde::Deserialize;

/// `[channels.whatsapp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The Graph API's base URL.
    pub api_url: String,
    /// The Graph API version in every path (`v21.0`).
    pub api_version: String,
    /// The business phone number's id (Meta's "Phone number ID", digits; a TOML string, or
    /// a number as an environment variable gives it).
    #[serde(deserialize_with = "aduan_channel::config::string_or_number")]
    pub phone_number_id: String,
    /// A system user's access token (`ADUAN_CHANNELS__WHATSAPP__ACCESS_TOKEN`).
    pub access_token: Secret,
    /// The app secret that signs webhook calls (`X-Hub-Signature-256`;
    /// `ADUAN_CHANNELS__WHATSAPP__APP_SECRET`).
    pub app_secret: Secret,
    /// The verify token typed into the app's webhook settings
    /// (`ADUAN_CHANNELS__WHATSAPP__VERIFY_TOKEN`).
    pub verify_token: Secret,
    /// The approved template sent outside the 24-hour customer-service window.
    pub template_name: String,
    /// Its language code as approved (`id`, `en_US`).
    pub template_language: String,
    /// The template's body parameters, in order: `register_no` and/or `text` (the reply,
    /// on one line, shortened to fit).
    pub template_params: Vec<String>,
    /// Hosts (besides the API's own) that media URLs may point to; the access token goes to
    /// no other host.
    pub media_hosts: Vec<String>,
    /// The largest file downloaded from a message; bigger ones are noted, not fetched.
    pub max_media_bytes: usize,
    /// Seconds an API call may take.
    pub timeout_secs: u64,
    /// Seconds a reply waits, its attempts untouched, while the access token is refused
    /// before it is tried again.
    pub token_wait_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_url: "https://graph.facebook.com".into(),
            api_version: "v21.0".into(),
            phone_number_id: String::new(),
            access_token: Secret::default(),
            app_secret: Secret::default(),
            verify_token: Secret::default(),
            template_name: "aduan_balasan".into(),
            template_language: "id".into(),
            template_params: vec!["register_no".into(), "text".into()],
            media_hosts: vec!["lookaside.fbsbx.com".into()],
            max_media_bytes: 10 * 1024 * 1024,
            timeout_secs: 30,
            token_wait_secs: 60,
        }
    }
}

impl Config {
    /// Everything wrong, all at once.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        let k = |s: &str| format!("channels.whatsapp.{s}");
        match url::Url::parse(&self.api_url) {
            Ok(u) if u.scheme() == "https" || u.host_str().is_some_and(is_loopback_host) => {}
            Ok(_) => p.push(Problem::new(
                k("api_url"),
                "must be https (http only for a server on this host)",
            )),
            Err(e) => p.push(Problem::new(k("api_url"), e.to_string())),
        }
        if !self.api_version.starts_with('v')
            || !self.api_version[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
        {
            p.push(Problem::new(k("api_version"), "use the form v21.0"));
        }
        if self.phone_number_id.is_empty()
            || !self.phone_number_id.chars().all(|c| c.is_ascii_digit())
        {
            p.push(Problem::new(
                k("phone_number_id"),
                "the phone number's id (digits) from the app's WhatsApp settings",
            ));
        }
        for (key, s, env) in [
            ("access_token", &self.access_token, "ACCESS_TOKEN"),
            ("app_secret", &self.app_secret, "APP_SECRET"),
            ("verify_token", &self.verify_token, "VERIFY_TOKEN"),
        ] {
            if s.expose().trim().is_empty() {
                p.push(Problem::new(
                    k(key),
                    format!("is missing (set ADUAN_CHANNELS__WHATSAPP__{env})"),
                ));
            }
        }
        if self.template_name.is_empty()
            || !self
                .template_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            p.push(Problem::new(
                k("template_name"),
                "the approved template's name (a-z, 0-9, _)",
            ));
        }
        if self.template_language.trim().is_empty() {
            p.push(Problem::new(k("template_language"), "is empty"));
        }
        for (i, t) in self.template_params.iter().enumerate() {
            if !matches!(t.as_str(), "register_no" | "text") {
                p.push(Problem::new(
                    format!("channels.whatsapp.template_params[{i}]"),
                    format!("`{t}`: use register_no or text"),
                ));
            }
        }
        if self.max_media_bytes == 0 || self.timeout_secs == 0 {
            p.push(Problem::new(
                k("max_media_bytes"),
                "limits must be positive",
            ));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_keys() {
        let c: Config = toml::from_str(
            r#"phone_number_id = "1098765432"
               access_token = "EAAG"
               app_secret = "s"
               verify_token = "v""#,
        )
        .unwrap();
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        let bad: Config = toml::from_str(
            r#"api_url = "http://graph.example.com"
               phone_number_id = "12ab"
               template_params = ["register_no", "name"]"#,
        )
        .unwrap();
        let keys: Vec<_> = bad.problems().into_iter().map(|p| p.key).collect();
        for want in [
            "channels.whatsapp.api_url",
            "channels.whatsapp.phone_number_id",
            "channels.whatsapp.access_token",
            "channels.whatsapp.app_secret",
            "channels.whatsapp.verify_token",
            "channels.whatsapp.template_params[1]",
        ] {
            assert!(keys.iter().any(|k| k == want), "{want} in {keys:?}");
        }
    }
}
