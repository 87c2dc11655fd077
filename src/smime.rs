//! The S/MIME wrapper around CMS bytes, both directions: `application/pkcs7-mime` MIME parts with
//! base64 in 76-character lines, `-----BEGIN CMS-----` PEM, or raw DER; and auto-detection of
//! which of those an input is. Streaming: nothing here holds a whole message.
//!
//! This module knows nothing of CMS itself (that is [`crate::cms`]) nor of the outer message's
//! routing headers (that is [`crate::message`]): it moves opaque CMS bytes in and out of their
//! transport framing. It never dispatches on the MIME `smime-type` label, because agents disagree
//! on it (neomutt labels everything `enveloped-data`); the CMS content type inside decides.
//!
//! Both base64 directions work in large blocks: the encoder (SIMD, `base64-simd`) consumes whole
//! lines' worth of input (57 bytes per 76-character line) and carries the rest; the decoder (the
//! `base64` crate's engine) strips line breaks from a whole buffer at a time and decodes complete 4-character
//! groups, keeping the padding group for the end.

use crate::error::{Error, Result};
use crate::message::LineEnding;
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use std::io::{self, BufRead, Read, Write};

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

/// The content header fields of the S/MIME part (SPEC §1), written after the outer fields; the
/// Content-Type, with its `smime-type`, comes between the first and the second.
const SMIME_CONTENT_FIELDS: [&str; 3] = [
    "MIME-Version: 1.0",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: attachment; filename=\"smime.p7m\"",
];

/// The `smime-type` of the S/MIME part (RFC 8551 §3.2.2): it follows the CMS content inside.
/// neomutt and mutt recognise only `enveloped-data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmimeType {
    AuthEnvelopedData,
    EnvelopedData,
}

impl SmimeType {
    fn label(self) -> &'static str {
        match self {
            SmimeType::AuthEnvelopedData => "authEnveloped-data",
            SmimeType::EnvelopedData => "enveloped-data",
        }
    }
}

/// RFC 2045 §6.8: "The encoded output stream must be represented in lines of no more than 76
/// characters each."
const MIME_LINE: usize = 76;
/// RFC 7468 §2: "Generators MUST wrap the base64-encoded lines so that each line consists of
/// exactly 64 characters except for the final line".
const PEM_LINE: usize = 64;
/// Lines encoded per block: big enough that the engine runs at full speed, small enough to stay
/// in cache (4096 MIME lines = 228 KiB of input).
const LINES_PER_BLOCK: usize = 4096;

const PEM_BEGIN: &[u8] = b"-----BEGIN ";
/// The PEM labels that carry a CMS ContentInfo: RFC 7468 §9 names `CMS` and says parsers should
/// also accept `PKCS7`, which openssl writes for `-outform PEM` of `openssl smime`.
const PEM_LABELS: [&str; 2] = ["CMS", "PKCS7"];

impl LineEnding {
    fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
        }
    }
}

/// A writer that frames the CMS bytes written to it in the chosen form.
pub trait EnvelopeSink: Write {
    /// Write any trailer (final base64 line, PEM END line) and flush.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// Start the output: for `Smime`, `outer_fields` (already in `line_ending`) then the S/MIME
/// content headers and the empty line; for `Pem` the BEGIN line; for `Der` nothing.
///
/// `outer_fields` only go into `Smime` output (PEM and DER have no headers). The headers are
/// written at once; the CMS bytes written to the returned sink are encoded as they come, and
/// [`EnvelopeSink::finish`] writes the last line and the trailer: a sink dropped without
/// `finish` leaves the output truncated, which is why it goes to an uncommitted `io::Output`.
pub fn envelope_writer<'a>(
    form: OutForm,
    outer_fields: &[u8],
    line_ending: LineEnding,
    out: Box<dyn Write + 'a>,
) -> Result<Box<dyn EnvelopeSink + 'a>> {
    envelope_writer_for(
        SmimeType::AuthEnvelopedData,
        form,
        outer_fields,
        line_ending,
        out,
    )
}

