//! End to end through the binary: what mail clients, sendmail pipes and CI jobs do with sealmail
//! (issue 3). Whole-message round trips with header protection for every message fixture,
//! `--header-recipients` with To/Cc (and its refusal of Bcc), compose mode with address lists and
//! repeated `--attach`, `-` for stdin and stdout, and the README
//! recipes that do not need sendmail or neomutt themselves.

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn key(name: &str) -> PathBuf {
    fixture(&format!("keys/{name}"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Run sealmail with `args` and `stdin`; panic with its stderr unless it succeeds.
fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut cmd = sealmail();
    cmd.args(args);
    let out = run(cmd, stdin);
    assert!(
        out.status.success(),
        "sealmail {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn decrypt_with(identity: &Path, sealed: &[u8]) -> Vec<u8> {
    ok(&["decrypt", "-i", s(identity)], sealed)
}

/// The header section (up to the empty line) and the body of a message.
fn split_message(m: &[u8]) -> (&[u8], &[u8]) {
    for (i, _) in m.iter().enumerate().filter(|(_, b)| **b == b'\n') {
        let rest = &m[i + 1..];
        if rest.starts_with(b"\n") {
            return (&m[..i + 1], &rest[1..]);
        }
        if rest.starts_with(b"\r\n") {
            return (&m[..i + 1], &rest[2..]);
        }
    }
    (m, b"")
}

/// Header fields as (name, raw value with its folding), in order.
fn fields(header: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            out.last_mut()
                .expect("continuation")
                .1
                .extend_from_slice(line);
            continue;
        }
        let colon = line.iter().position(|&b| b == b':').expect("a field");
        out.push((
            String::from_utf8_lossy(&line[..colon]).into_owned(),
            line[colon + 1..].to_vec(),
        ));
    }
    out
}

fn sorted_fields(header: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut f = fields(header);
    f.sort();
    f
}

fn field(header: &[u8], name: &str) -> Option<String> {
    fields(header)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(&v).trim().to_string())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A keyring directory holding the named fixture certificates.
fn keyring(names: &[&str]) -> tempfile::TempDir {
    let dir = tempdir();
    for name in names {
        std::fs::copy(
            key(&format!("{name}.crt")),
            dir.path().join(format!("{name}.pem")),
        )
        .unwrap();
    }
    dir
}

#[test]
fn every_message_fixture_round_trips_whole_with_its_headers_protected() {
    let mut identical = 0;
    let mut total = 0;
    for dir in ["lf", "crlf"] {
        let mut names: Vec<_> = std::fs::read_dir(fixture(&format!("messages/{dir}")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        assert_eq!(names.len(), 12, "{dir}");
        for path in names {
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let original = std::fs::read(&path).unwrap();
            let sealed = ok(&["encrypt", "-r", s(&key("alice.crt")), s(&path)], b"");
            let (orig_header, orig_body) = split_message(&original);
            let (outer, _) = split_message(&sealed);

            // The outer Subject is the baseline placeholder, and the real one is sealed.
            if let Some(subject) = field(orig_header, "Subject") {
                assert_eq!(field(outer, "Subject").as_deref(), Some("[...]"), "{name}");
                if subject.len() > 3 {
                    assert!(!contains(&sealed, subject.as_bytes()), "{name}: {subject}");
                }
            }
            for gone in ["Bcc", "Resent-Bcc"] {
                assert!(field(outer, gone).is_none(), "{name}: {gone}");
            }
            // The output keeps the input's line endings.
            assert_eq!(contains(outer, b"\r\n"), dir == "crlf", "{name}");

            let restored = decrypt_with(&key("alice.key"), &sealed);
            let (header, body) = split_message(&restored);
            assert_eq!(body, orig_body, "{name}: body");
            let expected: Vec<_> = sorted_fields(orig_header)
                .into_iter()
                .filter(|(n, _)| {
                    !n.eq_ignore_ascii_case("Bcc") && !n.eq_ignore_ascii_case("Resent-Bcc")
                })
                .collect();
            assert_eq!(sorted_fields(header), expected, "{name}: fields");
            for artefact in ["HP-Outer", "[...]", "hp=\"cipher\""] {
                assert!(!contains(header, artefact.as_bytes()), "{name}: {artefact}");
            }
            total += 1;
            identical += usize::from(restored == original);
        }
    }
    // Most fixtures come back byte for byte; the others differ only in field order
    // (Content-*/MIME-Version moved after the rest) or the empty line after a header-only one.
    assert!(identical >= 16, "{identical} of {total} byte-identical");
}

#[test]
fn keep_subject_leaves_the_subject_outside_and_protection_still_round_trips() {
    let message = fixture("messages/lf/plain.eml");
    let sealed = ok(
        &[
            "encrypt",
            "--keep-subject",
            "-r",
            s(&key("alice.crt")),
            s(&message),
        ],
        b"",
    );
    let (outer, _) = split_message(&sealed);
    assert_eq!(
        field(outer, "Subject").as_deref(),
        Some("Deploy window for Thursday")
    );
    let restored = decrypt_with(&key("alice.key"), &sealed);
    let original = std::fs::read(&message).unwrap();
    assert_eq!(
        sorted_fields(split_message(&restored).0),
        sorted_fields(split_message(&original).0)
    );
    assert_eq!(split_message(&restored).1, split_message(&original).1);
}

#[test]
fn header_recipients_encrypts_to_to_cc_and_a_known_from() {
    let ring = keyring(&["alice", "bob", "carol"]);
    let message = b"From: Carol <carol@example.org>\nTo: Alice <ALICE@example.org>\n\
Cc: bob@example.org\nSubject: quarterly numbers\nDate: Mon, 20 Oct 2025 10:00:00 +0000\n\
Message-ID: <q3@example.org>\n\nThe numbers are in.\n";
    let sealed = ok(
        &[
            "encrypt",
            "--header-recipients",
            "--keyring",
            s(ring.path()),
        ],
        message,
    );
    assert!(contains(&sealed, b"\nTo: Alice <ALICE@example.org>\n"));
    for who in ["alice", "bob", "carol"] {
        let restored = decrypt_with(&key(&format!("{who}.key")), &sealed);
        assert!(restored.ends_with(b"\n\nThe numbers are in.\n"), "{who}");
        assert!(
            contains(&restored, b"Subject: quarterly numbers\n"),
            "{who}"
        );
    }
}

#[test]
fn header_recipients_refuses_a_bcc_field_naming_its_addresses() {
    // One envelope for everyone would carry a RecipientInfo per Bcc address, which any recipient
    // can read (`inspect`): a blind copy must be a separate run.
    let ring = keyring(&["alice", "bob", "carol"]);
    let message = b"From: carol@example.org\nTo: alice@example.org\n\
Bcc: bob@example.org, Dan <dan@example.net>\nSubject: s\n\nhi\n";
    let mut cmd = sealmail();
    cmd.args([
        "encrypt",
        "--header-recipients",
        "--keyring",
        s(ring.path()),
    ]);
    let out = run(cmd, message);
    assert_fails(
        &out,
        64,
        "Bcc recipients (bob@example.org, dan@example.net)",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sealmail: hint: ") && stderr.contains("-r bob@example.org"),
        "{stderr}"
    );
    // Without --header-recipients the Bcc field is dropped and the -r recipients get it, as before.
    let sealed = ok(&["encrypt", "-r", s(&key("alice.crt"))], message);
    assert!(!contains(&sealed, b"Bcc") && !contains(&sealed, b"bob@example.org"));
}

#[test]
fn header_recipients_from_outside_the_keyring_is_fine_an_unknown_to_is_67() {
    let ring = keyring(&["alice", "bob"]);
    let ca = fixture("keys/ca.crt");
    // With their CA trusted, alice's certificate comes without a warning, and the unknown To
    // is the first thing said.
    let base = [
        "encrypt",
        "--header-recipients",
        "--keyring",
        s(ring.path()),
        "--ca",
        s(&ca),
    ];

    let unknown_from =
        b"From: someone@elsewhere.example\nTo: alice@example.org\nCc: bob@example.org\n\nhi\n";
    let sealed = ok(&base, unknown_from);
    for who in ["alice", "bob"] {
        assert!(decrypt_with(&key(&format!("{who}.key")), &sealed).ends_with(b"\n\nhi\n"));
    }
    // carol is not a recipient (not in the headers).
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i", s(&key("carol.key"))]);
    assert_fails(&run(cmd, &sealed), 77, "");

    let unknown_to = b"From: alice@example.org\nTo: alice@example.org, mallory@example.net\n\nhi\n";
    let mut cmd = sealmail();
    cmd.args(base);
    assert_fails(&run(cmd, unknown_to), 67, "mallory@example.net");
}

#[test]
fn compose_builds_a_complete_message_that_sendmail_t_can_route() {
    use mail_parser::{MessageParser, MimeHeaders};
    let dir = tempdir();
    let log = dir.path().join("build.log");
    let log_bytes = b"step 1 ok\r\nstep 2 \xe2\x9c\x93\nno final newline".to_vec();
    std::fs::write(&log, &log_bytes).unwrap();
    let tarball = dir.path().join("artifacts.tar.gz");
    let tar_bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    std::fs::write(&tarball, &tar_bytes).unwrap();
    let body = "Build 42 passed ✓\nsee the attachments\n";

    let sealed = ok(
        &[
            "encrypt",
            "-r",
            s(&key("alice.crt")),
            "--from",
            "CI Bot <ci@example.org>",
            "--to",
            "ops@example.org",
            "--to",
            "Zoë Dev <dev@example.org>",
            "--cc",
            "lead@example.org",
            "--subject",
            "Build 42 — grün ✓",
            "--attach",
            s(&log),
            "--attach",
            s(&tarball),
        ],
        body.as_bytes(),
    );

    // What `sendmail -t` routes on stays outside, in LF lines; the subject does not.
    let (outer, _) = split_message(&sealed);
    assert!(!contains(&sealed, b"\r\n"));
    let outer_msg = MessageParser::default().parse_headers(outer).unwrap();
    let to: Vec<_> = outer_msg
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, ["ops@example.org", "dev@example.org"]);
    let cc: Vec<_> = outer_msg
        .cc()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(cc, ["lead@example.org"]);
    assert_eq!(outer_msg.subject(), Some("[...]"));
    assert!(outer_msg.date().is_some() && outer_msg.message_id().is_some());

    let restored = decrypt_with(&key("alice.key"), &sealed);
    let m = MessageParser::default().parse(&restored).unwrap();
    assert_eq!(m.subject(), Some("Build 42 — grün ✓"));
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("CI Bot"), Some("ci@example.org"))
    );
    let names: Vec<_> = m.to().unwrap().iter().map(|a| a.name()).collect();
    assert_eq!(names, [None, Some("Zoë Dev")]);
    assert_eq!(m.date(), outer_msg.date());
    assert_eq!(m.message_id(), outer_msg.message_id());
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), body);
    assert_eq!(m.attachment_count(), 2);
    let a = m.attachment(0).unwrap();
    assert_eq!(
        (a.attachment_name(), a.contents()),
        (Some("build.log"), &log_bytes[..])
    );
    assert_eq!(a.content_type().unwrap().subtype(), Some("plain"));
    let b = m.attachment(1).unwrap();
    assert_eq!(b.attachment_name(), Some("artifacts.tar.gz"));
    assert_eq!(b.contents(), &tar_bytes[..]);
    assert_eq!(b.content_type().unwrap().ctype(), "application");
    assert_eq!(b.content_type().unwrap().subtype(), Some("gzip"));
    // Header fields never carry raw 8-bit text: encoded-words.
    assert!(split_message(&restored).0.is_ascii());
}

