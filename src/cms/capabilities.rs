//! SMIMECapabilities (RFC 8551 §2.5.2, RFC 4262): the algorithms a recipient says it reads, as
//! a small set ([`Capabilities`]) that the encryption policy decides from.
//!
//! ```text
//! SMIMECapabilities ::= SEQUENCE OF SMIMECapability
//!
//! SMIMECapability ::= SEQUENCE {
//!   capabilityID OBJECT IDENTIFIER,
//!   parameters ANY DEFINED BY capabilityID OPTIONAL }
//! ```
//!
//! The same value is a certificate extension (RFC 4262, `1.2.840.113549.1.9.15`) and a signed
//! attribute (RFC 8551 §2.5.2). The keyring keeps it per address as a plain text file of tokens
//! ([`Capabilities::parse_tokens`], [`Capabilities::to_tokens`]).
//!
//! Only the six capabilities sealmail can act on are kept; everything else in a peer's list (RC2,
//! 3DES, signature algorithms, preferences) is ignored, not refused.
//!
//! Not for: deciding what to send (see `policy`) or finding a recipient's capabilities (see
//! `keys`).

use super::{asn1_bug, oid};
use crate::error::{Error, Result};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Sequence};
use x509_cert::Certificate;

/// One algorithm sealmail can be told a recipient reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    ChaCha20Poly1305,
    Aes256Gcm,
    Aes128Gcm,
    Aes256Cbc,
    Aes128Cbc,
    RsaOaep,
}

impl Capability {
    /// Every capability, in sealmail's order of preference (the order it advertises them in).
    pub const ALL: [Capability; 6] = [
        Capability::ChaCha20Poly1305,
        Capability::Aes256Gcm,
        Capability::Aes128Gcm,
        Capability::Aes256Cbc,
        Capability::Aes128Cbc,
        Capability::RsaOaep,
    ];

    /// The token of the keyring's `ADDRESS.caps` file (the same words as `--cipher`).
    pub fn token(self) -> &'static str {
        match self {
            Capability::ChaCha20Poly1305 => "chacha20-poly1305",
            Capability::Aes256Gcm => "aes-256-gcm",
            Capability::Aes128Gcm => "aes-128-gcm",
            Capability::Aes256Cbc => "aes-256-cbc",
            Capability::Aes128Cbc => "aes-128-cbc",
            Capability::RsaOaep => "rsa-oaep",
        }
    }

    pub fn from_token(token: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.token() == token)
    }

    /// The capabilityID naming it.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Capability::ChaCha20Poly1305 => oid::CHACHA20_POLY1305,
            Capability::Aes256Gcm => oid::AES256_GCM,
            Capability::Aes128Gcm => oid::AES128_GCM,
            Capability::Aes256Cbc => oid::AES256_CBC,
            Capability::Aes128Cbc => oid::AES128_CBC,
            Capability::RsaOaep => oid::RSAES_OAEP,
        }
    }

    pub fn from_oid(id: &ObjectIdentifier) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.oid() == *id)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`Capability`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities(u8);

/// RFC 8551 §2.5.2 (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct SmimeCapability {
    pub capability_id: ObjectIdentifier,
    #[asn1(optional = "true")]
    pub parameters: Option<der::Any>,
}

impl Capabilities {
    /// Nothing known.
    pub fn none() -> Self {
        Capabilities(0)
    }

    /// Everything sealmail reads: what its own certificates advertise.
    pub fn all() -> Self {
        Capability::ALL.into_iter().collect()
    }