/// [`envelope_writer`] for an envelope of the given S/MIME type.
pub fn envelope_writer_for<'a>(
    smime_type: SmimeType,
    form: OutForm,
    outer_fields: &[u8],
    line_ending: LineEnding,
    mut out: Box<dyn Write + 'a>,
) -> Result<Box<dyn EnvelopeSink + 'a>> {
    let eol = line_ending.bytes();
    match form {
        OutForm::Der => Ok(Box::new(RawSink { out })),
        OutForm::Smime => {
            let mut head = Vec::with_capacity(outer_fields.len() + 256);
            head.extend_from_slice(outer_fields);
            let content_type = format!(
                "Content-Type: application/pkcs7-mime; smime-type={}; name=\"smime.p7m\"",
                smime_type.label()
            );
            let [first, rest @ ..] = SMIME_CONTENT_FIELDS;
            for field in [first, content_type.as_str()].into_iter().chain(rest) {
                head.extend_from_slice(field.as_bytes());
                head.extend_from_slice(eol);
            }
            head.extend_from_slice(eol);
            out.write_all(&head)?;
            Ok(Box::new(Base64Writer::new(out, MIME_LINE, eol, Vec::new())))
        }
        OutForm::Pem => {
            let mut begin = b"-----BEGIN CMS-----".to_vec();
            begin.extend_from_slice(eol);
            out.write_all(&begin)?;
            let mut end = b"-----END CMS-----".to_vec();
            end.extend_from_slice(eol);
            Ok(Box::new(Base64Writer::new(out, PEM_LINE, eol, end)))
        }
    }
}

/// DER out: the bytes as they are.
struct RawSink<'a> {
    out: Box<dyn Write + 'a>,
}

impl Write for RawSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl EnvelopeSink for RawSink<'_> {
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// Base64 in fixed-length lines, every line (the last one too) ended with `eol`.
///
/// Input is encoded whole lines at a time (up to a block of them per call); what does not fill
/// a line waits in `carry` for the next write or for `finish`.
struct Base64Writer<'a> {
    lines: LineEncoder<'a>,
    /// Written after the last line (the PEM END line), already line-ended.
    trailer: Vec<u8>,
    /// Input bytes not yet encoded; always shorter than one line.
    carry: Vec<u8>,
}

/// Encodes whole lines and writes them out.
struct LineEncoder<'a> {
    out: Box<dyn Write + 'a>,
    /// Characters per line (a multiple of 4).
    line_chars: usize,
    eol: &'static [u8],
    /// One block's base64 without line breaks, then with them.
    encoded: Vec<u8>,
    lined: Vec<u8>,
}

impl<'a> Base64Writer<'a> {
    fn new(
        out: Box<dyn Write + 'a>,
        line_chars: usize,
        eol: &'static [u8],
        trailer: Vec<u8>,
    ) -> Self {
        Base64Writer {
            lines: LineEncoder {
                out,
                line_chars,
                eol,
                encoded: Vec::with_capacity(line_chars * LINES_PER_BLOCK),
                lined: Vec::with_capacity((line_chars + eol.len()) * LINES_PER_BLOCK),
            },
            trailer,
            carry: Vec::with_capacity(line_chars / 4 * 3),
        }
    }
}

impl LineEncoder<'_> {
    /// Input bytes per line.
    fn line_len(&self) -> usize {
        self.line_chars / 4 * 3
    }

    /// Input bytes encoded at most in one go: a whole number of lines.
    fn block_len(&self) -> usize {
        self.line_len() * LINES_PER_BLOCK
    }

    /// Encode `input` (whole lines, except at the very end) and write it out with line breaks.
    ///
    /// The block is encoded in one go (SIMD, `base64-simd`) and then cut into lines: encoding each
    /// 57-byte line on its own measured slower than the extra copy.
    fn encode_out(&mut self, input: &[u8]) -> io::Result<()> {
        if input.is_empty() {
            return Ok(());
        }
        let engine = &base64_simd::STANDARD;
        // The buffer only ever grows (to one block's worth), so it is zeroed once.
        let len = engine.encoded_length(input.len());
        if self.encoded.len() < len {
            self.encoded.resize(len, 0);
        }
        let encoded = &mut self.encoded[..len];
        let _ = engine.encode(input, base64_simd::Out::from_slice(encoded));
        let lined = &mut self.lined;
        lined.clear();
        match (self.line_chars, self.eol) {
            (MIME_LINE, b"\r\n") => cut_lines::<MIME_LINE, 2>(encoded, lined),
            (MIME_LINE, b"\n") => cut_lines::<MIME_LINE, 1>(encoded, lined),
            (line_chars, eol) => {
                for line in encoded.chunks(line_chars) {
                    lined.extend_from_slice(line);
                    lined.extend_from_slice(eol);
                }
            }
        }
        self.out.write_all(lined)
    }
}

