//! SPEC §3's round-trip property on real-world-shaped messages (fixtures/messages/): split the
//! header section, carry the inner header section and the canonicalized body the way encrypt and
//! decrypt do (streamed in awkward chunks), restore, and compare field by field and byte by byte.
//! The header fields are compared with mail-parser's view of them, not with sealmail's.

use mail_parser::{HeaderValue, MessageParser};
use sealmail::Kind;
use sealmail::entity::{Canonicalizer, Decanonicalizer, to_crlf, to_lf};
use sealmail::message::{
    self, BodyForm, LineEnding, MAX_HEADER_SECTION, Protection, Restored, SplitMessage,
};
use std::io::{BufReader, Read};
use std::path::PathBuf;

const FIXTURES: [&str; 12] = [
    "plain.eml",
    "mixed-attachment.eml",
    "nested-alternative.eml",
    "forwarded-rfc822.eml",
    "dsn-report.eml",
    "signed.eml",
    "utf8-8bit.eml",
    "headers-only.eml",
    "folded-nonascii.eml",
    "bcc.eml",
    "no-content-type.eml",
    "binary.eml",
];

/// SPEC §3's list, written out again on purpose: the test's oracle must not be the code's own
/// constant (message::PROTECTED_FIELDS), or a change there would go unnoticed.
const PROTECTED: [&str; 9] = [
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

/// SPEC §3's allowlist of fields that stay outside (and every `List-*`), written out again for
/// the same reason.
const OUTSIDE: [&str; 13] = [
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

const PROTECT: Protection = Protection {
    protect: true,
    keep_subject: false,
};

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "fixtures",
        "messages",
        dir,
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn all_fixtures() -> Vec<(String, Vec<u8>, LineEnding)> {
    let mut all = Vec::new();
    for (dir, le) in [("lf", LineEnding::Lf), ("crlf", LineEnding::CrLf)] {
        for name in FIXTURES {
            all.push((format!("{dir}/{name}"), fixture(dir, name), le));
        }
    }
    all
}

/// A header field as mail-parser sees it: the name as written and the raw value bytes (folding
/// included, final line end not).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    name: String,
    value: Vec<u8>,
}

impl Field {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
    fn is_content(&self) -> bool {
        self.name.to_ascii_lowercase().starts_with("content-") || self.is("mime-version")
    }
    fn is_bcc(&self) -> bool {
        self.is("bcc") || self.is("resent-bcc")
    }
    fn stays_outside(&self) -> bool {
        OUTSIDE.iter().any(|n| self.is(n)) || self.name.to_ascii_lowercase().starts_with("list-")
    }
}

fn fields(section: &[u8]) -> Vec<Field> {
    let message = MessageParser::new()
        .parse_headers(section)
        .expect("header fields");
    message.parts[0]
        .headers
        .iter()
        .map(|h| {
            let colon = h.offset_start as usize - 1;
            let name = &section[h.offset_field as usize..colon];
            let mut value = &section[h.offset_start as usize..h.offset_end as usize];
            value = value.strip_suffix(b"\n").unwrap_or(value);
            value = value.strip_suffix(b"\r").unwrap_or(value);
            Field {
                name: String::from_utf8_lossy(name).trim().to_string(),
                value: value.to_vec(),
            }
        })
        .collect()
}

fn named<'a>(fields: &'a [Field], name: &str) -> Vec<&'a Field> {
    fields.iter().filter(|f| f.is(name)).collect()
}

fn content_type_parameter(section: &[u8], parameter: &str) -> Option<String> {
    let message = MessageParser::new().parse_headers(section)?;
    message.parts[0]
        .headers
        .iter()
        .find_map(|h| match &h.value {
            HeaderValue::ContentType(ct) => ct.attribute(parameter).map(str::to_owned),
            _ => None,
        })
}

/// The S/MIME part's own fields, as encrypt writes them around the outer fields.
fn envelope(split: &SplitMessage) -> Vec<u8> {
    let eol = split.line_ending.as_bytes();
    let mut outer = split.outer_fields.clone();
    for line in [
        &b"MIME-Version: 1.0"[..],
        b"Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"",
        b"Content-Transfer-Encoding: base64",
        b"Content-Disposition: attachment; filename=\"smime.p7m\"",
    ] {
        outer.extend_from_slice(line);
        outer.extend_from_slice(eol);
    }
    outer.extend_from_slice(eol);
    outer
}

/// Cut `bytes` into chunks of the given sizes, cycling (1-byte chunks split every CRLF).
fn chunks<'a>(bytes: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    out
}

struct Trip {
    section: Vec<u8>,
    body: Vec<u8>,
    split: SplitMessage,
    /// What went into the cipher: the inner header section and the canonical body.
    plaintext: Vec<u8>,
    restored: Restored,
    restored_body: Vec<u8>,
}

