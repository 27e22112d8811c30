//! The base fields of P-256, P-384 and P-521 for ocisig's ECDSA point arithmetic
//! (`ecdsa_tables`), written for wasm32, where a 64-bit product of two 32-bit values is one
//! `i64.mul`:
//! - P-256 and P-384: 32-bit words, schoolbook products, and a reduction by the modulus'
//!   special form: a product's high words fold into its low ones with small signed multiples,
//!   as `2^256` and `2^384` are congruent to short sums of powers of two.
//! - P-521 (`2^521 − 1`): 18 unsaturated limbs of 29 bits, whose products add up in 64-bit
//!   columns with no carry until the end; `2^522 ≡ 2` folds the high columns back.
//!
//! The curve crates' fields (Montgomery arithmetic over 32-bit limbs on wasm32, fiat-crypto's
//! for P-521) stay the reference: the tests compare every operation with them, and the point
//! arithmetic's tests and fuzz target compare whole verifications.
//!
//! Every value is public (keys, digests, signatures), so the code branches on data.
//!
//! A crate of its own so that the shipped modules build it at opt-level 3 while ocisig's own
//! code is built for size: at the size level, these loops cost 2.5 times the instructions.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod p256;
mod p384;
mod p521;
mod words;

pub use crate::p256::Fe256;
pub use crate::p384::Fe384;
pub use crate::p521::Fe521;

/// `invert`, by the curve crate through the bytes (one inversion per verification, off the
/// hot path); `None` for 0. Every field here has it.
macro_rules! invert_by_curve_crate {
    ($curve:ident, $Curve:ident) => {
        /// The inverse, by the curve crate (one per verification, off the hot path);
        /// `None` for 0.
        pub fn invert(&self) -> Option<Self> {
            use ::$curve::elliptic_curve::ff::PrimeField as _;
            type Reference = <::$curve::$Curve as ::$curve::elliptic_curve::hazmat::FieldArithmetic>::FieldElement;
            let repr = ::$curve::FieldBytes::from(self.to_be_bytes());
            let element = Option::<Reference>::from(Reference::from_repr(repr))?;
            let inverse = Option::<Reference>::from(element.invert())?;
            Self::from_be_bytes(&inverse.to_repr())
        }
    };
}

pub(crate) use invert_by_curve_crate;