/// `encoded` cut into lines of `LINE` characters, each ended with CRLF (`EOL` 2) or LF (1), and
/// appended to `lined`. With the lengths known at compile time the copies are inlined moves
/// rather than two `memcpy` calls per 76-character line (measured: a third of the time base64
/// output took on a 100 MiB message).
fn cut_lines<const LINE: usize, const EOL: usize>(encoded: &[u8], lined: &mut Vec<u8>) {
    let whole = encoded.len() / LINE;
    let start = lined.len();
    lined.resize(start + whole * (LINE + EOL), b'\n');
    let (lines, last) = encoded.split_at(whole * LINE);
    let out = lined.get_mut(start..).unwrap_or_default();
    for (dst, src) in out
        .chunks_exact_mut(LINE + EOL)
        .zip(lines.chunks_exact(LINE))
    {
        let (text, end) = dst.split_at_mut(LINE);
        text.copy_from_slice(src);
        if EOL == 2 {
            end[0] = b'\r';
        }
    }
    if !last.is_empty() {
        lined.extend_from_slice(last);
        lined.extend_from_slice(if EOL == 2 { b"\r\n" } else { b"\n" });
    }
}

impl Write for Base64Writer<'_> {
    /// Encodes every whole line there is, straight from `buf`; only the bytes of a line cut by
    /// the end of `buf` are copied (into `carry`).
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let total = buf.len();
        let line = self.lines.line_len();
        if !self.carry.is_empty() {
            let want = (line - self.carry.len()).min(buf.len());
            let (head, rest) = buf.split_at(want);
            self.carry.extend_from_slice(head);
            buf = rest;
            if self.carry.len() < line {
                return Ok(total);
            }
            self.lines.encode_out(&self.carry)?;
            self.carry.clear();
        }
        let whole = buf.len() / line * line;
        let (lines, rest) = buf.split_at(whole);
        for block in lines.chunks(self.lines.block_len()) {
            self.lines.encode_out(block)?;
        }
        self.carry.extend_from_slice(rest);
        Ok(total)
    }

    /// Flushes the underlying writer only: bytes that do not yet fill a line stay carried,
    /// because encoding them now would put padding in the middle of the stream.
    fn flush(&mut self) -> io::Result<()> {
        self.lines.out.flush()
    }
}

impl EnvelopeSink for Base64Writer<'_> {
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.lines.encode_out(&self.carry)?;
        self.carry.clear();
        self.lines.out.write_all(&self.trailer)?;
        self.lines.out.flush()?;
        Ok(())
    }
}

/// An input opened as an envelope: where the CMS bytes come from, and what surrounded them.
pub struct OpenedEnvelope<'a> {
    /// The form the input was read as (never `Auto`).
    pub form: InForm,
    /// The MIME header section of the S/MIME message, when the input was MIME: every byte up to
    /// and including the empty line, as received.
    pub header_section: Option<Vec<u8>>,
    /// The line ending of the input when it was text (MIME or PEM).
    pub line_ending: Option<LineEnding>,
    /// The CMS DER/BER bytes (base64 already decoded). Errors in the framing (malformed base64,
    /// a missing PEM END line) come out of `read` as `io::Error`s wrapping an [`Error`] of kind
    /// `Data`; `Error::from` turns them back.
    pub cms: Box<dyn Read + 'a>,
}

/// Open an input as an S/MIME, PEM or DER envelope (SPEC §1), detecting which unless `form`
/// forces one:
///
/// - first non-blank bytes `-----BEGIN` → PEM (labels `CMS` and `PKCS7`);
/// - first byte `0x30` (a SEQUENCE: the ContentInfo) → DER or BER, passed through;
/// - anything else → a MIME entity whose Content-Type must be `application/pkcs7-mime` or
///   `application/x-pkcs7-mime` (whatever its `smime-type`), or `application/octet-stream` named
///   `*.p7m`.
pub fn open_envelope<'a>(input: Box<dyn BufRead + 'a>, form: InForm) -> Result<OpenedEnvelope<'a>> {
    let (mut input, form) = match form {
        InForm::Auto => detect(input)?,
        forced => (input, forced),
    };
    match form {
        InForm::Der => {
            if input.fill_buf()?.is_empty() {
                return Err(empty_input());
            }
            Ok(OpenedEnvelope {
                form,
                header_section: None,
                line_ending: None,
                cms: input,
            })
        }
        InForm::Pem => open_pem(input),
        // `detect` never answers Auto; a forced Auto cannot reach here either.
        InForm::Smime | InForm::Auto => open_mime(input),
    }
}

