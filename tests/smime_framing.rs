//! The S/MIME / PEM / DER framing of CMS bytes: the writer against the `base64` crate's one-shot
//! encoding, the reader against the writer and against what `openssl cms` writes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealmail::message::LineEnding;
use sealmail::smime::{InForm, OpenedEnvelope, OutForm, envelope_writer, open_envelope};
use sealmail::{Error, Kind};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn eol_str(le: LineEnding) -> &'static str {
    match le {
        LineEnding::Lf => "\n",
        LineEnding::CrLf => "\r\n",
    }
}

/// What the output must be: the one-shot encoding cut into lines, every line ended.
fn expected_lines(data: &[u8], width: usize, le: LineEnding) -> String {
    let encoded = STANDARD.encode(data);
    let mut s = String::new();
    for line in encoded.as_bytes().chunks(width) {
        s.push_str(std::str::from_utf8(line).unwrap());
        s.push_str(eol_str(le));
    }
    s
}

const SMIME_HEADERS: &str = "MIME-Version: 1.0\n\
Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"\n\
Content-Transfer-Encoding: base64\n\
Content-Disposition: attachment; filename=\"smime.p7m\"\n\n";

fn headers(le: LineEnding) -> String {
    SMIME_HEADERS.replace('\n', eol_str(le))
}

/// Write `data` through an envelope writer in pieces of random sizes up to `max_piece`.
fn write_envelope(
    form: OutForm,
    outer: &[u8],
    le: LineEnding,
    data: &[u8],
    rng: &mut Rng,
    max_piece: usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut sink = envelope_writer(form, outer, le, Box::new(&mut out)).unwrap();
    let mut rest = data;
    while !rest.is_empty() {
        let n = (1 + rng.below(max_piece)).min(rest.len());
        sink.write_all(&rest[..n]).unwrap();
        rest = &rest[n..];
    }
    sink.finish().unwrap();
    out
}

/// A reader that hands out its bytes in pieces of random sizes, like a pipe.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    rng: Rng,
    max: usize,
}
impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (1 + self.rng.below(self.max))
            .min(buf.len())
            .min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn trickle(data: Vec<u8>, seed: u64, max: usize) -> Box<dyn BufRead> {
    let mut rng = Rng(seed | 1);
    let cap = 1 + rng.below(max);
    Box::new(BufReader::with_capacity(
        cap,
        Trickle {
            data,
            pos: 0,
            rng,
            max,
        },
    ))
}

fn open(bytes: Vec<u8>, form: InForm) -> Result<OpenedEnvelope<'static>, Error> {
    open_envelope(Box::new(std::io::Cursor::new(bytes)), form)
}

fn read_cms(env: OpenedEnvelope<'_>) -> Result<Vec<u8>, Error> {
    let mut cms = env.cms;
    let mut out = Vec::new();
    cms.read_to_end(&mut out)?;
    Ok(out)
}

fn decode(bytes: Vec<u8>, form: InForm) -> Result<Vec<u8>, Error> {
    read_cms(open(bytes, form)?)
}

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "fixtures", "smime", name]
        .iter()
        .collect();
    std::fs::read(path).unwrap()
}

/// A DER-looking payload (starts with a SEQUENCE tag) of `len` bytes.
fn cms_like(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut data = rng.bytes(len);
    if let Some(first) = data.first_mut() {
        *first = 0x30;
    }
    data
}

#[test]
fn smime_output_is_the_headers_then_one_shot_base64_in_76_char_lines() {
    let mut rng = Rng(0x5eed);
    let big = 3 * 1024 * 1024 + 17;
    for le in [LineEnding::Lf, LineEnding::CrLf] {
        for len in [0, 1, 2, 56, 57, 58, 114, 1000, big] {
            let data = rng.bytes(len);
            for max_piece in [1, 57, 4096, 1 << 20] {
                if len == big && max_piece < 4096 {
                    continue; // byte-sized writes of megabytes only slow the test down
                }
                let out = write_envelope(OutForm::Smime, b"", le, &data, &mut rng, max_piece);
                let expected = headers(le) + &expected_lines(&data, 76, le);
                assert!(
                    out == expected.as_bytes(),
                    "len {len}, pieces up to {max_piece}, {le:?}"
                );
            }
        }
    }
}

