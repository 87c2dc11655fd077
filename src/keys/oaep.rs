//! RSAES-OAEP (RFC 8017 §7.1) for wrapping and unwrapping session keys: decryption with the
//! RSA private operation's two CRT halves computed at once on two threads, and encryption with
//! the public operation done by plain square-and-multiply.
//!
//! Encryption: `rsa::PublicKey::oaep_encrypt` raises to e = 65537 with crypto-bigint's general
//! constant-time exponentiation, whose 4-bit window costs 14 multiplications for its table and
//! 20 squarings, 5 multiplications and 5 table scans after (3.06 M + 2.49 M of the 8.4 M
//! instructions of a 4 KiB encrypt to three recipients). The exponent is public, so
//! [`public_op`] walks its bits: 16 squarings and one multiplication for 65537, each still
//! constant-time in the message. The EME-OAEP encoding is RFC 8017 §7.1.1 step 2 with SHA-256
//! for both hashes, as `Recipient::wrap` always uses; it follows rsa's `encrypt_internal`.
//!
//! Decryption: `rsa::PrivateKey::decrypt` does this same work on one thread, and on a 4 KiB message it is
//! nine tenths of a `sealmail decrypt` run (~2.5 ms of RSA-2048 on this project's machines). Its
//! two exponentiations, modulo p and modulo q, are independent, so this module does them side by
//! side. Everything else is the rsa 0.10 crate's own private operation, step for step, from the
//! same primitives (crypto-bigint's constant-time Montgomery arithmetic), keeping each of its
//! protections; the blinding functions follow `rsa/src/algorithms/{rsa,blinding,reduction}.rs`
//! (rsa 0.10.0, MIT OR Apache-2.0):
//!
//! - base blinding: `c' = c·r^e mod n` for a fresh `r` uniform mod n, undone with `r⁻¹` at the end;
//! - exponent blinding: `dp + b·(p−1)` for a fresh 128-bit `b` (and the same for q);
//! - modulus blinding: each half is exponentiated modulo `p·g` for a fresh odd 129-bit `g`;
//! - the fault check: `m^e mod n` must give back `c`, or nothing is returned (a CRT half that
//!   a fault got wrong would otherwise reveal a factor of n; checked with [`public_op`]);
//! - EME-OAEP decoding in constant time: the leading octet, the label hash and the 0x01
//!   separator are all checked before one branch on the combined result. Unlike rsa 0.10, a
//!   non-zero leading octet is refused, as RFC 8017 §7.1.2 step 3g says.
//!
//! Keys without CRT parameters (or with more than two primes) go to the rsa crate's one-thread
//! operation unchanged. `tests/keys_oaep.rs` checks both directions against the rsa crate on
//! random messages (decryption for every hash pair, every key size; what `encrypt` makes must
//! open with `rsa::PrivateKey::decrypt`), a unit test checks [`public_op`] against
//! `rsa::hazmat::rsa_encrypt`, and `tests/keys_wycheproof.rs` runs Wycheproof's RSAES-OAEP
//! decryption vectors.

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Choice, ConcatenatingMul, CtAssign, CtEq, Odd, RandomMod, Resize};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{PrivateKey, PublicKey};
use sha2::digest::{Digest, FixedOutputReset};
use zeroize::Zeroizing;

/// Encrypts `msg` to `key` with RSAES-OAEP, SHA-256 and MGF1-SHA-256, empty label.
///
/// `None` when `msg` is too long for the key (or the system RNG fails).
pub(crate) fn encrypt(key: &PublicKey, msg: &[u8]) -> Option<Vec<u8>> {
    type H = sha2::Sha256;
    let h_len = <H as Digest>::output_size();
    let k = key.size();
    // RFC 8017 §7.1.1 step 1b: mLen <= k - 2hLen - 2.
    if msg.len() + 2 * h_len + 2 > k {
        return None;
    }
    // EM = 0x00 || maskedSeed || maskedDB, DB = lHash || PS || 0x01 || M.
    let mut em = Zeroizing::new(vec![0u8; k]);
    let (_, rest) = em.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(h_len);
    getrandom::fill(seed).ok()?;
    let separator = db.len() - msg.len() - 1;
    db[..h_len].copy_from_slice(&H::digest(b""));
    db[separator] = 1;
    db[separator + 1..].copy_from_slice(msg);
    let mut mgf = H::new();
    mgf1_xor(db, &mut mgf, seed);
    mgf1_xor(seed, &mut mgf, db);

    let m = Zeroizing::new(BoxedUint::from_be_slice(&em, key.n_bits_precision()).ok()?);
    i2osp(&public_op(key, &m), k).map(|c| c.to_vec())
}