fn empty_input() -> Error {
    Error::data("the input is empty").with_hint("give an S/MIME message, PEM or DER CMS file")
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

/// Look at the first bytes and say which form the input is in. Leading blank space is skipped
/// (a PEM file may start with it); what was looked at is put back in front of the stream.
fn detect<'a>(mut input: Box<dyn BufRead + 'a>) -> Result<(Box<dyn BufRead + 'a>, InForm)> {
    // Leading blanks can only come before PEM: skip them without keeping them.
    let mut skipped_blank = false;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Err(empty_input());
        }
        let blanks = buf.iter().take_while(|&&b| is_blank(b)).count();
        let all = blanks == buf.len();
        input.consume(blanks);
        skipped_blank |= blanks > 0;
        if !all {
            break;
        }
    }
    // Gather enough bytes to compare with "-----BEGIN " even if the reader hands them over a
    // few at a time (a pipe), then put them back in front.
    let mut head = Vec::with_capacity(PEM_BEGIN.len());
    while head.len() < PEM_BEGIN.len() {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len().min(PEM_BEGIN.len() - head.len());
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        input.consume(n);
    }
    let form = if head.starts_with(PEM_BEGIN) {
        InForm::Pem
    } else if skipped_blank {
        return Err(
            Error::data("the input is not an S/MIME message: it starts with blank space")
                .with_hint("give an S/MIME message, PEM or DER CMS file"),
        );
    } else if head.first() == Some(&0x30) {
        InForm::Der
    } else {
        InForm::Smime
    };
    let input: Box<dyn BufRead + 'a> = Box::new(io::Cursor::new(head).chain(input));
    Ok((input, form))
}

/// Longest line accepted around the base64 (PEM BEGIN/END lines).
const MAX_PEM_LINE: u64 = 1024;

fn open_pem<'a>(mut input: Box<dyn BufRead + 'a>) -> Result<OpenedEnvelope<'a>> {
    // Skip blank lines before the BEGIN line (forced --inform pem skips no detection).
    let mut line = Vec::new();
    loop {
        line.clear();
        (&mut input)
            .take(MAX_PEM_LINE)
            .read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(
                Error::data("the input is not PEM: no -----BEGIN CMS----- line")
                    .with_hint("use --inform smime or --inform der if that is what it is"),
            );
        }
        if !line.iter().all(|&b| is_blank(b)) {
            break;
        }
    }
    let line_ending = if line.ends_with(b"\r\n") {
        LineEnding::CrLf
    } else {
        LineEnding::Lf
    };
    let text = String::from_utf8_lossy(&line);
    let label = text
        .trim()
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.strip_suffix("-----"))
        .map(str::to_owned);
    let label = match label {
        Some(label) if PEM_LABELS.contains(&label.as_str()) => label,
        Some(label) => {
            return Err(Error::data(format!(
                "the input is PEM \"{label}\", not CMS (-----BEGIN CMS----- or PKCS7)"
            ))
            .with_hint("is this a key or a certificate rather than an encrypted message?"));
        }
        None => {
            return Err(
                Error::data("the input is not PEM: no -----BEGIN CMS----- line")
                    .with_hint("use --inform smime or --inform der if that is what it is"),
            );
        }
    };
    Ok(OpenedEnvelope {
        form: InForm::Pem,
        header_section: None,
        line_ending: Some(line_ending),
        cms: Box::new(Base64Reader::new(input, Some(label))),
    })
}

fn open_mime<'a>(mut input: Box<dyn BufRead + 'a>) -> Result<OpenedEnvelope<'a>> {
    let header_section = crate::message::read_header_section(&mut *input).map_err(|e| {
        Error::data(format!(
            "the input is not an S/MIME message ({})",
            e.message()
        ))
        .with_hint("sealmail decrypt reads S/MIME messages, PEM (-----BEGIN CMS-----) and DER")
    })?;
    if header_section.iter().all(|&b| is_blank(b)) {
        return Err(empty_input());
    }
    let line_ending = crate::message::line_ending_of(&header_section);
    let encoding = check_smime_headers(crate::message::without_mbox_line(&header_section))?;
    let cms: Box<dyn Read + 'a> = match encoding {
        Encoding::Base64 => Box::new(Base64Reader::new(input, None)),
        Encoding::Raw => {
            if input.fill_buf()?.is_empty() {
                return Err(Error::data("the S/MIME message has no body"));
            }
            input
        }
    };
    Ok(OpenedEnvelope {
        form: InForm::Smime,
        header_section: Some(header_section),
        line_ending: Some(line_ending),
        cms,
    })
}

