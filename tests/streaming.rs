//! Streaming at every buffer boundary (issue 4): round trips at sizes around the encrypt/decrypt
//! chunk (256 KiB), the encrypt read-ahead (1 MiB, which decides DER or BER for a pipe), the
//! decrypt spool threshold and the stdout hold-back (8 MiB); from a stream (BER) and from a file
//! (DER); both AEADs and AES-CBC (EnvelopedData); LF text bodies (canonicalised) and binary bodies. Plus openssl decrypting
//! streamed and DER output, a tampered message large enough to spool to a temporary file, and a
//! large round trip with the process held to one CPU.
//!
//! The boundary sizes run in-process through the library (fast in a debug build); the 8 MiB ones
//! and the openssl checks go through the binary.

mod common;

use common::{assert_fails, assert_ok, fixture, openssl, run, sealmail, sealmail_under, tempdir};
use sealmail::aead::ContentCipher;
use sealmail::cbc::CbcCipher;
use sealmail::cms::KeyTransport;
use sealmail::decrypt::{self, DecryptPlan};
use sealmail::encrypt::{self, EncryptPlan, Source};
use sealmail::keys::{self, NoPassphrase};
use sealmail::message::Protection;
use sealmail::policy::ContentChoice;
use sealmail::smime::{InForm, OutForm};
use std::io::Cursor;
use std::path::Path;
use std::time::SystemTime;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
/// encrypt.rs / decrypt.rs CHUNK.
const CHUNK: usize = 256 * KIB;
/// encrypt.rs READ_AHEAD.
const READ_AHEAD: usize = MIB;
/// decrypt.rs SPOOL_IN_MEMORY, and io.rs STDOUT_HOLD.
const HOLD: usize = 8 * MIB;

/// A bare binary entity: its header section is already canonical, so the content (what is
/// encrypted) is exactly `BINARY_HEADER.len() + body.len()` bytes.
const BINARY_HEADER: &[u8] =
    b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n";

/// Bytes that are not text: every value, CR and LF included, in no line structure.
fn binary_body(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32 ^ len as u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// LF-terminated text lines of varying length, cut to exactly `len` bytes.
fn text_body(len: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(len + 100);
    let mut i = 0usize;
    while body.len() < len {
        body.extend_from_slice(format!("line {i} ").as_bytes());
        body.extend(std::iter::repeat_n(b'x', i % 90));
        body.push(b'\n');
        i += 1;
    }
    body.truncate(len);
    body
}

fn binary_entity(content_len: usize) -> Vec<u8> {
    let mut e = BINARY_HEADER.to_vec();
    e.extend(binary_body(content_len - BINARY_HEADER.len()));
    e
}

fn text_message(body_len: usize) -> Vec<u8> {
    let mut m = b"From: alice@example.org\nTo: bob@example.org\nSubject: sizes\n\
                  MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
        .to_vec();
    m.extend(text_body(body_len));
    m
}

/// The content ciphers the boundary sizes run with.
const CIPHERS: [ContentChoice; 3] = [
    ContentChoice::Aead(ContentCipher::ChaCha20Poly1305),
    ContentChoice::Aead(ContentCipher::Aes256Gcm),
    ContentChoice::Cbc(CbcCipher::Aes256),
];

fn plans(cipher: ContentChoice, entity: bool) -> (EncryptPlan, DecryptPlan) {
    let now = SystemTime::now();
    let recipients = keys::load_recipient_file(&fixture("keys/alice.crt"), now).expect("cert");
    let mut identities =
        keys::load_identity_file(&fixture("keys/alice.key"), &mut NoPassphrase).expect("key");
    // The key's certificate: PKCS#1 v1.5 recipients are matched by certificate only.
    let cert = std::fs::read(fixture("keys/alice.crt")).expect("cert");
    for cert in keys::trust::certificates_from_bytes(&cert).expect("cert") {
        for identity in &mut identities {
            identity.add_certificate(&cert);
        }
    }
    (
        EncryptPlan {
            content: cipher,
            // PKCS#1 v1.5 for CBC, as auto picks it for the installed base.
            transport: match cipher {
                ContentChoice::Aead(_) => KeyTransport::RsaOaep,
                ContentChoice::Cbc(_) => KeyTransport::RsaPkcs1v15,
            },
            recipients,
            entity,
            protection: Protection {
                protect: !entity,
                keep_subject: false,
            },
            outform: OutForm::Smime,
        },
        DecryptPlan {
            identities,
            inform: InForm::Auto,
            entity,
            require_aead: false,
        },
    )
}

/// Encrypt `input` in-process, from a stream or (when `file` is given) from that file.
fn encrypt_in_process(plan: &EncryptPlan, input: &[u8], file: Option<&Path>) -> Vec<u8> {
    let mut out = Vec::new();
    let reader: Box<dyn std::io::BufRead> = match file {
        Some(path) => {
            std::fs::write(path, input).expect("write input");
            Box::new(std::io::BufReader::new(
                std::fs::File::open(path).expect("open"),
            ))
        }
        None => Box::new(Cursor::new(input)),
    };
    encrypt::encrypt(plan, Source { reader, path: file }, Box::new(&mut out)).expect("encrypt");
    out
}

fn decrypt_in_process(plan: &DecryptPlan, envelope: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    decrypt::decrypt(plan, Box::new(Cursor::new(envelope)), &mut out).expect("decrypt");
    out
}

/// The CMS encoding of an S/MIME output: true when the outermost length is indefinite (BER).
fn is_ber(smime: &[u8]) -> bool {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(smime).replace('\r', "");
    let body = text.split_once("\n\n").map_or("", |(_, b)| b);
    let b64 = body.lines().next().unwrap_or_default();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&b64[..b64.len() / 4 * 4])
        .expect("base64");
    assert_eq!(der[0], 0x30, "a SEQUENCE");
    der[1] == 0x80
}

