//! The one integration-test binary: the whole daemon against real SQLite and PostgreSQL.

mod adversary;
mod api;
mod browser;
mod browser_desk;
mod cli;
mod crash;
mod edge;
mod email;
mod fakebot;
mod fakegraph;
mod fakelapor;
mod helpers;
mod intake;
mod lapor;
mod letters;
mod mailservers;
mod outbox;
mod procedure;
mod sms;
mod telegram;
mod testchannel;
mod ui;
mod upgrade;
mod verdict;
mod whatsapp;
mod workspace;