#[test]
fn pem_output_is_begin_64_char_lines_end() {
    let mut rng = Rng(77);
    for le in [LineEnding::Lf, LineEnding::CrLf] {
        for len in [0, 1, 47, 48, 49, 100_000] {
            let data = rng.bytes(len);
            let out = write_envelope(OutForm::Pem, b"ignored?", le, &data, &mut rng, 5000);
            let e = eol_str(le);
            let expected = format!(
                "-----BEGIN CMS-----{e}{}-----END CMS-----{e}",
                expected_lines(&data, 64, le)
            );
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected,
                "len {len} {le:?}"
            );
        }
    }
}

#[test]
fn der_output_is_the_bytes_themselves() {
    let mut rng = Rng(3);
    let data = rng.bytes(100_000);
    let out = write_envelope(OutForm::Der, b"", LineEnding::Lf, &data, &mut rng, 3000);
    assert_eq!(out, data);
}

#[test]
fn outer_fields_come_first_in_the_smime_output() {
    let outer = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: [...]\r\n";
    let mut rng = Rng(9);
    let out = write_envelope(
        OutForm::Smime,
        outer,
        LineEnding::CrLf,
        b"\x30\x00",
        &mut rng,
        10,
    );
    let expected = format!(
        "{}{}MAA=\r\n",
        String::from_utf8_lossy(outer),
        headers(LineEnding::CrLf)
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn base64_decoding_reverses_the_writer_with_any_chunking_and_line_ending() {
    let mut rng = Rng(0xdec0de);
    for le in [LineEnding::Lf, LineEnding::CrLf] {
        for (i, len) in [1, 2, 3, 56, 57, 58, 4095, 300_000, 2 * 1024 * 1024 + 5]
            .into_iter()
            .enumerate()
        {
            let data = cms_like(&mut rng, len);
            for form in [OutForm::Smime, OutForm::Pem] {
                let wire = write_envelope(form, b"", le, &data, &mut rng, 70_000);
                for (seed, max) in [(i as u64, 3), (i as u64 + 100, 1000), (7, 300_000)] {
                    let env =
                        open_envelope(trickle(wire.clone(), seed, max), InForm::Auto).unwrap();
                    assert_eq!(env.line_ending, Some(le));
                    let got = read_cms(env).unwrap();
                    assert!(got == data, "len {len} {form:?} {le:?} chunks up to {max}");
                }
            }
        }
    }
}

#[test]
fn decoding_accepts_any_line_length_blanks_and_missing_padding() {
    let mut rng = Rng(42);
    let data = cms_like(&mut rng, 10_001);
    let encoded = STANDARD.encode(&data);
    // Lines of random lengths, some with trailing blanks, mixed line endings.
    let mut body = String::new();
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let n = (1 + rng.below(100)).min(rest.len());
        body.push_str(&rest[..n]);
        body.push_str([" \n", "\r\n", "\t\n", "\n"][rng.below(4)]);
        rest = &rest[n..];
    }
    let wire = headers(LineEnding::Lf) + &body + "\n\n";
    assert_eq!(decode(wire.into_bytes(), InForm::Auto).unwrap(), data);

    let unpadded = headers(LineEnding::Lf) + encoded.trim_end_matches('=');
    assert!(encoded.ends_with('='), "the test needs a padded encoding");
    assert_eq!(decode(unpadded.into_bytes(), InForm::Auto).unwrap(), data);
}

#[test]
fn a_mime_envelope_gives_back_its_header_section_and_line_ending() {
    let outer = b"From: a@example.org\nSubject: hello\n";
    let mut rng = Rng(5);
    let data = cms_like(&mut rng, 5000);
    let wire = write_envelope(OutForm::Smime, outer, LineEnding::Lf, &data, &mut rng, 999);
    let env = open(wire, InForm::Auto).unwrap();
    assert_eq!(env.form, InForm::Smime);
    assert_eq!(env.line_ending, Some(LineEnding::Lf));
    let expected = [&outer[..], headers(LineEnding::Lf).as_bytes()].concat();
    assert_eq!(env.header_section.as_deref(), Some(&expected[..]));
    assert_eq!(read_cms(env).unwrap(), data);
}

#[test]
fn each_form_is_detected() {
    let mut rng = Rng(11);
    let data = cms_like(&mut rng, 700);
    let cases = [
        (OutForm::Smime, InForm::Smime, LineEnding::CrLf),
        (OutForm::Pem, InForm::Pem, LineEnding::CrLf),
        (OutForm::Der, InForm::Der, LineEnding::Lf),
    ];
    for (out_form, in_form, le) in cases {
        let wire = write_envelope(out_form, b"", le, &data, &mut rng, 100);
        let env = open(wire.clone(), InForm::Auto).unwrap();
        assert_eq!(env.form, in_form);
        assert_eq!(env.header_section.is_some(), in_form == InForm::Smime);
        assert_eq!(env.line_ending, (in_form != InForm::Der).then_some(le));
        assert_eq!(read_cms(env).unwrap(), data, "{out_form:?}");
        // Forcing the right form reads it the same way.
        assert_eq!(decode(wire, in_form).unwrap(), data, "forced {in_form:?}");
    }
}

#[test]
fn pem_may_start_with_blank_lines_and_use_the_pkcs7_label() {
    let body = STANDARD.encode([0x30, 0x03, 1, 2, 3]);
    let wire =
        format!("\n  \n-----BEGIN PKCS7-----\n{body}\n-----END PKCS7-----\ntrailing words\n");
    assert_eq!(
        decode(wire.into_bytes(), InForm::Auto).unwrap(),
        [0x30, 0x03, 1, 2, 3]
    );
}

#[test]
fn other_pem_labels_are_refused() {
    let wire = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n".to_vec();
    let err = open(wire, InForm::Auto).err().unwrap();
    assert_eq!(err.kind(), Kind::Data);
    assert!(err.message().contains("CERTIFICATE"), "{}", err.message());
}

/// A MIME envelope whose Content-Type and Content-Transfer-Encoding lines are given.
fn mime_with(content_type: &str, cte: &str, body: &str) -> Vec<u8> {
    format!("From: a@example.org\nMIME-Version: 1.0\nContent-Type: {content_type}\n{cte}\n{body}")
        .into_bytes()
}

#[test]
fn every_pkcs7_mime_label_is_accepted_and_never_dispatched_on() {
    let types = [
        "application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"",
        "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
        "application/x-pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"",
        "Application/PKCS7-MIME",
        "application/pkcs7-mime; smime-type=signed-data",
        "application/octet-stream; name=\"smime.p7m\"",
        "application/octet-stream; name=\"SMIME.P7M\"",
    ];
    for ct in types {
        let wire = mime_with(ct, "Content-Transfer-Encoding: base64\n", "MAMBAgM=\n");
        assert_eq!(
            decode(wire, InForm::Auto).unwrap(),
            [0x30, 3, 1, 2, 3],
            "{ct}"
        );
    }
    let disposition_named = b"Content-Type: application/octet-stream\n\
Content-Disposition: attachment; filename=\"x.p7m\"\nContent-Transfer-Encoding: base64\n\nMAA=\n";
    assert_eq!(
        decode(disposition_named.to_vec(), InForm::Auto).unwrap(),
        [0x30, 0]
    );
}

#[test]
fn binary_transfer_encodings_pass_the_body_through() {
    for cte in [
        "Content-Transfer-Encoding: binary\n",
        "Content-Transfer-Encoding: 8bit\n",
        "",
    ] {
        let mut wire = mime_with("application/pkcs7-mime", cte, "");
        wire.extend_from_slice(&[0x30, 0x02, 0x0d, 0x0a]);
        assert_eq!(
            decode(wire, InForm::Auto).unwrap(),
            [0x30, 0x02, 0x0d, 0x0a],
            "{cte:?}"
        );
    }
    let wire = mime_with(
        "application/pkcs7-mime",
        "Content-Transfer-Encoding: quoted-printable\n",
        "x",
    );
    assert_eq!(open(wire, InForm::Auto).err().unwrap().kind(), Kind::Data);
}

#[test]
fn signed_and_plain_messages_are_refused_as_data_errors() {
    let cases = [
        (
            "multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b",
            "signed",
        ),
        ("application/pkcs7-signature", "pkcs7-signature"),
        ("text/plain; charset=utf-8", "text/plain"),
        ("application/octet-stream; name=report.pdf", "octet-stream"),
    ];
    for (ct, word) in cases {
        let err = open(mime_with(ct, "", "hello\n"), InForm::Auto)
            .err()
            .unwrap();
        assert_eq!(err.kind(), Kind::Data, "{ct}");
        assert!(
            err.message()
                .starts_with("the input is not an S/MIME encrypted message")
        );
        assert!(err.message().contains(word), "{}", err.message());
        assert!(err.hint().is_some());
    }
    let err = open(
        mime_with("multipart/signed; boundary=b", "", ""),
        InForm::Auto,
    )
    .err()
    .unwrap();
    assert!(err.hint().unwrap().contains("signed, not encrypted"));

    let no_type = b"From: a@example.org\nSubject: hi\n\nbody\n".to_vec();
    let err = open(no_type, InForm::Auto).err().unwrap();
    assert_eq!(err.kind(), Kind::Data);
    assert!(
        err.message().contains("no Content-Type"),
        "{}",
        err.message()
    );
}

#[test]
fn empty_blank_and_garbage_inputs_are_data_errors() {
    for input in [
        &b""[..],
        b"   \n\r\n",
        b"hello world",
        b"\x00\x01\x02",
        b"\n\x30\x03",
    ] {
        let err = match open(input.to_vec(), InForm::Auto) {
            Err(err) => err,
            Ok(env) => read_cms(env).unwrap_err(),
        };
        assert_eq!(err.kind(), Kind::Data, "{input:?}: {}", err.message());
    }
    for form in [InForm::Der, InForm::Pem, InForm::Smime] {
        assert_eq!(
            open(Vec::new(), form).err().unwrap().kind(),
            Kind::Data,
            "{form:?}"
        );
    }
}

#[test]
fn broken_base64_is_a_data_error_from_the_reader() {
    let mime = |body: &str| [headers(LineEnding::Lf).as_bytes(), body.as_bytes()].concat();
    let pem = |body: &str| format!("-----BEGIN CMS-----\n{body}-----END CMS-----\n").into_bytes();
    let cases = [
        mime("MAMB*gM=\n"),
        mime("MAMBAgM=\nMAMB\n"), // data after padding
        mime("MAMBAgM===\n"),     // too much padding
        mime("MAMBA\n"),          // a group of one character
        mime("MAMBAgN=\n"),       // non-zero trailing bits
        mime("\n\n"),             // no content at all
        mime("MAMB-AgM=\n"),      // '-' outside PEM
        pem("MAMBAgM=\n-----END PKCS7-----\n"),
        b"-----BEGIN CMS-----\nMAMBAgM=\n".to_vec(), // no END line
        pem("MA\u{e9}MBAgM=\n"),
    ];
    for wire in cases {
        let shown = String::from_utf8_lossy(&wire).into_owned();
        let err = decode(wire, InForm::Auto).unwrap_err();
        assert_eq!(err.kind(), Kind::Data, "{shown:?}: {}", err.message());
        assert!(
            err.message().starts_with("malformed") || err.message().contains("no base64"),
            "{}",
            err.message()
        );
    }
}

#[test]
fn a_bad_byte_deep_in_a_large_body_is_found() {
    let mut rng = Rng(99);
    let data = cms_like(&mut rng, 1_000_000);
    let mut wire = write_envelope(
        OutForm::Smime,
        b"",
        LineEnding::Lf,
        &data,
        &mut rng,
        1 << 16,
    );
    let at = wire.len() - 5000;
    wire[at] = b'!';
    let err = decode(wire, InForm::Auto).unwrap_err();
    assert_eq!(err.kind(), Kind::Data);
    assert!(err.message().contains("0x21"), "{}", err.message());
}

#[test]
fn openssl_smime_output_decodes_to_its_der() {
    let env = open(fixture("msg.smime"), InForm::Auto).unwrap();
    assert_eq!(env.form, InForm::Smime);
    assert_eq!(env.line_ending, Some(LineEnding::Lf));
    let header = String::from_utf8(env.header_section.clone().unwrap()).unwrap();
    assert!(header.contains("smime-type=authEnveloped-data"));
    assert!(header.ends_with("base64\n\n"));
    assert_eq!(read_cms(env).unwrap(), fixture("msg.smime.der"));
    assert_eq!(
        decode(fixture("msg.smime"), InForm::Smime).unwrap(),
        fixture("msg.smime.der")
    );
}

#[test]
fn openssl_pem_output_decodes_to_its_der() {
    let env = open(fixture("msg.pem"), InForm::Auto).unwrap();
    assert_eq!(env.form, InForm::Pem);
    assert_eq!(read_cms(env).unwrap(), fixture("msg.pem.der"));
    assert_eq!(
        decode(fixture("msg.pem"), InForm::Pem).unwrap(),
        fixture("msg.pem.der")
    );
    let der = fixture("msg.pem.der");
    assert_eq!(decode(der.clone(), InForm::Auto).unwrap(), der);
}

#[test]
fn openssl_smime_output_with_crlf_and_x_pkcs7_mime_still_decodes() {
    let text = String::from_utf8(fixture("msg.smime")).unwrap();
    let changed = text
        .replace("application/pkcs7-mime", "application/x-pkcs7-mime")
        .replace('\n', "\r\n");
    let env = open(changed.into_bytes(), InForm::Auto).unwrap();
    assert_eq!(env.line_ending, Some(LineEnding::CrLf));
    assert_eq!(read_cms(env).unwrap(), fixture("msg.smime.der"));
}

#[test]
fn sealmail_output_is_read_back_by_the_same_module_from_openssl_der() {
    // Re-frame openssl's DER as sealmail's S/MIME and PEM, and read both back.
    let der = fixture("msg.smime.der");
    let mut rng = Rng(1);
    for form in [OutForm::Smime, OutForm::Pem, OutForm::Der] {
        let wire = write_envelope(form, b"", LineEnding::CrLf, &der, &mut rng, 50);
        assert_eq!(decode(wire, InForm::Auto).unwrap(), der, "{form:?}");
    }
}

#[test]
fn padding_cut_by_a_read_boundary_is_still_the_end() {
    // "MAA=" ends the data: whatever the read sizes, base64 after it is refused.
    for cap in 1..=12 {
        for body in [
            "MAA=MAMB\n",
            "MAA=\nMA",
            "MAA=MA",
            "MAA==\n=",
            "MAA=\n\nMAMB\n",
        ] {
            let wire = [headers(LineEnding::Lf).as_bytes(), body.as_bytes()].concat();
            let got =
                read_cms(open_envelope(trickle(wire, cap as u64, cap), InForm::Auto).unwrap());
            assert_eq!(
                got.unwrap_err().kind(),
                Kind::Data,
                "{body:?} reads up to {cap}"
            );
        }
    }
}