enum Encoding {
    Base64,
    /// binary, 8bit, 7bit or none: the body is the CMS bytes.
    Raw,
}

/// Check that a header section is an S/MIME encrypted part and say how its body is encoded.
fn check_smime_headers(header_section: &[u8]) -> Result<Encoding> {
    use mail_parser::{MessageParser, MimeHeaders};
    let not_smime = |what: &str| {
        Error::data(format!(
            "the input is not an S/MIME encrypted message ({what})"
        ))
        .with_hint(
            "decrypt reads application/pkcs7-mime messages, PEM (-----BEGIN CMS-----) or DER",
        )
    };
    let Some(parsed) = MessageParser::new().parse_headers(header_section) else {
        return Err(not_smime("no MIME header fields"));
    };
    let Some(ct) = parsed.content_type() else {
        return Err(not_smime("no Content-Type"));
    };
    let ctype = ct.ctype().to_ascii_lowercase();
    let subtype = ct.subtype().unwrap_or_default().to_ascii_lowercase();
    let named_p7m = || {
        let name = ct.attribute("name").or_else(|| {
            parsed
                .content_disposition()
                .and_then(|d| d.attribute("filename"))
        });
        name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".p7m"))
    };
    let is_smime = ctype == "application"
        && (matches!(subtype.as_str(), "pkcs7-mime" | "x-pkcs7-mime")
            || (subtype == "octet-stream" && named_p7m()));
    if !is_smime {
        let err = not_smime(&format!("Content-Type: {ctype}/{subtype}"));
        return Err(if subtype == "signed" || subtype == "pkcs7-signature" {
            err.with_hint("this message is signed, not encrypted; there is nothing to decrypt")
        } else {
            err
        });
    }
    let cte = parsed
        .content_transfer_encoding()
        .map(|c| c.trim().to_ascii_lowercase());
    match cte.as_deref() {
        Some("base64") => Ok(Encoding::Base64),
        None | Some("binary" | "8bit" | "7bit" | "") => Ok(Encoding::Raw),
        Some(other) => Err(Error::data(format!(
            "the S/MIME part has an unsupported Content-Transfer-Encoding: {other}"
        ))),
    }
}

/// Byte classes for the base64 decoder: alphabet, blank (skipped), and the rest, which needs a
/// closer look ('=' padding, '-' of a PEM END line, or an error).
const ALPHA: u8 = 1;
const BLANK: u8 = 2;
const OTHER: u8 = 4;

const CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            t[i] = ALPHA;
        } else if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c') {
            t[i] = BLANK;
        }
        i += 1;
    }
    t
};

/// Decoding accepts the last group with or without its `=` padding; non-zero trailing bits are
/// still refused, so there is exactly one encoding of each input.
const DECODER: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Input bytes taken per decoding step.
const STEP: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeState {
    Body,
    /// After the first `=`: only more `=`, blanks and (PEM) the END line may follow.
    Padding,
    Done,
}

/// Streams the bytes of a base64 body, skipping blanks and line breaks, up to the end of input
/// (MIME) or the END line (PEM).
///
/// Each step takes up to [`STEP`] input bytes. The fast path drops the line breaks with one
/// copy per line and lets the engine check every character while it decodes; only when that
/// fails, or the step ends in something that is not base64, is the step scanned byte by byte
/// (blanks inside lines, padding, the PEM END line, or a real error to report).
struct Base64Reader<'a> {
    input: Box<dyn BufRead + 'a>,
    /// The PEM label whose END line ends the base64; `None` for MIME (base64 to end of input).
    pem_label: Option<String>,
    state: DecodeState,
    /// Base64 characters (and padding) not yet decoded: fewer than four between steps, except
    /// after padding.
    clean: Vec<u8>,
    /// Decoded bytes: `out[out_pos..out_len]` are not yet handed out.
    out: Vec<u8>,
    out_pos: usize,
    out_len: usize,
    /// Decoded bytes so far, to refuse an empty body.
    decoded_total: u64,
    /// Input bytes consumed so far, to say where a bad byte is.
    offset: u64,
}

