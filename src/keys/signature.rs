//! Public-key signatures as X.509 and CMS name them: which algorithm an AlgorithmIdentifier
//! means, and whether a signature over some bytes verifies under a SubjectPublicKeyInfo.
//!
//! It serves two callers: path validation ([`super::trust`], a certificate's signature over its
//! tbsCertificate) and SignerInfo checks (`cms::signed`, a signature over the DER of the signed
//! attributes). It knows the RFC 8551 §2.2 set — RSA PKCS#1 v1.5 and RSASSA-PSS with SHA-256/384/
//! 512, ECDSA on P-256 and P-384, Ed25519 — and refuses SHA-1 and MD5 by name, as Thunderbird
//! does. It is not a general signature library: no DSA, no Ed448, no SHA-224, no other curves.
//! Failures are plain-words reasons; callers pick the error kind.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use sha2::Digest;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// rsaEncryption (RFC 8017 Appendix C), also what many CMS signers put in signatureAlgorithm.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const MD5_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.4");
const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
/// id-RSASSA-PSS, RFC 4055 §3.1.
pub(crate) const ID_RSASSA_PSS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
pub(crate) const SHA256_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// id-mgf1, RFC 8017 Appendix A.2.1.
const ID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
/// id-ecPublicKey, RFC 5480 §2.1.1.
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ECDSA_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// id-Ed25519, RFC 8410 §3 (both the key and the signature algorithm).
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_MD5: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
pub(crate) const ID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// The smallest RSA key whose signature is believed (RFC 8551 §2.2: 2048 bits or more).
const MIN_RSA_BITS: usize = 2048;

/// A message digest a signature may be computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The hash an AlgorithmIdentifier names (CMS digestAlgorithm, RSASSA-PSS hashAlgorithm).
    pub fn from_oid(oid: ObjectIdentifier) -> Result<Hash, String> {
        match oid {
            ID_SHA256 => Ok(Hash::Sha256),
            ID_SHA384 => Ok(Hash::Sha384),
            ID_SHA512 => Ok(Hash::Sha512),
            ID_SHA1 => Err("SHA-1 signatures are refused (SHA-1 is broken for signatures)".into()),
            ID_MD5 => Err("MD5 signatures are refused".into()),
            other => Err(format!("unsupported digest algorithm {other}")),
        }
    }

    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Hash::Sha256 => ID_SHA256,
            Hash::Sha384 => ID_SHA384,
            Hash::Sha512 => ID_SHA512,
        }
    }

    /// The name `micalg` uses (RFC 8551 §3.5.3.2) and messages show.
    pub fn micalg(self) -> &'static str {
        match self {
            Hash::Sha256 => "sha-256",
            Hash::Sha384 => "sha-384",
            Hash::Sha512 => "sha-512",
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut hasher = Hasher::new(self);
        hasher.update(data);
        hasher.finish()
    }
}

