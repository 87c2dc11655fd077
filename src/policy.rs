//! The one place that decides what a message is written as: the recipients' capabilities in;
//! the content type, the content cipher and the RSA key transport out, with the reason in
//! words (`encrypt -v` prints it).
//!
//! The rule (`--cipher auto`, the default): every recipient known to read ChaCha20-Poly1305 →
//! AuthEnvelopedData with ChaCha20-Poly1305; else every recipient known to read AES-256-GCM →
//! AuthEnvelopedData with AES-256-GCM; else EnvelopedData with AES-256-CBC, which Thunderbird,
//! Outlook, Apple Mail, gpgsm and openssl all read. RSA recipients get RSA-OAEP when every one
//! of them is known to read it, else PKCS#1 v1.5 (sending v1.5 is safe: the oracle attacks are
//! on the decrypting side). A cipher named with `--cipher` is always honoured; sealmail's own
//! AEAD dialect then keeps OAEP, while a named CBC cipher follows the key-transport rule.
//!
//! Not for: finding capabilities (see `keys`, `cms::capabilities`) or encrypting (see
//! `encrypt`).

use crate::aead::ContentCipher;
use crate::cbc::CbcCipher;
use crate::cms::{Capabilities, Capability, KeyTransport};

/// A content cipher sealmail writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentChoice {
    Aead(ContentCipher),
    Cbc(CbcCipher),
}

impl ContentChoice {
    pub fn name(self) -> &'static str {
        match self {
            ContentChoice::Aead(c) => c.name(),
            ContentChoice::Cbc(c) => c.name(),
        }
    }

    /// The capability a recipient needs to read it.
    fn capability(self) -> Option<Capability> {
        Some(match self {
            ContentChoice::Aead(ContentCipher::ChaCha20Poly1305) => Capability::ChaCha20Poly1305,
            ContentChoice::Aead(ContentCipher::Aes256Gcm) => Capability::Aes256Gcm,
            ContentChoice::Aead(ContentCipher::Aes128Gcm) => Capability::Aes128Gcm,
            ContentChoice::Cbc(CbcCipher::Aes256) => Capability::Aes256Cbc,
            ContentChoice::Cbc(CbcCipher::Aes128) => Capability::Aes128Cbc,
            ContentChoice::Cbc(_) => return None,
        })
    }
}

/// `--cipher`: decide from the recipients, or this cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherRequest {
    Auto,
    Named(ContentChoice),
}

/// What the policy needs to know about one recipient.
#[derive(Debug, Clone)]
pub struct RecipientView<'a> {
    /// How the recipient is named in messages (an address or a file).
    pub name: &'a str,
    /// `None`: nothing known.
    pub capabilities: Option<Capabilities>,
    /// Only RSA recipients have a key transport to choose.
    pub rsa: bool,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub content: ContentChoice,
    pub transport: KeyTransport,
    /// Why, in words: the format and, for a fallback, the recipient that forced it.
    pub reason: String,
}

impl Plan {
    /// The envelope's content type, in words.
    pub fn format(&self) -> &'static str {
        match self.content {
            ContentChoice::Aead(_) => "AuthEnvelopedData",
            ContentChoice::Cbc(_) => "EnvelopedData",
        }
    }
}

/// The first recipient not known to read `c`.
fn first_without<'a>(
    recipients: &'a [RecipientView<'a>],
    c: Capability,
) -> Option<&'a RecipientView<'a>> {
    recipients
        .iter()
        .find(|r| !r.capabilities.is_some_and(|caps| caps.contains(c)))
}

fn why_not(r: &RecipientView<'_>, what: &str) -> String {
    match r.capabilities {
        None => format!("nothing is known of what {} reads", r.name),
        Some(_) => format!("{} is not known to read {what}", r.name),
    }
}

