//! The modern recipient kinds at library level, against independent implementations:
//! openssl 3 writes ECDH kari (every X9.63 scheme it has) that `kari::unwrap` opens, and opens the
//! kari that `kari::wrap` writes; an ML-KEM KEMRecipientInfo is opened by a decoder written here
//! from plain `der` types and the `ml-kem`, `hkdf` and `aes-kw` crates; the ML-KEM key loader is
//! checked against the LAMPS example keys (fixtures/mlkem, see its README).
//!
//! openssl 3.0 has no X25519 in CMS ("operation not supported for this keytype"), so X25519 is
//! covered by the round trips in `cms::recipient::kari`'s unit tests.

mod common;
use common::*;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode};
use sealmail::cms::recipient::{kari, kemri};
use sealmail::keys::ec::EcPrivateKey;
use sealmail::keys::mlkem::{Level, MlKemPrivateKey};
use spki::AlgorithmIdentifierOwned;
use std::path::Path;
use x509_cert::Certificate;

const AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");
const ENVELOPED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");

/// A self-signed EC certificate and its PKCS#8 key, made by openssl.
fn ec_identity(dir: &Path, curve: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join(format!("{curve}.key"));
    let crt = dir.join(format!("{curve}.crt"));
    let mut cmd = openssl();
    cmd.args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg(format!("ec_paramgen_curve:{curve}"))
        .args([
            "-nodes",
            "-subj",
            "/CN=ec recipient",
            "-days",
            "2",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&crt);
    stdout_ok(run(cmd, b""), "openssl req");
    (key, crt)
}

fn load_key(path: &Path) -> EcPrivateKey {
    let pem = std::fs::read(path).unwrap();
    let (label, der) = der::pem::decode_vec(&pem).unwrap();
    assert_eq!(label, "PRIVATE KEY");
    EcPrivateKey::from_pkcs8_der(&der).unwrap()
}

fn issuer_and_serial(crt: &Path) -> RecipientIdentifier {
    let pem = std::fs::read(crt).unwrap();
    let cert = Certificate::load_pem_chain(&pem).unwrap().remove(0);
    let tbs = cert.tbs_certificate();
    RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// AES-256-CBC with PKCS#7 padding by `openssl enc`, so the content cipher is not ours either.
fn openssl_cbc(decrypt: bool, key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
    let mut cmd = openssl();
    cmd.args([
        "enc",
        if decrypt { "-d" } else { "-e" },
        "-aes-256-cbc",
        "-K",
    ])
    .arg(hex(key))
    .arg("-iv")
    .arg(hex(iv));
    stdout_ok(run(cmd, data), "openssl enc")
}

#[test]
fn kari_unwrap_opens_what_openssl_wrote_to_an_ec_certificate() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let plain = b"Subject: ecdh\r\n\r\nfrom openssl to sealmail\r\n";
    for curve in ["P-256", "P-384"] {
        let (key_path, crt) = ec_identity(dir.path(), curve);
        let key = load_key(&key_path);
        let ours = issuer_and_serial(&crt);
        for (cipher, md) in [
            ("-aes256", "sha1"),
            ("-aes256", "sha256"),
            ("-aes256", "sha384"),
            ("-aes256", "sha512"),
            ("-aes128", "sha256"),
        ] {
            let what = format!("{curve} {cipher} {md}");
            let mut cmd = openssl();
            cmd.args([
                "cms", "-encrypt", "-binary", cipher, "-outform", "DER", "-recip",
            ])
            .arg(&crt)
            .args(["-keyopt"])
            .arg(format!("ecdh_kdf_md:{md}"));
            let der = stdout_ok(run(cmd, plain), &what);
            let ci = ContentInfo::from_ber(&der).unwrap();
            let ed: EnvelopedData = ci
                .content
                .decode_as_encoding(der::EncodingRules::Ber)
                .unwrap();
            let Some(RecipientInfo::Kari(k)) = ed.recip_infos.0.iter().next() else {
                panic!("{what}: no kari");
            };
            let scheme = kari::scheme_of(k).unwrap();
            assert_eq!(scheme.kind, format!("ECDH {curve}"), "{what}");
            let cek = kari::unwrap(k, kari::AgreementPrivateKey::Ec(&key), &|rid| *rid == ours)
                .unwrap()
                .unwrap_or_else(|| panic!("{what}: not addressed to us"));
            // The unwrapped key opens the content: decrypted by openssl enc with the IV
            // from the message's algorithm parameters.
            let eci = &ed.encrypted_content;
            let iv: OctetString = eci
                .content_enc_alg
                .parameters
                .as_ref()
                .unwrap()
                .decode_as()
                .unwrap();
            let ciphertext = eci.encrypted_content.as_ref().unwrap().as_bytes();
            let mut cmd = openssl();
            let algo = if cipher == "-aes256" {
                "-aes-256-cbc"
            } else {
                "-aes-128-cbc"
            };
            cmd.args(["enc", "-d", algo, "-K"])
                .arg(hex(&cek))
                .arg("-iv")
                .arg(hex(iv.as_bytes()));
            assert_eq!(stdout_ok(run(cmd, ciphertext), &what), plain, "{what}");
        }
    }
}

#[test]
fn openssl_opens_the_kari_that_kari_wrap_writes() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let plain = b"Subject: ecdh\r\n\r\nfrom sealmail to openssl\r\n";
    for curve in ["P-256", "P-384"] {
        let (key_path, crt) = ec_identity(dir.path(), curve);
        let public = load_key(&key_path).public_key();
        let cek = [0x42u8; 32];
        let iv = [0x24u8; 16];
        let info = kari::wrap(
            kari::AgreementPublicKey::Ec(&public),
            &issuer_and_serial(&crt),
            &cek,
        )
        .unwrap();
        let ed = EnvelopedData {
            version: CmsVersion::V2,
            originator_info: None,
            recip_infos: RecipientInfos(
                SetOfVec::try_from(vec![RecipientInfo::Kari(info)]).unwrap(),
            ),
            encrypted_content: EncryptedContentInfo {
                content_type: DATA,
                content_enc_alg: AlgorithmIdentifierOwned {
                    oid: AES256_CBC,
                    parameters: Some(
                        der::Any::encode_from(&OctetString::new(iv.to_vec()).unwrap()).unwrap(),
                    ),
                },
                encrypted_content: Some(
                    OctetString::new(openssl_cbc(false, &cek, &iv, plain)).unwrap(),
                ),
            },
            unprotected_attrs: None,
        };
        let ci = ContentInfo {
            content_type: ENVELOPED_DATA,
            content: der::Any::encode_from(&ed).unwrap(),
        };
        let msg = dir.path().join(format!("{curve}.der"));
        std::fs::write(&msg, ci.to_der().unwrap()).unwrap();
        let mut cmd = openssl();
        cmd.args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
            .arg(&msg)
            .arg("-inkey")
            .arg(&key_path)
            .arg("-recip")
            .arg(&crt);
        assert_eq!(stdout_ok(run(cmd, b""), curve), plain, "{curve}");
    }
}

