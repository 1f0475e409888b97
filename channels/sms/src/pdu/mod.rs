//! SMS PDUs (3GPP TS 23.040 §9.2): decoding SMS-DELIVER and SMS-STATUS-REPORT as a modem lists
//! them in PDU mode, encoding SMS-SUBMIT. Pure functions over bytes; every malformed input is an
//! error value, never a panic.

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::gsm7;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("PDU is not hexadecimal")]
    BadHex,
    #[error("PDU ends inside {0}")]
    Truncated(&'static str),
    #[error("unsupported PDU: {0}")]
    Unsupported(String),
    #[error("invalid PDU: {0}")]
    Invalid(String),
    #[error("cannot encode: {0}")]
    Encode(String),
}

fn err_trunc<T>(what: &'static str) -> Result<T, PduError> {
    Err(PduError::Truncated(what))
}

/// Parses a hex string (as `AT+CMGL` prints it).
pub fn from_hex(s: &str) -> Result<Vec<u8>, PduError> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return Err(PduError::BadHex);
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(PduError::BadHex)
        })
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// A reader over the PDU octets that reports where data ran out.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self, what: &'static str) -> Result<u8, PduError> {
        let v = *self.b.get(self.pos).ok_or(PduError::Truncated(what))?;
        self.pos += 1;
        Ok(v)
    }
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PduError> {
        let end = self.pos.checked_add(n).ok_or(PduError::Truncated(what))?;
        let s = self.b.get(self.pos..end).ok_or(PduError::Truncated(what))?;
        self.pos = end;
        Ok(s)
    }
    fn rest(&self) -> &'a [u8] {
        &self.b[self.pos.min(self.b.len())..]
    }
}

/// The kind of a number, from its type-of-address octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// TON 1: an international number (E.164 without the `+`).
    International,
    /// TON 0/2: unknown or national.
    National,
    /// TON 5: alphanumeric (operator and company senders).
    Alphanumeric,
    /// Network-specific, subscriber, abbreviated (short codes) and reserved.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub kind: NumberKind,
    /// Digits (with a leading `+` for international numbers) or the alphanumeric name.
    pub value: String,
}

impl Address {
    /// Short codes and alphanumeric senders are not people who can be answered.
    pub fn is_service_sender(&self) -> bool {
        match self.kind {
            NumberKind::Alphanumeric | NumberKind::Other => true,
            NumberKind::International | NumberKind::National => {
                self.value.trim_start_matches('+').len() <= 6
            }
        }
    }
}

fn semi_octets(b: &[u8], digits: usize) -> String {
    let mut s = String::with_capacity(digits);
    for &o in b {
        for nib in [o & 0x0f, o >> 4] {
            if s.len() == digits {
                break;
            }
            s.push(match nib {
                0..=9 => (b'0' + nib) as char,
                0xa => '*',
                0xb => '#',
                0xc => 'a',
                0xd => 'b',
                0xe => 'c',
                _ => continue,
            });
        }
    }
    s
}

/// Reads an address field: length (semi-octets), type of address, value.
fn read_address(r: &mut Reader<'_>) -> Result<Address, PduError> {
    let len = r.u8("address length")? as usize;
    let toa = r.u8("type of address")?;
    let raw = r.take(len.div_ceil(2), "address")?;
    let ton = (toa >> 4) & 0x07;
    Ok(match ton {
        5 => {
            let septets = (len * 4) / 7;
            Address {
                kind: NumberKind::Alphanumeric,
                value: gsm7::decode(&gsm7::unpack(raw, 0, septets)),
            }
        }
        1 => Address {
            kind: NumberKind::International,
            value: format!("+{}", semi_octets(raw, len)),
        },
        0 | 2 => Address {
            kind: NumberKind::National,
            value: semi_octets(raw, len),
        },
        _ => Address {
            kind: NumberKind::Other,
            value: semi_octets(raw, len),
        },
    })
}

