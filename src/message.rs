//! Whole messages: decide whether the input is a mail message at all, split a message's header
//! section into the outer header fields that stay visible and the inner header section that is
//! encrypted with the body, and put them back together on decrypt.
//!
//! This module only ever sees header sections (bounded by [`MAX_HEADER_SECTION`]); bodies stream
//! past it through [`crate::entity`]. It is not a MIME parser: the body's structure is never
//! looked at. Header fields are delimited by mail-parser; what this module adds is a check that
//! mail-parser's fields cover the section exactly (so a line it would silently skip, such as one
//! without a colon, is seen here), a check of the shape of the structured fields ([`shape`]: an
//! address list, a date, an identifier), and the byte-exact handling that the round trip needs:
//! every field is carried as its raw bytes, folding included.
//!
//! Message or not (SPEC §3, [`read_head`]): the header section is read the way Python's email
//! parser reads it (an mbox `From ` line may come first; the section ends at the empty line, or
//! where a line is neither a field nor a continuation, which then starts the body). The input is a
//! message only when that section parses and holds at least one well-formed field of RFC 5322 or
//! the MIME RFCs ([`MESSAGE_FIELDS`]; `To: everyone - the password is ...` is not one). Anything
//! else (`Note: the password is ...`, a log, a URL, binary) is sealed whole as the body of a
//! text/plain (or application/octet-stream) entity marked `sealmail-input=raw`
//! ([`raw_input_split`]), so that nothing given to encrypt is ever written in clear and decrypt
//! gives back exactly the bytes that went in.
//!
//! What goes where in a message (SPEC §3, RFC 8551, RFC 9788):
//!
//! - outer: the mbox `From ` line, first, as given; then only the fields that delivery and
//!   display need ([`OUTSIDE_FIELDS`] and `List-*`) and are shaped as their RFCs say (a
//!   malformed one is sealed inside with the rest), in their original order and bytes, the
//!   Subject as `[...]`. Bcc and Resent-Bcc are dropped entirely (they must not leak: not outside,
//!   and not inside either, where every recipient could read them);
//! - inner (CRLF), in the original order: the Content-* and MIME-Version fields, every field that
//!   is not allowed outside (X-Api-Key, Keywords, Comments, DKIM-Signature, custom fields, ...),
//!   and with header protection the copies of the user-facing fields ([`PROTECTED_FIELDS`]). A
//!   message without Content-Type gets [`IMPLICIT_CONTENT_TYPE`], RFC 2045 §5.2's default made
//!   explicit and marked with the `sealmail-implicit=yes` parameter (RFC 2045 §5: "MIME
//!   implementations must ignore any parameters whose names they do not recognize"), so
//!   [`restore`] can drop it again;
//! - with header protection (RFC 9788, hp="cipher"): the inner Content-Type gets `; hp="cipher"`
//!   appended, the outer Subject becomes `[...]` (RFC 9788's baseline confidentiality policy;
//!   `keep_subject` keeps it), and for every user-facing field left outside an `HP-Outer: Name:
//!   value` field inside records exactly what the outside says, the obscured Subject included.
//!   HP-Outer is written for the protected fields only: the other outer fields (Received,
//!   Return-Path, List-*, ...) have no inner copy to compare them with.
//!
//! The round trip (SPEC §3) holds because every change is undone by [`restore`]: the hp parameter
//! is cut back out, the implicit Content-Type dropped, the inner fields take the place of the
//! outer copies of the protected fields, and HP-Outer stays inside.

mod shape;

use crate::entity::{to_crlf, to_lf};
use crate::error::{Error, Result};
use mail_parser::{HeaderName, HeaderValue, MessageParser};
use std::borrow::Cow;
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

/// The fields that stay outside, readable on the way (SPEC §3): what delivery and display need.
/// Every `List-*` field (RFC 2369, RFC 2919) stays outside too, and the Subject as `[...]` unless
/// it is kept. Every other field is sealed inside only.
pub const OUTSIDE_FIELDS: [&str; 13] = [
    "From",
    "Sender",
    "To",
    "Cc",
    "Reply-To",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Received",
    "Return-Path",
    "Auto-Submitted",
    "Subject",
];