/// The field operations both types have, written once.
macro_rules! field_element {
    ($name:ident, $words:expr, $modulus:expr, $reduce:path, $curve:ident, $Curve:ident) => {
        /// An element of the field, always fully reduced (below p).
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name(pub(crate) [u32; $words]);

        impl $name {
            /// 0.
            pub const ZERO: Self = Self([0; $words]);
            /// 1.
            pub const ONE: Self = {
                let mut one = [0; $words];
                one[0] = 1;
                Self(one)
            };

            /// From big-endian bytes of the field's length, below p.
            pub fn from_be_bytes(bytes: &[u8]) -> Option<Self> {
                if bytes.len() != 4 * $words {
                    return None;
                }
                let mut words = [0u32; $words];
                for (word, chunk) in words.iter_mut().zip(bytes.rchunks_exact(4)) {
                    *word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
                (!crate::words::at_least(&words, &$modulus)).then_some(Self(words))
            }

            /// The big-endian bytes.
            pub fn to_be_bytes(self) -> [u8; 4 * $words] {
                let mut bytes = [0u8; 4 * $words];
                for (chunk, word) in bytes.rchunks_exact_mut(4).zip(self.0) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
                bytes
            }

            /// Whether this is 0.
            pub fn is_zero(&self) -> bool {
                self.0 == [0; $words]
            }

            /// The square.
            pub fn square(&self) -> Self {
                *self * *self
            }

            /// Twice the element.
            pub fn double(&self) -> Self {
                *self + *self
            }

            crate::invert_by_curve_crate!($curve, $Curve);
        }

        impl core::ops::Add for $name {
            type Output = Self;
            fn add(self, other: Self) -> Self {
                let (sum, carry) = crate::words::add(&self.0, &other.0);
                if carry || crate::words::at_least(&sum, &$modulus) {
                    Self(crate::words::sub(&sum, &$modulus).0)
                } else {
                    Self(sum)
                }
            }
        }

        impl core::ops::Sub for $name {
            type Output = Self;
            fn sub(self, other: Self) -> Self {
                let (difference, borrow) = crate::words::sub(&self.0, &other.0);
                if borrow {
                    Self(crate::words::add(&difference, &$modulus).0)
                } else {
                    Self(difference)
                }
            }
        }

        impl core::ops::Neg for $name {
            type Output = Self;
            fn neg(self) -> Self {
                Self::ZERO - self
            }
        }

        impl core::ops::Mul for $name {
            type Output = Self;
            fn mul(self, other: Self) -> Self {
                let mut t = [0u32; 2 * $words];
                crate::words::mul(&self.0, &other.0, &mut t);
                Self($reduce(&t))
            }
        }

        impl core::ops::MulAssign for $name {
            fn mul_assign(&mut self, other: Self) {
                *self = *self * other;
            }
        }
    };
}

pub(crate) use field_element;

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    /// A differential test of every operation against the curve crate's field, over elements
    /// at the edges (0, 1, 2, p − 1, p − 2, 2^32 ± 1) and hashed ones (some with runs of
    /// all-one or zero words).
    macro_rules! agrees_with_the_curve_crate {
        ($test:ident, $ours:ty, $curve:ident, $Curve:ident, $bytes:expr, $top_mask:expr) => {
            #[test]
            fn $test() {
                use ::$curve::elliptic_curve::ff::PrimeField as _;
                type Reference = <::$curve::$Curve as ::$curve::elliptic_curve::hazmat::FieldArithmetic>::FieldElement;
                let array = |element: Reference| element.to_repr().to_vec();
                let mut inputs: Vec<Vec<u8>> = Vec::new();
                for k in [1u64, 2] {
                    inputs.push(array(-Reference::from(k)));
                }
                for k in [0u64, 1, 2, 0xffff_ffff, 1 << 32, (1 << 32) + 1] {
                    inputs.push(array(Reference::from(k)));
                }
                for seed in 0u8..40 {
                    let mut b = sha2::Sha512::digest([seed, 1]).to_vec();
                    b.extend(sha2::Sha512::digest([seed, 2]));
                    b.truncate($bytes);
                    if seed % 5 == 0 {
                        b[..8].fill(0xff);
                    }
                    if seed % 7 == 0 {
                        b[12..20].fill(0);
                    }
                    b[0] &= $top_mask;
                    inputs.push(b);
                }
                let samples: Vec<($ours, Reference)> = inputs
                    .iter()
                    .filter_map(|b| {
                        let repr = ::$curve::FieldBytes::try_from(b.as_slice()).ok()?;
                        let reference = Option::from(Reference::from_repr(repr))?;
                        Some((<$ours>::from_be_bytes(b).unwrap(), reference))
                    })
                    .collect();
                assert!(samples.len() >= 36);
                let same = |ours: $ours, theirs: Reference| {
                    assert_eq!(ours.to_be_bytes().as_slice(), theirs.to_repr().as_slice());
                };
                for &(a, ra) in &samples {
                    same(-a, -ra);
                    same(a.square(), ra.square());
                    same(a.double(), ra.double());
                    match (a.invert(), Option::<Reference>::from(ra.invert())) {
                        (Some(ours), Some(theirs)) => same(ours, theirs),
                        (None, None) => assert!(a.is_zero()),
                        _ => panic!("the inverses disagree on existence"),
                    }
                    for &(b, rb) in &samples {
                        same(a + b, ra + rb);
                        same(a - b, ra - rb);
                        same(a * b, ra * rb);
                    }
                }
                // The modulus and anything above it are refused; p − 1 is read back as is.
                let p_minus_one = array(-Reference::ONE);
                let mut p = p_minus_one.clone();
                *p.last_mut().unwrap() += 1;
                assert!(<$ours>::from_be_bytes(&p).is_none());
                assert!(<$ours>::from_be_bytes(&[0xff; $bytes]).is_none());
                assert!(<$ours>::from_be_bytes(&p[1..]).is_none());
                assert_eq!(
                    <$ours>::from_be_bytes(&p_minus_one).unwrap().to_be_bytes().as_slice(),
                    p_minus_one.as_slice()
                );
            }
        };
    }

    agrees_with_the_curve_crate!(
        p256_agrees_with_the_curve_crate,
        Fe256,
        p256,
        NistP256,
        32,
        0xff
    );
    agrees_with_the_curve_crate!(
        p384_agrees_with_the_curve_crate,
        Fe384,
        p384,
        NistP384,
        48,
        0xff
    );
    // P-521's 66 bytes hold 521 bits: the top byte's high seven bits are zero.
    agrees_with_the_curve_crate!(
        p521_agrees_with_the_curve_crate,
        Fe521,
        p521,
        NistP521,
        66,
        0x01
    );

    /// P-521's limbs are unsaturated: results feed the next operation unreduced, with limb 1
    /// up to its loose bound. Long chains of every operation, from values whose limbs are all
    /// at their maximum (p − 1, p − 2, 2^520 + 2^519 …), check that no bound is exceeded
    /// along the way.
    #[test]
    fn p521_chains_agree_with_the_curve_crate() {
        use ::p521::elliptic_curve::ff::PrimeField as _;
        type Reference =
            <::p521::NistP521 as ::p521::elliptic_curve::hazmat::FieldArithmetic>::FieldElement;
        let reference = |e: Fe521| {
            Option::<Reference>::from(Reference::from_repr(e.to_be_bytes().into())).unwrap()
        };
        let mut high = [0xffu8; 66];
        high[0] = 0x01;
        high[65] = 0xfd; // p − 2
        let mut top = [0u8; 66];
        top[0] = 0x01;
        top[1] = 0x80; // 2^520 + 2^519
        let starts = [high, top, [0u8; 66]].map(|b| Fe521::from_be_bytes(&b).unwrap());
        for (n, &start) in starts.iter().enumerate() {
            let (mut x, mut y) = (start, -Fe521::ONE - start);
            let (mut rx, mut ry) = (reference(x), reference(y));
            for step in 0..300 {
                (x, y, rx, ry) = match (step + n) % 5 {
                    0 => (x * y, x, rx * ry, rx),
                    1 => (x.square(), y - x, rx.square(), ry - rx),
                    2 => (x + y, y.double(), rx + ry, ry.double()),
                    3 => (-x, x * x * y, -rx, rx * rx * ry),
                    _ => (x - y, y.square() + x, rx - ry, ry.square() + rx),
                };
                assert_eq!(
                    x.to_be_bytes().as_slice(),
                    rx.to_repr().as_slice(),
                    "step {step}"
                );
                assert_eq!(
                    y.to_be_bytes().as_slice(),
                    ry.to_repr().as_slice(),
                    "step {step}"
                );
                assert_eq!(x == y, rx == ry);
            }
        }
    }
}
