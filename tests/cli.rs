//! The command line end to end: round trips through the binary, and every exit code of SPEC §2
//! with its one-line message, an empty stdout and no output file left behind.

mod common;
use common::*;
use std::path::Path;

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: lunch?\nDate: Fri, 27 Nov 2026 12:00:00 +0000\nMessage-ID: <lunch-1@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nNoon at the usual place?\n";

fn encrypt(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut cmd = sealmail();
    cmd.arg("encrypt").args(args);
    let out = run(cmd, input);
    assert!(
        out.status.success(),
        "encrypt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn decrypt(key: &Path, input: &[u8]) -> std::process::Output {
    let mut cmd = sealmail();
    cmd.arg("decrypt").arg("-i").arg(key);
    run(cmd, input)
}

fn alice_crt() -> String {
    fixture("interop/alice.crt").display().to_string()
}

#[test]
fn round_trip_both_ciphers_every_output_form() {
    for cipher in ["chacha20-poly1305", "aes-256-gcm", "aes-128-gcm"] {
        for form in ["smime", "pem", "der"] {
            let sealed = encrypt(
                &["-r", &alice_crt(), "--cipher", cipher, "--outform", form],
                MESSAGE,
            );
            let out = decrypt(&fixture("interop/alice.key"), &sealed);
            assert!(
                out.status.success(),
                "{cipher} {form}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if form == "smime" {
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(MESSAGE),
                    "{cipher} {form}"
                );
            } else {
                // PEM/DER carry no outer headers: the output is the inner entity.
                assert!(
                    out.stdout.ends_with(b"\n\nNoon at the usual place?\n"),
                    "{cipher} {form}"
                );
            }
        }
    }
}

#[test]
fn smime_output_has_the_spec_headers_and_76_column_base64() {
    // SPEC §1's AuthEnvelopedData (alice's test certificate advertises nothing, so `auto` would
    // pick EnvelopedData: tests/cipher_policy.rs).
    let args = ["--cipher", "chacha20-poly1305", "-r", &alice_crt()];
    let sealed = String::from_utf8(encrypt(&args, MESSAGE)).unwrap();
    for h in [
        "MIME-Version: 1.0\n",
        "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"\n",
        "Content-Transfer-Encoding: base64\n",
        "Content-Disposition: attachment; filename=\"smime.p7m\"\n",
        "From: Alice <alice@example.org>\n",
        "To: Bob <bob@example.org>\n",
    ] {
        assert!(sealed.contains(h), "missing {h:?} in {sealed}");
    }
    assert!(!sealed.contains("lunch?"), "the subject leaked: {sealed}");
    assert!(!sealed.contains("Noon"), "the body leaked");
    let body = &sealed[sealed.find("\n\n").unwrap() + 2..];
    let lines: Vec<&str> = body.lines().collect();
    assert!(lines.len() > 5);
    for l in &lines[..lines.len() - 1] {
        assert_eq!(l.len(), 76, "{l}");
    }
}

#[test]
fn each_run_uses_a_fresh_session_key_and_nonce() {
    let a = encrypt(&["-r", &alice_crt(), "--outform", "der"], MESSAGE);
    let b = encrypt(&["-r", &alice_crt(), "--outform", "der"], MESSAGE);
    assert_ne!(a, b);
    // Same length, no shared 16-byte window after the recipient info: nothing reused.
    assert_eq!(a.len(), b.len());
    let tail = 64;
    assert_ne!(&a[a.len() - tail..], &b[b.len() - tail..]);
}

#[test]
fn crlf_messages_come_back_crlf() {
    let crlf = lf_to_crlf(MESSAGE);
    let sealed = encrypt(&["-r", &alice_crt()], &crlf);
    assert!(sealed.windows(2).any(|w| w == b"\r\n"));
    assert!(
        !sealed.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
        "bare LF in CRLF output"
    );
    let out = decrypt(&fixture("interop/alice.key"), &sealed);
    assert_eq!(out.stdout, crlf);
}

