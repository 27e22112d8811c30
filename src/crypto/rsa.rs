//! RSA public keys and signature verification: RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017),
//! with the modular exponentiation in Montgomery form over 32-bit limbs (one wasm `i64.mul` per
//! limb product).
//!
//! Verification handles only public values (key, message, signature), so nothing here needs to
//! run in constant time: the code branches on data. The `rsa` crate stays the reference: the
//! tests compare keys, encodings and verdicts with it.

use alloc::vec;
use alloc::vec::Vec;

use sha2::Digest;

use crate::crypto::options::{HashAlgorithm, RsaScheme};
use crate::encoding::der::{self, BIT_STRING, INTEGER, SEQUENCE};
use crate::limits::{MAX_RSA_BITS, MIN_RSA_BITS};

/// The largest public exponent accepted, the `rsa` crate's bound (real keys use 65537).
const MAX_EXPONENT: u64 = (1 << 33) - 1;

/// The DER `AlgorithmIdentifier` of rsaEncryption: its OID and NULL parameters.
const RSA_ALGORITHM: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// An RSA public key, ready to verify: the modulus in little-endian 32-bit limbs and the
/// Montgomery constants, computed once per key.
#[derive(Clone, Debug)]
pub(crate) struct RsaKey {
    n: Vec<u32>,
    e: u64,
    bits: usize,
    /// `-n⁻¹ mod 2^32`.
    n0inv: u32,
    /// `R² mod n`, with `R = 2^(32·limbs)`: multiplied in, it brings a value into Montgomery form.
    r2: Vec<u32>,
}

/// Why an RSA key was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RsaKeyError {
    /// Not a well-formed key: what was expected instead.
    Malformed(&'static str),
    /// A modulus of this many bits, outside [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`].
    Size(usize),
}

impl From<&'static str> for RsaKeyError {
    fn from(what: &'static str) -> Self {
        Self::Malformed(what)
    }
}

