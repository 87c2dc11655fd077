//! Helpers for the unit tests only: published vectors are written in hex.

/// The bytes of a hex string (test vectors; panics on bad input, which is a broken test).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
