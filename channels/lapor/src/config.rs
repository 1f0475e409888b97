//! `[channels.lapor]`: the configuration, its checks, and the tracking-id and reference
//! formats the channel and officers share.

use super::*;

/// `[channels.lapor]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Production `https://api-splp.layanan.go.id/lapor/3.0.0`; sandbox
    /// `https://api-splp.layanan.go.id/sandbox-konsolidasi/1.0`.
    #[serde(default = "default_base")]
    pub base_url: String,
    /// Name of the header carrying `Bearer <secret>`: `auth` or `Authorization`.
    #[serde(default = "default_auth_header")]
    pub auth_header: String,
    /// `ADUAN_CHANNELS__LAPOR__SECRET`.
    #[serde(default)]
    pub secret: Secret,
    /// The `token` GUID issued by LAPOR! (`ADUAN_CHANNELS__LAPOR__TOKEN`).
    #[serde(default)]
    pub token: Secret,
    /// The office's LAPOR! account and institution, for follow-ups (numbers or strings).
    #[serde(deserialize_with = "aduan_channel::config::string_or_number")]
    pub user_id: String,
    #[serde(deserialize_with = "aduan_channel::config::string_or_number")]
    pub institution_id: String,
    /// The institution's name as LAPOR! shows it: follow-ups from it are ours.
    #[serde(default)]
    pub institution_name: Option<String>,
    /// `institution_to_id` of follow-ups (empty: none sent).
    #[serde(default, deserialize_with = "aduan_channel::config::string_or_number")]
    pub institution_to_id: String,
    /// `template_code` of follow-ups (empty: free text).
    #[serde(default, deserialize_with = "aduan_channel::config::string_or_number")]
    pub template_code: String,
    /// Seconds between polls of the linked reports.
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// A list endpoint returning the institution's reports (`results.data[].id`), for offices
    /// that have LAPOR!'s developer documentation; unset: reports are linked by officers.
    #[serde(default)]
    pub list_path: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Files of follow-ups are downloaded into the register up to this size (bytes); larger
    /// ones, and all with 0, stay links in the message text.
    #[serde(default = "default_max_file")]
    pub max_file_bytes: usize,
    /// LAPOR!'s clock: `+07:00`.
    #[serde(default = "default_offset")]
    pub utc_offset: String,
    /// Senders of LAPOR!'s notification mails (a domain, or a whole address): such a mail
    /// reaching the email channel links the report whose tracking id it names.
    #[serde(default = "default_senders")]
    pub notification_senders: Vec<String>,
}

fn default_senders() -> Vec<String> {
    vec!["lapor.go.id".into()]
}

impl Config {
    /// Whether `email` is one of LAPOR!'s notification senders.
    pub fn is_notification_sender(&self, email: &str) -> bool {
        let e = email.to_ascii_lowercase();
        let domain = e.rsplit('@').next().unwrap_or("");
        self.notification_senders.iter().any(|s| {
            let s = s.trim().to_ascii_lowercase();
            if s.contains('@') {
                e == s
            } else {
                domain == s || domain.ends_with(&format!(".{s}"))
            }
        })
    }
}

