//! Compose mode (`--from/--to/--cc/--subject/--attach`): build a complete RFC 5322 message from a
//! plain-text body with mail-builder (Date, Message-ID, MIME-Version, RFC 2047 encoded-words,
//! text/plain or multipart/mixed with base64 attachments); and read the addresses out of a header
//! section for `--header-recipients`, with mail-parser.
//!
//! Not for: encryption or header protection; the composed message goes through `encrypt` like any
//! other message.

use crate::app::Compose;
use crate::error::{Error, Result};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::mime::MimePart;
use mail_parser::MessageParser;
use std::path::Path;

/// Build the message. The body must be UTF-8 text; attachments are read whole (they are mail
/// attachments, not the bulk path).
pub fn build(compose: &Compose, body: &[u8]) -> Result<Vec<u8>> {
    let body = std::str::from_utf8(body).map_err(|_| {
        Error::data("the message body is not UTF-8 text")
            .with_hint("send binary data as an attachment with --attach FILE")
    })?;
    let mut builder = MessageBuilder::new();
    if let Some(from) = &compose.from {
        builder = builder.from(address(from)?);
    }
    if !compose.to.is_empty() {
        builder = builder.to(address_list(&compose.to)?);
    }
    if !compose.cc.is_empty() {
        builder = builder.cc(address_list(&compose.cc)?);
    }
    if let Some(subject) = &compose.subject {
        builder = builder.subject(subject.as_str());
    }
    // mail-builder writes CRLF; the body follows suit so the message is consistent while it is
    // built. The result is then turned into LF, the local convention: the output goes to
    // `sendmail -t`, which reads LF lines (encrypt restores CRLF inside, RFC 8551 §3.1.1).
    let body = String::from_utf8(crate::entity::to_crlf(body.as_bytes()))
        .unwrap_or_else(|_| body.to_string());
    if compose.attach.is_empty() {
        builder = builder.text_body(body);
    } else {
        let mut parts = vec![MimePart::new("text/plain", body)];
        for path in &compose.attach {
            parts.push(attachment(path)?);
        }
        builder = builder.body(MimePart::new("multipart/mixed", parts));
    }
    let message = builder.write_to_vec().map_err(|e| {
        Error::io(format!(
            "cannot build the message: {}",
            crate::error::io_reason(&e)
        ))
    })?;
    Ok(crate::entity::to_lf(&message))
}

/// One `--attach FILE`: always base64 (mail-builder would pick quoted-printable for text, which
/// some transports rewrap), named after the file, its content type guessed from the name.
fn attachment(path: &Path) -> Result<MimePart<'static>> {
    use base64::Engine;
    let data = std::fs::read(path).map_err(|e| Error::read_file(path, &e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".into());
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    let mut lines = Vec::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        lines.extend_from_slice(chunk);
        lines.extend_from_slice(b"\r\n");
    }
    Ok(MimePart::new(guess_content_type(path), lines)
        .attachment(name)
        .transfer_encoding("base64"))
}

/// `--from`: exactly one address, `alice@example.org` or `Alice <alice@example.org>`.
fn address(value: &str) -> Result<Address<'static>> {
    let mut list = parse_address_list(value)?;
    match (list.pop(), list.is_empty()) {
        (Some((name, addr)), true) => Ok(Address::new_address(name, addr)),
        _ => Err(
            Error::usage(format!("--from '{value}' is more than one address"))
                .with_hint("give one sender with --from; put the others in --to or --cc"),
        ),
    }
}

/// `--to`/`--cc`: every value is an address list; repeated flags add up.
fn address_list(values: &[String]) -> Result<Address<'static>> {
    let mut list = Vec::new();
    for value in values {
        for (name, addr) in parse_address_list(value)? {
            list.push(Address::new_address(name, addr));
        }
    }
    Ok(Address::new_list(list))
}

fn bad_address_list(value: &str) -> Error {
    Error::usage(format!("'{value}' is not an email address list")).with_hint(
        "separate addresses with commas, e.g. 'ops@example.org, Dev Team <dev@example.org>' \
             (or repeat the flag)",
    )
}

