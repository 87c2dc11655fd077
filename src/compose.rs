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
    let message = builder
        .write_to_vec()
        .map_err(|e| Error::io(format!("cannot build the message: {e}")))?;
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

/// One address as given on the command line: `alice@example.org` or `Alice <alice@example.org>`.
fn address(value: &str) -> Result<Address<'static>> {
    let parsed = parse_address_field(value)?;
    let first = parsed
        .into_iter()
        .next()
        .ok_or_else(|| bad_address(value))?;
    Ok(match first.0 {
        Some(name) => Address::new_address(Some(name), first.1),
        None => Address::new_address(None::<String>, first.1),
    })
}

fn address_list(values: &[String]) -> Result<Address<'static>> {
    let mut list = Vec::new();
    for v in values {
        list.push(address(v)?);
    }
    Ok(Address::new_list(list))
}

fn bad_address(value: &str) -> Error {
    Error::usage(format!("'{value}' is not an email address"))
        .with_hint("give an address as alice@example.org or 'Alice <alice@example.org>'")
}

/// Parse an address field value with mail-parser: (display name, address) pairs.
fn parse_address_field(value: &str) -> Result<Vec<(Option<String>, String)>> {
    if value.contains(['\r', '\n']) {
        return Err(bad_address(value));
    }
    let raw = format!("To: {value}\r\n\r\n");
    let message = MessageParser::default()
        .parse_headers(raw.as_bytes())
        .ok_or_else(|| bad_address(value))?;
    let list = message.to().map(collect_addresses).unwrap_or_default();
    if list.is_empty() || list.iter().any(|(_, a)| !a.contains('@')) {
        return Err(bad_address(value));
    }
    Ok(list)
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
    /// Every To, Cc and Bcc address, in order, each once.
    pub recipients: Vec<String>,
    pub from: Option<String>,
}

pub fn header_addresses(header_section: &[u8]) -> Result<HeaderAddresses> {
    let message = MessageParser::default()
        .parse_headers(header_section)
        .ok_or_else(|| Error::data("cannot read the message's address headers"))?;
    let mut recipients: Vec<String> = Vec::new();
    for field in [message.to(), message.cc(), message.bcc()]
        .into_iter()
        .flatten()
    {
        for (_, a) in collect_addresses(field) {
            if !recipients.iter().any(|r| r.eq_ignore_ascii_case(&a)) {
                recipients.push(a);
            }
        }
    }
    let from = message
        .from()
        .and_then(|f| collect_addresses(f).into_iter().next())
        .map(|(_, a)| a);
    Ok(HeaderAddresses { recipients, from })
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
            cc: vec![],
            subject: Some("Build 42 — passed ✓".into()),
            attach: vec![],
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

    #[test]
    fn bad_addresses_are_usage_errors() {
        for bad in ["not an address", "", "a@b\r\nBcc: evil@example.org"] {
            let compose = Compose {
                to: vec![bad.into()],
                ..Default::default()
            };
            assert_eq!(
                build(&compose, b"x").unwrap_err().exit_code(),
                64,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn header_addresses_collect_to_cc_bcc_once_and_from() {
        let header = b"From: Me <me@example.org>\r\nTo: a@example.org, B <b@example.org>\r\nCc: A@example.org\r\nBcc: c@example.org\r\n\r\n";
        let got = header_addresses(header).unwrap();
        assert_eq!(
            got.recipients,
            ["a@example.org", "b@example.org", "c@example.org"]
        );
        assert_eq!(got.from.as_deref(), Some("me@example.org"));
    }
}
