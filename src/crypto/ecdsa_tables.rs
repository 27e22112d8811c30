//! ECDSA verification over the NIST curves, with our own point arithmetic: Jacobian
//! coordinates and the `a = -3` formulas, cheaper than the complete projective formulas the
//! curve crates verify with. The curve crates remain the reference: the tests and the fuzz
//! target `ecdsa_tables` compare every path here with their verifier.
//!
//! Verification computes `u1·G + u2·Q`, in one of two ways:
//! - **First use of a key:** interleaved width-5 NAF. The odd multiples `1·P … 15·P` of `G`
//!   and of `Q` are made in Jacobian coordinates and brought to affine with one shared
//!   inversion, then one chain of ~`bits` doublings adds a table point every ~6 bits of
//!   each scalar.
//! - **From the fifth use on:** keys are fixed per policy and `G` never changes, so we
//!   precompute, for each, the multiples `1..8` of `256^i · P`; a product is then one table
//!   lookup and addition per radix-16 digit plus four doublings, roughly a third of the point
//!   operations. The two tables cost about four first-use verifications to build (P-256 in
//!   the wasm module: 38M instructions, against 8.9M for a first use and 3.4M with tables), so
//!   a key gets them once it has spent that much without: on its fifth use, as a ski rental
//!   decides. A host that verifies a few times per fresh instance (a keyless verdict uses each
//!   key once or twice) never pays for them; a policy that checks many signatures under one
//!   key pays at most twice the best cost.
//!
//! **No table outlives the key that owns it.** The generator's table is built beside the key's
//! and dropped with it; there is no process-wide (static) table. A static would be built in
//! whatever memory the allocator hands out, and the OPA module's allocator is a bump heap that
//! its host resets before every evaluation: a static table would then point into memory the
//! next input overwrites (issue #14). Tied to the key, a table lives exactly as long as the
//! parsed policy, which every host either keeps whole or drops whole.
//!
//! Every input here is public (key, digest, signature), so variable time is fine: the code
//! branches on digits and on the exceptional cases of the formulas.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use once_cell::race::OnceBox;

#[cfg(feature = "fuzzing")]
use elliptic_curve::Field as _;
use elliptic_curve::array::typenum::Unsigned as _;
use elliptic_curve::bigint::{BitOps as _, Encoding as _};
use elliptic_curve::ff::PrimeField as _;
#[cfg(any(test, feature = "fuzzing"))]
use elliptic_curve::group::Group as _;
use elliptic_curve::ops::{Invert as _, Reduce};
use elliptic_curve::point::AffineCoordinates as _;
use elliptic_curve::{Curve, FieldBytesSize, NonZeroScalar, Scalar};
#[cfg(feature = "fuzzing")]
use primeorder::ProjectivePoint;
use primeorder::{PrimeCurveParams, Radix16Decomposition, Radix16Digits};

/// The curve crate's field element of curve `C`.
type CrateFe<C> = <C as elliptic_curve::hazmat::FieldArithmetic>::FieldElement;

/// The field element the formulas here compute with for curve `C`.
type Fe<C> = <C as TableCurve>::F;

/// The field arithmetic the point formulas need, ours (`ocisig-fields`): for a product, P-256's
/// and P-384's take 28% and 60% fewer wasm instructions than the curve crates' Montgomery code
/// on 32-bit limbs, and P-521's a quarter of the curve crate's.
pub(crate) trait FieldOps:
    Copy
    + PartialEq
    + core::ops::Add<Output = Self>
    + core::ops::Sub<Output = Self>
    + core::ops::Mul<Output = Self>
    + core::ops::Neg<Output = Self>
    + core::ops::MulAssign
{
    const ZERO: Self;
    const ONE: Self;
    fn square(&self) -> Self;
    fn double(&self) -> Self;
    fn is_zero(&self) -> bool;
    /// `None` for zero.
    fn invert(&self) -> Option<Self>;
    /// From big-endian bytes of the field's length, below the modulus.
    fn from_be(bytes: &[u8]) -> Option<Self>;
    /// The big-endian bytes.
    fn to_be(&self) -> Vec<u8>;
}

