//! The outbox dispatcher. Every outbound message is a row first; [`dispatch_one`] claims one due
//! row with a lease, sends it through its channel and records the outcome. Only the outbox
//! decides retries: transient errors back off exponentially with jitter up to
//! `outbox.max_attempts`, permanent ones park the row as `failed` for an officer.
//!
//! Claiming: PostgreSQL locks the candidate with `FOR UPDATE SKIP LOCKED`; SQLite, with a single
//! writer, uses one conditional `UPDATE … RETURNING`. A claimed row's `next_attempt_at` is its
//! lease end, so a row whose daemon died becomes due again when the lease runs out. Every
//! update after the send is fenced on `lease_owner`, so a daemon that lost its lease never
//! overwrites another's result.

use std::time::Duration;

use aduan_channel::{Address, ChannelKind, OutboundMessage, SendError};
use rand::Rng;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};

use crate::db::now_ms;
use crate::register::audit::{self, Actor, AuditEvent, Entry};
use crate::register::domain::OutboxKind;
use crate::register::{self, outbox::Claimed};
use crate::state::Core;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing is due.
    Empty,
    Sent {
        outbox_id: i64,
    },
    /// A transient failure; the row is due again at this time (Unix ms).
    RetryAt {
        outbox_id: i64,
        at: i64,
    },
    /// Parked as `failed`.
    Failed {
        outbox_id: i64,
    },
    /// Our lease ran out before we could record the result; another daemon owns the row now.
    LeaseLost {
        outbox_id: i64,
    },
}

async fn claim(
    core: &Core,
    owner: &str,
) -> sqlx::Result<Option<(Claimed, crate::channels::SendSlot)>> {
    let now = now_ms();
    let lease_until = now + (core.settings.outbox.lease_secs as i64) * 1000;
    // Only rows of channels this daemon runs: with several daemons on one register, a modem
    // or mailbox attached to one of them is sent through by that one alone. And only of those
    // with room in their budget — chosen, claimed and counted by one worker at a time — so a
    // channel whose sends hang holds at most that many workers.
    let _one = core.channels.claiming().await;
    let channels = core
        .channels
        .with_room(core.settings.outbox.channel_budget());
    let row = register::outbox::claim(&core.db, owner, &channels, now, lease_until).await?;
    Ok(row.map(|r| {
        let slot = core.channels.start_send(r.channel);
        (r, slot)
    }))
}

/// The delay before attempt `attempts + 1`: base·2^(attempts−1), capped, with "equal jitter"
/// (half fixed, half random) so retries of many rows spread out.
pub fn backoff(base_ms: u64, max_secs: u64, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let d = base_ms
        .saturating_mul(1u64 << exp)
        .min(max_secs.saturating_mul(1000))
        .max(1);
    let half = d / 2;
    let jitter = rand::rng().random_range(0..=d - half);
    Duration::from_millis(half + jitter)
}

/// Claims one due row and sends it. Called in a loop by [`run`]; tests call it directly.
pub async fn dispatch_one(core: &Core, owner: &str) -> sqlx::Result<Outcome> {
    let Some((row, _slot)) = claim(core, owner).await? else {
        return Ok(Outcome::Empty);
    };
    let span = tracing::info_span!("outbox", outbox_id = row.id, channel = %row.channel, register_no = tracing::field::Empty, attempt = row.attempts);
    deliver(core, owner, row).instrument(span).await
}