/// Reads the service centre address that precedes the TPDU in `AT+CMGL`/`+CMGR` output.
fn read_smsc(r: &mut Reader<'_>) -> Result<Option<String>, PduError> {
    let len = r.u8("service centre length")? as usize;
    if len == 0 {
        return Ok(None);
    }
    let toa = r.u8("service centre type")?;
    let raw = r.take(len - 1, "service centre address")?;
    let digits = semi_octets(raw, raw.len() * 2);
    Ok(Some(if (toa >> 4) & 0x07 == 1 {
        format!("+{digits}")
    } else {
        digits
    }))
}

fn bcd(o: u8) -> Option<u32> {
    let (lo, hi) = (o & 0x0f, o >> 4);
    (lo <= 9 && hi <= 9).then_some((lo * 10 + hi) as u32)
}

/// A service-centre time stamp (7 semi-octets, time zone in quarter hours). `None` when the
/// octets do not hold a valid time (some networks send garbage).
fn read_timestamp(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Option<DateTime<FixedOffset>>, PduError> {
    let b = r.take(7, what)?;
    let f = || -> Option<DateTime<FixedOffset>> {
        let (y, mo, d, h, mi, s) = (
            bcd(b[0])?,
            bcd(b[1])?,
            bcd(b[2])?,
            bcd(b[3])?,
            bcd(b[4])?,
            bcd(b[5])?,
        );
        let tz = b[6];
        let quarters = ((tz & 0x07) as i32) * 10 + (tz >> 4) as i32;
        let secs = quarters * 15 * 60 * if tz & 0x08 != 0 { -1 } else { 1 };
        let year = if y < 70 { 2000 + y } else { 1900 + y } as i32;
        let naive = NaiveDate::from_ymd_opt(year, mo, d)?.and_hms_opt(h, mi, s)?;
        let off = FixedOffset::east_opt(secs)?;
        naive.and_local_timezone(off).single()
    };
    Ok(f())
}

/// The alphabet of the user data, from the data coding scheme (TS 23.038 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Gsm7,
    Eight,
    Ucs2,
}

pub fn alphabet_of(dcs: u8) -> Alphabet {
    let bits = |v: u8| match (v >> 2) & 0x03 {
        1 => Alphabet::Eight,
        2 => Alphabet::Ucs2,
        _ => Alphabet::Gsm7,
    };
    match dcs >> 4 {
        0x0..=0x7 => bits(dcs),
        0xe => Alphabet::Ucs2,
        0xf if dcs & 0x04 != 0 => Alphabet::Eight,
        _ => Alphabet::Gsm7,
    }
}

/// One part of a concatenated message (UDH IEI 0x00 or 0x08).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
}

/// The user data of one PDU, kept in its own form so parts of a concatenated message are
/// joined before decoding (a UCS-2 surrogate pair or an escape may straddle two parts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserData {
    Septets(Vec<u8>),
    Octets(Vec<u8>),
    Ucs2(Vec<u8>),
}

impl UserData {
    pub fn text(&self) -> String {
        match self {
            UserData::Septets(s) => gsm7::decode(s),
            // 8-bit data is binary; shown as Latin-1 so nothing is lost.
            UserData::Octets(o) => o.iter().map(|&b| b as char).collect(),
            UserData::Ucs2(b) => {
                let units: Vec<u16> = b
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            }
        }
    }

    /// Joins the parts of a concatenated message, in order; `None` if their alphabets differ.
    pub fn join(parts: &[UserData]) -> Option<UserData> {
        let mut iter = parts.iter();
        let mut acc = iter.next()?.clone();
        for p in iter {
            match (&mut acc, p) {
                (UserData::Septets(a), UserData::Septets(b))
                | (UserData::Octets(a), UserData::Octets(b))
                | (UserData::Ucs2(a), UserData::Ucs2(b)) => a.extend_from_slice(b),
                _ => return None,
            }
        }
        Some(acc)
    }
}