#[test]
fn output_file_is_written_atomically_and_decrypted_files_are_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let sealed = dir.path().join("sealed.eml");
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r", &alice_crt(), "-o"]).arg(&sealed);
    assert!(run(cmd, MESSAGE).status.success());
    let plain = dir.path().join("plain.eml");
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"])
        .arg(fixture("interop/alice.key"))
        .arg("-o")
        .arg(&plain)
        .arg(&sealed);
    let out = run(cmd, b"");
    assert_ok(&out, "");
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&plain).unwrap(), MESSAGE);
    assert_eq!(
        std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Nothing else (no temporary files) is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

// ----- exit codes ------------------------------------------------------------------------------

#[test]
fn exit_64_for_usage_errors() {
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--no-such-flag"]);
    assert_fails(&run(cmd, b""), 64, "--no-such-flag");
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--cipher", "des3", "-r", &alice_crt()]);
    assert_fails(&run(cmd, MESSAGE), 64, "des3");
    let mut cmd = sealmail();
    cmd.arg("encrypt");
    assert_fails(&run(cmd, MESSAGE), 64, "no recipients");
    // stdin cannot be both the message and the passphrase.
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--passphrase-fd", "0", "-i"])
        .arg(fixture("interop/alice.key"));
    assert_fails(&run(cmd, b""), 64, "stdin");
}

#[test]
fn a_bad_value_lists_the_valid_ones_on_the_error_line() {
    for (args, needles) in [
        (
            vec!["encrypt", "--cipher", "rot13"],
            vec![
                "'rot13'",
                "valid values:",
                "chacha20-poly1305",
                "aes-256-gcm",
            ],
        ),
        (
            vec!["encrypt", "--outform", "txt"],
            vec!["'txt'", "valid values: smime, pem, der"],
        ),
        (
            vec!["keygen", "--email", "a@example.org", "--bits", "1024"],
            vec!["'1024'", "valid values: 2048, 3072, 4096"],
        ),
        (
            vec!["decrypt", "--inform", "p7m"],
            vec!["'p7m'", "valid values: auto, smime, pem, der"],
        ),
    ] {
        let mut cmd = sealmail();
        cmd.args(&args);
        let out = run(cmd, MESSAGE);
        for needle in &needles {
            assert_fails(&out, 64, needle);
        }
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 2);
    }
    // A near miss gets clap's suggestion as the hint.
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--recipent", "x"]);
    let out = run(cmd, b"");
    assert_fails(&out, 64, "'--recipent'");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint: did you mean '--recipient'"));
}

#[test]
fn exit_65_for_input_that_is_not_s_mime() {
    let key = fixture("interop/alice.key");
    assert_fails(&decrypt(&key, b""), 65, "");
    assert_fails(&decrypt(&key, b"\x00\x01\x02 binary garbage"), 65, "");
    assert_fails(&decrypt(&key, MESSAGE), 65, "not an S/MIME");
    let signed = b"MIME-Version: 1.0\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=x\n\n--x\n\nhi\n--x--\n";
    assert_fails(&decrypt(&key, signed), 65, "");
    let broken = b"MIME-Version: 1.0\nContent-Type: application/pkcs7-mime; smime-type=authEnveloped-data\nContent-Transfer-Encoding: base64\n\nMIIC!!!!\n";
    assert_fails(&decrypt(&key, broken), 65, "base64");
}

#[test]
fn damaged_base64_is_described_in_words_not_the_decoder_s_text() {
    let head = "MIME-Version: 1.0\nContent-Type: application/pkcs7-mime; smime-type=authEnveloped-data\n\
Content-Transfer-Encoding: base64\n\n";
    for (body, words) in [
        ("MIt\n", "does not end the data cleanly"),
        ("M\n", "ends in the middle of a group"),
        ("MIIB*AAA\n", "byte 0x2a"),
        ("MIIBAA==\nMIIB\n", "follows the '=' padding"),
    ] {
        let mut cmd = sealmail();
        cmd.args(["decrypt", "-i"])
            .arg(fixture("interop/alice.key"));
        let out = run(cmd, format!("{head}{body}").as_bytes());
        assert_fails(&out, 65, "malformed base64");
        assert_fails(&out, 65, words);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for library_text in ["DecodeError", "Invalid", "symbol"] {
            assert!(!stderr.contains(library_text), "{body:?}: {stderr}");
        }
    }
}

/// Without --entity, binary input is sealed whole (tests/leaks.rs); an entity must be one.
#[test]
fn exit_65_for_binary_garbage_given_as_an_entity() {
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--entity", "-r", &alice_crt()]);
    assert_fails(
        &run(cmd, b"\x00\x9f\x92\x96 not a message"),
        65,
        "not a mail message",
    );
}

/// Flip one byte counted from the end of the DER: the tag is the last 16 bytes, after its
/// OCTET STRING header (2 bytes); the ciphertext ends just before that.
fn tampered(from_end: usize) -> Vec<u8> {
    let mut der = encrypt(
        &[
            "-r",
            &alice_crt(),
            "--cipher",
            "chacha20-poly1305",
            "--outform",
            "der",
        ],
        MESSAGE,
    );
    let n = der.len();
    der[n - from_end] ^= 0x01;
    der
}

