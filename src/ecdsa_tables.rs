//! ECDSA verification over the NIST curves with precomputed tables for the generator and for
//! each trusted key.
//!
//! Verification computes `u1·G + u2·Q`. The curve crates do that with one interleaved
//! double-and-add chain of ~`bits` doublings. Keys are fixed per policy and `G` never changes,
//! so we precompute, for each, the multiples `1..8` of `256^i · P`; a product is then one
//! table lookup and addition per radix-16 digit plus four doublings, roughly a third of the
//! point operations. A table costs about as much as two verifications to build, so a key gets
//! one only on its second use: a host that verifies once per fresh instance pays nothing.
//!
//! **No table outlives the key that owns it.** The generator's table is built beside the key's
//! and dropped with it; there is no process-wide (static) table. A static would be built in
//! whatever memory the allocator hands out, and the OPA module's allocator is a bump heap that
//! its host resets before every evaluation: a static table would then point into memory the
//! next input overwrites (issue #14). Tied to the key, a table lives exactly as long as the
//! parsed policy, which every host either keeps whole or drops whole.
//!
//! Every input here is public (key, digest, signature), so variable time is fine.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use elliptic_curve::Field as _;
use elliptic_curve::array::typenum::Unsigned as _;
use elliptic_curve::bigint::{BitOps as _, Encoding as _};
use elliptic_curve::ff::PrimeField as _;
use elliptic_curve::group::Group as _;
use elliptic_curve::ops::{Invert as _, Reduce};
use elliptic_curve::point::AffineCoordinates as _;
use elliptic_curve::{Curve, FieldBytesSize, NonZeroScalar, Scalar};
use primeorder::{PrimeCurveParams, ProjectivePoint, Radix16Decomposition, Radix16Digits};

/// A field element of curve `C`.
type Fe<C> = <C as elliptic_curve::hazmat::FieldArithmetic>::FieldElement;

/// A point in Jacobian coordinates: `(X/Z², Y/Z³)`, the identity when `Z = 0`. The formulas
/// below are the classic incomplete ones for `a = -3` (every NIST curve), with their
/// exceptional cases (an operand at infinity, equal or opposite operands) handled by explicit
/// checks: fine here, since every input is public, and 30% cheaper in field multiplications
/// than the complete projective formulas the curve crates use.
#[derive(Clone, Copy)]
struct Jacobian<C: PrimeCurveParams> {
    x: Fe<C>,
    y: Fe<C>,
    z: Fe<C>,
}

impl<C: PrimeCurveParams> Jacobian<C> {
    fn identity() -> Self {
        Self {
            x: Fe::<C>::ONE,
            y: Fe::<C>::ONE,
            z: Fe::<C>::ZERO,
        }
    }

    fn is_identity(&self) -> bool {
        bool::from(self.z.is_zero())
    }

    fn from_affine(point: &(Fe<C>, Fe<C>)) -> Self {
        Self {
            x: point.0,
            y: point.1,
            z: Fe::<C>::ONE,
        }
    }

