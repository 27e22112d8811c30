//! The checks of one Sigstore bundle under a policy: for an image (a bundle cosign v3 attached
//! as a referrer) or for an artifact known by its digest (`ocisig verify-bundle`, cosign's
//! `verify-blob` job).
//!
//! In order, stopping at the first that fails:
//! 1. the bundle parses strictly ([`crate::bundle::Bundle::parse`]);
//! 2. it is signed with a key (a certificate means keyless, which is not supported yet), and
//!    for an image its content is a DSSE envelope;
//! 3. the signature verifies under a policy key, over DSSE's PAE of the payload type and the
//!    exact payload bytes, or, for a message signature, over the artifact digest it must name.
//!    The bundle's key hint plays no part: the key that counts is the policy's;
//! 4. its transparency-log entries, as the policy's `rekor.mode` asks
//!    ([`crate::rekor::verify_bundle_entry`]);
//! 5. only now is the payload read: an in-toto statement (`application/vnd.in-toto+json`)
//!    with a subject whose sha256 is the digest;
//! 6. for an image: the predicate type is cosign's signature type (any other is an attestation
//!    and never a signature); with `matchReference`, that subject names the image's repository;
//!    every policy annotation is among that subject's annotations.

use alloc::string::{String, ToString};

use serde_json::Value;

use crate::bundle::{self, Bundle, Content, Material};
use crate::digest::Sha256Digest;
use crate::keys::{HashAlgorithm, PublicKey, SignatureError};
use crate::policy::{Policy, RekorMode};
use crate::reason::Reason;
use crate::reference::Reference;
use crate::rekor::{self, LogEntry, Logged};
use crate::statement::{COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, Statement};
use crate::verdict::{BundleResult, Verdict};

/// What a bundle must be about.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    /// An image: a DSSE statement of cosign's signature type whose subject is the digest.
    Image {
        /// The image digest.
        digest: Sha256Digest,
        /// With `matchReference`, the repository the subject must name.
        expected_repository: Option<&'a str>,
    },
    /// An artifact: a message signature over its digest, or a statement about it.
    Artifact {
        /// The artifact's sha256.
        digest: Sha256Digest,
    },
}

impl Target<'_> {
    fn digest(&self) -> Sha256Digest {
        match self {
            Self::Image { digest, .. } | Self::Artifact { digest } => *digest,
        }
    }
}

/// The outcome of one bundle's checks.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub(crate) status: Reason,
    pub(crate) key: Option<usize>,
    pub(crate) message: String,
    pub(crate) log_entry: Option<LogEntry>,
    pub(crate) predicate_type: Option<String>,
}

impl Outcome {
    pub(crate) fn fail(status: Reason, message: impl Into<String>) -> Self {
        Self {
            status,
            key: None,
            message: message.into(),
            log_entry: None,
            predicate_type: None,
        }
    }

    /// The verdict's entry for this outcome.
    pub(crate) fn result(self, policy: &Policy, referrer: String) -> BundleResult {
        BundleResult {
            referrer,
            status: self.status,
            key: self.key.map(|k| policy.keys()[k].name.clone()),
            message: self.message,
            predicate_type: self.predicate_type,
            integrated_time: self.log_entry.and_then(|e| e.integrated_time),
            log_index: self.log_entry.map(|e| e.log_index),
        }
    }
}

/// The first policy key, in policy order, under which `verify` succeeds.
///
/// # Errors
/// `no_matching_signature` when the signature was well formed for some key,
/// `malformed_signature` when it was for none.
pub(crate) fn verifying_key(
    policy: &Policy,
    verify: impl Fn(&PublicKey) -> Result<String, SignatureError>,
) -> Result<(usize, String), (Reason, String)> {
    let mut any_well_formed = false;
    for (index, named) in policy.keys().iter().enumerate() {
        match verify(&named.key) {
            Ok(algorithm) => return Ok((index, algorithm)),
            Err(SignatureError::Mismatch) => any_well_formed = true,
            Err(SignatureError::Malformed) => {}
        }
    }
    let keys = policy.keys().len();
    Err(if any_well_formed {
        (
            Reason::NoMatchingSignature,
            format!("the signature does not verify with any of the {keys} policy key(s)"),
        )
    } else {
        (
            Reason::MalformedSignature,
            format!("the signature is not a valid signature for any of the {keys} policy key(s)"),
        )
    })
}