impl RsaKey {
    /// From a DER PKCS#1 `RSAPublicKey` (`SEQUENCE { modulus INTEGER, publicExponent INTEGER }`):
    /// an odd modulus of [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`], and an odd exponent from 3 to
    /// 2^33 − 1. The size is checked before any arithmetic, so an oversized modulus (in a
    /// certificate from the evidence, say) costs nothing but its reading.
    pub(crate) fn from_pkcs1_der(bytes: &[u8]) -> Result<Self, RsaKeyError> {
        let sequence = der::single(bytes, SEQUENCE, "an RSAPublicKey SEQUENCE")?;
        let mut fields = der::Elements::of(sequence.content);
        let n = positive_integer(fields.expect(INTEGER, "a modulus INTEGER")?.content)?;
        let e = positive_integer(fields.expect(INTEGER, "a publicExponent INTEGER")?.content)?;
        fields.end("nothing after the publicExponent")?;
        if n.last().is_none_or(|&low| low & 1 == 0) {
            return Err("an odd modulus".into());
        }
        if e.len() > 8 {
            return Err("a public exponent below 2^33".into());
        }
        let e = e.iter().fold(0u64, |e, &byte| e << 8 | u64::from(byte));
        if !(3..=MAX_EXPONENT).contains(&e) || e & 1 == 0 {
            return Err("an odd public exponent from 3 to 2^33 - 1".into());
        }
        // No leading zero byte is left: the top byte's bits count.
        let bits = 8 * n.len() - n.first().map_or(8, |top| top.leading_zeros() as usize);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(RsaKeyError::Size(bits));
        }
        let n = limbs_from_be(n, n.len().div_ceil(4));
        // -n⁻¹ mod 2^32 by Newton's iteration (each step doubles the correct low bits).
        let mut inverse = 1u32;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u32.wrapping_sub(n[0].wrapping_mul(inverse)));
        }
        let mut key = Self {
            r2: Vec::new(),
            n0inv: inverse.wrapping_neg(),
            n,
            e,
            bits,
        };
        key.r2 = key.r_squared();
        Ok(key)
    }

    /// The modulus length in bits.
    pub(crate) fn bits(&self) -> usize {
        self.bits
    }

    /// The key as a DER SubjectPublicKeyInfo: one canonical encoding, whatever form it came in.
    pub(crate) fn to_spki_der(&self) -> Vec<u8> {
        let mut integers = der_integer(&be_from_limbs(&self.n, 4 * self.n.len()));
        integers.extend(der_integer(&self.e.to_be_bytes()));
        let mut pkcs1 = der::der_header(SEQUENCE, integers.len());
        pkcs1.extend(integers);
        spki_of_pkcs1(&pkcs1)
    }

    /// Whether `signature` (exactly the modulus' length in bytes) verifies over the digest
    /// `prehash` made with `hash`; `None` when it is not that length.
    pub(crate) fn verify(
        &self,
        scheme: RsaScheme,
        hash: HashAlgorithm,
        prehash: &[u8],
        signature: &[u8],
    ) -> Option<bool> {
        let length = self.bits.div_ceil(8);
        if signature.len() != length {
            return None;
        }
        let s = limbs_from_be(signature, self.n.len());
        // RSAVP1: the signature representative must be below n.
        if !less(&s, &self.n) {
            return Some(false);
        }
        let m = self.public_operation(&s);
        let encoded = be_from_limbs(&m, length);
        Some(match (scheme, hash) {
            (RsaScheme::Pkcs1v15, _) => pkcs1v15_encoding(hash, prehash, length) == encoded,
            (RsaScheme::Pss, HashAlgorithm::Sha384) => {
                pss_verify::<sha2::Sha384>(prehash, &encoded, self.bits)
            }
            (RsaScheme::Pss, HashAlgorithm::Sha512) => {
                pss_verify::<sha2::Sha512>(prehash, &encoded, self.bits)
            }
            (RsaScheme::Pss, HashAlgorithm::Auto | HashAlgorithm::Sha256) => {
                pss_verify::<sha2::Sha256>(prehash, &encoded, self.bits)
            }
        })
    }

    /// `s^e mod n`, for `s < n`: left-to-right square-and-multiply in Montgomery form.
    fn public_operation(&self, s: &[u32]) -> Vec<u32> {
        let base = self.mont_mul(s, &self.r2); // s·R
        let mut acc = base.clone();
        for bit in (0..63 - self.e.leading_zeros()).rev() {
            acc = self.mont_mul(&acc, &acc);
            if self.e >> bit & 1 == 1 {
                acc = self.mont_mul(&acc, &base);
            }
        }
        let mut one = vec![0; self.n.len()];
        one[0] = 1;
        self.mont_mul(&acc, &one) // out of Montgomery form
    }

    /// `R² mod n`: `2^(bits−1)` doubled modulo n up to `2·R mod n` (2 in Montgomery form),
    /// which raised to the power `32·limbs` in Montgomery form is `2^(32·limbs)·R = R²`.
    fn r_squared(&self) -> Vec<u32> {
        let limbs = self.n.len();
        let mut two = vec![0u32; limbs];
        two[(self.bits - 1) / 32] = 1 << ((self.bits - 1) % 32);
        for _ in 0..32 * limbs - self.bits + 2 {
            let carry = two.iter_mut().fold(0, |carry, limb| {
                let out = *limb >> 31;
                *limb = *limb << 1 | carry;
                out
            });
            if carry == 1 || !less(&two, &self.n) {
                subtract(&mut two, &self.n);
            }
        }
        let exponent = 32 * limbs;
        let mut acc = two.clone();
        for bit in (0..usize::BITS - 1 - exponent.leading_zeros()).rev() {
            acc = self.mont_mul(&acc, &acc);
            if exponent >> bit & 1 == 1 {
                acc = self.mont_mul(&acc, &two);
            }
        }
        acc
    }

    /// `a·b·R⁻¹ mod n` for `a, b < n` (finely integrated operand scanning): each row adds
    /// `a_i·b` and the multiple `m·n` that clears the low limb, in one pass that writes the sum
    /// shifted down one limb. The running value stays below 2n (a top bit beyond the limbs),
    /// so one subtraction at the end reduces it.
    fn mont_mul(&self, a: &[u32], b: &[u32]) -> Vec<u32> {
        let (n, limbs) = (&self.n, self.n.len());
        let (mut t, mut next, mut top) = (vec![0u32; limbs], vec![0u32; limbs], 0u32);
        let (b0, n0) = (u64::from(b[0]), u64::from(n[0]));
        for &x in a {
            let x = u64::from(x);
            let v = u64::from(t[0]) + x * b0;
            let m = u64::from((v as u32).wrapping_mul(self.n0inv)); // clears the low limb
            // Two carries: the a_i·b row's and the m·n row's.
            let (mut c1, mut c2) = (v >> 32, (u64::from(v as u32) + m * n0) >> 32);
            let rows = t[1..].iter().zip(&b[1..]).zip(&n[1..]);
            for (out, ((&tj, &bj), &nj)) in next.iter_mut().zip(rows) {
                let v = u64::from(tj) + x * u64::from(bj) + c1;
                c1 = v >> 32;
                let w = u64::from(v as u32) + m * u64::from(nj) + c2; // the low limb of v
                c2 = w >> 32;
                *out = w as u32; // the low limb; the rest carries
            }
            let v = u64::from(top) + c1 + c2;
            next[limbs - 1] = v as u32; // the low limb; the bit above is the top
            top = (v >> 32) as u32;
            core::mem::swap(&mut t, &mut next);
        }
        if top != 0 || !less(&t, n) {
            subtract(&mut t, n);
        }
        t
    }
}

