//! The unified inbox (`/kotak`): filters, paging, each role's queue.

use super::*;
use crate::workflow::Status;

/// The filter the inbox page's query asks for: `channel`, `status`, full-text `q`, `overdue`,
/// `assignee` (`me` or a user name) and `antrian=saya` ("my queue": what the officer's role can
/// act on now, or what is assigned to them).
pub fn inbox_filter(
    core: &crate::state::Core,
    q: &HashMap<String, String>,
    me: Option<&crate::workflow::Officer>,
    now: i64,
) -> crate::register::ComplaintFilter {
    use crate::register::{Assignee, ComplaintFilter};
    let given = |k: &str| q.get(k).filter(|v| !v.is_empty());
    let mut f = ComplaintFilter {
        channel: given("channel").and_then(|c| c.parse().ok()),
        status: given("status").and_then(|s| s.parse().ok()),
        overdue: (q.get("overdue").map(String::as_str) == Some("1")).then_some(true),
        text: given("q").cloned(),
        now,
        ..Default::default()
    };
    if let Some(me) = me {
        f.reader = Some(me.id);
        f.identity = crate::workflow::role_sees_identity(me.role);
        f.assignee = given("assignee").map(|a| {
            if a == "me" {
                Assignee::Id(me.id)
            } else {
                Assignee::Username(a.clone())
            }
        });
        if q.get("antrian").is_some_and(|v| v == "saya") {
            f.queue = Some(crate::workflow::notices::queue_of(core, me.id, me.role));
        }
    }
    f
}

/// The inbox page's rows: 50 a page (`page`), the most recently registered first or, with
/// `urut=batas`, the open ones nearest their due date first; filtered as [`inbox_filter`]
/// says, with the officer's read marks and a count of matches that stops at
/// [`COUNT_CAP`]. Public for the benchmark (`aduan-bench inbox`).
pub async fn inbox_rows(
    core: &crate::state::Core,
    q: &HashMap<String, String>,
    me: Option<&crate::workflow::Officer>,
) -> sqlx::Result<crate::register::Listing> {
    let page = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    crate::register::list_complaints(
        &core.db,
        &inbox_filter(core, q, me, now_ms()),
        crate::register::Page {
            number: page,
            size: 50,
            count: true,
            count_cap: Some(count_cap(q)),
            order: if q.get("urut").is_some_and(|v| v == "batas") {
                crate::register::Order::Due
            } else {
                crate::register::Order::Newest
            },
        },
    )
    .await
}

/// The inbox counts its matches up to this many ("lebih dari 1.000" beyond).
pub const COUNT_CAP: i64 = 1000;

/// A full-text search counts its matches up to this many ("lebih dari 100"): counting walks
/// the matches, ~0.1 ms each on SQLite for a word in every one of a million complaints
/// (BENCHMARKS.md).
pub const SEARCH_COUNT_CAP: i64 = 100;

/// The count's cap for the inbox query `q`.
pub fn count_cap(q: &HashMap<String, String>) -> i64 {
    if q.get("q").is_some_and(|t| !t.trim().is_empty()) {
        SEARCH_COUNT_CAP
    } else {
        COUNT_CAP
    }
}

