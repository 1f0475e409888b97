//! IMAP intake: connect (TLS, STARTTLS or — explicitly — plain), select the mailbox, register
//! every message above the cursor, mark each processed only after its commit, then IDLE (or
//! poll) until something new arrives. Any error drops the connection; the caller reconnects
//! with backoff.

use std::collections::BTreeMap;
use std::time::Duration;

use aduan_channel::{
    ChannelContext, ChannelKind, DeliveryReport, DeliveryState, Disposition, InboundMessage,
    SinkError,
};
use async_imap::types::Fetch;
use chrono::Utc;
use futures_util::StreamExt;
use tokio_rustls::TlsConnector;
use tracing::{debug, info, warn};

use crate::config::{Config, ImapConfig};
use crate::conn::within;
pub use crate::conn::{connect, Conn, ImapError, Session};
use crate::mime;

/// The cursor key of a mailbox: one per account and folder.
pub fn cursor_key(cfg: &ImapConfig) -> String {
    format!("imap:{}@{}/{}", cfg.username, cfg.host, cfg.mailbox)
}

/// `(uidvalidity, last registered uid)`.
pub fn parse_cursor(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// What a session reports to the channel while it runs.
pub trait Observer: Send + Sync {
    fn connected(&self, detail: String);
    fn registered(&self, uid: u32);
}

/// One session: sync, then wait for news, until shutdown (Ok) or an error.
pub async fn run_session(
    cfg: &Config,
    tls: Option<&TlsConnector>,
    ctx: &ChannelContext,
    obs: &dyn Observer,
) -> Result<(), ImapError> {
    let ic = &cfg.imap;
    let t = Duration::from_secs(ic.timeout_secs);
    let mut session = connect(ic, tls).await?;
    let caps = within(t, session.capabilities()).await?;
    let idle = caps.has_str("IDLE");
    let mbox = within(t, session.select(&ic.mailbox)).await?;
    let validity = mbox.uid_validity.unwrap_or(0);
    let key = cursor_key(ic);
    let stored = ctx
        .sink
        .load_cursor(ChannelKind::Email, &key)
        .await
        .map_err(|e| ImapError::Sink(e.to_string()))?
        .as_deref()
        .and_then(parse_cursor);
    let mut last = match stored {
        Some((v, u)) if v == validity => u,
        Some((v, _)) => {
            warn!(
                mailbox = %ic.mailbox,
                old = v,
                new = validity,
                "UIDVALIDITY changed: resyncing the whole mailbox (already registered messages are recognized)"
            );
            0
        }
        None => 0,
    };
    obs.connected(format!(
        "{} {} ({}), {}",
        ic.host,
        ic.mailbox,
        ic.security.as_str(),
        if idle { "IDLE" } else { "polling" }
    ));
    info!(mailbox = %ic.mailbox, uidvalidity = validity, last_uid = last, idle, "IMAP session open");
    loop {
        last = sync(cfg, &mut session, ctx, &key, validity, last, obs).await?;
        if ctx.shutdown.is_cancelled() {
            break;
        }
        if idle {
            let mut handle = session.idle();
            within(t, handle.init()).await?;
            let stop = {
                let (fut, stop) = handle.wait_with_timeout(Duration::from_secs(ic.idle_secs));
                tokio::select! {
                    r = tokio::time::timeout(Duration::from_secs(ic.idle_secs), fut) => {
                        if let Ok(r) = r { debug!(?r, "IDLE woke"); r?; }
                    }
                    _ = ctx.shutdown.cancelled() => {}
                }
                stop
            };
            drop(stop);
            session = within(t, handle.done()).await?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(ic.poll_secs)) => {}
                _ = ctx.shutdown.cancelled() => {}
            }
            within(t, session.noop()).await?;
        }
        if ctx.shutdown.is_cancelled() {
            break;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
    Ok(())
}

/// Registers every message above `last`, in UID order, a batch at a time. After each batch the
/// committed messages are marked processed and the cursor advances; a register failure stops
/// at the last committed message, so nothing is skipped and nothing is marked unregistered.
async fn sync(
    cfg: &Config,
    session: &mut Session,
    ctx: &ChannelContext,
    key: &str,
    validity: u32,
    mut last: u32,
    obs: &dyn Observer,
) -> Result<u32, ImapError> {
    let ic = &cfg.imap;
    let t = Duration::from_secs(ic.timeout_secs);
    loop {
        // UIDs and sizes of what is new (`n:*` also names the last message when none is new).
        let metas: Vec<(u32, u32)> = within(t, async {
            let mut s = session
                .uid_fetch(format!("{}:*", last + 1), "(UID RFC822.SIZE)")
                .await?;
            let mut v = Vec::new();
            while let Some(f) = s.next().await {
                let f = f?;
                if let Some(uid) = f.uid.filter(|u| *u > last) {
                    v.push((uid, f.size.unwrap_or(0)));
                }
            }
            Ok::<_, async_imap::error::Error>(v)
        })
        .await?;
        if metas.is_empty() {
            return Ok(last);
        }
        let mut metas = metas;
        metas.sort_unstable();
        for chunk in batches(
            &metas,
            ic.batch as usize,
            ic.batch_bytes,
            cfg.max_message_bytes as usize,
        ) {
            let (done, outcome) = register_chunk(cfg, session, ctx, chunk).await;
            if let Some(&(hi, _)) = done.last() {
                let mark: Vec<u32> = done.iter().filter(|(_, r)| *r).map(|(u, _)| *u).collect();
                mark_processed(ic, session, &mark).await?;
                last = hi;
                ctx.sink
                    .store_cursor(ChannelKind::Email, key, &format!("{validity}:{last}"))
                    .await
                    .map_err(|e| ImapError::Sink(e.to_string()))?;
                obs.registered(last);
            }
            outcome?;
            if ctx.shutdown.is_cancelled() {
                return Ok(last);
            }
        }
    }
}

/// Splits (uid, size) pairs, in order, into batches of at most `count` messages and `bytes`
/// bytes (a message over `max_message` counts as its headers, ~64 KiB); a message larger than
/// `bytes` alone is a batch of its own. Bounds what a batch holds in memory.
fn batches(
    metas: &[(u32, u32)],
    count: usize,
    bytes: u64,
    max_message: usize,
) -> Vec<&[(u32, u32)]> {
    let mut out = Vec::new();
    let (mut start, mut sum) = (0usize, 0u64);
    for (i, (_, size)) in metas.iter().enumerate() {
        let cost = if *size as usize > max_message {
            64 * 1024
        } else {
            *size as u64
        };
        if i > start && (i - start >= count.max(1) || sum + cost > bytes) {
            out.push(&metas[start..i]);
            start = i;
            sum = 0;
        }
        sum += cost;
    }
    if start < metas.len() {
        out.push(&metas[start..]);
    }
    out
}

/// A fetched message: raw bytes (headers only when oversize), INTERNALDATE, oversize.
type Fetched = (Vec<u8>, Option<chrono::DateTime<Utc>>, bool);

/// Fetches and registers one chunk. Returns the UIDs dealt with (a prefix of `chunk`, in order;
/// `false` for one the register refused, which stays unmarked on the server for an officer)
/// and how the chunk ended.
async fn register_chunk(
    cfg: &Config,
    session: &mut Session,
    ctx: &ChannelContext,
    chunk: &[(u32, u32)],
) -> (Vec<(u32, bool)>, Result<(), ImapError>) {
    let ic = &cfg.imap;
    let max = cfg.max_message_bytes;
    let set = |want_big: bool| {
        chunk
            .iter()
            .filter(|(_, size)| (*size > max) == want_big)
            .map(|(u, _)| u.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut done = Vec::with_capacity(chunk.len());
    // Whole messages, registered as they stream in.
    let mut pending: BTreeMap<u32, Fetched> = BTreeMap::new();
    for (want_big, query) in [
        (false, "(UID INTERNALDATE BODY.PEEK[])"),
        (true, "(UID INTERNALDATE BODY.PEEK[HEADER])"),
    ] {
        let uids = set(want_big);
        if uids.is_empty() {
            continue;
        }
        let r = within(Duration::from_secs(ic.timeout_secs.max(60) * 5), async {
            let mut s = session.uid_fetch(&uids, query).await?;
            while let Some(f) = s.next().await {
                let f: Fetch = f?;
                let Some(uid) = f.uid else { continue };
                let raw = if want_big { f.header() } else { f.body() };
                let date = f.internal_date().map(|d| d.with_timezone(&Utc));
                pending.insert(uid, (raw.unwrap_or_default().to_vec(), date, want_big));
            }
            Ok::<_, async_imap::error::Error>(())
        })
        .await;
        if let Err(e) = r {
            return (done, Err(e));
        }
    }
    for (uid, size) in chunk {
        let Some((raw, date, big)) = pending.remove(uid) else {
            // Expunged by someone else between the listing and the fetch: nothing to register.
            debug!(uid, "message vanished before it was fetched");
            done.push((*uid, false));
            continue;
        };
        let mut parsed = mime::parse(&raw, &cfg.address, date);
        if big {
            let note = format!(
                "message of {size} bytes exceeds max_message_bytes ({max}); only its headers were \
                 registered; the whole message stays on the mail server (UID {uid} in {})",
                ic.mailbox_label()
            );
            parsed.msg.parse_error = Some(match parsed.msg.parse_error.take() {
                Some(e) => format!("{note}; {e}"),
                None => note,
            });
        }
        match register(ctx, parsed).await {
            Ok(registered) => done.push((*uid, registered)),
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

impl ImapConfig {
    fn mailbox_label(&self) -> String {
        match &self.move_to {
            Some(f) => f.clone(),
            None => self.mailbox.clone(),
        }
    }
}

/// Commits one parsed message (or records the bounce it is). Only `Unavailable` is an error:
/// a message the register refuses is registered once more without its attachments, flagged;
/// refused again, as its raw source (sender, start of text, the whole message as a blob).
/// Only if even that is refused is it left unmarked on the server (`Ok(false)`), logged.
async fn register(ctx: &ChannelContext, parsed: mime::Parsed) -> Result<bool, ImapError> {
    let mime::Parsed { msg, bounce_of } = parsed;
    if let Some((our_id, detail)) = bounce_of {
        let report = DeliveryReport::new(ChannelKind::Email, our_id, DeliveryState::Failed, detail);
        match ctx.sink.delivery_report(report).await {
            Ok(true) => {
                info!(external_id = %msg.external_id, "bounce of one of our replies recorded");
                return Ok(true);
            }
            Ok(false) => {}
            Err(e) => return Err(ImapError::Sink(e.to_string())),
        }
    }
    let fallback = |m: &InboundMessage, why: &str| {
        let mut m = m.clone();
        let names: Vec<String> = m.attachments.iter().map(|a| a.filename.clone()).collect();
        m.attachments.clear();
        m.parse_error = Some(format!(
            "the register refused the message ({why}); registered without attachments [{}], the raw \
             message keeps everything",
            names.join(", ")
        ));
        m
    };
    match ctx.sink.submit(msg.clone()).await {
        Ok(c) => {
            log_commit(&msg, c.disposition, &c.register_no);
            Ok(true)
        }
        Err(SinkError::Unavailable(e)) => Err(ImapError::Sink(e)),
        Err(SinkError::Rejected(why)) => match ctx.sink.submit(fallback(&msg, &why)).await {
            Ok(c) => {
                log_commit(&msg, c.disposition, &c.register_no);
                Ok(true)
            }
            Err(SinkError::Unavailable(e)) => Err(ImapError::Sink(e)),
            // Refused twice: registered raw (the whole message as a file for the officer, a
            // little of it as text), so it reaches the register and the mailbox moves on.
            Err(SinkError::Rejected(e)) => match ctx.sink.submit(raw_copy(&msg, &e)).await {
                Ok(c) => {
                    warn!(external_id = %msg.external_id, error = %e, "message refused twice; registered raw");
                    log_commit(&msg, c.disposition, &c.register_no);
                    Ok(true)
                }
                Err(SinkError::Unavailable(e)) => Err(ImapError::Sink(e)),
                Err(SinkError::Rejected(e)) => {
                    warn!(
                        external_id = %msg.external_id,
                        error = %e,
                        "message refused even raw; left unread on the mail server"
                    );
                    Ok(false)
                }
            },
        },
    }
}

/// The least a refused message can be registered as: its sender, the start of its text, and
/// the raw message kept whole.
fn raw_copy(msg: &InboundMessage, why: &str) -> InboundMessage {
    let mut m = InboundMessage::new(
        ChannelKind::Email,
        msg.external_id.clone(),
        msg.sender.clone(),
        msg.text.chars().take(2000).collect::<String>(),
    );
    m.raw = msg.raw.clone();
    m.received_at = msg.received_at;
    m.auto_generated = msg.auto_generated;
    m.parse_error = Some(format!(
        "the register refused this message twice ({why}); registered raw — the whole message is \
         kept as its raw source"
    ));
    m
}

fn log_commit(msg: &InboundMessage, d: Disposition, register_no: &str) {
    debug!(
        sender = %msg.sender,
        register_no,
        disposition = ?d,
        auto = msg.auto_generated,
        "email registered"
    );
}

/// Flags (`\Seen`) or moves the committed messages.
async fn mark_processed(
    ic: &ImapConfig,
    session: &mut Session,
    uids: &[u32],
) -> Result<(), ImapError> {
    let t = Duration::from_secs(ic.timeout_secs);
    for part in uids.chunks(500) {
        let set = uid_set(part);
        match &ic.move_to {
            Some(folder) => within(t, session.uid_mv(&set, folder)).await?,
            None => {
                within(t, async {
                    let mut s = session.uid_store(&set, "+FLAGS.SILENT (\\Seen)").await?;
                    while let Some(r) = s.next().await {
                        r?;
                    }
                    Ok::<_, async_imap::error::Error>(())
                })
                .await?
            }
        }
    }
    Ok(())
}

/// `1:3,7,9:10` from sorted UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod batch_tests {
    use super::batches;

    #[test]
    fn batches_are_bounded_by_count_and_bytes() {
        let m: Vec<(u32, u32)> = (1..=10).map(|u| (u, 10 * 1024 * 1024)).collect();
        let b = batches(&m, 100, 32 * 1024 * 1024, 25 * 1024 * 1024);
        assert_eq!(
            b.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![3, 3, 3, 1]
        );
        let b = batches(&m, 4, u64::MAX, usize::MAX);
        assert_eq!(b.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![4, 4, 2]);
        // One message larger than the byte budget: alone.
        let m = vec![(1, 100), (2, 50 * 1024 * 1024), (3, 100)];
        let b = batches(&m, 100, 32 * 1024 * 1024, 100 * 1024 * 1024);
        assert_eq!(b.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![1, 1, 1]);
        // Oversize messages count as their headers.
        let m: Vec<(u32, u32)> = (1..=5).map(|u| (u, 90 * 1024 * 1024)).collect();
        let b = batches(&m, 100, 32 * 1024 * 1024, 25 * 1024 * 1024);
        assert_eq!(b.len(), 1);
        assert!(batches(&[], 10, 10, 10).is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(parse_cursor("1700000000:42"), Some((1_700_000_000, 42)));
        assert_eq!(parse_cursor("x:1"), None);
        assert_eq!(parse_cursor("17"), None);
    }
}