async fn deliver(core: &Core, owner: &str, row: Claimed) -> sqlx::Result<Outcome> {
    let register_no = register::outbox::register_no_of(&core.db, row.complaint_id).await?;
    tracing::Span::current().record("register_no", register_no.as_str());
    let result = match core.channels.get(row.channel).cloned() {
        None => Err(SendError::Transient {
            message: format!("channel {} is not configured in this daemon", row.channel),
            retry_after: None,
        }),
        Some(ch) => {
            let msg = OutboundMessage {
                outbox_id: row.id,
                channel: row.channel,
                to: Address::from_key(&row.recipient),
                register_no,
                subject: row.subject.clone(),
                text: row.body.clone(),
                attachments: register::outbox::message_attachments(&core.db, row.message_id)
                    .await?,
                message_id: row.provider_msg_id.clone(),
                references: row.refs.clone(),
                automatic: row.automatic,
                choices: if row.kind == OutboxKind::RatingRequest {
                    crate::workflow::verdict::choices(
                        register::outbox::lang_of(&core.db, row.complaint_id).await?,
                    )
                } else {
                    Vec::new()
                },
            };
            core.metrics.send_attempt(msg.channel);
            // A send that outlives half the lease is abandoned as transient, so no other
            // daemon can take the row over while this one might still be sending it.
            let limit = Duration::from_secs(core.settings.outbox.lease_secs / 2);
            match tokio::time::timeout(limit, ch.send(&msg)).await {
                Ok(r) => r,
                Err(_) => Err(SendError::transient(format!(
                    "send timed out after {limit:?}"
                ))),
            }
        }
    };
    let now = now_ms();
    let s = &core.settings.outbox;
    match result {
        Ok(receipt) => {
            // The counter's answer waits for the officer's hand-over record.
            let answered = (row.kind == OutboxKind::Answer && row.channel != ChannelKind::Counter)
                .then(|| core.clock.now().timestamp_millis());
            if !register::outbox::mark_sent(&core.db, &row, owner, &receipt, answered, now).await? {
                warn!("lease lost before the send was recorded");
                return Ok(Outcome::LeaseLost { outbox_id: row.id });
            }
            core.metrics.sent(row.channel);
            info!(receipt = %receipt.provider_id, "sent");
            Ok(Outcome::Sent { outbox_id: row.id })
        }
        // Transient: tried again with backoff until the row has waited `give_up_after_secs`
        // (and, when set, `max_attempts`), then parked — and sent again by itself when its
        // channel comes back.
        Err(SendError::Transient {
            message,
            retry_after,
        }) if now - row.waiting_since < (s.give_up_after_secs as i64) * 1000
            && (s.max_attempts == 0 || (row.attempts as u32) < s.max_attempts) =>
        {
            let mut delay = backoff(s.backoff_base_ms, s.backoff_max_secs, row.attempts as u32);
            if let Some(r) = retry_after {
                delay = delay.max(r);
            }
            let at = now + delay.as_millis() as i64;
            if !register::outbox::mark_retry(&core.db, row.id, owner, at, &message).await? {
                return Ok(Outcome::LeaseLost { outbox_id: row.id });
            }
            core.metrics.retried(row.channel);
            warn!(error = %message, retry_in_ms = delay.as_millis() as u64, "transient send failure");
            Ok(Outcome::RetryAt {
                outbox_id: row.id,
                at,
            })
        }
        // The channel cannot send at all (a refused token): the row waits for it, its
        // attempts untouched.
        Err(SendError::Unavailable {
            message,
            retry_after,
        }) => {
            let at = now + retry_after.as_millis() as i64;
            if !register::outbox::mark_waiting(&core.db, row.id, owner, at, &message).await? {
                return Ok(Outcome::LeaseLost { outbox_id: row.id });
            }
            warn!(error = %message, retry_in_ms = retry_after.as_millis() as u64, "channel unavailable; the reply waits");
            Ok(Outcome::RetryAt {
                outbox_id: row.id,
                at,
            })
        }
        Err(e) => {
            let (message, parked) = match &e {
                SendError::Transient { message, .. } => (
                    format!("gave up after {} attempts: {message}", row.attempts),
                    true,
                ),
                SendError::Permanent(m) | SendError::Unavailable { message: m, .. } => {
                    (m.clone(), false)
                }
            };
            let mut tx = core.db.begin().await?;
            if !register::outbox::mark_failed(&mut tx, row.id, owner, &message, parked).await? {
                tx.rollback().await?;
                return Ok(Outcome::LeaseLost { outbox_id: row.id });
            }
            let event = AuditEvent::SendFailed {
                outbox_id: row.id,
                channel: row.channel,
                detail: message.clone(),
            };
            let at = now_ms();
            audit::write(
                &mut tx,
                &Entry::new(Some(row.complaint_id), Actor::System, event, at),
            )
            .await?;
            tx.commit().await?;
            core.metrics.failed(row.channel);
            warn!(error = %message, "send failed; parked for an officer");
            Ok(Outcome::Failed { outbox_id: row.id })
        }
    }
}

