//! Whole messages: split an RFC 5322 message's header section into the outer header fields that
//! stay visible and the inner header section that is encrypted with the body; put them back
//! together on decrypt.
//!
//! This module only ever sees header sections (bounded by [`MAX_HEADER_SECTION`]); bodies stream
//! past it through [`crate::entity`]. It is not a MIME parser: the body's structure is never
//! looked at. Header fields are delimited by mail-parser (no home-made header grammar); what this
//! module adds is a check that mail-parser's fields cover the section exactly (so a line it would
//! silently skip, such as one without a colon, is an error here) and the byte-exact handling that
//! the round trip needs: every field is carried as its raw bytes, folding included.
//!
//! What goes where (SPEC §3, RFC 8551, RFC 9788):
//!
//! - outer: every field that is not Content-* or MIME-Version, in its original order and bytes,
//!   except Bcc and Resent-Bcc, which are dropped entirely (they must not leak: not outside, and
//!   not inside either, where every recipient could read them);
//! - inner (CRLF): the Content-* and MIME-Version fields. A message without Content-Type gets
//!   [`IMPLICIT_CONTENT_TYPE`], RFC 2045 §5.2's default made explicit and marked with the
//!   `sealmail-implicit=yes` parameter (RFC 2045 §5: "MIME implementations must ignore any
//!   parameters whose names they do not recognize"), so [`restore`] can drop it again;
//! - with header protection (RFC 9788, hp="cipher"): the inner Content-Type gets `; hp="cipher"`
//!   appended, the user-facing fields ([`PROTECTED_FIELDS`]) are copied inside, the outer Subject
//!   becomes `[...]` (RFC 9788's baseline confidentiality policy; `keep_subject` keeps it), and
//!   for every user-facing field left outside an `HP-Outer: Name: value` field inside records
//!   exactly what the outside says, the obscured Subject included. HP-Outer is written for the
//!   protected fields only, not for trace and other fields (Received, DKIM-Signature, X-*): those
//!   are not copied inside, so there is no inner value to compare them with, and leaving them out
//!   keeps the inner header section within [`MAX_HEADER_SECTION`], the limit decrypt reads it with.
//!   Only the Subject is obscured (SPEC §3); every other outer field stays as it was, since only
//!   the fields copied inside could be restored from there.
//!
//! The round trip (SPEC §3) holds because every change is undone by [`restore`]: the hp parameter
//! is cut back out, the implicit Content-Type dropped, the inner copies of the protected fields
//! take the place of the outer ones, and HP-Outer stays inside.

use crate::entity::{to_crlf, to_lf};
use crate::error::{Error, Result};
use mail_parser::{HeaderName, HeaderValue, MessageParser};
use std::io::{BufRead, Read};

/// Largest header section accepted (SECURITY.md lists this limit), inner or outer.
pub const MAX_HEADER_SECTION: usize = 1 << 20;

/// The user-facing header fields that header protection copies into the inner header section
/// (SPEC §3; RFC 9788's user-facing fields that sealmail protects).
pub const PROTECTED_FIELDS: [&str; 9] = [
    "Subject",
    "From",
    "To",
    "Cc",
    "Date",
    "Message-ID",
    "Reply-To",
    "In-Reply-To",
    "References",
];

/// The field given to an inner entity whose message had no Content-Type (RFC 2045 §5.2: "default
/// [...] Content-type: text/plain; charset=us-ascii"), marked so that [`restore`] removes it.
pub const IMPLICIT_CONTENT_TYPE: &str =
    "Content-Type: text/plain; charset=us-ascii; sealmail-implicit=yes";

/// The marker parameter of [`IMPLICIT_CONTENT_TYPE`].
const IMPLICIT_PARAMETER: &str = "sealmail-implicit";

/// Appended to the inner Content-Type's value (RFC 9788 §2.1: the Cryptographic Payload's
/// Content-Type carries `hp="cipher"` when it is encrypted).
const HP_CIPHER: &[u8] = b"; hp=\"cipher\"";

/// RFC 9788 §2.2: the field recording, inside, a header field as it appears outside.
const HP_OUTER: &[u8] = b"HP-Outer: ";