/// A running digest, for content that passes by in pieces.
#[derive(Clone)]
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(hash: Hash) -> Hasher {
        match hash {
            Hash::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Hash::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Hash::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// A signature algorithm with everything needed to check one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RsaPkcs1v15(Hash),
    RsaPss { hash: Hash, salt_len: usize },
    Ecdsa(Hash),
    Ed25519,
}

impl Algorithm {
    /// The algorithm an AlgorithmIdentifier names. `digest` is the CMS SignerInfo's
    /// digestAlgorithm, needed when the signature algorithm names only the key type
    /// (`rsaEncryption`, `id-ecPublicKey`), as RFC 5754 §3 and many signers write it; for a
    /// certificate's signature it is `None`.
    pub fn from_identifier(
        alg: &AlgorithmIdentifierOwned,
        digest: Option<Hash>,
    ) -> Result<Algorithm, String> {
        let need_digest =
            || digest.ok_or_else(|| format!("signature algorithm {} names no digest", alg.oid));
        match alg.oid {
            SHA256_WITH_RSA => Ok(Algorithm::RsaPkcs1v15(Hash::Sha256)),
            SHA384_WITH_RSA => Ok(Algorithm::RsaPkcs1v15(Hash::Sha384)),
            SHA512_WITH_RSA => Ok(Algorithm::RsaPkcs1v15(Hash::Sha512)),
            RSA_ENCRYPTION => Ok(Algorithm::RsaPkcs1v15(need_digest()?)),
            ID_RSASSA_PSS => pss_from_parameters(alg),
            ECDSA_WITH_SHA256 => Ok(Algorithm::Ecdsa(Hash::Sha256)),
            ECDSA_WITH_SHA384 => Ok(Algorithm::Ecdsa(Hash::Sha384)),
            ECDSA_WITH_SHA512 => Ok(Algorithm::Ecdsa(Hash::Sha512)),
            ID_EC_PUBLIC_KEY => Ok(Algorithm::Ecdsa(need_digest()?)),
            ID_ED25519 => Ok(Algorithm::Ed25519),
            SHA1_WITH_RSA | ECDSA_WITH_SHA1 => {
                Err("SHA-1 signatures are refused (SHA-1 is broken for signatures)".into())
            }
            MD5_WITH_RSA => Err("MD5 signatures are refused".into()),
            other => Err(format!("unsupported signature algorithm {other}")),
        }
    }

    /// Plain words for messages: "RSA PKCS#1 v1.5 with SHA-256".
    pub fn describe(self) -> String {
        let h = |hash: Hash| match hash {
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        };
        match self {
            Algorithm::RsaPkcs1v15(hash) => format!("RSA PKCS#1 v1.5 with {}", h(hash)),
            Algorithm::RsaPss { hash, .. } => format!("RSASSA-PSS with {}", h(hash)),
            Algorithm::Ecdsa(hash) => format!("ECDSA with {}", h(hash)),
            Algorithm::Ed25519 => "Ed25519".into(),
        }
    }
}

/// RSASSA-PSS-params, RFC 4055 §3.1:
///
/// ```text
/// RSASSA-PSS-params  ::=  SEQUENCE  {
///     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
///     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
///     saltLength         [2] INTEGER DEFAULT 20,
///     trailerField       [3] INTEGER DEFAULT 1  }
/// ```
#[derive(Clone, Debug, der::Sequence)]
pub(crate) struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub trailer_field: Option<u32>,
}

impl PssParams {
    /// The parameters sealmail signs with: the same hash for the message and MGF1, a salt as
    /// long as the hash (RFC 8702's advice, and what openssl's `-sigopt rsa_pss_saltlen:digest`
    /// writes).
    pub(crate) fn for_hash(hash: Hash) -> Result<PssParams, String> {
        let hash_id = AlgorithmIdentifierOwned {
            oid: hash.oid(),
            parameters: None,
        };
        let mgf_params = der::Any::encode_from(&hash_id).map_err(|_| "cannot encode MGF1")?;
        Ok(PssParams {
            hash_algorithm: Some(hash_id),
            mask_gen_algorithm: Some(AlgorithmIdentifierOwned {
                oid: ID_MGF1,
                parameters: Some(mgf_params),
            }),
            salt_length: Some(hash_len(hash) as u32),
            trailer_field: None,
        })
    }
}

fn hash_len(hash: Hash) -> usize {
    match hash {
        Hash::Sha256 => 32,
        Hash::Sha384 => 48,
        Hash::Sha512 => 64,
    }
}

fn pss_from_parameters(alg: &AlgorithmIdentifierOwned) -> Result<Algorithm, String> {
    let malformed = || "the RSASSA-PSS parameters are malformed".to_string();
    let params = alg.parameters.as_ref().ok_or_else(malformed)?;
    let params: PssParams = params.decode_as().map_err(|_| malformed())?;
    let hash = match &params.hash_algorithm {
        Some(h) => Hash::from_oid(h.oid)?,
        None => {
            return Err("SHA-1 signatures are refused (RSASSA-PSS with its SHA-1 default)".into());
        }
    };
    // The rsa crate's PSS uses one digest for the message and for MGF1; a signature that mixes
    // them is legal but unheard of in mail, so it is refused rather than half-supported.
    let mgf = params
        .mask_gen_algorithm
        .as_ref()
        .ok_or("RSASSA-PSS with the default MGF1-SHA-1 is refused")?;
    if mgf.oid != ID_MGF1 {
        return Err(format!(
            "unsupported RSASSA-PSS mask generation {}",
            mgf.oid
        ));
    }
    let mgf_hash: AlgorithmIdentifierOwned = mgf
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as().ok())
        .ok_or_else(malformed)?;
    if Hash::from_oid(mgf_hash.oid)? != hash {
        return Err("RSASSA-PSS with different message and MGF1 hashes is not supported".into());
    }
    if params.trailer_field.is_some_and(|t| t != 1) {
        return Err(malformed());
    }
    let salt_len = params.salt_length.unwrap_or(20) as usize;
    if salt_len > 1024 {
        return Err(malformed());
    }
    Ok(Algorithm::RsaPss { hash, salt_len })
}