pub fn decide(request: CipherRequest, recipients: &[RecipientView<'_>]) -> Plan {
    let rsa: Vec<RecipientView<'_>> = recipients.iter().filter(|r| r.rsa).cloned().collect();
    let oaep_blocker = first_without(&rsa, Capability::RsaOaep);
    let rule_transport = match oaep_blocker {
        None => KeyTransport::RsaOaep,
        Some(_) => KeyTransport::RsaPkcs1v15,
    };
    let transport_reason = match (oaep_blocker, rsa.is_empty()) {
        (_, true) => String::new(),
        (None, false) => "; RSA-OAEP key transport: every RSA recipient reads it".to_string(),
        (Some(r), false) => format!(
            "; RSA PKCS#1 v1.5 key transport: {}",
            why_not(r, "RSA-OAEP")
        ),
    };
    match request {
        CipherRequest::Named(content @ ContentChoice::Aead(_)) => Plan {
            content,
            transport: KeyTransport::RsaOaep,
            reason: format!(
                "AuthEnvelopedData with {}, as --cipher asks; RSA-OAEP key transport",
                content.name()
            ),
        },
        CipherRequest::Named(content) => Plan {
            content,
            transport: rule_transport,
            reason: format!(
                "EnvelopedData with {}, as --cipher asks{transport_reason}",
                content.name()
            ),
        },
        CipherRequest::Auto => {
            let chacha = ContentChoice::Aead(ContentCipher::ChaCha20Poly1305);
            let gcm = ContentChoice::Aead(ContentCipher::Aes256Gcm);
            let cbc = ContentChoice::Cbc(CbcCipher::Aes256);
            let Some(no_chacha) = first_without(recipients, Capability::ChaCha20Poly1305) else {
                return Plan {
                    content: chacha,
                    transport: rule_transport,
                    reason: format!(
                        "AuthEnvelopedData with chacha20-poly1305: every recipient reads it{transport_reason}"
                    ),
                };
            };
            let chacha_reason = why_not(no_chacha, "ChaCha20-Poly1305");
            match first_without(recipients, Capability::Aes256Gcm) {
                None => Plan {
                    content: gcm,
                    transport: rule_transport,
                    reason: format!(
                        "AuthEnvelopedData with aes-256-gcm: {chacha_reason}, and every recipient reads AES-256-GCM{transport_reason}"
                    ),
                },
                Some(no_gcm) => Plan {
                    content: cbc,
                    transport: rule_transport,
                    reason: format!(
                        "EnvelopedData with aes-256-cbc (no integrity protection), what every S/MIME client reads: {}{transport_reason}",
                        why_not(no_gcm, "AES-GCM")
                    ),
                },
            }
        }
    }
}

/// What a recipient can read of a named choice: for warnings, `None` when nothing is known.
pub fn known_to_read(caps: Option<Capabilities>, content: ContentChoice) -> Option<bool> {
    let caps = caps?;
    content.capability().map(|c| caps.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(name: &'a str, caps: Option<&[Capability]>) -> RecipientView<'a> {
        RecipientView {
            name,
            capabilities: caps.map(|c| c.iter().copied().collect()),
            rsa: true,
        }
    }

    const ALL: &[Capability] = &Capability::ALL;
    const GCM_OAEP: &[Capability] = &[Capability::Aes256Gcm, Capability::RsaOaep];
    const CBC_ONLY: &[Capability] = &[Capability::Aes256Cbc, Capability::Aes128Cbc];

    /// The table: capabilities in, format + cipher + key transport + the named reason out.
    #[test]
    fn the_policy_table() {
        use ContentCipher::*;
        use KeyTransport::*;
        let chacha = ContentChoice::Aead(ChaCha20Poly1305);
        let gcm = ContentChoice::Aead(Aes256Gcm);
        let cbc = ContentChoice::Cbc(CbcCipher::Aes256);
        let cases: &[(&[RecipientView<'_>], ContentChoice, KeyTransport, &str)] = &[
            (
                &[view("a", Some(ALL))],
                chacha,
                RsaOaep,
                "every recipient reads it",
            ),
            (
                &[view("a", Some(ALL)), view("b", Some(GCM_OAEP))],
                gcm,
                RsaOaep,
                "b is not known to read ChaCha20-Poly1305",
            ),
            (
                &[view("a", Some(ALL)), view("b", None)],
                cbc,
                RsaPkcs1v15,
                "nothing is known of what b reads",
            ),
            (
                &[view("a", Some(CBC_ONLY))],
                cbc,
                RsaPkcs1v15,
                "a is not known to read AES-GCM",
            ),
            (
                &[view("x", None)],
                cbc,
                RsaPkcs1v15,
                "PKCS#1 v1.5 key transport: nothing is known of what x reads",
            ),
            (
                &[view("a", Some(&[Capability::ChaCha20Poly1305]))],
                chacha,
                RsaPkcs1v15,
                "a is not known to read RSA-OAEP",
            ),
        ];
        for (recipients, content, transport, reason) in cases {
            let plan = decide(CipherRequest::Auto, recipients);
            assert_eq!(plan.content, *content, "{}", plan.reason);
            assert_eq!(plan.transport, *transport, "{}", plan.reason);
            assert!(
                plan.reason.contains(reason),
                "{reason:?} in {}",
                plan.reason
            );
        }
    }

    #[test]
    fn a_named_cipher_is_honoured() {
        let unknown = [view("x", None)];
        let chacha = ContentChoice::Aead(ContentCipher::ChaCha20Poly1305);
        let plan = decide(CipherRequest::Named(chacha), &unknown);
        assert_eq!(
            (plan.content, plan.transport),
            (chacha, KeyTransport::RsaOaep)
        );
        let cbc = ContentChoice::Cbc(CbcCipher::Aes128);
        let plan = decide(CipherRequest::Named(cbc), &unknown);
        assert_eq!(
            (plan.content, plan.transport),
            (cbc, KeyTransport::RsaPkcs1v15)
        );
        let plan = decide(CipherRequest::Named(cbc), &[view("a", Some(ALL))]);
        assert_eq!(plan.transport, KeyTransport::RsaOaep);
        assert_eq!(plan.format(), "EnvelopedData");
    }

    /// Non-RSA recipients have no key transport to choose and do not hold OAEP back.
    #[test]
    fn only_rsa_recipients_decide_the_key_transport() {
        let mut ec = view("ec", Some(ALL));
        ec.rsa = false;
        let mut ec_unknown = view("ec2", None);
        ec_unknown.rsa = false;
        let plan = decide(CipherRequest::Auto, &[ec.clone(), view("a", Some(ALL))]);
        assert_eq!(plan.transport, KeyTransport::RsaOaep);
        let plan = decide(CipherRequest::Auto, &[ec_unknown, view("a", Some(ALL))]);
        assert_eq!(plan.transport, KeyTransport::RsaOaep);
        assert_eq!(plan.content, ContentChoice::Cbc(CbcCipher::Aes256));
    }
}