/// The tracking id a LAPOR! notification names: `#5312345`, or an id after "tracking id",
/// "ID laporan", "nomor laporan" or "no. laporan" (case-insensitive, `:` optional).
pub fn tracking_id_in(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let token = |rest: &str| -> Option<String> {
        let t: String = rest
            .trim_start_matches([':', ' ', '\t', '#'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        (t.len() >= 5 && t.chars().any(|c| c.is_ascii_digit()) && valid_tracking_id(&t))
            .then_some(t)
    };
    for key in [
        "tracking id",
        "id laporan",
        "nomor laporan",
        "no. laporan",
        "nomor tracking",
    ] {
        if let Some(i) = lower.find(key) {
            // ASCII lowercasing keeps byte offsets.
            if let Some(t) = text.get(i + key.len()..).and_then(token) {
                return Some(t.to_uppercase());
            }
        }
    }
    text.match_indices('#').find_map(|(i, _)| {
        let t: String = text[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        (t.len() >= 5).then_some(t)
    })
}

fn default_base() -> String {
    "https://api-splp.layanan.go.id/lapor/3.0.0".into()
}
fn default_auth_header() -> String {
    "auth".into()
}
fn default_poll() -> u64 {
    300
}
fn default_timeout() -> u64 {
    30
}
fn default_max_file() -> usize {
    10 * 1024 * 1024
}
fn default_offset() -> String {
    "+07:00".into()
}

/// `+07:00` → seconds east of UTC.
pub fn parse_offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

impl Config {
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        let k = |s: &str| format!("channels.lapor.{s}");
        match url::Url::parse(&self.base_url) {
            Ok(u)
                if u.scheme() == "https"
                    || u.host_str().is_some_and(aduan_channel::is_loopback_host) => {}
            Ok(_) => p.push(Problem::new(
                k("base_url"),
                "must be https (http only for this host)",
            )),
            Err(e) => p.push(Problem::new(k("base_url"), e.to_string())),
        }
        if !self.auth_header.eq_ignore_ascii_case("auth")
            && !self.auth_header.eq_ignore_ascii_case("authorization")
        {
            p.push(Problem::new(
                k("auth_header"),
                "use `auth` or `Authorization`",
            ));
        }
        if self.secret.expose().is_empty() {
            p.push(Problem::new(
                k("secret"),
                "is empty (set ADUAN_CHANNELS__LAPOR__SECRET)",
            ));
        }
        if self.token.expose().is_empty() {
            p.push(Problem::new(
                k("token"),
                "is empty (set ADUAN_CHANNELS__LAPOR__TOKEN)",
            ));
        }
        if self.user_id.trim().is_empty() {
            p.push(Problem::new(k("user_id"), "is empty"));
        }
        if self.institution_id.trim().is_empty() {
            p.push(Problem::new(k("institution_id"), "is empty"));
        }
        if self.poll_secs == 0 || self.timeout_secs == 0 {
            p.push(Problem::new(
                k("poll_secs"),
                "poll_secs and timeout_secs must be positive",
            ));
        }
        if parse_offset(&self.utc_offset).is_none() {
            p.push(Problem::new(k("utc_offset"), "use the form +07:00"));
        }
        p
    }
}

/// The line that marks a follow-up as ours: register number and outbox row, bracketed so
/// that row 17's marker is never a prefix of row 170's.
pub fn reference(register_no: &str, outbox_id: i64) -> String {
    format!("[Ref. aduan {register_no}/{outbox_id}]")
}

/// Whether `content` carries this row's marker as a whole token: bracketed, or as posted before
/// the brackets (`Ref. aduan ADU-…/17` not followed by another digit).
pub fn has_reference(content: &str, register_no: &str, outbox_id: i64) -> bool {
    let bare = format!("Ref. aduan {register_no}/{outbox_id}");
    content.match_indices(&bare).any(|(i, _)| {
        !content[i + bare.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// Whether a follow-up's last line is one of our markers, exactly (the line aduan appends to
/// what it posts); a citizen quoting an answer inside their own words does not end so.
pub fn ends_with_a_reference(content: &str) -> bool {
    let Some(last) = content.lines().map(str::trim).rfind(|l| !l.is_empty()) else {
        return false;
    };
    let inner = last
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .unwrap_or(last);
    let Some(rest) = inner.strip_prefix("Ref. aduan ") else {
        return false;
    };
    match rest.rsplit_once('/') {
        Some((no, row)) => {
            !no.is_empty()
                && !no.contains(char::is_whitespace)
                && !row.is_empty()
                && row.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// The link message the daemon registers when an officer links a LAPOR! report.
pub fn link_message(tracking_id: &str, linked_by: &str) -> InboundMessage {
    let mut m = InboundMessage::new(
        ChannelKind::Lapor,
        format!("link:{tracking_id}"),
        Address::Lapor(tracking_id.to_string()),
        format!("Laporan LAPOR! {tracking_id} ditautkan ke register ({linked_by})."),
    );
    m.subject = Some(format!("LAPOR! {tracking_id}"));
    m.hints.conversation = Some(tracking_id.to_string());
    // LAPOR! acknowledges the citizen itself; we never post a receipt there.
    m.auto_generated = true;
    m
}

/// A LAPOR! tracking id: digits, letters and dashes.
pub fn valid_tracking_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl ChannelSpec for Config {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Lapor
    }
    fn problems(&self) -> Vec<Problem> {
        Config::problems(self)
    }
    fn build(&self, _ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError> {
        Ok(Arc::new(LaporChannel::new(self.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row 17's marker is not row 170's; the markers posted before the brackets still count;
    /// only a last line that is a marker makes a follow-up ours.
    #[test]
    fn markers_are_whole_tokens() {
        let no = "ADU-2026-000001";
        let posted_170 = format!("Jawaban\n\n{}", reference(no, 170));
        assert!(has_reference(&posted_170, no, 170));
        assert!(!has_reference(&posted_170, no, 17));
        let old_170 = format!("Jawaban\n\nRef. aduan {no}/170");
        assert!(!has_reference(&old_170, no, 17));
        assert!(has_reference(&old_170, no, 170));
        assert!(has_reference(&format!("x\nRef. aduan {no}/17"), no, 17));
        assert!(ends_with_a_reference(&posted_170));
        assert!(ends_with_a_reference(&old_170));
        let quoting = format!(
            "Saya tidak setuju dengan jawaban \"Ref. aduan {no}/17\" itu; jalan masih rusak."
        );
        assert!(!ends_with_a_reference(&quoting));
        assert!(!ends_with_a_reference("Ref. aduan tanpa nomor"));
        assert!(!ends_with_a_reference(""));
    }
}
