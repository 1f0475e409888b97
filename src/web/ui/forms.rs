//! The complaint forms: the public form (`/aduan`) and the counter (`/kotak/loket`, with the
//! LAPOR! link).

use super::*;

/// A streamed form's headers, query and page language, taken before its body is read.
pub(super) fn request_head(
    req: &axum::extract::Request,
) -> (HeaderMap, HashMap<String, String>, Lang) {
    let headers = req.headers().clone();
    let q: HashMap<String, String> = Query::try_from_uri(req.uri())
        .map(|Query(q)| q)
        .unwrap_or_default();
    let lang = page_lang(&headers, &q);
    (headers, q, lang)
}

/// The fields the public and the counter form share.
fn complaint_fields(lang: Lang, name: &str, body: &str, file: &str) -> Markup {
    html! {
        p { label { (name) br; input name="name" maxlength="200"; } }
        p { label { "Email" br; input type="email" name="email" maxlength="254"; } }
        p { label { (lang.pick("Nomor HP", "Mobile number")) br; input type="tel" name="phone" maxlength="32"; } }
        p { label { (lang.pick("Perihal", "Subject")) br; input name="subject" maxlength="300"; } }
        p { label { (body) br; textarea name="body" rows="8" cols="60" required {} } }
        p { label { (file) br; input type="file" name="file"; } }
        p { label { input type="checkbox" name="confidential" value="1"; " "
            (lang.pick("Rahasiakan identitas saya (hanya petugas loket dan pimpinan yang melihat nama dan kontak saya)",
                       "Keep my identity confidential (only the front office and the heads see my name and contacts)")) } }
    }
}

/// The public complaint form's double-submit CSRF cookie.
const FORM_COOKIE: &str = "aduan_form";

fn complaint_form(st: &AppState, lang: Lang, token: &str, error: Option<&str>) -> Markup {
    page(
        lang,
        lang.pick("Sampaikan pengaduan", "Submit a complaint"),
        None,
        html! {
            h1 { (lang.pick("Sampaikan pengaduan", "Submit a complaint")) " — " (st.core.settings.office_name) }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            section.next aria-label=(lang.pick("Apa yang terjadi selanjutnya", "What happens next")) {
                h2 { (lang.pick("Apa yang terjadi setelah Anda mengirim", "What happens after you send it")) }
                ol {
                    li { (lang.pick("Anda langsung menerima nomor register dan kode lacak. Simpan keduanya.", "You get a register number and a tracking code at once. Keep both.")) }
                    li { (lang.pick("Petugas memeriksa kelengkapan pengaduan. Bila ada yang kurang, kami meminta Anda melengkapinya.", "An officer checks that the complaint is complete; if something is missing, we ask you for it.")) }
                    li { (lang.pick("Pengaduan dijawab paling lambat", "The complaint is answered within")) " " strong { (st.core.settings.sla_days) " " (lang.pick("hari kerja", "working days")) } " " (lang.pick("sejak berkasnya lengkap (hari libur tidak dihitung).", "of its complete file (holidays do not count).")) }
                    li { (lang.pick("Kapan saja Anda dapat melihat langkah yang sudah dan yang akan dilakukan di halaman lacak; alamatnya tertera pada tanda terima.", "At any time you can see the steps done and to come on the tracking page; its address is on your receipt.")) }
                    li { (lang.pick("Jawaban dikirim ke email atau nomor HP yang Anda isi; tanpa kontak, jawaban hanya tampil di halaman lacak.", "The answer goes to the email or mobile number you give; without one it shows only on the tracking page.")) }
                }
            }
            // The token rides in the URL too, so it is checked before the body is read.
            form method="post" action=(format!("/aduan?t={token}&lang={}", lang.as_str())) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="lang" value=(lang.as_str());
                (complaint_fields(
                    lang,
                    lang.pick("Nama (boleh dikosongkan)", "Name (optional)"),
                    lang.pick("Isi pengaduan", "Your complaint"),
                    lang.pick("Lampiran", "Attachment"),
                ))
                button type="submit" { (lang.pick("Kirim", "Send")) }
            }
        },
    )
}

/// `GET /aduan`: the public complaint form (the web channel).
pub async fn public_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    let token = session::token();
    let c = session::set_cookie(
        &st.core,
        FORM_COOKIE,
        &token,
        Some(std::time::Duration::from_secs(4 * 3600)),
    );
    html_response(
        StatusCode::OK,
        lang,
        complaint_form(&st, lang, &token, None),
        vec![c],
    )
}

