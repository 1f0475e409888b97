//! The IMAP connection: TCP with TLS, STARTTLS or (loopback only) plain, each step timed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::{ImapConfig, Security};
use crate::tls;

/// A connection to the IMAP server, encrypted or (loopback only) not.
#[derive(Debug)]
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, b),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, b),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type Session = async_imap::Session<Conn>;

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("{0}")]
    Io(String),
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("register unavailable: {0}")]
    Sink(String),
}

pub(crate) async fn within<T, E: Into<ImapError>>(
    d: Duration,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(d, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(ImapError::Timeout(d)),
    }
}

impl From<io::Error> for ImapError {
    fn from(e: io::Error) -> Self {
        ImapError::Io(e.to_string())
    }
}

/// Opens and logs in. `tls` is required unless the config says `plain`.
pub async fn connect(cfg: &ImapConfig, tls: Option<&TlsConnector>) -> Result<Session, ImapError> {
    let t = Duration::from_secs(cfg.timeout_secs);
    let tcp = within(t, TcpStream::connect((cfg.host.as_str(), cfg.port()))).await?;
    tcp.set_nodelay(true).ok();
    let upgrade = |tcp: TcpStream| async {
        let c = tls.ok_or_else(|| ImapError::Io("TLS is not configured".into()))?;
        let name = tls::server_name(&cfg.host).map_err(ImapError::Io)?;
        let s = within(t, c.connect(name, tcp))
            .await
            .map_err(|e| ImapError::Io(format!("TLS handshake with {}: {e}", cfg.host)))?;
        Ok::<_, ImapError>(Conn::Tls(Box::new(s)))
    };
    let client = match cfg.security {
        Security::Tls => {
            let mut c = async_imap::Client::new(upgrade(tcp).await?);
            greeting(&mut c, t).await?;
            c
        }
        Security::Plain => {
            let mut c = async_imap::Client::new(Conn::Plain(tcp));
            greeting(&mut c, t).await?;
            c
        }
        Security::Starttls => {
            let mut c = async_imap::Client::new(Conn::Plain(tcp));
            greeting(&mut c, t).await?;
            within(t, c.run_command_and_check_ok("STARTTLS", None))
                .await
                .map_err(|e| ImapError::Io(format!("server refused STARTTLS: {e}")))?;
            let Conn::Plain(tcp) = c.into_inner() else {
                unreachable!("a plain client holds a plain stream")
            };
            async_imap::Client::new(upgrade(tcp).await?)
        }
    };
    let session = within(t, async {
        client
            .login(&cfg.username, &cfg.password.expose())
            .await
            .map_err(|(e, _)| e)
    })
    .await?;
    Ok(session)
}

async fn greeting(c: &mut async_imap::Client<Conn>, t: Duration) -> Result<(), ImapError> {
    match within(t, c.read_response()).await? {
        Some(_) => Ok(()),
        None => Err(ImapError::Io(
            "connection closed before the greeting".into(),
        )),
    }
}