/// What replaces the outer Subject (RFC 9788 baseline policy: "[...]").
const OBSCURED_SUBJECT: &[u8] = b"Subject: [...]";

const NOT_A_MESSAGE_HINT: &str = "give an RFC 5322 message (header fields, an empty line, the body); \
    to encrypt a plain text, compose a message with --from/--to/--subject";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    /// `b"\n"` or `b"\r\n"`.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
        }
    }

    /// `bytes` with every line ending converted to this one (a lone CR is left alone).
    fn convert(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            LineEnding::Lf => to_lf(bytes),
            LineEnding::CrLf => to_crlf(bytes),
        }
    }
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
/// line (or to EOF for a message with headers and no body). Refuses more than MAX_HEADER_SECTION
/// and an input that does not start with a header field. Reads nothing past the empty line.
pub fn read_header_section(input: &mut dyn BufRead) -> Result<Vec<u8>> {
    let mut section = Vec::new();
    loop {
        let start = section.len();
        // One byte more than allowed, so that "too large" is seen without reading on.
        let room = (MAX_HEADER_SECTION + 1).saturating_sub(start) as u64;
        let n = (&mut *input).take(room).read_until(b'\n', &mut section)?;
        if n == 0 {
            break;
        }
        if section.len() > MAX_HEADER_SECTION {
            return Err(Error::data(format!(
                "the header section is larger than {} KiB",
                MAX_HEADER_SECTION / 1024
            ))
            .with_hint("is this a mail message? its header fields must end with an empty line"));
        }
        let line = section.get(start..).unwrap_or_default();
        if start == 0 && !starts_with_field_name(line) {
            return Err(Error::data(
                "input is not a mail message: it does not start with a header field",
            )
            .with_hint(NOT_A_MESSAGE_HINT));
        }
        if line == b"\n" || line == b"\r\n" || !line.ends_with(b"\n") {
            break;
        }
    }
    if section.is_empty() {
        return Err(Error::data("input is empty, not a mail message").with_hint(NOT_A_MESSAGE_HINT));
    }
    Ok(section)
}

/// Does this header section belong to a whole message (any field other than Content-* and
/// MIME-Version), rather than a bare MIME entity? A section that cannot be read counts as a
/// whole message, so that [`split`] reports what is wrong with it.
pub fn is_whole_message(header_section: &[u8]) -> bool {
    match parse_fields(header_section, "header section") {
        Ok(fields) => fields.iter().any(|f| !f.is_content()),
        Err(_) => true,
    }
}