/// The fields that make an input a mail message (SPEC §3): RFC 5322 §3.6 and §3.6.6-7, the MIME
/// fields of RFC 2045 §3 and RFC 2183. An input whose header section holds none of these (only
/// `Build: 42`, `Note: ...`, `https://...`) is text, not a message. Content-* fields other than
/// these count too (RFC 2045 reserves the prefix).
pub const MESSAGE_FIELDS: [&str; 24] = [
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
    "Comments",
    "Keywords",
    "Resent-Date",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "Resent-Bcc",
    "Resent-Message-ID",
    "Return-Path",
    "Received",
    "MIME-Version",
    "Auto-Submitted",
];

/// The marker parameter of an inner entity that carries an input that was not a message: its
/// body is the input, byte for byte, and decrypt writes it back alone (SPEC §3).
const RAW_INPUT_PARAMETER: &str = "sealmail-input";

/// The inner header section of a text input that was not a message (UTF-8, no NUL).
pub const RAW_TEXT_HEADER: &str = "Content-Type: text/plain; charset=utf-8; sealmail-input=raw\r\n\
    Content-Transfer-Encoding: binary\r\n\r\n";

/// The inner header section of any other input that was not a message.
pub const RAW_DATA_HEADER: &str = "Content-Type: application/octet-stream; sealmail-input=raw\r\n\
    Content-Transfer-Encoding: binary\r\n\r\n";

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

const NOT_A_MESSAGE_HINT: &str = "with --entity, give a MIME entity (header fields, an empty line, \
    the body); without it, any input is sealed (text that is not a message as a whole)";

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
        if start == 0 && !starts_with_field_name(line) && !is_mbox_line(line) {
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

/// The front of an input to encrypt: its header section when it is a message, and what was read
/// past that section.
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// The header section (an mbox `From ` line included), ending with the empty line when it had
    /// one. Empty when the input is not a mail message.
    pub header_section: Vec<u8>,
    /// The bytes read past the header section: the start of the body (for an input that is not a
    /// message, the start of the input).
    pub body_start: Vec<u8>,
}

impl Head {
    pub fn is_message(&self) -> bool {
        !self.header_section.is_empty()
    }
}

/// Read the front of an input to encrypt and decide whether it is a mail message (SPEC §3).
///
/// The header section is read as Python's email parser reads it: an mbox `From ` line may come
/// first; the section ends at the empty line (which it includes), at the end of the input, or just
/// before the first line that is neither a header field nor a continuation (that line starts the
/// body: RFC 5322's empty line is missing, as in many hand-written and generated messages). The
/// input is a message when that section parses and holds at least one of [`MESSAGE_FIELDS`] (or a
/// Content-* field); otherwise everything read is the start of a body. A section larger than
/// [`MAX_HEADER_SECTION`] is not a message either. Never fails but on a read error.
pub fn read_head(input: &mut dyn BufRead) -> Result<Head> {
    let mut read = Vec::new();
    let mut section_end = None;
    loop {
        let start = read.len();
        // One byte more than allowed, so that "too large" is seen without reading on.
        let room = (MAX_HEADER_SECTION + 1).saturating_sub(start) as u64;
        let n = (&mut *input).take(room).read_until(b'\n', &mut read)?;
        if read.len() > MAX_HEADER_SECTION {
            break;
        }
        let line = read.get(start..).unwrap_or_default();
        if start > 0 && (line == b"\n" || line == b"\r\n") {
            // The empty line: it belongs to the header section.
            section_end = Some(read.len());
            break;
        }
        let header_line = if start == 0 {
            starts_with_field_name(line) || is_mbox_line(line)
        } else {
            starts_with_field_name(line) || line.starts_with(b" ") || line.starts_with(b"\t")
        };
        if n == 0 || !header_line {
            // The end of the input, or a line that starts the body.
            section_end = Some(start);
            break;
        }
        if !line.ends_with(b"\n") {
            section_end = Some(read.len());
            break;
        }
    }
    let is_message = section_end
        .and_then(|end| read.get(..end))
        .and_then(|section| parse_fields(section, "header section").ok())
        .is_some_and(|section| section.fields.iter().any(Field::makes_a_message));
    let end = match section_end {
        Some(end) if is_message => end,
        _ => 0,
    };
    let body_start = read.split_off(end);
    Ok(Head {
        header_section: read,
        body_start,
    })
}

