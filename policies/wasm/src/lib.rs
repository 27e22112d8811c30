//! The raw ocisig module, `dist/ocisig.wasm`: the core verifier behind a pointer/length ABI
//! with no imports at all.
//!
//! ```text
//! ocisig_abi_version() -> i32                                  always 1
//! ocisig_alloc(len: i32) -> i32                                0 when refused
//! ocisig_free(ptr: i32, len: i32)                              unknown buffers are ignored
//! ocisig_verify(policy_ptr, policy_len, evidence_ptr, evidence_len) -> i64
//!                                                              (ptr << 32) | len of verdict JSON
//! ocisig_verify_bundle(policy_ptr, policy_len, bundle_ptr, bundle_len, digest_ptr, digest_len)
//!                                                              -> i64, as ocisig_verify
//! ```
//!
//! A host allocates two buffers, writes the policy and evidence JSON into them, calls
//! `ocisig_verify`, reads the verdict, and frees all three. Every buffer handed out is recorded
//! in a table, and every pointer the host passes back is looked up there: a pointer or length
//! that does not name (part of) a live buffer gets a denial, not a read of arbitrary memory.
//! That keeps the module free of raw-pointer code and makes hostile arguments harmless.

#![cfg(target_family = "wasm")]

mod buffers;
mod policy_cache;

use ocisig::{Reason, Verdict};

/// The version of this ABI.
const ABI_VERSION: i32 = 1;

/// Returns the ABI version, 1.
// SAFETY: `no_mangle` exports the symbol under its plain name; no other symbol in the module
// has this name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn ocisig_abi_version() -> i32 {
    ABI_VERSION
}

/// Allocates a zeroed buffer of `len` bytes for the host to write into; 0 when `len` is
/// negative, too large, or memory is exhausted.
// SAFETY: as for `ocisig_abi_version`: a unique export name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn ocisig_alloc(len: i32) -> i32 {
    buffers::allocate(len)
}

/// Frees a buffer from `ocisig_alloc` or a verdict from `ocisig_verify`. Anything else is
/// ignored.
// SAFETY: as for `ocisig_abi_version`: a unique export name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn ocisig_free(ptr: i32, len: i32) {
    buffers::release(ptr, len);
}

/// Verifies the evidence in one buffer against the policy in another and returns the verdict
/// JSON as `(ptr << 32) | len`, in a buffer the host frees with `ocisig_free`. Returns 0 only
/// when even the verdict cannot be allocated.
// SAFETY: as for `ocisig_abi_version`: a unique export name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn ocisig_verify(
    policy_ptr: i32,
    policy_len: i32,
    evidence_ptr: i32,
    evidence_len: i32,
) -> i64 {
    let verdict = buffers::with_input(policy_ptr, policy_len, |policy| {
        buffers::with_input(
            evidence_ptr,
            evidence_len,
            |evidence| match policy_cache::policy(policy) {
                Ok(policy) => ocisig::verify_evidence_json(&policy, evidence),
                Err(denial) => denial,
            },
        )
        .unwrap_or_else(|why| {
            Verdict::denied(Reason::InvalidEvidence, format!("evidence buffer: {why}"))
        })
    })
    .unwrap_or_else(|why| Verdict::denied(Reason::InvalidPolicy, format!("policy buffer: {why}")));
    buffers::hand_out(verdict.to_json().into_bytes())
}

/// Verifies one Sigstore bundle (one buffer) for an artifact whose sha256 is in a third
/// (`sha256:<64 hex>`), under the policy in the first, as `ocisig verify-bundle` does; returns
/// the verdict as [`ocisig_verify`] does.
// SAFETY: as for `ocisig_abi_version`: a unique export name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn ocisig_verify_bundle(
    policy_ptr: i32,
    policy_len: i32,
    bundle_ptr: i32,
    bundle_len: i32,
    digest_ptr: i32,
    digest_len: i32,
) -> i64 {
    let verdict = buffers::with_input(policy_ptr, policy_len, |policy| {
        buffers::with_input(bundle_ptr, bundle_len, |bundle| {
            buffers::with_input(
                digest_ptr,
                digest_len,
                |digest| match policy_cache::policy(policy) {
                    Ok(policy) => ocisig::verify_bundle_json(&policy, bundle, digest),
                    Err(denial) => denial,
                },
            )
            .unwrap_or_else(|why| {
                Verdict::denied(Reason::InvalidEvidence, format!("digest buffer: {why}"))
            })
        })
        .unwrap_or_else(|why| {
            Verdict::denied(Reason::InvalidEvidence, format!("bundle buffer: {why}"))
        })
    })
    .unwrap_or_else(|why| Verdict::denied(Reason::InvalidPolicy, format!("policy buffer: {why}")));
    buffers::hand_out(verdict.to_json().into_bytes())
}