    /// `2·P` (dbl-2001-b: 3M + 5S).
    fn double(&self) -> Self {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x * gamma;
        let t = (self.x - delta) * (self.x + delta);
        let alpha = t.double() + t;
        let beta4 = beta.double().double();
        let x3 = alpha.square() - beta4.double();
        let z3 = (self.y + self.z).square() - gamma - delta;
        let gamma2 = gamma.square();
        let y3 = alpha * (beta4 - x3) - gamma2.double().double().double();
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `P + (x, y)` for an affine point (madd-2007-bl: 7M + 4S).
    fn add_affine(&self, point: &(Fe<C>, Fe<C>)) -> Self {
        if self.is_identity() {
            return Self::from_affine(point);
        }
        let z1z1 = self.z.square();
        let u2 = point.0 * z1z1;
        let s2 = point.1 * self.z * z1z1;
        let h = u2 - self.x;
        let r = (s2 - self.y).double();
        if bool::from(h.is_zero()) {
            return if bool::from(r.is_zero()) {
                Self::from_affine(point).double()
            } else {
                Self::identity()
            };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h * i;
        let v = self.x * i;
        let x3 = r.square() - j - v.double();
        let y3 = r * (v - x3) - (self.y * j).double();
        let z3 = (self.z + h).square() - z1z1 - hh;
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `P + Q` (add-2007-bl: 11M + 5S).
    fn add(&self, other: &Self) -> Self {
        if self.is_identity() {
            return *other;
        }
        if other.is_identity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = other.z.square();
        let u1 = self.x * z2z2;
        let u2 = other.x * z1z1;
        let s1 = self.y * other.z * z2z2;
        let s2 = other.y * self.z * z1z1;
        let h = u2 - u1;
        let r = (s2 - s1).double();
        if bool::from(h.is_zero()) {
            return if bool::from(r.is_zero()) {
                self.double()
            } else {
                Self::identity()
            };
        }
        let i = h.double().square();
        let j = h * i;
        let v = u1 * i;
        let x3 = r.square() - j - v.double();
        let y3 = r * (v - x3) - (s1 * j).double();
        let z3 = ((self.z + other.z).square() - z1z1 - z2z2) * h;
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }
}

/// Multiples `[1..8]·256^i·P` for every byte position `i` of a scalar (and one carry
/// position), in affine coordinates.
pub(crate) struct FixedBaseTable<C: PrimeCurveParams> {
    windows: Vec<[(Fe<C>, Fe<C>); 8]>,
}

impl<C: PrimeCurveParams> FixedBaseTable<C> {
    /// The table for `point`, or `None` for a curve whose `a` is not -3 or a point whose
    /// multiples reach the identity (neither happens for a valid key on a NIST curve).
    pub(crate) fn new(point: ProjectivePoint<C>) -> Option<Self> {
        if C::EQUATION_A != -Fe::<C>::from(3u64) {
            return None;
        }
        let count = FieldBytesSize::<C>::USIZE + 1;
        let mut base = point;
        let mut multiples = Vec::with_capacity(count * 8);
        for _ in 0..count {
            let mut multiple = base;
            for _ in 0..8 {
                multiples.push(multiple);
                multiple += &base;
            }
            for _ in 0..8 {
                base = base.double();
            }
        }
        // One field inversion for all of them.
        let mut affine = vec![primeorder::AffinePoint::<C>::IDENTITY; multiples.len()];
        <ProjectivePoint<C> as elliptic_curve::group::Curve>::batch_normalize(
            &multiples,
            &mut affine,
        );
        let mut windows = Vec::with_capacity(count);
        for chunk in affine.chunks_exact(8) {
            let mut window = [(Fe::<C>::ZERO, Fe::<C>::ZERO); 8];
            for (slot, point) in window.iter_mut().zip(chunk) {
                if bool::from(point.is_identity()) {
                    return None;
                }
                let x = Option::from(Fe::<C>::from_repr(point.x()))?;
                let y = Option::from(Fe::<C>::from_repr(point.y()))?;
                *slot = (x, y);
            }
            windows.push(window);
        }
        Some(Self { windows })
    }

    /// Adds `k·P` into the two accumulators: `even` takes the digits that weigh `256^i`, `odd`
    /// those that weigh `16·256^i` (to be multiplied by 16 once, at the end). Variable time.
    fn accumulate(&self, k: &Scalar<C>, even: &mut Jacobian<C>, odd: &mut Jacobian<C>) {
        let digits = Radix16Decomposition::<Radix16Digits<C>>::new(k);
        let bytes = FieldBytesSize::<C>::USIZE;
        let signed = |window: &[(Fe<C>, Fe<C>); 8], digit: i8| {
            let (x, y) = window[usize::from(digit.unsigned_abs()) - 1];
            if digit < 0 { (x, -y) } else { (x, y) }
        };
        for (i, window) in self.windows.iter().enumerate() {
            let low = digits[2 * i];
            if low != 0 {
                *even = even.add_affine(&signed(window, low));
            }
            if i < bytes {
                let high = digits[2 * i + 1];
                if high != 0 {
                    *odd = odd.add_affine(&signed(window, high));
                }
            }
        }
    }
}

/// The tables one key verifies with: its own and the generator's.
pub(crate) struct Tables<C: PrimeCurveParams> {
    generator: FixedBaseTable<C>,
    key: FixedBaseTable<C>,
}

impl<C: PrimeCurveParams> Tables<C> {
    /// `u1·G + u2·Q`: both scalars' digits go into one pair of accumulators.
    fn mul_add(&self, u1: &Scalar<C>, u2: &Scalar<C>) -> Jacobian<C> {
        let (mut even, mut odd) = (Jacobian::<C>::identity(), Jacobian::<C>::identity());
        self.generator.accumulate(u1, &mut even, &mut odd);
        self.key.accumulate(u2, &mut even, &mut odd);
        for _ in 0..4 {
            odd = odd.double();
        }
        even.add(&odd)
    }
}

/// A key's tables, built on the key's second verification and owned by the key.
pub(crate) struct KeyTable<C: PrimeCurveParams> {
    uses: AtomicU32,
    table: OnceLock<Option<Arc<Tables<C>>>>,
}

impl<C: PrimeCurveParams> KeyTable<C> {
    pub(crate) fn new() -> Self {
        Self {
            uses: AtomicU32::new(0),
            table: OnceLock::new(),
        }
    }

    /// The tables for `key`, or `None` on its first use (or for a curve they do not serve).
    fn get(&self, key: &ProjectivePoint<C>) -> Option<&Tables<C>> {
        if let Some(table) = self.table.get() {
            return table.as_deref();
        }
        if self.uses.fetch_add(1, Ordering::Relaxed) == 0 {
            return None;
        }
        self.table
            .get_or_init(|| {
                Some(Arc::new(Tables {
                    generator: FixedBaseTable::new(ProjectivePoint::<C>::GENERATOR)?,
                    key: FixedBaseTable::new(*key)?,
                }))
            })
            .as_deref()
    }
}

impl<C: PrimeCurveParams> Clone for KeyTable<C> {
    fn clone(&self) -> Self {
        Self {
            uses: AtomicU32::new(self.uses.load(Ordering::Relaxed)),
            table: self.table.clone(),
        }
    }
}

impl<C: PrimeCurveParams> core::fmt::Debug for KeyTable<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyTable")
            .field("built", &self.table.get().is_some_and(Option::is_some))
            .finish()
    }
}

/// ECDSA verification of `(r, s)` over the digest `prehash` under `key`, with tables; `None`
/// when the key has no table yet and the caller should use the curve crate's verifier.
pub(crate) fn verify_prehash<C: PrimeCurveParams>(
    key: &ProjectivePoint<C>,
    table: &KeyTable<C>,
    prehash: &[u8],
    r: &NonZeroScalar<C>,
    s: &NonZeroScalar<C>,
) -> Option<bool> {
    let tables = table.get(key)?;
    let z = digest_scalar::<C>(prehash);
    let s_inv = *s.invert_vartime();
    let u1 = z * s_inv;
    let u2 = **r * s_inv;
    Some(x_matches(&tables.mul_add(&u1, &u2), r))
}

/// Whether the affine x of `point`, reduced modulo the order, is `r`, without the field
/// inversion: `x = X/Z²` is `r` or `r + n` (when that is below p), so compare `X` with
/// `r·Z²` and `(r + n)·Z²`. The identity never matches.
fn x_matches<C: PrimeCurveParams>(point: &Jacobian<C>, r: &NonZeroScalar<C>) -> bool {
    if point.is_identity() {
        return false;
    }
    let z2 = point.z.square();
    // r < n < p, so r is a field element as it is.
    let r_repr = r.to_repr();
    let Some(r_field) = Option::<Fe<C>>::from(Fe::<C>::from_repr(r_repr)) else {
        return false;
    };
    if point.x == r_field * z2 {
        return true;
    }
    // n < p on every NIST curve, so r + n mod p is the integer r + n exactly when that sum is
    // below p, and it is then above r; when r + n >= p the modular sum, r + n - p, is below r.
    // Big-endian bytes of one length compare as the integers do.
    let Some(n_minus_one) =
        Option::<Fe<C>>::from(Fe::<C>::from_repr((-Scalar::<C>::ONE).to_repr()))
    else {
        return false;
    };
    let r_plus_n = r_field + n_minus_one + Fe::<C>::ONE;
    r_plus_n.to_repr().as_slice() > r_repr.as_slice() && point.x == r_plus_n * z2
}

/// Big-endian bytes as a scalar the way ECDSA reads a digest: the leftmost bits of the
/// order's length, reduced modulo the order.
fn digest_scalar<C: PrimeCurveParams>(bytes: &[u8]) -> Scalar<C> {
    let order_bits = C::ORDER.bit_width();
    let order_bytes = usize::try_from(order_bits.div_ceil(8)).unwrap_or(usize::MAX);
    let bytes = &bytes[..bytes.len().min(order_bytes)];
    <Scalar<C> as Reduce<<C as Curve>::Uint>>::reduce(&<C as Curve>::Uint::from_be_slice_truncated(
        bytes, order_bits,
    ))
}

/// For the fuzz target (`ocisig::fuzzing::ecdsa_tables`): `u1·G + u2·Q` through the tables
/// against the curve crate's arithmetic, and the `x mod n = r` test against the affine x,
/// with the scalars and key from `data` and, as `choice` says, arranged so that the sums meet
/// equal or opposite points. Panics when they disagree.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_agrees<C: PrimeCurveParams>(choice: u8, data: &[u8]) {
    let width = FieldBytesSize::<C>::USIZE;
    let chunk = |i: usize| data.get(i * width..(i + 1) * width).unwrap_or(&[]);
    let (u1, mut u2, secret) = (
        digest_scalar::<C>(chunk(0)),
        digest_scalar::<C>(chunk(1)),
        digest_scalar::<C>(chunk(2)),
    );
    let generator = ProjectivePoint::<C>::GENERATOR;
    let mut key = generator * secret;
    match (choice / 3) % 4 {
        1 => (key, u2) = (generator, u1),
        2 => (key, u2) = (generator, -u1),
        3 => u2 = Scalar::<C>::ZERO,
        _ => {}
    }
    if bool::from(key.is_identity()) {
        key = generator;
    }
    let (Some(g), Some(q)) = (FixedBaseTable::new(generator), FixedBaseTable::new(key)) else {
        unreachable!("every NIST curve has a = -3");
    };
    let tables = Tables {
        generator: g,
        key: q,
    };
    let fast = tables.mul_add(&u1, &u2);
    let reference = generator * u1 + key * u2;
    if bool::from(reference.is_identity()) {
        assert!(fast.is_identity(), "the identity was missed");
        return;
    }
    assert!(!fast.is_identity(), "a point became the identity");
    let affine = reference.to_affine();
    let z_inv =
        Option::<Fe<C>>::from(elliptic_curve::Field::invert(&fast.z)).unwrap_or(Fe::<C>::ZERO);
    let z_inv2 = z_inv.square();
    assert!((fast.x * z_inv2).to_repr() == affine.x(), "x differs");
    assert!(
        (fast.y * z_inv2 * z_inv).to_repr() == affine.y(),
        "y differs"
    );
    let r = digest_scalar::<C>(&affine.x());
    if let Some(r) = Option::<NonZeroScalar<C>>::from(NonZeroScalar::new(r)) {
        assert!(x_matches(&fast, &r), "the true r was refused");
        if let Some(other) =
            Option::<NonZeroScalar<C>>::from(NonZeroScalar::new(*r + Scalar::<C>::ONE))
        {
            assert!(!x_matches(&fast, &other), "another r was accepted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    /// The table path against the curve crate's verifier, over signatures that verify and ones
    /// that do not (another digest, another key, a changed s).
    macro_rules! agrees_with_the_curve_crate {
        ($name:ident, $curve:ident, $hash:ty) => {
            #[test]
            fn $name() {
                use $curve::ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
                use $curve::ecdsa::{Signature, SigningKey};
                for round in 0u8..24 {
                    // 32-byte secrets, left-padded for the larger curves.
                    let signer = SigningKey::from_slice(&sha2::Sha256::digest([round, 1])).unwrap();
                    let other = SigningKey::from_slice(&sha2::Sha256::digest([round, 2])).unwrap();
                    let digest = <$hash>::digest([round, 3]);
                    let signature: Signature = signer.sign_prehash(&digest).unwrap();
                    let (r, s) = signature.split_scalars();
                    let key = signer.verifying_key().as_affine().into();
                    let table = KeyTable::new();
                    let _ = table.get(&key); // the first use builds nothing
                    let wrong_digest = <$hash>::digest([round, 4]);
                    let other_key = other.verifying_key().as_affine().into();
                    let other_table = KeyTable::new();
                    let _ = other_table.get(&other_key);
                    let s_plus_one = NonZeroScalar::new(*s + $curve::Scalar::ONE).unwrap();
                    let cases = [
                        (&key, &table, &digest[..], &s, true),
                        (&key, &table, &wrong_digest[..], &s, false),
                        (&other_key, &other_table, &digest[..], &s, false),
                        (&key, &table, &digest[..], &s_plus_one, false),
                    ];
                    for (key, table, digest, s, expected) in cases {
                        let fast = verify_prehash(key, table, digest, &r, s).unwrap();
                        assert_eq!(fast, expected, "round {round}");
                        let (r_scalar, s_scalar): ($curve::Scalar, $curve::Scalar) = (*r, **s);
                        let signature =
                            Signature::from_scalars(r_scalar.to_repr(), s_scalar.to_repr())
                                .unwrap();
                        let reference = $curve::ecdsa::VerifyingKey::from_affine(key.to_affine())
                            .unwrap()
                            .verify_prehash(digest, &signature)
                            .is_ok();
                        assert_eq!(fast, reference, "round {round}");
                    }
                }
            }
        };
    }

    /// `u1·G + u2·Q` through the tables and the Jacobian formulas, against the curve crate's
    /// projective arithmetic, on the cases that take the formulas' exceptional branches: sums
    /// that meet an equal point (a doubling), an opposite one (the identity), zero scalars, and
    /// the edges of the scalar range.
    macro_rules! mul_add_agrees {
        ($name:ident, $curve:ident, $Curve:ident) => {
            #[test]
            fn $name() {
                use $curve::{ProjectivePoint as P, Scalar as S};
                let generator = P::GENERATOR;
                let scalar = |seed: u8| {
                    <S as Reduce<<$curve::$Curve as Curve>::Uint>>::reduce(
                        &<$curve::$Curve as Curve>::Uint::from_be_slice_truncated(
                            &sha2::Sha512::digest([seed; 3]),
                            <$curve::$Curve as Curve>::ORDER.bit_width(),
                        ),
                    )
                };
                let minus_one = -S::ONE;
                let (a, b) = (scalar(1), scalar(2));
                let keys = [generator, generator.double(), generator * scalar(7)];
                let cases = [
                    (a, b),
                    (a, a),
                    (a, -a),
                    (S::ZERO, b),
                    (a, S::ZERO),
                    (S::ZERO, S::ZERO),
                    (S::ONE, minus_one),
                    (minus_one, minus_one),
                    (S::ONE, S::ONE),
                    (a.double(), -a),
                ];
                for key in keys {
                    let tables = Tables {
                        generator: FixedBaseTable::new(generator).unwrap(),
                        key: FixedBaseTable::new(key).unwrap(),
                    };
                    for (u1, u2) in cases {
                        let fast = tables.mul_add(&u1, &u2);
                        let reference = generator * u1 + key * u2;
                        if bool::from(reference.is_identity()) {
                            assert!(fast.is_identity());
                            continue;
                        }
                        assert!(!fast.is_identity());
                        let z_inv = fast.z.invert().unwrap();
                        let z_inv2 = z_inv.square();
                        let affine = reference.to_affine();
                        assert_eq!((fast.x * z_inv2).to_repr(), affine.x());
                        assert_eq!((fast.y * z_inv2 * z_inv).to_repr(), affine.y());
                    }
                }
            }
        };
    }

    /// `x_matches` takes `r + n` only when it is below p: both branches, on coordinates made
    /// for the purpose (no point found by search has x between n and p).
    macro_rules! x_matches_the_wrapped_x_only_below_p {
        ($name:ident, $curve:ident, $Curve:ident) => {
            #[test]
            fn $name() {
                type F = Fe<$curve::$Curve>;
                let n_minus_one = F::from_repr((-$curve::Scalar::ONE).to_repr()).unwrap();
                let n = n_minus_one + F::ONE;
                let five = NonZeroScalar::new($curve::Scalar::from(5u64)).unwrap();
                let z = F::from(3u64);
                let at = |x: F| Jacobian::<$curve::$Curve> {
                    x: x * z.square(),
                    y: F::ONE,
                    z,
                };
                assert!(x_matches(&at(F::from(5u64)), &five));
                assert!(x_matches(&at(F::from(5u64) + n), &five), "5 + n < p");
                assert!(!x_matches(&at(F::from(6u64)), &five));
                let last = NonZeroScalar::new(-$curve::Scalar::ONE).unwrap();
                assert!(x_matches(&at(n_minus_one), &last));
                // (n - 1) + n wraps past p: that x is 2n - 1 - p, which is not n - 1 mod n.
                assert!(!x_matches(&at(n_minus_one + n), &last));
                assert!(!x_matches(&Jacobian::identity(), &last));
            }
        };
    }

    mul_add_agrees!(p256_mul_add_agrees, p256, NistP256);
    mul_add_agrees!(p384_mul_add_agrees, p384, NistP384);
    mul_add_agrees!(p521_mul_add_agrees, p521, NistP521);
    x_matches_the_wrapped_x_only_below_p!(p256_x_matches, p256, NistP256);
    x_matches_the_wrapped_x_only_below_p!(p384_x_matches, p384, NistP384);
    x_matches_the_wrapped_x_only_below_p!(p521_x_matches, p521, NistP521);

    agrees_with_the_curve_crate!(p256_tables_agree, p256, sha2::Sha256);
    agrees_with_the_curve_crate!(p384_tables_agree, p384, sha2::Sha384);
    agrees_with_the_curve_crate!(p521_tables_agree, p521, sha2::Sha512);
}
