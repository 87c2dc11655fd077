//! Whole messages: split an RFC 5322 message into the outer header fields that stay visible and
//! the inner header section that is encrypted with the body; put them back together on decrypt.
//!
//! STUB: interface only; being written.

use crate::error::Result;
use std::io::BufRead;

/// Largest header section accepted (SECURITY.md lists this limit).
pub const MAX_HEADER_SECTION: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

/// How the body is carried between the inner header section and the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyForm {
    /// Text: LF -> CRLF before encryption, CRLF -> the output convention after decryption.
    Text,
    /// `Content-Transfer-Encoding: binary`: bytes pass untouched.
    Binary,
}

/// Read the header section from the front of a stream: every byte up to and including the empty
/// line (or to EOF for a message with headers and no body). Refuses more than MAX_HEADER_SECTION.
pub fn read_header_section(input: &mut dyn BufRead) -> Result<Vec<u8>> {
    let _ = input;
    todo!()
}

/// Does this header section belong to a whole message (any field other than Content-* and
/// MIME-Version), rather than a bare MIME entity?
pub fn is_whole_message(header_section: &[u8]) -> bool {
    let _ = header_section;
    todo!()
}

pub fn line_ending_of(header_section: &[u8]) -> LineEnding {
    let _ = header_section;
    todo!()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Protection {
    /// RFC 9788 header protection (off for `--entity`).
    pub protect: bool,
    /// Keep the outer Subject instead of `[...]`.
    pub keep_subject: bool,
}

#[derive(Debug, Clone)]
pub struct SplitMessage {
    /// Outer fields (routing and display; no Content-*, MIME-Version or Bcc), each ending in the
    /// input's line ending; no empty line. Empty for a bare entity.
    pub outer_fields: Vec<u8>,
    /// The inner header section, CRLF canonical, ending with the empty line.
    pub inner_header_section: Vec<u8>,
    pub body: BodyForm,
    pub line_ending: LineEnding,
}

/// Split a whole message's (or, with `protection.protect == false` and no routing fields, a bare
/// entity's) header section.
pub fn split(header_section: &[u8], protection: Protection) -> Result<SplitMessage> {
    let _ = (header_section, protection);
    todo!()
}

#[derive(Debug, Clone)]
pub struct Restored {
    /// The restored header section in the output's line ending, ending with the empty line.
    pub header_section: Vec<u8>,
    pub body: BodyForm,
}

/// Rebuild a message from the envelope's outer header section (as received; `None` for DER/PEM
/// input or `--entity`) and the decrypted inner header section (CRLF).
pub fn restore(
    outer_header_section: Option<&[u8]>,
    inner_header_section: &[u8],
    line_ending: LineEnding,
) -> Result<Restored> {
    let _ = (outer_header_section, inner_header_section, line_ending);
    todo!()
}
