//! The streaming TLV layer under every CMS structure sealmail reads or writes: a pull parser
//! over any `Read` that understands DER and BER (indefinite lengths, constructed strings) and
//! keeps its position for bounds checks, and the DER header arithmetic the writers use to put
//! definite lengths in front of content they stream.
//!
//! Not for: meaning. It knows tags and lengths, never which structure it is in; the envelope
//! modules say what is expected where. Elements other than the streamed content are read into
//! memory only up to the caller's limit (see [`super::limits`]).

use super::limits;
use crate::error::{Error, Result};
use der::Decode;
use der::asn1::ObjectIdentifier;
use std::io::Read;

/// The length of a DER length field plus tag byte plus `len` content bytes.
pub(crate) fn tlv_len(len: u64) -> u64 {
    1 + length_octets(len) as u64 + len
}

/// How many octets the DER length field of `len` takes.
pub(crate) fn length_octets(len: u64) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (8 - (len.leading_zeros() / 8) as usize)
    }
}

/// Append a DER tag and definite length.
pub(crate) fn push_header(buf: &mut Vec<u8>, tag: u8, len: u64) {
    buf.push(tag);
    if len < 0x80 {
        buf.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = (len.leading_zeros() / 8) as usize;
        buf.push(0x80 | (8 - skip) as u8);
        buf.extend(&bytes[skip..]);
    }
}

/// A TLV header as read from the stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TlvHeader {
    pub(crate) tag: u8,
    /// `None` for BER's indefinite length.
    pub(crate) len: Option<u64>,
}

impl TlvHeader {
    pub(crate) fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }
}

/// A pull parser over a byte stream, keeping its position for bounds checks.
pub(crate) struct Tlv<R: Read> {
    inner: R,
    pos: u64,
    peeked: Option<u8>,
}

impl<R: Read> Tlv<R> {
    pub(crate) fn new(inner: R) -> Self {
        Tlv {
            inner,
            pos: 0,
            peeked: None,
        }
    }

    pub(crate) fn byte(&mut self) -> Result<u8> {
        if let Some(b) = self.peeked.take() {
            self.pos += 1;
            return Ok(b);
        }
        let mut b = [0u8; 1];
        self.read_exact_raw(&mut b)?;
        self.pos += 1;
        Ok(b[0])
    }