/// `GET /kotak`: every channel in one list, newest first; filters by channel, status and text.
pub async fn inbox(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    let now = now_ms();
    let listing = match inbox_rows(&st.core, &q, Some(&s.officer)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "inbox");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    // Subjects as this officer may read them (a confidential complainant's name hidden).
    let mut subjects = Vec::with_capacity(listing.items.len());
    for l in &listing.items {
        match crate::workflow::identity_view(&st.core.db, &l.complaint, s.officer.role).await {
            Ok(v) => subjects.push(v.text(&l.complaint.subject).into_owned()),
            Err(e) => {
                tracing::error!(error = %e, "inbox");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    let has_next = listing.has_next;
    let page_no: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let link = |page: i64| {
        let mut parts: Vec<String> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect();
        parts.sort();
        parts.push(format!("page={page}"));
        format!("/kotak?{}", parts.join("&"))
    };
    let sel = |k: &str| q.get(k).cloned().unwrap_or_default();
    let by_due = sel("urut") == "batas";
    let order_link = |due: bool| {
        let mut parts: Vec<String> = q
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "page" | "urut"))
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect();
        parts.sort();
        if due {
            parts.push("urut=batas".into());
        }
        format!("/kotak?{}", parts.join("&"))
    };
    let cap = count_cap(&q);
    let count_text = match listing.total {
        Some(n) if n > cap => format!(
            "{} {} {}",
            lang.pick("lebih dari", "more than"),
            thousands(cap, lang),
            lang.pick("pengaduan", "complaints")
        ),
        Some(n) => format!(
            "{} {}",
            thousands(n, lang),
            lang.pick("pengaduan", "complaints")
        ),
        None => String::new(),
    };
    let officers = crate::register::officers::active_names(&st.core.db)
        .await
        .unwrap_or_default();
    let may_assign = crate::workflow::ASSIGN_ROLES.contains(&s.officer.role);
    let notify = crate::register::notices::prefs(&st.core.db, s.officer.id)
        .await
        .unwrap_or_default();
    let body = html! {
        h1 { (lang.pick("Kotak masuk", "Inbox")) }
        form method="get" action="/kotak" role="search" {
            select name="channel" aria-label=(lang.pick("Kanal", "Channel")) {
                option value="" { (lang.pick("Semua kanal", "All channels")) }
                @for k in aduan_channel::ChannelKind::iter() {
                    option value=(k.as_str()) selected[sel("channel") == k.as_str()] { (crate::web::words::channel(k, lang)) }
                }
            }
            " "
            select name="status" aria-label="Status" {
                option value="" { (lang.pick("Semua status", "All statuses")) }
                @for s in Status::iter() {
                    option value=(s) selected[sel("status") == s.as_str()] { (crate::web::words::status(s, lang)) }
                }
            }
            " "
            input type="search" name="q" value=(sel("q")) placeholder=(lang.pick("Cari…", "Search…")) aria-label=(lang.pick("Cari", "Search"));
            " "
            label { input type="checkbox" name="overdue" value="1" checked[sel("overdue") == "1"]; (lang.pick(" terlambat", " overdue")) }
            " "
            label { input type="checkbox" name="assignee" value="me" checked[sel("assignee") == "me"]; (lang.pick(" ditugaskan ke saya", " assigned to me")) }
            " "
            label { input type="checkbox" name="antrian" value="saya" checked[sel("antrian") == "saya"]; (lang.pick(" antrean saya", " my queue")) }
            @if by_due { input type="hidden" name="urut" value="batas"; }
            " "
            button type="submit" { (lang.pick("Saring", "Filter")) }
        }
        p.count {
            strong id="jumlah" { (count_text) }
            " · " (lang.pick("Urutkan", "Sort")) ": "
            @if by_due {
                a href=(order_link(false)) { (lang.pick("terbaru", "newest")) } " | " strong { (lang.pick("batas waktu terdekat", "nearest due date")) }
            } @else {
                strong { (lang.pick("terbaru", "newest")) } " | " a href=(order_link(true)) { (lang.pick("batas waktu terdekat", "nearest due date")) }
            }
        }
        form method="post" action="/kotak/massal" id="massal" {
            input type="hidden" name="csrf" value=(s.csrf);
            table.inbox {
                caption.skip { (lang.pick("Daftar pengaduan", "Complaints")) }
                thead { tr {
                    th { span.skip { (lang.pick("Pilih", "Select")) } }
                    th { (lang.pick("Nomor register", "Register no.")) }
                    th { (lang.pick("Perihal", "Subject")) }
                    th { (lang.pick("Pengadu", "Complainant")) }
                    th { (lang.pick("Kanal", "Channel")) }
                    th { "Status" } th { (lang.pick("Petugas", "Assignee")) }
                    th { (lang.pick("Diterima", "Received")) }
                    th { (lang.pick("Batas waktu", "Due")) }
                } }
                tbody id="baris" {
                    @for (l, subject) in listing.items.iter().zip(&subjects) {
                        @let c = &l.complaint;
                        @let overdue = crate::register::is_overdue(c.closed_at.is_none(), c.answered_at.is_some(), c.status, c.due_at, now);
                        @let unread = crate::register::workspace::is_unread(l.seen_at, c.updated_at);
                        @let href = format!("/kotak/{}", c.register_no);
                        tr class=(row_class(overdue, unread)) data-href=(href) {
                            td { input type="checkbox" name="no" value=(c.register_no) aria-label=(format!("{} {}", lang.pick("Pilih", "Select"), c.register_no)); }
                            td.no {
                                @if unread { span title=(lang.pick("belum dibaca", "unread")) aria-label=(lang.pick("belum dibaca", "unread")) { "● " } }
                                a href=(href) { (c.register_no) }
                            }
                            td.subj { (subject) }
                            td { @if crate::workflow::sees_identity(c, s.officer.role) { (c.complainant_name) } @else { em { (lang.pick("rahasia", "confidential")) } } }
                            td { (crate::web::words::channel(c.channel, lang)) }
                            td { (crate::web::words::status(c.status, lang)) }
                            td { (l.assignee_name.as_deref().unwrap_or_default()) }
                            td.when { (fmt_time(&st, c.received_at)) }
                            td.sla {
                                @if c.closed_at.is_some() || c.answered_at.is_some() {
                                    (c.due_date)
                                } @else if c.status == Status::Incomplete {
                                    (lang.pick("menunggu pengadu", "waiting for the complainant"))
                                } @else {
                                    @let (t, late) = crate::web::words::time_left(&st.core.calendar, c.due_at, now, lang);
                                    span class=[late.then_some("late")] { (t) }
                                }
                                @if let Some(d) = c.step_due_at.filter(|_| c.closed_at.is_none()) {
                                    @if d < now { br; small.late { (lang.pick("langkah ini lewat batas", "this step is past due")) } }
                                }
                            }
                        }
                    }
                }
            }
            @if listing.items.is_empty() { p { (lang.pick("Tidak ada pengaduan yang cocok.", "No complaints match.")) } }
            fieldset {
                legend { (lang.pick("Untuk yang dipilih", "For the selected")) }
                select name="do" aria-label=(lang.pick("Tindakan massal", "Bulk action")) {
                    option value="ambil" { (lang.pick("Ambil (tugaskan ke saya)", "Take (assign to me)")) }
                    @if may_assign { option value="tugaskan" { (lang.pick("Tugaskan ke petugas…", "Assign to officer…")) } }
                    option value="verify" { (crate::web::words::action(crate::workflow::Action::Verify, lang)) }
                    option value="spam" { (lang.pick("Abaikan sebagai spam", "Dismiss as spam")) }
                    option value="duplicate" { (lang.pick("Abaikan sebagai duplikat", "Dismiss as duplicate")) }
                }
                @if may_assign {
                    " "
                    select name="to" aria-label=(lang.pick("Petugas", "Officer")) {
                        option value="" { (lang.pick("(petugas)", "(officer)")) }
                        @for o in &officers { option value=(o.username) { (o.display_name) } }
                    }
                }
                " "
                button type="submit" { (lang.pick("Jalankan", "Apply")) }
            }
        }
        nav.pages aria-label=(lang.pick("Halaman", "Pages")) {
            @if page_no > 1 { a rel="prev" href=(link(page_no - 1)) { "← " (lang.pick("Sebelumnya", "Previous")) } " " }
            (lang.pick("Halaman", "Page")) " " (page_no)
            @if has_next { " " a rel="next" href=(link(page_no + 1)) { (lang.pick("Berikutnya", "Next")) " →" } }
        }
        @if sel("pesan") == "pemberitahuan" { p role="status" { (lang.pick("Pengaturan pemberitahuan tersimpan.", "Notification settings saved.")) } }
        @if sel("pesan") == "kode" { p role="status" { (lang.pick("Kode konfirmasi terkirim ke alamat baru. Masukkan kodenya di bawah.", "A confirmation code went to the new address. Type it below.")) } }
        details id="akun" open[sel("pesan") == "pemberitahuan" || sel("pesan") == "kode" || notify.pending_email.is_some() || notify.pending_telegram.is_some()] {
            summary { (lang.pick("Pemberitahuan untuk saya", "My notifications")) }
            p { (lang.pick(
                "Terima pemberitahuan pengaduan baru di antrean atau unit Anda, penugasan, jatuh tempo, dan keterlambatan (pimpinan: juga ringkasan harian). Kosongkan untuk berhenti.",
                "Get notices of new complaints in your queue or unit, assignments, due dates and delays (heads: also a daily digest). Leave empty to stop.")) }
            form method="post" action="/akun/pemberitahuan" {
                input type="hidden" name="csrf" value=(s.csrf);
                p { label { "Email" br; input type="email" name="email" value=(notify.pending_email.clone().or(notify.email.clone()).unwrap_or_default()) maxlength="254"; } }
                p { label { (lang.pick("Nomor obrolan Telegram", "Telegram chat number")) br; input name="telegram" inputmode="numeric" value=(notify.pending_telegram.clone().or(notify.telegram.clone()).unwrap_or_default()) maxlength="20"; } }
                p { small { (lang.pick("Alamat baru menerima kode konfirmasi lebih dulu; pemberitahuan dikirim setelah kode dimasukkan.", "A new address first receives a confirmation code; notices follow once the code is typed in.")) } }
                button type="submit" { (lang.pick("Simpan", "Save")) }
            }
            @if notify.pending_email.is_some() || notify.pending_telegram.is_some() {
                form method="post" action="/akun/pemberitahuan/kode" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    p { label { (lang.pick("Kode konfirmasi (6 angka) untuk", "Confirmation code (6 digits) for")) " "
                        (notify.pending_email.clone().into_iter().chain(notify.pending_telegram.clone()).collect::<Vec<_>>().join(", ")) br;
                        input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,8}" maxlength="8" required; } }
                    button type="submit" { (lang.pick("Konfirmasi", "Confirm")) }
                }
            }
        }
        details {
            summary { (lang.pick("Ganti kata sandi", "Change password")) }
            form method="post" action="/akun/sandi" {
                input type="hidden" name="csrf" value=(s.csrf);
                p { label { (lang.pick("Kata sandi sekarang", "Current password")) br; input type="password" name="current" autocomplete="current-password" required; } }
                p { label { (lang.pick("Kata sandi baru (min. 10)", "New password (min. 10)")) br; input type="password" name="new" autocomplete="new-password" minlength="10" required; } }
                button type="submit" { (lang.pick("Simpan", "Save")) }
            }
        }
        (script(INBOX_JS))
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, lang.pick("Kotak masuk", "Inbox"), Some(&s), body),
        vec![],
    )
}

