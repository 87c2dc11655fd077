//! Helpers shared by the tests/keys_*.rs files.
#![allow(dead_code)]

use sealmail::keys::{PassphraseSource, RecipientIdentifier};
use sealmail::{Error, Result};
use std::path::PathBuf;
use std::process::Command;
use zeroize::Zeroizing;

pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys")
        .join(name)
}

/// A passphrase source that counts how often it was asked.
pub struct Counting {
    pub passphrase: &'static str,
    pub asked: usize,
}

impl PassphraseSource for Counting {
    fn passphrase(&mut self, _key_file: &str) -> Result<Zeroizing<String>> {
        self.asked += 1;
        Ok(Zeroizing::new(self.passphrase.to_string()))
    }
}

/// A passphrase source that must not be asked.
pub struct Never;

impl PassphraseSource for Never {
    fn passphrase(&mut self, key_file: &str) -> Result<Zeroizing<String>> {
        Err(Error::usage(format!(
            "asked for a passphrase for {key_file}"
        )))
    }
}

pub fn ski_of(rid: &RecipientIdentifier) -> Option<Vec<u8>> {
    match rid {
        RecipientIdentifier::SubjectKeyIdentifier(ski) => Some(ski.0.as_bytes().to_vec()),
        RecipientIdentifier::IssuerAndSerialNumber(_) => None,
    }
}

pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Run openssl with `args`; panics with its stderr when it fails.
pub fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
