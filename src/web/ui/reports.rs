//! The recap (`/kotak/rekap`, CSV) and the dashboard (`/kotak/dasbor`).

use super::*;

fn period_of(st: &AppState, q: &HashMap<String, String>) -> Option<crate::recap::Period> {
    match q.get("periode").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(p) => crate::recap::Period::parse(p),
        None => {
            let today = crate::sla::local_date(chrono::Utc::now(), st.core.settings.offset);
            crate::recap::Period::month(
                chrono::Datelike::year(&today),
                chrono::Datelike::month(&today),
            )
        }
    }
}

/// `GET /kotak/rekap?periode=2026-11` (or a day, `2026-11-22`): the printable recap.
pub async fn recap_page(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    let Some(p) = period_of(&st, &q) else {
        return html_response(
            StatusCode::BAD_REQUEST,
            lang,
            page(
                lang,
                "400",
                Some(&s),
                html! {
                p.err { (lang.pick("Periode: YYYY-MM atau YYYY-MM-DD", "Period: YYYY-MM or YYYY-MM-DD")) } },
            ),
            vec![],
        );
    };
    let r = match crate::recap::compute(&st.core, p).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "recap");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let h = |v: Option<f64>| v.map(|h| format!("{h:.1}")).unwrap_or_else(|| "-".into());
    let body = html! {
        h1 { (lang.pick("Rekapitulasi pengaduan", "Complaint recap")) " " (p.label()) }
        p { (st.core.settings.office_name) }
        form method="get" action="/kotak/rekap" {
            input name="periode" value=(p.label()) placeholder="2026-11 / 2026-11-22";
            " " button type="submit" { (lang.pick("Tampilkan", "Show")) }
            " " a href=(format!("/kotak/rekap.csv?periode={}", p.label())) { "CSV" }
        }
        table #recap {
            tr { th { (lang.pick("Diterima", "Received")) } td #received { (r.received) } }
            tr { th { (lang.pick("Dijawab", "Answered")) } td #answered { (r.answered) } }
            tr { th { (lang.pick("Dijawab tepat waktu", "Answered in time")) } td #in_time { (r.answered_in_time) } }
            tr { th { (lang.pick("Dijawab terlambat", "Answered late")) } td #late { (r.answered_late) } }
            tr { th { (lang.pick("Terbuka melewati batas", "Open and overdue")) } td #overdue { (r.overdue_open) } }
            tr { th { (lang.pick("Median waktu jawab (jam)", "Median time to answer (h)")) } td #median { (h(r.median_hours)) } }
            tr { th { (lang.pick("P90 waktu jawab (jam)", "P90 time to answer (h)")) } td #p90 { (h(r.p90_hours)) } }
        }
        h2 { (lang.pick("Per kanal", "Per channel")) }
        (PreEscaped(crate::recap::svg(&r)))
        table { @for (k, v) in &r.by_channel { tr { th { (crate::web::words::channel_name(k, lang)) } td data-channel=(k) { (v) } } } }
        h2 { (lang.pick("Per status", "Per status")) }
        table { @for (k, v) in &r.by_status { tr { th { (crate::web::words::status_name(k, lang)) } td data-status=(k) { (v) } } } }
        h2 { (lang.pick("Per langkah: waktu terhadap baku mutu", "Per step: time against the standard")) }
        table #steps {
            tr { th { (lang.pick("Langkah", "Step")) } th { (lang.pick("Baku mutu", "Standard")) }
                 th { (lang.pick("Selesai", "Done")) } th { (lang.pick("Tepat", "Within")) }
                 th { (lang.pick("Lewat", "Over")) } th { (lang.pick("Berjalan (lewat)", "Running (over)")) }
                 th { (lang.pick("Median menit kerja", "Median working minutes")) } }
            @for x in &r.steps {
                tr data-step=(x.status.as_str()) {
                    td { (st.core.templates.status_text(lang, x.status)) }
                    td { (x.standard) } td { (x.stays) } td { (x.within) } td { (x.over) }
                    td { (x.running) " (" (x.running_over) ")" }
                    td { (x.median_minutes.map(|m| format!("{m:.0}")).unwrap_or_else(|| "-".into())) }
                }
            }
        }
        h2 { (lang.pick("Indeks kepuasan (SKM): penanganan pengaduan", "Satisfaction index (SKM): complaint handling")) }
        @if r.satisfaction.is_empty() {
            p { (lang.pick("Belum ada penilaian pada periode ini.", "No ratings in this period.")) }
        } @else {
            table #skm {
                tr { th { (lang.pick("Bulan", "Month")) } th { (lang.pick("Kanal", "Channel")) }
                     th { (lang.pick("Indeks", "Index")) } th { (lang.pick("Mutu", "Grade")) }
                     th { (lang.pick("Responden", "Respondents")) } }
                @for x in &r.satisfaction {
                    tr data-skm=(format!("{} {}", x.month, x.channel)) {
                        td { (x.month) }
                        td { @if x.channel == crate::recap::ALL_CHANNELS { (lang.pick("semua kanal", "all channels")) } @else { (crate::web::words::channel_name(&x.channel, lang)) } }
                        td { (format!("{:.2}", x.index)) } td { (x.grade) } td { (x.respondents) }
                    }
                }
            }
        }
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, &p.label(), Some(&s), body),
        vec![],
    )
}

/// `GET /kotak/rekap.csv?periode=…`.
pub async fn recap_csv(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(p) = period_of(&st, &q) else {
        return (StatusCode::BAD_REQUEST, "periode: YYYY-MM or YYYY-MM-DD").into_response();
    };
    match crate::recap::compute(&st.core, p).await {
        Ok(r) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"rekap-{}.csv\"", p.label()),
                ),
            ],
            crate::recap::csv(&p, &r),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "recap csv");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `GET /kotak/dasbor`: open complaints by channel and status, the overdue list, and each
