//! SMTP replies (lettre, pooled, rustls). One outbox row is one message with one `Message-ID`
//! on every attempt; replies carry `In-Reply-To` and the whole `References` chain, automatic
//! ones `Auto-Submitted: auto-replied`. 4xx and connection trouble are transient, 5xx permanent.

use std::time::Duration;

use aduan_channel::{Address, OutboundMessage, SendError, SendReceipt};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, Security};

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

impl Smtp {
    pub fn new(cfg: &Config) -> Result<Smtp, String> {
        let s = &cfg.smtp;
        let tls_params = || {
            let mut b = TlsParameters::builder(s.host.clone());
            if let Some(f) = &s.ca_file {
                let pem = std::fs::read(f).map_err(|e| format!("cannot read `{f}`: {e}"))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| format!("`{f}`: {e}"))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| format!("SMTP TLS: {e}"))
        };
        let tls = match s.security {
            Security::Tls => Tls::Wrapper(tls_params()?),
            Security::Starttls => Tls::Required(tls_params()?),
            Security::Plain => Tls::None,
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port())
            .tls(tls)
            .timeout(Some(Duration::from_secs(s.timeout_secs)))
            .pool_config(
                PoolConfig::new()
                    .max_size(s.pool_size)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if !s.username.is_empty() {
            b = b.credentials(Credentials::new(
                s.username.clone(),
                s.password.expose().to_string(),
            ));
        }
        let from = Mailbox::new(
            cfg.display_name.clone(),
            cfg.address
                .parse()
                .map_err(|e| format!("channels.email.address: {e}"))?,
        );
        let reply_to = match &cfg.reply_to {
            Some(r) => Some(Mailbox::new(
                None,
                r.parse()
                    .map_err(|e| format!("channels.email.reply_to: {e}"))?,
            )),
            None => None,
        };
        Ok(Smtp {
            transport: b.build(),
            from,
            reply_to,
        })
    }

    /// The message as it goes on the wire.
    pub fn build(&self, msg: &OutboundMessage) -> Result<Message, SendError> {
        let Address::Email(to) = &msg.to else {
            return Err(SendError::permanent(format!(
                "not an email address: {}",
                msg.to
            )));
        };
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::permanent(format!("bad recipient address: {e}")))?;
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone())
            .message_id(Some(msg.message_id.clone()))
            .date_now()
            .user_agent(concat!("aduan/", env!("CARGO_PKG_VERSION")).into());
        if let Some(r) = &self.reply_to {
            b = b.reply_to(r.clone());
        }
        if let Some(last) = msg.references.last() {
            b = b
                .in_reply_to(last.clone())
                .references(msg.references.join(" "));
        }
        if msg.automatic {
            b = b
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("Auto-Submitted"),
                    "auto-replied".into(),
                ))
                // Asks Exchange/Outlook not to answer a receipt with an out-of-office notice.
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
                    "All".into(),
                ));
        }
        let text = SinglePart::plain(msg.text.clone());
        let built = if msg.attachments.is_empty() {
            b.singlepart(text)
        } else {
            let mut mp = MultiPart::mixed().singlepart(text);
            for a in &msg.attachments {
                let ct = ContentType::parse(&a.content_type)
                    .unwrap_or_else(|_| ContentType::parse("application/octet-stream").unwrap());
                mp = mp.singlepart(Attachment::new(a.filename.clone()).body(a.data.clone(), ct));
            }
            b.multipart(mp)
        };
        built.map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
    }

    pub async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        let m = self.build(msg)?;
        match self.transport.send(m).await {
            Ok(_) => Ok(SendReceipt::new(msg.message_id.clone())),
            Err(e) if e.is_permanent() => Err(SendError::permanent(format!("SMTP: {e}"))),
            Err(e) => Err(SendError::transient(format!("SMTP: {e}"))),
        }
    }

    /// Opens (or reuses) a connection and says NOOP: for health checks.
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("SMTP server did not answer NOOP".into()),
            Err(e) => Err(format!("SMTP: {e}")),
        }
    }
}