#[test]
fn exit_65_and_no_plaintext_for_a_tampered_ciphertext_or_tag() {
    for (what, from_end) in [
        ("tag", 1),
        ("tag", 16),
        ("ciphertext", 19),
        ("ciphertext", 40),
    ] {
        let dir = tempdir();
        let out_file = dir.path().join("out.eml");
        let mut cmd = sealmail();
        cmd.args(["decrypt", "-i"])
            .arg(fixture("interop/alice.key"))
            .arg("-o")
            .arg(&out_file);
        let out = run(cmd, &tampered(from_end));
        assert_fails(&out, 65, "integrity");
        assert!(!out_file.exists(), "{what}: an output file was left");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{what}: temporary file left"
        );
    }
}

#[test]
fn exit_66_for_missing_files() {
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r", &alice_crt(), "/nonexistent/message.eml"]);
    assert_fails(&run(cmd, b""), 66, "/nonexistent/message.eml");
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r", "/nonexistent/alice.crt"]);
    assert_fails(&run(cmd, MESSAGE), 66, "/nonexistent/alice.crt");
    assert_fails(
        &decrypt(Path::new("/nonexistent/alice.key"), b""),
        66,
        "/nonexistent/alice.key",
    );
}

#[test]
fn exit_67_for_an_address_without_a_certificate() {
    let dir = tempdir();
    std::fs::copy(fixture("interop/alice.crt"), dir.path().join("alice.crt")).unwrap();
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r", "nobody@example.org", "--keyring"])
        .arg(dir.path());
    assert_fails(&run(cmd, MESSAGE), 67, "nobody@example.org");
    // ... and the keyring finds alice by address, case-insensitively.
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r", "Alice@Example.ORG", "--keyring"])
        .arg(dir.path());
    let out = run(cmd, MESSAGE);
    assert_ok(&out, "");
    assert_eq!(
        decrypt(&fixture("interop/alice.key"), &out.stdout).stdout,
        MESSAGE
    );
}

#[test]
fn exit_73_when_the_output_cannot_be_created() {
    let mut cmd = sealmail();
    cmd.args([
        "encrypt",
        "-r",
        &alice_crt(),
        "-o",
        "/nonexistent/dir/out.eml",
    ]);
    assert_fails(&run(cmd, MESSAGE), 73, "/nonexistent/dir/out.eml");
}

#[test]
fn exit_74_when_stdout_is_closed() {
    use std::io::Write;
    use std::process::Stdio;
    // More output than sealmail buffers before it starts writing: the write must fail.
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--entity", "-r", &alice_crt()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take()); // the reader goes away
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(b"Content-Type: text/plain\n\n");
        let line = vec![b'x'; 1023];
        for _ in 0..(24 * 1024) {
            if stdin
                .write_all(&line)
                .and_then(|_| stdin.write_all(b"\n"))
                .is_err()
            {
                break;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{stderr}");
    assert!(stderr.starts_with("sealmail: error: "), "{stderr}");
}

#[test]
fn exit_77_when_no_identity_can_decrypt() {
    let sealed = encrypt(&["-r", &alice_crt()], MESSAGE);
    let out = decrypt(&fixture("interop/bob.key"), &sealed);
    assert_fails(&out, 77, "can decrypt");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint: it is encrypted to"));
}

#[test]
fn exit_78_for_an_unusable_recipient_file() {
    let dir = tempdir();
    let junk = dir.path().join("junk.crt");
    std::fs::write(
        &junk,
        b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r"]).arg(&junk);
    assert_fails(&run(cmd, MESSAGE), 78, "junk.crt");
}

#[test]
fn inspect_names_the_cipher_and_every_recipient_without_a_key() {
    let sealed = encrypt(
        &[
            "-r",
            &alice_crt(),
            "-r",
            &fixture("interop/bob.crt").display().to_string(),
            "--cipher",
            "aes-128-gcm",
        ],
        MESSAGE,
    );
    let mut cmd = sealmail();
    cmd.arg("inspect");
    let out = run(cmd, &sealed);
    assert_ok(&out, "");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("aes-128-gcm"), "{text}");
    assert!(text.contains("recipients: 2"), "{text}");
    assert!(
        text.contains("CN=alice") && text.contains("CN=bob"),
        "{text}"
    );
}

#[test]
fn completions_and_help_work() {
    for shell in ["bash", "zsh", "fish"] {
        let mut cmd = sealmail();
        cmd.args(["completions", shell]);
        let out = run(cmd, b"");
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("sealmail"));
    }
    for sub in ["encrypt", "decrypt", "keygen", "inspect"] {
        let mut cmd = sealmail();
        cmd.args([sub, "--help"]);
        let out = run(cmd, b"");
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Examples:"),
            "{sub}"
        );
    }
}
