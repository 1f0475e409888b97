//! `[channels.sms]`: the modems and their settings, checked all at once.

use super::*;

/// `[channels.sms]`: GSM modems on serial ports.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The modems (`[[channels.sms.modems]]`). A reply goes out through the modem its
    /// complaint came in on while that one is healthy, else through another.
    pub modems: Vec<ModemConfig>,
    /// Seconds between inbox polls and health checks (besides `+CMTI`).
    pub poll_secs: u64,
    /// Seconds an incomplete multipart message waits for its missing parts before it is
    /// registered as partial (a late part then joins it).
    pub partial_timeout_secs: u64,
    /// Ask the network for delivery reports.
    pub status_reports: bool,
    /// Validity of sent messages, hours (1-24).
    pub validity_hours: u8,
    /// Seconds a single AT command may take.
    pub command_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModemConfig {
    /// A short name, used in logs, metrics and thread references (`modem1`).
    pub name: String,
    /// The serial port (`/dev/ttyUSB0`, `/dev/serial/by-id/…`).
    pub port: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// SIM PIN, if the SIM asks for one (better from the environment:
    /// `ADUAN_CHANNELS__SMS__MODEMS` cannot hold it, so keep the SIM unlocked or the file private).
    /// Never printed (not even by `Debug`); a refused PIN stops the modem after one try.
    #[serde(default)]
    pub pin: Option<aduan_channel::Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            modems: Vec::new(),
            poll_secs: 30,
            partial_timeout_secs: 3600,
            status_reports: true,
            validity_hours: 24,
            command_timeout_secs: 10,
        }
    }
}

fn default_baud() -> u32 {
    115_200
}

impl Config {
    /// Every problem, as (key, message).
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if self.modems.is_empty() {
            p.push(Problem::new("channels.sms.modems", "no modem configured"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, m) in self.modems.iter().enumerate() {
            if m.name.is_empty()
                || !m
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                p.push(Problem::new(
                    format!("channels.sms.modems[{i}].name"),
                    "use letters, digits, - or _",
                ));
            }
            if !names.insert(m.name.clone()) {
                p.push(Problem::new(
                    format!("channels.sms.modems[{i}].name"),
                    format!("`{}` is used twice", m.name),
                ));
            }
            if m.port.trim().is_empty() {
                p.push(Problem::new(
                    format!("channels.sms.modems[{i}].port"),
                    "is empty",
                ));
            }
        }
        if !(1..=24).contains(&self.validity_hours) {
            p.push(Problem::new(
                "channels.sms.validity_hours",
                "must be 1 to 24",
            ));
        }
        if self.poll_secs == 0 || self.command_timeout_secs == 0 {
            p.push(Problem::new(
                "channels.sms.poll_secs",
                "intervals must be positive",
            ));
        }
        p
    }
}

impl ChannelSpec for Config {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }
    fn problems(&self) -> Vec<Problem> {
        Config::problems(self)
    }
    fn build(&self, _ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError> {
        Ok(Arc::new(SmsChannel::new(self.clone())?))
    }
}
