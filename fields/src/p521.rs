//! P-521: p = 2^521 − 1, in 18 unsaturated limbs of 29 bits (522 bits), so `2^522 ≡ 2`.
//!
//! Unlike P-256 and P-384 (32-bit words, whose products need carry handling word by word), a
//! P-521 product sums its 29-bit limb products in plain 64-bit accumulators and carries once
//! at the end: 324 `i64.mul` and `i64.add` pairs and no carry chain inside. That is what makes
//! it cheap on wasm32, where the curve crate's 32-bit code spends about 19 instructions per limb
//! product.
//!
//! **Bounds.** An element's limbs are below `2^29`, except limb 1, which the final carry of an
//! operation may leave up to `2^29 + 2^8` (call that bound B). A product's column sums at most
//! 35 limb products below B² (the columns above limb 17 fold back doubled, since
//! `2^522 ≡ 2`), so it stays below `35 · 2^58.01 < 2^63.2`: no 64-bit overflow. Sums and
//! differences are carried at once, so every operation returns an element within the bounds.
//! The value itself may be anything below `2^522`; comparisons and bytes go through
//! [`Fe521::canonical`].

/// Limbs of an element.
const LIMBS: usize = 18;
/// Bits per limb.
const BITS: u32 = 29;
/// A limb's bits.
const MASK: u64 = (1 << BITS) - 1;
/// Limb 17 holds bits 493 to 521: its top bit is bit 521.
const TOP_BITS: u32 = 521 - BITS * (LIMBS as u32 - 1);
/// Bytes of an encoded element.
const BYTES: usize = 66;

/// 4p in limbs, each above any limb of an element (B), so that `4p − b` has no negative limb.
const FOUR_P: [u64; LIMBS] = {
    let mut limbs = [((1 << BITS) - 1) << 2; LIMBS];
    limbs[LIMBS - 1] = ((1 << TOP_BITS) - 1) << 2;
    limbs
};

/// An element of the field, in limbs within the bounds of the module documentation.
#[derive(Clone, Copy, Debug)]
pub struct Fe521([u64; LIMBS]);

impl Fe521 {
    /// 0.
    pub const ZERO: Self = Self([0; LIMBS]);
    /// 1.
    pub const ONE: Self = {
        let mut one = [0; LIMBS];
        one[0] = 1;
        Self(one)
    };

    /// From 66 big-endian bytes, below p.
    pub fn from_be_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != BYTES {
            return None;
        }
        let (mut limbs, mut limb, mut acc, mut held) = ([0u64; LIMBS], 0, 0u64, 0u32);
        for &byte in bytes.iter().rev() {
            acc |= u64::from(byte) << held;
            held += 8;
            if held >= BITS && limb < LIMBS {
                limbs[limb] = acc & MASK;
                (limb, acc, held) = (limb + 1, acc >> BITS, held - BITS);
            }
        }
        // Below 2^521 (nothing left over, bit 521 clear) and not p itself (all ones).
        let below_2_521 = acc == 0 && limbs[LIMBS - 1] >> TOP_BITS == 0;
        let all_ones = limbs[..LIMBS - 1].iter().all(|&l| l == MASK)
            && limbs[LIMBS - 1] == (1 << TOP_BITS) - 1;
        (below_2_521 && !all_ones).then_some(Self(limbs))
    }

    /// The 66 big-endian bytes of the element reduced below p.
    pub fn to_be_bytes(self) -> [u8; BYTES] {
        let limbs = self.canonical();
        let mut bytes = [0u8; BYTES];
        let (mut limb, mut acc, mut held) = (0, 0u64, 0u32);
        for byte in bytes.iter_mut().rev() {
            if held < 8 && limb < LIMBS {
                acc |= limbs[limb] << held;
                (limb, held) = (limb + 1, held + BITS);
            }
            *byte = acc as u8; // the low 8 bits; the rest shifts down
            acc >>= 8;
            held = held.saturating_sub(8);
        }
        bytes
    }

    /// The limbs of the value reduced below p: every limb below 2^29 and limb 17 below 2^28.
    fn canonical(&self) -> [u64; LIMBS] {
        let mut limbs = self.0;
        // Each pass carries and folds the bits from 521 up back onto bit 0 (2^521 ≡ 1). The
        // first leaves the value below 2^521 + 2^10, the second below 2^521 with limb 0 still
        // below 2^29 (when bit 521 was set, the rest is tiny).
        for _ in 0..2 {
            let mut carry = 0;
            for limb in &mut limbs {
                let v = *limb + carry;
                *limb = v & MASK;
                carry = v >> BITS;
            }
            let top = (carry << (BITS - TOP_BITS)) | (limbs[LIMBS - 1] >> TOP_BITS);
            limbs[LIMBS - 1] &= (1 << TOP_BITS) - 1;
            limbs[0] += top;
        }
        // p itself is 0.
        let is_p = limbs[..LIMBS - 1].iter().all(|&l| l == MASK)
            && limbs[LIMBS - 1] == (1 << TOP_BITS) - 1;
        if is_p { [0; LIMBS] } else { limbs }
    }

    /// Whether this is 0.
    pub fn is_zero(&self) -> bool {
        self.canonical() == [0; LIMBS]
    }

    /// Twice the element.
    pub fn double(&self) -> Self {
        *self + *self
    }

    /// The square: the 171 distinct limb products, the cross ones doubled (and the folded
    /// ones doubled again).
    pub fn square(&self) -> Self {
        let a = &self.0;
        let a2 = a.map(|l| l << 1);
        let a4 = a.map(|l| l << 2);
        Self::carried(columns!(square_column, a, &a2, &a4))
    }

    crate::invert_by_curve_crate!(p521, NistP521);

    /// The element of column sums below 2^64 − 2^36: one carry pass, whose carry out of limb
    /// 17 (multiples of 2^522) comes back doubled onto limb 0, and limb 0's carry onto limb 1.
    fn carried(columns: [u64; LIMBS]) -> Self {
        let mut limbs = [0u64; LIMBS];
        let mut carry = 0;
        for (limb, column) in limbs.iter_mut().zip(columns) {
            let v = column + carry;
            *limb = v & MASK;
            carry = v >> BITS;
        }
        let v = limbs[0] + (carry << 1);
        limbs[0] = v & MASK;
        limbs[1] += v >> BITS;
        Self(limbs)
    }
}

