//! Officers' notifications (opt-in, per officer: an email address, a Telegram chat, or both):
//! a new complaint in my queue, one disposed to my unit, one assigned to me, one due on the next
//! working day, one overdue — each once — and for the heads a daily digest. Sent through the
//! outbox and the channels like every other message. A sweep finds them (once a minute, with
//! the clock sweep), using the same "my queue" as the inbox, so an officer is never told of a
//! complaint outside their queue or unit. Notices name the register number, the subject and
//! the deadline — never the complainant.

use aduan_channel::{ChannelKind, Lang};
use chrono::Timelike;

use super::{available, Officer, Role, Status};
use crate::register::{self, notices, ComplaintFilter, Order, Page, Queue};
use crate::state::Core;

/// The roles that receive the daily digest.
pub const DIGEST_ROLES: &[Role] = &[Role::SectionHead, Role::DivisionHead, Role::HeadOfOffice];

/// The office-local hour from which the day's digest goes out.
pub const DIGEST_HOUR: u32 = 7;

/// An officer's own queue (the inbox's "antrean saya").
pub fn queue_of(core: &Core, officer_id: i64, role: Role) -> Queue {
    Queue {
        officer_id,
        role,
        statuses: Status::iter()
            .filter(|s| !available(core, *s, role).is_empty())
            .collect(),
    }
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum About {
    New,
    Unit,
    Assigned,
    DueNext,
    Overdue,
}

impl About {
    fn key(self) -> &'static str {
        match self {
            About::New => "new",
            About::Unit => "unit",
            About::Assigned => "assigned",
            About::DueNext => "due_next",
            About::Overdue => "overdue",
        }
    }

    fn headline(self, lang: Lang) -> &'static str {
        match self {
            About::New => lang.pick(
                "Pengaduan baru di antrean Anda",
                "New complaint in your queue",
            ),
            About::Unit => lang.pick(
                "Pengaduan didisposisikan ke unit Anda",
                "Complaint disposed to your unit",
            ),
            About::Assigned => lang.pick(
                "Pengaduan ditugaskan kepada Anda",
                "Complaint assigned to you",
            ),
            About::DueNext => lang.pick(
                "Pengaduan jatuh tempo hari kerja berikutnya",
                "Complaint due on the next working day",
            ),
            About::Overdue => lang.pick("Pengaduan melewati batas waktu", "Complaint overdue"),
        }
    }
}

/// One sweep: queues every notice due now. Returns how many notices were queued.
pub async fn sweep(core: &Core) -> anyhow::Result<usize> {
    let subs = notices::subscribers(&core.db).await?;
    if subs.is_empty() {
        return Ok(0);
    }
    let now_dt = core.clock.now();
    let now = now_dt.timestamp_millis();
    let cal = &core.calendar;
    let today = cal.local_date(now_dt);
    let next_working_day = cal
        .add_working_days(today, 1)
        .format("%Y-%m-%d")
        .to_string();
    let served = {
        let mut conn = core.db.pool.acquire().await?;
        crate::presence::served(&mut conn, core).await?
    };
    let lang = core.settings.language;
    let mut queued = 0;
    for s in &subs {
        let targets: Vec<_> = s
            .targets()
            .into_iter()
            .filter(|(k, _)| served.is_known(*k))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let me = Officer {
            id: s.id,
            username: s.username.clone(),
            display_name: s.display_name.clone(),
            role: s.role,
        };
        let filter = ComplaintFilter {
            queue: Some(queue_of(core, me.id, me.role)),
            reader: Some(me.id),
            now,
            ..Default::default()
        };
        let my_units = register::workspace::units_of(&core.db, me.id).await?;
        let page = |order| Page {
            number: 1,
            size: 100,
            order,
            ..Default::default()
        };
        let newest = register::list_complaints(&core.db, &filter, page(Order::Newest)).await?;
        let nearest = register::list_complaints(&core.db, &filter, page(Order::Due)).await?;
        let mut todo: Vec<(About, &register::Complaint)> = Vec::new();
        for l in &newest.items {
            let c = &l.complaint;
            let about = if c.assignee_id == Some(me.id) {
                // Not when they opened it since (they took it themselves, or saw it).
                register::workspace::is_unread(l.seen_at, c.updated_at).then_some(About::Assigned)
            } else if c.assignee_id.is_none()
                && c.unit.as_ref().is_some_and(|u| my_units.contains(u))
            {
                Some(About::Unit)
            } else if c.status == Status::Registered && c.received_at >= s.notify_since {
                Some(About::New)
            } else {
                None
            };
            if let Some(a) = about {
                todo.push((a, c));
            }
        }
        for l in &nearest.items {
            let c = &l.complaint;
            if c.answered_at.is_some() || c.status == Status::Incomplete {
                continue;
            }
            if register::is_overdue(true, false, c.status, c.due_at, now) {
                todo.push((About::Overdue, c));
            } else if c.due_date == next_working_day {
                todo.push((About::DueNext, c));
            }
        }
        let ids: Vec<i64> = todo.iter().map(|(_, c)| c.id).collect();
        let told = notices::told_about(&core.db, me.id, &ids).await?;
        todo.retain(|(about, c)| !told.contains(&(c.id, about.key().to_string())));
        for (about, c) in todo {
            let subject = format!("[{}] {}", c.register_no, about.headline(lang));
            let body = format!(
                "{}\n\n{}: {}\n{}: {}\n{}: {}\n\n{}/kotak/{}\n\n{}",
                about.headline(lang),
                lang.pick("Nomor register", "Register no."),
                c.register_no,
                lang.pick("Perihal", "Subject"),
                subject_in_notice(c.confidential, &c.subject, lang),
                lang.pick("Batas waktu", "Due"),
                c.due_date,
                core.settings.public_url,
                c.register_no,
                lang.pick(
                    "Pemberitahuan otomatis aduan untuk petugas; jangan dibalas.",
                    "An automatic notice of aduan for officers; do not reply."
                ),
            );
            if tell(core, &me, c.id, about.key(), &targets, &subject, &body, now).await? {
                queued += 1;
            }
        }
        if DIGEST_ROLES.contains(&me.role)
            && digest(core, &me, &targets, now_dt, today, &next_working_day).await?
        {
            queued += 1;
        }
    }
    if queued > 0 {
        core.outbox_wake.notify_waiters();
    }
    Ok(queued)
}