/// One flag value as an RFC 5322 address list: addresses separated by `,` or by `;` (as Outlook
/// users type them), each `addr@domain` or `Display Name <addr@domain>`; a quoted display name
/// may hold commas. Anything else (two addresses with only a space between them, a word that is
/// not an address, a line break) is refused: the value would become a malformed header.
pub fn parse_address_list(value: &str) -> Result<Vec<(Option<String>, String)>> {
    if value.contains(['\r', '\n']) {
        return Err(bad_address_list(value));
    }
    let mut list = Vec::new();
    for (piece, _) in split_top_level(value).ok_or_else(|| bad_address_list(value))? {
        if piece.trim().is_empty() {
            continue;
        }
        let one = parse_one_address(piece).ok_or_else(|| bad_address_list(value))?;
        list.push(one);
    }
    if list.is_empty() {
        return Err(bad_address_list(value));
    }
    Ok(list)
}

/// Split at the `,` and `;` that separate addresses: not inside a quoted string, an angle
/// address or a comment; each piece with the separator that ends it (`None` for the last).
/// `None` when a quote, `<` or `(` is left open.
pub(crate) fn split_top_level(value: &str) -> Option<Vec<(&str, Option<char>)>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in top_level_chars(value)? {
        if c == ',' || c == ';' {
            pieces.push((&value[start..i], Some(c)));
            start = i + c.len_utf8();
        }
    }
    pieces.push((&value[start..], None));
    Some(pieces)
}

/// The characters of an address field's value (RFC 5322 §3.4) that are outside quoted strings,
/// comments and angle brackets, with their byte offsets: where `,`, `;` and a group's `:` can
/// separate something. `None` when a quote, `<` or `(` is left open or a `)` or `>` closes
/// nothing.
pub(crate) fn top_level_chars(value: &str) -> Option<Vec<(usize, char)>> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut angle, mut comment) = (false, false, 0u32, 0u32);
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || comment > 0 => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            _ if quoted => {}
            '(' => comment += 1,
            ')' => comment = comment.checked_sub(1)?,
            _ if comment > 0 => {}
            '<' => angle += 1,
            '>' => angle = angle.checked_sub(1)?,
            _ if angle == 0 => out.push((i, c)),
            _ => {}
        }
    }
    (!(quoted || escaped || angle > 0 || comment > 0)).then_some(out)
}

/// One address, read by mail-parser: exactly one mailbox whose addr-spec is well formed.
pub(crate) fn parse_one_address(piece: &str) -> Option<(Option<String>, String)> {
    let raw = format!("To: {piece}\r\n\r\n");
    let message = MessageParser::default().parse_headers(raw.as_bytes())?;
    let mut found = message.to().map(collect_addresses).unwrap_or_default();
    match (found.pop(), found.is_empty()) {
        (Some((name, addr)), true) if is_addr_spec(&addr) => {
            Some((name.filter(|n| !n.trim().is_empty()), addr))
        }
        _ => None,
    }
}

/// `local@domain` with nothing in it that would break the header: no blanks or controls, one
/// `@`, a dot-separated domain (or an `[address literal]`).
fn is_addr_spec(addr: &str) -> bool {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let plain = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..")
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:@\\\"".contains(c))
    };
    let local_ok = plain(local)
        || (local.len() >= 2
            && local.starts_with('"')
            && local.ends_with('"')
            && !local.chars().any(char::is_control));
    let domain_ok = plain(domain)
        || (domain.starts_with('[')
            && domain.ends_with(']')
            && !domain.chars().any(|c| c.is_whitespace() || c.is_control()));
    local_ok && domain_ok
}

fn collect_addresses(address: &mail_parser::Address<'_>) -> Vec<(Option<String>, String)> {
    address
        .iter()
        .filter_map(|a| {
            a.address()
                .map(|addr| (a.name().map(str::to_string), addr.to_string()))
        })
        .collect()
}

/// The addresses in a header section, for `--header-recipients` (RFC 8551 §3.4: the sender can
/// only read its own sent mail if it is a recipient too).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeaderAddresses {
    /// Every To and Cc address, in order, each once.
    pub recipients: Vec<String>,
    /// The Bcc addresses: never encrypted to in the same envelope as the others, whose
    /// RecipientInfos would name them to every recipient.
    pub bcc: Vec<String>,
    pub from: Option<String>,
}