/// What a base64 decoding error means for the message, in words: the decoder's own text (with
/// offsets into our internal buffer) means nothing to the user.
fn decode_failure(err: base64::DecodeSliceError) -> io::Error {
    use base64::{DecodeError, DecodeSliceError};
    malformed(match err {
        DecodeSliceError::DecodeError(DecodeError::InvalidByte(_, b'=')) => {
            "'=' padding appears before the end of the data".to_string()
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidByte(_, b)) => {
            format!("byte 0x{b:02x} is not a base64 character")
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidLength(_)) => {
            "the base64 text ends in the middle of a group (truncated?)".to_string()
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidLastSymbol(_, _)) => {
            "the last base64 character does not end the data cleanly (truncated or altered?)"
                .to_string()
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidPadding) => {
            "the '=' padding at the end is wrong".to_string()
        }
        DecodeSliceError::OutputSliceTooSmall => "the base64 text cannot be decoded".to_string(),
    })
}

fn malformed(what: impl std::fmt::Display) -> io::Error {
    Error::data(format!("malformed base64 in the input: {what}"))
        .with_hint("the message may have been damaged in transit")
        .into()
}

impl<'a> Base64Reader<'a> {
    fn new(input: Box<dyn BufRead + 'a>, pem_label: Option<String>) -> Self {
        Base64Reader {
            input,
            pem_label,
            state: DecodeState::Body,
            clean: Vec::with_capacity(STEP + 4),
            // Room for one step's worth of decoded bytes; allocated once, never zeroed again.
            out: vec![0; STEP / 4 * 3 + 3],
            out_pos: 0,
            out_len: 0,
            decoded_total: 0,
            offset: 0,
        }
    }

    /// Decode `clean[..len]` into `out` (which is empty), and drop it from `clean`.
    ///
    /// The bulk, whole groups before the last one, goes through the SIMD decoder (`base64-simd`):
    /// whole groups without padding have one meaning only, so (padding refused by length) it
    /// cannot accept what `DECODER` refuses. The last group, where padding and trailing bits are decided, goes through
    /// `DECODER`; and when the SIMD decoder refuses the bulk, `DECODER` decodes all of it again,
    /// so that errors are exactly what they always were.
    fn decode_prefix(&mut self, len: usize) -> Result<(), base64::DecodeSliceError> {
        let src = self.clean.get(..len).unwrap_or_default();
        let need = len.div_ceil(4) * 3;
        if self.out.len() < need {
            self.out.resize(need, 0);
        }
        let bulk = len.saturating_sub(1) / 4 * 4;
        let fast = match (
            src.split_at_checked(bulk),
            self.out.split_at_mut_checked(bulk / 4 * 3),
        ) {
            (Some((body, last)), Some((body_out, last_out))) => base64_simd::STANDARD
                .decode(body, base64_simd::Out::from_slice(body_out))
                .ok()
                // Shorter means the bulk ended in padding: not the end, so not valid here.
                .filter(|decoded| decoded.len() == bulk / 4 * 3)
                .and_then(|_| DECODER.decode_slice(last, last_out).ok())
                .map(|n| bulk / 4 * 3 + n),
            _ => None,
        };
        let n = match fast {
            Some(n) => n,
            None => DECODER.decode_slice(src, &mut self.out)?,
        };
        self.out_pos = 0;
        self.out_len = n;
        self.decoded_total += n as u64;
        self.clean.drain(..len);
        Ok(())
    }

    /// The base64 has ended: decode what is left, which may be a short or padded last group.
    fn finish(&mut self) -> io::Result<()> {
        self.state = DecodeState::Done;
        if self.clean.iter().filter(|&&b| b != b'=').count() % 4 == 1 {
            return Err(malformed("it ends in the middle of a group"));
        }
        self.decode_prefix(self.clean.len())
            .map_err(decode_failure)?;
        if self.decoded_total == 0 {
            return Err(Error::data("the input has no base64 content")
                .with_hint("is the message empty or truncated?")
                .into());
        }
        Ok(())
    }

    /// Read and check the PEM END line; its first byte is next in `input`.
    fn read_end_line(&mut self) -> io::Result<()> {
        let mut line = Vec::new();
        (&mut self.input)
            .take(MAX_PEM_LINE)
            .read_until(b'\n', &mut line)?;
        let label = self.pem_label.as_deref().unwrap_or_default();
        let expected = format!("-----END {label}-----");
        if String::from_utf8_lossy(&line).trim() != expected {
            return Err(
                Error::data(format!("malformed PEM in the input: expected {expected}")).into(),
            );
        }
        Ok(())
    }