/// An SMS-DELIVER: a message to us.
#[derive(Debug, Clone, PartialEq)]
pub struct Deliver {
    pub smsc: Option<String>,
    pub sender: Address,
    pub pid: u8,
    pub dcs: u8,
    pub timestamp: Option<DateTime<FixedOffset>>,
    pub concat: Option<Concat>,
    /// Application port addressing (UDH IEI 0x04/0x05): the destination port, e.g. 2948 for
    /// WAP push (MMS notifications).
    pub port: Option<u16>,
    pub user_data: UserData,
}

impl Deliver {
    pub fn text(&self) -> String {
        self.user_data.text()
    }

    /// A message for a machine, not a person: 8-bit data, a message to an application port
    /// (WAP push, MMS notification, OTA settings), a silent "type 0" SMS, or SIM/ME data
    /// download (TS 23.040 §9.2.3.9). Registered as automatic, never answered.
    pub fn is_machine_message(&self) -> bool {
        self.port.is_some()
            || alphabet_of(self.dcs) == Alphabet::Eight
            || self.pid == 0x40
            || (0x7c..=0x7f).contains(&self.pid)
    }

    /// What an officer reads for a machine message.
    pub fn machine_summary(&self) -> String {
        let kind = match self.port {
            Some(2948) | Some(2949) => "WAP push (MMS notification or settings)".to_string(),
            Some(p) => format!("data for application port {p}"),
            None if self.pid == 0x40 => "silent SMS (type 0)".to_string(),
            None if (0x7c..=0x7f).contains(&self.pid) => "SIM/phone data download".to_string(),
            None => "binary data".to_string(),
        };
        let bytes = match &self.user_data {
            UserData::Septets(s) => s.len(),
            UserData::Ucs2(b) | UserData::Octets(b) => b.len(),
        };
        format!("[binary SMS: {kind}, {bytes} bytes; raw PDU kept]")
    }
}

/// An SMS-STATUS-REPORT: what became of a message we sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub smsc: Option<String>,
    /// TP-MR of the SMS-SUBMIT it reports on (what `+CMGS:` answered).
    pub reference: u8,
    pub recipient: Address,
    pub timestamp: Option<DateTime<FixedOffset>>,
    pub discharge: Option<DateTime<FixedOffset>>,
    pub status: u8,
}

/// TP-ST in three kinds (TS 23.040 §9.2.3.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    Delivered,
    /// The service centre is still trying.
    Pending,
    Failed,
}