#[test]
fn compose_without_attachments_is_text_plain_utf8() {
    use mail_parser::{MessageParser, MimeHeaders};
    let sealed = ok(
        &[
            "encrypt",
            "-r",
            s(&key("alice.crt")),
            "--from",
            "ci@example.org",
            "--to",
            "ops@example.org",
            "--subject",
            "nightly",
            "-",
        ],
        "Grüße\n".as_bytes(),
    );
    let restored = decrypt_with(&key("alice.key"), &sealed);
    let m = MessageParser::default().parse(&restored).unwrap();
    let ct = m.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(ct.attribute("charset"), Some("utf-8"));
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), "Grüße\n");
    assert!(contains(&restored, b"MIME-Version: 1.0"));
}

#[test]
fn compose_with_header_recipients_encrypts_to_the_given_addresses() {
    let ring = keyring(&["alice", "bob"]);
    let sealed = ok(
        &[
            "encrypt",
            "--header-recipients",
            "--keyring",
            s(ring.path()),
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.org",
            "--subject",
            "s",
        ],
        b"hello\n",
    );
    for who in ["alice", "bob"] {
        assert!(decrypt_with(&key(&format!("{who}.key")), &sealed).ends_with(b"hello\n"));
    }
}

#[test]
fn dash_means_stdin_and_stdout_for_input_and_output() {
    let message = read_fixture("messages/lf/plain.eml");
    let sealed = ok(
        &["encrypt", "-r", s(&key("alice.crt")), "-o", "-", "-"],
        &message,
    );
    assert!(sealed.starts_with(b"Return-Path:"));
    let restored = ok(
        &["decrypt", "-i", s(&key("alice.key")), "--output", "-", "-"],
        &sealed,
    );
    assert_eq!(
        sorted_fields(split_message(&restored).0),
        sorted_fields(split_message(&message).0)
    );
    // alice.crt advertises no capabilities: the installed-base format.
    let info = ok(&["inspect", "-"], &sealed);
    assert!(contains(&info, b"aes-256-cbc"));
}