/// A PKCS#1 `RSAPublicKey` (DER) wrapped as the SubjectPublicKeyInfo every other key is:
/// `SEQUENCE { rsaEncryption NULL, BIT STRING }`.
pub(crate) fn spki_of_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let mut bit_string = der::der_header(BIT_STRING, pkcs1.len() + 1);
    bit_string.push(0); // no unused bits
    bit_string.extend_from_slice(pkcs1);
    let mut spki = der::der_header(SEQUENCE, RSA_ALGORITHM.len() + bit_string.len());
    spki.extend_from_slice(RSA_ALGORITHM);
    spki.extend(bit_string);
    spki
}

/// The magnitude of a DER INTEGER that must be positive, in its shortest form.
fn positive_integer(content: &[u8]) -> Result<&[u8], &'static str> {
    match content {
        [] => Err("an INTEGER with content"),
        [first, ..] if *first >= 0x80 => Err("a positive INTEGER"),
        [0, next, ..] if *next < 0x80 => Err("an INTEGER in its shortest form"),
        [0, rest @ ..] => Ok(rest),
        _ => Ok(content),
    }
}

/// The DER INTEGER of the unsigned big-endian `magnitude`.
fn der_integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let digits = &magnitude[skip..];
    let pad = digits.first().is_none_or(|&top| top >= 0x80);
    let mut out = der::der_header(INTEGER, digits.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
    out
}

/// Little-endian limbs (`count` of them) of the big-endian bytes, which must fit.
fn limbs_from_be(bytes: &[u8], count: usize) -> Vec<u32> {
    let mut limbs = vec![0u32; count];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.rchunks(4)) {
        *limb = chunk
            .iter()
            .fold(0, |limb, &byte| limb << 8 | u32::from(byte));
    }
    limbs
}

/// The `length` big-endian bytes of the limbs' value (which must fit).
fn be_from_limbs(limbs: &[u32], length: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = limbs
        .iter()
        .rev()
        .flat_map(|limb| limb.to_be_bytes())
        .collect();
    bytes.drain(..bytes.len().saturating_sub(length));
    bytes
}

/// Whether `a < b`, both of the same number of limbs.
fn less(a: &[u32], b: &[u32]) -> bool {
    a.iter().rev().cmp(b.iter().rev()) == core::cmp::Ordering::Less
}

