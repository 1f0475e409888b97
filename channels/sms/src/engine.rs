//! The AT command engine: one command at a time over any `AsyncRead + AsyncWrite` (a serial
//! port in production, a pseudo-terminal or `tokio::io::duplex` in tests). It matches responses
//! to the running command, with a timeout; unsolicited result codes that arrive meanwhile —
//! anywhere, even between the lines of a response — are queued as [`Event`]s.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::at::{self, Final, Line, Urc};
use crate::pdu::SubmitPdu;

/// Something the modem said on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message was stored (`+CMTI`).
    NewMessage {
        storage: String,
        index: u32,
    },
    /// A status report was stored (`+CDSI`).
    NewReport {
        storage: String,
        index: u32,
    },
    /// A status report delivered inline (`+CDS`), as its PDU in hex.
    Report(String),
    /// A message delivered inline (`+CMT`), as its PDU in hex.
    Message(String),
    Ring,
    /// Vendor noise and other unsolicited lines.
    Other(String),
}

#[derive(Debug, thiserror::Error)]
pub enum AtError {
    #[error("serial port: {0}")]
    Io(#[from] std::io::Error),
    #[error("the modem closed the port")]
    Closed,
    #[error("no answer to `{0}` in time")]
    Timeout(String),
    #[error("`{0}` answered ERROR")]
    Error(String),
    #[error("`{cmd}` answered +CME ERROR: {text}")]
    Cme {
        cmd: String,
        code: Option<u16>,
        text: String,
    },
    #[error("`{cmd}` answered +CMS ERROR: {text}")]
    Cms {
        cmd: String,
        code: Option<u16>,
        text: String,
    },
    #[error("modem sent a line too long to be an answer")]
    Garbage,
    /// Going on would do harm (the SIM refused its PIN: another try could lock it with the
    /// PUK); the modem is stopped until the configuration is fixed.
    #[error("{0}")]
    Fatal(String),
}

/// A command as it may be shown (errors, logs, readiness): secrets (`AT+CPIN="…"`, the
/// passwords of `AT+CPWD`/`AT+CLCK`) replaced by `****`.
pub fn redact_command(cmd: &str) -> String {
    let upper = cmd.to_ascii_uppercase();
    for secret in ["AT+CPIN=", "AT+CPWD=", "AT+CLCK="] {
        if upper.starts_with(secret) {
            return format!("{}****", &cmd[..secret.len()]);
        }
    }
    cmd.to_string()
}

impl AtError {
    /// The same error with any secret in its command replaced (see [`redact_command`]).
    pub fn redacted(self) -> AtError {
        match self {
            AtError::Timeout(c) => AtError::Timeout(redact_command(&c)),
            AtError::Error(c) => AtError::Error(redact_command(&c)),
            AtError::Cme { cmd, code, text } => AtError::Cme {
                cmd: redact_command(&cmd),
                code,
                text,
            },
            AtError::Cms { cmd, code, text } => AtError::Cms {
                cmd: redact_command(&cmd),
                code,
                text,
            },
            other => other,
        }
    }

    /// Could the same command work after the port is reopened (as opposed to a refusal)?
    pub fn is_link_failure(&self) -> bool {
        matches!(
            self,
            AtError::Io(_) | AtError::Closed | AtError::Timeout(_) | AtError::Garbage
        )
    }
}

/// Opens a serial port (or a pseudo-terminal) by path, 8N1, no flow control.
pub fn open_port(path: &str, baud: u32) -> Result<tokio_serial::SerialStream, AtError> {
    use tokio_serial::SerialPortBuilderExt;
    tokio_serial::new(path, baud)
        .timeout(Duration::from_secs(1))
        .open_native_async()
        .map_err(|e| AtError::Io(std::io::Error::other(format!("{path}: {e}"))))
}

/// A message as the modem stores it (`AT+CMGL` in PDU mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub index: u32,
    pub stat: u8,
    pub pdu: String,
}

const MAX_LINE: usize = 4096;