#[test]
fn readme_recipe_team_list_and_branching_on_exit_codes() {
    // The README's shell recipes, minus sendmail: a recipients list mixing a path, an address
    // from the keyring and a comment; then `decrypt -o` and the exit codes a script branches on.
    let dir = tempdir();
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::copy(key("bob.crt"), certs.join("bob.pem")).unwrap();
    std::fs::copy(key("alice.crt"), dir.path().join("alice.crt")).unwrap();
    std::fs::copy(
        fixture("messages/lf/plain.eml"),
        dir.path().join("report.eml"),
    )
    .unwrap();
    let script = format!(
        "set -e\n\
         printf '%s\\n' alice.crt bob@example.org '# carol is on leave' > team.txt\n\
         {bin} encrypt -R team.txt --keyring ./certs report.eml > sealed.eml\n\
         {bin} decrypt -i {bob} -o msg.eml sealed.eml\n\
         {bin} decrypt -i {carol} -o msg2.eml sealed.eml 2>/dev/null || case $? in\n\
           65) echo tampered;; 77) echo 'not for me';; esac\n\
         test ! -e msg2.eml\n\
         cmp msg.eml report.eml || true\n",
        bin = env!("CARGO_BIN_EXE_sealmail"),
        bob = s(&key("bob.key")),
        carol = s(&key("carol.key")),
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(&script).current_dir(dir.path());
    let out = run(cmd, b"");
    assert_ok(&out, "");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("not for me"));
    let restored = std::fs::read(dir.path().join("msg.eml")).unwrap();
    let original = read_fixture("messages/lf/plain.eml");
    assert_eq!(split_message(&restored).1, split_message(&original).1);
}

