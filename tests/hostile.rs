//! Hostile input through the binary and the fuzz targets (SECURITY.md, issue 5): malformed MIME,
//! base64, BER/DER, absurd lengths, deep nesting, thousands of recipients. Every case must end
//! in the documented exit code with one `sealmail: error:` line and nothing on stdout, within a
//! fixed memory bound (`ulimit -v`) and without hanging (a 10 s kill guard, not a timing test).
//!
//! The hostile envelopes are built here from a real sealmail message, so they stay valid-looking
//! up to the one field each case breaks.

mod common;

#[path = "../fuzz/targets.rs"]
mod targets;

use common::*;
use std::io::{Read, Write};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Address-space limit for every hostile run: far above what sealmail needs (a few MiB plus
/// the binary), far below what an allocation driven by a length field would take.
const MEMORY_LIMIT_KIB: u64 = 512 * 1024;
const HANG_GUARD: Duration = Duration::from_secs(10);

/// Run `sealmail ARGS` on `stdin` under the memory limit; kill it and fail after HANG_GUARD.
fn run_guarded(args: &[&str], stdin: &[u8]) -> Output {
    let script = format!("ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\"");
    let mut cmd = sealmail_under("sh", &["-c", &script]);
    cmd.args(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // sealmail may stop reading early (it refused the input): a broken pipe is expected.
        let _ = input.write_all(&data);
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sealmail {args:?} did not finish within {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

fn decrypt_args() -> Vec<String> {
    vec![
        "decrypt".into(),
        "-i".into(),
        fixture("interop/alice.key").display().to_string(),
    ]
}

/// A ContentInfo { authEnvelopedData } opened with indefinite lengths up to and including an
/// indefinite recipientInfos SET: what the hostile cases below put their RecipientInfos after.
fn open_recipient_infos(p: &Parts) -> Vec<u8> {
    let mut msg = vec![0x30, 0x80];
    msg.extend(OID_AUTH_ENVELOPED);
    msg.extend([0xa0, 0x80, 0x30, 0x80]);
    msg.extend(&p.version);
    msg.extend([0x31, 0x80]);
    msg
}

/// `sealmail decrypt -i alice.key` on `input` must fail with `code`, naming `needle`.
fn assert_decrypt_fails(input: &[u8], code: i32, needle: &str) {
    let args = decrypt_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_guarded(&args, input);
    assert_fails(&out, code, needle);
    let first = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        first
            .lines()
            .filter(|l| l.starts_with("sealmail: error:"))
            .count(),
        1,
        "{first}"
    );
    // `inspect` reads the same envelope without a key: it must refuse it too (65), or for
    // decrypt-only failures (no identity matches) describe it.
    let out = run_guarded(&["inspect"], input);
    if code == 65 {
        assert_fails(&out, 65, "");
    }
    // The library-level targets see the same input.
    targets::envelope(input);
}

fn decrypt_ok(input: &[u8]) -> Vec<u8> {
    let args = decrypt_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_guarded(&args, input);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

// ---------------------------------------------------------------------------------------------
// A tiny DER toolkit: enough to take a real message apart and put hostile variants together.

fn header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend(&bytes[skip..]);
    }
    out
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = header(tag, content.len());
    out.extend(content);
    out
}

/// The (whole TLV) children of a definite-length constructed element.
fn children(el: &[u8]) -> Vec<Vec<u8>> {
    let (_, body) = split_header(el);
    let mut rest = body;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (hl, content) = split_header(rest);
        let total = hl + content.len();
        out.push(rest[..total].to_vec());
        rest = &rest[total..];
    }
    out
}

/// Header length and content of a definite-length element.
fn split_header(el: &[u8]) -> (usize, &[u8]) {
    let first = el[1];
    let (hl, len) = if first < 0x80 {
        (2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        let len = el[2..2 + n]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | b as usize);
        (2 + n, len)
    };
    (hl, &el[hl..hl + len])
}

fn content(el: &[u8]) -> Vec<u8> {
    split_header(el).1.to_vec()
}

const OID_AUTH_ENVELOPED: &[u8] = &[
    0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17,
];

/// A real message taken apart: the AuthEnvelopedData's parts as whole TLVs.
struct Parts {
    version: Vec<u8>,
    ktri: Vec<u8>,
    eci_type: Vec<u8>,
    alg: Vec<u8>,
    ciphertext: Vec<u8>,
    mac: Vec<u8>,
}

fn parts(der: &[u8]) -> Parts {
    let ci = children(der);
    let aed = &children(&ci[1])[0];
    let aed = children(aed);
    let ris = children(&aed[1]);
    let eci = children(&aed[2]);
    Parts {
        version: aed[0].clone(),
        ktri: ris[0].clone(),
        eci_type: eci[0].clone(),
        alg: eci[1].clone(),
        ciphertext: content(&eci[2]),
        mac: aed[3].clone(),
    }
}

/// Put an envelope together from raw parts (each a whole TLV, `content` the `[0]` element).
fn assemble(ris: &[u8], alg: &[u8], content: &[u8], p: &Parts) -> Vec<u8> {
    let eci = tlv(0x30, &[&p.eci_type[..], alg, content].concat());
    let aed = tlv(
        0x30,
        &[&p.version[..], &tlv(0x31, ris), &eci, &p.mac].concat(),
    );
    tlv(0x30, &[OID_AUTH_ENVELOPED, &tlv(0xa0, &aed)].concat())
}

const PLAIN: &[u8] = b"From: a@example.org\nTo: alice@example.org\nSubject: hi\n\nhello\n";

/// A small real message from sealmail itself, DER, to alice.
fn sample(cipher: &str) -> Vec<u8> {
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--outform", "der", "--cipher", cipher, "-r"])
        .arg(fixture("interop/alice.crt"));
    let out = run(cmd, PLAIN);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    out.stdout
}

fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

const SMIME_HEADERS: &str = "MIME-Version: 1.0\nContent-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"\nContent-Transfer-Encoding: base64\n\n";

// ---------------------------------------------------------------------------------------------
// Framing: MIME, base64, PEM

#[test]
fn empty_and_garbage_input_are_data_errors() {
    assert_decrypt_fails(b"", 65, "empty");
    assert_decrypt_fails(b"\n\n  \n", 65, "");
    let mut junk = garbage(100_000, 7);
    junk[0] = b'Q'; // not 0x30, not '-': read as MIME
    assert_decrypt_fails(&junk, 65, "not");
    junk[0] = 0x30; // read as DER
    assert_decrypt_fails(&junk, 65, "CMS");
}

#[test]
fn base64_with_bad_characters_is_refused_naming_the_offset() {
    let mut msg = SMIME_HEADERS.as_bytes().to_vec();
    msg.extend(b"MIIBvQYLKoZIhvcNAQkQARegggGsMIIBqAIBADGCAWQwggFg\nMIIB$$$$KoZIhvcN\n");
    assert_decrypt_fails(&msg, 65, "not base64");
    // Data after padding, and a group cut short.
    let mut msg = SMIME_HEADERS.as_bytes().to_vec();
    msg.extend(b"MIIB==AA\n");
    assert_decrypt_fails(&msg, 65, "base64");
    let mut msg = SMIME_HEADERS.as_bytes().to_vec();
    msg.extend(b"MIIBv\n");
    assert_decrypt_fails(&msg, 65, "base64");
    assert_decrypt_fails(
        b"-----BEGIN CMS-----\nMIIB\x00\n-----END CMS-----\n",
        65,
        "base64",
    );
    assert_decrypt_fails(b"-----BEGIN CMS-----\nMIIBvQYL\n", 65, "END");
}

#[test]
fn a_ten_mib_header_line_is_refused() {
    let mut msg = b"Subject: ".to_vec();
    msg.resize(10 << 20, b'x');
    msg.extend(b"\n\nbody\n");
    assert_decrypt_fails(&msg, 65, "header section is larger than 1024 KiB");
}

#[test]
fn a_hundred_thousand_header_fields_are_read_or_refused_cleanly() {
    let smime = {
        let mut cmd = sealmail();
        cmd.args(["encrypt", "-r"])
            .arg(fixture("interop/alice.crt"));
        run(cmd, PLAIN).stdout
    };
    // 100k short fields fit in the 1 MiB header limit: the message decrypts, fields kept.
    let mut msg: Vec<u8> = b"X: v\n".repeat(100_000);
    msg.extend(&smime);
    let out = decrypt_ok(&msg);
    assert_eq!(out.windows(5).filter(|w| w == b"X: v\n").count(), 100_000);
    assert!(
        out.ends_with(b"\n\nhello\n"),
        "{:?}",
        String::from_utf8_lossy(&out[out.len() - 50..])
    );
    // 100k longer ones do not.
    let mut msg: Vec<u8> = b"X-Field: value\n".repeat(100_000);
    msg.extend(&smime);
    assert_decrypt_fails(&msg, 65, "header section is larger");
}

// ---------------------------------------------------------------------------------------------
// BER/DER

#[test]
fn a_length_of_two_to_the_63_is_refused_without_allocating() {
    let real = sample("chacha20-poly1305");
    let p = parts(&real);
    // The outermost SEQUENCE claims 2^63 bytes.
    let mut msg = vec![0x30, 0x88, 0x80, 0, 0, 0, 0, 0, 0, 0];
    msg.extend(&real[4..]);
    assert_decrypt_fails(&msg, 65, "malformed CMS");
    // The encrypted content claims 2^63 bytes inside indefinite-length containers.
    let mut msg = vec![0x30, 0x80];
    msg.extend(OID_AUTH_ENVELOPED);
    msg.extend([0xa0, 0x80, 0x30, 0x80]);
    msg.extend(&p.version);
    msg.extend(tlv(0x31, &p.ktri));
    msg.extend([0x30, 0x80]);
    msg.extend(&p.eci_type);
    msg.extend(&p.alg);
    msg.extend([0x80, 0x88, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    msg.extend(&p.ciphertext);
    assert_decrypt_fails(&msg, 65, "truncated");
    // A RecipientInfo claims 2^64 - 1 bytes.
    let mut ris = vec![0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    ris.extend(&p.ktri[4..]);
    let mut msg = open_recipient_infos(&p);
    msg.extend(ris);
    assert_decrypt_fails(&msg, 65, "bytes (limit 65536)");
}

#[test]
fn ten_thousand_nested_indefinite_sequences_are_refused() {
    let p = parts(&sample("chacha20-poly1305"));
    let nest = |tag: u8| -> Vec<u8> {
        let mut v = [tag, 0x80].repeat(10_000);
        v.extend([0u8, 0].repeat(10_000));
        v
    };
    let prefix = |ris: &[u8]| {
        let mut msg = open_recipient_infos(&p);
        msg.extend(ris);
        msg
    };
    // Inside a RecipientInfo (read into memory) and inside a skipped one ([1] kari).
    assert_decrypt_fails(&prefix(&nest(0x30)), 65, "nesting too deep");
    assert_decrypt_fails(&prefix(&nest(0xa1)), 65, "nesting too deep");
    // Inside the encrypted content (streamed).
    let mut content = vec![0xa0, 0x80];
    content.extend(nest(0x24));
    content.extend([0, 0]);
    let mut msg = prefix(&p.ktri);
    msg.extend([0, 0, 0x30, 0x80]);
    msg.extend(&p.eci_type);
    msg.extend(&p.alg);
    msg.extend(content);
    msg.extend([0, 0]);
    msg.extend(&p.mac);
    msg.extend([0, 0, 0, 0, 0, 0]);
    assert_decrypt_fails(&msg, 65, "nesting too deep");
}

#[test]
fn more_recipients_than_the_limit_are_refused() {
    let real = sample("chacha20-poly1305");
    let p = parts(&real);
    let content = tlv(0x80, &p.ciphertext);
    let ris = p.ktri.repeat(5000);
    let msg = assemble(&ris, &p.alg, &content, &p);
    assert_decrypt_fails(&msg, 65, "more than 1024 recipients");
    let ris = p.ktri.repeat(1025);
    assert_decrypt_fails(&assemble(&ris, &p.alg, &content, &p), 65, "more than 1024");
}

/// 1024 RecipientInfos, none for us: at most 64 blind RSA tries, then 77. With the real
/// RecipientInfo last, the message still decrypts when the identity has its certificate (found
/// by issuerAndSerialNumber); a bare key answers only to its subjectKeyIdentifier, so it finds
/// an issuerAndSerialNumber recipient by blind tries, which cover the first 64 distinct wrapped
/// keys only (a repeated one is tried once).
#[test]
fn a_thousand_recipients_not_for_us_end_in_77_after_bounded_tries() {
    let real = sample("chacha20-poly1305");
    let p = parts(&real);
    let content = tlv(0x80, &p.ciphertext);
    // Another serial number and a damaged wrapped key: neither matches nor unwraps.
    let mut other = p.ktri.clone();
    let serial_at = other
        .windows(2)
        .position(|w| w == [0x02, 0x14])
        .expect("the 20-byte serial");
    other[serial_at + 5] ^= 0x55;
    let last = other.len() - 1;
    other[last] ^= 0x55;
    let ris = other.repeat(1024);
    assert_decrypt_fails(
        &assemble(&ris, &p.alg, &content, &p),
        77,
        "none of the identities",
    );
    // 1023 different wrapped keys, then ours.
    let mut ris = Vec::new();
    for i in 1..=1023u16 {
        let mut one = other.clone();
        let [hi, lo] = i.to_be_bytes();
        one[last] ^= lo;
        one[last - 1] ^= hi;
        ris.extend(one);
    }
    ris.extend(&p.ktri);
    let msg = assemble(&ris, &p.alg, &content, &p);
    // A bare key (no certificate in the file or beside it) answers only to its subject key
    // identifier: ours is the 1024th issuerAndSerialNumber recipient, past the blind tries.
    let dir = tempdir();
    let bare = dir.path().join("bare.key");
    std::fs::write(&bare, read_fixture("interop/alice.key")).expect("write bare key");
    let bare = bare.display().to_string();
    let out = run_guarded(&["decrypt", "-i", &bare], &msg);
    assert_fails(&out, 77, "none of the identities");
    assert!(String::from_utf8_lossy(&out.stderr).contains("with its certificate"));
    // 1023 copies of one wrapped key cost one try: ours, after them, is reached.
    let mut copies = other.repeat(1023);
    copies.extend(&p.ktri);
    assert_says_hello(&run_guarded(
        &["decrypt", "-i", &bare],
        &assemble(&copies, &p.alg, &content, &p),
    ));
    // fixtures/interop/alice.key has alice.crt beside it, which names it by issuer and serial.
    assert_says_hello(&run_guarded(
        &[
            "decrypt",
            "-i",
            &fixture("interop/alice.key").display().to_string(),
        ],
        &msg,
    ));
    let key_and_cert = dir.path().join("alice.pem");
    let mut pem = read_fixture("interop/alice.key");
    pem.extend(read_fixture("interop/alice.crt"));
    std::fs::write(&key_and_cert, pem).expect("write key+cert");
    let key_and_cert = key_and_cert.display().to_string();
    assert_says_hello(&run_guarded(&["decrypt", "-i", &key_and_cert], &msg));
}

/// The sample message decrypted: exit 0 and its body.
fn assert_says_hello(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.ends_with(b"\n\nhello\n"));
}

#[test]
fn a_100_mb_encrypted_key_claim_is_refused() {
    let p = parts(&sample("chacha20-poly1305"));
    // The ktri's fields, with the encrypted key's OCTET STRING replaced by a 100 MB claim.
    let fields = children(&p.ktri);
    let mut ktri = vec![0x30, 0x80];
    for f in &fields[..3] {
        ktri.extend(f);
    }
    ktri.extend([0x04, 0x84, 0x05, 0xf5, 0xe1, 0x00]);
    ktri.extend(content(&fields[3]));
    let mut msg = open_recipient_infos(&p);
    msg.extend(ktri);
    assert_decrypt_fails(&msg, 65, "claims 100000000 bytes");
    // The same claim in definite form: the SEQUENCE must hold it, so it claims more still.
    let mut ktri = header(0x30, 100_000_000 + 300);
    for f in &fields[..3] {
        ktri.extend(f);
    }
    ktri.extend(header(0x04, 100_000_000));
    let mut msg = open_recipient_infos(&p);
    msg.extend(ktri);
    assert_decrypt_fails(&msg, 65, "limit 65536");
}

fn gcm_alg(oid_tail: u8, nonce_len: usize, icv: Option<u8>) -> Vec<u8> {
    let oid = tlv(
        0x06,
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, oid_tail],
    );
    let mut params = tlv(0x04, &vec![7u8; nonce_len]);
    if let Some(icv) = icv {
        params.extend(tlv(0x02, &[icv]));
    }
    tlv(0x30, &[oid, tlv(0x30, &params)].concat())
}

#[test]
fn gcm_nonces_of_0_or_1000_bytes_and_icvlen_4_are_refused() {
    let p = parts(&sample("aes-256-gcm"));
    let content = tlv(0x80, &p.ciphertext);
    let msg = |alg: Vec<u8>| assemble(&p.ktri, &alg, &content, &p);
    assert_decrypt_fails(&msg(gcm_alg(46, 0, Some(16))), 65, "nonce is 0 bytes");
    assert_decrypt_fails(&msg(gcm_alg(46, 1000, Some(16))), 65, "nonce is 1000 bytes");
    assert_decrypt_fails(&msg(gcm_alg(46, 12, Some(4))), 65, "tag length 4");
    // ICVlen absent means 12 (RFC 5084): the 16-byte mac no longer fits.
    assert_decrypt_fails(&msg(gcm_alg(46, 12, None)), 65, "mac is 16 bytes");
    // ChaCha20-Poly1305 with a 1000-byte nonce.
    let oid = tlv(
        0x06,
        &[
            0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x03, 0x12,
        ],
    );
    let alg = tlv(0x30, &[oid, tlv(0x04, &[1u8; 1000])].concat());
    assert_decrypt_fails(&msg(alg), 65, "nonce is 1000 bytes");
}

#[test]
fn unknown_content_encryption_oids_are_refused_by_name() {
    let p = parts(&sample("chacha20-poly1305"));
    let content = tlv(0x80, &p.ciphertext);
    let nonce = tlv(0x04, &[0u8; 12]);
    for (oid, name) in [
        (vec![0x2a, 0x03, 0x04], "1.2.3.4"),
        // AES-256-CBC: EnvelopedData's cipher inside AuthEnvelopedData.
        (
            vec![0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a],
            "2.16.840.1.101.3.4.1.42",
        ),
    ] {
        let alg = tlv(0x30, &[tlv(0x06, &oid), nonce.clone()].concat());
        assert_decrypt_fails(&assemble(&p.ktri, &alg, &content, &p), 65, name);
    }
    assert_decrypt_fails(
        &assemble(&p.ktri, &gcm_alg(26, 12, Some(16)), &content, &p),
        65,
        "AES-192-GCM",
    );
}

#[test]
fn a_constructed_octet_string_of_100k_tiny_chunks_still_decrypts() {
    let real = sample("chacha20-poly1305");
    let expected = decrypt_ok(&real);
    let p = parts(&real);
    let mut content = vec![0xa0, 0x80];
    for (i, b) in p.ciphertext.iter().enumerate() {
        content.extend([0x04, 0x01, *b]);
        // Empty chunks between the real ones: 100k chunks in all.
        let empties = 100_000 / p.ciphertext.len() + usize::from(i == 0);
        content.extend([0x04, 0x00].repeat(empties));
    }
    content.extend([0, 0]);
    let msg = assemble(&p.ktri, &p.alg, &content, &p);
    assert_eq!(decrypt_ok(&msg), expected);
}

// ---------------------------------------------------------------------------------------------
// The fuzz targets on stable: every seed and every committed crash reproducer, then a few
// thousand deterministic mutations of the seeds (cargo-fuzz itself needs nightly; SECURITY.md).

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    let regressions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile");
    if let Ok(rd) = std::fs::read_dir(regressions) {
        files.extend(
            rd.map(|e| e.expect("dir entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "bin")),
        );
    }
    files
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(&p).expect("corpus file"),
            )
        })
        .collect()
}

