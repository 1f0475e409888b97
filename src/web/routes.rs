//! Every route and who may call it: the table the router is checked against and the
//! `authorize` middleware reads.

use crate::workflow::Role;

/// Who may call a route: everyone, or officers of these roles.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    Public,
    /// The JSON API: `Authorization: Bearer <token>` of an officer with one of these roles.
    Officers(&'static [Role]),
    /// The web pages: a session cookie of an officer with one of these roles; without one the
    /// browser is sent to the login page.
    Session(&'static [Role]),
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const ALL_ROLES: &[Role] = &Role::ALL;
pub(crate) const OUTBOX_ROLES: &[Role] = &[Role::FrontOffice, Role::SectionHead, Role::Admin];
const COUNTER_ROLES: &[Role] = &[Role::FrontOffice, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];

/// Every route and who may call it. Role checks of individual workflow actions happen again in
/// `workflow::apply`, which knows which role may take which action.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/healthz",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/readyz",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/metrics",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/complaints",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/track/{register_no}",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/lacak/{register_no}",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/me",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/complaints",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/complaints/{register_no}",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/complaints/{register_no}/actions",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/complaints/{register_no}/replies",
        access: Access::Officers(crate::workflow::REPLY_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/complaints/{register_no}/handover",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/complaints/{register_no}/letters/{kind}",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/lacak/{register_no}/surat",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/documents/{id}",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/units",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/dokumen/{id}",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/{register_no}/bap",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/lacak/{register_no}/nilai",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/lacak/{register_no}/nilai",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/{register_no}/surat/{kind}",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/{register_no}/serah",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/attachments/{id}",
        access: Access::Officers(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/counter",
        access: Access::Officers(COUNTER_ROLES),
    },
    // The public complaint form (the web channel) as a page.
    RouteSpec {
        method: "GET",
        path: "/aduan",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/aduan",
        access: Access::Public,
    },
    // The officers' web pages.
    RouteSpec {
        method: "GET",
        path: "/masuk",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/masuk",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/keluar",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/akun/sandi",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/dasbor",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/rekap",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/rekap.csv",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/loket",
        access: Access::Session(COUNTER_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/loket",
        access: Access::Session(COUNTER_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/loket/lapor",
        access: Access::Session(COUNTER_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/massal",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/berikutnya",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/template-balasan",
        access: Access::Session(ADMIN),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/template-balasan",
        access: Access::Session(ADMIN),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/{register_no}/ambil",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/{register_no}/tugaskan",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/{register_no}/catatan",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/akun/pemberitahuan",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/akun/pemberitahuan/kode",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/{register_no}",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/{register_no}/aksi",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/{register_no}/balas",
        access: Access::Session(ALL_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/keluar/{id}/ulang",
        access: Access::Session(OUTBOX_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/keluar/{id}/alihkan",
        access: Access::Session(OUTBOX_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/kotak/keluar/{id}/batal",
        access: Access::Session(OUTBOX_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/kotak/lampiran/{id}",
        access: Access::Session(ALL_ROLES),
    },
    // Provider webhooks: public, authenticated by the channel (a shared secret, a signature),
    // and verification handshakes.
    RouteSpec {
        method: "POST",
        path: "/hooks/{channel}",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/hooks/{channel}",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/lapor",
        access: Access::Officers(COUNTER_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/outbox",
        access: Access::Officers(OUTBOX_ROLES),
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/outbox/{id}/retry",
        access: Access::Officers(OUTBOX_ROLES),
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/officers",
        access: Access::Officers(ADMIN),
    },
];

/// Officer routes that answer with a file, an export or a redirect rather than a page.
pub(crate) const FILE_ROUTES: &[&str] = &[
    "/kotak/lampiran/{id}",
    "/kotak/dokumen/{id}",
    "/kotak/{register_no}/surat/{kind}",
    "/kotak/rekap.csv",
    "/kotak/berikutnya",
];
