//! Who sees a confidential complaint's complainant (the policy); the redaction itself is the
//! register's [`crate::register::identity::IdentityView`], the one every renderer uses.

use super::Role;
use crate::db::Db;
use crate::register::identity::{self, IdentityView};
use crate::register::Complaint;

/// Roles that see who complained when the complaint is confidential (*rahasia*): the front
/// office that takes it in, the heads, and the admin. The technical team and the secretary
/// do not.
pub const IDENTITY_ROLES: &[Role] = &[
    Role::FrontOffice,
    Role::SectionHead,
    Role::DivisionHead,
    Role::HeadOfOffice,
    Role::Admin,
];

/// Whether `role` sees the complainants of confidential complaints (and may search by their
/// names).
pub fn role_sees_identity(role: Role) -> bool {
    IDENTITY_ROLES.contains(&role)
}

/// Whether `role` sees the complainant of `c`.
pub fn sees_identity(c: &Complaint, role: Role) -> bool {
    !c.confidential || role_sees_identity(role)
}

/// How an officer of `role` reads complaint `c`: everything, or with its complainant's name
/// and addresses hidden. Every page, API answer, file and notice about `c` is written
/// through it.
pub async fn view(db: &Db, c: &Complaint, role: Role) -> sqlx::Result<IdentityView> {
    identity::view(db, c, sees_identity(c, role)).await
}
