//! SMS-SUBMIT: encoding an outgoing message (one PDU or a concatenated series, GSM 7-bit or
//! UCS-2), and decoding one back (the simulator's side and the tests').

use super::*;

/// How an outgoing message is sent.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// Ask the network for a status report (TP-SRR).
    pub status_report: bool,
    /// Relative validity period octet (TS 23.040 §9.2.3.12.1): 0xA7 = 24 hours.
    pub validity: Option<u8>,
    /// Concatenation reference for multipart messages (8-bit).
    pub reference: u8,
}

impl Default for SubmitOptions {
    fn default() -> Self {
        SubmitOptions {
            status_report: true,
            validity: Some(0xA7),
            reference: 0,
        }
    }
}

/// One SMS-SUBMIT ready for `AT+CMGS=<tpdu_len>`, with a zero-length SMSC prefix (the modem
/// uses the SIM's service centre).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitPdu {
    pub hex: String,
    pub tpdu_len: usize,
}

/// Characters per message part: (single, each part of a multipart message).
pub fn limits(alphabet: Alphabet) -> (usize, usize) {
    match alphabet {
        Alphabet::Gsm7 => (160, 153),
        Alphabet::Ucs2 => (70, 67),
        Alphabet::Eight => (140, 134),
    }
}

pub(crate) fn encode_address(number: &str) -> Result<Vec<u8>, PduError> {
    let international = number.starts_with('+');
    let digits: Vec<u8> = number
        .trim_start_matches('+')
        .bytes()
        .map(|b| {
            if b.is_ascii_digit() {
                Ok(b - b'0')
            } else {
                Err(PduError::Encode(format!(
                    "`{number}` is not a phone number"
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    if digits.is_empty() || digits.len() > 20 {
        return Err(PduError::Encode(format!(
            "`{number}` is not a phone number"
        )));
    }
    let mut out = vec![digits.len() as u8, if international { 0x91 } else { 0x81 }];
    for pair in digits.chunks(2) {
        out.push(pair[0] | (pair.get(1).copied().unwrap_or(0x0f) << 4));
    }
    Ok(out)
}

/// Encodes a text as one or more SMS-SUBMIT PDUs: GSM 7-bit when the text fits it, else UCS-2;
/// concatenated (UDH IEI 0x00) when longer than one message. An escape pair or a surrogate pair
/// is never split across parts.
pub fn encode_submit(
    to: &str,
    text: &str,
    opts: &SubmitOptions,
) -> Result<Vec<SubmitPdu>, PduError> {
    let address = encode_address(to)?;
    let (alphabet, parts): (Alphabet, Vec<Vec<u8>>) = match gsm7::encode(text) {
        Some(septets) => (
            Alphabet::Gsm7,
            split_units(&septets, limits(Alphabet::Gsm7), |s, i| {
                i > 0 && s[i - 1] == gsm7::ESC && !escaped_escape(s, i - 1)
            }),
        ),
        None => {
            let units: Vec<u16> = text.encode_utf16().collect();
            let parts = split_units(&units, limits(Alphabet::Ucs2), |u, i| {
                (0xDC00..=0xDFFF).contains(&u[i])
            });
            (
                Alphabet::Ucs2,
                parts
                    .into_iter()
                    .map(|p| p.iter().flat_map(|u| u.to_be_bytes()).collect())
                    .collect(),
            )
        }
    };
    if parts.len() > 255 {
        return Err(PduError::Encode("text is longer than 255 parts".into()));
    }
    let total = parts.len();
    let mut out = Vec::with_capacity(total);
    for (i, payload) in parts.iter().enumerate() {
        let multipart = total > 1;
        let mut first = 0x01u8;
        if opts.validity.is_some() {
            first |= 0x10;
        }
        if opts.status_report {
            first |= 0x20;
        }
        if multipart {
            first |= 0x40;
        }
        let mut t = vec![first, 0x00];
        t.extend_from_slice(&address);
        t.push(0x00); // PID
        t.push(if alphabet == Alphabet::Ucs2 {
            0x08
        } else {
            0x00
        });
        if let Some(vp) = opts.validity {
            t.push(vp);
        }
        let udh: Vec<u8> = if multipart {
            vec![0x05, 0x00, 0x03, opts.reference, total as u8, (i + 1) as u8]
        } else {
            Vec::new()
        };
        match alphabet {
            Alphabet::Gsm7 => {
                let header_septets = (udh.len() * 8).div_ceil(7);
                let fill = (header_septets * 7 - udh.len() * 8) as u8;
                t.push((header_septets + payload.len()) as u8);
                t.extend_from_slice(&udh);
                t.extend_from_slice(&gsm7::pack(payload, fill));
            }
            _ => {
                t.push((udh.len() + payload.len()) as u8);
                t.extend_from_slice(&udh);
                t.extend_from_slice(payload);
            }
        }
        out.push(SubmitPdu {
            hex: format!("00{}", to_hex(&t)),
            tpdu_len: t.len(),
        });
    }
    Ok(out)
}

/// An SMS-SUBMIT read back (what a modem was asked to send): for simulators and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Submit {
    pub to: Address,
    pub status_report: bool,
    pub concat: Option<Concat>,
    pub user_data: UserData,
}

/// Decodes an SMS-SUBMIT as produced by [`encode_submit`] (with its SMSC prefix).
pub fn decode_submit(bytes: &[u8]) -> Result<Submit, PduError> {
    let mut r = Reader { b: bytes, pos: 0 };
    read_smsc(&mut r)?;
    let first = r.u8("first octet")?;
    if first & 0x03 != 1 {
        return Err(PduError::Unsupported(format!(
            "not an SMS-SUBMIT (first octet {first:02X})"
        )));
    }
    r.u8("message reference")?;
    let to = read_address(&mut r)?;
    r.u8("protocol identifier")?;
    let dcs = r.u8("data coding scheme")?;
    match (first >> 3) & 0x03 {
        0 => {}
        2 => {
            r.u8("validity period")?;
        }
        _ => {
            r.take(7, "validity period")?;
        }
    }
    // The rest has the layout of a DELIVER's user data.
    let udl = r.u8("user data length")?;
    let mut d = vec![
        0x00,
        first & 0x40,
        0x01,
        0x81,
        0x00,
        0x00,
        dcs,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        udl,
    ];
    d.extend_from_slice(r.rest());
    let Pdu::Deliver(dl) = decode(&d, true)? else {
        unreachable!("built as DELIVER")
    };
    Ok(Submit {
        to,
        status_report: first & 0x20 != 0,
        concat: dl.concat,
        user_data: dl.user_data,
    })
}

/// Whether the ESC at `i` is itself the second half of an escape pair (ESC ESC).
fn escaped_escape(s: &[u8], i: usize) -> bool {
    let mut n = 0;
    let mut j = i;
    while j > 0 && s[j - 1] == gsm7::ESC {
        n += 1;
        j -= 1;
    }
    n % 2 == 1
}

/// Splits units into one part of at most `single`, or parts of at most `multi`, moving a cut
/// back while `bad_cut(units, at)` says it would split a pair.
fn split_units<T: Clone>(
    units: &[T],

    (single, multi): (usize, usize),
    bad_cut: impl Fn(&[T], usize) -> bool,
) -> Vec<Vec<T>> {
    if units.len() <= single {
        return vec![units.to_vec()];
    }
    let mut parts = Vec::new();
    let mut start = 0;
    while start < units.len() {
        let mut end = (start + multi).min(units.len());
        if end < units.len() && bad_cut(units, end) {
            end -= 1;
        }
        parts.push(units[start..end].to_vec());
        start = end;
    }
    parts
}