/// Mutations in the style of libFuzzer's: flip a bit, set a byte, cut, duplicate, insert.
fn mutate(seed: &[u8], rng: &mut u64) -> Vec<u8> {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let mut data = seed.to_vec();
    for _ in 0..1 + next() % 4 {
        if data.is_empty() {
            break;
        }
        let at = (next() as usize) % data.len();
        match next() % 6 {
            0 => data[at] ^= 1 << (next() % 8),
            1 => data[at] = [0x00, 0x80, 0xff, 0x7f, 0x30, 0x24][next() as usize % 6],
            2 => data.truncate(at),
            3 => {
                let len = (next() as usize % 64).min(data.len() - at);
                let piece = data[at..at + len].to_vec();
                data.splice(at..at, piece);
            }
            4 => data.insert(at, next() as u8),
            _ => {
                data.remove(at);
            }
        }
    }
    data
}

#[test]
fn envelope_fuzz_target_on_the_corpus_and_mutations() {
    let seeds = corpus("envelope");
    assert!(seeds.len() >= 10, "seed corpus missing");
    let mut rng = 0x5ea1_3a11_u64;
    for (name, data) in &seeds {
        let result = std::panic::catch_unwind(|| targets::envelope(data));
        assert!(result.is_ok(), "envelope target failed on {name}");
        for _ in 0..300 {
            let m = mutate(data, &mut rng);
            let result = std::panic::catch_unwind(|| targets::envelope(&m));
            assert!(
                result.is_ok(),
                "envelope target failed on a mutation of {name}: {m:02x?}"
            );
        }
    }
}