/// Runs the checks of one bundle's bytes against `target`.
pub(crate) fn check_bundle(policy: &Policy, bytes: &[u8], target: &Target<'_>) -> Outcome {
    let bundle = match Bundle::parse(bytes) {
        Ok(bundle) => bundle,
        Err(err @ bundle::BundleError::TooLarge) => {
            return Outcome::fail(Reason::LimitExceeded, err.to_string());
        }
        Err(err) => return Outcome::fail(Reason::MalformedBundle, err.to_string()),
    };
    let hint = match &bundle.material {
        Material::PublicKey { hint } => hint.as_deref(),
        Material::Certificate(_) | Material::CertificateChain(_) => {
            return Outcome::fail(
                Reason::UnsupportedBundle,
                "the bundle is signed with a certificate (keyless); this verifier checks \
                 bundles signed with the policy's keys only, so far",
            );
        }
    };
    // What was signed, and what the log must have recorded.
    let (signature, logged, verified) = match (&bundle.content, target) {
        (
            Content::Dsse {
                payload_type,
                payload,
                signature,
                keyid,
            },
            _,
        ) => {
            if let (Some(hint), Some(keyid)) = (hint, keyid.as_deref())
                && hint != keyid
            {
                return Outcome::fail(
                    Reason::MalformedBundle,
                    "the bundle's key hint and its envelope's keyid differ",
                );
            }
            let pae = bundle::pae(payload_type, payload);
            (
                signature,
                Logged::Envelope { payload },
                verifying_key(policy, |key| key.verify(&pae, signature)),
            )
        }
        (Content::MessageSignature { .. }, Target::Image { .. }) => {
            return Outcome::fail(
                Reason::UnsupportedBundle,
                "the bundle holds a message signature; an image signature is a DSSE statement \
                 about the image",
            );
        }
        (
            Content::MessageSignature {
                algorithm,
                digest,
                signature,
            },
            Target::Artifact { digest: artifact },
        ) => {
            if !(algorithm.is_empty() && digest.is_empty())
                && (algorithm != "SHA2_256" || digest[..] != artifact.as_bytes()[..])
            {
                return Outcome::fail(
                    Reason::ClaimDigestMismatch,
                    format!("the bundle's message digest is not the artifact's ({artifact})"),
                );
            }
            (
                signature,
                Logged::Artifact { sha256: artifact },
                verifying_key(policy, |key| {
                    key.verify_digest(HashAlgorithm::Sha256, artifact.as_bytes(), signature)
                }),
            )
        }
    };
    let (key, algorithm) = match verified {
        Ok(found) => found,
        Err((status, message)) => return Outcome::fail(status, message),
    };
    let signer = &policy.keys()[key];
    let fail = |status: Reason, message: String| Outcome {
        key: Some(key),
        ..Outcome::fail(status, message)
    };
    let log_entry = match check_log(policy, &bundle, logged, signature, &signer.key) {
        Ok(entry) => entry,
        Err(message) => return fail(Reason::TlogVerificationFailed, message),
    };
    if policy.rekor_mode() == RekorMode::Require && log_entry.is_none() {
        return fail(
            Reason::TlogMissing,
            "the policy requires a transparency-log entry and the bundle has none".into(),
        );
    }
    let mut predicate_type = None;
    if let Content::Dsse {
        payload_type,
        payload,
        ..
    } = &bundle.content
    {
        if payload_type != IN_TOTO_PAYLOAD_TYPE {
            return fail(
                Reason::MalformedPayload,
                format!(
                    "the envelope's payload type is {payload_type:?}, not {IN_TOTO_PAYLOAD_TYPE}"
                ),
            );
        }
        let statement = match Statement::parse(payload) {
            Ok(statement) => statement,
            Err(msg) => {
                return fail(
                    Reason::MalformedPayload,
                    format!("the signed statement: {msg}"),
                );
            }
        };
        predicate_type = Some(statement.predicate_type.clone());
        let with_type = |outcome: Outcome| Outcome {
            predicate_type: Some(statement.predicate_type.clone()),
            ..outcome
        };
        let Some(subject) = statement.subject_for(&target.digest()) else {
            return with_type(fail(
                Reason::ClaimDigestMismatch,
                format!(
                    "the signed statement is not about {} (no subject has that sha256)",
                    target.digest()
                ),
            ));
        };
        if let Target::Image {
            expected_repository,
            ..
        } = target
        {
            if statement.predicate_type != COSIGN_SIGN_PREDICATE_TYPE {
                return with_type(fail(
                    Reason::NotASignature,
                    format!(
                        "the signed statement is an attestation of type {:?}, not a cosign \
                         signature ({COSIGN_SIGN_PREDICATE_TYPE})",
                        statement.predicate_type
                    ),
                ));
            }
            if let Some(expected) = expected_repository {
                let named = subject.name.as_deref().unwrap_or("");
                let repository = Reference::parse(named).map(|r| r.repository_name());
                if repository.as_deref() != Ok(*expected) {
                    return with_type(fail(
                        Reason::ReferenceMismatch,
                        format!(
                            "the signed statement's subject names {named:?}, not repository \
                             {expected:?} (cosign v3 signatures name none)"
                        ),
                    ));
                }
            }
            for (name, wanted) in policy.annotations() {
                match subject.annotations.get(name) {
                    Some(Value::String(found)) if found == wanted => {}
                    Some(found) => {
                        return with_type(fail(
                            Reason::AnnotationMismatch,
                            format!(
                                "annotation {name:?} is {found}, the policy requires {wanted:?}"
                            ),
                        ));
                    }
                    None => {
                        return with_type(fail(
                            Reason::AnnotationMismatch,
                            format!(
                                "annotation {name:?} is missing, the policy requires {wanted:?}"
                            ),
                        ));
                    }
                }
            }
        }
    }
    let name = &signer.name;
    Outcome {
        status: Reason::Verified,
        key: Some(key),
        message: match log_entry {
            Some(entry) => format!(
                "bundle signature verified with key {name:?} ({algorithm}), logged at index {}",
                entry.log_index
            ),
            None => format!("bundle signature verified with key {name:?} ({algorithm})"),
        },
        log_entry,
        predicate_type,
    }
}