/// encrypt's and decrypt's handling of a message, minus the cryptography.
fn round_trip(input: &[u8], protection: Protection) -> Trip {
    // encrypt: read the header section through a small buffer; the body is what is left.
    let mut reader = BufReader::with_capacity(7, input);
    let head = message::read_head(&mut reader).unwrap();
    assert!(head.is_message());
    let section = head.header_section;
    let mut body = head.body_start;
    reader.read_to_end(&mut body).unwrap();
    assert_eq!(
        [&section[..], &body[..]].concat(),
        input,
        "nothing lost or read twice"
    );

    let split = message::split(&section, protection).unwrap();
    let mut plaintext = split.inner_header_section.clone();
    match split.body {
        BodyForm::Text => {
            let mut canon = Canonicalizer::default();
            for chunk in chunks(&body, &[1, 3, 64, 2]) {
                canon.push(chunk, &mut plaintext);
            }
        }
        BodyForm::Binary => plaintext.extend_from_slice(&body),
    }

    // decrypt: the inner header section comes first in the plaintext, the body streams after it.
    let mut stream = &plaintext[..];
    let inner = message::read_header_section(&mut stream).unwrap();
    assert_eq!(inner, split.inner_header_section);
    let restored = message::restore(Some(&envelope(&split)), &inner, split.line_ending).unwrap();
    let mut restored_body = Vec::new();
    match (restored.body, split.line_ending) {
        (BodyForm::Text, LineEnding::Lf) => {
            let mut decanon = Decanonicalizer::default();
            for chunk in chunks(stream, &[5, 1, 1, 33]) {
                decanon.push(chunk, &mut restored_body);
            }
            decanon.finish(&mut restored_body);
        }
        _ => restored_body.extend_from_slice(stream),
    }
    Trip {
        section,
        body,
        split,
        plaintext,
        restored,
        restored_body,
    }
}

/// SPEC §3: same header fields (name, value, count), byte-identical body. With header
/// protection every field comes back in its place; without it (other agents' messages), the
/// inner fields come after the outer ones. Bcc is the one field that must not come back.
fn assert_round_trip(name: &str, trip: &Trip, le: LineEnding) {
    if trip
        .split
        .inner_header_section
        .windows(8)
        .any(|w| w == b"HP-Outer")
    {
        let original: Vec<Field> = fields(&trip.section)
            .into_iter()
            .filter(|f| !f.is_bcc())
            .collect();
        assert_eq!(
            fields(&trip.restored.header_section),
            original,
            "{name}: every field in its place"
        );
    }
    assert_same_fields(name, trip, le);
}