/// The line ending of the section's first line (LF when there is no line end at all).
pub fn line_ending_of(header_section: &[u8]) -> LineEnding {
    match memchr::memchr(b'\n', header_section) {
        Some(lf) if lf > 0 && header_section.get(lf - 1) == Some(&b'\r') => LineEnding::CrLf,
        _ => LineEnding::Lf,
    }
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

/// Split a whole message's (or a bare entity's) header section. Header protection applies only
/// to a whole message: a bare entity has no user-facing fields to protect, so it gets no hp.
pub fn split(header_section: &[u8], protection: Protection) -> Result<SplitMessage> {
    let fields = parse_fields(header_section, "header section")?;
    let line_ending = line_ending_of(header_section);
    let eol = line_ending.as_bytes();
    let protect = protection.protect && fields.iter().any(|f| !f.is_content());
    let hide_subject = protect && !protection.keep_subject;

    let mut outer_fields = Vec::new();
    let mut hp_outer: Vec<Vec<u8>> = Vec::new();
    for field in fields.iter().filter(|f| !f.is_content() && !f.is_bcc()) {
        let mut line = if hide_subject && field.is("Subject") {
            OBSCURED_SUBJECT.to_vec()
        } else {
            field.raw.to_vec()
        };
        if !line.ends_with(b"\n") {
            // Only the last field of a section without an empty line can lack its line end.
            line.extend_from_slice(eol);
        }
        outer_fields.extend_from_slice(&line);
        if protect && field.is_protected() {
            hp_outer.push(line);
        }
    }

    let mut inner = Vec::new();
    // hp="cipher" goes on the first Content-Type (RFC 9788 §2.1); `true` when there is none to add.
    let mut hp_pending = protect;
    if !fields.iter().any(|f| f.is("Content-Type")) {
        inner.extend_from_slice(IMPLICIT_CONTENT_TYPE.as_bytes());
        if hp_pending {
            inner.extend_from_slice(HP_CIPHER);
            hp_pending = false;
        }
        inner.extend_from_slice(b"\r\n");
    }
    for field in fields.iter().filter(|f| f.is_content()) {
        let mut line = crlf_field(field.raw);
        if hp_pending && field.is("Content-Type") {
            // Insert before the field's final CRLF, after any folding.
            let at = line.len().saturating_sub(2);
            line.splice(at..at, HP_CIPHER.iter().copied());
            hp_pending = false;
        }
        inner.extend_from_slice(&line);
    }
    if protect {
        for field in fields.iter().filter(|f| f.is_protected()) {
            inner.extend_from_slice(&crlf_field(field.raw));
        }
        for line in &hp_outer {
            inner.extend_from_slice(HP_OUTER);
            inner.extend_from_slice(&crlf_field(line));
        }
    }
    inner.extend_from_slice(b"\r\n");
    if inner.len() > MAX_HEADER_SECTION {
        return Err(Error::data(format!(
            "the protected header section would be larger than {} KiB",
            MAX_HEADER_SECTION / 1024
        ))
        .with_hint("the user-facing header fields (To, Cc, References, ...) are too long"));
    }

    Ok(SplitMessage {
        outer_fields,
        inner_header_section: inner,
        body: body_form(&fields),
        line_ending,
    })
}

#[derive(Debug, Clone)]
pub struct Restored {
    /// The restored header section in the output's line ending, ending with the empty line.
    pub header_section: Vec<u8>,
    pub body: BodyForm,
}

/// Rebuild a message from the envelope's outer header section (as received; `None` for DER/PEM
/// input or `--entity`) and the decrypted inner header section (CRLF).
///
/// With an outer section: the outer fields minus its Content-* and MIME-Version (those describe
/// the S/MIME part), then the inner Content-* and MIME-Version fields. Other inner fields are not
/// taken, with one exception: when the inner Content-Type says hp="cipher", the inner copies of
/// the [`PROTECTED_FIELDS`] replace every outer field of those names (in the place of the first
/// outer one; RFC 9788: the protected header fields are the ones to show), and the hp parameter
/// is removed. HP-Outer fields are never copied out. The Content-Type sealmail added to a message
/// that had none ([`IMPLICIT_CONTENT_TYPE`]) is dropped.
///
/// Without one (`--entity`, DER, PEM): the inner header section exactly as the sender made it,
/// hp parameter and HP-Outer fields included, only converted to the output line ending.
pub fn restore(
    outer_header_section: Option<&[u8]>,
    inner_header_section: &[u8],
    line_ending: LineEnding,
) -> Result<Restored> {
    let inner = parse_fields(inner_header_section, "decrypted header section")?;
    let body = body_form(&inner);
    let mut out = Vec::with_capacity(inner_header_section.len() + 1024);
    let Some(outer_section) = outer_header_section else {
        for field in &inner {
            push_field(&mut out, field.raw, line_ending);
        }
        out.extend_from_slice(line_ending.as_bytes());
        return Ok(Restored {
            header_section: out,
            body,
        });
    };
    let outer = parse_fields(outer_section, "message header section")?;

    let content_type = inner.iter().position(|f| f.is("Content-Type"));
    let (hp_cipher, implicit) = content_type
        .and_then(|i| inner.get(i))
        .map(|f| {
            (
                f.parameter_is("hp", "cipher"),
                f.parameter_is(IMPLICIT_PARAMETER, "yes"),
            )
        })
        .unwrap_or((false, false));

    // Which protected names have had their inner fields written already.
    let mut written = [false; PROTECTED_FIELDS.len()];
    for field in outer.iter().filter(|f| !f.is_content()) {
        match protected_index(field.name).filter(|_| hp_cipher) {
            Some(index) => {
                if !written[index] {
                    written[index] = true;
                    let name = field.name;
                    for copy in inner.iter().filter(|f| f.name.eq_ignore_ascii_case(name)) {
                        push_field(&mut out, copy.raw, line_ending);
                    }
                }
            }
            None => push_field(&mut out, field.raw, line_ending),
        }
    }
    if hp_cipher {
        // Protected fields the outside lost (or never showed): the inside is authoritative.
        for field in &inner {
            if protected_index(field.name).is_some_and(|i| !written[i]) {
                push_field(&mut out, field.raw, line_ending);
            }
        }
    }
    for (index, field) in inner.iter().enumerate().filter(|(_, f)| f.is_content()) {
        if Some(index) == content_type {
            if implicit {
                continue;
            }
            if hp_cipher {
                push_field(&mut out, &field.without_parameter("hp"), line_ending);
                continue;
            }
        }
        push_field(&mut out, field.raw, line_ending);
    }
    out.extend_from_slice(line_ending.as_bytes());
    Ok(Restored {
        header_section: out,
        body,
    })
}

/// One header field of a section, borrowed from it.
struct Field<'a> {
    /// The whole field: name, colon, value with its folding, and its line end (absent only for a
    /// last field at EOF).
    raw: &'a [u8],
    /// The name as written (without any whitespace before the colon).
    name: &'a [u8],
    /// Where in `raw` the value starts (just after the colon) and ends (before the line end).
    value_start: usize,
    value_end: usize,
}

