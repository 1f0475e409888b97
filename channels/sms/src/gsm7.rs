//! The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1), and septet
//! packing (§6.1.2.1).

/// The default alphabet, by septet value.
const DEFAULT: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The escape septet that introduces an extension-table character.
pub const ESC: u8 = 0x1b;

/// The extension table: (septet after ESC, character).
const EXTENSION: [(u8, char); 10] = [
    (0x0a, '\u{0c}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2f, '\\'),
    (0x3c, '['),
    (0x3d, '~'),
    (0x3e, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// The septets of one character: one for the default alphabet, two (ESC + code) for the
/// extension table, `None` when the alphabet cannot hold it.
pub fn encode_char(c: char) -> Option<&'static [u8]> {
    // Static one- and two-septet slices, so callers can extend without allocating.
    static SINGLE: [u8; 128] = {
        let mut t = [0u8; 128];
        let mut i = 0;
        while i < 128 {
            t[i] = i as u8;
            i += 1;
        }
        t
    };
    static EXT: [[u8; 2]; 10] = [
        [ESC, 0x0a],
        [ESC, 0x14],
        [ESC, 0x28],
        [ESC, 0x29],
        [ESC, 0x2f],
        [ESC, 0x3c],
        [ESC, 0x3d],
        [ESC, 0x3e],
        [ESC, 0x40],
        [ESC, 0x65],
    ];
    if c != '\u{1b}' {
        if let Some(i) = DEFAULT.iter().position(|&d| d == c) {
            return Some(&SINGLE[i..i + 1]);
        }
    }
    EXTENSION
        .iter()
        .position(|&(_, e)| e == c)
        .map(|i| &EXT[i][..])
}

/// Encodes text as septets; `None` if any character is outside the alphabet.
pub fn encode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        out.extend_from_slice(encode_char(c)?);
    }
    Some(out)
}

/// Whether the whole text fits the GSM 7-bit alphabet (with its extension table).
pub fn fits(text: &str) -> bool {
    text.chars().all(|c| encode_char(c).is_some())
}

/// Decodes septets to text. An ESC followed by an unknown code reads as a space, as the
/// standard asks of receivers; a trailing ESC is dropped.
pub fn decode(septets: &[u8]) -> String {
    let mut out = String::with_capacity(septets.len());
    let mut i = 0;
    while i < septets.len() {
        let s = septets[i] & 0x7f;
        if s == ESC {
            match septets.get(i + 1) {
                Some(&n) => {
                    let n = n & 0x7f;
                    match EXTENSION.iter().find(|&&(code, _)| code == n) {
                        Some(&(_, c)) => out.push(c),
                        // ESC ESC is reserved for a further table: shown as a space.
                        None if n == ESC => out.push(' '),
                        // An unknown extension code is shown as its default-table character.
                        None => out.push(DEFAULT[n as usize]),
                    }
                    i += 2;
                }
                None => i += 1,
            }
        } else {
            out.push(DEFAULT[s as usize]);
            i += 1;
        }
    }
    out
}

/// Packs septets into octets, LSB first, after `fill_bits` zero bits (for alignment after a
/// user data header).
pub fn pack(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    let total_bits = fill_bits as usize + septets.len() * 7;
    let mut out = vec![0u8; total_bits.div_ceil(8)];
    let mut bit = fill_bits as usize;
    for &s in septets {
        let v = (s & 0x7f) as u16;
        let (byte, shift) = (bit / 8, bit % 8);
        let w = v << shift;
        out[byte] |= (w & 0xff) as u8;
        if shift > 1 {
            out[byte + 1] |= (w >> 8) as u8;
        }
        bit += 7;
    }
    out
}

/// Unpacks `count` septets from octets, skipping `fill_bits` first. Stops early (without
/// panicking) if the octets run out.
pub fn unpack(octets: &[u8], fill_bits: u8, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count);
    let mut bit = fill_bits as usize;
    for _ in 0..count {
        let (byte, shift) = (bit / 8, bit % 8);
        let Some(&lo) = octets.get(byte) else { break };
        let hi = octets.get(byte + 1).copied().unwrap_or(0) as u16;
        if shift > 1 && byte + 1 >= octets.len() {
            break;
        }
        let w = (lo as u16) | (hi << 8);
        out.push(((w >> shift) & 0x7f) as u8);
        bit += 7;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hellohello_packs_as_in_the_classic_example() {
        let septets = encode("hellohello").unwrap();
        assert_eq!(pack(&septets, 0), hex("E8329BFD4697D9EC37"));
        assert_eq!(
            decode(&unpack(&hex("E8329BFD4697D9EC37"), 0, 10)),
            "hellohello"
        );
    }

    #[test]
    fn seven_and_eight_characters() {
        // 7 septets fill 49 bits: 7 octets, the last with one spare bit.
        let p7 = pack(&encode("1234567").unwrap(), 0);
        assert_eq!(p7, hex("31D98C56B3DD00"));
        // 8 septets fill exactly 7 octets: the 8th septet is the top 7 bits of the last octet.
        let p8 = pack(&encode("12345678").unwrap(), 0);
        assert_eq!(p8, hex("31D98C56B3DD70"));
        assert_eq!(decode(&unpack(&p8, 0, 8)), "12345678");
        // With 7 septets the receiver must not read the spare bit as an 8th '@'.
        assert_eq!(decode(&unpack(&p7, 0, 7)), "1234567");
    }

    #[test]
    fn at_sign_last_survives() {
        for text in ["abcdef@", "abcdefg@", "@", "@@@@@@@@"] {
            let s = encode(text).unwrap();
            assert_eq!(decode(&unpack(&pack(&s, 0), 0, s.len())), text);
        }
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let text = "€ { } [ ] ~ \\ | ^";
        let s = encode(text).unwrap();
        assert_eq!(s.len(), text.chars().count() + 9);
        assert_eq!(decode(&s), text);
        assert_eq!(encode("€").unwrap(), vec![ESC, 0x65]);
        assert!(fits(
            "Jalan rusak di RT 03, mohon {segera} ditindak [lanjut]"
        ));
        assert!(!fits("Salam 😀"));
        assert!(!fits("Đ"));
    }

    #[test]
    fn fill_bits_shift_the_septets() {
        let s = encode("hi").unwrap();
        for fill in 0..7 {
            assert_eq!(unpack(&pack(&s, fill), fill, 2), s, "fill {fill}");
        }
    }

    #[test]
    fn unpack_of_short_data_does_not_panic() {
        assert!(unpack(&[], 0, 10).is_empty());
        assert_eq!(unpack(&[0x41], 0, 10).len(), 1);
        assert_eq!(decode(&[ESC]), "");
        assert_eq!(decode(&[ESC, 0x41]), "A");
    }
}
