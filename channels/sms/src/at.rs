//! The AT response/URC line parser (3GPP TS 27.007 / 27.005), apart from IO: each line a modem
//! prints becomes a [`Line`]. Final results end a command; unsolicited result codes (URCs) may
//! arrive between any two lines; everything else is an information line of the running command.

/// One line from the modem, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A final result: the running command is over.
    Final(Final),
    /// The `> ` prompt of `AT+CMGS`: send the PDU now.
    Prompt,
    /// Unsolicited: arrives whether or not a command runs.
    Urc(Urc),
    /// Part of the running command's answer (`+CMGL: …`, a PDU line, `+CSQ: …`).
    Info(String),
    /// An empty line (modems frame responses with them).
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    Ok,
    Error,
    /// `+CME ERROR: <n>` (equipment); the text form some modems use keeps `n` as `None`.
    CmeError(Option<u16>, String),
    /// `+CMS ERROR: <n>` (message service).
    CmsError(Option<u16>, String),
    NoCarrier,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// `+CMTI: "SM",3`: a new message is stored at index 3.
    NewMessage {
        storage: String,
        index: u32,
    },
    /// `+CDSI: "SR",2`: a status report is stored.
    NewReport {
        storage: String,
        index: u32,
    },
    /// `+CDS: <length>`: a status report follows on the next line as a PDU.
    ReportFollows {
        length: u32,
    },
    /// `+CMT: …`: a message follows on the next line as a PDU (routed, not stored).
    MessageFollows,
    Ring,
    /// Vendor noise (`^RSSI:`, `^BOOT:`, `^MODE:`, `+CREG: 1` unsolicited, `RDY`, …).
    Other(String),
}

/// Classifies one line (without its CR LF).
pub fn parse_line(raw: &str) -> Line {
    let line = raw.trim_matches(|c: char| c == '\r' || c == '\n' || c == '\0');
    let t = line.trim();
    if t.is_empty() {
        return Line::Empty;
    }
    if t == ">" || line.starts_with("> ") || line == "> " {
        return Line::Prompt;
    }
    match t {
        "OK" => return Line::Final(Final::Ok),
        "ERROR" => return Line::Final(Final::Error),
        "NO CARRIER" => return Line::Final(Final::NoCarrier),
        "RING" => return Line::Urc(Urc::Ring),
        _ => {}
    }
    if let Some(rest) = t.strip_prefix("+CME ERROR:") {
        let rest = rest.trim();
        return Line::Final(Final::CmeError(rest.parse().ok(), rest.to_string()));
    }
    if let Some(rest) = t.strip_prefix("+CMS ERROR:") {
        let rest = rest.trim();
        return Line::Final(Final::CmsError(rest.parse().ok(), rest.to_string()));
    }
    if let Some(rest) = t.strip_prefix("+CMTI:") {
        if let Some((storage, index)) = storage_index(rest) {
            return Line::Urc(Urc::NewMessage { storage, index });
        }
    }
    if let Some(rest) = t.strip_prefix("+CDSI:") {
        if let Some((storage, index)) = storage_index(rest) {
            return Line::Urc(Urc::NewReport { storage, index });
        }
    }
    if let Some(rest) = t.strip_prefix("+CDS:") {
        if let Ok(length) = rest.trim().parse() {
            return Line::Urc(Urc::ReportFollows { length });
        }
    }
    if t.starts_with("+CMT:") {
        return Line::Urc(Urc::MessageFollows);
    }
    if t.starts_with('^') || matches!(t, "RDY" | "SMS Ready" | "Call Ready") {
        return Line::Urc(Urc::Other(t.to_string()));
    }
    Line::Info(t.to_string())
}

/// `"SM",3` → ("SM", 3).
fn storage_index(rest: &str) -> Option<(String, u32)> {
    let (mem, idx) = rest.trim().rsplit_once(',')?;
    Some((
        mem.trim().trim_matches('"').to_string(),
        idx.trim().parse().ok()?,
    ))
}