impl Field<'_> {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// Content-* and MIME-Version: the fields that describe the entity and travel inside.
    fn is_content(&self) -> bool {
        self.is("MIME-Version")
            || self
                .name
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"content-"))
    }

    fn is_bcc(&self) -> bool {
        self.is("Bcc") || self.is("Resent-Bcc")
    }

    fn is_protected(&self) -> bool {
        protected_index(self.name).is_some()
    }

    fn value(&self) -> &[u8] {
        self.raw
            .get(self.value_start..self.value_end)
            .unwrap_or_default()
    }

    /// Does this (Content-Type) field have parameter `name` equal to `value` (both compared
    /// without regard to case)? The value is parsed by mail-parser.
    fn parameter_is(&self, name: &str, value: &str) -> bool {
        let mut section = Vec::with_capacity(self.raw.len() + 16);
        section.extend_from_slice(b"Content-Type:");
        section.extend_from_slice(self.value());
        section.extend_from_slice(b"\r\n\r\n");
        let Some(message) = MessageParser::new().parse_headers(&section) else {
            return false;
        };
        let parameter = message
            .parts
            .first()
            .and_then(|part| part.headers.first())
            .and_then(|header| match &header.value {
                HeaderValue::ContentType(ct) => ct.attribute(name).map(str::to_owned),
                _ => None,
            });
        parameter.is_some_and(|p| p.trim().eq_ignore_ascii_case(value))
    }

    /// The raw field without the last `; name=...` parameter, every other byte kept: exactly the
    /// inverse of [`split`] appending `; hp="cipher"`, and a clean cut for other senders' fields.
    fn without_parameter(&self, name: &str) -> Vec<u8> {
        let value = self.value();
        let mut cut = None;
        let mut segment_start = None; // index of the ';' that opens the current parameter
        let (mut in_quote, mut escaped, mut depth) = (false, false, 0usize);
        let check = |semicolon: Option<usize>, end: usize, cut: &mut Option<(usize, usize)>| {
            if let Some(s) = semicolon {
                let segment = value.get(s + 1..end).unwrap_or_default();
                let key = segment.split(|&b| b == b'=').next().unwrap_or_default();
                if key.trim_ascii().eq_ignore_ascii_case(name.as_bytes()) {
                    *cut = Some((s, end));
                }
            }
        };
        for (i, &b) in value.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if in_quote {
                match b {
                    b'\\' => escaped = true,
                    b'"' => in_quote = false,
                    _ => {}
                }
            } else if depth > 0 {
                match b {
                    b'\\' => escaped = true,
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_quote = true,
                    b'(' => depth = 1,
                    b';' => {
                        check(segment_start, i, &mut cut);
                        segment_start = Some(i);
                    }
                    _ => {}
                }
            }
        }
        check(segment_start, value.len(), &mut cut);
        let Some((from, to)) = cut else {
            return self.raw.to_vec();
        };
        let mut out = Vec::with_capacity(self.raw.len());
        out.extend_from_slice(self.raw.get(..self.value_start + from).unwrap_or_default());
        out.extend_from_slice(self.raw.get(self.value_start + to..).unwrap_or_default());
        out
    }
}

