//! The password-based pieces of RFC 7292 that no RustCrypto crate provides: the Appendix B key
//! derivation (for the MAC key and for the legacy PBEs) and the Appendix C PBEs built on it
//! (3DES and RC2 in CBC mode, through the `des`, `rc2` and `cbc` crates).
//!
//! PBES2 (RFC 8018, what openssl 3 and NSS write by default) is not here: the `pkcs5` crate does
//! it. Only the derivation and the block cipher choice are ours; the ciphers are RustCrypto's.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{
    BlockCipherDecrypt, BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, InnerIvInit,
    KeyInit,
};
use der::asn1::ObjectIdentifier;
use sha2::digest::Digest;
use sha2::digest::block_api::BlockSizeUser;
use zeroize::Zeroizing;

/// RFC 7292 Appendix B.3: the ID byte says what the derived bits are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// ID 1: key material for encryption or decryption.
    Key = 1,
    /// ID 2: an initialisation vector.
    Iv = 2,
    /// ID 3: a MAC key.
    Mac = 3,
}

/// The password as RFC 7292 Appendix B.1 feeds it to the derivation: a BMPString (UTF-16
/// big-endian) followed by two zero octets. `None` when it has characters outside the BMP.
pub(super) fn bmp_password(passphrase: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(2 * passphrase.len() + 2));
    for c in passphrase.chars() {
        let code = u16::try_from(u32::from(c)).ok()?;
        out.extend_from_slice(&code.to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    Some(out)
}

/// RFC 7292 Appendix B.2: `n` octets derived from `password` (already in its BMPString form)
/// and `salt` with `iterations` rounds of the hash `D`.
pub(super) fn derive<D: Digest + BlockSizeUser>(
    purpose: Purpose,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    n: usize,
) -> Zeroizing<Vec<u8>> {
    let v = D::block_size();
    // Steps 2-4: I = S || P, each repeated to a multiple of v octets (empty stays empty).
    let stretch = |src: &[u8], out: &mut Vec<u8>| {
        if !src.is_empty() {
            out.extend(src.iter().cycle().take(v * src.len().div_ceil(v)));
        }
    };
    let mut i = Zeroizing::new(Vec::new());
    stretch(salt, &mut i);
    stretch(password, &mut i);
    let d = vec![purpose as u8; v];

    let mut out = Zeroizing::new(Vec::with_capacity(n + <D as Digest>::output_size()));
    let mut a = Zeroizing::new(Vec::new());
    loop {
        // Step 6a: A_i = H^r(D || I).
        a.clear();
        a.extend_from_slice(&D::new().chain_update(&d).chain_update(&i[..]).finalize());
        for _ in 1..iterations {
            let next = D::digest(&a[..]);
            a.copy_from_slice(&next);
        }
        out.extend_from_slice(&a);
        if out.len() >= n {
            break;
        }
        // Steps 6b-6c: B = A_i repeated to v octets; every v-octet block I_j of I becomes
        // (I_j + B + 1) mod 2^(8v).
        let b: Zeroizing<Vec<u8>> = Zeroizing::new(a.iter().cycle().take(v).copied().collect());
        for block in i.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum.to_le_bytes()[0];
                carry = sum >> 8;
            }
        }
    }
    out.truncate(n);
    out
}

/// The RFC 7292 Appendix C PBEs, all with SHA-1 in the derivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LegacyPbe {
    /// pbeWithSHAAnd3-KeyTripleDES-CBC `{pkcs-12PbeIds 3}`
    TripleDes,
    /// pbeWithSHAAnd2-KeyTripleDES-CBC `{pkcs-12PbeIds 4}`
    TwoKeyTripleDes,
    /// pbeWithSHAAnd128BitRC2-CBC `{pkcs-12PbeIds 5}`
    Rc2With128,
    /// pbeWithSHAAnd40BitRC2-CBC `{pkcs-12PbeIds 6}`
    Rc2With40,
}

/// pkcs-12PbeIds, RFC 7292 Appendix C: `{pkcs-12 1}`.
pub(super) const PBE_SHA1_3DES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_2DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.4");
const PBE_SHA1_RC2_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.5");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");

impl LegacyPbe {
    pub(super) fn from_oid(oid: ObjectIdentifier) -> Option<LegacyPbe> {
        Some(match oid {
            PBE_SHA1_3DES => LegacyPbe::TripleDes,
            PBE_SHA1_2DES => LegacyPbe::TwoKeyTripleDes,
            PBE_SHA1_RC2_128 => LegacyPbe::Rc2With128,
            PBE_SHA1_RC2_40 => LegacyPbe::Rc2With40,
            _ => return None,
        })
    }

    fn key_len(self) -> usize {
        match self {
            LegacyPbe::TripleDes => 24,
            LegacyPbe::TwoKeyTripleDes | LegacyPbe::Rc2With128 => 16,
            LegacyPbe::Rc2With40 => 5,
        }
    }