#[test]
fn binary_entities_round_trip_at_every_chunk_and_read_ahead_boundary() {
    let dir = tempdir();
    let file = dir.path().join("in.bin");
    let h = BINARY_HEADER.len();
    // Content lengths (what is sealed) around CHUNK; body lengths around READ_AHEAD, which is
    // counted after the header section.
    let sizes = [
        h,
        h + 1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        h + READ_AHEAD - 1,
        h + READ_AHEAD,
        h + READ_AHEAD + 1,
        3 * MIB + 7,
    ];
    for cipher in CIPHERS {
        let (enc, dec) = plans(cipher, true);
        for &size in &sizes {
            let entity = binary_entity(size);
            for from_file in [false, true] {
                let sealed = encrypt_in_process(&enc, &entity, from_file.then_some(&file));
                // A file's length is known up front: DER. A stream is DER only when it fits
                // in the read-ahead.
                let body_len = size - h;
                assert_eq!(
                    is_ber(&sealed),
                    !from_file && body_len >= READ_AHEAD,
                    "{cipher:?} size {size} from_file {from_file}"
                );
                let opened = decrypt_in_process(&dec, &sealed);
                assert!(
                    opened == entity,
                    "{cipher:?} size {size} from_file {from_file}: round trip differs"
                );
            }
        }
    }
}

#[test]
fn lf_text_messages_round_trip_around_the_boundaries() {
    let dir = tempdir();
    let file = dir.path().join("in.eml");
    // Canonicalisation adds a CR per line, so a body just under a boundary in LF form is over it
    // in CRLF form: both sides of each boundary are crossed.
    let sizes = [0, 1, CHUNK - 1, CHUNK + 1, READ_AHEAD - 1, READ_AHEAD + 1];
    for cipher in CIPHERS {
        let (enc, dec) = plans(cipher, false);
        for &size in &sizes {
            let message = text_message(size);
            for from_file in [false, true] {
                let sealed = encrypt_in_process(&enc, &message, from_file.then_some(&file));
                let opened = decrypt_in_process(&dec, &sealed);
                let body_of = |m: &[u8]| {
                    let at = m.windows(2).position(|w| w == b"\n\n").expect("body") + 2;
                    m[at..].to_vec()
                };
                assert!(
                    body_of(&opened) == body_of(&message),
                    "{cipher:?} body {size} from_file {from_file}: body differs"
                );
                assert!(!opened.contains(&b'\r'), "LF in, LF out");
            }
        }
    }
}

