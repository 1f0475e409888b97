//! How a channel is configured and built: the one surface the daemon needs from a channel crate.
//!
//! Each channel crate has a config type (deserialized from its `[channels.NAME]` section) that
//! implements [`ChannelSpec`]: it checks itself and builds the adapter. The daemon keeps one
//! enum of these config types and never looks inside them.

use std::fmt;
use std::sync::Arc;

use crate::{Channel, ChannelKind};

/// One thing wrong with a configuration — the daemon's or a channel's section: the full key
/// (`channels.email.imap.host`), what is wrong with it, and how to fix it (empty when the
/// message says it all). The one problem type of every configuration check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
            fix: String::new(),
        }
    }

    /// A problem with the way to fix it.
    pub fn with_fix(
        key: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            fix: fix.into(),
            ..Problem::new(key, message)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

/// What the daemon tells a channel when it builds it.
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    /// The office's name (`[office] name`), for greetings.
    pub office_name: String,
}

/// A channel that cannot be built from its (checked) configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

impl From<String> for BuildError {
    fn from(s: String) -> Self {
        BuildError(s)
    }
}

/// A channel's configuration: what the daemon asks of it.
pub trait ChannelSpec: fmt::Debug + Send + Sync {
    fn kind(&self) -> ChannelKind;

    /// Whether the section turns the channel on (a built-in channel can be switched off).
    fn enabled(&self) -> bool {
        true
    }

    /// Everything wrong with this configuration, all at once; empty when it can be built.
    fn problems(&self) -> Vec<Problem>;

    /// The adapter. Called once at start-up, after [`ChannelSpec::problems`] came back empty.
    fn build(&self, ctx: &BuildContext) -> Result<Arc<dyn Channel>, BuildError>;
}