/// Whether `signature` over `message` verifies under `key` with `algorithm`. The key's type must
/// fit the algorithm; RSA keys under 2048 bits are refused.
pub fn verify(
    key: &SubjectPublicKeyInfoOwned,
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let bad = || "the signature does not verify".to_string();
    match algorithm {
        Algorithm::RsaPkcs1v15(hash) | Algorithm::RsaPss { hash, .. } => {
            let public = rsa_key(key)?;
            let digest = hash.digest(message);
            let result = match (algorithm, hash) {
                (Algorithm::RsaPss { salt_len, .. }, Hash::Sha256) => public.verify(
                    rsa::Pss::<sha2::Sha256>::new_with_salt(salt_len),
                    &digest,
                    signature,
                ),
                (Algorithm::RsaPss { salt_len, .. }, Hash::Sha384) => public.verify(
                    rsa::Pss::<sha2::Sha384>::new_with_salt(salt_len),
                    &digest,
                    signature,
                ),
                (Algorithm::RsaPss { salt_len, .. }, Hash::Sha512) => public.verify(
                    rsa::Pss::<sha2::Sha512>::new_with_salt(salt_len),
                    &digest,
                    signature,
                ),
                (_, Hash::Sha256) => {
                    public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, signature)
                }
                (_, Hash::Sha384) => {
                    public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), &digest, signature)
                }
                (_, Hash::Sha512) => {
                    public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), &digest, signature)
                }
            };
            result.map_err(|_| bad())
        }
        Algorithm::Ecdsa(hash) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            if key.algorithm.oid != ID_EC_PUBLIC_KEY {
                return Err("an ECDSA signature needs an elliptic-curve key".into());
            }
            let curve: ObjectIdentifier = key
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as().ok())
                .ok_or("the elliptic-curve key names no curve")?;
            let point = key
                .subject_public_key
                .as_bytes()
                .ok_or("the public key BIT STRING is malformed")?;
            let digest = hash.digest(message);
            match curve {
                SECP256R1 => {
                    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| "the P-256 public key is not valid")?;
                    let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
                    vk.verify_prehash(&digest, &sig).map_err(|_| bad())
                }
                SECP384R1 => {
                    let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| "the P-384 public key is not valid")?;
                    let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
                    vk.verify_prehash(&digest, &sig).map_err(|_| bad())
                }
                other => Err(format!("unsupported elliptic curve {other}")),
            }
        }
        Algorithm::Ed25519 => {
            if key.algorithm.oid != ID_ED25519 {
                return Err("an Ed25519 signature needs an Ed25519 key".into());
            }
            let bytes: [u8; 32] = key
                .subject_public_key
                .as_bytes()
                .and_then(|b| b.try_into().ok())
                .ok_or("the Ed25519 public key is malformed")?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|_| "the Ed25519 public key is not valid")?;
            let sig_bytes: [u8; 64] = signature.try_into().map_err(|_| bad())?;
            let sig = ed25519_dalek::Signature::from_bytes(&sig_bytes);
            vk.verify_strict(message, &sig).map_err(|_| bad())
        }
    }
}

/// How an RSA identity signs: PKCS#1 v1.5 (every client verifies it) or RSASSA-PSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaPadding {
    Pkcs1v15,
    Pss,
}