fn assert_same_fields(name: &str, trip: &Trip, le: LineEnding) {
    let original: Vec<Field> = fields(&trip.section)
        .into_iter()
        .filter(|f| !f.is_bcc())
        .collect();
    let restored = fields(&trip.restored.header_section);
    let (orig_content, orig_other): (Vec<_>, Vec<_>) =
        original.iter().partition(|f| f.is_content());
    let (rest_content, rest_other): (Vec<_>, Vec<_>) =
        restored.iter().partition(|f| f.is_content());
    let sorted = |fields: &[&Field]| {
        let mut v: Vec<(String, Vec<u8>)> = fields
            .iter()
            .map(|f| (f.name.to_ascii_lowercase(), f.value.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted(&rest_other),
        sorted(&orig_other),
        "{name}: non-content fields"
    );
    assert_eq!(rest_content, orig_content, "{name}: content fields");
    assert_eq!(trip.restored_body, trip.body, "{name}: body");
    assert_eq!(trip.restored.body, trip.split.body, "{name}: body form");

    // Output line ending = input line ending, throughout the restored header section.
    let h = &trip.restored.header_section;
    let eol = le.as_bytes();
    assert!(
        h.ends_with(&[eol, eol].concat()),
        "{name}: ends with the empty line"
    );
    let lfs = h.iter().filter(|&&b| b == b'\n').count();
    let crlfs = h.windows(2).filter(|w| w == b"\r\n").count();
    match le {
        LineEnding::Lf => assert_eq!(crlfs, 0, "{name}: CRLF in LF output"),
        LineEnding::CrLf => assert_eq!(crlfs, lfs, "{name}: bare LF in CRLF output"),
    }

    // Where the original keeps the sealed fields after the outside ones and has a body, the
    // whole message comes back.
    let content_last = original
        .iter()
        .skip_while(|f| !f.is_content() && f.stays_outside())
        .all(|f| !f.stays_outside());
    let has_bcc = fields(&trip.section).len() != original.len();
    let has_empty_line = trip.section.ends_with(&[eol, eol].concat());
    if content_last && !has_bcc && has_empty_line {
        assert_eq!(
            [&trip.restored.header_section[..], &trip.restored_body].concat(),
            [&trip.section[..], &trip.body].concat(),
            "{name}: byte-identical message"
        );
    }
}

#[test]
fn every_fixture_round_trips_with_header_protection() {
    for (name, input, le) in all_fixtures() {
        let trip = round_trip(&input, PROTECT);
        assert_eq!(trip.split.line_ending, le, "{name}");
        assert_round_trip(&name, &trip, le);
    }
}

#[test]
fn every_fixture_round_trips_without_header_protection_and_with_kept_subject() {
    for (name, input, le) in all_fixtures() {
        for protection in [
            Protection {
                protect: false,
                keep_subject: false,
            },
            Protection {
                protect: true,
                keep_subject: true,
            },
        ] {
            let trip = round_trip(&input, protection);
            assert_round_trip(&format!("{name} {protection:?}"), &trip, le);
            // Without hiding, the outer fields are the allowed ones, byte for byte.
            let original: Vec<Field> = fields(&trip.section)
                .into_iter()
                .filter(|f| !f.is_content() && f.stays_outside())
                .collect();
            assert_eq!(
                fields(&trip.split.outer_fields),
                original,
                "{name} {protection:?}"
            );
        }
    }
}

#[test]
fn header_protection_writes_what_rfc_9788_asks() {
    for (name, input, _) in all_fixtures() {
        let trip = round_trip(&input, PROTECT);
        let original = fields(&trip.section);
        let outer = fields(&trip.split.outer_fields);
        let inner = fields(&trip.split.inner_header_section);

        // Only the allowed fields outside, in order; everything else (but Bcc) inside only.
        assert!(outer.iter().all(|f| f.stays_outside()), "{name}");
        let kept: Vec<&str> = original
            .iter()
            .filter(|f| !f.is_content() && f.stays_outside())
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            outer.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            kept,
            "{name}"
        );

        assert_eq!(
            content_type_parameter(&trip.split.inner_header_section, "hp").as_deref(),
            Some("cipher"),
            "{name}"
        );
        // Subject: "[...]" outside, the original inside, and HP-Outer says what the outside shows.
        for subject in named(&original, "subject") {
            assert_eq!(named(&outer, "subject").len(), 1, "{name}");
            assert_eq!(named(&outer, "subject")[0].value, b" [...]", "{name}");
            let inside = named(&inner, "subject");
            assert_eq!(inside.len(), 1, "{name}");
            assert_eq!(inside[0].value, to_crlf(&subject.value), "{name}");
        }
        // Every protected field that stayed outside has its inner copy and its HP-Outer record.
        let hp_outer: Vec<Vec<u8>> = named(&inner, "hp-outer")
            .iter()
            .map(|f| f.value.clone())
            .collect();
        let mut expected_hp_outer = Vec::new();
        for f in &outer {
            // Inside, values are CRLF.
            let mut record = format!(" {}:", f.name).into_bytes();
            record.extend_from_slice(&to_crlf(&f.value));
            expected_hp_outer.push(record);
            if !PROTECTED.iter().any(|p| f.is(p)) {
                assert!(
                    named(&inner, &f.name).is_empty(),
                    "{name}: {} not copied inside",
                    f.name
                );
                continue;
            }
            if !f.is("subject") {
                let copies = named(&inner, &f.name);
                assert!(
                    copies.iter().any(|i| i.value == to_crlf(&f.value)),
                    "{name}: {}",
                    f.name
                );
            }
        }
        assert_eq!(hp_outer, expected_hp_outer, "{name}: HP-Outer");
        // Every other field but Bcc is inside, byte for byte (in CRLF).
        for f in original
            .iter()
            .filter(|f| !f.stays_outside() && !f.is_bcc())
        {
            let inside = named(&inner, &f.name);
            let expected = to_crlf(&f.value);
            assert!(
                inside
                    .iter()
                    .any(|i| i.value == expected || f.is("content-type")),
                "{name}: {} sealed inside",
                f.name
            );
        }
    }
}

#[test]
fn bcc_never_leaves_the_sender() {
    for dir in ["lf", "crlf"] {
        let input = fixture(dir, "bcc.eml");
        let trip = round_trip(&input, PROTECT);
        for (what, bytes) in [
            ("outer", &trip.split.outer_fields),
            ("inner", &trip.split.inner_header_section),
            ("plaintext", &trip.plaintext),
            ("restored", &trip.restored.header_section),
        ] {
            let text = String::from_utf8_lossy(bytes).to_ascii_lowercase();
            for secret in [
                "bcc:",
                "ivan@example.com",
                "judy@example.com",
                "mallory@example.com",
            ] {
                assert!(
                    !text.contains(secret),
                    "{dir}: {secret} in the {what} section"
                );
            }
        }
    }
}

#[test]
fn a_message_without_content_type_gets_one_inside_and_not_after_restoring() {
    let trip = round_trip(&fixture("lf", "no-content-type.eml"), PROTECT);
    assert!(trip.split.inner_header_section.starts_with(
        b"Content-Type: text/plain; charset=us-ascii; sealmail-implicit=yes; hp=\"cipher\"\r\n"
    ));
    assert!(named(&fields(&trip.restored.header_section), "content-type").is_empty());
    assert!(
        named(&fields(&trip.split.outer_fields), "subject").is_empty(),
        "no Subject added"
    );
}

#[test]
fn multipart_signed_bytes_survive_exactly() {
    for dir in ["lf", "crlf"] {
        let input = fixture(dir, "signed.eml");
        let trip = round_trip(&input, PROTECT);
        assert_eq!(
            [&trip.restored.header_section[..], &trip.restored_body].concat(),
            input
        );
        // On the wire the signed entity is canonical: exactly what the signature covers.
        let canonical = to_crlf(&trip.body);
        assert!(trip.plaintext.ends_with(&canonical), "{dir}");
    }
}

#[test]
fn binary_bodies_pass_untouched() {
    for dir in ["lf", "crlf"] {
        let trip = round_trip(&fixture(dir, "binary.eml"), PROTECT);
        assert_eq!(trip.split.body, BodyForm::Binary);
        assert!(
            trip.plaintext
                .ends_with(b"\0\x01\x02lone CR\rhere, CRLF\r\nthere, LF\nend\r\xff\xfe")
        );
        assert_eq!(trip.restored_body, trip.body);
    }
}

#[test]
fn header_sections_without_a_body_or_final_line_end_round_trip() {
    for input in [
        &b"From: a@example.org\nSubject: x\n\n"[..],
        b"From: a@example.org\nSubject: x\n",
        b"From: a@example.org\r\nSubject: x",
        b"Subject:\r\nSubject: \r\nTo: b@example.org\r\n\r\n",
    ] {
        let le = message::line_ending_of(input);
        let trip = round_trip(input, PROTECT);
        assert_round_trip(&String::from_utf8_lossy(input), &trip, le);
        assert!(trip.restored_body.is_empty());
    }
}

#[test]
fn entity_output_is_the_inner_section_in_the_output_line_ending() {
    let trip = round_trip(&fixture("lf", "plain.eml"), PROTECT);
    let inner = &trip.split.inner_header_section;
    let lf = message::restore(None, inner, LineEnding::Lf).unwrap();
    assert_eq!(lf.header_section, to_lf(inner));
    let crlf = message::restore(None, inner, LineEnding::CrLf).unwrap();
    assert_eq!(&crlf.header_section, inner);
}

#[test]
fn a_bare_entity_gets_no_header_protection() {
    let entity = b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n";
    assert!(!message::is_whole_message(entity));
    let split = message::split(entity, PROTECT).unwrap();
    assert!(split.outer_fields.is_empty());
    assert_eq!(
        split.inner_header_section,
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    );
    for (name, input, _) in all_fixtures() {
        assert!(message::is_whole_message(&input), "{name}");
    }
}

#[test]
fn bad_input_is_a_data_error_with_a_clear_message() {
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("binary garbage", garbage, "not a mail message"),
        (
            "PDF",
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec(),
            "not a mail message",
        ),
        ("empty", Vec::new(), "not a mail message"),
        (
            "over the limit",
            [&b"X-Long: "[..], &vec![b'a'; MAX_HEADER_SECTION]].concat(),
            "larger than",
        ),
        (
            "many fields over the limit",
            b"X-Field: some value here\n".repeat(MAX_HEADER_SECTION / 20),
            "larger than",
        ),
    ];
    for (what, input, expected) in cases {
        let err = message::read_header_section(&mut &input[..]).unwrap_err();
        assert_eq!(err.kind(), Kind::Data, "{what}");
        assert!(
            err.message().contains(expected),
            "{what}: {}",
            err.message()
        );
        assert!(err.hint().is_some(), "{what}");
    }
    // A header line with no colon: read as part of the section, refused by split with its line.
    let input =
        b"From: a@example.org\nTo: b@example.org\nThis line has no colon\nSubject: x\n\nbody\n";
    let section = message::read_header_section(&mut &input[..]).unwrap();
    let err = message::split(&section, PROTECT).unwrap_err();
    assert_eq!(err.kind(), Kind::Data);
    assert!(
        err.message().contains("line 3 is not a header field"),
        "{}",
        err.message()
    );
}
