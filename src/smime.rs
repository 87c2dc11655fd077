//! The S/MIME wrapper around CMS bytes, both directions: `application/pkcs7-mime` MIME parts with
//! base64 in 76-character lines, `-----BEGIN CMS-----` PEM, or raw DER; and auto-detection of
//! which of those an input is. Streaming: nothing here holds a whole message.
//!
//! STUB: interface only; being written.

use crate::error::Result;
use crate::message::LineEnding;
use std::io::{BufRead, Read, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutForm {
    Smime,
    Pem,
    Der,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InForm {
    Auto,
    Smime,
    Pem,
    Der,
}

/// A writer that frames the CMS bytes written to it in the chosen form.
pub trait EnvelopeSink: Write {
    /// Write any trailer (final base64 line, PEM END line) and flush.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// Start the output: for `Smime`, `outer_fields` (already in `line_ending`) then the S/MIME
/// content headers and the empty line; for `Pem` the BEGIN line; for `Der` nothing.
pub fn envelope_writer<'a>(
    form: OutForm,
    outer_fields: &[u8],
    line_ending: LineEnding,
    out: Box<dyn Write + 'a>,
) -> Result<Box<dyn EnvelopeSink + 'a>> {
    let _ = (form, outer_fields, line_ending, out);
    todo!()
}

/// An input opened as an envelope: where the CMS bytes come from, and what surrounded them.
pub struct OpenedEnvelope<'a> {
    /// The MIME header section of the S/MIME message, when the input was MIME.
    pub header_section: Option<Vec<u8>>,
    /// The line ending of the input when it was text (MIME or PEM).
    pub line_ending: Option<LineEnding>,
    /// The CMS DER/BER bytes (base64 already decoded).
    pub cms: Box<dyn Read + 'a>,
}

pub fn open_envelope<'a>(input: Box<dyn BufRead + 'a>, form: InForm) -> Result<OpenedEnvelope<'a>> {
    let _ = (input, form);
    todo!()
}