/// The LAMPS example ML-KEM keys (seed 00 01 .. 3f): the seed-form private key must give exactly
/// the example public key, which is ML-KEM.KeyGen_internal checked against an independent source.
#[test]
fn lamps_example_seed_keys_give_the_example_public_keys() {
    for (level, name) in [
        (Level::MlKem768, "ML-KEM-768"),
        (Level::MlKem1024, "ML-KEM-1024"),
    ] {
        let pem = read_fixture(&format!("mlkem/{name}-seed.priv"));
        let (label, der) = der::pem::decode_vec(&pem).unwrap();
        assert_eq!(label, "PRIVATE KEY");
        let key = MlKemPrivateKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(key.level(), level);
        let pem = read_fixture(&format!("mlkem/{name}.pub"));
        let (_, public) = der::pem::decode_vec(&pem).unwrap();
        assert_eq!(key.public_key().to_spki_der().unwrap(), public, "{name}");
        // And sealmail writes the same seed-form PKCS#8 back.
        let (_, again) = der::pem::decode_vec(key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        assert_eq!(again, der, "{name}");
    }
}

/// RFC 9629 §3 KEMRecipientInfo, written out again here so the decoder shares no code with
/// sealmail's.
#[derive(der::Sequence)]
struct IndependentKemri {
    version: u8,
    rid: der::Any,
    kem: AlgorithmIdentifierOwned,
    kemct: OctetString,
    kdf: AlgorithmIdentifierOwned,
    kek_length: u16,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    ukm: Option<OctetString>,
    wrap: AlgorithmIdentifierOwned,
    encrypted_key: OctetString,
}

#[derive(der::Sequence)]
struct IndependentOri {
    ori_type: ObjectIdentifier,
    ori_value: der::Any,
}

#[test]
fn an_independent_decoder_opens_the_kem_recipient_info() {
    use aes_kw::cipher::KeyInit;
    use ml_kem::kem::Decapsulate;

    for (level, oid) in [
        (Level::MlKem512, "2.16.840.1.101.3.4.4.1"),
        (Level::MlKem768, "2.16.840.1.101.3.4.4.2"),
        (Level::MlKem1024, "2.16.840.1.101.3.4.4.3"),
    ] {
        let key = MlKemPrivateKey::generate(level).unwrap();
        let cek = [0x61u8; 32];
        let rid = RecipientIdentifier::SubjectKeyIdentifier(
            x509_cert::ext::pkix::SubjectKeyIdentifier(OctetString::new(vec![9u8; 20]).unwrap()),
        );
        let ori = kemri::wrap(&key.public_key(), &rid, &cek).unwrap();
        // The RecipientInfo as it is on the wire: [4] IMPLICIT OtherRecipientInfo.
        let wire = RecipientInfo::Ori(ori).to_der().unwrap();
        assert_eq!(wire[0], 0xA4);
        let mut body = wire.clone();
        body[0] = 0x30;
        let ori = IndependentOri::from_der(&body).unwrap();
        assert_eq!(ori.ori_type.to_string(), "1.2.840.113549.1.9.16.13.3");
        let k: IndependentKemri = ori.ori_value.decode_as().unwrap();
        assert_eq!(k.version, 0);
        assert_eq!(k.kem.oid.to_string(), oid);
        assert!(k.kem.parameters.is_none());
        assert_eq!(k.kdf.oid.to_string(), "1.2.840.113549.1.9.16.3.28");
        assert_eq!(k.wrap.oid.to_string(), "2.16.840.1.101.3.4.1.45");
        assert_eq!(k.kek_length, 32);
        assert!(k.ukm.is_none());

        // The decapsulation key from the seed in sealmail's own PKCS#8 output.
        let (_, pkcs8) = der::pem::decode_vec(key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let info = pkcs8::PrivateKeyInfoRef::try_from(pkcs8.as_slice()).unwrap();
        let seed_field = info.private_key.as_bytes();
        assert_eq!(&seed_field[..2], &[0x80, 0x40]);
        let seed = ml_kem::Seed::try_from(&seed_field[2..]).unwrap();
        let shared = match level {
            Level::MlKem512 => ml_kem::DecapsulationKey::<ml_kem::MlKem512>::from_seed(seed)
                .decapsulate_slice(k.kemct.as_bytes())
                .unwrap()
                .to_vec(),
            Level::MlKem768 => ml_kem::DecapsulationKey::<ml_kem::MlKem768>::from_seed(seed)
                .decapsulate_slice(k.kemct.as_bytes())
                .unwrap()
                .to_vec(),
            Level::MlKem1024 => ml_kem::DecapsulationKey::<ml_kem::MlKem1024>::from_seed(seed)
                .decapsulate_slice(k.kemct.as_bytes())
                .unwrap()
                .to_vec(),
        };
        // CMSORIforKEMOtherInfo ::= SEQUENCE { wrap, kekLength, ukm [0] OPTIONAL }, by hand:
        // SEQUENCE { SEQUENCE { OID id-aes256-wrap }, INTEGER 32 }.
        let mut other_info = vec![0x30, 0x10, 0x30, 0x0b, 0x06, 0x09];
        other_info.extend([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2d]);
        other_info.extend([0x02, 0x01, 0x20]);
        let mut kek = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(None, &shared)
            .expand(&other_info, &mut kek)
            .unwrap();
        let mut out = [0u8; 32];
        aes_kw::KwAes256::new_from_slice(&kek)
            .unwrap()
            .unwrap_key(k.encrypted_key.as_bytes(), &mut out)
            .unwrap();
        assert_eq!(out, cek);
    }
}