    fn keys(self, password: &[u8], salt: &[u8], iterations: u32) -> Keys {
        type Sha1 = sha1::Sha1;
        Keys {
            key: derive::<Sha1>(Purpose::Key, password, salt, iterations, self.key_len()),
            iv: derive::<Sha1>(Purpose::Iv, password, salt, iterations, 8),
        }
    }

    /// Decrypt and unpad; `None` when the padding is wrong (a wrong password or a corrupt file).
    pub(super) fn decrypt(
        self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        ciphertext: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        let k = self.keys(password, salt, iterations);
        match self {
            LegacyPbe::TripleDes => cbc_decrypt(
                des::TdesEde3::new_from_slice(&k.key).ok()?,
                &k.iv,
                ciphertext,
            ),
            LegacyPbe::TwoKeyTripleDes => cbc_decrypt(
                des::TdesEde2::new_from_slice(&k.key).ok()?,
                &k.iv,
                ciphertext,
            ),
            LegacyPbe::Rc2With128 => cbc_decrypt(
                rc2::Rc2::new_with_eff_key_len(&k.key, 128),
                &k.iv,
                ciphertext,
            ),
            LegacyPbe::Rc2With40 => cbc_decrypt(
                rc2::Rc2::new_with_eff_key_len(&k.key, 40),
                &k.iv,
                ciphertext,
            ),
        }
    }

    /// Pad and encrypt with 3DES (the only legacy PBE sealmail writes).
    pub(super) fn encrypt_3des(
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        let k = LegacyPbe::TripleDes.keys(password, salt, iterations);
        let cipher = des::TdesEde3::new_from_slice(&k.key).ok()?;
        let encryptor = cbc::Encryptor::inner_iv_slice_init(cipher, &k.iv).ok()?;
        let mut buf = Zeroizing::new(vec![0u8; plaintext.len() + 8]);
        buf.get_mut(..plaintext.len())?.copy_from_slice(plaintext);
        let len = encryptor
            .encrypt_padded::<Pkcs7>(&mut buf, plaintext.len())
            .ok()?
            .len();
        Some(buf.get(..len)?.to_vec())
    }
}

struct Keys {
    key: Zeroizing<Vec<u8>>,
    iv: Zeroizing<Vec<u8>>,
}

fn cbc_decrypt<C: BlockCipherDecrypt + BlockCipherEncrypt>(
    cipher: C,
    iv: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let decryptor = cbc::Decryptor::inner_iv_slice_init(cipher, iv).ok()?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let len = decryptor.decrypt_padded::<Pkcs7>(&mut buf).ok()?.len();
    buf.truncate(len);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The PKCS #12 derivation vectors published with OpenSSL's and Bouncy Castle's test suites
    /// (password "smeg", salt 0a58cf64530d823f, one iteration; "queeg", 1000 iterations).
    #[test]
    fn appendix_b_derivation_matches_the_published_vectors() {
        let smeg = bmp_password("smeg").unwrap();
        let salt = [0x0a, 0x58, 0xcf, 0x64, 0x53, 0x0d, 0x82, 0x3f];
        assert_eq!(
            hex(&derive::<sha1::Sha1>(Purpose::Key, &smeg, &salt, 1, 24)),
            "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"
        );
        assert_eq!(
            hex(&derive::<sha1::Sha1>(Purpose::Iv, &smeg, &salt, 1, 8)),
            "79993dfe048d3b76"
        );
        let queeg = bmp_password("queeg").unwrap();
        let salt = [0x16, 0x82, 0xc0, 0xfc, 0x5b, 0x3f, 0x7e, 0xc5];
        assert_eq!(
            hex(&derive::<sha1::Sha1>(Purpose::Key, &queeg, &salt, 1000, 24)),
            "483dd6e919d7de2e8e648ba8f862f3fbfbdc2bcb2c02957f"
        );
    }

    #[test]
    fn the_password_is_a_terminated_bmp_string() {
        assert_eq!(&bmp_password("Ab").unwrap()[..], &[0, 0x41, 0, 0x62, 0, 0]);
        assert_eq!(&bmp_password("").unwrap()[..], &[0, 0]);
        assert_eq!(&bmp_password("é").unwrap()[..], &[0, 0xe9, 0, 0]);
        assert!(bmp_password("\u{1F600}").is_none());
    }

    #[test]
    fn triple_des_round_trips_and_a_wrong_password_fails_the_padding() {
        let pass = bmp_password("pw").unwrap();
        let salt = [7u8; 8];
        let sealed = LegacyPbe::encrypt_3des(&pass, &salt, 2048, b"seventeen bytes!!").unwrap();
        assert_eq!(sealed.len(), 24);
        let opened = LegacyPbe::TripleDes
            .decrypt(&pass, &salt, 2048, &sealed)
            .unwrap();
        assert_eq!(&opened[..], b"seventeen bytes!!");
        // 1 in 256 wrong keys still ends in a valid padding byte; this salt's does not.
        let wrong = bmp_password("pW").unwrap();
        assert!(
            LegacyPbe::TripleDes
                .decrypt(&wrong, &salt, 2048, &sealed)
                .is_none()
        );
    }
}