/// channel's health (adapter state, last message received, oldest waiting reply, gauges).
pub async fn dashboard(
    State(st): State<AppState>,
    Extension(s): Extension<WebSession>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    let admin = s.officer.role == crate::workflow::Role::Admin;
    let now = now_ms();
    let Ok(mut d) = crate::register::reports::dashboard(&st.core.db, now).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    // Subjects of confidential complaints as this officer may read them.
    for r in d.overdue.iter_mut().filter(|r| r.confidential) {
        let c = crate::register::complaint_by_no(&st.core.db.pool, &r.register_no).await;
        let view = match c {
            Ok(Some(c)) => crate::workflow::identity_view(&st.core.db, &c, s.officer.role).await,
            Ok(None) => continue,
            Err(e) => Err(e),
        };
        match view {
            Ok(v) => r.subject = v.text(&r.subject).into_owned(),
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    let mut health = Vec::new();
    for (kind, ch) in st.core.channels.iter() {
        health.push((
            kind.as_str(),
            st.core.channels.health_of(*kind, ch).await,
            ch.gauges(),
        ));
    }
    let cal = crate::workflow::calendar::status(&st.core.calendar, st.core.clock.now());
    let unserved = match st.core.db.pool.acquire().await {
        Ok(mut conn) => crate::presence::waiting_unserved(&mut conn, &st.core)
            .await
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let body = html! {
        h1 { (lang.pick("Dasbor", "Dashboard")) }
        h2 { (lang.pick("Pengaduan terbuka", "Open complaints")) }
        table #open_counts {
            tr { th { (lang.pick("Kanal", "Channel")) } th { "Status" } th { (lang.pick("Jumlah", "Count")) } }
            @for r in &d.open {
                tr { td { (crate::web::words::channel_name(&r.channel, lang)) } td { (crate::web::words::status_name(&r.status, lang)) } td { (r.n) } }
            }
        }
        h2 { (lang.pick("Melewati batas waktu", "Overdue")) " (" (d.overdue.len()) ")" }
        table #overdue {
            @for r in &d.overdue {
                tr.overdue { td { a href=(format!("/kotak/{}", r.register_no)) { (r.register_no) } }
                     td { (crate::web::words::channel_name(&r.channel, lang)) } td { (r.subject) } td { (r.due_date) } }
            }
        }
        @if !unserved.is_empty() {
            h2 { (lang.pick("Balasan menunggu kanal yang tidak berjalan", "Replies waiting for a channel no daemon runs")) }
            ul #unserved {
                @for (k, n) in &unserved {
                    li.err data-channel=(k.as_str()) { (lang.pick("menunggu kanal", "waiting for channel")) " " (crate::web::words::channel(*k, lang)) ": " (n) }
                }
            }
        }
        h2 { (lang.pick("Kalender hari kerja", "Working calendar")) }
        div #calendar {
            p { (lang.pick("Daftar hari libur nasional dan cuti bersama terpasang untuk tahun", "National holidays and collective leave are loaded for"))
                " " (cal.covered.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")) "." }
            @if let Some(y) = cal.gap {
                p.err role="alert" { (lang.pick("Belum ada daftar hari libur untuk tahun", "No holiday list covers"))
                    " " (y) ": " (lang.pick(
                        "batas waktu yang jatuh di tahun itu hanya melewati akhir pekan. Pasang daftar libur dari SKB tahun itu, lalu hitung ulang batas waktu (aduan sla recompute).",
                        "due dates in that year skip weekends only. Load the list from that year's SKB, then recompute the due dates (aduan sla recompute).")) }
            }
            @if !cal.to_confirm.is_empty() {
                p { (lang.pick("Menunggu sidang isbat (ubah bila tanggalnya bergeser):", "Waiting for the isbat (change them if the date moves):")) }
                ul { @for (d, name) in &cal.to_confirm { li { (crate::web::words::date(*d, lang)) " — " (name) } } }
            }
        }
        h2 { (lang.pick("Kesehatan kanal", "Channel health")) }
        table #health {
            tr { th { (lang.pick("Kanal", "Channel")) } th { (lang.pick("Keadaan", "State")) } th { (lang.pick("Pesan masuk terakhir", "Last message in")) }
                 th { (lang.pick("Balasan menunggu (tertua)", "Replies waiting (oldest)")) }
                 @if admin { th { (lang.pick("Rincian teknis", "Technical details")) } } }
            @for (kind, h, gauges) in &health {
                @let t = d.traffic(kind);
                tr data-channel=(kind) {
                    td { (crate::web::words::channel_name(kind, lang)) }
                    td { @if h.ready { "✔ " (lang.pick("berjalan", "running")) } @else { span.err { "✘ " (lang.pick("bermasalah", "failing")) } } }
                    td { @if let Some(at) = t.last_in { (fmt_time(&st, at)) } @else { "-" } }
                    td { @if t.waiting > 0 {
                            (t.waiting) " (" (((now - t.oldest_waiting.unwrap_or(now)) / 60_000)) " " (lang.pick("menit", "min")) ")"
                         } @else { "0" } }
                    // The adapter's own words and gauges are for the administrator (English,
                    // technical); other officers see the state in words.
                    @if admin { td { code { (h.detail) } br;
                        @for g in gauges {
                            code { (g.name) @for (k, v) in &g.labels { " " (k) "=" (v) } ": " (g.value) } br;
                        } } }
                }
            }
        }
    };
    html_response(
        StatusCode::OK,
        lang,
        page(lang, lang.pick("Dasbor", "Dashboard"), Some(&s), body),
        vec![],
    )
}