/// `a -= b` modulo 2^(32·limbs).
fn subtract(a: &mut [u32], b: &[u32]) {
    let mut borrow = false;
    for (a, &b) in a.iter_mut().zip(b) {
        let (d, b1) = a.overflowing_sub(b);
        let (d, b2) = d.overflowing_sub(u32::from(borrow));
        *a = d;
        borrow = b1 || b2;
    }
}

/// EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of the digest: `00 01 FF…FF 00`, the DigestInfo of the
/// hash (with NULL parameters), the digest; empty if the modulus is too short for it.
fn pkcs1v15_encoding(hash: HashAlgorithm, prehash: &[u8], length: usize) -> Vec<u8> {
    let prefix: &[u8] = match hash {
        HashAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        HashAlgorithm::Auto | HashAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
    };
    let digest_info = prefix.len() + prehash.len();
    let Some(padding) = length.checked_sub(digest_info + 3).filter(|&p| p >= 8) else {
        return Vec::new();
    };
    let mut encoded = vec![0x00, 0x01];
    encoded.resize(2 + padding, 0xff);
    encoded.push(0x00);
    encoded.extend_from_slice(prefix);
    encoded.extend_from_slice(prehash);
    encoded
}

/// MGF1 (RFC 8017 §B.2.1) with `D`: `length` bytes from `seed`.
fn mgf1<D: Digest>(seed: &[u8], length: usize) -> Vec<u8> {
    let mut mask = Vec::with_capacity(length + <D as Digest>::output_size());
    let mut counter = 0u32;
    while mask.len() < length {
        mask.extend_from_slice(
            &D::new()
                .chain_update(seed)
                .chain_update(counter.to_be_bytes())
                .finalize(),
        );
        counter += 1;
    }
    mask.truncate(length);
    mask
}

/// EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with `D` for the message hash and MGF1, the salt length
/// read from the encoding (as Go's `PSSSaltLengthAuto` and the `rsa` crate's auto mode do).
/// `encoded` is the signature raised to e, in the modulus' byte length; `bits` the modulus'.
fn pss_verify<D: Digest>(prehash: &[u8], encoded: &[u8], bits: usize) -> bool {
    let hash_length = <D as Digest>::output_size();
    let em_bits = bits - 1;
    let em_length = em_bits.div_ceil(8);
    // The encoding fills em_bits: a byte above it (when bits ≡ 1 mod 8) must be zero.
    let Some((high, em)) = encoded.split_at_checked(encoded.len() - em_length) else {
        return false;
    };
    if high.iter().any(|&b| b != 0)
        || prehash.len() != hash_length
        || em_length < hash_length + 2
        || em.last() != Some(&0xbc)
    {
        return false;
    }
    let (masked, rest) = em.split_at(em_length - hash_length - 1);
    let h = &rest[..hash_length];
    // The top 8·emLen − emBits bits of the masked block must be zero.
    let unused = 8 * em_length - em_bits;
    if unused > 0 && masked[0] >> (8 - unused) != 0 {
        return false;
    }
    let mut block = mgf1::<D>(h, masked.len());
    for (b, m) in block.iter_mut().zip(masked) {
        *b ^= m;
    }
    block[0] &= 0xff >> unused;
    // The block is zero padding, 0x01, then the salt.
    let Some(start) = block.iter().position(|&b| b != 0) else {
        return false;
    };
    if block[start] != 0x01 {
        return false;
    }
    let salt = &block[start + 1..];
    let expected = D::new()
        .chain_update([0u8; 8])
        .chain_update(prehash)
        .chain_update(salt)
        .finalize();
    expected.as_slice() == h
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::rsa::pkcs1::EncodeRsaPublicKey as _;
    use ::rsa::pkcs8::EncodePublicKey as _;
    use ::rsa::signature::hazmat::PrehashVerifier as _;
    use ::rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Signer as _};
    use ::rsa::traits::PublicKeyParts as _;
    use chacha20::rand_core::SeedableRng as _;

    /// Keys the `rsa` crate generates from a fixed seed: whole words, a size that is not (2056),
    /// a larger one, and one whose size is 1 mod 8 (2049: PSS's encoding is a byte shorter than
    /// the modulus).
    fn keys(rng: &mut chacha20::ChaCha8Rng) -> Vec<::rsa::PrivateKey> {
        [2048, 2056, 3072, 2049]
            .into_iter()
            .map(|bits| ::rsa::PrivateKey::new(rng, bits).unwrap())
            .collect()
    }

    fn ours(private: &::rsa::PrivateKey) -> RsaKey {
        let pkcs1 = private.to_public_key().to_pkcs1_der().unwrap();
        RsaKey::from_pkcs1_der(pkcs1.as_bytes()).unwrap()
    }

    /// Every verdict is also the `rsa` crate's, on signatures that verify and on the same ones
    /// under another digest, with a flipped byte, or under the other scheme.
    #[test]
    fn agrees_with_the_rsa_crate() {
        let mut rng = chacha20::ChaCha8Rng::seed_from_u64(7);
        for private in keys(&mut rng) {
            let public = private.to_public_key();
            let key = ours(&private);
            assert_eq!(key.bits(), public.n().bit_width() as usize);
            assert_eq!(
                key.to_spki_der(),
                public.to_public_key_der().unwrap().as_bytes(),
                "one canonical SubjectPublicKeyInfo"
            );
            let message = b"an image's simple-signing payload";
            macro_rules! case {
                ($digest:ty, $hash:expr) => {{
                    let prehash = <$digest>::digest(message);
                    let other = <$digest>::digest(b"another payload");
                    let pkcs1 = ::rsa::pkcs1v15::SigningKey::<$digest>::new(private.clone())
                        .sign(message)
                        .to_vec();
                    let mut signatures = vec![(RsaScheme::Pkcs1v15, pkcs1)];
                    for salt in [0, 20, <$digest as Digest>::output_size()] {
                        let pss = ::rsa::pss::SigningKey::<$digest>::new_with_salt_len(
                            private.clone(),
                            salt,
                        )
                        .sign_with_rng(&mut rng, message)
                        .to_vec();
                        signatures.push((RsaScheme::Pss, pss));
                    }
                    for (scheme, signature) in signatures {
                        assert_eq!(key.verify(scheme, $hash, &prehash, &signature), Some(true));
                        assert_eq!(key.verify(scheme, $hash, &other, &signature), Some(false));
                        let wrong_scheme = match scheme {
                            RsaScheme::Pkcs1v15 => RsaScheme::Pss,
                            RsaScheme::Pss => RsaScheme::Pkcs1v15,
                        };
                        assert_eq!(
                            key.verify(wrong_scheme, $hash, &prehash, &signature),
                            Some(false)
                        );
                        for at in [0, 1, signature.len() / 2, signature.len() - 1] {
                            let mut changed = signature.clone();
                            changed[at] ^= 0x40;
                            let reference = match scheme {
                                RsaScheme::Pkcs1v15 => {
                                    let s =
                                        ::rsa::pkcs1v15::Signature::try_from(&changed[..]).unwrap();
                                    ::rsa::pkcs1v15::VerifyingKey::<$digest>::new(public.clone())
                                        .verify_prehash(&prehash, &s)
                                        .is_ok()
                                }
                                RsaScheme::Pss => {
                                    let s = ::rsa::pss::Signature::try_from(&changed[..]).unwrap();
                                    ::rsa::pss::VerifyingKey::<$digest>::new_with_auto_salt_len(
                                        public.clone(),
                                    )
                                    .verify_prehash(&prehash, &s)
                                    .is_ok()
                                }
                            };
                            assert!(!reference);
                            assert_eq!(key.verify(scheme, $hash, &prehash, &changed), Some(false));
                        }
                    }
                }};
            }
            case!(sha2::Sha256, HashAlgorithm::Sha256);
            case!(sha2::Sha384, HashAlgorithm::Sha384);
            case!(sha2::Sha512, HashAlgorithm::Sha512);
        }
    }

    /// A signature of another length is not one; one at or above the modulus never verifies.
    #[test]
    fn signature_representatives_out_of_range() {
        let mut rng = chacha20::ChaCha8Rng::seed_from_u64(8);
        let private = ::rsa::PrivateKey::new(&mut rng, 2048).unwrap();
        let key = ours(&private);
        let prehash = sha2::Sha256::digest(b"x");
        let n = be_from_limbs(&key.n, 256);
        for scheme in [RsaScheme::Pkcs1v15, RsaScheme::Pss] {
            assert_eq!(
                key.verify(scheme, HashAlgorithm::Sha256, &prehash, &n[1..]),
                None
            );
            assert_eq!(
                key.verify(scheme, HashAlgorithm::Sha256, &prehash, &[0; 257]),
                None
            );
            assert_eq!(
                key.verify(scheme, HashAlgorithm::Sha256, &prehash, &n),
                Some(false)
            );
            assert_eq!(
                key.verify(scheme, HashAlgorithm::Sha256, &prehash, &[0xff; 256]),
                Some(false)
            );
            assert_eq!(
                key.verify(scheme, HashAlgorithm::Sha256, &prehash, &[0; 256]),
                Some(false)
            );
        }
    }

    /// Strict DER, and the exponents and moduli a verifier should never take.
    #[test]
    fn refuses_malformed_and_unsound_keys() {
        let mut rng = chacha20::ChaCha8Rng::seed_from_u64(9);
        let private = ::rsa::PrivateKey::new(&mut rng, 2048).unwrap();
        let good = private
            .to_public_key()
            .to_pkcs1_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        assert!(RsaKey::from_pkcs1_der(&good).is_ok());
        let n = private.to_public_key().n().to_be_bytes().to_vec();
        let encode = |n: &[u8], e: &[u8]| {
            let mut integers = der::der_header(INTEGER, n.len());
            integers.extend_from_slice(n);
            integers.extend(der::der_header(INTEGER, e.len()));
            integers.extend_from_slice(e);
            let mut out = der::der_header(SEQUENCE, integers.len());
            out.extend(integers);
            out
        };
        let mut padded = vec![0u8];
        padded.extend_from_slice(&n);
        assert!(RsaKey::from_pkcs1_der(&encode(&padded, &[1, 0, 1])).is_ok());
        let mut even = padded.clone();
        *even.last_mut().unwrap() &= 0xfe;
        let mut two_zeros = vec![0u8, 0];
        two_zeros.extend_from_slice(&n);
        let mut trailing = good.clone();
        trailing.push(0);
        // The size is refused before any arithmetic: 1024 bits, and 64 Kibit (which would take
        // seconds to set up).
        let mut small = vec![0u8, 0xc1];
        small.extend([0x55; 126]);
        small.push(0x01);
        assert_eq!(
            RsaKey::from_pkcs1_der(&encode(&small, &[1, 0, 1])).unwrap_err(),
            RsaKeyError::Size(1024)
        );
        let mut huge = vec![0u8];
        huge.extend([0xff; 8192]);
        assert_eq!(
            RsaKey::from_pkcs1_der(&encode(&huge, &[1, 0, 1])).unwrap_err(),
            RsaKeyError::Size(65536)
        );
        for (bad, why) in [
            (encode(&n, &[1, 0, 1]), "negative modulus (no leading zero)"),
            (encode(&two_zeros, &[1, 0, 1]), "non-minimal modulus"),
            (encode(&even, &[1, 0, 1]), "even modulus"),
            (encode(&padded, &[0, 1, 0, 1]), "non-minimal exponent"),
            (encode(&padded, &[1]), "exponent 1"),
            (encode(&padded, &[2]), "even exponent"),
            (encode(&padded, &[4, 0, 0, 0, 1]), "exponent above 2^33 - 1"),
            (encode(&padded, &[]), "empty exponent"),
            (encode(&[0x03], &[3]), "a tiny modulus"),
            (trailing, "data after the key"),
        ] {
            assert!(RsaKey::from_pkcs1_der(&bad).is_err(), "{why}");
        }
    }
}