/// The 18 columns of a product or square, each from its own instance of `$column`.
macro_rules! columns {
    ($column:ident, $x:expr, $y:expr, $z:expr) => {
        [
            $column::<0>($x, $y, $z),
            $column::<1>($x, $y, $z),
            $column::<2>($x, $y, $z),
            $column::<3>($x, $y, $z),
            $column::<4>($x, $y, $z),
            $column::<5>($x, $y, $z),
            $column::<6>($x, $y, $z),
            $column::<7>($x, $y, $z),
            $column::<8>($x, $y, $z),
            $column::<9>($x, $y, $z),
            $column::<10>($x, $y, $z),
            $column::<11>($x, $y, $z),
            $column::<12>($x, $y, $z),
            $column::<13>($x, $y, $z),
            $column::<14>($x, $y, $z),
            $column::<15>($x, $y, $z),
            $column::<16>($x, $y, $z),
            $column::<17>($x, $y, $z),
        ]
    };
}
use columns;

/// `$term` summed over the limb indices `$i` = 0 … 17, written out term by term: every index
/// is a constant, so each term folds to one product (or nothing) and no loop is left for the
/// optimizer to keep. (Written as loops, the shipped modules, whose link-time optimization
/// runs at the size level, kept them rolled: 11.7K instead of 1.7K wasm instructions per
/// product.)
macro_rules! sum_over_limbs {
    (|$i:ident| $term:expr) => {
        sum_over_limbs!(@ |$i| $term; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17)
    };
    (@ |$i:ident| $term:expr; $($n:literal)*) => {
        0u64 $(+ {
            let $i: usize = $n;
            $term
        })*
    };
}

/// Column `K` of `a·b`: the limb products with `i + j = K`, and those with `i + j = K + 18`
/// folded onto it doubled (`2^522 ≡ 2`, so they take `b`'s doubled limbs `b2`). Either way
/// `j = (K + 18 − i) mod 18`.
#[inline(always)]
fn product_column<const K: usize>(a: &[u64; LIMBS], b: &[u64; LIMBS], b2: &[u64; LIMBS]) -> u64 {
    sum_over_limbs!(|i| a[i] * (if i <= K { b } else { b2 })[(K + LIMBS - i) % LIMBS])
}

/// Column `K` of `a²`, given `a2 = 2a` and `a4 = 4a`: for `j = (K + 18 − i) mod 18`, the
/// distinct products `a_i·a_j` with `i < j` count twice, squares once, and those folded from
/// column `K + 18` (`i > K`) twice as much again.
#[inline(always)]
fn square_column<const K: usize>(a: &[u64; LIMBS], a2: &[u64; LIMBS], a4: &[u64; LIMBS]) -> u64 {
    sum_over_limbs!(|i| {
        let j = (K + LIMBS - i) % LIMBS;
        let folded = i > K;
        if i < j {
            a[i] * if folded { a4[j] } else { a2[j] }
        } else if i == j {
            a[i] * if folded { a2[j] } else { a[j] }
        } else {
            0
        }
    })
}

impl PartialEq for Fe521 {
    fn eq(&self, other: &Self) -> bool {
        self.canonical() == other.canonical()
    }
}

impl Eq for Fe521 {}

impl core::ops::Add for Fe521 {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        let mut sum = self.0;
        for (s, o) in sum.iter_mut().zip(other.0) {
            *s += o;
        }
        Self::carried(sum)
    }
}

impl core::ops::Sub for Fe521 {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        let mut difference = FOUR_P;
        for ((d, s), o) in difference.iter_mut().zip(self.0).zip(other.0) {
            *d = *d + s - o;
        }
        Self::carried(difference)
    }
}

impl core::ops::Neg for Fe521 {
    type Output = Self;
    fn neg(self) -> Self {
        Self::ZERO - self
    }
}

impl core::ops::Mul for Fe521 {
    type Output = Self;
    /// The 324 limb products, summed by column; the columns above limb 17 fold onto
    /// `k − 18` doubled (`2^522 ≡ 2`), so `b`'s limbs are doubled for them.
    fn mul(self, other: Self) -> Self {
        let (a, b) = (&self.0, &other.0);
        let b2 = b.map(|l| l << 1);
        Self::carried(columns!(product_column, a, b, &b2))
    }
}

impl core::ops::MulAssign for Fe521 {
    fn mul_assign(&mut self, other: Self) {
        *self = *self * other;
    }
}