pub fn header_addresses(header_section: &[u8]) -> Result<HeaderAddresses> {
    let message = MessageParser::default()
        .parse_headers(header_section)
        .ok_or_else(|| Error::data("cannot read the message's address headers"))?;
    let unique = |fields: &[Option<&mail_parser::Address<'_>>]| {
        let mut out: Vec<String> = Vec::new();
        for field in fields.iter().flatten() {
            for (_, a) in collect_addresses(field) {
                if !out.iter().any(|r| r.eq_ignore_ascii_case(&a)) {
                    out.push(a);
                }
            }
        }
        out
    };
    let from = message
        .from()
        .and_then(|f| collect_addresses(f).into_iter().next())
        .map(|(_, a)| a);
    Ok(HeaderAddresses {
        recipients: unique(&[message.to(), message.cc()]),
        bcc: unique(&[message.bcc()]),
        from,
    })
}

/// A content type for an attachment from its file name; application/octet-stream when unsure.
fn guess_content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "text" => "text/plain",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "xz" => "application/x-xz",
        "zst" => "application/zstd",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "eml" => "message/rfc822",
        "pem" | "crt" | "cer" => "application/x-pem-file",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders;

    fn parse(bytes: &[u8]) -> mail_parser::Message<'_> {
        MessageParser::default().parse(bytes).expect("a message")
    }

    #[test]
    fn a_plain_body_becomes_a_complete_text_message() {
        let compose = Compose {
            from: Some("CI <ci@example.org>".into()),
            to: vec![
                "ops@example.org".into(),
                "Dev Team <dev@example.org>".into(),
            ],
            subject: Some("Build 42 — passed ✓".into()),
            ..Default::default()
        };
        let raw = build(&compose, "all green\nbye\n".as_bytes()).unwrap();
        let m = parse(&raw);
        assert_eq!(m.subject(), Some("Build 42 — passed ✓"));
        assert!(m.date().is_some());
        assert!(m.message_id().is_some());
        assert_eq!(
            m.from().unwrap().first().unwrap().address(),
            Some("ci@example.org")
        );
        let to: Vec<_> = m.to().unwrap().iter().filter_map(|a| a.address()).collect();
        assert_eq!(to, ["ops@example.org", "dev@example.org"]);
        assert_eq!(
            m.body_text(0).unwrap().replace("\r\n", "\n"),
            "all green\nbye\n"
        );
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("MIME-Version: 1.0"));
        assert!(text.contains("charset=\"utf-8\""), "{text}");
        // One line-ending convention throughout, LF, as `sendmail -t` reads it.
        assert!(!text.contains('\r'), "{text}");
        assert!(text.contains("all green\nbye\n"), "{text}");
        // Non-ASCII subject is an encoded-word, never raw 8-bit in a header.
        let header_end = text.find("\n\n").unwrap();
        assert!(text[..header_end].is_ascii());
    }

    #[test]
    fn attachments_make_a_multipart_mixed_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.pdf");
        std::fs::write(&path, [0u8, 1, 2, 255]).unwrap();
        let log = dir.path().join("build.log");
        std::fs::write(&log, "line 1\r\nline 2\nno end").unwrap();
        let compose = Compose {
            to: vec!["a@example.org".into()],
            attach: vec![path, log],
            ..Default::default()
        };
        let raw = build(&compose, b"see attached").unwrap();
        let m = parse(&raw);
        assert_eq!(m.attachment_count(), 2);
        let att = m.attachment(0).unwrap();
        assert_eq!(att.contents(), [0u8, 1, 2, 255]);
        assert_eq!(att.attachment_name(), Some("report.pdf"));
        // A text attachment keeps its exact bytes, line endings included: base64.
        let log = m.attachment(1).unwrap();
        assert_eq!(log.contents(), b"line 1\r\nline 2\nno end");
        assert_eq!(log.attachment_name(), Some("build.log"));
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("multipart/mixed"));
        assert!(text.contains("application/pdf"));
        assert_eq!(
            text.matches("Content-Transfer-Encoding: base64").count(),
            2,
            "{text}"
        );
        assert_eq!(m.body_text(0).unwrap(), "see attached");
    }

    #[test]
    fn a_missing_attachment_is_exit_66_and_a_non_utf8_body_exit_65() {
        let compose = Compose {
            attach: vec!["/nonexistent/x.bin".into()],
            ..Default::default()
        };
        assert_eq!(build(&compose, b"x").unwrap_err().exit_code(), 66);
        assert_eq!(
            build(&Compose::default(), &[0xff, 0xfe])
                .unwrap_err()
                .exit_code(),
            65
        );
    }

    fn addresses(values: &[(Option<String>, String)]) -> Vec<(Option<&str>, &str)> {
        values
            .iter()
            .map(|(n, a)| (n.as_deref(), a.as_str()))
            .collect()
    }

    #[test]
    fn address_lists_split_at_commas_and_semicolons_outside_quotes() {
        let got = parse_address_list(
            "ops@example.org, \"Doe, John\" <john@example.org>;dev@example.org ; Dev Team <team@example.org>,",
        )
        .unwrap();
        assert_eq!(
            addresses(&got),
            [
                (None, "ops@example.org"),
                (Some("Doe, John"), "john@example.org"),
                (None, "dev@example.org"),
                (Some("Dev Team"), "team@example.org"),
            ]
        );
    }

    #[test]
    fn every_address_of_repeated_list_flags_reaches_the_header() {
        let compose = Compose {
            to: vec![
                "ops@example.org, dev@example.org".into(),
                "\"Doe, \\\"JD\\\" John\" <john@example.org>".into(),
            ],
            cc: vec![
                "a@example.org; b@example.org".into(),
                "c@example.org".into(),
            ],
            ..Default::default()
        };
        let raw = build(&compose, b"x").unwrap();
        let m = parse(&raw);
        let to: Vec<_> = m
            .to()
            .unwrap()
            .iter()
            .map(|a| (a.name(), a.address().unwrap()))
            .collect();
        assert_eq!(
            to,
            [
                (None, "ops@example.org"),
                (None, "dev@example.org"),
                (Some("Doe, \"JD\" John"), "john@example.org"),
            ]
        );
        let cc: Vec<_> = m.cc().unwrap().iter().filter_map(|a| a.address()).collect();
        assert_eq!(cc, ["a@example.org", "b@example.org", "c@example.org"]);
    }

    #[test]
    fn more_than_one_from_address_is_a_usage_error() {
        let compose = Compose {
            from: Some("a@example.org, b@example.org".into()),
            ..Default::default()
        };
        let err = build(&compose, b"x").unwrap_err();
        assert_eq!(err.exit_code(), 64);
        assert!(err.message().contains("more than one"), "{err:?}");
    }

    #[test]
    fn bad_addresses_are_usage_errors() {
        for bad in [
            "not an address",
            "",
            " , ",
            "a@example.org b@example.org",
            "a@example.org, garbage",
            "Alice <alice@example.org",
            "\"unclosed <a@example.org>",
            "a@b\r\nBcc: evil@example.org",
        ] {
            let compose = Compose {
                to: vec![bad.into()],
                ..Default::default()
            };
            let err = build(&compose, b"x").unwrap_err();
            assert_eq!(err.exit_code(), 64, "{bad:?}");
            let named = bad.split(['\r', '\n']).next().unwrap_or_default();
            assert!(err.message().contains(&format!("'{named}")), "{err:?}");
        }
    }

    #[test]
    fn header_addresses_collect_to_cc_once_bcc_apart_and_from() {
        let header = b"From: Me <me@example.org>\r\nTo: a@example.org, B <b@example.org>\r\nCc: A@example.org\r\nBcc: c@example.org, C@example.org\r\n\r\n";
        let got = header_addresses(header).unwrap();
        assert_eq!(got.recipients, ["a@example.org", "b@example.org"]);
        assert_eq!(got.bcc, ["c@example.org"]);
        assert_eq!(got.from.as_deref(), Some("me@example.org"));
    }
}