/// A curve verified here, with the field its formulas use.
pub(crate) trait TableCurve: PrimeCurveParams {
    type F: FieldOps;
}

/// Our fields (`ocisig-fields`).
macro_rules! our_field {
    ($field:ty, $curve:ty) => {
        impl FieldOps for $field {
            const ZERO: Self = Self::ZERO;
            const ONE: Self = Self::ONE;
            fn square(&self) -> Self {
                Self::square(self)
            }
            fn double(&self) -> Self {
                Self::double(self)
            }
            fn is_zero(&self) -> bool {
                Self::is_zero(self)
            }
            fn invert(&self) -> Option<Self> {
                Self::invert(self)
            }
            fn from_be(bytes: &[u8]) -> Option<Self> {
                Self::from_be_bytes(bytes)
            }
            fn to_be(&self) -> Vec<u8> {
                self.to_be_bytes().to_vec()
            }
        }

        impl TableCurve for $curve {
            type F = $field;
        }
    };
}

our_field!(ocisig_fields::Fe256, p256::NistP256);
our_field!(ocisig_fields::Fe384, p384::NistP384);
our_field!(ocisig_fields::Fe521, p521::NistP521);

/// The generator in our field, or `None` if the curve's constants do not convert (they do).
fn generator<C: TableCurve>() -> Option<Affine<C>> {
    use elliptic_curve::ff::PrimeField as _;
    let (x, y) = C::GENERATOR;
    Some((
        Fe::<C>::from_be(&x.to_repr())?,
        Fe::<C>::from_be(&y.to_repr())?,
    ))
}

/// A point other than the identity in affine coordinates `(x, y)`.
pub(crate) type Affine<C> = (Fe<C>, Fe<C>);

/// The affine coordinates of a curve point as our field elements, or `None` for the identity.
pub(crate) fn affine<C: TableCurve>(point: &primeorder::AffinePoint<C>) -> Option<Affine<C>> {
    if bool::from(point.is_identity()) {
        return None;
    }
    Some((Fe::<C>::from_be(&point.x())?, Fe::<C>::from_be(&point.y())?))
}

/// A point in Jacobian coordinates: `(X/Z², Y/Z³)`, the identity when `Z = 0`. The formulas
/// below are the classic incomplete ones for `a = -3` (every NIST curve), with their
/// exceptional cases (an operand at infinity, equal or opposite operands) handled by explicit
/// checks: fine here, since every input is public, and 30% cheaper in field multiplications
/// than the complete projective formulas the curve crates use.
#[derive(Clone, Copy)]
struct Jacobian<C: TableCurve> {
    x: Fe<C>,
    y: Fe<C>,
    z: Fe<C>,
}

impl<C: TableCurve> Jacobian<C> {
    fn identity() -> Self {
        Self {
            x: Fe::<C>::ONE,
            y: Fe::<C>::ONE,
            z: Fe::<C>::ZERO,
        }
    }

    fn is_identity(&self) -> bool {
        self.z.is_zero()
    }