fn protected_index(name: &[u8]) -> Option<usize> {
    PROTECTED_FIELDS
        .iter()
        .position(|p| name.eq_ignore_ascii_case(p.as_bytes()))
}

/// Read a header section (with or without its empty line) into fields.
///
/// mail-parser delimits the fields; every one is read as raw text, whose end is exactly the end
/// of the field (a Content-Type is taken apart later, on its own). Then the fields must tile the
/// section from its first byte to the empty line: mail-parser skips what it cannot read (a line
/// without a colon, a leading space), and here that is an error naming the line.
fn parse_fields<'a>(section: &'a [u8], what: &str) -> Result<Vec<Field<'a>>> {
    if section.len() > MAX_HEADER_SECTION {
        return Err(Error::data(format!(
            "the {what} is larger than {} KiB",
            MAX_HEADER_SECTION / 1024
        )));
    }
    // A non-empty header map makes mail-parser use it (and the default, raw) for every field.
    let parser = MessageParser::new()
        .header_raw(HeaderName::ContentType)
        .default_header_raw();
    let message = parser
        .parse_headers(section)
        .ok_or_else(|| Error::data(format!("the {what} has no header fields")))?;
    let headers = message
        .parts
        .first()
        .map(|p| p.headers.as_slice())
        .unwrap_or_default();
    let mut fields = Vec::with_capacity(headers.len());
    let mut cursor = 0usize;
    for header in headers {
        let (start, value_start, end) = (
            header.offset_field as usize,
            header.offset_start as usize,
            header.offset_end as usize,
        );
        let colon = value_start.checked_sub(1).filter(|&c| c >= start);
        let name = colon
            .and_then(|c| section.get(start..c))
            .map(|n| n.trim_ascii_end())
            .filter(|n| !n.is_empty() && n.iter().all(|&b| (33..=126).contains(&b) && b != b':'));
        let raw = section.get(start..end);
        let (Some(colon), Some(name), Some(raw), true) = (colon, name, raw, start == cursor) else {
            return Err(not_a_field(section, cursor, what));
        };
        if section.get(colon) != Some(&b':') {
            return Err(not_a_field(section, cursor, what));
        }
        let line_end = if raw.ends_with(b"\r\n") {
            2
        } else {
            usize::from(raw.ends_with(b"\n"))
        };
        fields.push(Field {
            raw,
            name,
            value_start: value_start - start,
            value_end: (raw.len() - line_end).max(value_start - start),
        });
        cursor = end;
    }
    let rest = section.get(cursor..).unwrap_or_default();
    if fields.is_empty() || !(rest.is_empty() || rest == b"\n" || rest == b"\r\n") {
        return Err(not_a_field(section, cursor, what));
    }
    Ok(fields)
}

fn not_a_field(section: &[u8], offset: usize, what: &str) -> Error {
    let line = 1 + memchr::memchr_iter(b'\n', section.get(..offset).unwrap_or_default()).count();
    Error::data(format!(
        "{what}: line {line} is not a header field (\"Name: value\")"
    ))
    .with_hint("header fields start with a name and a colon; continuation lines with a space")
}

/// Does this line start the way a header field does: a name of printable ASCII, then a colon?
fn starts_with_field_name(line: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', line) else {
        return false;
    };
    let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))
}

