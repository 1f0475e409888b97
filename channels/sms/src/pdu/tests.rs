use super::*;

/// Regression: a header longer than the user data (GSM 7-bit branch) was decoded as an
/// empty text; it is an error, so the PDU is stored raw and flagged.
#[test]
fn header_longer_than_user_data_is_refused() {
    let hex = "00440B912618325476F80000621122314000820205000301020 1".replace(' ', "");
    assert!(matches!(decode_hex(&hex, true), Err(PduError::Invalid(_))));
    let hex8 = "00440B912618325476F80004621122314000820205000301020 1".replace(' ', "");
    assert!(decode_hex(&hex8, true).is_err());
}

/// A WAP push (16-bit application ports, destination 2948) is a machine message.
#[test]
fn wap_push_is_a_machine_message() {
    let hex = "00440B912618325476F8000462112231400082".to_string()
        + "0D"
        + "0605040B8423F0"
        + "0106"
        + "03"
        + "BEAF84";
    let Pdu::Deliver(d) = decode_hex(&hex, true).unwrap() else {
        panic!("not a DELIVER")
    };
    assert_eq!(d.port, Some(2948));
    assert!(d.is_machine_message());
    assert!(d.machine_summary().contains("WAP push"));
    let Pdu::Deliver(t) = decode_hex(
        "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
        true,
    )
    .unwrap() else {
        panic!()
    };
    assert!(!t.is_machine_message());
}
use chrono::{Datelike, Timelike};