/// I2OSP (RFC 8017 §4.1) for an `x` below the modulus: its `k` low-order octets, big-endian (the
/// storage is limb-aligned, so it may hold more, all zero).
fn i2osp(x: &BoxedUint, k: usize) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(x.to_be_bytes());
    Some(Zeroizing::new(
        bytes.get(bytes.len().checked_sub(k)?..)?.to_vec(),
    ))
}

/// RSAEP / the fault check's RSAVP1: `m^e mod n`, square-and-multiply over the bits of the
/// public exponent (variable-time in `e` only; every step is constant-time in `m`).
fn public_op(key: &impl PublicKeyParts, m: &BoxedUint) -> BoxedUint {
    use crypto_bigint::SquareAssign;
    let e = key.e();
    let base = Zeroizing::new(to_monty(m, key.n_params()));
    let mut acc = Zeroizing::new((*base).clone());
    // The top bit of e is the starting `acc = m` (right for any e >= 1; rsa refuses e < 2).
    for bit in (0..e.bit_width_vartime().saturating_sub(1)).rev() {
        acc.square_assign();
        if e.bit_vartime(bit) {
            *acc *= &*base;
        }
    }
    acc.retrieve()
}

/// Decrypts `ciphertext` with `key` and the OAEP hashes `D` (label) and `M` (MGF1), empty label.
///
/// `None` for every failure, whatever its cause: OAEP failures must look alike.
pub(crate) fn decrypt<D, M>(key: &PrivateKey, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>>
where
    D: Digest,
    M: Digest + FixedOutputReset,
{
    let k = key.size();
    if ciphertext.len() != k {
        return None;
    }
    let c = BoxedUint::from_be_slice(ciphertext, key.n_bits_precision()).ok()?;
    if c >= *key.n().as_ref() {
        return None;
    }
    let m = Zeroizing::new(private_op(key, &c)?);
    decode::<D, M>(i2osp(&m, k)?)
}

/// RSADP with CRT: `c^d mod n`, blinded, the halves on two threads, fault-checked.
fn private_op(key: &PrivateKey, c: &BoxedUint) -> Option<BoxedUint> {
    let (Some(p), Some(q), Some(dp), Some(dq), Some(qinv)) =
        (key.p(), key.q(), key.dp(), key.dq(), key.qinv())
    else {
        return one_thread(key, c);
    };
    if key.primes().len() != 2 {
        return one_thread(key, c);
    }
    let p = BoxedMontyParams::from(p.clone());
    let q = BoxedMontyParams::from(q.clone());
    let (blinded, unblinder) = blind(key, c)?;

    let q_half = || half(&blinded, dq, &q).map(|form| Zeroizing::new(form.retrieve()));
    let (m1, m2) = std::thread::scope(|scope| {
        match crate::pipeline::spawn_beside(scope, q_half) {
            Ok(thread) => {
                let m1 = half(&blinded, dp, &p);
                (m1, thread.join().ok().flatten())
            }
            // No second thread to be had: the same work, one half after the other.
            Err(_) => (half(&blinded, dp, &p), q_half()),
        }
    });
    let m2 = m2?;
    let m = combine(key, &p, qinv, m1?, &m2, &unblinder)?;
    fault_check(key, m, c)
}

/// The rsa crate's own private operation, for keys this module does not split.
fn one_thread(key: &PrivateKey, c: &BoxedUint) -> Option<BoxedUint> {
    rsa::hazmat::rsa_decrypt_and_check(key, Some(&mut getrandom::SysRng), c).ok()
}

/// Base blinding: `(c·r^e mod n, r⁻¹ mod n)` for a fresh `r` uniform mod n.
fn blind(key: &PrivateKey, c: &BoxedUint) -> Option<(Zeroizing<BoxedUint>, Zeroizing<BoxedUint>)> {
    let n = key.n();
    let n_params = key.n_params();
    // An r without an inverse mod n would be a factor of n: never met in practice, but the loop
    // is bounded all the same.
    for _ in 0..8 {
        let r = Zeroizing::new(BoxedUint::try_random_mod_vartime(&mut getrandom::SysRng, n).ok()?);
        let Some(unblinder) = Option::<BoxedUint>::from(r.invert_mod(n)) else {
            continue;
        };
        let e = key.e();
        let r_e = Zeroizing::new(
            to_monty(&r, n_params)
                .pow_bounded_exp(e, e.bit_width())
                .retrieve(),
        );
        let blinded = c.mul_mod(&r_e, n_params.modulus().as_nz_ref());
        return Some((Zeroizing::new(blinded), Zeroizing::new(unblinder)));
    }
    None
}

/// One CRT half: `c^d mod prime`, with the exponent and the modulus blinded afresh.
fn half(c: &BoxedUint, d: &BoxedUint, prime: &BoxedMontyParams) -> Option<BoxedMontyForm> {
    let rng = &mut getrandom::SysRng;
    let prime_minus_one = Zeroizing::new(prime.modulus().wrapping_sub(BoxedUint::one()));
    let d = blind_exponent(rng, d, &prime_minus_one)?;
    let params = BoxedMontyParams::new(blind_modulus(rng, prime.modulus())?);
    let base = Zeroizing::new(to_monty(c, &params));
    let powered = Zeroizing::new(base.pow(&d));
    let residue = Zeroizing::new(powered.retrieve());
    Some(to_monty(&residue, prime))
}

/// `exponent + b·totient` for a fresh, uniformly random 128-bit `b`.
fn blind_exponent(
    rng: &mut getrandom::SysRng,
    exponent: &BoxedUint,
    totient: &BoxedUint,
) -> Option<Zeroizing<BoxedUint>> {
    let b = Zeroizing::new(random_u128(rng, 128)?);
    let bits = exponent.bits_precision().max(totient.bits_precision());
    let totient = Zeroizing::new(totient.resize_unchecked(bits));
    let mut blinded = Zeroizing::new(totient.concatenating_mul(&*b));
    // Both are below 2^bits, so b·totient + exponent fits in bits + 128 bits.
    blinded.wrapping_add_assign(exponent);
    Some(blinded)
}

/// `prime·g` for a fresh odd `g = 2r + 1`, `r` uniform over 128 bits.
fn blind_modulus(rng: &mut getrandom::SysRng, prime: &Odd<BoxedUint>) -> Option<Odd<BoxedUint>> {
    // 129 bits of storage, so doubling an all-ones r does not overflow.
    let mut g = Zeroizing::new(random_u128(rng, 129)?);
    g.shl_assign(1);
    g.wrapping_add_assign(BoxedUint::one());
    Odd::new(prime.concatenating_mul(&*g)).into_option()
}

/// 128 random bits in a BoxedUint of `precision` bits.
fn random_u128(rng: &mut getrandom::SysRng, precision: u32) -> Option<BoxedUint> {
    use rsa::rand_core::TryRng;
    let mut bytes = Zeroizing::new([0u8; 16]);
    rng.try_fill_bytes(bytes.as_mut()).ok()?;
    BoxedUint::from_le_slice(bytes.as_ref(), precision).ok()
}

/// `x mod p` in Montgomery form, for an `x` of any width (rsa's `reduction::to_monty`): a wide
/// `x` is read in modulus-sized digits, high first, multiplied in by the radix R mod p.
fn to_monty(x: &BoxedUint, p: &BoxedMontyParams) -> BoxedMontyForm {
    let bits = p.bits_precision();
    if x.bits_precision() <= bits {
        return BoxedMontyForm::new(x.resize_unchecked(bits), p);
    }
    let radix = BoxedMontyForm::from_montgomery(p.as_ref().r2().clone(), p);
    let digit = |limbs: &[crypto_bigint::Limb]| {
        let mut value = BoxedUint::zero_with_precision(bits);
        value.as_mut_limbs()[..limbs.len()].copy_from_slice(limbs);
        BoxedMontyForm::new(value, p)
    };
    let mut chunks = x.as_limbs().chunks(p.modulus().as_limbs().len()).rev();
    let Some(first) = chunks.next() else {
        return BoxedMontyForm::zero(p);
    };
    let mut acc = digit(first);
    for chunk in chunks {
        acc *= &radix;
        acc += &digit(chunk);
    }
    acc
}

/// Garner's recombination and the unblinding: `m = m2 + q·(qinv·(m1 − m2) mod p)`, times `r⁻¹`.
fn combine(
    key: &PrivateKey,
    p: &BoxedMontyParams,
    qinv: &BoxedMontyForm,
    mut m1: BoxedMontyForm,
    m2: &BoxedUint,
    unblinder: &BoxedUint,
) -> Option<BoxedUint> {
    let n_bits = key.n_bits_precision();
    m1 -= &to_monty(m2, p);
    let h = Zeroizing::new((qinv * &m1).retrieve());
    let q = key.primes().get(1)?;
    // m2 < q and h < p, so m2 + h·q < n.
    let m2 = Zeroizing::new(m2.try_resize(n_bits)?);
    let hq = Zeroizing::new(h.concatenating_mul(q.as_ref()).try_resize(n_bits)?);
    let m = Zeroizing::new(m2.wrapping_add(&*hq));
    Some(m.mul_mod(unblinder, key.n_params().modulus().as_nz_ref()))
}

/// `m` only if `m^e mod n == c`: a fault in either half gives a wrong `m`, and a wrong `m`
/// must not leave this module.
fn fault_check(key: &PrivateKey, m: BoxedUint, c: &BoxedUint) -> Option<BoxedUint> {
    let m = Zeroizing::new(m);
    (public_op(key, &m) == *c).then(|| (*m).clone())
}

/// EME-OAEP decoding (RFC 8017 §7.1.2 step 3), empty label, in constant time until the one
/// branch on the result: `EM = Y || maskedSeed || maskedDB`, `DB = lHash' || PS || 0x01 || M`.
fn decode<D, M>(mut em: Zeroizing<Vec<u8>>) -> Option<Zeroizing<Vec<u8>>>
where
    D: Digest,
    M: Digest + FixedOutputReset,
{
    let h_len = <D as Digest>::output_size();
    if em.len() < 2 * h_len + 2 {
        return None;
    }
    let l_hash = D::digest(b"");
    let (y, rest) = em.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(h_len);
    let mut mgf = M::new();
    mgf1_xor(seed, &mut mgf, db);
    mgf1_xor(db, &mut mgf, seed);

    let mut valid = y[0].ct_eq(&0u8) & db[..h_len].ct_eq(&l_hash[..]);
    // Past lHash': zero or more 0x00, then 0x01, then the message.
    let mut looking = Choice::TRUE;
    let mut separator = 0u32;
    let mut nonzero_before_one = Choice::FALSE;
    for (i, byte) in (0u32..).zip(&db[h_len..]) {
        let is_zero = byte.ct_eq(&0u8);
        let is_one = byte.ct_eq(&1u8);
        separator.ct_assign(&i, looking & is_one);
        looking &= !is_one;
        nonzero_before_one |= looking & !is_zero;
    }
    valid &= !nonzero_before_one & !looking;
    if !valid.to_bool() {
        return None;
    }
    let start = 1 + 2 * h_len + separator as usize + 1;
    Some(Zeroizing::new(em.get(start..)?.to_vec()))
}

/// `out ^= MGF1(seed, out.len())` (RFC 8017 §B.2.1).
fn mgf1_xor<M: Digest + FixedOutputReset>(out: &mut [u8], mgf: &mut M, seed: &[u8]) {
    let block = <M as Digest>::output_size();
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(block)) {
        Digest::update(mgf, seed);
        Digest::update(mgf, counter.to_be_bytes());
        let mask = mgf.finalize_reset();
        for (out, mask) in chunk.iter_mut().zip(mask.iter()) {
            *out ^= mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::{Oaep, PublicKey};
    use sha2::Sha256;

    fn alice() -> PrivateKey {
        let pem = include_str!("../../fixtures/keys/alice.key");
        PrivateKey::from_pkcs8_pem(pem).unwrap()
    }

    fn blinded_halves(key: &PrivateKey, c: &BoxedUint) -> (BoxedMontyForm, BoxedUint, BoxedUint) {
        let p = BoxedMontyParams::from(key.p().unwrap().clone());
        let q = BoxedMontyParams::from(key.q().unwrap().clone());
        let (blinded, unblinder) = blind(key, c).unwrap();
        let m1 = half(&blinded, key.dp().unwrap(), &p).unwrap();
        let m2 = half(&blinded, key.dq().unwrap(), &q).unwrap().retrieve();
        (m1, m2, (*unblinder).clone())
    }

    #[test]
    fn a_faulty_crt_half_is_caught_by_the_check() {
        let key = alice();
        let public = PublicKey::from(&key);
        let ct = public
            .encrypt(
                &mut getrandom::SysRng,
                Oaep::<Sha256>::new(),
                b"session key",
            )
            .unwrap();
        let c = BoxedUint::from_be_slice(&ct, key.n_bits_precision()).unwrap();
        let p = BoxedMontyParams::from(key.p().unwrap().clone());
        let qinv = key.qinv().unwrap();

        // Sound halves pass the check and give the encoded message back.
        let (m1, m2, unblinder) = blinded_halves(&key, &c);
        let m = combine(&key, &p, qinv, m1, &m2, &unblinder).unwrap();
        assert!(fault_check(&key, m, &c).is_some());

        // One bit wrong in either half (a glitch in one exponentiation) and nothing comes out.
        let (mut m1, m2, unblinder) = blinded_halves(&key, &c);
        m1 += &BoxedMontyForm::one(&p);
        let m = combine(&key, &p, qinv, m1, &m2, &unblinder).unwrap();
        assert!(fault_check(&key, m, &c).is_none());

        let (m1, m2, unblinder) = blinded_halves(&key, &c);
        let m2 = m2.wrapping_add(BoxedUint::one());
        let m = combine(&key, &p, qinv, m1, &m2, &unblinder).unwrap();
        assert!(fault_check(&key, m, &c).is_none());
    }

    #[test]
    fn the_public_operation_matches_the_rsa_crates() {
        let key = alice();
        let public = PublicKey::from(&key);
        let n = key.n().as_ref();
        for seed in 0u8..20 {
            let bytes: Vec<u8> = (0..key.size())
                .map(|i| (i as u8).wrapping_mul(seed))
                .collect();
            let m = BoxedUint::from_be_slice(&bytes, key.n_bits_precision())
                .unwrap()
                .rem_vartime(key.n());
            assert!(m < *n);
            let expected = rsa::hazmat::rsa_encrypt(&public, &m).unwrap();
            assert_eq!(public_op(&public, &m), expected, "seed {seed}");
        }
    }

    #[test]
    fn decoding_refuses_a_nonzero_leading_octet_and_a_bad_separator() {
        // A well-formed EM for k = 128 with SHA-256, built by hand: seed and DB masked with MGF1.
        let h = 32;
        let k = 128;
        let msg = b"0123456789abcdef";
        let mut db = Sha256::digest(b"").to_vec();
        db.resize(k - h - 1 - msg.len() - 1, 0);
        db.push(1);
        db.extend_from_slice(msg);
        let mut seed = [7u8; 32];
        mgf1_xor(&mut db, &mut Sha256::new(), &seed);
        mgf1_xor(&mut seed, &mut Sha256::new(), &db);
        let mut em = vec![0u8];
        em.extend_from_slice(&seed);
        em.extend_from_slice(&db);
        assert_eq!(em.len(), k);

        let got = decode::<Sha256, Sha256>(Zeroizing::new(em.clone())).unwrap();
        assert_eq!(&got[..], msg);

        let mut y = em.clone();
        y[0] = 1;
        assert!(decode::<Sha256, Sha256>(Zeroizing::new(y)).is_none());

        // Flipping the 0x01 separator to 0x03 (through the mask) leaves no valid separator.
        let mut sep = em.clone();
        sep[k - msg.len() - 1] ^= 0x02;
        assert!(decode::<Sha256, Sha256>(Zeroizing::new(sep)).is_none());

        assert!(decode::<Sha256, Sha256>(Zeroizing::new(vec![0; 2 * h + 1])).is_none());
    }
}