/// The inner header section for an input that is not a message: the whole input is the body of
/// a text/plain entity when it is UTF-8 text (no NUL), else of an application/octet-stream one,
/// `Content-Transfer-Encoding: binary` either way, so every byte (any line ending, no final line
/// end) passes untouched. `start` is the start of the input; `complete` says it is all of it (a
/// character cut at the end of a partial start still counts as text). Nothing stays outside.
pub fn raw_input_split(start: &[u8], complete: bool) -> SplitMessage {
    let text = memchr::memchr(0, start).is_none()
        && match std::str::from_utf8(start) {
            Ok(_) => true,
            Err(e) => !complete && e.error_len().is_none(),
        };
    let header = if text {
        RAW_TEXT_HEADER
    } else {
        RAW_DATA_HEADER
    };
    SplitMessage {
        outer_fields: Vec::new(),
        inner_header_section: header.as_bytes().to_vec(),
        body: BodyForm::Binary,
        line_ending: line_ending_of(start),
    }
}

/// The header section without its mbox `From ` line, if it starts with one.
pub fn without_mbox_line(header_section: &[u8]) -> &[u8] {
    header_section
        .get(mbox_line_len(header_section)..)
        .unwrap_or_default()
}

/// Does this header section belong to a whole message (an mbox `From ` line, or any field other
/// than Content-* and MIME-Version), rather than a bare MIME entity? A section that cannot be read counts as a
/// whole message, so that [`split`] reports what is wrong with it.
pub fn is_whole_message(header_section: &[u8]) -> bool {
    match parse_fields(header_section, "header section") {
        Ok(section) => !section.mbox.is_empty() || section.fields.iter().any(|f| !f.is_content()),
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
    /// Outer fields (the mbox `From ` line, then the allowed fields), each ending in the input's
    /// line ending; no empty line. Empty for a bare entity and for an input that is not a message.
    pub outer_fields: Vec<u8>,
    /// The inner header section, CRLF canonical, ending with the empty line.
    pub inner_header_section: Vec<u8>,
    pub body: BodyForm,
    pub line_ending: LineEnding,
}

/// Split a whole message's (or a bare entity's) header section. Header protection applies only
/// to a whole message: a bare entity has no user-facing fields to protect, so it gets no hp.
pub fn split(header_section: &[u8], protection: Protection) -> Result<SplitMessage> {
    let Section { mbox, fields } = parse_fields(header_section, "header section")?;
    let line_ending = line_ending_of(header_section);
    let eol = line_ending.as_bytes();
    let protect = protection.protect && fields.iter().any(|f| !f.is_content());
    let hide_subject = protect && !protection.keep_subject;

    let mut outer_fields = mbox.to_vec();
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
    // Inside, in the original order: what describes the entity, what may not be seen outside,
    // and (protected) the user-facing fields, each outer field recorded by an HP-Outer field in
    // its place, so that decrypt puts every field back where it was.
    for field in fields.iter().filter(|f| !f.is_bcc()) {
        if field.stays_outside() && !field.is_content() {
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
            if !protect {
                continue;
            }
            if field.is_protected() {
                inner.extend_from_slice(&crlf_field(field.raw));
            }
            inner.extend_from_slice(HP_OUTER);
            inner.extend_from_slice(&crlf_field(&line));
            continue;
        }
        let mut line = crlf_field(field.raw);
        if hp_pending && field.is("Content-Type") {
            // Insert before the field's final CRLF, after any folding.
            let at = line.len().saturating_sub(2);
            line.splice(at..at, HP_CIPHER.iter().copied());
            hp_pending = false;
        }
        inner.extend_from_slice(&line);
    }
    inner.extend_from_slice(b"\r\n");
    if inner.len() > MAX_HEADER_SECTION {
        return Err(Error::data(format!(
            "the protected header section would be larger than {} KiB",
            MAX_HEADER_SECTION / 1024
        ))
        .with_hint("the header fields sealed inside (To, Cc, References, X-*, ...) are too long"));
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
    /// The inner entity carries an input that was not a message ([`raw_input_split`]): its body
    /// alone, byte for byte, is what went in.
    pub raw_input: bool,
}

/// Rebuild a message from the envelope's outer header section (as received; empty for DER/PEM
/// input; `None` for `--entity`) and the decrypted inner header section (CRLF).
///
/// With an outer section: its mbox `From ` line, then its fields but Content-* and MIME-Version
/// (those describe the S/MIME part), with the inner fields (but HP-Outer) put in:
///
/// - when the inner Content-Type says hp="cipher" (RFC 9788: the inner fields are the ones to
///   show), the inner fields take the place of the first outer protected field
///   ([`PROTECTED_FIELDS`]), every other outer protected field is left out (the inner copies are
///   authoritative), and an outer field that is an exact copy of an inner one is left out (other
///   agents copy more than sealmail does); the hp parameter is removed; an HP-Outer field of an
///   unprotected field stands for the outer field it records, in its place: the outer field
///   itself when it is still there, the record when it is not (DER and PEM have no outside);
/// - otherwise the inner fields follow the outer ones, but for inner fields whose name is
///   outside too (another agent's copies of the outer fields).
///
/// The Content-Type sealmail added to a message that had none ([`IMPLICIT_CONTENT_TYPE`]) is
/// dropped. Fields that a relay added outside (Received, ...) stay.
///
/// Without one (`--entity`): the inner header section exactly as the sender made it, hp
/// parameter and HP-Outer fields included, only converted to the output line ending.
pub fn restore(
    outer_header_section: Option<&[u8]>,
    inner_header_section: &[u8],
    line_ending: LineEnding,
) -> Result<Restored> {
    let Section {
        mbox: inner_mbox,
        fields: inner,
    } = parse_fields(inner_header_section, "decrypted header section")?;
    let body = body_form(&inner);
    let content_type = inner.iter().position(|f| f.is("Content-Type"));
    let parameter = |name: &str, value: &str| {
        content_type
            .and_then(|i| inner.get(i))
            .is_some_and(|f| f.parameter_is(name, value))
    };
    let (hp_cipher, implicit) = (
        parameter("hp", "cipher"),
        parameter(IMPLICIT_PARAMETER, "yes"),
    );
    let raw_input = parameter(RAW_INPUT_PARAMETER, "raw");
    let mut out = Vec::with_capacity(inner_header_section.len() + 1024);
    let Some(outer_section) = outer_header_section else {
        if !inner_mbox.is_empty() {
            push_field(&mut out, inner_mbox, line_ending);
        }
        for field in &inner {
            push_field(&mut out, field.raw, line_ending);
        }
        out.extend_from_slice(line_ending.as_bytes());
        return Ok(Restored {
            header_section: out,
            body,
            raw_input,
        });
    };
    let outer = if outer_section.is_empty() {
        Section {
            mbox: b"",
            fields: Vec::new(),
        }
    } else {
        parse_fields(outer_section, "message header section")?
    };
    let outer_fields: Vec<&Field<'_>> = outer.fields.iter().filter(|f| !f.is_content()).collect();

    // The inner fields as they are to be shown, with the outer fields recorded by HP-Outer in
    // their places (hp="cipher"; only the outer field itself is shown, as received).
    let mut shown: Vec<Cow<'_, [u8]>> = Vec::with_capacity(inner.len() + outer_fields.len());
    // Outer fields already shown or stood in for: the protected ones (the inner copies are
    // authoritative) and exact copies of inner fields (other agents copy more than sealmail).
    let mut used: Vec<bool> = outer_fields
        .iter()
        .map(|o| hp_cipher && (o.is_protected() || inner.iter().any(|i| i.same_as(o))))
        .collect();
    for (index, field) in inner.iter().enumerate() {
        if field.is("HP-Outer") {
            let recorded = hp_cipher.then(|| field.recorded_field()).flatten();
            let matching = recorded.as_ref().and_then(|(name, value)| {
                outer_fields.iter().enumerate().position(|(i, o)| {
                    !used.get(i).copied().unwrap_or(true)
                        && o.name.eq_ignore_ascii_case(name)
                        && to_crlf(o.value()).trim_ascii() == value.as_slice()
                })
            });
            match (matching, recorded) {
                (Some(i), _) => {
                    if let (Some(u), Some(o)) = (used.get_mut(i), outer_fields.get(i)) {
                        *u = true;
                        shown.push(Cow::Borrowed(o.raw));
                    }
                }
                // Not outside (DER and PEM have no outside): the record says what it was.
                (None, Some((name, _))) if protected_index(name).is_none() => {
                    shown.push(Cow::Borrowed(field.value().trim_ascii_start()));
                }
                (None, _) => {}
            }
            continue;
        }
        if Some(index) == content_type {
            if implicit {
                continue;
            }
            if hp_cipher {
                shown.push(Cow::Owned(field.without_parameter("hp")));
                continue;
            }
        }
        if !hp_cipher
            && !field.is_content()
            && outer_fields
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(field.name))
        {
            continue;
        }
        shown.push(Cow::Borrowed(field.raw));
    }

    if !outer.mbox.is_empty() {
        push_field(&mut out, outer.mbox, line_ending);
    }
    // Fields a relay added on the way (Received, ...) go on top, where relays put them; without
    // hp, every outer field is shown before the inner ones.
    for (field, _) in outer_fields.iter().zip(&used).filter(|(_, used)| !**used) {
        push_field(&mut out, field.raw, line_ending);
    }
    for line in &shown {
        push_field(&mut out, line, line_ending);
    }
    out.extend_from_slice(line_ending.as_bytes());
    Ok(Restored {
        header_section: out,
        body,
        raw_input,
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

    /// Allowed outside (SPEC §3): delivery and display need it, and it is shaped as its RFC
    /// says (an address list, a date, ...; [`shape`]), so it holds nothing else. Bcc never is.
    fn stays_outside(&self) -> bool {
        (OUTSIDE_FIELDS.iter().any(|n| self.is(n))
            || self
                .name
                .get(..5)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"list-")))
            && self.well_formed()
    }

    /// A well-formed field of RFC 5322 or the MIME RFCs: one of these makes a header section a
    /// message's. `To: everyone - the password is ...` does not: that is text.
    fn makes_a_message(&self) -> bool {
        (MESSAGE_FIELDS.iter().any(|n| self.is(n)) || self.is_content()) && self.well_formed()
    }

    fn well_formed(&self) -> bool {
        shape::well_formed(self.name, self.value())
    }

    /// The field an HP-Outer field records (RFC 9788 §2.2: `HP-Outer: Name: value`): its name
    /// and its value in CRLF form without surrounding blanks.
    fn recorded_field(&self) -> Option<(&[u8], Vec<u8>)> {
        let value = self.value().trim_ascii_start();
        let colon = memchr::memchr(b':', value)?;
        let name = value.get(..colon)?.trim_ascii_end();
        let recorded = to_crlf(value.get(colon + 1..)?).trim_ascii().to_vec();
        Some((name, recorded))
    }

    /// The same field (name and value; line ends aside) as `other`.
    fn same_as(&self, other: &Field<'_>) -> bool {
        self.name.eq_ignore_ascii_case(other.name)
            && to_crlf(self.value()).trim_ascii() == to_crlf(other.value()).trim_ascii()
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

/// A header section read into fields, borrowed from it.
struct Section<'a> {
    /// The mbox `From ` line in front of the fields, as given (empty when there is none).
    mbox: &'a [u8],
    fields: Vec<Field<'a>>,
}

/// The length of the mbox `From ` line at the front of `section` (0 when there is none).
fn mbox_line_len(section: &[u8]) -> usize {
    let end = memchr::memchr(b'\n', section).map_or(section.len(), |lf| lf + 1);
    match section.get(..end) {
        Some(line) if is_mbox_line(line) => end,
        _ => 0,
    }
}

/// Is this line an mbox envelope line, as mbox files and procmail hand a message over
/// (`From sender@example.org Fri Apr  6 16:46:09 2001`)? The sender, then the weekday of an
/// asctime date: a sentence that starts with "From " is not taken for one.
fn is_mbox_line(line: &[u8]) -> bool {
    const WEEKDAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let sender_len = rest.iter().take_while(|b| !b.is_ascii_whitespace()).count();
    let after = rest.get(sender_len..).unwrap_or_default();
    let date = after.trim_ascii_start();
    sender_len > 0
        && date.len() < after.len()
        && WEEKDAYS.iter().any(|w| {
            date.get(..3).is_some_and(|d| d.eq_ignore_ascii_case(w)) && date.get(3) == Some(&b' ')
        })
        && date.iter().any(u8::is_ascii_digit)
}

/// Read a header section (with or without its empty line) into fields.
///
/// mail-parser delimits the fields; every one is read as raw text, whose end is exactly the end
/// of the field (a Content-Type is taken apart later, on its own). Then the fields must tile the
/// section from its first byte to the empty line: mail-parser skips what it cannot read (a line
/// without a colon, a leading space), and here that is an error naming the line.
/// An mbox `From ` line in front of the fields is taken aside.
fn parse_fields<'a>(whole: &'a [u8], what: &str) -> Result<Section<'a>> {
    if whole.len() > MAX_HEADER_SECTION {
        return Err(Error::data(format!(
            "the {what} is larger than {} KiB",
            MAX_HEADER_SECTION / 1024
        )));
    }
    let (mbox, section) = whole.split_at(mbox_line_len(whole));
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
            return Err(not_a_field(whole, mbox.len() + cursor, what));
        };
        if section.get(colon) != Some(&b':') {
            return Err(not_a_field(whole, mbox.len() + cursor, what));
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
        return Err(not_a_field(whole, mbox.len() + cursor, what));
    }
    Ok(Section { mbox, fields })
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