#[test]
fn deliver_classic_example() {
    // The SMS-DELIVER example used by most PDU tutorials: "hellohello" from 27838890001.
    let Pdu::Deliver(d) = decode_hex(
        "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
        true,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(d.smsc.as_deref(), Some("+27381000015"));
    assert_eq!(d.sender.value, "27838890001");
    assert_eq!(d.text(), "hellohello");
    let t = d.timestamp.unwrap();
    assert_eq!(
        (
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        (1999, 3, 29, 15, 16, 59)
    );
    assert_eq!(t.offset().local_minus_utc(), 2 * 3600);
    assert_eq!(d.concat, None);
}

#[test]
fn status_report_real_example() {
    // A +CDS report as a modem printed it (without service centre).
    let Pdu::StatusReport(s) =
        decode_hex("06000B910221815716F2709021510121807090215101718000", false).unwrap()
    else {
        panic!()
    };
    assert_eq!(s.reference, 0);
    assert_eq!(s.recipient.value, "+20121875612");
    assert_eq!(s.status, 0);
    assert_eq!(s.outcome(), ReportOutcome::Delivered);
    let dt = s.discharge.unwrap();
    assert_eq!(
        (
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        ),
        (2007, 9, 12, 15, 10, 17)
    );
    assert_eq!(
        StatusReport {
            status: 0x30,
            ..s.clone()
        }
        .outcome(),
        ReportOutcome::Pending
    );
    assert_eq!(
        StatusReport { status: 0x45, ..s }.outcome(),
        ReportOutcome::Failed
    );
}

#[test]
fn submit_classic_example() {
    // The SMS-SUBMIT tutorial example: "hellohello" to +46708251358, validity 0xAA.
    let p = encode_submit(
        "+46708251358",
        "hellohello",
        &SubmitOptions {
            status_report: false,
            validity: Some(0xAA),
            reference: 0,
        },
    )
    .unwrap();
    assert_eq!(
        p,
        vec![SubmitPdu {
            hex: "0011000B916407281553F80000AA0AE8329BFD4697D9EC37".into(),
            tpdu_len: 23
        }]
    );
    let with_report = encode_submit(
        "+46708251358",
        "hellohello",
        &SubmitOptions {
            status_report: true,
            validity: Some(0xAA),
            reference: 0,
        },
    )
    .unwrap();
    assert!(with_report[0].hex.starts_with("0031"));
}

#[test]
fn ucs2_with_emoji() {
    let p = encode_submit("+6281234567890", "Halo 😀", &SubmitOptions::default()).unwrap();
    assert_eq!(p.len(), 1);
    assert!(
        p[0].hex.contains("0008A7"),
        "UCS2 DCS and validity: {}",
        p[0].hex
    );
    assert!(
        p[0].hex.ends_with("0E00480061006C006F0020D83DDE00"),
        "{}",
        p[0].hex
    );
}

#[test]
fn alphanumeric_sender_is_a_service() {
    // "Telkomsel" alphanumeric sender (TON 5), GSM 7-bit.
    let name = gsm7::pack(&gsm7::encode("Telkomsel").unwrap(), 0);
    let mut pdu = vec![0x00, 0x04, (name.len() * 2) as u8, 0xD0];
    pdu.extend_from_slice(&name);
    pdu.extend_from_slice(&[
        0x00, 0x00, 0x62, 0x11, 0x22, 0x31, 0x40, 0x00, 0x82, 0x02, 0xC8, 0x34,
    ]);
    let Pdu::Deliver(d) = decode(&pdu, true).unwrap() else {
        panic!()
    };
    assert_eq!(d.sender.kind, NumberKind::Alphanumeric);
    assert_eq!(d.sender.value, "Telkomsel");
    assert!(d.sender.is_service_sender());
    assert_eq!(d.text(), "Hi");
    let t = d.timestamp.unwrap();
    assert_eq!(
        t.offset().local_minus_utc(),
        7 * 3600,
        "WIB is 28 quarter hours"
    );
    assert!(Address {
        kind: NumberKind::National,
        value: "3636".into()
    }
    .is_service_sender());
    assert!(!Address {
        kind: NumberKind::International,
        value: "+6281234567890".into()
    }
    .is_service_sender());
}

/// Builds the SMS-DELIVER a phone would send for one part of `submit`.
fn as_deliver(submit: &SubmitPdu) -> Vec<u8> {
    let t = from_hex(&submit.hex).unwrap();
    let t = &t[1..]; // no SMSC
    let first = t[0];
    let addr_len = t[2] as usize;
    let addr_octets = 2 + addr_len.div_ceil(2);
    let addr = &t[2..2 + addr_octets];
    let pid = t[2 + addr_octets];
    let dcs = t[3 + addr_octets];
    let vp = if first & 0x18 != 0 { 1 } else { 0 };
    let rest = &t[4 + addr_octets + vp..];
    let mut d = vec![0x00, (first & 0x40) | 0x04];
    d.extend_from_slice(addr);
    d.extend_from_slice(&[pid, dcs, 0x62, 0x11, 0x22, 0x31, 0x40, 0x00, 0x82]);
    d.extend_from_slice(rest);
    d
}

fn round_trip(text: &str) -> (Vec<SubmitPdu>, String) {
    let parts = encode_submit(
        "+6281234567890",
        text,
        &SubmitOptions {
            reference: 42,
            ..Default::default()
        },
    )
    .unwrap();
    let mut uds = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let Pdu::Deliver(d) = decode(&as_deliver(p), true).unwrap() else {
            panic!()
        };
        if parts.len() > 1 {
            assert_eq!(
                d.concat,
                Some(Concat {
                    reference: 42,
                    total: parts.len() as u8,
                    seq: i as u8 + 1
                })
            );
        }
        uds.push(d.user_data);
    }
    (parts.clone(), UserData::join(&uds).unwrap().text())
}

#[test]
fn long_texts_split_at_153_and_67() {
    let long = "a".repeat(161);
    let (parts, back) = round_trip(&long);
    assert_eq!(parts.len(), 2);
    assert_eq!(back, long);
    assert_eq!(round_trip(&"b".repeat(160)).0.len(), 1);
    assert_eq!(round_trip(&"c".repeat(306)).0.len(), 2);
    assert_eq!(round_trip(&"c".repeat(307)).0.len(), 3);
    let ucs = "ü€😀".repeat(30);
    let (parts, back) = round_trip(&format!("Ж{ucs}"));
    assert_eq!(back, format!("Ж{ucs}"));
    assert!(parts.len() >= 2);
    for p in &parts {
        assert!(p.tpdu_len <= 140 + 16, "{}", p.tpdu_len);
    }
}

#[test]
fn pairs_are_never_split() {
    // An extension character right at the 153rd septet, an emoji right at the 67th unit.
    let text = format!("{}€{}", "x".repeat(152), "tail".repeat(3));
    let (parts, back) = round_trip(&text);
    assert_eq!(back, text);
    let first = decode(&as_deliver(&parts[0]), true).unwrap();
    let Pdu::Deliver(d) = first else { panic!() };
    let UserData::Septets(first_part) = &d.user_data else {
        panic!()
    };
    assert_eq!(
        first_part.len(),
        152,
        "the escape pair moved whole to part 2"
    );
    assert_ne!(first_part.last(), Some(&gsm7::ESC));
    let text = format!("{}😀end", "Ж".repeat(66));
    let (parts, back) = round_trip(&text);
    assert_eq!(back, text);
    let Pdu::Deliver(d) = decode(&as_deliver(&parts[0]), true).unwrap() else {
        panic!()
    };
    assert_eq!(d.text(), "Ж".repeat(66));
}

#[test]
fn submits_read_back() {
    let parts = encode_submit(
        "+6281234567890",
        &"ü".repeat(200),
        &SubmitOptions {
            reference: 5,
            ..Default::default()
        },
    )
    .unwrap();
    let subs: Vec<Submit> = parts
        .iter()
        .map(|p| decode_submit(&from_hex(&p.hex).unwrap()).unwrap())
        .collect();
    assert_eq!(subs[0].to.value, "+6281234567890");
    assert!(subs[0].status_report);
    assert_eq!(
        subs[1].concat,
        Some(Concat {
            reference: 5,
            total: 2,
            seq: 2
        })
    );
    let joined =
        UserData::join(&subs.iter().map(|s| s.user_data.clone()).collect::<Vec<_>>()).unwrap();
    assert_eq!(joined.text(), "ü".repeat(200));
}

#[test]
fn broken_pdus_are_errors() {
    for bad in [
        "",
        "0",
        "zz",
        "07917283010010F5040BC872388809",
        "07917283010010F5040BC87238880900F10000993092516195800AE8329B",
        "0791728301",
    ] {
        assert!(decode_hex(bad, true).is_err(), "{bad}");
    }
    assert!(matches!(
        decode_hex("0011000B916407281553F80000AA0AE8329BFD4697D9EC37", true),
        Err(PduError::Unsupported(_))
    ));
    assert!(encode_submit("not a number", "x", &SubmitOptions::default()).is_err());
}

proptest::proptest! {
    #[test]
    fn any_text_round_trips(text in "\\PC{0,400}") {
        let (_, back) = round_trip(&text);
        proptest::prop_assert_eq!(back, text);
    }

    #[test]
    fn gsm_text_round_trips(text in "[@£$¥èéùìòÇ\\nØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà€{}\\[\\]~\\\\|^-]{0,500}") {
        let (parts, back) = round_trip(&text);
        proptest::prop_assert_eq!(&back, &text);
        proptest::prop_assert!(parts.iter().all(|p| p.hex.contains("0000A7")), "GSM 7-bit chosen");
    }

    #[test]
    fn fuzz_pdu_decoder_random_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200), smsc in proptest::bool::ANY) {
        let _ = decode(&bytes, smsc);
    }

    /// Real PDUs (DELIVER 7-bit and UCS-2, concatenated, WAP push, a status report) with
    /// bytes replaced, inserted and cut: decoded or refused, never a panic (longer in CI).
    #[test]
    fn fuzz_pdu_decoder_mutated(
        seed in 0usize..5,
        edits in proptest::collection::vec((0usize..200, proptest::num::u8::ANY, 0u8..3), 0..8),
        cut in proptest::option::of(0usize..200),
    ) {
        const SEEDS: [&str; 5] = [
            "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
            "07911326040000F0040B911346610089F600082180214155840018D4F29C0E6A96E7F3F0B90C0A07D9D76D3D3739CC2E83C661757A0C0EB3D3",
            "0791261832547698440B912618325476F80000621122314000820A050003A50201C8329BFD06",
            "00440B912618325476F800046211223140008215" ,
            "0006070B912618325476F8621122314000826211223140108200",
        ];
        let mut b = from_hex(SEEDS[seed]).unwrap_or_default();
        for (pos, byte, op) in edits {
            let i = pos % (b.len() + 1);
            match op {
                0 if i < b.len() => b[i] = byte,
                1 => b.insert(i, byte),
                _ if i < b.len() => { b.remove(i); }
                _ => {}
            }
        }
        if let Some(c) = cut {
            b.truncate(c.min(b.len()));
        }
        for smsc in [true, false] {
            if let Ok(Pdu::Deliver(d)) = decode(&b, smsc) {
                let _ = d.text();
                let _ = d.is_machine_message();
                let _ = d.machine_summary();
            }
        }
        let _ = decode_hex(&to_hex(&b), true);
    }
}