/// The body form the entity's (first) Content-Transfer-Encoding declares.
fn body_form(fields: &[Field<'_>]) -> BodyForm {
    match fields.iter().find(|f| f.is("Content-Transfer-Encoding")) {
        Some(f) if f.value().trim_ascii().eq_ignore_ascii_case(b"binary") => BodyForm::Binary,
        _ => BodyForm::Text,
    }
}

/// A raw field in CRLF form, with its line end (added if it had none).
fn crlf_field(raw: &[u8]) -> Vec<u8> {
    let mut line = to_crlf(raw);
    if !line.ends_with(b"\n") {
        line.extend_from_slice(b"\r\n");
    }
    line
}

/// Append a raw field in the output line ending, with its line end (added if it had none).
fn push_field(out: &mut Vec<u8>, raw: &[u8], line_ending: LineEnding) {
    out.extend_from_slice(&line_ending.convert(raw));
    if !out.ends_with(b"\n") {
        out.extend_from_slice(line_ending.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    const PROTECT: Protection = Protection {
        protect: true,
        keep_subject: false,
    };

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn reads_up_to_the_empty_line_and_no_further() {
        let input = b"From: a@example.org\nSubject: hi\n\nbody\n\nmore\n";
        let mut reader = std::io::BufReader::with_capacity(4, &input[..]);
        let section = read_header_section(&mut reader).unwrap();
        assert_eq!(section, b"From: a@example.org\nSubject: hi\n\n");
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"body\n\nmore\n");
    }

    #[test]
    fn a_message_without_a_body_is_read_to_eof() {
        let mut input = &b"From: a@example.org\r\nSubject: x"[..];
        assert_eq!(
            read_header_section(&mut input).unwrap(),
            b"From: a@example.org\r\nSubject: x"
        );
    }

    #[test]
    fn binary_and_empty_input_are_not_messages() {
        for input in [
            &b"\x89PNG\r\n\x1a\n\0\0"[..],
            b"",
            b"\nbody",
            b"From sender Mon Jan 1\n",
        ] {
            let err = read_header_section(&mut &input[..]).unwrap_err();
            assert_eq!(err.kind(), Kind::Data, "{input:?}");
            assert!(
                err.message().contains("not a mail message"),
                "{}",
                err.message()
            );
            assert!(err.hint().is_some());
        }
    }

    #[test]
    fn a_header_section_over_the_limit_is_refused_without_reading_it_all() {
        let mut input = b"X-Big: ".to_vec();
        input.resize(3 * MAX_HEADER_SECTION, b'a');
        let err = read_header_section(&mut &input[..]).unwrap_err();
        assert_eq!(err.kind(), Kind::Data);
        assert!(
            err.message().contains("larger than 1024 KiB"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn a_line_without_a_colon_is_named() {
        let err = split(b"From: a\nSubject: x\nno colon here\nTo: b\n\n", PROTECT).unwrap_err();
        assert_eq!(err.kind(), Kind::Data);
        assert!(
            err.message().contains("line 3 is not a header field"),
            "{}",
            err.message()
        );
        // A line starting with a space continues the field before it.
        let s = split(b"From: a\n leading: space\n\n", PROTECT).unwrap();
        assert_eq!(s.outer_fields, b"From: a\n leading: space\n");
        let err = split(b" From: a\n\n", PROTECT).unwrap_err();
        assert!(err.message().contains("line 1"), "{}", err.message());
    }

    #[test]
    fn whole_message_or_entity() {
        assert!(is_whole_message(
            b"Content-Type: text/plain\nX-Mailer: x\n\n"
        ));
        assert!(!is_whole_message(
            b"Content-Type: text/plain\r\nMIME-Version: 1.0\r\n\r\n"
        ));
        assert_eq!(line_ending_of(b"A: b\r\n\r\n"), LineEnding::CrLf);
        assert_eq!(line_ending_of(b"A: b\n\n"), LineEnding::Lf);
        assert_eq!(line_ending_of(b"A: b"), LineEnding::Lf);
    }

    #[test]
    fn split_writes_exactly_these_fields() {
        let section = b"Received: from x\n\tby y\nFrom: A <a@example.org>\nTo: b@example.org\n\
Bcc: secret@example.org\nSubject: Quarterly\n numbers\nMIME-Version: 1.0\n\
Content-Type: text/plain;\n charset=utf-8\nX-Mailer: m\n\n";
        let s = split(section, PROTECT).unwrap();
        assert_eq!(
            text(&s.outer_fields),
            "Received: from x\n\tby y\nFrom: A <a@example.org>\nTo: b@example.org\n\
Subject: [...]\nX-Mailer: m\n"
        );
        assert_eq!(
            text(&s.inner_header_section),
            "MIME-Version: 1.0\r\nContent-Type: text/plain;\r\n charset=utf-8; hp=\"cipher\"\r\n\
From: A <a@example.org>\r\nTo: b@example.org\r\nSubject: Quarterly\r\n numbers\r\n\
HP-Outer: From: A <a@example.org>\r\nHP-Outer: To: b@example.org\r\n\
HP-Outer: Subject: [...]\r\n\r\n"
        );
        assert_eq!(s.body, BodyForm::Text);
        assert_eq!(s.line_ending, LineEnding::Lf);
    }

    #[test]
    fn no_content_type_gets_the_marked_default_and_loses_it_again() {
        let section = b"From: a\r\nSubject: s\r\n\r\n";
        let s = split(section, PROTECT).unwrap();
        assert!(s.inner_header_section.starts_with(
            b"Content-Type: text/plain; charset=us-ascii; sealmail-implicit=yes; hp=\"cipher\"\r\n"
        ));
        let outer = [
            &s.outer_fields[..],
            b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime\r\n\r\n",
        ]
        .concat();
        let r = restore(Some(&outer), &s.inner_header_section, LineEnding::CrLf).unwrap();
        assert_eq!(r.header_section, section);
    }

    #[test]
    fn entity_output_keeps_the_inner_section_as_made() {
        let s = split(
            b"From: a\nSubject: s\nContent-Type: text/plain\n\n",
            PROTECT,
        )
        .unwrap();
        let r = restore(None, &s.inner_header_section, LineEnding::Lf).unwrap();
        assert_eq!(r.header_section, to_lf(&s.inner_header_section));
    }

    #[test]
    fn binary_transfer_encoding_is_seen() {
        let s = split(
            b"Content-Transfer-Encoding: BINARY \nContent-Type: a/b\n\n",
            PROTECT,
        );
        assert_eq!(s.unwrap().body, BodyForm::Binary);
        let s = split(b"Content-Transfer-Encoding: 8bit\n\n", PROTECT);
        assert_eq!(s.unwrap().body, BodyForm::Text);
    }

    #[test]
    fn the_hp_parameter_is_cut_cleanly_wherever_it_is() {
        let section =
            b"Content-Type: multipart/mixed; hp=\"cipher\"; boundary=\"a;hp=x\" (c;d)\r\n\r\n";
        let fields = parse_fields(section, "t").unwrap();
        assert!(fields[0].parameter_is("hp", "cipher"));
        assert_eq!(
            text(&fields[0].without_parameter("hp")),
            "Content-Type: multipart/mixed; boundary=\"a;hp=x\" (c;d)\r\n"
        );
    }

    #[test]
    fn outer_fields_added_in_transit_survive_but_protected_ones_come_from_inside() {
        let s = split(
            b"From: a\nTo: b\nSubject: real\nContent-Type: text/plain\n\n",
            PROTECT,
        )
        .unwrap();
        // A relay added Received; someone forged the outer From and added a Reply-To.
        let outer = b"Received: by relay\nFrom: evil\nTo: b\nSubject: [...]\nReply-To: evil\n\
MIME-Version: 1.0\nContent-Type: application/pkcs7-mime\n\n";
        let r = restore(Some(outer), &s.inner_header_section, LineEnding::Lf).unwrap();
        assert_eq!(
            text(&r.header_section),
            "Received: by relay\nFrom: a\nTo: b\nSubject: real\nContent-Type: text/plain\n\n"
        );
    }

    #[test]
    fn an_inner_section_with_junk_is_refused() {
        for inner in [
            &b"Content-Type: text/plain\r\nno colon\r\n\r\n"[..],
            b"\r\n",
            b"",
            b"\0: x\r\n\r\n",
        ] {
            let err = restore(Some(b"From: a\n\n"), inner, LineEnding::Lf).unwrap_err();
            assert_eq!(err.kind(), Kind::Data, "{inner:?}");
        }
    }
}
