//! Real-world messages (issue 10 §2): CPython's email test corpus (fixtures/messages/cpython/,
//! PSF licence) through the binary, encrypt then decrypt. Every message keeps its header fields
//! (name, value, count; Bcc aside) and its body bytes; an mbox `From ` line stays first; only the
//! allowed fields are outside. The header sections are read here the way Python's email parser
//! reads them, independently of sealmail's own reader.

mod common;

use common::{fixture, run, sealmail};

/// The one message that does not come back byte for byte: its header section runs straight into
/// the body, and comes back with the empty line it lacked.
const GAINS_AN_EMPTY_LINE: &str = "msg_35.txt";

/// SPEC §3's allowlist (and every `List-*`), plus the S/MIME part's own fields.
const OUTSIDE: [&str; 17] = [
    "from",
    "sender",
    "to",
    "cc",
    "reply-to",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "received",
    "return-path",
    "auto-submitted",
    "subject",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
];

/// A message as Python's feedparser splits it: the mbox line, the header fields (name, value
/// with its folding, line ends made LF), and the body.
#[derive(Debug, PartialEq)]
struct Parsed {
    mbox: Option<Vec<u8>>,
    fields: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// Python's `headerRE`: `^(From |[\041-\071\073-\176]*:|[\t ])`.
fn is_header_line(line: &[u8]) -> bool {
    line.starts_with(b"From ")
        || line.starts_with(b" ")
        || line.starts_with(b"\t")
        || line
            .iter()
            .position(|&b| b == b':')
            .is_some_and(|colon| line[..colon].iter().all(|&b| (0x21..=0x7e).contains(&b)))
}

fn parse(message: &[u8]) -> Parsed {
    let mut mbox = None;
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    let mut rest = message;
    let mut first = true;
    loop {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = &rest[..end];
        if line.is_empty() {
            break;
        }
        if line == b"\n" || line == b"\r\n" {
            rest = &rest[end..];
            break;
        }
        if !is_header_line(line) {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text).to_vec();
        if first && line.starts_with(b"From ") {
            mbox = Some(text);
        } else if line.starts_with(b" ") || line.starts_with(b"\t") {
            let (_, value) = fields.last_mut().expect("a field to continue");
            value.push(b'\n');
            value.extend(text);
        } else {
            let colon = text.iter().position(|&b| b == b':').expect("a colon");
            let name = String::from_utf8_lossy(&text[..colon]).to_ascii_lowercase();
            fields.push((name, text[colon + 1..].to_vec()));
        }
        first = false;
        rest = &rest[end..];
    }
    Parsed {
        mbox,
        fields,
        body: rest.to_vec(),
    }
}

fn sorted(mut fields: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    fields.sort();
    fields
}

#[test]
fn every_message_of_the_cpython_corpus_round_trips() {
    let dir = fixture("messages/cpython");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/messages/cpython")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("msg_") && n.ends_with(".txt"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 48, "the whole corpus is there");

    for name in &names {
        let input = std::fs::read(dir.join(name)).unwrap();
        let mut cmd = sealmail();
        cmd.args(["encrypt", "-r"]).arg(fixture("keys/alice.crt"));
        let sealed = run(cmd, &input);
        assert!(
            sealed.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&sealed.stderr)
        );
        let mut cmd = sealmail();
        cmd.args(["decrypt", "-i"]).arg(fixture("keys/alice.key"));
        let out = run(cmd, &sealed.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let (original, restored) = (parse(&input), parse(&out.stdout));
        assert_eq!(restored.mbox, original.mbox, "{name}: mbox line");
        assert_eq!(
            sorted(restored.fields),
            sorted(
                original
                    .fields
                    .into_iter()
                    .filter(|(n, _)| n != "bcc")
                    .collect()
            ),
            "{name}: header fields"
        );
        assert_eq!(restored.body, original.body, "{name}: body");
        if name != GAINS_AN_EMPTY_LINE {
            assert!(out.stdout == input, "{name}: byte for byte");
        }

        // Outside: the mbox line first, then only allowed fields.
        let outer = parse(&sealed.stdout);
        assert_eq!(outer.mbox, parse(&input).mbox, "{name}: mbox line outside");
        for (field, _) in &outer.fields {
            assert!(
                OUTSIDE.contains(&field.as_str()) || field.starts_with("list-"),
                "{name}: {field} outside"
            );
        }
    }
}
