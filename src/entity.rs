//! The inner MIME entity's body in transit: canonical CRLF form (RFC 8551 §3.1.1) and back,
//! as streaming transforms that work across arbitrary chunk boundaries.
//!
//! STUB: interface only; being written.

/// LF -> CRLF (a CRLF already present stays as it is).
#[derive(Default)]
pub struct Canonicalizer {
    last_was_cr: bool,
}

impl Canonicalizer {
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out, self.last_was_cr);
        todo!()
    }
}

/// CRLF -> LF.
#[derive(Default)]
pub struct Decanonicalizer {
    pending_cr: bool,
}

impl Decanonicalizer {
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out, self.pending_cr);
        todo!()
    }
    pub fn finish(self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }
}

/// The length of a stream after canonicalisation.
pub fn canonical_len(reader: impl std::io::Read) -> std::io::Result<u64> {
    let _ = reader;
    todo!()
}