/// Sign `message` with `identity`'s key and SHA-256. Returns the SignerInfo
/// signatureAlgorithm to name it by and the signature. PKCS#1 v1.5 is named `rsaEncryption`,
/// as openssl and most mail clients write it (RFC 5754 §3.2 allows both that and
/// sha256WithRSAEncryption); PSS is named with its parameters (RFC 4056); a P-256 key signs
/// ECDSA, named ecdsa-with-SHA256.
pub fn sign(
    identity: &super::Identity,
    padding: RsaPadding,
    message: &[u8],
) -> crate::Result<(AlgorithmIdentifierOwned, Vec<u8>)> {
    let failed =
        || crate::Error::config(format!("cannot sign with the key in {}", identity.source));
    // RSA and P-256 sign; P-384 (whose ECDSA would want SHA-384 beside a SHA-256 content
    // digest), X25519 and ML-KEM identities decrypt but do not sign.
    let key = match &identity.key {
        super::IdentityKey::Rsa(key) => key,
        super::IdentityKey::Ec(super::ec::EcPrivateKey::P256(secret)) => {
            if padding == RsaPadding::Pss {
                return Err(crate::Error::config(format!(
                    "the key in {} is a P-256 key: --pss is for RSA keys",
                    identity.source
                )));
            }
            return ecdsa_p256_sign(secret, message).map_err(|()| failed());
        }
        _ => return Err(cannot_sign(identity)),
    };
    match padding {
        RsaPadding::Pkcs1v15 => {
            let sig = key
                .pkcs1v15_sign::<sha2::Sha256>(message)
                .map_err(|_| failed())?;
            let alg = AlgorithmIdentifierOwned {
                oid: RSA_ENCRYPTION,
                parameters: Some(der::Any::null()),
            };
            Ok((alg, sig))
        }
        RsaPadding::Pss => {
            let sig = key
                .pss_sign::<sha2::Sha256>(message)
                .map_err(|_| failed())?;
            let params = PssParams::for_hash(Hash::Sha256).map_err(|_| failed())?;
            let alg = AlgorithmIdentifierOwned {
                oid: ID_RSASSA_PSS,
                parameters: Some(der::Any::encode_from(&params).map_err(|_| failed())?),
            };
            Ok((alg, sig))
        }
    }
}

/// Whether `identity` can sign: RSA and P-256 keys.
pub fn can_sign(identity: &super::Identity) -> bool {
    matches!(
        identity.key,
        super::IdentityKey::Rsa(_) | super::IdentityKey::Ec(super::ec::EcPrivateKey::P256(_))
    )
}

/// The error for a key that cannot sign (78).
pub fn cannot_sign(identity: &super::Identity) -> crate::Error {
    crate::Error::config(format!(
        "the key in {} cannot sign: sealmail signs with RSA and P-256 keys",
        identity.source
    ))
}

/// ECDSA on P-256 with SHA-256 (RFC 5753 §7.2, RFC 5758 §3.2: ecdsa-with-SHA256, parameters
/// absent), deterministic nonces (RFC 6979), the signature DER-encoded as CMS carries it.
fn ecdsa_p256_sign(
    secret: &p256::SecretKey,
    message: &[u8],
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), ()> {
    use p256::ecdsa::signature::Signer as _;
    let signing = p256::ecdsa::SigningKey::from(secret);
    let signature: p256::ecdsa::Signature = signing.try_sign(message).map_err(drop)?;
    let alg = AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    };
    Ok((alg, signature.to_der().as_bytes().to_vec()))
}

/// The RSA key of a SubjectPublicKeyInfo (rsaEncryption or id-RSASSA-PSS), at least 2048 bits.
fn rsa_key(key: &SubjectPublicKeyInfoOwned) -> Result<rsa::PublicKey, String> {
    if key.algorithm.oid != RSA_ENCRYPTION && key.algorithm.oid != ID_RSASSA_PSS {
        return Err("an RSA signature needs an RSA key".into());
    }
    let bits = key
        .subject_public_key
        .as_bytes()
        .ok_or("the public key BIT STRING is malformed")?;
    let parsed =
        pkcs1::RsaPublicKeyRef::from_der(bits).map_err(|_| "the RSA public key is malformed")?;
    let size = super::parse::bit_length(parsed.modulus.as_bytes());
    if size < MIN_RSA_BITS {
        return Err(format!(
            "the RSA key has {size} bits; signatures need {MIN_RSA_BITS} or more"
        ));
    }
    rsa::PublicKey::try_from(parsed).map_err(|_| "the RSA public key is not valid".to_string())
}

