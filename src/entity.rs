//! The inner MIME entity's body in transit: canonical CRLF form (RFC 8551 §3.1.1) and back, as
//! streaming transforms that work across arbitrary chunk boundaries.
//!
//! RFC 8551 §3.1.1: "the MIME entity [...] MUST be converted to canonical form [...] lines are
//! delimited by a CRLF". Encrypt pushes the body (possibly gigabytes) through [`Canonicalizer`]
//! chunk by chunk; decrypt pushes the plaintext back through [`Decanonicalizer`] when the output
//! uses LF line endings. Neither looks at MIME structure: a lone CR is data and stays as it is,
//! so `decanonicalize(canonicalize(x)) == x` for every text whose lines end in LF alone. Header
//! sections (bounded) use the one-shot [`to_crlf`] / [`to_lf`]. This module is not for parsing or
//! building entities; that is [`crate::message`].
//!
//! These are the hot paths for large messages: they find line ends with `memchr` and copy the
//! runs between them as slices, never byte by byte.

use std::io::{self, Read};

/// LF -> CRLF (a CRLF already present stays as it is; a lone CR stays a lone CR).
#[derive(Debug, Default)]
pub struct Canonicalizer {
    /// The last byte pushed so far was a CR: an LF at the start of the next chunk already has its
    /// CR.
    last_was_cr: bool,
}

impl Canonicalizer {
    /// Append the canonical form of `input` to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let Some(&last) = input.last() else {
            return;
        };
        // Text has a line end every few dozen bytes: reserve a little slack to avoid regrowth.
        out.reserve(input.len() + input.len() / 32 + 1);
        let mut start = 0;
        for lf in memchr::memchr_iter(b'\n', input) {
            let preceded_by_cr = match lf.checked_sub(1) {
                Some(before) => input.get(before) == Some(&b'\r'),
                None => self.last_was_cr,
            };
            if !preceded_by_cr {
                out.extend_from_slice(input.get(start..lf).unwrap_or_default());
                out.push(b'\r');
                start = lf;
            }
        }
        out.extend_from_slice(input.get(start..).unwrap_or_default());
        self.last_was_cr = last == b'\r';
    }
}

/// The length of `reader`'s bytes after canonicalization, for DER's up-front length. Reads the
/// reader to its end.
pub fn canonical_len<R: Read>(mut reader: R) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    let mut last_was_cr = false;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        total += n as u64 + bare_lf_count(chunk, last_was_cr);
        last_was_cr = chunk.last() == Some(&b'\r');
    }
}

/// How many LFs in `chunk` have no CR before them (`last_was_cr`: the byte before the chunk).
fn bare_lf_count(chunk: &[u8], last_was_cr: bool) -> u64 {
    if memchr::memchr(b'\r', chunk).is_none() {
        // The usual Unix text: no CR at all, so every LF is bare but perhaps the first byte's.
        // Counting alone is several times faster than looking behind every LF.
        let lfs = memchr::memchr_iter(b'\n', chunk).count() as u64;
        let first_has_cr = last_was_cr && chunk.first() == Some(&b'\n');
        return lfs - u64::from(first_has_cr);
    }
    let mut count = 0;
    for lf in memchr::memchr_iter(b'\n', chunk) {
        let preceded_by_cr = match lf.checked_sub(1) {
            Some(before) => chunk.get(before) == Some(&b'\r'),
            None => last_was_cr,
        };
        if !preceded_by_cr {
            count += 1;
        }
    }
    count
}

/// CRLF -> LF (a lone CR stays a lone CR).
#[derive(Debug, Default)]
pub struct Decanonicalizer {
    /// The previous chunk ended in a CR that is not written yet: it is dropped if the next chunk
    /// starts with LF, written otherwise.
    pending_cr: bool,
}

impl Decanonicalizer {
    /// Append the LF form of `input` to `out`; a CR at the very end is held back until the next
    /// push or [`finish`](Self::finish).
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if input.is_empty() {
            return;
        }
        out.reserve(input.len() + 1);
        let mut rest = input;
        if self.pending_cr {
            self.pending_cr = false;
            if rest.first() == Some(&b'\n') {
                // The held-back CR was half of a CRLF: the LF alone stands for it.
                rest = rest.get(1..).unwrap_or_default();
                out.push(b'\n');
            } else {
                out.push(b'\r');
            }
        }
        let mut start = 0;
        for lf in memchr::memchr_iter(b'\n', rest) {
            if let Some(cr) = lf.checked_sub(1)
                && rest.get(cr) == Some(&b'\r')
            {
                out.extend_from_slice(rest.get(start..cr).unwrap_or_default());
                start = lf;
            }
        }
        let tail = rest.get(start..).unwrap_or_default();
        match tail.split_last() {
            Some((&b'\r', before)) => {
                out.extend_from_slice(before);
                self.pending_cr = true;
            }
            _ => out.extend_from_slice(tail),
        }
    }

    /// Write a CR still held back (the input ended in a lone CR).
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.pending_cr {
            out.push(b'\r');
        }
    }
}

/// One-shot [`Canonicalizer`]: `input` with every bare LF turned into CRLF.
pub fn to_crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 16 + 2);
    Canonicalizer::default().push(input, &mut out);
    out
}

/// One-shot [`Decanonicalizer`]: `input` with every CRLF turned into LF.
pub fn to_lf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut d = Decanonicalizer::default();
    d.push(input, &mut out);
    d.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_becomes_crlf_and_crlf_and_lone_cr_stay() {
        assert_eq!(to_crlf(b"a\nb\r\nc\rd\n\n"), b"a\r\nb\r\nc\rd\r\n\r\n");
        assert_eq!(to_crlf(b"\n"), b"\r\n");
        assert_eq!(to_crlf(b""), b"");
    }

    #[test]
    fn crlf_becomes_lf_and_lone_cr_stays() {
        assert_eq!(to_lf(b"a\r\nb\nc\rd\r\r\n\r"), b"a\nb\nc\rd\r\n\r");
    }

    #[test]
    fn a_crlf_split_across_chunks_is_seen_as_one() {
        let mut c = Canonicalizer::default();
        let mut out = Vec::new();
        c.push(b"line\r", &mut out);
        c.push(b"", &mut out);
        c.push(b"\nnext\n", &mut out);
        assert_eq!(out, b"line\r\nnext\r\n");

        let mut d = Decanonicalizer::default();
        let mut out = Vec::new();
        d.push(b"line\r", &mut out);
        assert_eq!(
            out, b"line",
            "the CR is held back until its successor is known"
        );
        d.push(b"", &mut out);
        d.push(b"\nx\r", &mut out);
        d.push(b"y\r", &mut out);
        d.finish(&mut out);
        assert_eq!(out, b"line\nx\ry\r");
    }

    #[test]
    fn bare_lfs_are_counted_alike_with_and_without_a_cr_in_the_chunk() {
        // No CR in the chunk (the counting shortcut): only a CR before the chunk can pair.
        assert_eq!(bare_lf_count(b"\nab\n\n", false), 3);
        assert_eq!(bare_lf_count(b"\nab\n\n", true), 2);
        assert_eq!(bare_lf_count(b"ab\n", true), 1);
        assert_eq!(bare_lf_count(b"", true), 0);
        // With a CR somewhere, every LF is looked behind.
        assert_eq!(bare_lf_count(b"\nab\r\n\n", false), 2);
        assert_eq!(bare_lf_count(b"\nab\r\n\n", true), 1);
        assert_eq!(bare_lf_count(b"\r\r\n", false), 0);
    }
}
