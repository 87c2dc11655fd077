//! sealmail's RSA-OAEP (`keys::oaep`: the rsa crate's private operation and sealmail's
//! constant-time EME-OAEP decoder) against the rsa crate as the oracle:
//! `Identity::unwrap_key` gives what `rsa::PrivateKey::decrypt` gives for random messages under
//! every hash pair the envelope may name, and the same refusals for tampered, oversized and
//! wrong-length ciphertexts; `Recipient::wrap` gives ciphertexts that `rsa::PrivateKey::decrypt`
//! opens. Keys: the fixtures
//! (2048/3072/4096 bits) and a 2049-bit key whose octet length is not a whole number of limbs.

mod keys_common;

use keys_common::fixture;
use proptest::prelude::*;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PrivateKey, PublicKey};
use sealmail::Kind;
use sealmail::keys::{Identity, OaepHash, OaepParams, Recipient};
use std::sync::OnceLock;

const HASHES: [OaepHash; 4] = [
    OaepHash::Sha1,
    OaepHash::Sha256,
    OaepHash::Sha384,
    OaepHash::Sha512,
];

/// The keys under test: the three fixture identities and a generated 2049-bit key.
fn keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<PrivateKey> = ["alice.key", "bob.key", "carol.key"]
            .iter()
            .map(|name| {
                let pem = std::fs::read_to_string(fixture(name)).unwrap();
                PrivateKey::from_pkcs8_pem(&pem).unwrap()
            })
            .collect();
        keys.push(PrivateKey::new(&mut getrandom::SysRng, 2049).unwrap());
        keys
    })
}

fn identity(key: &PrivateKey) -> Identity {
    Identity::new(key.clone(), "test key").unwrap()
}

/// Runs `$body` with `$t` bound to the digest type of `$hash`.
macro_rules! with_hash {
    ($hash:expr, |$t:ident| $body:expr) => {
        match $hash {
            OaepHash::Sha1 => {
                type $t = sha1::Sha1;
                $body
            }
            OaepHash::Sha256 => {
                type $t = sha2::Sha256;
                $body
            }
            OaepHash::Sha384 => {
                type $t = sha2::Sha384;
                $body
            }
            OaepHash::Sha512 => {
                type $t = sha2::Sha512;
                $body
            }
        }
    };
}

fn hash_len(hash: OaepHash) -> usize {
    match hash {
        OaepHash::Sha1 => 20,
        OaepHash::Sha256 => 32,
        OaepHash::Sha384 => 48,
        OaepHash::Sha512 => 64,
    }
}

fn encrypt(key: &PrivateKey, params: OaepParams, msg: &[u8]) -> Vec<u8> {
    let public = PublicKey::from(key);
    with_hash!(params.hash, |D| with_hash!(params.mgf_hash, |M| public
        .encrypt(
            &mut getrandom::SysRng,
            Oaep::<D, M>::new_with_mgf_hash(),
            msg
        )
        .unwrap()))
}

/// The oracle: the rsa crate's own one-thread decryption.
fn oracle(key: &PrivateKey, params: OaepParams, ct: &[u8]) -> Option<Vec<u8>> {
    with_hash!(params.hash, |D| with_hash!(params.mgf_hash, |M| key
        .decrypt(Oaep::<D, M>::new_with_mgf_hash(), ct)
        .ok()))
}

fn params_strategy() -> impl Strategy<Value = OaepParams> {
    (0..4usize, 0..4usize).prop_map(|(h, m)| OaepParams {
        hash: HASHES[h],
        mgf_hash: HASHES[m],
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn unwrap_gives_what_the_oracle_gives(
        key_index in 0..4usize,
        params in params_strategy(),
        len_seed in any::<usize>(),
        fill in any::<u8>(),
        flip in proptest::option::of((any::<usize>(), 1..=255u8)),
    ) {
        let key = &keys()[key_index];
        let k = key.size();
        let max = k - 2 * hash_len(params.hash) - 2;
        // Lengths from 0 to the largest message this key and hash can carry.
        let msg: Vec<u8> = (0..len_seed % (max + 1)).map(|i| fill ^ (i as u8)).collect();
        let mut ct = encrypt(key, params, &msg);
        if let Some((at, mask)) = flip {
            ct[at % k] ^= mask;
        }
        let expected = oracle(key, params, &ct);
        let got = identity(key).unwrap_key(&ct, params);
        match (&expected, &got) {
            (Some(want), Ok(got)) => prop_assert_eq!(&got[..], &want[..]),
            (None, Err(err)) => prop_assert_eq!(err.kind(), Kind::NoPermission),
            _ => prop_assert!(false, "oracle {:?}, sealmail {:?}", expected.is_some(), got.is_ok()),
        }
        if flip.is_none() {
            prop_assert_eq!(&got.unwrap()[..], &msg[..]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn what_wrap_encrypts_the_oracle_decrypts(
        key_index in 0..4usize,
        msg in proptest::collection::vec(any::<u8>(), 0..=190),
    ) {
        let key = &keys()[key_index];
        let recipient = Recipient::from_public_key(PublicKey::from(key), "test key").unwrap();
        let params = OaepParams { hash: OaepHash::Sha256, mgf_hash: OaepHash::Sha256 };
        let ct = recipient.wrap(&msg).unwrap();
        prop_assert_eq!(ct.len(), key.size());
        prop_assert_eq!(oracle(key, params, &ct), Some(msg.clone()));
        // Fresh randomness every time: the same message never gives the same ciphertext.
        prop_assert_ne!(recipient.wrap(&msg).unwrap(), ct);
    }
}

#[test]
fn wrap_refuses_a_message_too_long_for_the_key() {
    let key = &keys()[0];
    let recipient = Recipient::from_public_key(PublicKey::from(key), "test key").unwrap();
    let longest = key.size() - 2 * 32 - 2;
    assert!(recipient.wrap(&vec![7; longest]).is_ok());
    let err = recipient.wrap(&vec![7; longest + 1]).unwrap_err();
    assert_eq!(err.kind(), Kind::Config);
}

#[test]
fn ciphertexts_of_the_wrong_size_or_not_below_n_are_refused() {
    let params = OaepParams {
        hash: OaepHash::Sha256,
        mgf_hash: OaepHash::Sha256,
    };
    for key in keys() {
        let k = key.size();
        let id = identity(key);
        let good = encrypt(key, params, b"session key");
        let n = key.n().to_be_bytes();
        let n = &n[n.len() - k..];
        let mut all_ones = vec![0xff; k];
        all_ones[0] = n[0]; // same top octet as n, the rest above it: still >= n
        let cases: [(&str, Vec<u8>); 5] = [
            ("one octet short", good[1..].to_vec()),
            ("one octet long", [&[0u8][..], &good].concat()),
            ("n itself", n.to_vec()),
            ("above n", all_ones),
            ("zero", vec![0; k]),
        ];
        for (what, ct) in cases {
            let err = id.unwrap_key(&ct, params).err();
            assert_eq!(
                err.map(|e| e.kind()),
                Some(Kind::NoPermission),
                "{what}, {k}-octet key"
            );
            assert!(oracle(key, params, &ct).is_none(), "oracle took {what}");
        }
        assert_eq!(&id.unwrap_key(&good, params).unwrap()[..], b"session key");
    }
}
