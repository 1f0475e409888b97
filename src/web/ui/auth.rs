//! Login, logout and the password change.

use super::*;

fn login_form(lang: Lang, csrf: &str, error: Option<&str>) -> Markup {
    page(
        lang,
        lang.pick("Masuk", "Log in"),
        None,
        html! {
            h1 { (lang.pick("Masuk petugas", "Officer login")) }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            form method="post" action="/masuk" {
                input type="hidden" name="csrf" value=(csrf);
                p { label { (lang.pick("Nama pengguna", "User name")) br; input name="username" autocomplete="username" required; } }
                p { label { (lang.pick("Kata sandi", "Password")) br; input type="password" name="password" autocomplete="current-password" required; } }
                button type="submit" { (lang.pick("Masuk", "Log in")) }
            }
        },
    )
}

/// `GET /masuk`.
pub async fn login_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&headers, &q);
    if let Ok(Some(_)) = session::from_headers(&st.core, &headers).await {
        return Redirect::to("/kotak").into_response();
    }
    let key = match st.login_key().await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "login key");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let csrf = session::login_token(&key, now_ms());
    let cookie = session::set_cookie(
        &st.core,
        session::login_cookie_name(&st.core),
        &csrf,
        Some(session::LOGIN_FORM_LIFETIME),
    );
    html_response(
        StatusCode::OK,
        lang,
        login_form(lang, &csrf, None),
        vec![cookie],
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /masuk`: the form's token must match its cookie (login CSRF); failures are throttled.
pub async fn login_submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
    req: axum::extract::Request,
) -> Response {
    let headers = req.headers().clone();
    let lang = page_lang(&headers, &q);
    // Before the body is read: the post comes from our own page as the browser says, and
    // its cookie (`__Host-` behind HTTPS, so no sibling host can plant one) holds a token this
    // register signed and that has not expired — a pair made up by someone else is refused.
    if !session::same_origin_post(&headers, &st.core.settings.public_url) {
        return forbidden(lang);
    }
    let expected =
        session::cookie(&headers, session::login_cookie_name(&st.core)).unwrap_or_default();
    let key = match st.login_key().await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "login key");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if !session::login_token_valid(&key, &expected, now_ms()) {
        return forbidden(lang);
    }
    if crate::web::declares_more_than(&headers, crate::web::LOGIN_BODY_LIMIT) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let Ok(Form(f)) = Form::<LoginForm>::from_request(req, &st).await else {
        return forbidden(lang);
    };
    if !crate::register::ct_eq(&expected, &f.csrf) {
        return forbidden(lang);
    }
    let client = crate::web::client_ip(&st, peer, &headers).to_string();
    match session::login(
        &st.core,
        &st.login_slots,
        f.username.trim(),
        &f.password,
        &client,
    )
    .await
    {
        Ok((sid, _csrf)) => {
            let mut r = Redirect::to("/kotak").into_response();
            let c = session::set_cookie(&st.core, session::COOKIE, &sid, Some(session::LIFETIME));
            r.headers_mut()
                .append(header::SET_COOKIE, c.parse().unwrap());
            r
        }
        Err(e) => {
            let (code, msg) = match e {
                session::LoginError::Wrong => (
                    StatusCode::UNAUTHORIZED,
                    lang.pick(
                        "Nama pengguna atau kata sandi salah.",
                        "Wrong user name or password.",
                    ),
                ),
                session::LoginError::Throttled => (
                    StatusCode::TOO_MANY_REQUESTS,
                    lang.pick(
                        "Terlalu banyak percobaan gagal. Coba lagi 15 menit lagi.",
                        "Too many failed attempts. Try again in 15 minutes.",
                    ),
                ),
                session::LoginError::Busy => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang.pick(
                        "Terlalu banyak percobaan masuk bersamaan. Coba lagi sebentar lagi.",
                        "Too many logins at once. Try again shortly.",
                    ),
                ),
                session::LoginError::Db(e) => {
                    tracing::error!(error = %e, "login");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        lang.pick(
                            "Register tidak dapat dihubungi.",
                            "The register is unavailable.",
                        ),
                    )
                }
            };
            html_response(code, lang, login_form(lang, &expected, Some(msg)), vec![])
        }
    }
}

/// `POST /keluar`.
pub async fn logout(
    State(st): State<AppState>,
    CsrfForm {
        session: s,
        lang: _,
        form: NoFields {},
    }: CsrfForm<NoFields>,
) -> Response {
    if let Err(e) = session::logout(&st.core, &s).await {
        tracing::error!(error = %e, "logout");
    }
    let mut r = Redirect::to("/masuk").into_response();
    let c = session::set_cookie(&st.core, session::COOKIE, "", None);
    r.headers_mut()
        .append(header::SET_COOKIE, c.parse().unwrap());
    r
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

/// `POST /akun/sandi`: needs the current password; other sessions end.
pub async fn change_password(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<PasswordForm>,
) -> Response {
    let client = crate::web::client_ip(&st, peer, &headers).to_string();
    let msg = match session::login(
        &st.core,
        &st.login_slots,
        &s.officer.username,
        &f.current,
        &client,
    )
    .await
    {
        Err(_) => Err(lang.pick(
            "Kata sandi sekarang salah.",
            "The current password is wrong.",
        )),
        Ok((sid, _)) => {
            // The check made a session of its own: drop it again.
            let _ = crate::register::sessions::end_session(
                &st.core.db,
                &crate::register::sha256_hex(sid.as_bytes()),
            )
            .await;
            match session::set_password(&st.core.db, &s.officer.username, &f.new).await {
                Ok(()) => Ok(()),
                Err(_) => Err(lang.pick(
                    "Kata sandi baru minimal 10 karakter.",
                    "The new password needs at least 10 characters.",
                )),
            }
        }
    };
    match msg {
        Ok(()) => Redirect::to("/masuk").into_response(),
        Err(m) => html_response(
            StatusCode::BAD_REQUEST,
            lang,
            page(
                lang,
                "aduan",
                Some(&s),
                html! { p.err role="alert" { (m) } a href="/kotak" { "←" } },
            ),
            vec![],
        ),
    }
}