    /// Decode the next step of input into `out`, or reach the end of the base64.
    fn fill(&mut self) -> io::Result<()> {
        while self.state != DecodeState::Done && self.out_pos >= self.out_len {
            self.out_pos = 0;
            self.out_len = 0;
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                if let Some(label) = &self.pem_label {
                    return Err(Error::data(format!(
                        "malformed PEM in the input: no -----END {label}----- line"
                    ))
                    .with_hint("the file may be truncated")
                    .into());
                }
                return self.finish();
            }
            let chunk = chunk.get(..chunk.len().min(STEP)).unwrap_or_default();
            let used = chunk.len();
            let carried = self.clean.len();

            if self.state == DecodeState::Body {
                strip_line_breaks(chunk, &mut self.clean);
                let whole = self.clean.len() / 4 * 4;
                // What waits for the next step must be plain base64, so that a PEM END line or
                // a blank cut by the step boundary is seen by the careful path.
                let tail_ok = self
                    .clean
                    .get(whole..)
                    .unwrap_or_default()
                    .iter()
                    .all(|&b| CLASS[b as usize] == ALPHA || b == b'=');
                let ends_padded = whole > 0 && self.clean.get(whole - 1) == Some(&b'=');
                // Padding ends the data: nothing but blanks may follow it.
                let tail_ok = tail_ok && !(ends_padded && self.clean.len() > whole);
                if tail_ok && self.decode_prefix(whole).is_ok() {
                    if ends_padded {
                        self.state = DecodeState::Padding;
                    }
                    self.input.consume(used);
                    self.offset += used as u64;
                    continue;
                }
                self.clean.truncate(carried);
            }

            let pem = self.pem_label.is_some();
            let chunk = self.input.fill_buf()?;
            let chunk = chunk.get(..chunk.len().min(STEP)).unwrap_or_default();
            let scanned = scan_slow(chunk, &mut self.clean, &mut self.state, pem);
            let used = match scanned {
                Scan::All => chunk.len(),
                Scan::EndLine(at) => at,
                Scan::Bad(at, b)
                    if self.state == DecodeState::Padding && CLASS[b as usize] == ALPHA =>
                {
                    return Err(malformed(format!(
                        "more base64 follows the '=' padding that ends it (offset {})",
                        self.offset + at as u64
                    )));
                }
                Scan::Bad(at, b) => {
                    return Err(malformed(format!(
                        "byte 0x{b:02x} at offset {} is not base64",
                        self.offset + at as u64
                    )));
                }
            };
            self.input.consume(used);
            self.offset += used as u64;
            if matches!(scanned, Scan::EndLine(_)) {
                self.read_end_line()?;
                return self.finish();
            }
            if self.state == DecodeState::Body {
                let whole = self.clean.len() / 4 * 4;
                self.decode_prefix(whole).map_err(decode_failure)?;
            }
        }
        Ok(())
    }
}

/// Append `chunk` to `clean` without its line breaks: each `\n`, and a `\r` ending a line.
/// One copy per line; the position of the next `\n` is guessed from the length of the last
/// line, since base64 lines are all alike. Any other blank stays, for the engine to refuse and
/// the careful path to skip.
fn strip_line_breaks(chunk: &[u8], clean: &mut Vec<u8>) {
    let mut rest = chunk;
    let mut last = 0;
    while !rest.is_empty() {
        let len = if last > 0 && rest.get(last - 1) == Some(&b'\n') {
            last
        } else {
            rest.iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1)
        };
        let (line, tail) = rest.split_at(len.min(rest.len()));
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        clean.extend_from_slice(line);
        last = len;
        rest = tail;
    }
}

enum Scan {
    /// The whole chunk was taken.
    All,
    /// A PEM END line starts at this offset.
    EndLine(usize),
    /// This byte at this offset cannot be in base64 here.
    Bad(usize, u8),
}

/// The careful path: byte by byte, following padding and the PEM END line.
fn scan_slow(chunk: &[u8], clean: &mut Vec<u8>, state: &mut DecodeState, pem: bool) -> Scan {
    for (i, &b) in chunk.iter().enumerate() {
        let class = CLASS[b as usize];
        if class == BLANK {
            continue;
        }
        match (*state, b) {
            (DecodeState::Body, _) if class == ALPHA => clean.push(b),
            // A last group has at most two padding characters.
            (DecodeState::Padding, b'=') if clean.ends_with(b"==") => return Scan::Bad(i, b),
            (DecodeState::Body | DecodeState::Padding, b'=') => {
                *state = DecodeState::Padding;
                clean.push(b);
            }
            (_, b'-') if pem => return Scan::EndLine(i),
            _ => return Scan::Bad(i, b),
        }
    }
    Scan::All
}