#[test]
fn decrypt_fuzz_target_on_the_corpus_and_mutations() {
    let seeds = corpus("decrypt");
    assert!(seeds.len() >= 10, "seed corpus missing");
    let mut rng = 0x00de_c0de_5eed_u64;
    let mut decrypted = 0;
    for (name, data) in &seeds {
        if targets::decrypt_with(data, targets::test_identities()).is_ok() {
            decrypted += 1;
        }
        for _ in 0..40 {
            let m = mutate(data, &mut rng);
            let result = std::panic::catch_unwind(|| targets::decrypt(&m));
            assert!(
                result.is_ok(),
                "decrypt target failed on a mutation of {name}: {m:02x?}"
            );
        }
    }
    // The seeds are real messages to alice (sealmail's and openssl's), except the refused ones.
    assert!(decrypted >= 12, "only {decrypted} seeds decrypted");
}

#[test]
fn signed_fuzz_target_on_the_corpus_and_mutations() {
    let seeds = corpus("signed");
    assert!(seeds.len() >= 9, "seed corpus missing");
    let mut rng = 0x0051_9ed0_u64;
    for (name, data) in &seeds {
        let result = std::panic::catch_unwind(|| targets::signed(data));
        assert!(result.is_ok(), "signed target failed on {name}");
        for _ in 0..150 {
            let m = mutate(data, &mut rng);
            let result = std::panic::catch_unwind(|| targets::signed(&m));
            assert!(
                result.is_ok(),
                "signed target failed on a mutation of {name}: {m:02x?}"
            );
        }
    }
}

