//! aduan: a complaint (pengaduan) gateway for Indonesian public service offices.
//! See ARCHITECTURE.md for the codemap and the invariants.

pub use register::backup;
#[cfg(feature = "bench-tools")]
pub mod bench;
pub mod channels;
pub mod cli;
pub mod config;
pub mod daemon;
pub use aduan_register::db;
pub mod intake;
pub mod letter;
pub mod metrics;
pub use register::officers;
pub mod outbox;
pub use register::presence;
pub mod recap;
pub mod register;
pub mod sla;
pub mod state;
pub mod systemd;
pub mod telemetry;
pub mod templates;
pub mod web;
pub mod workflow;