/// The heads' daily digest (from [`DIGEST_HOUR`] office time, once a day): counts, the most
/// overdue, a link to the dashboard. True when it was queued now.
async fn digest(
    core: &Core,
    me: &Officer,
    targets: &[(aduan_channel::ChannelKind, aduan_channel::Address)],
    now_dt: chrono::DateTime<chrono::Utc>,
    today: chrono::NaiveDate,
    next_working_day: &str,
) -> anyhow::Result<bool> {
    let now = now_dt.timestamp_millis();
    let lang = core.settings.language;
    let local_hour =
        (now_dt + chrono::Duration::seconds(core.settings.offset.local_minus_utc() as i64)).hour();
    let key = format!("digest:{today}");
    if local_hour >= DIGEST_HOUR && !notices::told(&core.db, me.id, &key).await? {
        let counts = notices::digest_counts(&core.db, now, next_working_day).await?;
        let overdue = notices::most_overdue(&core.db, now, 10).await?;
        let anchor = match overdue.first() {
            Some(o) => Some(o.0),
            None => notices::newest_id(&core.db).await?,
        };
        if let Some(anchor) = anchor {
            let mut body = format!(
                "{} {today}\n\n{}: {}\n{}: {}\n{}: {}\n{}: {}\n",
                lang.pick("Ringkasan harian pengaduan", "Daily complaint digest"),
                lang.pick("Baru (24 jam terakhir)", "New (last 24 hours)"),
                counts.new,
                lang.pick("Terlambat", "Overdue"),
                counts.overdue,
                lang.pick(
                    "Jatuh tempo hari kerja berikutnya",
                    "Due on the next working day"
                ),
                counts.due_tomorrow,
                lang.pick(
                    "Konsep jawaban menunggu persetujuan",
                    "Drafts waiting for approval"
                ),
                counts.waiting_approval,
            );
            if !overdue.is_empty() {
                body.push_str(&format!(
                    "\n{}:\n",
                    lang.pick("Paling terlambat", "Most overdue")
                ));
                for (_, no, subject, due, confidential) in &overdue {
                    let subject = subject_in_notice(*confidential, subject, lang);
                    body.push_str(&format!("- {no} ({due}): {subject}\n"));
                }
            }
            body.push_str(&format!("\n{}/kotak/dasbor\n", core.settings.public_url));
            let subject = format!(
                "{} {today}",
                lang.pick("Ringkasan harian pengaduan", "Daily complaint digest")
            );
            return Ok(tell(core, me, anchor, &key, targets, &subject, &body, now).await?);
        }
    }
    Ok(false)
}