#[test]
fn compose_to_and_cc_lists_and_repeated_attach_all_arrive() {
    use mail_parser::MimeHeaders;
    let dir = tempdir();
    let log = dir.path().join("build.log");
    let xml = dir.path().join("report.xml");
    std::fs::write(&log, "compiling...\ndone\n").unwrap();
    std::fs::write(&xml, "<ok/>").unwrap();
    let sealed = ok(
        &[
            "encrypt",
            "-r",
            s(&key("alice.crt")),
            "--to",
            "ops@example.org, \"Doe, John\" <john@example.org>",
            "--to",
            "dev@example.org; qa@example.org",
            "--cc",
            "a@example.org,b@example.org",
            "--attach",
            s(&log),
            "--attach",
            s(&xml),
        ],
        b"all green\n",
    );
    let restored = decrypt_with(&key("alice.key"), &sealed);
    let m = mail_parser::MessageParser::default()
        .parse(&restored)
        .unwrap();
    let to: Vec<_> = m.to().unwrap().iter().filter_map(|a| a.address()).collect();
    assert_eq!(
        to,
        [
            "ops@example.org",
            "john@example.org",
            "dev@example.org",
            "qa@example.org"
        ]
    );
    assert_eq!(m.to().unwrap().first().and_then(|a| a.name()), None);
    let cc: Vec<_> = m.cc().unwrap().iter().filter_map(|a| a.address()).collect();
    assert_eq!(cc, ["a@example.org", "b@example.org"]);
    // The body came from stdin; both files are attachments.
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), "all green\n");
    assert_eq!(m.attachment(0).unwrap().contents(), b"compiling...\ndone\n");
    assert_eq!(
        m.attachment(1).unwrap().attachment_name(),
        Some("report.xml")
    );
    // The outer header, which sendmail -t routes by, has every address too.
    let (outer, _) = split_message(&sealed);
    let outer_to = field(outer, "To").unwrap();
    for a in [
        "ops@example.org",
        "john@example.org",
        "dev@example.org",
        "qa@example.org",
    ] {
        assert!(outer_to.contains(a), "{outer_to}");
    }
}

