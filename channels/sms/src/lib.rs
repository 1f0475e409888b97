//! `aduan-sms`: the SMS channel. This crate holds the pure protocol parts, apart from IO:
//! the AT response/URC line parser ([`at`]), the GSM 7-bit alphabet ([`gsm7`]) and the SMS PDU
//! codec ([`pdu`]) of 3GPP TS 23.038 and
//! TS 23.040: SMS-DELIVER and SMS-STATUS-REPORT decoding, SMS-SUBMIT encoding with the cheapest
//! alphabet and automatic concatenation.

pub mod at;
pub mod channel;
pub mod engine;
pub mod gsm7;
pub mod pdu;
pub mod reassembly;

pub use channel::{Config, ModemConfig, SmsChannel};
#[cfg(any(test, feature = "simulator"))]
pub mod sim;
