//! Signatures and NSS, the CMS engine of Thunderbird (`cmsutil` from libnss3-tools): NSS's
//! decoder (`cmsutil -D`) verifies what `sealmail sign` writes, detached and opaque, and the
//! signature inside what `sealmail encrypt --sign` writes; sealmail verifies what `cmsutil -S`
//! signs, wrapped in MIME as Thunderbird wraps it. NSS says GoodSignature only for a signer that
//! chains to a CA trusted in its database, so each check also shows it is not a rubber stamp
//! (no anchor: SigningCertNotTrusted; changed content: DigestMismatch).
//!
//! `.ci/run` installs libnss3-tools; without it (or openssl, which makes the test PKI) these
//! tests are skipped with a message, or fail under `SEALMAIL_REQUIRE_PEERS`.

mod common;
mod peers;
mod signing_pki;

use base64::Engine as _;
use common::{assert_fails, fixture, has_tool, run, sealmail};
use peers::{Identity, Peer};
use signing_pki::Pki;

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: lunch\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLet's meet at noon.\r\n-- \r\nAlice\r\n";

fn ready() -> bool {
    peers::has(Peer::Nss) && has_tool("openssl")
}

fn b64(data: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(
            data.iter()
                .filter(|b| !b.is_ascii_whitespace())
                .copied()
                .collect::<Vec<u8>>(),
        )
        .expect("base64")
}

/// The signed entity and the DER signature of a CRLF multipart/signed message.
fn split_detached(message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = String::from_utf8_lossy(message).into_owned();
    let boundary = text
        .split("boundary=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a boundary")
        .to_string();
    let delimiter = format!("\r\n--{boundary}");
    let first = text.find(&format!("--{boundary}\r\n")).expect("first part") + boundary.len() + 4;
    let end = first + text[first..].find(&delimiter).expect("second delimiter");
    let entity = text.as_bytes()[first..end].to_vec();
    let signature_part = &text[end + delimiter.len()..];
    let body = signature_part
        .split("\r\n\r\n")
        .nth(1)
        .expect("signature body")
        .split("--")
        .next()
        .unwrap();
    (entity, b64(body.as_bytes()))
}

/// The DER inside an application/pkcs7-mime message.
fn opaque_der(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message).into_owned();
    b64(text.split("\r\n\r\n").nth(1).expect("a body").as_bytes())
}

#[test]
fn nss_verifies_a_detached_signature_by_sealmail() {
    if !ready() {
        return;
    }
    let pki = Pki::new();
    let root = pki.path("root.crt");
    let (entity, signature) = split_detached(&pki.sign(&[], MESSAGE));
    assert!(String::from_utf8_lossy(&entity).contains("Let's meet at noon."));

    let (status, _) = peers::nss_verify(&signature, Some(&entity), &[&root]);
    assert_eq!(status, "GoodSignature");
    let (status, _) = peers::nss_verify(&signature, Some(&entity), &[]);
    assert_eq!(status, "SigningCertNotTrusted");
    let changed = String::from_utf8_lossy(&entity)
        .replace("noon", "nine")
        .into_bytes();
    let (status, _) = peers::nss_verify(&signature, Some(&changed), &[&root]);
    assert_eq!(status, "DigestMismatch");
}

#[test]
fn nss_verifies_an_opaque_signature_by_sealmail_and_pss() {
    if !ready() {
        return;
    }
    let pki = Pki::new();
    let root = pki.path("root.crt");
    let signed = opaque_der(&pki.sign(&["--opaque"], MESSAGE));
    let (status, content) = peers::nss_verify(&signed, None, &[&root]);
    assert_eq!(status, "GoodSignature");
    assert!(
        String::from_utf8_lossy(&content).contains("Let's meet at noon.\r\n-- \r\nAlice"),
        "{}",
        String::from_utf8_lossy(&content)
    );
    let (entity, signature) = split_detached(&pki.sign(&["--pss"], MESSAGE));
    let (status, _) = peers::nss_verify(&signature, Some(&entity), &[&root]);
    assert_eq!(status, "GoodSignature", "RSASSA-PSS");
}

#[test]
fn nss_decrypts_then_verifies_what_sealmail_signs_and_encrypts() {
    if !ready() {
        return;
    }
    let pki = Pki::new();
    let bob = Identity {
        key: fixture("keys/bob.key"),
        cert: fixture("keys/bob.crt"),
        email: "bob@example.org".into(),
    };
    let sealed = pki.sign_and_encrypt(&["--outform", "der"], MESSAGE);
    // Bob's certificate says nothing of capabilities: AES-CBC and PKCS#1 v1.5, which NSS reads.
    let signed_entity = Peer::Nss
        .decrypt(&bob, &sealed)
        .unwrap_or_else(|e| panic!("{e}"));
    let (entity, signature) = split_detached(&signed_entity);
    let (status, _) = peers::nss_verify(&signature, Some(&entity), &[&pki.path("root.crt")]);
    assert_eq!(status, "GoodSignature");
}

/// `cmsutil -S` output in the MIME Thunderbird puts around it: multipart/signed with the
/// entity and the signature, or application/pkcs7-mime.
fn thunderbird_wrap(signature: &[u8], entity: Option<&[u8]>) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(signature);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    let mut out = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: from NSS\r\nMIME-Version: 1.0\r\n".to_vec();
    match entity {
        Some(entity) => {
            out.extend_from_slice(b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"nss-b\"\r\n\r\n--nss-b\r\n");
            out.extend_from_slice(entity);
            out.extend_from_slice(b"\r\n--nss-b\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            out.extend_from_slice(lines.join("\r\n").as_bytes());
            out.extend_from_slice(b"\r\n--nss-b--\r\n");
        }
        None => {
            out.extend_from_slice(b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            out.extend_from_slice(lines.join("\r\n").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

#[test]
fn sealmail_verifies_what_nss_signs() {
    if !ready() {
        return;
    }
    let pki = Pki::new();
    let root = pki.path("root.crt");
    let alice = Identity {
        key: pki.path("alice.key"),
        cert: pki.path("alice.crt"),
        email: "alice@example.org".into(),
    };
    let entity = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by NSS.\r\n";
    let verify = |message: &[u8], extra: &[&str]| {
        let mut cmd = sealmail();
        cmd.arg("verify").arg("--ca").arg(&root).args(extra);
        run(cmd, message)
    };
    for detached in [true, false] {
        let signature = peers::nss_sign(&alice, entity, detached, &[&root]);
        let message = thunderbird_wrap(&signature, detached.then_some(&entity[..]));
        let out = verify(&message, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "detached {detached}: {stderr}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Signed by NSS."),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr.contains("signed by alice@example.org"), "{stderr}");
        assert!(
            stderr.contains("trusted: chains to CN=Test Root"),
            "{stderr}"
        );

        // NSS's SMIMECapabilities are recorded on import, as Thunderbird's would be.
        let keyring = pki.path(&format!("keyring-{detached}"));
        let out = verify(
            &message,
            &["--import", "--keyring", &keyring.display().to_string()],
        );
        assert_eq!(out.status.code(), Some(0));
        assert!(keyring.join("pinned/alice@example.org.crt").exists());
    }

    let signature = peers::nss_sign(&alice, entity, true, &[&root]);
    let forged = thunderbird_wrap(
        &signature,
        Some(b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by NSS!\r\n"),
    );
    assert_fails(&verify(&forged, &[]), 65, "is not valid");
}