impl Read for Base64Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.fill()?;
        let avail = self.out.get(self.out_pos..self.out_len).unwrap_or_default();
        let n = avail.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(avail.get(..n).unwrap_or_default());
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The reference the SIMD encoder is checked against.
    use base64::engine::general_purpose::STANDARD;

    fn lines(encoded: &str, width: usize, eol: &str) -> String {
        let mut s = String::new();
        for chunk in encoded.as_bytes().chunks(width) {
            s.push_str(std::str::from_utf8(chunk).unwrap());
            s.push_str(eol);
        }
        s
    }

    fn encode_smime_body(data: &[u8], eol: LineEnding, chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut sink = envelope_writer(OutForm::Smime, b"", eol, Box::new(&mut out)).unwrap();
            for piece in data.chunks(chunk.max(1)) {
                sink.write_all(piece).unwrap();
            }
            sink.finish().unwrap();
        }
        let head_len = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
        let head_len =
            head_len.or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| i + 2));
        out.split_off(head_len.unwrap())
    }

    #[test]
    fn encoder_lines_match_one_shot_encode() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for len in [0, 1, 2, 3, 56, 57, 58, 114, 4999] {
            for chunk in [1, 7, 57, 1000, 100_000] {
                let body = encode_smime_body(&data[..len], LineEnding::Lf, chunk);
                let expected = lines(&STANDARD.encode(&data[..len]), 76, "\n");
                assert_eq!(
                    String::from_utf8(body).unwrap(),
                    expected,
                    "len {len} chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn line_breaks_are_stripped_and_other_blanks_kept() {
        let mut clean = b"xy".to_vec();
        strip_line_breaks(b"QUJD\r\nQUJD\r\nQU\nJD \t\r\nRA\r", &mut clean);
        assert_eq!(clean, b"xyQUJDQUJDQUJD \tRA");
        let mut clean = Vec::new();
        strip_line_breaks(b"\n\n\r\nAB", &mut clean);
        assert_eq!(clean, b"AB");
    }

    fn decode_all(base64: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Base64Reader::new(Box::new(base64), None).read_to_end(&mut out)?;
        Ok(out)
    }

    /// The SIMD bulk decoder must not take a padded group in the middle as the end of the data
    /// (it decodes a padded group happily on its own).
    #[test]
    fn padding_in_the_middle_is_refused_on_the_fast_path_too() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let encoded = lines(&STANDARD.encode(&data), 76, "\n").into_bytes();
        assert_eq!(decode_all(&encoded).unwrap(), data);
        // "QQ==" (one byte, padded) where the second-to-last whole group should be: the last
        // group of the SIMD bulk, and then one more group of data.
        let mut bad = encoded.clone();
        let at = bad.len() - 1 - 8;
        bad.splice(at..at + 4, *b"QQ==");
        let err = Error::from(decode_all(&bad).unwrap_err());
        assert_eq!(err.kind(), crate::Kind::Data);
        assert!(err.message().contains("malformed base64"), "{err:?}");
        // At the very end is the one valid place for it.
        let mut end = bad[..at + 4].to_vec();
        end.push(b'\n');
        let mut expected = data[..data.len() - 6].to_vec();
        expected.push(b'A');
        assert_eq!(decode_all(&end).unwrap(), expected);
    }

    #[test]
    fn slow_scan_stops_at_end_line_and_refuses_data_after_padding() {
        let mut clean = Vec::new();
        let mut state = DecodeState::Body;
        assert!(matches!(
            scan_slow(b"QQ==\n-----END", &mut clean, &mut state, true),
            Scan::EndLine(5)
        ));
        assert_eq!(clean, b"QQ==");
        let mut state = DecodeState::Body;
        assert!(matches!(
            scan_slow(b"QQ==QQ", &mut Vec::new(), &mut state, false),
            Scan::Bad(4, b'Q')
        ));
        let mut state = DecodeState::Body;
        assert!(matches!(
            scan_slow(b"QQ-", &mut Vec::new(), &mut state, false),
            Scan::Bad(2, b'-')
        ));
    }
}