/// An entity's header section (CRLF, ending with the empty line) with its
/// Content-Transfer-Encoding set to `value`: any existing one removed, the new one last. Used
/// when signing re-encodes an 8-bit body (RFC 8551 §3.1.2).
pub fn with_transfer_encoding(header_section: &[u8], value: &str) -> Result<Vec<u8>> {
    let fields = parse_fields(header_section, "header section")?;
    let mut out = Vec::with_capacity(header_section.len() + 48);
    for field in fields
        .fields
        .iter()
        .filter(|f| !f.is("Content-Transfer-Encoding"))
    {
        out.extend_from_slice(&crlf_field(field.raw));
    }
    out.extend_from_slice(b"Content-Transfer-Encoding: ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    Ok(out)
}

/// The header section to restore when the signature layer of a signed entity is taken off
/// (`decrypt` of signed-data, or of `encrypt --sign`'s multipart/signed): the wrapper's fields
/// that are not about its content (the Subject, From, ... header protection sealed there, and
/// their HP-Outer records), its MIME-Version unless the entity has one, then the entity's own
/// fields, its Content-Type carrying the wrapper's `hp="cipher"` and implicit-type markers, so
/// that [`restore`] reads the result as it would have read the wrapper. CRLF, with the empty
/// line.
pub fn unwrapped_header_section(wrapper: &[u8], entity: &[u8]) -> Result<Vec<u8>> {
    let wrapper = parse_fields(wrapper, "decrypted header section")?;
    let entity_fields = if entity.trim_ascii().is_empty() {
        Vec::new()
    } else {
        parse_fields(entity, "signed entity's header section")?.fields
    };
    let wrapper_type = wrapper.fields.iter().find(|f| f.is("Content-Type"));
    let mut markers = Vec::new();
    if wrapper_type.is_some_and(|f| f.parameter_is("hp", "cipher")) {
        markers.extend_from_slice(HP_CIPHER);
    }
    if wrapper_type.is_some_and(|f| f.parameter_is(IMPLICIT_PARAMETER, "yes")) {
        markers.extend_from_slice(format!("; {IMPLICIT_PARAMETER}=yes").as_bytes());
    }
    let mut out = Vec::with_capacity(wrapper.fields.len() * 64 + entity.len() + markers.len());
    for field in wrapper.fields.iter().filter(|f| !f.is_content()) {
        out.extend_from_slice(&crlf_field(field.raw));
    }
    if wrapper.fields.iter().any(|f| f.is("MIME-Version"))
        && !entity_fields.iter().any(|f| f.is("MIME-Version"))
    {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }
    let mut markers_pending = !markers.is_empty();
    for field in &entity_fields {
        let mut line = crlf_field(field.raw);
        if markers_pending && field.is("Content-Type") {
            // Before the field's final CRLF, after any folding, as `split` puts hp="cipher".
            let at = line.len().saturating_sub(2);
            line.splice(at..at, markers.iter().copied());
            markers_pending = false;
        }
        out.extend_from_slice(&line);
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// Does this entity's header section carry header protection (`hp="cipher"` on its
/// Content-Type, RFC 9788)? A section that does not parse does not.
pub fn has_header_protection(header_section: &[u8]) -> bool {
    parse_fields(header_section, "header section").is_ok_and(|section| {
        section
            .fields
            .iter()
            .find(|f| f.is("Content-Type"))
            .is_some_and(|f| f.parameter_is("hp", "cipher"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    const PROTECT: Protection = Protection {
        protect: true,
        keep_subject: false,
    };

    #[test]
    fn an_unwrapped_signed_entity_gets_the_wrapper_fields_and_markers() {
        let wrapper = b"Subject: real\r\nHP-Outer: Subject: [...]\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n boundary=b; hp=\"cipher\"\r\n\r\n";
        let entity = b"Content-Type: text/plain;\r\n charset=us-ascii\r\n\r\n";
        let head = unwrapped_header_section(wrapper, entity).unwrap();
        assert_eq!(
            text(&head),
            "Subject: real\r\nHP-Outer: Subject: [...]\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain;\r\n charset=us-ascii; hp=\"cipher\"\r\n\r\n"
        );
        assert!(has_header_protection(&head));
        assert!(!has_header_protection(entity));
        // Without markers on the wrapper the entity's fields stay as they are.
        let plain = b"Subject: s\r\nContent-Type: multipart/signed; boundary=b\r\n\r\n";
        let head = unwrapped_header_section(plain, entity).unwrap();
        assert_eq!(
            text(&head),
            "Subject: s\r\nContent-Type: text/plain;\r\n charset=us-ascii\r\n\r\n"
        );
    }

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
            b"From the team: hello\n",
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

    /// (input, is a message, header section length) for [`read_head`].
    const HEADS: [(&[u8], bool, usize); 17] = [
        (b"To: everyone - the password is hunter2\n", false, 0),
        (b"Date: today, token s3cr3t\nStatus: failed\n", false, 0),
        (b"From: root (Cron Daemon)\nTo: root\n\nout", true, 35),
        (b"Note: db password is hunter2\n", false, 0),
        (
            b"Build: 42\nStatus: failed\nDeploy-Token: s3cr3t\n",
            false,
            0,
        ),
        (b"https://ci.example.org/job?token=abc\n", false, 0),
        (b"build failed\nsee the log\n", false, 0),
        (b"", false, 0),
        (b"\x89PNG\r\n\x1a\n\0", false, 0),
        (b" From: a\n\nbody", false, 0),
        (b"From the team: hello\nTo: x\n\n", false, 0),
        (b"X-Api-Key: k\nTo: b@example.org\n\nbody\n", true, 32),
        (b"Subject: x\r\n\r\nbody", true, 14),
        (b"Subject: x\nthe text starts here\n\nmore\n", true, 11),
        (
            b"From MAILER-DAEMON Fri Apr 06 16:46:09 2001\nTo: b\n\n",
            true,
            51,
        ),
        (b"content-type: text/plain\n\nbody", true, 26),
        (b"To: b@example.org\nno colon\n", true, 18),
    ];

    #[test]
    fn read_head_takes_only_a_header_section_with_a_message_field_for_a_message() {
        for (input, is_message, len) in HEADS {
            let mut reader = std::io::BufReader::with_capacity(3, input);
            let head = read_head(&mut reader).unwrap();
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).unwrap();
            let name = String::from_utf8_lossy(input);
            assert_eq!(head.is_message(), is_message, "{name}");
            assert_eq!(head.header_section.len(), len, "{name}");
            assert_eq!(
                [&head.header_section[..], &head.body_start, &rest].concat(),
                input,
                "{name}: nothing lost or read twice"
            );
        }
    }

    #[test]
    fn more_field_lines_than_a_header_section_may_hold_are_text() {
        let input = b"Status: x\n".repeat(MAX_HEADER_SECTION / 10 + 1);
        let mut reader = &input[..];
        let head = read_head(&mut reader).unwrap();
        assert!(!head.is_message());
        assert_eq!([&head.body_start[..], reader].concat(), input);
    }

    #[test]
    fn an_mbox_line_needs_a_sender_and_a_date() {
        for line in [
            &b"From MAILER-DAEMON Fri Apr 06 16:46:09 2001\n"[..],
            b"From a@example.org  Sun Nov 26 21:40:36 2004\r\n",
            b"From - Mon Jan  1 00:00:00 2024",
        ] {
            assert!(is_mbox_line(line), "{}", String::from_utf8_lossy(line));
        }
        for line in [
            &b"From: a@example.org\n"[..],
            b"From the team: Monday 5\n",
            b"From a@example.org\n",
            b"From  Mon Jan 1 2024\n",
            b"From a Mon\n",
        ] {
            assert!(!is_mbox_line(line), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn raw_input_is_text_when_its_start_is_utf8_without_nul() {
        let text = raw_input_split("grüße\r\n".as_bytes(), true);
        assert_eq!(text.inner_header_section, RAW_TEXT_HEADER.as_bytes());
        assert_eq!(
            (text.body, text.line_ending),
            (BodyForm::Binary, LineEnding::CrLf)
        );
        assert!(text.outer_fields.is_empty());
        // A character cut at the end of the read-ahead is still text; at the end of the input not.
        let cut = &"ü".as_bytes()[..1];
        assert_eq!(
            raw_input_split(cut, false).inner_header_section,
            RAW_TEXT_HEADER.as_bytes()
        );
        for data in [cut, b"a\0b", b"\xff"] {
            assert_eq!(
                raw_input_split(data, true).inner_header_section,
                RAW_DATA_HEADER.as_bytes()
            );
        }
        let r = restore(None, RAW_DATA_HEADER.as_bytes(), LineEnding::Lf).unwrap();
        assert!(r.raw_input && r.body == BodyForm::Binary);
        let r = restore(
            Some(b"MIME-Version: 1.0\n\n"),
            RAW_TEXT_HEADER.as_bytes(),
            LineEnding::Lf,
        );
        assert!(r.unwrap().raw_input);
    }

    #[test]
    fn fields_added_in_transit_go_on_top_and_the_rest_keep_their_places() {
        let section = b"From MAILER-DAEMON Fri Apr 06 16:46:09 2001\nReturn-Path: <a>\n\
X-Api-Key: k\nReceived: by first; Fri, 6 Apr 2001 16:46:09 +0000\nFrom: a\nX-Other: o\nSubject: s\nList-Id: <l>\n\n";
        let s = split(section, PROTECT).unwrap();
        assert_eq!(
            text(&s.outer_fields),
            "From MAILER-DAEMON Fri Apr 06 16:46:09 2001\nReturn-Path: <a>\nReceived: by first; Fri, 6 Apr 2001 16:46:09 +0000\n\
From: a\nSubject: [...]\nList-Id: <l>\n"
        );
        let outer = [
            b"From MAILER-DAEMON Fri Apr 06 16:46:09 2001\nReceived: by relay\n",
            &s.outer_fields[44..],
            b"MIME-Version: 1.0\nContent-Type: application/pkcs7-mime\n\n",
        ]
        .concat();
        let r = restore(Some(&outer), &s.inner_header_section, LineEnding::Lf).unwrap();
        assert_eq!(
            text(&r.header_section),
            "From MAILER-DAEMON Fri Apr 06 16:46:09 2001\nReceived: by relay\nReturn-Path: <a>\n\
X-Api-Key: k\nReceived: by first; Fri, 6 Apr 2001 16:46:09 +0000\nFrom: a\nX-Other: o\nSubject: s\nList-Id: <l>\n\n"
        );
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
        let section = b"Received: from x\n\tby y; Fri, 6 Apr 2001 16:46:09 +0000\nFrom: A <a@example.org>\nTo: b@example.org\n\
Bcc: secret@example.org\nSubject: Quarterly\n numbers\nMIME-Version: 1.0\n\
Content-Type: text/plain;\n charset=utf-8\nX-Mailer: m\n\n";
        let s = split(section, PROTECT).unwrap();
        assert_eq!(
            text(&s.outer_fields),
            "Received: from x\n\tby y; Fri, 6 Apr 2001 16:46:09 +0000\nFrom: A <a@example.org>\nTo: b@example.org\n\
Subject: [...]\n"
        );
        assert_eq!(
            text(&s.inner_header_section),
            "HP-Outer: Received: from x\r\n\tby y; Fri, 6 Apr 2001 16:46:09 +0000\r\n\
From: A <a@example.org>\r\nHP-Outer: From: A <a@example.org>\r\n\
To: b@example.org\r\nHP-Outer: To: b@example.org\r\n\
Subject: Quarterly\r\n numbers\r\nHP-Outer: Subject: [...]\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain;\r\n charset=utf-8; hp=\"cipher\"\r\n\
X-Mailer: m\r\n\r\n"
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
        let fields = parse_fields(section, "t").unwrap().fields;
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
