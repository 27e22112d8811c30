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

use elliptic_curve::array::typenum::Unsigned as _;
use elliptic_curve::bigint::{BitOps as _, Encoding as _};
use elliptic_curve::group::Group as _;
use elliptic_curve::ops::{Invert as _, Reduce};
use elliptic_curve::point::AffineCoordinates as _;
use elliptic_curve::{Curve, FieldBytesSize, NonZeroScalar, Scalar};
use primeorder::{
    LookupTable, PrimeCurveParams, ProjectivePoint, Radix16Decomposition, Radix16Digits,
};

/// Multiples `[1..8]·256^i·P` for every byte position `i` of a scalar (and one carry position).
pub(crate) struct FixedBaseTable<C: PrimeCurveParams> {
    windows: Vec<LookupTable<ProjectivePoint<C>>>,
}

impl<C: PrimeCurveParams> FixedBaseTable<C> {
    pub(crate) fn new(point: ProjectivePoint<C>) -> Self {
        let count = FieldBytesSize::<C>::USIZE + 1;
        let mut base = point;
        let mut windows = Vec::with_capacity(count);
        for _ in 0..count {
            windows.push(LookupTable::new(base));
            for _ in 0..8 {
                base = base.double();
            }
        }
        Self { windows }
    }

    /// `k·P`, in variable time.
    pub(crate) fn mul_vartime(&self, k: &Scalar<C>) -> ProjectivePoint<C> {
        let digits = Radix16Decomposition::<Radix16Digits<C>>::new(k);
        let bytes = FieldBytesSize::<C>::USIZE;
        // Even digits weigh 256^i; odd ones 16·256^i, summed apart and multiplied by 16 once.
        let mut even = ProjectivePoint::<C>::IDENTITY;
        let mut odd = ProjectivePoint::<C>::IDENTITY;
        for (i, window) in self.windows.iter().enumerate() {
            let low = digits[2 * i];
            if low != 0 {
                even += &window.select_vartime(low);
            }
            if i < bytes {
                let high = digits[2 * i + 1];
                if high != 0 {
                    odd += &window.select_vartime(high);
                }
            }
        }
        for _ in 0..4 {
            odd = odd.double();
        }
        even + odd
    }
}

/// The tables one key verifies with: its own and the generator's.
pub(crate) struct Tables<C: PrimeCurveParams> {
    generator: FixedBaseTable<C>,
    key: FixedBaseTable<C>,
}

/// A key's tables, built on the key's second verification and owned by the key.
pub(crate) struct KeyTable<C: PrimeCurveParams> {
    uses: AtomicU32,
    table: OnceLock<Arc<Tables<C>>>,
}

impl<C: PrimeCurveParams> KeyTable<C> {
    pub(crate) fn new() -> Self {
        Self {
            uses: AtomicU32::new(0),
            table: OnceLock::new(),
        }
    }

    /// The tables for `key`, or `None` on its first use.
    fn get(&self, key: &ProjectivePoint<C>) -> Option<&Tables<C>> {
        if let Some(table) = self.table.get() {
            return Some(table);
        }
        if self.uses.fetch_add(1, Ordering::Relaxed) == 0 {
            return None;
        }
        Some(self.table.get_or_init(|| {
            Arc::new(Tables {
                generator: FixedBaseTable::new(ProjectivePoint::<C>::GENERATOR),
                key: FixedBaseTable::new(*key),
            })
        }))
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
            .field("built", &self.table.get().is_some())
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
    let point = tables.generator.mul_vartime(&u1) + tables.key.mul_vartime(&u2);
    // The identity has x = 0 here, which never equals a non-zero r.
    let x = point.to_affine().x();
    Some(**r == digest_scalar::<C>(&x))
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

#[cfg(test)]
mod tests {
    use super::*;
    use elliptic_curve::ff::PrimeField as _;
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

    agrees_with_the_curve_crate!(p256_tables_agree, p256, sha2::Sha256);
    agrees_with_the_curve_crate!(p384_tables_agree, p384, sha2::Sha384);
    agrees_with_the_curve_crate!(p521_tables_agree, p521, sha2::Sha512);
}