/// Through the binary, stdin to stdout: content around 8 MiB crosses both the decrypt spool
/// threshold (memory -> temporary file) and the stdout hold-back.
#[test]
fn binary_round_trips_through_pipes_around_the_spool_and_stdout_hold() {
    let key = fixture("keys/alice.key");
    let cert = fixture("keys/alice.crt");
    for size in [HOLD - 1, HOLD, HOLD + 1] {
        let entity = binary_entity(size);
        let mut cmd = sealmail();
        cmd.args(["encrypt", "--entity", "-r"]).arg(&cert);
        let sealed = run(cmd, &entity);
        assert!(sealed.status.success(), "encrypt {size}");
        assert!(is_ber(&sealed.stdout), "a pipe past the read-ahead is BER");
        let mut cmd = sealmail();
        cmd.args(["decrypt", "--entity", "-i"]).arg(&key);
        let opened = run(cmd, &sealed.stdout);
        assert!(opened.status.success(), "decrypt {size}");
        assert!(opened.stdout == entity, "size {size}: round trip differs");
    }
}

/// `sealmail` restricted to one CPU with taskset: the second threads (the pipelines, the length
/// pre-pass) then share it with the first.
fn sealmail_on_one_cpu() -> std::process::Command {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let allowed = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap();
    let first = allowed.trim().split([',', '-']).next().unwrap();
    sealmail_under("taskset", &["-c", first])
}

/// The same work on a single CPU (a container limited to one, `taskset -c 0`): a 3 MiB text
/// file (DER, length pre-pass on two threads, sealing pipeline) and its decryption from a pipe
/// (verify and decrypt pipelines) give the message back byte for byte.
#[test]
fn a_large_message_round_trips_on_a_single_cpu() {
    let dir = tempdir();
    let message = [
        b"From: a@example.org\nTo: b@example.org\nSubject: one cpu\n\n".as_slice(),
        &text_body(3 * MIB + 17),
    ]
    .concat();
    let path = dir.path().join("m.eml");
    std::fs::write(&path, &message).unwrap();
    let mut cmd = sealmail_on_one_cpu();
    cmd.args(["encrypt", "-r"])
        .arg(fixture("keys/alice.crt"))
        .arg(&path);
    let sealed = run(cmd, b"");
    assert_ok(&sealed, "");
    let mut cmd = sealmail_on_one_cpu();
    cmd.args(["decrypt", "-i"]).arg(fixture("keys/alice.key"));
    let opened = run(cmd, &sealed.stdout);
    assert_ok(&opened, "");
    let body_at = |m: &[u8]| m.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    assert!(
        opened.stdout[body_at(&opened.stdout)..] == message[body_at(&message)..],
        "the body came back different"
    );
}

/// `sealmail` where no thread can be started: RLIMIT_NPROC at 1 for a user that already has a
/// process (`prlimit --nproc=1`), as under `ulimit -u` or a pids limit. Root is not held to
/// RLIMIT_NPROC, so as root the run also becomes `nobody` (setpriv), whose one process is then
/// sealmail itself. `None` (with the reason printed) only when prlimit or setpriv is missing.
fn sealmail_without_threads() -> Option<std::process::Command> {
    let have = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("prlimit") {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        == Some("0");
    let mut args = vec!["--nproc=1:1"];
    if root {
        if !have("setpriv") {
            eprintln!("skipped: setpriv (util-linux) is not installed, and root ignores the limit");
            return None;
        }
        args.extend([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]);
    }
    // The limit must really hold: a shell under it cannot start a background job.
    let probed = std::process::Command::new("prlimit")
        .args(&args)
        .args(["sh", "-c", "true & wait"])
        .output()
        .expect("run the probe");
    assert!(
        !probed.status.success(),
        "RLIMIT_NPROC=1 did not stop a fork; the test cannot take threads away"
    );
    Some(sealmail_under("prlimit", &args))
}

/// Threads are only an optimisation: with no thread to be had, a 3 MiB text file (length
/// pre-pass, sealing pipeline) and a 3 MiB binary entity from a pipe encrypt, and both decrypt
/// from a pipe (verify and decrypt pipelines), byte for byte, exit 0, where a failed thread
/// start used to be exit 74.
#[test]
fn large_messages_round_trip_when_no_thread_can_start() {
    let Some(_) = sealmail_without_threads() else {
        return;
    };
    let dir = tempdir();
    // `nobody` (when the test runs as root) must read the inputs.
    let open_up = |p: &Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    open_up(dir.path(), 0o755);
    let cert = dir.path().join("alice.crt");
    let key = dir.path().join("alice.key");
    std::fs::copy(fixture("keys/alice.crt"), &cert).unwrap();
    std::fs::copy(fixture("keys/alice.key"), &key).unwrap();
    open_up(&cert, 0o644);
    open_up(&key, 0o644);
    let text = [
        b"From: a@example.org\nTo: b@example.org\nSubject: no threads\n\n".as_slice(),
        &text_body(3 * MIB + 17),
    ]
    .concat();
    let path = dir.path().join("m.eml");
    std::fs::write(&path, &text).unwrap();
    open_up(&path, 0o644);
    let body_at = |m: &[u8]| m.windows(2).position(|w| w == b"\n\n").unwrap() + 2;

    let binary = binary_entity(3 * MIB + 5);
    for (input, from_file) in [(&text, true), (&binary, false)] {
        let mut cmd = sealmail_without_threads().unwrap();
        cmd.args(["encrypt", "-r"]).arg(&cert);
        if from_file {
            cmd.arg(&path);
        } else {
            cmd.arg("--entity");
        }
        let sealed = run(cmd, if from_file { b"" } else { input });
        assert_eq!(
            sealed.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&sealed.stderr)
        );
        let mut cmd = sealmail_without_threads().unwrap();
        cmd.args(["decrypt", "-i"]).arg(&key);
        if !from_file {
            cmd.arg("--entity");
        }
        let opened = run(cmd, &sealed.stdout);
        assert_eq!(
            opened.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&opened.stderr)
        );
        if from_file {
            assert!(
                opened.stdout[body_at(&opened.stdout)..] == input[body_at(input)..],
                "the text body came back different"
            );
        } else {
            assert!(
                opened.stdout == *input,
                "the binary entity came back different"
            );
        }
    }
}