    fn from_affine(point: &Affine<C>) -> Self {
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
    fn add_affine(&self, point: &Affine<C>) -> Self {
        if self.is_identity() {
            return Self::from_affine(point);
        }
        let z1z1 = self.z.square();
        let u2 = point.0 * z1z1;
        let s2 = point.1 * self.z * z1z1;
        let h = u2 - self.x;
        let r = (s2 - self.y).double();
        if h.is_zero() {
            return if r.is_zero() {
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
        if h.is_zero() {
            return if r.is_zero() {
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

/// The affine forms of `points` with one field inversion (Montgomery's trick), or `None` when
/// one of them is the identity.
fn batch_to_affine<C: TableCurve>(points: &[Jacobian<C>]) -> Option<Vec<Affine<C>>> {
    // prefix[i] = z_0 · … · z_{i-1}
    let mut prefix = Vec::with_capacity(points.len());
    let mut product = Fe::<C>::ONE;
    for point in points {
        if point.is_identity() {
            return None;
        }
        prefix.push(product);
        product *= point.z;
    }
    let mut inverse = product.invert()?; // 1 / (z_i · … · z_{n-1})
    let mut affine = vec![(Fe::<C>::ZERO, Fe::<C>::ZERO); points.len()];
    for ((slot, point), before) in affine.iter_mut().zip(points).zip(&prefix).rev() {
        let z_inv = inverse * *before;
        inverse *= point.z;
        let z_inv2 = z_inv.square();
        *slot = (point.x * z_inv2, point.y * z_inv2 * z_inv);
    }
    Some(affine)
}

/// `p` negated when `digit` is.
fn signed<C: TableCurve>(p: &Affine<C>, digit: i8) -> Affine<C> {
    if digit < 0 { (p.0, -p.1) } else { *p }
}

/// The width-5 non-adjacent form of `k`, least significant digit first: every digit is 0 or
/// odd in `-15..=15`, and a non-zero digit is followed by at least four zeros.
fn wnaf<C: TableCurve>(k: &Scalar<C>) -> Vec<i8> {
    // Little-endian 32-bit limbs of the big-endian representation, one spare for the carries
    // that negative digits add.
    let repr = k.to_repr();
    let mut limbs: Vec<u32> = repr
        .rchunks(4)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0, |limb, &byte| limb << 8 | u32::from(byte))
        })
        .collect();
    limbs.push(0);
    let mut digits = Vec::with_capacity(limbs.len() * 32);
    while limbs.iter().any(|&limb| limb != 0) {
        let mut digit = 0i8;
        if limbs[0] & 1 == 1 {
            let low = (limbs[0] & 31) as i8; // 5 bits: fits
            digit = if low >= 16 { low - 32 } else { low };
            // k -= digit: clears the low five bits (a positive digit is those bits; a negative
            // one adds 32 - low, carrying upward).
            if digit > 0 {
                limbs[0] -= u32::from(digit.unsigned_abs());
            } else {
                let mut carry = u64::from(digit.unsigned_abs());
                for limb in &mut limbs {
                    let sum = u64::from(*limb) + carry;
                    *limb = sum as u32; // the low 32 bits; the rest carries
                    carry = sum >> 32;
                    if carry == 0 {
                        break;
                    }
                }
            }
        }
        digits.push(digit);
        // k >>= 1
        let mut high = 0;
        for limb in limbs.iter_mut().rev() {
            let next = *limb & 1;
            *limb = *limb >> 1 | high << 31;
            high = next;
        }
    }
    digits
}

/// `u1·G + u2·Q` without precomputed tables, for a key's first use: interleaved width-5 NAF
/// over the odd multiples of both points. `None` only if a multiple is the identity, which no
/// point of prime order reaches.
fn mul_add_once<C: TableCurve>(
    key: &Affine<C>,
    u1: &Scalar<C>,
    u2: &Scalar<C>,
) -> Option<Jacobian<C>> {
    // 1·P, 3·P, …, 15·P for G (first eight) and Q (last eight).
    let mut multiples = Vec::with_capacity(16);
    for point in [generator::<C>()?, *key] {
        let base = Jacobian::<C>::from_affine(&point);
        let twice = base.double();
        let mut multiple = base;
        for _ in 0..8 {
            multiples.push(multiple);
            multiple = multiple.add(&twice);
        }
    }
    let multiples = batch_to_affine(&multiples)?;
    let (g, q) = multiples.split_at(8);
    let (d1, d2) = (wnaf::<C>(u1), wnaf::<C>(u2));
    let mut sum = Jacobian::<C>::identity();
    for i in (0..d1.len().max(d2.len())).rev() {
        sum = sum.double();
        for (digits, table) in [(&d1, g), (&d2, q)] {
            let digit = digits.get(i).copied().unwrap_or(0);
            if digit != 0 {
                let point = table[usize::from(digit.unsigned_abs() / 2)];
                sum = sum.add_affine(&signed::<C>(&point, digit));
            }
        }
    }
    Some(sum)
}

/// Multiples `[1..8]·256^i·P` for every byte position `i` of a scalar (and one carry
/// position), in affine coordinates.
pub(crate) struct FixedBaseTable<C: TableCurve> {
    windows: Vec<[Affine<C>; 8]>,
}

impl<C: TableCurve> FixedBaseTable<C> {
    /// The table for `point`, or `None` for a curve whose `a` is not -3 or a point whose
    /// multiples reach the identity (neither happens for a valid key on a NIST curve).
    pub(crate) fn new(point: &Affine<C>) -> Option<Self> {
        if C::EQUATION_A != -CrateFe::<C>::from(3u64) {
            return None;
        }
        let count = FieldBytesSize::<C>::USIZE + 1;
        let mut base = Jacobian::<C>::from_affine(point);
        let mut multiples = Vec::with_capacity(count * 8);
        for _ in 0..count {
            let mut multiple = base;
            for _ in 0..8 {
                multiples.push(multiple);
                multiple = multiple.add(&base);
            }
            for _ in 0..8 {
                base = base.double();
            }
        }
        let affine = batch_to_affine(&multiples)?;
        let mut windows = Vec::with_capacity(count);
        for chunk in affine.chunks_exact(8) {
            let mut window = [(Fe::<C>::ZERO, Fe::<C>::ZERO); 8];
            window.copy_from_slice(chunk);
            windows.push(window);
        }
        Some(Self { windows })
    }

    /// Adds `k·P` into the two accumulators: `even` takes the digits that weigh `256^i`, `odd`
    /// those that weigh `16·256^i` (to be multiplied by 16 once, at the end). Variable time.
    fn accumulate(&self, k: &Scalar<C>, even: &mut Jacobian<C>, odd: &mut Jacobian<C>) {
        let digits = Radix16Decomposition::<Radix16Digits<C>>::new(k);
        let bytes = FieldBytesSize::<C>::USIZE;
        let entry = |window: &[Affine<C>; 8], digit: i8| {
            signed::<C>(&window[usize::from(digit.unsigned_abs()) - 1], digit)
        };
        for (i, window) in self.windows.iter().enumerate() {
            let low = digits[2 * i];
            if low != 0 {
                *even = even.add_affine(&entry(window, low));
            }
            if i < bytes {
                let high = digits[2 * i + 1];
                if high != 0 {
                    *odd = odd.add_affine(&entry(window, high));
                }
            }
        }
    }
}

/// The tables one key verifies with: its own and the generator's.
pub(crate) struct Tables<C: TableCurve> {
    generator: FixedBaseTable<C>,
    key: FixedBaseTable<C>,
}

impl<C: TableCurve> Tables<C> {
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

/// How many verifications a key makes without tables before its fifth builds them.
const USES_BEFORE_TABLES: u32 = 4;

/// A key's tables, built on the key's fifth verification and owned by the key.
pub(crate) struct KeyTable<C: TableCurve> {
    uses: AtomicU32,
    // A race may build the tables twice; one copy wins and is kept. They are a pure function
    // of the key, so which one does not matter.
    table: OnceBox<Option<Arc<Tables<C>>>>,
}

impl<C: TableCurve> KeyTable<C> {
    pub(crate) fn new() -> Self {
        Self {
            uses: AtomicU32::new(0),
            table: OnceBox::new(),
        }
    }

    /// The tables for `key`, or `None` on its first [`USES_BEFORE_TABLES`] uses (or for a curve
    /// they do not serve).
    fn get(&self, key: &Affine<C>) -> Option<&Tables<C>> {
        if let Some(table) = self.table.get() {
            return table.as_deref();
        }
        if self.uses.fetch_add(1, Ordering::Relaxed) < USES_BEFORE_TABLES {
            return None;
        }
        self.table
            .get_or_init(|| {
                alloc::boxed::Box::new((|| {
                    Some(Arc::new(Tables {
                        generator: FixedBaseTable::new(&generator::<C>()?)?,
                        key: FixedBaseTable::new(key)?,
                    }))
                })())
            })
            .as_deref()
    }
}

impl<C: TableCurve> Clone for KeyTable<C> {
    fn clone(&self) -> Self {
        let table = OnceBox::new();
        if let Some(built) = self.table.get() {
            // A fresh cell, just made here: setting it cannot fail.
            let _ = table.set(alloc::boxed::Box::new(built.clone()));
        }
        Self {
            uses: AtomicU32::new(self.uses.load(Ordering::Relaxed)),
            table,
        }
    }
}

impl<C: TableCurve> core::fmt::Debug for KeyTable<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyTable")
            .field("built", &self.table.get().is_some_and(Option::is_some))
            .finish()
    }
}

/// ECDSA verification of `(r, s)` over the digest `prehash` under `key`: with the key's
/// tables once it has them, without before that.
pub(crate) fn verify_prehash<C: TableCurve>(
    key: &Affine<C>,
    table: &KeyTable<C>,
    prehash: &[u8],
    r: &NonZeroScalar<C>,
    s: &NonZeroScalar<C>,
) -> bool {
    let z = digest_scalar::<C>(prehash);
    let s_inv = *s.invert_vartime();
    let u1 = z * s_inv;
    let u2 = **r * s_inv;
    let sum = match table.get(key) {
        Some(tables) => Some(tables.mul_add(&u1, &u2)),
        None => mul_add_once(key, &u1, &u2),
    };
    sum.is_some_and(|sum| x_matches(&sum, r))
}

/// Whether the affine x of `point`, reduced modulo the order, is `r`, without the field
/// inversion: `x = X/Z²` is `r` or `r + n` (when that is below p), so compare `X` with
/// `r·Z²` and `(r + n)·Z²`. The identity never matches.
fn x_matches<C: TableCurve>(point: &Jacobian<C>, r: &NonZeroScalar<C>) -> bool {
    if point.is_identity() {
        return false;
    }
    let z2 = point.z.square();
    // r < n < p, so r is a field element as it is.
    let r_repr = r.to_repr();
    let Some(r_field) = Fe::<C>::from_be(&r_repr) else {
        return false;
    };
    if point.x == r_field * z2 {
        return true;
    }
    // n < p on every NIST curve, so r + n mod p is the integer r + n exactly when that sum is
    // below p, and it is then above r; when r + n >= p the modular sum, r + n - p, is below r.
    // Big-endian bytes of one length compare as the integers do.
    let Some(n_minus_one) =
        Fe::<C>::from_be(&(-<Scalar<C> as elliptic_curve::Field>::ONE).to_repr())
    else {
        return false;
    };
    let r_plus_n = r_field + n_minus_one + Fe::<C>::ONE;
    r_plus_n.to_be().as_slice() > r_repr.as_slice() && point.x == r_plus_n * z2
}

/// Big-endian bytes as a scalar the way ECDSA reads a digest: the leftmost bits of the
/// order's length, reduced modulo the order.
fn digest_scalar<C: TableCurve>(bytes: &[u8]) -> Scalar<C> {
    let order_bits = C::ORDER.bit_width();
    let order_bytes = usize::try_from(order_bits.div_ceil(8)).unwrap_or(usize::MAX);
    let bytes = &bytes[..bytes.len().min(order_bytes)];
    <Scalar<C> as Reduce<<C as Curve>::Uint>>::reduce(&<C as Curve>::Uint::from_be_slice_truncated(
        bytes, order_bits,
    ))
}

/// For the fuzz target (`ocisig::fuzzing::ecdsa_tables`): `u1·G + u2·Q` through the tables
/// and through the table-free product, each against the curve crate's arithmetic, and the `x mod n = r` test against the affine x,
/// with the scalars and key from `data` and, as `choice` says, arranged so that the sums meet
/// equal or opposite points. Panics when they disagree.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_agrees<C: TableCurve>(choice: u8, data: &[u8]) {
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
    let Some(key_affine) = affine(&key.to_affine()) else {
        unreachable!("the identity was replaced by the generator");
    };
    let (Some(g), Some(q)) = (
        FixedBaseTable::new(&self::generator::<C>().unwrap_or(key_affine)),
        FixedBaseTable::new(&key_affine),
    ) else {
        unreachable!("every NIST curve has a = -3");
    };
    let tables = Tables {
        generator: g,
        key: q,
    };
    let reference = generator * u1 + key * u2;
    let Some(once) = mul_add_once(&key_affine, &u1, &u2) else {
        unreachable!("no odd multiple below 16 of a point of prime order is the identity");
    };
    for fast in [tables.mul_add(&u1, &u2), once] {
        agrees(&fast, &reference);
    }
}

/// Panics unless the Jacobian `fast` is the projective `reference`, and unless `x_matches`
/// takes exactly the `r` of its affine x.
#[cfg(feature = "fuzzing")]
fn agrees<C: TableCurve>(fast: &Jacobian<C>, reference: &ProjectivePoint<C>) {
    if bool::from(reference.is_identity()) {
        assert!(fast.is_identity(), "the identity was missed");
        return;
    }
    assert!(!fast.is_identity(), "a point became the identity");
    let affine = reference.to_affine();
    let z_inv = fast.z.invert().unwrap_or(Fe::<C>::ZERO);
    let z_inv2 = z_inv.square();
    assert!(
        (fast.x * z_inv2).to_be() == affine.x().to_vec(),
        "x differs"
    );
    assert!(
        (fast.y * z_inv2 * z_inv).to_be() == affine.y().to_vec(),
        "y differs"
    );
    let r = digest_scalar::<C>(&affine.x());
    if let Some(r) = Option::<NonZeroScalar<C>>::from(NonZeroScalar::new(r)) {
        assert!(x_matches(fast, &r), "the true r was refused");
        if let Some(other) =
            Option::<NonZeroScalar<C>>::from(NonZeroScalar::new(*r + Scalar::<C>::ONE))
        {
            assert!(!x_matches(fast, &other), "another r was accepted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    /// Both paths (a key's first use, and its tables) against the curve crate's verifier, over
    /// signatures that verify and ones that do not (another digest, another key, a changed s).
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
                    let wrong_digest = <$hash>::digest([round, 4]);
                    let s_plus_one = NonZeroScalar::new(*s + $curve::Scalar::ONE).unwrap();
                    let (key, other_key) = (signer.verifying_key(), other.verifying_key());
                    let cases = [
                        (key, &digest[..], &s, true),
                        (key, &wrong_digest[..], &s, false),
                        (other_key, &digest[..], &s, false),
                        (key, &digest[..], &s_plus_one, false),
                    ];
                    for (key, digest, s, expected) in cases {
                        let (r_scalar, s_scalar): ($curve::Scalar, $curve::Scalar) = (*r, **s);
                        let signature =
                            Signature::from_scalars(r_scalar.to_repr(), s_scalar.to_repr())
                                .unwrap();
                        let reference = key.verify_prehash(digest, &signature).is_ok();
                        assert_eq!(reference, expected, "round {round}");
                        let point = affine(key.as_affine()).unwrap();
                        let table = KeyTable::new();
                        // The first uses multiply without tables; the next builds them.
                        for uses in 0..=USES_BEFORE_TABLES {
                            assert!(table.table.get().is_none());
                            let fast = verify_prehash(&point, &table, digest, &r, s);
                            assert_eq!(fast, reference, "round {round}, use {uses}");
                        }
                        assert!(table.table.get().is_some_and(Option::is_some));
                    }
                }
            }
        };
    }

    /// `u1·G + u2·Q` through the tables and without them, against the curve crate's
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
                    let point = affine(&key.to_affine()).unwrap();
                    let tables = Tables {
                        generator: FixedBaseTable::new(
                            &super::generator::<$curve::$Curve>().unwrap(),
                        )
                        .unwrap(),
                        key: FixedBaseTable::new(&point).unwrap(),
                    };
                    for (u1, u2) in cases {
                        let reference = generator * u1 + key * u2;
                        let once = mul_add_once(&point, &u1, &u2).unwrap();
                        let paths: [Jacobian<$curve::$Curve>; 2] = [tables.mul_add(&u1, &u2), once];
                        for fast in paths {
                            if bool::from(reference.is_identity()) {
                                assert!(fast.is_identity());
                                continue;
                            }
                            assert!(!fast.is_identity());
                            let z_inv = fast.z.invert().unwrap();
                            let z_inv2 = z_inv.square();
                            let affine = reference.to_affine();
                            assert_eq!((fast.x * z_inv2).to_be(), affine.x().to_vec());
                            assert_eq!((fast.y * z_inv2 * z_inv).to_be(), affine.y().to_vec());
                        }
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
                let small = |k: u64| F::from_be(&$curve::Scalar::from(k).to_repr()).unwrap();
                let n_minus_one = F::from_be(&(-$curve::Scalar::ONE).to_repr()).unwrap();
                let n = n_minus_one + F::ONE;
                let five = NonZeroScalar::new($curve::Scalar::from(5u64)).unwrap();
                let z = small(3);
                let at = |x: F| Jacobian::<$curve::$Curve> {
                    x: x * z.square(),
                    y: F::ONE,
                    z,
                };
                assert!(x_matches(&at(small(5)), &five));
                assert!(x_matches(&at(small(5) + n), &five), "5 + n < p");
                assert!(!x_matches(&at(small(6)), &five));
                let last = NonZeroScalar::new(-$curve::Scalar::ONE).unwrap();
                assert!(x_matches(&at(n_minus_one), &last));
                // (n - 1) + n wraps past p: that x is 2n - 1 - p, which is not n - 1 mod n.
                assert!(!x_matches(&at(n_minus_one + n), &last));
                assert!(!x_matches(&Jacobian::identity(), &last));
            }
        };
    }

    /// The width-5 NAF of scalars at the edges of the range and of hashed ones: its digits
    /// are odd within ±15 or zero, four zeros follow each non-zero one, and they sum back to
    /// the scalar.
    macro_rules! wnaf_is_a_width_5_naf {
        ($name:ident, $curve:ident, $Curve:ident) => {
            #[test]
            fn $name() {
                use $curve::Scalar as S;
                let mut scalars = vec![S::ZERO, S::ONE, -S::ONE, S::from(15u64), S::from(16u64)];
                scalars.push(S::from(u64::MAX));
                for seed in 0u8..32 {
                    let bytes = sha2::Sha512::digest([seed]);
                    scalars.push(<S as Reduce<<$curve::$Curve as Curve>::Uint>>::reduce(
                        &<$curve::$Curve as Curve>::Uint::from_be_slice_truncated(
                            &bytes,
                            <$curve::$Curve as Curve>::ORDER.bit_width(),
                        ),
                    ));
                }
                let bits = usize::try_from(<$curve::$Curve as Curve>::ORDER.bit_width()).unwrap();
                for k in scalars {
                    let digits = wnaf::<$curve::$Curve>(&k);
                    assert!(digits.len() <= bits + 1);
                    let mut sum = S::ZERO;
                    let mut since_nonzero = 4;
                    for &digit in digits.iter().rev() {
                        sum = sum.double();
                        if digit != 0 {
                            assert!(digit % 2 != 0 && (-15..=15).contains(&digit));
                            assert!(since_nonzero >= 4, "adjacent non-zero digits");
                            since_nonzero = 0;
                            let magnitude = S::from(u64::from(digit.unsigned_abs()));
                            sum += if digit < 0 { -magnitude } else { magnitude };
                        } else {
                            since_nonzero += 1;
                        }
                    }
                    assert_eq!(sum, k);
                }
            }
        };
    }

    wnaf_is_a_width_5_naf!(p256_wnaf, p256, NistP256);
    wnaf_is_a_width_5_naf!(p384_wnaf, p384, NistP384);
    wnaf_is_a_width_5_naf!(p521_wnaf, p521, NistP521);
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