/// The DER a certificate's signature covers: its tbsCertificate. x509-cert decodes strict DER
/// only, so encoding the decoded value gives back the signed bytes.
pub(crate) fn tbs_der(cert: &x509_cert::Certificate) -> Result<Vec<u8>, String> {
    cert.tbs_certificate()
        .to_der()
        .map_err(|_| "cannot encode the certificate".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    #[test]
    fn sha1_and_md5_are_refused_by_name() {
        for oid in [SHA1_WITH_RSA, ECDSA_WITH_SHA1] {
            let err = Algorithm::from_identifier(&id(oid), None).unwrap_err();
            assert!(err.contains("SHA-1"), "{err}");
        }
        let err = Algorithm::from_identifier(&id(MD5_WITH_RSA), None).unwrap_err();
        assert!(err.contains("MD5"), "{err}");
        let err = Hash::from_oid(ID_SHA1).unwrap_err();
        assert!(err.contains("SHA-1"), "{err}");
    }

    #[test]
    fn a_key_type_as_signature_algorithm_takes_the_digest_algorithm() {
        assert_eq!(
            Algorithm::from_identifier(&id(RSA_ENCRYPTION), Some(Hash::Sha384)),
            Ok(Algorithm::RsaPkcs1v15(Hash::Sha384))
        );
        assert_eq!(
            Algorithm::from_identifier(&id(ID_EC_PUBLIC_KEY), Some(Hash::Sha256)),
            Ok(Algorithm::Ecdsa(Hash::Sha256))
        );
        assert!(Algorithm::from_identifier(&id(RSA_ENCRYPTION), None).is_err());
    }

    #[test]
    fn pss_needs_parameters_with_one_hash() {
        assert!(Algorithm::from_identifier(&id(ID_RSASSA_PSS), None).is_err());
        let sha = |oid| AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        };
        let mgf = |oid| AlgorithmIdentifierOwned {
            oid: ID_MGF1,
            parameters: Some(der::Any::encode_from(&sha(oid)).unwrap()),
        };
        let with = |hash, mgf_hash, salt| AlgorithmIdentifierOwned {
            oid: ID_RSASSA_PSS,
            parameters: Some(
                der::Any::encode_from(&PssParams {
                    hash_algorithm: Some(sha(hash)),
                    mask_gen_algorithm: Some(mgf(mgf_hash)),
                    salt_length: Some(salt),
                    trailer_field: None,
                })
                .unwrap(),
            ),
        };
        assert_eq!(
            Algorithm::from_identifier(&with(ID_SHA384, ID_SHA384, 48), None),
            Ok(Algorithm::RsaPss {
                hash: Hash::Sha384,
                salt_len: 48
            })
        );
        let err = Algorithm::from_identifier(&with(ID_SHA256, ID_SHA512, 32), None).unwrap_err();
        assert!(err.contains("different"), "{err}");
    }

    #[test]
    fn a_signature_with_the_wrong_key_type_is_refused() {
        let ed = SubjectPublicKeyInfoOwned {
            algorithm: id(ID_ED25519),
            subject_public_key: der::asn1::BitString::from_bytes(&[0u8; 32]).unwrap(),
        };
        let err = verify(&ed, Algorithm::RsaPkcs1v15(Hash::Sha256), b"m", b"s").unwrap_err();
        assert!(err.contains("needs an RSA key"), "{err}");
        let err = verify(&ed, Algorithm::Ecdsa(Hash::Sha256), b"m", b"s").unwrap_err();
        assert!(err.contains("elliptic-curve"), "{err}");
        let err = verify(&ed, Algorithm::Ed25519, b"m", &[0u8; 64]).unwrap_err();
        assert!(!err.is_empty());
    }
}