    pub(crate) fn peek(&mut self) -> Result<Option<u8>> {
        if self.peeked.is_none() {
            let mut b = [0u8; 1];
            loop {
                match self.inner.read(&mut b) {
                    Ok(0) => return Ok(None),
                    Ok(_) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            self.peeked = Some(b[0]);
        }
        Ok(self.peeked)
    }

    fn read_exact_raw(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                truncated()
            } else {
                e.into()
            }
        })
    }

    /// Read up to `buf.len()` bytes (at least one unless `buf` is empty).
    pub(crate) fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(b) = self.peeked.take() {
            buf[0] = b;
            self.pos += 1;
            return Ok(1);
        }
        loop {
            match self.inner.read(buf) {
                Ok(0) => return Err(truncated()),
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(crate) fn bytes(&mut self, n: u64, max: u64) -> Result<Vec<u8>> {
        if n > max {
            return Err(Error::data(format!(
                "malformed CMS: an element claims {n} bytes (limit {max})"
            )));
        }
        let mut v = vec![0u8; n as usize];
        let mut filled = 0;
        while filled < v.len() {
            filled += self.read_some(&mut v[filled..])?;
        }
        Ok(v)
    }

    pub(crate) fn header(&mut self) -> Result<TlvHeader> {
        let tag = self.byte()?;
        if tag & 0x1F == 0x1F {
            return Err(Error::data("malformed CMS: unexpected high tag number"));
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            Some(u64::from(first))
        } else if first == 0x80 {
            if tag & 0x20 == 0 {
                return Err(Error::data(
                    "malformed CMS: indefinite length on a primitive element",
                ));
            }
            None
        } else {
            let n = first & 0x7F;
            if n > 8 {
                return Err(Error::data("malformed CMS: length field too long"));
            }
            let mut len = 0u64;
            for _ in 0..n {
                len = (len << 8) | u64::from(self.byte()?);
            }
            Some(len)
        };
        Ok(TlvHeader { tag, len })
    }

    pub(crate) fn expect(&mut self, tag: u8, what: &str) -> Result<TlvHeader> {
        let h = self.header()?;
        if h.tag != tag {
            return Err(Error::data(format!(
                "malformed CMS: expected {what}, found tag 0x{:02x}",
                h.tag
            )));
        }
        Ok(h)
    }

    /// The end-of-contents octets after an indefinite-length element's content.
    pub(crate) fn end_of_contents(&mut self) -> Result<()> {
        if self.byte()? != 0 || self.byte()? != 0 {
            return Err(Error::data("malformed CMS: missing end-of-contents"));
        }
        Ok(())
    }

    /// Is the next thing an end-of-contents marker (for indefinite) or the end (for definite)?
    pub(crate) fn at_end(&mut self, end: Option<u64>) -> Result<bool> {
        match end {
            Some(end) => Ok(self.pos >= end),
            None => Ok(self.peek()? == Some(0)),
        }
    }

    /// Close an element opened at `end`: check the position or consume the EOC.
    pub(crate) fn close(&mut self, end: Option<u64>) -> Result<()> {
        match end {
            Some(end) if self.pos == end => Ok(()),
            Some(_) => Err(Error::data("malformed CMS: element lengths do not add up")),
            None => self.end_of_contents(),
        }
    }

    /// The absolute end of an element whose header was just read, checked against its parent.
    pub(crate) fn end_of(&self, h: &TlvHeader, parent: Option<u64>) -> Result<Option<u64>> {
        match h.len {
            None => Ok(None),
            Some(len) => {
                let end = self
                    .pos
                    .checked_add(len)
                    .ok_or_else(|| Error::data("malformed CMS: absurd length"))?;
                if parent.is_some_and(|p| end > p) {
                    return Err(Error::data(
                        "malformed CMS: an element overruns its container",
                    ));
                }
                Ok(Some(end))
            }
        }
    }

    /// Read one complete element (header and content, any nesting of indefinite lengths) into
    /// memory, re-encoded with definite lengths so that `der` can decode it.
    pub(crate) fn element(&mut self, h: TlvHeader, max: u64, depth: usize) -> Result<Vec<u8>> {
        if depth > limits::MAX_DEPTH {
            return Err(Error::data("malformed CMS: nesting too deep"));
        }
        match h.len {
            Some(len) => {
                let mut out = Vec::with_capacity(16);
                push_header(&mut out, h.tag, len);
                if len > max {
                    return Err(Error::data(format!(
                        "malformed CMS: an element claims {len} bytes (limit {max})"
                    )));
                }
                if h.constructed() {
                    // Children may themselves be indefinite: re-encode them.
                    let end = self.pos + len;
                    let mut content = Vec::new();
                    while self.pos < end {
                        let child = self.header()?;
                        if child.len.is_some_and(|l| self.pos + l > end) {
                            return Err(Error::data(
                                "malformed CMS: an element overruns its container",
                            ));
                        }
                        content.extend(self.element(child, max, depth + 1)?);
                    }
                    if self.pos != end {
                        return Err(Error::data("malformed CMS: element lengths do not add up"));
                    }
                    out.truncate(0);
                    push_header(&mut out, h.tag, content.len() as u64);
                    out.extend(content);
                } else {
                    out.extend(self.bytes(len, max)?);
                }
                Ok(out)
            }
            None => {
                let mut content = Vec::new();
                loop {
                    if self.peek()? == Some(0) {
                        self.end_of_contents()?;
                        break;
                    }
                    let child = self.header()?;
                    content.extend(self.element(child, max, depth + 1)?);
                    if content.len() as u64 > max {
                        return Err(Error::data(format!(
                            "malformed CMS: an element exceeds {max} bytes"
                        )));
                    }
                }
                let mut out = Vec::with_capacity(content.len() + 10);
                push_header(&mut out, h.tag, content.len() as u64);
                out.extend(content);
                Ok(out)
            }
        }
    }

    /// Skip one element without holding it.
    pub(crate) fn skip(&mut self, h: TlvHeader, depth: usize) -> Result<()> {
        if depth > limits::MAX_DEPTH {
            return Err(Error::data("malformed CMS: nesting too deep"));
        }
        match h.len {
            Some(mut len) => {
                let mut buf = [0u8; 4096];
                while len > 0 {
                    let n = (len.min(buf.len() as u64)) as usize;
                    let got = self.read_some(&mut buf[..n])?;
                    len -= got as u64;
                }
                Ok(())
            }
            None => loop {
                if self.peek()? == Some(0) {
                    return self.end_of_contents();
                }
                let child = self.header()?;
                self.skip(child, depth + 1)?;
            },
        }
    }
}

/// A string whose content is streamed to the caller rather than held: the ciphertext `[0]` of
/// an EncryptedContentInfo, the eContent OCTET STRING of a SignedData. DER sends it primitive;
/// BER may cut it into chunks, OCTET STRINGs nested in constructed levels of definite or
/// indefinite length, which are read here in order without ever holding more than the caller's
/// buffer. The caller reads the string's header (its tag depends on where it stands) and
/// starts it as [`StreamedString::primitive`] or [`StreamedString::chunked`].
pub(crate) enum StreamedString {
    /// Inside a primitive string with this many bytes left.
    Primitive {
        remaining: u64,
    },
    /// Inside a constructed string: a stack of open constructed levels (their ends), and the
    /// remaining bytes of the current primitive chunk.
    Chunked {
        stack: Vec<Option<u64>>,
        chunk_remaining: u64,
    },
    Done,
}

impl StreamedString {
    /// A primitive string of `len` content bytes.
    pub(crate) fn primitive(len: u64) -> Self {
        StreamedString::Primitive { remaining: len }
    }

    /// A constructed string ending at `end` (`None`: indefinite length).
    pub(crate) fn chunked(end: Option<u64>) -> Self {
        StreamedString::Chunked {
            stack: vec![end],
            chunk_remaining: 0,
        }
    }

    /// Read the next content bytes from `tlv` into `buf`; `Ok(0)` at the end of the content,
    /// after which every constructed level has been closed. `what` names the content in the
    /// error for an element that is not a chunk ("the signed content").
    pub(crate) fn read<R: Read>(
        &mut self,
        tlv: &mut Tlv<R>,
        buf: &mut [u8],
        what: &str,
    ) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self {
                StreamedString::Done => return Ok(0),
                StreamedString::Primitive { remaining } => {
                    if *remaining == 0 {
                        *self = StreamedString::Done;
                        return Ok(0);
                    }
                    let n = (*remaining).min(buf.len() as u64) as usize;
                    let got = tlv.read_some(&mut buf[..n])?;
                    *remaining -= got as u64;
                    return Ok(got);
                }
                StreamedString::Chunked {
                    stack,
                    chunk_remaining,
                } => {
                    if *chunk_remaining > 0 {
                        let n = (*chunk_remaining).min(buf.len() as u64) as usize;
                        let got = tlv.read_some(&mut buf[..n])?;
                        *chunk_remaining -= got as u64;
                        return Ok(got);
                    }
                    // Between chunks: close finished levels, open the next chunk.
                    let Some(&top) = stack.last() else {
                        *self = StreamedString::Done;
                        return Ok(0);
                    };
                    if tlv.at_end(top)? {
                        tlv.close(top)?;
                        stack.pop();
                        if stack.is_empty() {
                            *self = StreamedString::Done;
                            return Ok(0);
                        }
                        continue;
                    }
                    let h = tlv.header()?;
                    let end = tlv.end_of(&h, top)?;
                    match h.tag {
                        0x04 => *chunk_remaining = h.len.unwrap_or(0),
                        0x24 => {
                            if stack.len() >= limits::MAX_DEPTH {
                                return Err(Error::data("malformed CMS: nesting too deep"));
                            }
                            stack.push(end);
                        }
                        _ => {
                            return Err(Error::data(format!(
                                "malformed CMS: unexpected element inside {what}"
                            )));
                        }
                    }
                }
            }
        }
    }
}

