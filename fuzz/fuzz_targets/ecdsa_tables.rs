//! The ECDSA table verifier's arithmetic (Jacobian formulas over affine tables, and the
//! inversion-free `x mod n = r` test) against the curve crates' own, on P-256, P-384 and
//! P-521, with scalars that make the sums meet equal and opposite points.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ocisig::fuzzing::ecdsa_tables(data));
