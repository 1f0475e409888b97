//! The one integration-test binary: the whole daemon against real SQLite and PostgreSQL.

mod api;
mod cli;
mod crash;
mod helpers;
mod intake;
mod outbox;
mod sms;
mod testchannel;
