//! The officer's own account settings beside the inbox: notification addresses, confirmed
//! with a code sent to each new one before any notice goes there.

use super::*;

#[derive(Deserialize)]
pub struct NotifyForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    telegram: String,
}

/// A page saying what went wrong with the notification settings, with the way back.
fn notify_refused(lang: Lang, s: &WebSession, code: StatusCode, text: &str) -> Response {
    html_response(
        code,
        lang,
        page(
            lang,
            &code.as_u16().to_string(),
            Some(s),
            html! {
                p.err role="alert" { (text) }
                p { a href="/kotak#akun" { (lang.pick("Kembali", "Back")) } }
            },
        ),
        vec![],
    )
}

/// `POST /akun/pemberitahuan`: the officer's own notification addresses (empty: off). A new
/// address gets a code and waits for it; the page then asks for the code.
pub async fn notify_prefs(
    State(st): State<AppState>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<NotifyForm>,
) -> Response {
    let email = f.email.trim();
    let telegram = f.telegram.trim();
    let email_ok = email.is_empty() || aduan_channel::normalize_email(email).is_some();
    let telegram_ok = telegram.is_empty() || telegram.parse::<i64>().is_ok();
    if !email_ok || !telegram_ok {
        return notify_refused(
            lang,
            &s,
            StatusCode::BAD_REQUEST,
            lang.pick(
                "Alamat email atau nomor obrolan Telegram tidak sah (nomor obrolan: angka, dari bot setelah Anda menekan Mulai).",
                "The email address or the Telegram chat number is not valid (the chat number: digits, from the bot after you press Start).",
            ),
        );
    }
    let email = aduan_channel::normalize_email(email);
    let done = crate::workflow::notices::request_addresses(
        &st.core,
        &s.officer,
        email.as_deref(),
        (!telegram.is_empty()).then_some(telegram),
    )
    .await;
    use crate::workflow::notices::AddressError;
    match done {
        Ok(true) => Redirect::to("/kotak?pesan=kode#akun").into_response(),
        Ok(false) => Redirect::to("/kotak?pesan=pemberitahuan#akun").into_response(),
        Err(AddressError::ChannelNotHere(k)) => notify_refused(
            lang,
            &s,
            StatusCode::CONFLICT,
            &format!(
                "{} {} {}",
                lang.pick("Kanal", "The"),
                crate::web::words::channel(k, lang),
                lang.pick(
                    "tidak berjalan di server ini, jadi kode konfirmasi tidak dapat dikirim. Alamat baru belum disimpan.",
                    "channel does not run on this server, so no confirmation code can be sent. The new address was not saved.",
                ),
            ),
        ),
        Err(AddressError::NotSent(e)) => {
            tracing::warn!(error = %e, "confirmation code not sent");
            notify_refused(
                lang,
                &s,
                StatusCode::BAD_GATEWAY,
                lang.pick(
                    "Kode konfirmasi tidak dapat dikirim ke alamat itu. Periksa alamatnya lalu coba lagi; alamat baru belum disimpan.",
                    "The confirmation code could not be sent to that address. Check it and try again; the new address was not saved.",
                ),
            )
        }
        Err(AddressError::Db(e)) => {
            tracing::error!(error = %e, "notification settings");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /akun/pemberitahuan/kode`: the code the new address received.
pub async fn notify_confirm(
    State(st): State<AppState>,
    CsrfForm {
        session: s,
        lang,
        form: f,
    }: CsrfForm<CodeForm>,
) -> Response {
    use crate::register::notices::Confirmation;
    match crate::workflow::notices::confirm_addresses(&st.core, &s.officer, &f.code).await {
        Ok(Confirmation::Confirmed) => {
            Redirect::to("/kotak?pesan=pemberitahuan#akun").into_response()
        }
        Ok(Confirmation::Wrong) => notify_refused(
            lang,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.pick(
                "Kode konfirmasi salah. Periksa pesan yang Anda terima lalu coba lagi.",
                "Wrong confirmation code. Check the message you received and try again.",
            ),
        ),
        Ok(Confirmation::Expired | Confirmation::NothingWaiting) => notify_refused(
            lang,
            &s,
            StatusCode::GONE,
            lang.pick(
                "Kode konfirmasi sudah tidak berlaku. Simpan alamatnya lagi untuk menerima kode baru.",
                "The confirmation code is no longer valid. Save the address again to get a new code.",
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "notification code");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