/// Puts a failed row back in the queue (an officer's retry).
pub async fn retry_failed(core: &Core, outbox_id: i64, by: Actor<'_>) -> sqlx::Result<bool> {
    let mut tx = core.db.begin().await?;
    let Some(cid) = register::outbox::requeue_failed(&mut tx, outbox_id, now_ms()).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    let event = AuditEvent::RetrySend { outbox_id };
    audit::write(&mut tx, &Entry::new(Some(cid), by, event, now_ms())).await?;
    tx.commit().await?;
    core.outbox_wake.notify_waiters();
    Ok(true)
}

/// What an officer does with a reply that waits for a channel no daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unserved {
    /// Publish it on the tracking page instead (the citizen reads it with the tracking code).
    ToTrackingPage,
    /// Withdraw it (parked as failed, audited).
    Cancel,
}

/// Reroutes or withdraws a waiting reply, audited; `false` when the row is not waiting.
pub async fn settle_unserved(
    core: &Core,
    outbox_id: i64,
    what: Unserved,
    by: Actor<'_>,
) -> sqlx::Result<bool> {
    let mut tx = core.db.begin().await?;
    let (done, event) = match what {
        Unserved::ToTrackingPage => (
            register::outbox::reroute_to_page(&mut tx, outbox_id, now_ms()).await?,
            AuditEvent::RerouteSend { outbox_id },
        ),
        Unserved::Cancel => (
            register::outbox::cancel_waiting(
                &mut tx,
                outbox_id,
                &format!("withdrawn by {}: its channel runs nowhere", by.name()),
            )
            .await?,
            AuditEvent::CancelSend { outbox_id },
        ),
    };
    let Some(cid) = done else {
        tx.rollback().await?;
        return Ok(false);
    };
    audit::write(&mut tx, &Entry::new(Some(cid), by, event, now_ms())).await?;
    tx.commit().await?;
    core.outbox_wake.notify_waiters();
    Ok(true)
}

/// Watches the health of this daemon's channels and, when one comes back (down, then ready),
/// puts its parked replies back in the queue. Every heartbeat until shutdown.
pub async fn drain_when_back(core: std::sync::Arc<Core>, shutdown: CancellationToken) {
    let every = Duration::from_secs(core.settings.outbox.heartbeat_secs.max(1));
    let mut was_down = std::collections::BTreeSet::new();
    loop {
        for (kind, ch) in core.channels.iter() {
            let ready = core.channels.health_of(*kind, ch).await.ready;
            if !ready {
                was_down.insert(*kind);
            } else if was_down.remove(kind) {
                match register::outbox::drain_parked(&core.db, *kind, now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => {
                        info!(channel = %kind, replies = n, "channel back: parked replies queued again");
                        core.outbox_wake.notify_waiters();
                    }
                    Err(e) => {
                        warn!(channel = %kind, error = %e, "parked replies not queued again");
                        was_down.insert(*kind);
                    }
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// One dispatcher worker: sends while rows are due, sleeps a poll interval (or until woken)
/// when none are, stops when `shutdown` is cancelled — never in the middle of a send.
pub async fn run(core: std::sync::Arc<Core>, owner: String, shutdown: CancellationToken) {
    let poll = Duration::from_millis(core.settings.outbox.poll_interval_ms);
    let mut db_backoff = Duration::from_millis(500);
    while !shutdown.is_cancelled() {
        let notified = core.outbox_wake.notified();
        match dispatch_one(&core, &owner).await {
            Ok(Outcome::Empty) => {
                db_backoff = Duration::from_millis(500);
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = notified => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
            Ok(_) => db_backoff = Duration::from_millis(500),
            Err(e) => {
                warn!(error = %e, "outbox: database error");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(db_backoff) => {}
                }
                db_backoff = (db_backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for attempt in 1..=6u32 {
            let full = 1000u64 << (attempt - 1);
            for _ in 0..50 {
                let d = backoff(1000, 3600, attempt).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d}");
            }
        }
        let d = backoff(1000, 10, 40).as_millis() as u64;
        assert!((5000..=10000).contains(&d), "{d}");
    }
}
