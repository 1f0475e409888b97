//! The register as the daemon sees it: the `aduan-register` crate (the SQL, the typed rows and
//! the domain) re-exported, and what still needs the daemon's state — the channels' presence, and queuing an outbound message through the office's templates (`enqueue`) to the
//! targets presence allows (`reply_targets`).

use aduan_channel::{Address, Attachment, ChannelKind};

pub use aduan_register::*;

use crate::db::{now_ms, Tx};
use crate::state::Core;
use crate::templates::{Kind, Vars};

pub mod presence;

/// Where replies to a complaint go — the only place that decides: its own channel and address,
/// plus, for web and counter complaints, the email and phone given with that complaint (its
/// contacts) where the register knows those channels — whichever daemon takes the request. Nothing else: a complainant's other
/// complaints' contacts never receive this one's messages.
pub async fn reply_targets(
    conn: &mut sqlx::AnyConnection,
    core: &Core,
    c: &Complaint,
) -> sqlx::Result<Vec<(ChannelKind, Address)>> {
    let mut out = Vec::new();
    let Some(kind) = c.channel_kind() else {
        return Ok(out);
    };
    let own = Address::from_key(&c.reply_to);
    if !own.is_none() || !kind.proves_sender() {
        out.push((kind, own));
    }
    if matches!(kind, ChannelKind::Web | ChannelKind::Counter) {
        let served = crate::presence::served(conn, core).await?;
        out.extend(contact_targets(
            &served,
            complaint_contacts(conn, c.id).await?,
        ));
    }
    Ok(out)
}

/// Email addresses and phone numbers as reply targets, where the register knows the email and
/// SMS channels (some daemon on it runs or ran them; see [`crate::presence`]).
pub fn contact_targets(
    served: &crate::presence::Served,
    addrs: impl IntoIterator<Item = Address>,
) -> Vec<(ChannelKind, Address)> {
    addrs
        .into_iter()
        .filter_map(|a| {
            let via = match a {
                Address::Email(_) => ChannelKind::Email,
                Address::Phone(_) => ChannelKind::Sms,
                _ => return None,
            };
            served.is_known(via).then_some((via, a))
        })
        .collect()
}

/// An outbound message to queue.
pub struct Outgoing<'a> {
    pub kind: Kind,
    /// Free text inserted in the template's `{text}`.
    pub text: &'a str,
    /// Reply subject for `Kind::Reply`.
    pub subject: &'a str,
    pub automatic: bool,
    pub attachments: &'a [Attachment],
}

/// Queues one outbound message through every reply target of the complaint: a thread entry
/// and an outbox row each, in the caller's transaction. Returns the outbox ids.
///
/// `known_refs`: the provider ids the reply answers, when the caller knows them (a new
/// complaint's receipt answers its first message); otherwise they are read from the thread.
pub async fn enqueue(
    tx: &mut Tx,
    core: &Core,
    c: &Complaint,
    out: &Outgoing<'_>,
    targets: &[(ChannelKind, Address)],
    known_refs: Option<&[String]>,
) -> sqlx::Result<Vec<i64>> {
    let s = &core.settings;
    let status = core.templates.status_text(c.lang, c.status);
    let track_url = s.track_url(&c.register_no);
    let rate_url = s.rate_url(&c.register_no, &c.tracking_code);
    let vars = Vars {
        office: &s.office_name,
        name: &c.complainant_name,
        register_no: &c.register_no,
        tracking_code: &c.tracking_code,
        due_date: &c.due_date,
        status: &status,
        text: out.text,
        track_url: &track_url,
        rate_url: &rate_url,
        subject: if out.subject.is_empty() {
            &c.subject
        } else {
            out.subject
        },
    };
    let (subject, body) = core.templates.render(c.lang, out.kind, &vars);
    // An address typed into the public form may be anyone's: what the office sends there
    // carries no free text of the submitter's but the (single-line, capped) name — not the
    // subject they typed.
    let generic = c.lang.pick("Pengaduan Anda", "Your complaint");
    let typed = Vars {
        subject: if out.subject.is_empty() {
            generic
        } else {
            out.subject
        },
        ..vars
    };
    // The verdict's question to a typed address asks through the coded link only: a reply
    // from it would be no identity's.
    let typed_kind = match out.kind {
        Kind::RatingRequest => Kind::RatingLink,
        k => k,
    };
    let (typed_subject, typed_body) = core.templates.render(c.lang, typed_kind, &typed);
    let (contact_subject, contact_body) = core.templates.render(c.lang, typed_kind, &vars);
    let now = now_ms();
    let mut ids = Vec::with_capacity(targets.len());
    for (channel, to) in targets {
        let contact =
            matches!(c.channel, ChannelKind::Web | ChannelKind::Counter) && *channel != c.channel;
        let (subject, body) = match (contact, c.channel) {
            (true, ChannelKind::Web) => (&typed_subject, &typed_body),
            (true, _) => (&contact_subject, &contact_body),
            (false, _) => (&subject, &body),
        };
        let provider_msg_id = format!(
            "<{}.{}.{}@{}>",
            now,
            tracking_code().to_lowercase(),
            c.register_no.to_lowercase(),
            s.message_id_domain
        );
        let refs: Vec<String> = match known_refs {
            Some(r) => r.to_vec(),
            None => aduan_register::outbox::thread_refs(tx, c.id, *channel).await?,
        };
        let id = aduan_register::outbox::queue(
            tx,
            &aduan_register::outbox::Queued {
                complaint_id: c.id,
                channel: *channel,
                recipient: to.to_key(),
                kind: out.kind.into(),
                subject,
                body,
                provider_msg_id: &provider_msg_id,
                refs: &refs,
                automatic: out.automatic,
                attachments: out.attachments,
                at: now,
            },
        )
        .await?;
        ids.push(id);
    }
    Ok(ids)
}
