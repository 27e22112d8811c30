//! # ocisig: is this image signed by a key we trust?
//!
//! `ocisig` checks cosign signatures of OCI images and artifacts as pure computation. A host
//! fetches the **evidence** (the image digest, the cosign `.sig` manifest and its payload blobs)
//! and hands it over with a **policy** (trusted keys, a threshold, required keys and
//! annotations); [`verify()`] returns a [`Verdict`] with a typed [`Reason`]. The crate does no
//! I/O, reads no clock and draws no randomness, so the same inputs always give the same
//! verdict, byte for byte, natively and in WebAssembly.
//!
//! ## Core concepts
//! - [`Policy`] is parsed and checked once ([`Policy::from_json`]) and reused: keys are
//!   parsed, names and thresholds validated, and a canonical [`Policy::digest`] computed.
//! - [`Evidence`] is one image's fetched material ([`Evidence::from_json`]).
//! - [`verify()`] runs, for each layer and key, the checks in the order documented in
//!   `docs/contracts.md`, stopping as soon as the policy is satisfied. Nothing in a payload is
//!   read before its signature has verified over the exact bytes.
//! - Every failure is a denial: [`verify_json`] turns unreadable documents into verdicts too,
//!   which is what the WebAssembly adapters call.
//! - What to fetch for an image, and what a missing object means, is the core's too:
//!   [`evidence::plan::Plan`], which a host drives with its own [`evidence::plan::Source`].
//!
//! ## Layout
//! One folder per idea, each using only those below it: [`encoding`] and [`crypto`] at the
//! bottom; [`x509`] (certificate paths, RFC 3161), [`oci`], [`claim`] (what a signature says),
//! [`sigstore`] (bundles, Fulcio, Rekor, trusted roots); [`policy`]; [`evidence`] (the document
//! and the fetch plan); [`verdict`]; [`mod@verify`] (the checks); and [`host`], what the engines'
//! adapters share. A test (`src/architecture.rs`) keeps it so.
//!
//! ## Example
//! ```
//! let policy = br#"{"keys":[{"name":"alice","publicKey":"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEusIAt6EJ3YrTHdg2qkWVS0KuotWQ\nwHDtyaXlq7Nhj8279+1u/l5pZhXJPW8PnGRRLdO5NbsuM6aT7pOcP100uw==\n-----END PUBLIC KEY-----\n"}]}"#;
//! let evidence = br#"{"image":"example.com/app:v1",
//!   "digest":"sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81",
//!   "signatureManifest":null,"blobs":{}}"#;
//! let verdict = ocisig::verify_json(policy, evidence);
//! assert!(!verdict.verified());
//! assert_eq!(verdict.reason(), ocisig::Reason::NoSignatures);
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

/// Declares an error type that carries its sentence, for the document readers whose every
/// failure is the words of the field at fault: a type of its own, so that a caller can tell a
/// statement's error from a payload's, with the sentence as its `Display`.
macro_rules! sentence_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(pub(crate) alloc::string::String);

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::error::Error for $name {}

        impl From<$name> for alloc::string::String {
            fn from(error: $name) -> Self {
                error.0
            }
        }
    };
}

#[cfg(test)]
mod architecture;
#[cfg(test)]
mod testing;

pub mod claim;
pub mod crypto;
pub mod encoding;
pub mod evidence;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod limits;
pub mod oci;
pub mod policy;
pub mod sigstore;
pub mod tuf;
pub mod verdict;
pub mod verify;
pub mod x509;

pub use claim::simple_signing::COSIGN_PAYLOAD_TYPE;
pub use crypto::digest::Sha256Digest;
pub use crypto::keys::{KeyError, PublicKey, SignatureError};
pub use crypto::options::{HashAlgorithm, KeyOptions, RsaScheme};
pub use evidence::document::{Evidence, EvidenceError};
pub use oci::manifest::{SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE};
pub use oci::reference::{DOCKER_HUB_REGISTRY, Reference, ReferenceError};
pub use policy::compiled::{NamedKey, Policy};
pub use policy::document::{
    AttestationDocument, Format, IdentityDocument, KeyDocument, LimitsDocument, PolicyDocument,
    PolicyError, RekorDocument, RekorMode,
};
pub use policy::scope::{Resource, ResourceMatch, Scope};
pub use policy::set::{Body, Document, ImageMatcher, Mode, PolicySet, Rule, Unmatched};
pub use verdict::outcome::{
    AttestationResult, BundleResult, LayerResult, PlatformResult, Verdict, VerifiedStatement,
};
pub use verdict::reason::Reason;
pub use verdict::set::{PolicyVerdict, RuleResult, SetVerdict};
pub use verify::bundles::verify_artifact_bundle;
pub use verify::image::verify;
pub use verify::set::{decide_set, verify_set};