impl StatusReport {
    pub fn outcome(&self) -> ReportOutcome {
        match self.status {
            0x00..=0x1f => ReportOutcome::Delivered,
            0x20..=0x3f => ReportOutcome::Pending,
            _ => ReportOutcome::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pdu {
    Deliver(Deliver),
    StatusReport(StatusReport),
}

/// Decodes a PDU as a modem gives it. `with_smsc`: the PDU starts with the service centre
/// address (`AT+CMGL`, `+CMGR`, `+CMT`, and `+CDS` on most modems).
pub fn decode(bytes: &[u8], with_smsc: bool) -> Result<Pdu, PduError> {
    let mut r = Reader { b: bytes, pos: 0 };
    let smsc = if with_smsc { read_smsc(&mut r)? } else { None };
    let first = r.u8("first octet")?;
    match first & 0x03 {
        0 => decode_deliver(&mut r, smsc, first).map(Pdu::Deliver),
        2 => {
            let reference = r.u8("message reference")?;
            let recipient = read_address(&mut r)?;
            let timestamp = read_timestamp(&mut r, "service centre time stamp")?;
            let discharge = read_timestamp(&mut r, "discharge time")?;
            let status = r.u8("status")?;
            Ok(Pdu::StatusReport(StatusReport {
                smsc,
                reference,
                recipient,
                timestamp,
                discharge,
                status,
            }))
        }
        1 => Err(PduError::Unsupported(
            "SMS-SUBMIT (one of our own outgoing messages)".into(),
        )),
        _ => Err(PduError::Unsupported(format!(
            "message type indicator 3 (first octet {first:02X})"
        ))),
    }
}

/// Decodes a hex PDU; see [`decode`].
pub fn decode_hex(hex: &str, with_smsc: bool) -> Result<Pdu, PduError> {
    decode(&from_hex(hex)?, with_smsc)
}

fn decode_deliver(
    r: &mut Reader<'_>,
    smsc: Option<String>,
    first: u8,
) -> Result<Deliver, PduError> {
    let sender = read_address(r)?;
    let pid = r.u8("protocol identifier")?;
    let dcs = r.u8("data coding scheme")?;
    let timestamp = read_timestamp(r, "service centre time stamp")?;
    let udl = r.u8("user data length")? as usize;
    let ud = r.rest();
    let udhi = first & 0x40 != 0;
    let alphabet = alphabet_of(dcs);
    let (concat, port, header_octets) = if udhi {
        let udhl = *ud.first().ok_or(PduError::Truncated("user data header"))? as usize;
        let header = ud
            .get(1..1 + udhl)
            .ok_or(PduError::Truncated("user data header"))?;
        (parse_udh(header), udh_port(header), 1 + udhl)
    } else {
        (None, None, 0)
    };
    let user_data = match alphabet {
        Alphabet::Gsm7 => {
            let header_septets = (header_octets * 8).div_ceil(7);
            if header_septets > udl {
                return Err(PduError::Invalid(format!(
                    "user data header ({header_octets} octets) longer than the user data ({udl} septets)"
                )));
            }
            let fill = (header_septets * 7 - header_octets * 8) as u8;
            let count = udl.saturating_sub(header_septets);
            let needed = (udl * 7).div_ceil(8);
            if ud.len() < needed {
                return err_trunc("user data");
            }
            UserData::Septets(gsm7::unpack(
                &ud[header_octets.min(ud.len())..],
                fill,
                count,
            ))
        }
        Alphabet::Eight | Alphabet::Ucs2 => {
            if header_octets > udl {
                return Err(PduError::Invalid(format!(
                    "user data header ({header_octets} octets) longer than the user data ({udl} octets)"
                )));
            }
            let body = ud
                .get(header_octets..udl)
                .ok_or(PduError::Truncated("user data"))?;
            if alphabet == Alphabet::Ucs2 {
                UserData::Ucs2(body.to_vec())
            } else {
                UserData::Octets(body.to_vec())
            }
        }
    };
    Ok(Deliver {
        smsc,
        sender,
        pid,
        dcs,
        timestamp,
        concat,
        port,
        user_data,
    })
}

/// Finds the concatenation element in a user data header.
/// The destination port of application port addressing (IEI 0x04: 8-bit, 0x05: 16-bit).
fn udh_port(mut h: &[u8]) -> Option<u16> {
    while h.len() >= 2 {
        let (iei, len) = (h[0], h[1] as usize);
        let data = h.get(2..2 + len)?;
        match (iei, len) {
            (0x04, 2) => return Some(data[0] as u16),
            (0x05, 4) => return Some(u16::from_be_bytes([data[0], data[1]])),
            _ => {}
        }
        h = &h[2 + len..];
    }
    None
}

fn parse_udh(mut h: &[u8]) -> Option<Concat> {
    while h.len() >= 2 {
        let (iei, len) = (h[0], h[1] as usize);
        let data = h.get(2..2 + len)?;
        match (iei, len) {
            (0x00, 3) if data[1] > 0 => {
                return Some(Concat {
                    reference: data[0] as u16,
                    total: data[1],
                    seq: data[2],
                });
            }
            (0x08, 4) if data[2] > 0 => {
                return Some(Concat {
                    reference: u16::from_be_bytes([data[0], data[1]]),
                    total: data[2],
                    seq: data[3],
                });
            }
            _ => {}
        }
        h = &h[2 + len..];
    }
    None
}

mod submit;
pub use submit::*;

#[cfg(test)]
mod tests;