/// Splits the fields of an information line after its `+XXX:` prefix, honouring quotes:
/// `+CMGL: 1,0,"",23` → ["1", "0", "", "23"].
pub fn fields(line: &str) -> Vec<String> {
    let body = match line.split_once(':') {
        Some((head, rest)) if head.starts_with('+') => rest,
        _ => line,
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in body.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// `+CMGL: <index>,<stat>,[<alpha>],<length>` in PDU mode → (index, stat).
pub fn cmgl_header(line: &str) -> Option<(u32, u8)> {
    if !line.starts_with("+CMGL:") {
        return None;
    }
    let f = fields(line);
    Some((f.first()?.parse().ok()?, f.get(1)?.parse().ok()?))
}

/// `+CMGS: <mr>` → the message reference a status report will name.
pub fn cmgs_reference(line: &str) -> Option<u8> {
    line.strip_prefix("+CMGS:")?
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// `+CSQ: <rssi>,<ber>` → signal in dBm (`None` for 99, unknown).
pub fn csq_dbm(line: &str) -> Option<i32> {
    let f = fields(line.strip_prefix("+CSQ:").map(|_| line)?);
    let rssi: i32 = f.first()?.parse().ok()?;
    (0..=31).contains(&rssi).then_some(-113 + 2 * rssi)
}

/// `+CREG: [<n>,]<stat>[,…]` → registered (home 1 or roaming 5).
pub fn creg_registered(line: &str) -> Option<bool> {
    let f = fields(line.strip_prefix("+CREG:").map(|_| line)?);
    let stat: u8 = match f.len() {
        1 => f[0].parse().ok()?,
        _ => f[1].parse().ok()?,
    };
    Some(matches!(stat, 1 | 5))
}

/// `+CPMS: "SM",12,30,…` (answer to a query) → (used, total) of the first storage.
pub fn cpms_usage(line: &str) -> Option<(u32, u32)> {
    let f = fields(line.strip_prefix("+CPMS:").map(|_| line)?);
    // Query form: mem1,used1,total1,… ; set form: used1,total1,…
    let (u, t) = if f.first()?.parse::<u32>().is_err() {
        (f.get(1)?, f.get(2)?)
    } else {
        (&f[0], f.get(1)?)
    };
    Some((u.parse().ok()?, t.parse().ok()?))
}

/// Is a `+CMS ERROR` worth retrying? (TS 27.005 §3.2.5: network-side and memory problems pass;
/// a malformed or refused message does not.)
pub fn cms_transient(code: u16) -> bool {
    match code {
        // Network out of order, temporary failure, congestion, resources unavailable; ME
        // failure, SIM busy, memory full, no network service, network timeout, unknown error,
        // and the manufacturer range (mostly modem-side hiccups).
        38 | 41 | 42 | 47 | 300 | 314 | 322 | 331 | 332 | 500 | 512..=535 => true,
        // Unassigned number, barred, rejected, invalid PDU, SIM missing or locked: final.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finals_prompt_and_urcs() {
        assert_eq!(parse_line("OK\r"), Line::Final(Final::Ok));
        assert_eq!(parse_line("ERROR"), Line::Final(Final::Error));
        assert_eq!(
            parse_line("+CMS ERROR: 331"),
            Line::Final(Final::CmsError(Some(331), "331".into()))
        );
        assert_eq!(
            parse_line("+CME ERROR: SIM PIN required"),
            Line::Final(Final::CmeError(None, "SIM PIN required".into()))
        );
        assert_eq!(parse_line("> "), Line::Prompt);
        assert_eq!(parse_line(">"), Line::Prompt);
        assert_eq!(
            parse_line("+CMTI: \"SM\",3"),
            Line::Urc(Urc::NewMessage {
                storage: "SM".into(),
                index: 3
            })
        );
        assert_eq!(
            parse_line("+CMTI: \"ME\", 12"),
            Line::Urc(Urc::NewMessage {
                storage: "ME".into(),
                index: 12
            })
        );
        assert_eq!(
            parse_line("+CDSI: \"SR\",2"),
            Line::Urc(Urc::NewReport {
                storage: "SR".into(),
                index: 2
            })
        );
        assert_eq!(
            parse_line("+CDS: 25"),
            Line::Urc(Urc::ReportFollows { length: 25 })
        );
        assert_eq!(parse_line("RING"), Line::Urc(Urc::Ring));
        assert_eq!(
            parse_line("^RSSI:17"),
            Line::Urc(Urc::Other("^RSSI:17".into()))
        );
        assert_eq!(
            parse_line("^BOOT:12345,0,0,0,72"),
            Line::Urc(Urc::Other("^BOOT:12345,0,0,0,72".into()))
        );
        assert_eq!(parse_line("RDY"), Line::Urc(Urc::Other("RDY".into())));
        assert_eq!(parse_line(""), Line::Empty);
        assert_eq!(parse_line("\r\n"), Line::Empty);
        assert_eq!(
            parse_line("+CMGL: 1,0,,23"),
            Line::Info("+CMGL: 1,0,,23".into())
        );
        assert_eq!(
            parse_line("0791261802000000040C9126"),
            Line::Info("0791261802000000040C9126".into())
        );
    }

    #[test]
    fn information_lines() {
        assert_eq!(cmgl_header("+CMGL: 4,1,\"\",23"), Some((4, 1)));
        assert_eq!(cmgl_header("+CMGL: 12,0,,151"), Some((12, 0)));
        assert_eq!(cmgl_header("+CSQ: 1,2"), None);
        assert_eq!(cmgs_reference("+CMGS: 17"), Some(17));
        assert_eq!(cmgs_reference("+CMGS: 255,\"xx\""), Some(255));
        assert_eq!(csq_dbm("+CSQ: 17,99"), Some(-79));
        assert_eq!(csq_dbm("+CSQ: 99,99"), None);
        assert_eq!(creg_registered("+CREG: 0,1"), Some(true));
        assert_eq!(creg_registered("+CREG: 0,5"), Some(true));
        assert_eq!(creg_registered("+CREG: 0,2"), Some(false));
        assert_eq!(creg_registered("+CREG: 1"), Some(true));
        assert_eq!(
            cpms_usage("+CPMS: \"SM\",12,30,\"SM\",12,30,\"SM\",12,30"),
            Some((12, 30))
        );
        assert_eq!(cpms_usage("+CPMS: 30,30,30,30,30,30"), Some((30, 30)));
        assert_eq!(fields("+X: \"a,b\",c"), vec!["a,b", "c"]);
    }

    #[test]
    fn cms_errors_sorted() {
        assert!(cms_transient(331), "no network service");
        assert!(cms_transient(322), "memory full");
        assert!(cms_transient(42), "congestion");
        assert!(!cms_transient(1), "unassigned number");
        assert!(!cms_transient(304), "invalid PDU mode parameter");
        assert!(!cms_transient(21), "short message transfer rejected");
    }

    proptest::proptest! {
        #[test]
        fn fuzz_at_parser_text(s in "\\PC{0,200}") {
            let _ = parse_line(&s);
            let _ = fields(&s);
            let _ = cmgl_header(&s);
            let _ = cmgs_reference(&s);
            let _ = csq_dbm(&s);
            let _ = creg_registered(&s);
            let _ = cpms_usage(&s);
        }

        #[test]
        fn fuzz_at_parser_bytes(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let s = String::from_utf8_lossy(&b);
            let _ = parse_line(&s);
            let _ = fields(&s);
        }
    }
}