use alloc::string::ToString;

/// Parses both documents and verifies; unreadable documents become denials.
///
/// This is the whole contract of every engine adapter: bytes in, verdict out.
pub fn verify_json(policy: &[u8], evidence: &[u8]) -> Verdict {
    match policy_from_json(policy) {
        Ok(policy) => verify_evidence_json(&policy, evidence),
        Err(denial) => denial,
    }
}

/// Parses a policy, or gives the denial [`verify_json`] would return for it. For hosts that
/// keep a parsed policy (and its keys' precomputed tables) across verifications.
///
/// # Errors
/// The `invalid_policy` or `limit_exceeded` verdict.
// A denial is returned once per bad policy, never on a hot path; boxing it buys nothing.
#[allow(clippy::result_large_err)]
pub fn policy_from_json(policy: &[u8]) -> Result<Policy, Verdict> {
    Policy::from_json(policy).map_err(policy_denial)
}

/// Verifies an evidence document under a policy or a policy set ([`Document::from_json`]):
/// whether the image passes, and the verdict as JSON, a [`Verdict`] for a policy, a
/// [`SetVerdict`] for a set (told apart by `allowed`, which only a set verdict has).
/// Unreadable documents are denials, as in [`verify_json`]. For engines whose one document may
/// be either (the OPA module's data).
pub fn decide_json(document: &[u8], evidence: &[u8]) -> (bool, alloc::string::String) {
    match Document::from_json(document) {
        Err(err) => (false, policy_denial(err).to_json()),
        Ok(Document::Policy(policy)) => {
            let verdict = verify_evidence_json(&policy, evidence);
            (verdict.verified(), verdict.to_json())
        }
        Ok(Document::Set(set)) => {
            let verdict = match Evidence::from_json(evidence) {
                Ok(parsed) => verify_set(&set, &parsed, &Scope::UNKNOWN),
                Err(err) => SetVerdict::denied(
                    evidence_reason(&err),
                    err.to_string(),
                    set.digest().to_string(),
                ),
            };
            (verdict.allowed(), verdict.to_json())
        }
    }
}

fn policy_denial(err: PolicyError) -> Verdict {
    let reason = match err {
        PolicyError::TooLarge(_) => Reason::LimitExceeded,
        PolicyError::Syntax(_) | PolicyError::Invalid { .. } | PolicyError::InvalidKey { .. } => {
            Reason::InvalidPolicy
        }
    };
    Verdict::denied(reason, err.to_string())
}

fn evidence_reason(err: &EvidenceError) -> Reason {
    match err {
        EvidenceError::TooLarge { .. } | EvidenceError::TooManyBlobs { .. } => {
            Reason::LimitExceeded
        }
        EvidenceError::Syntax(_) | EvidenceError::Invalid { .. } => Reason::InvalidEvidence,
    }
}

/// Parses an evidence document and verifies it against an already parsed policy; unreadable
/// evidence becomes a denial.
pub fn verify_evidence_json(policy: &Policy, evidence: &[u8]) -> Verdict {
    match Evidence::from_json(evidence) {
        Ok(evidence) => verify(policy, &evidence),
        Err(err) => {
            let mut verdict = Verdict::denied(evidence_reason(&err), err.to_string());
            verdict.policy_digest = Some(policy.digest().to_string());
            verdict
        }
    }
}

/// Verifies one Sigstore bundle for an artifact whose sha256 `digest` names (`sha256:<hex>`,
/// as bytes), under an already parsed policy ([`verify_artifact_bundle`]); a digest that is not
/// one is a denial. What the raw module's `ocisig_verify_bundle` calls.
pub fn verify_bundle_json(policy: &Policy, bundle: &[u8], digest: &[u8]) -> Verdict {
    let digest = core::str::from_utf8(digest)
        .ok()
        .and_then(|text| Sha256Digest::parse(text).ok());
    match digest {
        Some(digest) => verify_artifact_bundle(policy, bundle, &digest),
        None => {
            let mut verdict = Verdict::denied(
                Reason::InvalidEvidence,
                "the artifact digest is not sha256:<64 lowercase hex>".into(),
            );
            verdict.policy_digest = Some(policy.digest().to_string());
            verdict
        }
    }
}