pub struct AtEngine<IO> {
    io: IO,
    buf: Vec<u8>,
    events: VecDeque<Event>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AtEngine<IO> {
    pub fn new(io: IO) -> Self {
        AtEngine {
            io,
            buf: Vec::with_capacity(256),
            events: VecDeque::new(),
        }
    }

    /// Reads one line (or the `> ` prompt) before `deadline`.
    async fn read_line(&mut self, deadline: Instant, cmd: &str) -> Result<String, AtError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            // The `AT+CMGS` prompt comes without a line end.
            let pending = String::from_utf8_lossy(&self.buf);
            if matches!(pending.trim_start_matches(['\r', '\n']), ">" | "> ") {
                self.buf.clear();
                return Ok("> ".into());
            }
            if self.buf.len() > MAX_LINE {
                self.buf.clear();
                return Err(AtError::Garbage);
            }
            let mut chunk = [0u8; 512];
            let n = tokio::time::timeout_at(deadline, self.io.read(&mut chunk))
                .await
                .map_err(|_| AtError::Timeout(cmd.to_string()))??;
            if n == 0 {
                return Err(AtError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Queues an unsolicited line; `+CDS`/`+CMT` take the next line (their PDU) with them.
    async fn queue_urc(&mut self, urc: Urc, deadline: Instant, cmd: &str) -> Result<(), AtError> {
        let ev = match urc {
            Urc::NewMessage { storage, index } => Event::NewMessage { storage, index },
            Urc::NewReport { storage, index } => Event::NewReport { storage, index },
            Urc::ReportFollows { .. } => {
                Event::Report(self.read_line(deadline, cmd).await?.trim().to_string())
            }
            Urc::MessageFollows => {
                Event::Message(self.read_line(deadline, cmd).await?.trim().to_string())
            }
            Urc::Ring => Event::Ring,
            Urc::Other(s) => Event::Other(s),
        };
        self.events.push_back(ev);
        Ok(())
    }

    /// Waits for the final result of `cmd`; returns its information lines.
    async fn collect(&mut self, cmd: &str, deadline: Instant) -> Result<Vec<String>, AtError> {
        let mut info = Vec::new();
        loop {
            let raw = self.read_line(deadline, cmd).await?;
            match at::parse_line(&raw) {
                Line::Empty | Line::Prompt => {}
                Line::Info(s) if s == cmd => {} // echo
                Line::Info(s) => info.push(s),
                Line::Urc(u) => self.queue_urc(u, deadline, cmd).await?,
                Line::Final(Final::Ok) => return Ok(info),
                Line::Final(Final::Error | Final::NoCarrier) => {
                    return Err(AtError::Error(cmd.into()))
                }
                Line::Final(Final::CmeError(code, text)) => {
                    return Err(AtError::Cme {
                        cmd: cmd.into(),
                        code,
                        text,
                    })
                }
                Line::Final(Final::CmsError(code, text)) => {
                    return Err(AtError::Cms {
                        cmd: cmd.into(),
                        code,
                        text,
                    })
                }
            }
        }
    }

    /// Runs one command (`AT…`, without CR) and returns its information lines.
    pub async fn command(&mut self, cmd: &str, timeout: Duration) -> Result<Vec<String>, AtError> {
        let deadline = Instant::now() + timeout;
        self.io.write_all(format!("{cmd}\r").as_bytes()).await?;
        self.io.flush().await?;
        self.collect(cmd, deadline).await.map_err(AtError::redacted)
    }

    /// Sends one SMS-SUBMIT with `AT+CMGS`; returns the message reference (`+CMGS: <mr>`).
    pub async fn send_pdu(&mut self, pdu: &SubmitPdu, timeout: Duration) -> Result<u8, AtError> {
        let deadline = Instant::now() + timeout;
        let cmd = format!("AT+CMGS={}", pdu.tpdu_len);
        self.io.write_all(format!("{cmd}\r").as_bytes()).await?;
        self.io.flush().await?;
        loop {
            let raw = self.read_line(deadline, &cmd).await?;
            match at::parse_line(&raw) {
                Line::Prompt => break,
                Line::Empty => {}
                Line::Info(s) if s == cmd => {}
                Line::Info(_) => {}
                Line::Urc(u) => self.queue_urc(u, deadline, &cmd).await?,
                Line::Final(Final::CmsError(code, text)) => {
                    return Err(AtError::Cms { cmd, code, text })
                }
                Line::Final(Final::CmeError(code, text)) => {
                    return Err(AtError::Cme { cmd, code, text })
                }
                Line::Final(_) => return Err(AtError::Error(cmd)),
            }
        }
        self.io
            .write_all(format!("{}\x1a", pdu.hex).as_bytes())
            .await?;
        self.io.flush().await?;
        let info = self.collect(&cmd, deadline).await?;
        info.iter()
            .find_map(|l| at::cmgs_reference(l))
            .ok_or_else(|| AtError::Error(format!("{cmd}: no +CMGS reference")))
    }

    /// Every stored message (`AT+CMGL=4`, PDU mode).
    pub async fn list_all(&mut self, timeout: Duration) -> Result<Vec<Stored>, AtError> {
        let lines = self.command("AT+CMGL=4", timeout).await?;
        let mut out = Vec::new();
        let mut it = lines.into_iter().peekable();
        while let Some(l) = it.next() {
            if let Some((index, stat)) = at::cmgl_header(&l) {
                // The PDU is the next line, unless the modem left it out.
                if let Some(next) = it.next_if(|n| !n.starts_with('+')) {
                    out.push(Stored {
                        index,
                        stat,
                        pdu: next,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Deletes a stored message (`AT+CMGD=<index>`).
    pub async fn delete(&mut self, index: u32, timeout: Duration) -> Result<(), AtError> {
        self.command(&format!("AT+CMGD={index}"), timeout)
            .await
            .map(|_| ())
    }

    /// The next unsolicited event: a queued one, or one read within `timeout`. `Ok(None)` when
    /// the modem stays quiet.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<Option<Event>, AtError> {
        if let Some(e) = self.events.pop_front() {
            return Ok(Some(e));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let raw = match self.read_line(deadline, "(idle)").await {
                Ok(r) => r,
                Err(AtError::Timeout(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            if let Line::Urc(u) = at::parse_line(&raw) {
                self.queue_urc(u, deadline, "(idle)").await?;
                return Ok(self.events.pop_front());
            }
            // A stray line with no command running (a late answer): ignored.
        }
    }

    /// Events queued while commands ran.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }
}

#[cfg(test)]
mod redact_tests {
    use super::*;

    #[test]
    fn secrets_never_shown() {
        assert_eq!(redact_command("AT+CPIN=\"1234\""), "AT+CPIN=****");
        assert_eq!(redact_command("at+cpin=1234"), "at+cpin=****");
        assert_eq!(redact_command("AT+CLCK=\"SC\",0,\"1234\""), "AT+CLCK=****");
        assert_eq!(redact_command("AT+CPIN?"), "AT+CPIN?");
        let e = AtError::Cme {
            cmd: "AT+CPIN=\"4321\"".into(),
            code: Some(16),
            text: "incorrect password".into(),
        }
        .redacted();
        assert!(!e.to_string().contains("4321"), "{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader, DuplexStream};

    const T: Duration = Duration::from_secs(2);

    /// A scripted peer: for each command it reads (up to CR), writes the scripted answer.
    fn peer(
        script: Vec<(&'static str, &'static str)>,
    ) -> (AtEngine<DuplexStream>, tokio::task::JoinHandle<Vec<String>>) {
        let (a, b) = tokio::io::duplex(4096);
        let task = tokio::spawn(async move {
            let (r, mut w) = tokio::io::split(b);
            let mut r = BufReader::new(r);
            let mut seen = Vec::new();
            for (expect, answer) in script {
                let mut cmd = Vec::new();
                if r.read_until(
                    if expect.ends_with('\x1a') {
                        0x1a
                    } else {
                        b'\r'
                    },
                    &mut cmd,
                )
                .await
                .unwrap_or(0)
                    == 0
                {
                    break;
                }
                let cmd = String::from_utf8_lossy(&cmd)
                    .trim_end_matches(['\r', '\x1a'])
                    .to_string();
                assert_eq!(cmd, expect.trim_end_matches('\x1a'));
                seen.push(cmd);
                w.write_all(answer.as_bytes()).await.unwrap();
            }
            seen
        });
        (AtEngine::new(a), task)
    }

    #[tokio::test]
    async fn answers_with_interleaved_urcs_and_echo() {
        let (mut m, task) = peer(vec![
            (
                "AT+CSQ",
                "AT+CSQ\r\r\n^RSSI:17\r\n+CSQ: 17,99\r\n+CMTI: \"SM\",4\r\n\r\nOK\r\n",
            ),
            ("AT+CMGD=4", "\r\n+CME ERROR: 321\r\n"),
        ]);
        let info = m.command("AT+CSQ", T).await.unwrap();
        assert_eq!(info, vec!["+CSQ: 17,99"]);
        assert!(matches!(
            m.delete(4, T).await,
            Err(AtError::Cme {
                code: Some(321),
                ..
            })
        ));
        assert_eq!(
            m.take_events(),
            vec![
                Event::Other("^RSSI:17".into()),
                Event::NewMessage {
                    storage: "SM".into(),
                    index: 4
                }
            ]
        );
        task.await.unwrap();
    }

    #[tokio::test]
    async fn lists_and_sends() {
        let (mut m, task) = peer(vec![
            ("AT+CMGL=4", "\r\n+CMGL: 1,0,,24\r\n07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37\r\n+CDS: 25\r\n06000B910221815716F2709021510121807090215101718000\r\n+CMGL: 2,1,,3\r\n+CMGL: 3,0,,10\r\n00AB\r\n\r\nOK\r\n"),
            ("AT+CMGS=23", "\r\n> "),
            ("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a", "\r\n+CMGS: 42\r\n\r\nOK\r\n"),
        ]);
        let list = m.list_all(T).await.unwrap();
        assert_eq!(list.len(), 2, "{list:?}");
        assert_eq!((list[0].index, list[0].stat), (1, 0));
        assert!(list[0].pdu.starts_with("0791"));
        assert_eq!(
            list[1],
            Stored {
                index: 3,
                stat: 0,
                pdu: "00AB".into()
            }
        );
        let pdu = SubmitPdu {
            hex: "0011000B916407281553F80000AA0AE8329BFD4697D9EC37".into(),
            tpdu_len: 23,
        };
        assert_eq!(m.send_pdu(&pdu, T).await.unwrap(), 42);
        assert_eq!(
            m.take_events(),
            vec![Event::Report(
                "06000B910221815716F2709021510121807090215101718000".into()
            )]
        );
        task.await.unwrap();
    }

    #[tokio::test]
    async fn refusals_silence_garbage_and_closed_port() {
        let (mut m, task) = peer(vec![("AT+CMGS=23", "\r\n+CMS ERROR: 331\r\n")]);
        let pdu = SubmitPdu {
            hex: "00".into(),
            tpdu_len: 23,
        };
        let e = m.send_pdu(&pdu, T).await.unwrap_err();
        assert!(
            matches!(
                e,
                AtError::Cms {
                    code: Some(331),
                    ..
                }
            ) && !e.is_link_failure()
        );
        task.await.unwrap();
        // The peer is gone: the port is closed.
        let e = m.command("AT", T).await.unwrap_err();
        assert!(matches!(e, AtError::Closed | AtError::Io(_)), "{e}");
        assert!(e.is_link_failure());
        // Silence: a timeout, also a link failure.
        let (a, _keep) = tokio::io::duplex(64);
        let mut m = AtEngine::new(a);
        let e = m
            .command("AT", Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(matches!(e, AtError::Timeout(_)) && e.is_link_failure());

        let (a, mut b) = tokio::io::duplex(16384);
        let mut m = AtEngine::new(a);
        b.write_all(&vec![0xffu8; 5000]).await.unwrap();
        assert!(matches!(m.command("AT", T).await, Err(AtError::Garbage)));
        b.write_all(b"\xfe\xfe\r\nOK\r\n").await.unwrap();
        assert!(m.command("AT", T).await.is_ok(), "recovers after garbage");
    }

    #[tokio::test]
    async fn idle_events() {
        let (a, mut b) = tokio::io::duplex(4096);
        let mut m = AtEngine::new(a);
        assert_eq!(m.next_event(Duration::from_millis(50)).await.unwrap(), None);
        b.write_all(b"\r\n+CMTI: \"SM\",7\r\nstray\r\nRING\r\n")
            .await
            .unwrap();
        assert_eq!(
            m.next_event(T).await.unwrap(),
            Some(Event::NewMessage {
                storage: "SM".into(),
                index: 7
            })
        );
        assert_eq!(m.next_event(T).await.unwrap(), Some(Event::Ring));
        drop(b);
        assert!(matches!(m.next_event(T).await, Err(AtError::Closed)));
    }
}
