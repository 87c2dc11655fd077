//! A test PKI made by openssl for the signing tests: a P-256 root CA and Alice's RSA-2048
//! certificate from it (digitalSignature, keyEncipherment, emailProtection,
//! alice@example.org), new in a temporary folder for each test so that it never expires. Bob
//! (fixtures/keys/bob.*) is the reader.
#![allow(dead_code)]

use crate::common::{fixture, openssl_in, run, sealmail, stdout_ok};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A root CA and Alice's RSA certificate from it, made by openssl.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let pki = Pki {
            dir: crate::common::tempdir(),
        };
        pki.openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "root.key",
        ]);
        pki.openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-subj",
            "/CN=Test Root",
            "-days",
            "3650",
            "-config",
            "/dev/null",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-out",
            "root.crt",
        ]);
        pki.openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "alice.key",
        ]);
        pki.openssl(&[
            "req",
            "-new",
            "-key",
            "alice.key",
            "-subj",
            "/CN=Alice",
            "-config",
            "/dev/null",
            "-out",
            "alice.csr",
        ]);
        std::fs::write(
            pki.path("alice.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:alice@example.org\n",
        )
        .unwrap();
        pki.openssl(&[
            "x509",
            "-req",
            "-in",
            "alice.csr",
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-set_serial",
            "7",
            "-days",
            "365",
            "-extfile",
            "alice.ext",
            "-out",
            "alice.crt",
        ]);
        pki
    }

    /// An EC signer NAME on `curve` (P-256, P-384), its certificate from the same root:
    /// NAME.key, NAME.crt, for NAME@example.org.
    pub fn add_ec_signer(&self, name: &str, curve: &str) {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let ext = format!("{name}.ext");
        let crt = format!("{name}.crt");
        self.openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            &format!("ec_paramgen_curve:{curve}"),
            "-out",
            &key,
        ]);
        self.openssl(&[
            "req",
            "-new",
            "-key",
            &key,
            "-subj",
            &format!("/CN={name}"),
            "-config",
            "/dev/null",
            "-out",
            &csr,
        ]);
        std::fs::write(
            self.path(&ext),
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=emailProtection\nsubjectAltName=email:{name}@example.org\n"),
        )
        .unwrap();
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-set_serial",
            "9",
            "-days",
            "365",
            "-extfile",
            &ext,
            "-out",
            &crt,
        ]);
    }

    /// The folder everything is made in (openssl runs there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub fn openssl(&self, args: &[&str]) -> Output {
        openssl_in(self.dir.path(), args)
    }

    /// `sealmail sign -i alice.key --cert alice.crt EXTRA...` of `message`, which must succeed.
    pub fn sign(&self, extra: &[&str], message: &[u8]) -> Vec<u8> {
        let mut cmd = sealmail();
        cmd.arg("sign")
            .arg("-i")
            .arg(self.path("alice.key"))
            .arg("--cert")
            .arg(self.path("alice.crt"))
            .args(extra);
        stdout_ok(run(cmd, message), "sealmail")
    }

    /// openssl signs `entity` as Alice: `openssl TOOL -sign EXTRA...` (TOOL `cms` or `smime`)
    /// writes signed.eml, S/MIME, whose bytes are returned.
    pub fn openssl_signs(&self, tool: &str, entity: &[u8], extra: &[&str]) -> Vec<u8> {
        std::fs::write(self.path("entity.txt"), entity).unwrap();
        let mut args = vec![
            tool,
            "-sign",
            "-in",
            "entity.txt",
            "-signer",
            "alice.crt",
            "-inkey",
            "alice.key",
            "-out",
            "signed.eml",
        ];
        args.extend_from_slice(extra);
        self.openssl(&args);
        std::fs::read(self.path("signed.eml")).unwrap()
    }

    /// `sealmail verify EXTRA...` of `signed`.
    pub fn verify(&self, extra: &[&str], signed: &[u8]) -> Output {
        let mut cmd = sealmail();
        cmd.arg("verify").args(extra);
        run(cmd, signed)
    }

    /// `sealmail encrypt --sign -i alice.key -r bob.crt EXTRA...` of `message`.
    pub fn sign_and_encrypt(&self, extra: &[&str], message: &[u8]) -> Vec<u8> {
        let mut cmd = sealmail();
        cmd.args(["encrypt", "--sign", "-i"])
            .arg(self.path("alice.key"))
            .arg("-r")
            .arg(fixture("keys/bob.crt"))
            .args(extra);
        stdout_ok(run(cmd, message), "sealmail")
    }

    /// openssl decrypts `sealed` as Bob: `openssl cms -decrypt` of sealed.eml writes `out`,
    /// which is returned.
    pub fn openssl_decrypts_for_bob(&self, sealed: &[u8], out: &str) -> Vec<u8> {
        std::fs::write(self.path("sealed.eml"), sealed).unwrap();
        let bob_key = fixture("keys/bob.key").display().to_string();
        self.openssl(&[
            "cms",
            "-decrypt",
            "-inkey",
            &bob_key,
            "-in",
            "sealed.eml",
            "-out",
            out,
        ]);
        std::fs::read(self.path(out)).unwrap()
    }

    /// `sealmail decrypt -i bob.key EXTRA...` of `message`.
    pub fn decrypt(&self, extra: &[&str], message: &[u8]) -> Output {
        let mut cmd = sealmail();
        cmd.args(["decrypt", "-i"])
            .arg(fixture("keys/bob.key"))
            .args(extra);
        run(cmd, message)
    }
}