fn row_class(overdue: bool, unread: bool) -> String {
    let mut c = Vec::new();
    if overdue {
        c.push("overdue");
    }
    if unread {
        c.push("unread");
    }
    c.join(" ")
}

/// A count with the thousands separated as the language writes them (1.000 / 1,000).
fn thousands(n: i64, lang: Lang) -> String {
    let digits = n.abs().to_string();
    let sep = lang.pick('.', ',');
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(ch);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// The inbox's progressive script (the page works without it): whole rows open their
/// complaint; `j`/`k` or the arrow keys move, `Enter` opens; the list refreshes itself every
/// minute in place (same address, so the filters and the scroll stay) unless the officer has
/// rows selected or is typing.
pub(super) const INBOX_JS: &str = r#"(function(){
var rows=function(){return Array.prototype.slice.call(document.querySelectorAll('#baris tr[data-href]'));};
var cur=-1;
function mark(i,focus){var r=rows();if(!r.length)return;cur=Math.max(0,Math.min(i,r.length-1));r.forEach(function(x,j){x.classList.toggle('sel',j===cur);});var a=r[cur].querySelector('a');if(a&&focus)a.focus();}
document.addEventListener('click',function(e){var tr=e.target.closest&&e.target.closest('tr[data-href]');if(!tr||e.target.closest('a,input,label,button,select'))return;location.href=tr.getAttribute('data-href');});
document.addEventListener('keydown',function(e){var t=e.target.tagName;if(t==='INPUT'||t==='TEXTAREA'||t==='SELECT'||e.altKey||e.ctrlKey||e.metaKey)return;
if(e.key==='j'||e.key==='ArrowDown'){mark(cur+1,true);e.preventDefault();}
else if(e.key==='k'||e.key==='ArrowUp'){mark(cur-1,true);e.preventDefault();}
else if(e.key==='Enter'&&cur>=0){var r=rows()[cur];if(r)location.href=r.getAttribute('data-href');}});
if(rows().length)mark(0,!location.hash);
setInterval(function(){var a=document.activeElement;if(document.querySelector('#baris input:checked')||(a&&(a.tagName==='INPUT'||a.tagName==='SELECT')&&a.type!=='checkbox'))return;
fetch(location.href,{credentials:'same-origin'}).then(function(r){return r.ok?r.text():null;}).then(function(t){if(!t)return;var d=new DOMParser().parseFromString(t,'text/html');
['baris','jumlah'].forEach(function(id){var n=d.getElementById(id),o=document.getElementById(id);if(n&&o)o.innerHTML=n.innerHTML;});
var nt=d.querySelector('title');if(nt)document.title=nt.textContent;var nb=d.querySelector('header a[href="/kotak"]'),ob=document.querySelector('header a[href="/kotak"]');if(nb&&ob)ob.innerHTML=nb.innerHTML;
if(cur>=0)mark(cur,false);});},60000);
})();"#;