/// `POST /aduan`: registers the complaint and shows the receipt (register number and tracking
/// code); errors re-show the form with the reason.
pub async fn public_submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> Response {
    let (headers, q, lang) = request_head(&req);
    // Cookie and URL token are compared before anything of the body is read; the rate limit
    // and the upload slot come next (in `submit_form`), then the body is streamed.
    let Some(token) = session::cookie(&headers, FORM_COOKIE) else {
        return forbidden(lang);
    };
    if !q
        .get("t")
        .is_some_and(|t| crate::register::ct_eq(t, &token))
    {
        return forbidden(lang);
    }
    match crate::web::submission::submit_form(&st, peer, req, &token).await {
        Ok(c) => {
            let track = st.core.settings.track_url(&c.register_no);
            let body = html! {
                h1 { (lang.pick("Pengaduan diterima", "Complaint received")) }
                p { (lang.pick("Nomor register", "Register number")) ": " strong #register_no { (c.register_no) } }
                p { (lang.pick("Kode pelacakan", "Tracking code")) ": " strong #tracking_code { (c.tracking_code) } }
                p { (lang.pick("Simpan keduanya untuk melacak pengaduan Anda:", "Keep both to track your complaint:")) " "
                    a href=(format!("{track}?code={}", c.tracking_code)) { (track) } }
            };
            html_response(
                StatusCode::OK,
                lang,
                page(lang, &c.register_no, None, body),
                vec![],
            )
        }
        Err(e) => {
            let code = e.status();
            html_response(
                code,
                lang,
                complaint_form(&st, lang, &token, Some(&e.for_form(lang))),
                vec![],
            )
        }
    }
}

/// The counter page: the intake form, and (with the LAPOR! channel on) linking a LAPOR! report
/// a citizen brings by its tracking id.
fn counter_form(lang: Lang, s: &WebSession, lapor: bool, error: Option<&str>) -> Markup {
    page(
        lang,
        lang.pick("Loket pengaduan", "Counter intake"),
        Some(s),
        html! {
            h1 { (lang.pick("Loket pengaduan", "Counter intake")) }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            @let form_token = session::token();
            form method="post" action=(format!("/kotak/loket?csrf={}&form={form_token}", s.csrf)) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="form" value=(form_token);
                p { label { (lang.pick("Cara penyampaian", "Medium")) br;
                    select name="medium" { @for m in aduan_channel::CounterMedium::iter() { option value=(m.as_str()) { (crate::web::words::medium(m, lang)) } } } } }
                (complaint_fields(
                    lang,
                    lang.pick("Nama", "Name"),
                    lang.pick("Isi pengaduan", "Complaint"),
                    lang.pick("Lampiran (pindaian surat, foto)", "Attachment (scanned letter, photo)"),
                ))
                button type="submit" { (lang.pick("Daftarkan", "Register")) }
            }
            @if lapor {
                h2 { (lang.pick("Tautkan laporan LAPOR!", "Link a LAPOR! report")) }
                form method="post" action="/kotak/loket/lapor" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    p { label { (lang.pick("Nomor tracking LAPOR!", "LAPOR! tracking id")) br;
                        input name="tracking_id" required pattern="[A-Za-z0-9-]{1,64}" inputmode="latin"; } }
                    button type="submit" { (lang.pick("Tautkan", "Link")) }
                }
            }
        },
    )
}

fn lapor_on(st: &AppState) -> bool {
    st.core
        .channels
        .is_configured(aduan_channel::ChannelKind::Lapor)
}

/// `GET /kotak/loket`: the front office's intake form.
pub async fn counter_page(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    let form = counter_form(lang, &s, lapor_on(&st), None);
    html_response(StatusCode::OK, lang, form, vec![])
}

#[derive(Deserialize)]
pub struct LaporLinkForm {
    #[serde(default)]
    tracking_id: String,
}

/// `POST /kotak/loket/lapor`: links a LAPOR! report and opens its complaint (the one already
/// linked when the report was linked before).
pub async fn counter_lapor_submit(
    State(st): State<AppState>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<LaporLinkForm>,
) -> Response {
    let linked =
        match crate::web::submission::lapor_link_message(&st, &s.officer, &f.tracking_id).await {
            Ok(msg) => crate::web::submission::submit_as_officer(&st, &s.officer, msg).await,
            Err(e) => Err(e),
        };
    match linked {
        Ok(c) => Redirect::to(&format!("/kotak/{}", c.register_no)).into_response(),
        Err(e) => {
            let form = counter_form(lang, &s, lapor_on(&st), Some(&e.for_form(lang)));
            html_response(e.status(), lang, form, vec![])
        }
    }
}

/// `POST /kotak/loket`: registers the complaint and opens its page.
pub async fn counter_submit(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    req: axum::extract::Request,
) -> Response {
    let (_, q, lang) = request_head(&req);
    // The CSRF token rides in the URL, checked before the body is streamed.
    if !s.csrf_ok(q.get("csrf").map(String::as_str)) {
        return forbidden(lang);
    }
    let form_token = q.get("form").cloned().unwrap_or_default();
    match crate::web::submission::submit_counter_form(&st, &s.officer, req, &form_token).await {
        Ok(c) => Redirect::to(&format!("/kotak/{}", c.register_no)).into_response(),
        Err(e) => html_response(
            e.status(),
            lang,
            counter_form(lang, &s, lapor_on(&st), Some(&e.for_form(lang))),
            vec![],
        ),
    }
}
