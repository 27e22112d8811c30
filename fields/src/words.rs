//! Word arithmetic shared by the fields: little-endian 32-bit words.

/// `a + b` with the carry out.
pub(crate) fn add<const N: usize>(a: &[u32; N], b: &[u32; N]) -> ([u32; N], bool) {
    let mut out = [0; N];
    let mut carry = 0u64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let sum = u64::from(x) + u64::from(y) + carry;
        *o = sum as u32; // the low word; the rest carries
        carry = sum >> 32;
    }
    (out, carry != 0)
}

/// `a − b` with the borrow out.
pub(crate) fn sub<const N: usize>(a: &[u32; N], b: &[u32; N]) -> ([u32; N], bool) {
    let mut out = [0; N];
    let mut borrow = 0i64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let difference = i64::from(x) - i64::from(y) + borrow;
        *o = difference as u32; // the low word, two's complement
        borrow = difference >> 32; // 0 or -1
    }
    (out, borrow != 0)
}

/// Whether `a >= m`.
pub(crate) fn at_least<const N: usize>(a: &[u32; N], m: &[u32; N]) -> bool {
    for (&x, &y) in a.iter().zip(m).rev() {
        if x != y {
            return x > y;
        }
    }
    true
}

/// The schoolbook product `a·b` into `t` (2N words): each row's products and carries stay
/// below 2^64.
pub(crate) fn mul<const N: usize>(a: &[u32; N], b: &[u32; N], t: &mut [u32]) {
    for (i, &x) in a.iter().enumerate() {
        let x = u64::from(x);
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            let v = x * u64::from(y) + u64::from(t[i + j]) + carry;
            t[i + j] = v as u32; // the low word; the rest carries
            carry = v >> 32;
        }
        t[i + N] = carry as u32; // below 2^32: the row's top word
    }
}

/// Propagates signed carries through `acc` into `words`; returns the carry out of the top.
pub(crate) fn carry(acc: &[i64], words: &mut [u32]) -> i64 {
    let mut carry = 0i64;
    for (word, &a) in words.iter_mut().zip(acc) {
        let v = a + carry;
        *word = v as u32; // the low word, two's complement
        carry = v >> 32;
    }
    carry
}