/// openssl reads what sealmail streams: BER (indefinite lengths, chunked OCTET STRING) from a
/// pipe past the read-ahead, and DER from a file.
#[test]
fn openssl_decrypts_streamed_ber_and_file_der() {
    let dir = tempdir();
    let body = text_body(READ_AHEAD + 100 * KIB);
    let mut entity = b"Content-Type: text/plain; charset=us-ascii\n\n".to_vec();
    entity.extend_from_slice(&body);
    let file = dir.path().join("entity.txt");
    std::fs::write(&file, &entity).expect("write");
    let expected = common::lf_to_crlf(&entity);

    let mut cmd = sealmail();
    cmd.args(["encrypt", "--entity", "--cipher", "aes-256-gcm", "-r"])
        .arg(fixture("keys/alice.crt"));
    let streamed = run(cmd, &entity);
    assert!(streamed.status.success());
    assert!(is_ber(&streamed.stdout));

    let mut cmd = sealmail();
    cmd.args(["encrypt", "--entity", "--cipher", "aes-256-gcm", "-r"])
        .arg(fixture("keys/alice.crt"))
        .arg(&file);
    let from_file = run(cmd, b"");
    assert!(from_file.status.success());
    assert!(!is_ber(&from_file.stdout));

    for (what, sealed) in [("BER", &streamed.stdout), ("DER", &from_file.stdout)] {
        let mut cmd = openssl();
        cmd.args(["cms", "-decrypt", "-inkey"])
            .arg(fixture("keys/alice.key"));
        let out = run(cmd, sealed);
        assert!(
            out.status.success(),
            "openssl on {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout == expected, "openssl on {what}: content differs");
    }
}

/// A tampered message large enough that decrypt spools its ciphertext to a temporary file: exit
/// 65, nothing on stdout, and nothing left in TMPDIR.
#[test]
fn tampered_large_message_fails_with_nothing_released_and_no_file_left() {
    let entity = binary_entity(HOLD + 512 * KIB);
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--entity", "--cipher", "chacha20-poly1305", "-r"])
        .arg(fixture("keys/alice.crt"));
    let sealed = run(cmd, &entity);
    assert!(sealed.status.success());
    let mut tampered = sealed.stdout;
    // A base64 character in the middle of the ciphertext, swapped for another valid one.
    let mid = tampered.len() / 2;
    let at = mid
        + tampered[mid..]
            .iter()
            .position(|b| b.is_ascii_alphabetic())
            .expect("base64");
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };

    let tmp = tempdir();
    let mut cmd = sealmail();
    cmd.env("TMPDIR", tmp.path())
        .args(["decrypt", "--entity", "-i"])
        .arg(fixture("keys/alice.key"));
    let out = run(cmd, &tampered);
    assert_fails(&out, 65, "integrity check failed");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmpdir").collect();
    assert!(left.is_empty(), "files left in TMPDIR: {left:?}");
}
