//! The keys of network addresses inside arrays whose min and max are kept (0.19.0): each
//! ordered as its type orders (`network_cmp`, `macaddr_cmp`, `macaddr8_cmp`) and ending
//! itself, so `ordered_array` can put one after another. `ffi::arrays` reads these elements
//! by their output text (Postgres' own, which no setting changes); the keys are made from
//! that text and give it back.
//!
//! | type | key |
//! |---|---|
//! | inet, cidr | the family (0 for IPv4, 1 for IPv6); the address with the bits past its mask cleared; the mask's length; the whole address; the output text; 0 |
//! | macaddr, macaddr8 | its 6 or 8 bytes |
//!
//! `network_cmp` compares two addresses of one family by the bits both masks cover, then by
//! the masks' lengths, then by the whole addresses; IPv4 before IPv6. The masked address
//! then the mask's length orders as the first two do: where the covered bits are equal, the
//! shorter mask's address has only zeros past it. The output text, which the parts before it
//! decide, makes the figure's text Postgres' own (an IPv6 address has several).

use std::net::{Ipv4Addr, Ipv6Addr};

/// An inet's or cidr's output text (`10.0.0.1/8`, `::ffff:1.2.3.4`, `10.0.0.0/8`) as its
/// family, mask length and address bytes; None for another text.
fn parse_network(text: &str) -> Option<(u8, u8, Vec<u8>)> {
    let (address, bits) = match text.split_once('/') {
        Some((address, bits)) => (address, Some(bits.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let (family, bytes) = if address.contains(':') {
        (1, address.parse::<Ipv6Addr>().ok()?.octets().to_vec())
    } else {
        (0, address.parse::<Ipv4Addr>().ok()?.octets().to_vec())
    };
    let most = u8::try_from(bytes.len() * 8).ok()?;
    let bits = bits.unwrap_or(most);
    (bits <= most).then_some((family, bits, bytes))
}

/// `bytes` with every bit past the first `bits` cleared.
fn masked(bytes: &[u8], bits: u8) -> Vec<u8> {
    let bits = usize::from(bits);
    bytes
        .iter()
        .enumerate()
        .map(|(at, byte)| {
            let kept = bits.saturating_sub(at * 8).min(8);
            if kept == 0 {
                0
            } else {
                byte & (0xffu8 << (8 - kept))
            }
        })
        .collect()
}

/// The key of an inet or cidr given as its output text (the module's table), written to
/// `out`; None for a text that is no address.
pub fn network_key(text: &str, out: &mut Vec<u8>) -> Option<()> {
    // An address's text has no 0 byte (`parse_network` takes none), so the 0 ends it.
    let (family, bits, bytes) = parse_network(text)?;
    out.push(family);
    out.extend(masked(&bytes, bits));
    out.push(bits);
    out.extend(&bytes);
    out.extend(text.as_bytes());
    out.push(0);
    Some(())
}

/// The output text of the inet or cidr whose `network_key` starts `key`, and the bytes after
/// it; None when the key is not one.
pub fn network_of_key(key: &[u8]) -> Option<(String, &[u8])> {
    let (&family, rest) = key.split_first()?;
    let width = match family {
        0 => 4,
        1 => 16,
        _ => return None,
    };
    let fixed = rest.get(..2 * width + 1)?;
    let rest = &rest[2 * width + 1..];
    let end = rest.iter().position(|&byte| byte == 0)?;
    let text = std::str::from_utf8(&rest[..end]).ok()?;
    // The text must be the address the parts before it say (a key is only ever made so).
    let (parsed_family, bits, bytes) = parse_network(text)?;
    let expected = [masked(&bytes, bits), vec![bits], bytes].concat();
    (parsed_family == family && fixed == expected.as_slice())
        .then(|| (text.to_string(), &rest[end + 1..]))
}

/// The key of a macaddr or macaddr8 given as its output text (`08:00:2b:01:02:03`): its
/// bytes, whose order is its type's; None for another text.
pub fn mac_key(text: &str, out: &mut Vec<u8>) -> Option<()> {
    let bytes = text
        .split(':')
        .map(|pair| {
            (pair.len() == 2)
                .then(|| u8::from_str_radix(pair, 16).ok())
                .flatten()
        })
        .collect::<Option<Vec<u8>>>()?;
    if !matches!(bytes.len(), 6 | 8) {
        return None;
    }
    out.extend(bytes);
    Some(())
}

/// The output text of a macaddr (`width` 6) or macaddr8 (8) whose key starts `key`, as
/// `macaddr_out` and `macaddr8_out` write it, and the bytes after it.
pub fn mac_of_key(key: &[u8], width: usize) -> Option<(String, &[u8])> {
    let bytes = key.get(..width)?;
    let text = bytes
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    Some((text, &key[width..]))
}

#[cfg(test)]
mod unit {
    use super::*;

    fn key(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        network_key(text, &mut out).unwrap_or_else(|| panic!("{text} is an address"));
        out
    }

    #[test]
    fn network_keys_order_as_network_cmp() {
        // In network_cmp's order: IPv4 first; by the bits both masks cover, then the shorter
        // mask, then the whole address.
        let ordered = [
            "0.0.0.0/0",
            "10.255.0.1/8",
            "10.0.0.0/16",
            "10.0.0.1/16",
            "10.0.0.9",
            "10.0.0.10",
            "10.128.0.0/9",
            "11.0.0.0/8",
            "255.255.255.255",
            "::/0",
            "::1",
            "::ffff:1.2.3.4",
            "2001:db8::/32",
            "2001:db8::1",
            "ffff::/16",
        ];
        for pair in ordered.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn network_keys_end_themselves_and_read_back() {
        for text in ["10.0.0.0/8", "10.1.2.3", "::ffff:1.2.3.4", "2001:db8::/64"] {
            let mut bytes = key(text);
            bytes.push(9);
            assert_eq!(network_of_key(&bytes), Some((text.to_string(), &[9u8][..])));
        }
        // A key whose text disagrees with its parts reads as nothing.
        let mut forged = key("10.0.0.1");
        let at = forged.len() - 2;
        forged[at] = b'2';
        assert_eq!(network_of_key(&forged), None);
        assert!(network_key("10.0.0.1/33", &mut Vec::new()).is_none());
        assert!(network_key("nonsense", &mut Vec::new()).is_none());
    }

    #[test]
    fn mac_keys_order_by_bytes_and_read_back() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        mac_key("08:00:2b:01:02:03", &mut a).unwrap();
        mac_key("08:00:2b:01:02:0a", &mut b).unwrap();
        assert!(a < b);
        assert_eq!(
            mac_of_key(&a, 6),
            Some(("08:00:2b:01:02:03".to_string(), &[][..]))
        );
        let mut eight = Vec::new();
        mac_key("08:00:2b:ff:fe:01:02:03", &mut eight).unwrap();
        assert_eq!(eight.len(), 8);
        assert!(mac_key("08:00:2b", &mut Vec::new()).is_none());
        assert!(mac_key("08-00-2b-01-02-03", &mut Vec::new()).is_none());
    }
}