#[test]
fn compose_refuses_what_is_not_an_address_list_naming_it() {
    for (flag, value) in [
        ("--to", "a@example.org b@example.org"),
        ("--cc", "ops@example.org, not-an-address"),
        ("--to", "garbage"),
        ("--from", "a@example.org, b@example.org"),
    ] {
        let mut cmd = sealmail();
        cmd.args(["encrypt", "-r", s(&key("alice.crt")), flag, value]);
        assert_fails(&run(cmd, b"body\n"), 64, &format!("'{value}'"));
    }
}

#[test]
fn a_file_right_after_attach_is_refused_not_silently_made_the_body() {
    // `--attach build.log summary.txt` used to seal summary.txt as the body and drop stdin.
    let dir = tempdir();
    let log = dir.path().join("build.log");
    let summary = dir.path().join("summary.txt");
    std::fs::write(&log, "log\n").unwrap();
    std::fs::write(&summary, "summary\n").unwrap();
    let alice = key("alice.crt");
    let base = ["encrypt", "-r", s(&alice), "--to", "ops@example.org"];
    let joined = format!("--attach={}", s(&log));
    for attach in [vec!["--attach", s(&log)], vec![joined.as_str()]] {
        let mut cmd = sealmail();
        cmd.args(base).args(&attach).arg(&summary);
        let out = run(cmd, b"from stdin\n");
        assert_fails(&out, 64, &format!("'{}' follows --attach", s(&summary)));
    }
    // The body file given before --attach, `-` after it, and INPUT after `--` are what they say.
    let sealed_and_opened = |args: &[&str]| {
        let mut cmd = sealmail();
        cmd.args(base).args(args);
        let out = run(cmd, b"from stdin\n");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        decrypt_with(&key("alice.key"), &out.stdout)
    };
    let restored = sealed_and_opened(&[s(&summary), "--attach", s(&log)]);
    assert!(contains(&restored, b"summary\n") && !contains(&restored, b"from stdin"));
    let restored = sealed_and_opened(&["--attach", s(&log), "-"]);
    assert!(contains(&restored, b"from stdin\n"));
    let restored = sealed_and_opened(&["--attach", s(&log), "--", s(&summary)]);
    assert!(contains(&restored, b"summary\n") && !contains(&restored, b"from stdin"));
    assert!(contains(&restored, b"filename=\"build.log\""));
}