/// The bundle's log entries, as the policy's mode asks: with `ignore`, none is read; otherwise
/// every entry must verify (an entry of a log the policy does not trust is an error, not
/// skipped), and the first one's place in the log is returned.
fn check_log(
    policy: &Policy,
    bundle: &Bundle,
    logged: Logged<'_>,
    signature: &[u8],
    signer: &PublicKey,
) -> Result<Option<LogEntry>, String> {
    if policy.rekor_mode() == RekorMode::Ignore {
        return Ok(None);
    }
    let mut first = None;
    for (i, entry) in bundle.tlog_entries.iter().enumerate() {
        let verified =
            rekor::verify_bundle_entry(entry, policy.log_keys(), logged, signature, signer)
                .map_err(|err| format!("log entry {i}: {err}"))?;
        first.get_or_insert(verified);
    }
    Ok(first)
}

/// Verifies a Sigstore bundle for an artifact known by its sha256, as `cosign verify-blob` and
/// the sigstore-conformance suite's `verify-bundle` do: a message signature over the digest, or
/// a DSSE statement with the digest among its subjects (of any predicate type). The verdict has
/// no image; its `bundles` holds the one result.
pub fn verify_artifact_bundle(policy: &Policy, bundle: &[u8], digest: &Sha256Digest) -> Verdict {
    let outcome = check_bundle(policy, bundle, &Target::Artifact { digest: *digest });
    let mut verdict = Verdict::denied(Reason::NoSignatures, String::new());
    verdict.digest = Some(digest.to_string());
    verdict.policy_digest = Some(policy.digest().to_string());
    let mut satisfied = alloc::vec![false; policy.keys().len()];
    if outcome.status == Reason::Verified
        && let Some(key) = outcome.key
    {
        satisfied[key] = true;
    }
    verdict
        .bundles
        .push(outcome.result(policy, Sha256Digest::of(bundle).to_string()));
    crate::verify::decide(policy, &satisfied, &mut verdict);
    verdict
}