pub(crate) fn truncated() -> Error {
    Error::data("malformed CMS: the message is truncated")
}

/// An OBJECT IDENTIFIER element read with [`Tlv::element`].
pub(crate) fn decode_oid(bytes: &[u8]) -> Result<ObjectIdentifier> {
    ObjectIdentifier::from_der(bytes)
        .map_err(|_| Error::data("malformed CMS: bad object identifier"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn der_lengths_are_minimal() {
        for (len, octets) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (255, 2),
            (256, 3),
            (65535, 3),
            (65536, 4),
            (1 << 24, 5),
        ] {
            let mut v = Vec::new();
            push_header(&mut v, 0x04, len);
            assert_eq!(v.len(), 1 + octets, "len {len}");
            assert_eq!(length_octets(len), octets);
            // der agrees on the header encoding.
            let h = der::Header::new(
                der::Tag::OctetString,
                der::Length::from(u32::try_from(len).unwrap()),
            );
            assert_eq!(h.to_der().unwrap(), v);
        }
    }

    /// Reads everything from a streamed string a byte at a time, then checks the stream ended.
    fn read_all(bytes: &[u8]) -> Result<Vec<u8>> {
        let mut tlv = Tlv::new(bytes);
        let h = tlv.header()?;
        let end = tlv.end_of(&h, None)?;
        let mut content = match h.len {
            Some(len) if !h.constructed() => StreamedString::primitive(len),
            _ => StreamedString::chunked(end),
        };
        let mut out = Vec::new();
        let mut buf = [0u8; 1];
        while content.read(&mut tlv, &mut buf, "the test content")? > 0 {
            out.extend_from_slice(&buf);
        }
        assert_eq!(tlv.peek()?, None, "the reader stopped before the end");
        Ok(out)
    }

    #[test]
    fn streamed_string_reads_primitive_and_nested_ber_chunks() {
        assert_eq!(read_all(&[0x04, 0x03, b'a', b'b', b'c']).unwrap(), b"abc");
        // Indefinite outer level holding a chunk and a definite constructed level.
        let ber = [
            0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x24, 0x03, 0x04, 0x01, b'c', 0x00, 0x00,
        ];
        assert_eq!(read_all(&ber).unwrap(), b"abc");
    }

    #[test]
    fn streamed_string_refuses_a_foreign_element_between_chunks() {
        let ber = [0x24, 0x80, 0x04, 0x01, b'a', 0x02, 0x01, 0x00, 0x00, 0x00];
        let err = read_all(&ber).unwrap_err();
        assert!(
            err.to_string()
                .contains("unexpected element inside the test content"),
            "{err}"
        );
    }
}