/// Queues one notice to every target of the officer, once: the ledger row and the outbox rows
/// in one transaction.
#[allow(clippy::too_many_arguments)]
async fn tell(
    core: &Core,
    me: &Officer,
    complaint_id: i64,
    key: &str,
    targets: &[(aduan_channel::ChannelKind, aduan_channel::Address)],
    subject: &str,
    body: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let mut tx = core.db.begin().await?;
    if !notices::claim(&mut tx, me.id, complaint_id, key, now).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    for (kind, to) in targets {
        notices::enqueue(
            &mut tx,
            complaint_id,
            *kind,
            to,
            subject,
            body,
            &core.settings.message_id_domain,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(officer = %me.username, notice = key, "officer notice queued");
    Ok(true)
}

/// A complaint's subject as a notice (email, Telegram: outside the register) may carry it: a
/// confidential complaint's subject never leaves, whoever is told.
fn subject_in_notice(confidential: bool, subject: &str, lang: Lang) -> &str {
    if confidential {
        lang.pick(
            "(pengaduan rahasia; perihal hanya di aduan)",
            "(confidential complaint; the subject only in aduan)",
        )
    } else {
        subject
    }
}

/// How long a confirmation code stays good.
pub const CODE_LIFETIME_MS: i64 = 30 * 60 * 1000;

/// Why new notification addresses could not be set.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// The channel that would carry the code (and the notices) does not run in this daemon.
    #[error("the {0} channel does not run here")]
    ChannelNotHere(ChannelKind),
    /// The code could not be sent (the channel's words).
    #[error("the code could not be sent: {0}")]
    NotSent(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// An officer's wish for their notification addresses (`None`: off). Turning an address off
/// or keeping it takes effect at once; a new address waits until the officer types the code
/// sent to it ([`confirm_addresses`]) — notices never reach an address its officer did not
/// prove to hold. The code goes straight through the channel while the officer waits (the
/// one message not queued in the outbox: nothing is queued for an unconfirmed address).
/// Returns whether addresses now wait for a code.
pub async fn request_addresses(
    core: &Core,
    officer: &Officer,
    email: Option<&str>,
    telegram: Option<&str>,
) -> Result<bool, AddressError> {
    let now = core.clock.now().timestamp_millis();
    let current = notices::prefs(&core.db, officer.id).await?;
    // What stays confirmed: an address kept as it is.
    let keep_email = email.filter(|e| current.email.as_deref() == Some(*e));
    let keep_telegram = telegram.filter(|t| current.telegram.as_deref() == Some(*t));
    notices::set_prefs(&core.db, officer.id, keep_email, keep_telegram, now).await?;
    let new_email = email.filter(|_| keep_email.is_none());
    let new_telegram = telegram.filter(|_| keep_telegram.is_none());
    let mut targets = Vec::new();
    if let Some(e) = new_email {
        targets.push((
            ChannelKind::Email,
            aduan_channel::Address::Email(e.to_string()),
        ));
    }
    if let Some(t) = new_telegram.and_then(|t| t.parse::<i64>().ok()) {
        targets.push((
            ChannelKind::Telegram,
            aduan_channel::Address::TelegramChat(t),
        ));
    }
    if targets.is_empty() {
        notices::set_pending(&core.db, officer.id, None, None, "", 0).await?;
        return Ok(false);
    }
    for (kind, _) in &targets {
        if core.channels.get(*kind).is_none() {
            return Err(AddressError::ChannelNotHere(*kind));
        }
    }
    let code = {
        use rand::Rng;
        format!("{:06}", rand::rng().random_range(0..1_000_000u32))
    };
    notices::set_pending(
        &core.db,
        officer.id,
        new_email,
        new_telegram,
        &register::sha256_hex(code.as_bytes()),
        now + CODE_LIFETIME_MS,
    )
    .await?;
    let lang = core.settings.language;
    for (kind, to) in targets {
        let channel = core.channels.get(kind).expect("checked above");
        let msg = aduan_channel::OutboundMessage {
            outbox_id: 0,
            channel: kind,
            to,
            register_no: String::new(),
            subject: lang
                .pick(
                    "Kode konfirmasi pemberitahuan aduan",
                    "aduan notification confirmation code",
                )
                .to_string(),
            text: format!(
                "{} {}: {code}\n\n{}",
                lang.pick(
                    "Kode konfirmasi pemberitahuan aduan untuk",
                    "The aduan notification confirmation code for"
                ),
                officer.username,
                lang.pick(
                    "Masukkan kode ini di halaman Kotak masuk, bagian Pemberitahuan untuk saya, dalam 30 menit. Abaikan pesan ini bila Anda tidak memintanya.",
                    "Type this code on the Inbox page, under My notifications, within 30 minutes. Ignore this message if you did not ask for it."
                ),
            ),
            attachments: Vec::new(),
            message_id: format!(
                "<confirm.{now}.{}@{}>",
                register::tracking_code().to_lowercase(),
                core.settings.message_id_domain
            ),
            references: Vec::new(),
            automatic: true,
            choices: Vec::new(),
        };
        let sent =
            tokio::time::timeout(std::time::Duration::from_secs(20), channel.send(&msg)).await;
        match sent {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                notices::set_pending(&core.db, officer.id, None, None, "", 0).await?;
                return Err(AddressError::NotSent(e.to_string()));
            }
            Err(_) => {
                notices::set_pending(&core.db, officer.id, None, None, "", 0).await?;
                return Err(AddressError::NotSent("timed out".into()));
            }
        }
    }
    Ok(true)
}

/// The code an officer typed for their waiting addresses.
pub async fn confirm_addresses(
    core: &Core,
    officer: &Officer,
    code: &str,
) -> sqlx::Result<notices::Confirmation> {
    let now = core.clock.now().timestamp_millis();
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    notices::confirm(
        &core.db,
        officer.id,
        &register::sha256_hex(code.as_bytes()),
        now,
    )
    .await
}