    pub fn contains(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn insert(&mut self, c: Capability) {
        self.0 |= c.bit();
    }

    pub fn with(mut self, c: Capability) -> Self {
        self.insert(c);
        self
    }

    /// Both sets together (what two sources say between them).
    pub fn union(self, other: Capabilities) -> Self {
        Capabilities(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in order of preference.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// The DER SMIMECapabilities SEQUENCE, in order of preference. Every capabilityID goes
    /// without parameters (RFC 3565 §5 for AES-CBC, RFC 8103 §4 and RFC 5084 §5 for the
    /// AEADs) except RSAES-OAEP, which carries the SHA-256 parameters sealmail itself uses,
    /// since absent parameters would mean SHA-1 (RFC 4055 §4.1).
    pub fn to_der(self) -> Result<Vec<u8>> {
        let mut list = Vec::new();
        for c in self.iter() {
            let parameters = match c {
                Capability::RsaOaep => super::oaep_sha256_algorithm()?.parameters,
                _ => None,
            };
            list.push(SmimeCapability {
                capability_id: c.oid(),
                parameters,
            });
        }
        list.to_der().map_err(asn1_bug)
    }

    /// Read a DER (or BER) SMIMECapabilities SEQUENCE; capabilities sealmail does not act on
    /// are skipped. A value that is not an SMIMECapabilities SEQUENCE is a data error (65).
    pub fn from_der(bytes: &[u8]) -> Result<Self> {
        let list = Vec::<SmimeCapability>::from_ber(bytes)
            .map_err(|_| Error::data("malformed S/MIME capabilities"))?;
        Ok(list
            .iter()
            .filter_map(|c| Capability::from_oid(&c.capability_id))
            .collect())
    }

    /// The capabilities a certificate advertises in its SMIMECapabilities extension (RFC
    /// 4262); `None` when it has none (or an unreadable one, which says as little).
    pub fn from_certificate(cert: &Certificate) -> Option<Self> {
        let extensions = cert.tbs_certificate().extensions()?;
        let ext = extensions
            .iter()
            .find(|e| e.extn_id == oid::SMIME_CAPABILITIES)?;
        Capabilities::from_der(ext.extn_value.as_bytes()).ok()
    }

    /// Read the keyring's `ADDRESS.caps` text: one token per line, `#` comments and blank lines
    /// ignored. An unknown token is refused with the reason (the caller names the file).
    pub fn parse_tokens(text: &str) -> std::result::Result<Self, String> {
        let mut caps = Capabilities::none();
        for (n, line) in text.lines().enumerate() {
            let token = line.trim();
            if token.is_empty() || token.starts_with('#') {
                continue;
            }
            let c = Capability::from_token(&token.to_ascii_lowercase()).ok_or_else(|| {
                format!(
                    "line {}: unknown capability \"{token}\" (known: {})",
                    n + 1,
                    Capability::ALL.map(Capability::token).join(", ")
                )
            })?;
            caps.insert(c);
        }
        Ok(caps)
    }

    /// The `ADDRESS.caps` text for this set: one token per line, in order of preference.
    pub fn to_tokens(self) -> String {
        self.iter().map(|c| format!("{}\n", c.token())).collect()
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut caps = Capabilities::none();
        for c in iter {
            caps.insert(c);
        }
        caps
    }
}

impl std::fmt::Display for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("none known");
        }
        let tokens: Vec<&str> = self.iter().map(Capability::token).collect();
        f.write_str(&tokens.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_round_trips_in_order_of_preference() {
        let caps = Capabilities::none()
            .with(Capability::RsaOaep)
            .with(Capability::Aes128Cbc)
            .with(Capability::ChaCha20Poly1305);
        let der = caps.to_der().unwrap();
        assert_eq!(Capabilities::from_der(&der).unwrap(), caps);
        let list = Vec::<SmimeCapability>::from_der(&der).unwrap();
        let ids: Vec<_> = list.iter().map(|c| c.capability_id).collect();
        assert_eq!(
            ids,
            [oid::CHACHA20_POLY1305, oid::AES128_CBC, oid::RSAES_OAEP]
        );
        assert!(list[0].parameters.is_none());
        assert!(list[2].parameters.is_some());
        assert_eq!(
            Capabilities::from_der(&Capabilities::all().to_der().unwrap()).unwrap(),
            Capabilities::all()
        );
    }

    #[test]
    fn capabilities_sealmail_does_not_act_on_are_skipped() {
        // What openssl's CMS_add_standard_smimecap writes, in part: AES-256-CBC, 3DES, RC2-128.
        let list = vec![
            SmimeCapability {
                capability_id: oid::AES256_CBC,
                parameters: None,
            },
            SmimeCapability {
                capability_id: oid::DES_EDE3_CBC,
                parameters: None,
            },
            SmimeCapability {
                capability_id: ObjectIdentifier::new_unwrap("1.2.840.113549.3.2"),
                parameters: Some(der::Any::encode_from(&128u8).unwrap()),
            },
        ];
        let der = list.to_der().unwrap();
        assert_eq!(
            Capabilities::from_der(&der).unwrap(),
            Capabilities::none().with(Capability::Aes256Cbc)
        );
        assert_eq!(
            Capabilities::from_der(b"\x04\x01x")
                .unwrap_err()
                .exit_code(),
            65
        );
    }

    #[test]
    fn tokens_round_trip_and_unknown_tokens_are_named() {
        let text = "# from a signed mail\n\nAES-256-GCM\n  rsa-oaep  \naes-128-cbc\n";
        let caps = Capabilities::parse_tokens(text).unwrap();
        assert_eq!(
            caps,
            Capabilities::none()
                .with(Capability::Aes256Gcm)
                .with(Capability::RsaOaep)
                .with(Capability::Aes128Cbc)
        );
        assert_eq!(Capabilities::parse_tokens(&caps.to_tokens()).unwrap(), caps);
        assert_eq!(caps.to_string(), "aes-256-gcm, aes-128-cbc, rsa-oaep");
        let err = Capabilities::parse_tokens("aes-256-gcm\nrc2\n").unwrap_err();
        assert!(
            err.starts_with("line 2: unknown capability \"rc2\""),
            "{err}"
        );
    }
}