/// A session key that OAEP-decodes but is 16 bytes for a cipher that needs 32 (an AES-128-GCM
/// message relabelled AES-256-GCM) is answered exactly like a wrapped key that does not decode:
/// the same exit code and the same words, so the answer says nothing about the decoded block.
#[test]
fn a_wrong_length_session_key_answers_like_any_unwrap_failure() {
    let p = parts(&sample("aes-128-gcm"));
    let content = tlv(0x80, &p.ciphertext);
    let relabelled = assemble(&p.ktri, &gcm_alg(46, 12, Some(16)), &content, &p);
    let mut damaged_ktri = p.ktri.clone();
    let last = damaged_ktri.len() - 1;
    damaged_ktri[last] ^= 0x55;
    let damaged = assemble(&damaged_ktri, &gcm_alg(46, 12, Some(16)), &content, &p);
    let args = decrypt_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let wrong_len = run_guarded(&args, &relabelled);
    let bad_padding = run_guarded(&args, &damaged);
    assert_fails(&wrong_len, 77, "none of the identities");
    assert_eq!(wrong_len.status.code(), bad_padding.status.code());
    assert_eq!(
        String::from_utf8_lossy(&wrong_len.stderr),
        String::from_utf8_lossy(&bad_padding.stderr)
    );
}

/// RecipientInfos that repeat one identifier cost one RSA operation, not one each: the first
/// one naming alice is tried and no other with the same identifier is. So 1024 copies of a
/// damaged RecipientInfo naming alice end in 77 after one try, and a message whose first
/// RecipientInfo for alice is damaged is refused even with a good one after it (a sender never
/// names one recipient twice).
#[test]
fn repeated_identifiers_cost_one_rsa_operation_per_identity() {
    let p = parts(&sample("chacha20-poly1305"));
    let content = tlv(0x80, &p.ciphertext);
    let mut damaged = p.ktri.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x55;
    assert_decrypt_fails(
        &assemble(&damaged.repeat(1024), &p.alg, &content, &p),
        77,
        "none of the identities",
    );
    let ris = [&damaged[..], &p.ktri[..]].concat();
    assert_decrypt_fails(
        &assemble(&ris, &p.alg, &content, &p),
        77,
        "none of the identities",
    );
    // The good RecipientInfo first: it decrypts, as it always did.
    let ris = [&p.ktri[..], &damaged[..]].concat();
    assert!(decrypt_ok(&assemble(&ris, &p.alg, &content, &p)).ends_with(b"\n\nhello\n"));
}
