//! The checks of one Sigstore bundle under a policy: for an image (a bundle cosign v3 attached
//! as a referrer) or for an artifact known by its digest (`ocisig verify-bundle`, cosign's
//! `verify-blob` job).
//!
//! In order, stopping at the first that fails:
//! 1. the bundle parses strictly ([`crate::sigstore::bundle::Bundle::parse`]);
//! 2. for an image its content is a DSSE envelope;
//! 3. the signature verifies under a policy key, over DSSE's PAE of the payload type and the
//!    exact payload bytes, or, for a message signature, over the artifact digest it must name
//!    (the bundle's key hint plays no part: the key that counts is the policy's); or, signed
//!    with a certificate, the keyless steps ([`keyless`], [`crate::verify::signer`]);
//! 4. its transparency-log entries, as the policy's `rekor.mode` asks
//!    ([`crate::verify::log`]);
//! 5. only now is the payload read, and its claims checked ([`crate::verify::claims`]).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::crypto::keys::{PublicKey, SignatureError};
use crate::crypto::options::HashAlgorithm;
use crate::policy::compiled::{AttestationRule, Policy};
use crate::sigstore::bundle::{self, Bundle, Content, Material};
use crate::sigstore::fulcio::FulcioCertificate;
use crate::sigstore::rekor::{self, LogEntry, Logged, Signer};
use crate::verdict::outcome::Verdict;
use crate::verdict::reason::Reason;
use crate::verify::claims::{self, Expected, SignatureClaims};
use crate::verify::decide::decide;
use crate::verify::log;
use crate::verify::outcome::{Failure, Outcome};
use crate::verify::signer::{keyless_signer, verify_under_leaf, verifying_key};
use crate::x509::certificate::Certificate;
use crate::x509::timestamp::verify_timestamp;

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
    /// An image's attestation: a DSSE statement of the rule's predicate type whose subject is
    /// the digest (the rule's conditions are the caller's to check, on the statement).
    Attestation {
        /// The image digest.
        digest: Sha256Digest,
        /// The rule.
        rule: &'a AttestationRule,
    },
}

impl Target<'_> {
    fn digest(&self) -> Sha256Digest {
        match self {
            Self::Image { digest, .. }
            | Self::Artifact { digest }
            | Self::Attestation { digest, .. } => *digest,
        }
    }
}

/// What the bundle's signature is over.
enum Signed<'b> {
    /// DSSE's PAE of the envelope.
    Message(Vec<u8>),
    /// An artifact's sha256 (a message signature).
    Digest(&'b Sha256Digest),
}

impl Signed<'_> {
    fn verify(&self, key: &PublicKey, signature: &[u8]) -> Result<String, SignatureError> {
        match self {
            Self::Message(message) => key.verify(message, signature),
            Self::Digest(digest) => {
                key.verify_digest(HashAlgorithm::Sha256, digest.as_bytes(), signature)
            }
        }
    }
}

/// A signer the checks found: its index among the policy's signers, the algorithm, what the
/// message should say of it, and the log entry that vouched for it.
struct Found {
    signer: usize,
    message: String,
    log_entry: Option<LogEntry>,
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
    // What was signed, and what the log must have recorded.
    let (signature, logged, signed) = match (&bundle.content, target) {
        (
            Content::Dsse {
                payload_type,
                payload,
                signature,
                keyid,
            },
            _,
        ) => {
            if let (Material::PublicKey { hint: Some(hint) }, Some(keyid)) =
                (&bundle.material, keyid.as_deref())
                && hint != keyid
            {
                return Outcome::fail(
                    Reason::MalformedBundle,
                    "the bundle's key hint and its envelope's keyid differ",
                );
            }
            (
                signature,
                Logged::Envelope {
                    payload_type,
                    payload,
                },
                Signed::Message(bundle::pae(payload_type, payload)),
            )
        }
        (Content::MessageSignature { .. }, Target::Image { .. } | Target::Attestation { .. }) => {
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
                Signed::Digest(artifact),
            )
        }
    };
    let found = match &bundle.material {
        Material::PublicKey { .. } => with_key(policy, &bundle, signature, logged, &signed),
        Material::Certificate(leaf) => {
            keyless(policy, &bundle, leaf, &[], signature, logged, &signed)
        }
        Material::CertificateChain(chain) => match chain.split_first() {
            Some((leaf, rest)) => keyless(policy, &bundle, leaf, rest, signature, logged, &signed),
            None => Err(Outcome::fail(
                Reason::MalformedBundle,
                "the certificate chain is empty",
            )),
        },
    };
    let Found {
        signer: key,
        message,
        log_entry,
    } = match found {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let mut predicate_type = None;
    let mut verified_statement = None;
    if let Content::Dsse {
        payload_type,
        payload,
        ..
    } = &bundle.content
    {
        let expected = match target {
            Target::Image {
                expected_repository,
                ..
            } => Expected::Signature(SignatureClaims {
                expected_repository: *expected_repository,
                annotations: policy.annotations(),
            }),
            Target::Attestation { rule, .. } => Expected::Attestation(rule),
            Target::Artifact { .. } => Expected::Artifact,
        };
        match claims::check_statement(payload_type, payload, &target.digest(), expected) {
            Ok(statement) => {
                predicate_type = Some(statement.predicate_type.clone());
                verified_statement = Some(Box::new(statement));
            }
            Err((Failure(status, message), predicate_type)) => {
                return Outcome {
                    predicate_type,
                    ..Outcome::fail_by(status, Some(key), message)
                };
            }
        }
    }
    Outcome {
        status: Reason::Verified,
        key: Some(key),
        message,
        log_entry,
        predicate_type,
        statement: verified_statement,
    }
}

/// The signer of a bundle signed with a key: the first policy key the signature verifies
/// under (the key hint plays no part), and its log entries.
fn with_key(
    policy: &Policy,
    bundle: &Bundle,
    signature: &[u8],
    logged: Logged<'_>,
    signed: &Signed<'_>,
) -> Result<Found, Outcome> {
    let (key, algorithm) = verifying_key(policy, |key| signed.verify(key, signature))
        .map_err(|(status, message)| Outcome::fail(status, message))?;
    let signer = &policy.keys()[key];
    let log_entry = check_log(policy, bundle, logged, signature, Signer::Key(&signer.key))
        .map_err(|Failure(status, message)| Outcome::fail_by(status, Some(key), message))?
        .first()
        .copied();
    let name = &signer.name;
    Ok(Found {
        signer: key,
        message: match log_entry {
            Some(entry) => format!(
                "bundle signature verified with key {name:?} ({algorithm}), logged at index {}",
                entry.log_index
            ),
            None => format!("bundle signature verified with key {name:?} ({algorithm})"),
        },
        log_entry,
    })
}

/// The signer of a keyless bundle, in order:
/// 1. the bundle's certificates beside the leaf are never trusted, and a root among them is
///    refused outright (a bundle that ships its own root is trying something);
/// 2. the signature verifies under the leaf's key;
/// 3. the log entries verify and record this signature by this certificate;
/// 4. the times: each signed timestamp verifies (any that does not is a denial), and each log
///    entry with a verified inclusion promise proves its integrated time. At least one time is
///    needed;
/// 5. at every proven time, the leaf chains to a certificate authority of the trusted root
///    whose `validFor` contains it, as a code-signing path ([`crate::x509::path`]: every
///    certificate valid then, no critical extension unprocessed, the CAs' constraints kept,
///    and the leaf may sign code);
/// 6. an embedded SCT verifies under a CT log of the trusted root;
/// 7. the certificate's identity is one the policy lists (the first in policy order counts).
#[allow(clippy::too_many_arguments)]
fn keyless(
    policy: &Policy,
    bundle: &Bundle,
    leaf_der: &[u8],
    carried: &[Vec<u8>],
    signature: &[u8],
    logged: Logged<'_>,
    signed: &Signed<'_>,
) -> Result<Found, Outcome> {
    if policy.identities().is_empty() {
        return Err(Outcome::fail(
            Reason::IdentityMismatch,
            "the bundle is signed with a certificate (keyless) and the policy lists no \
             identities",
        ));
    }
    let leaf = FulcioCertificate::from_der(leaf_der).map_err(|err| {
        Outcome::fail(
            Reason::MalformedBundle,
            format!("the signing certificate: {err}"),
        )
    })?;
    for der in carried {
        let certificate = Certificate::from_der(der).map_err(|err| {
            Outcome::fail(
                Reason::MalformedBundle,
                format!("a chain certificate: {err}"),
            )
        })?;
        if certificate.is_self_signed() {
            return Err(Outcome::fail(
                Reason::MalformedBundle,
                "the bundle carries a root certificate; trust comes from the trusted root only",
            ));
        }
    }
    let algorithm = verify_under_leaf(&leaf, |key| signed.verify(key, signature))
        .map_err(|(status, message)| Outcome::fail(status, message))?;
    let log_entries = check_log(
        policy,
        bundle,
        logged,
        signature,
        Signer::Certificate(leaf_der),
    )
    .map_err(Outcome::from)?;
    // The times the evidence proves: each signed timestamp's, and each verified inclusion
    // promise's.
    let mut times: Vec<i64> = log_entries.iter().filter_map(|e| e.proven_time).collect();
    for (i, response) in bundle.timestamps.iter().enumerate() {
        let time = verify_timestamp(
            response,
            signature,
            policy.trusted_root().timestamp_authorities(),
        )
        .map_err(|err| {
            Outcome::fail(
                Reason::TimestampInvalid,
                format!("signed timestamp {i}: {err}"),
            )
        })?;
        times.push(time);
    }
    let log_entry = log_entries.first().copied();
    let (index, described) = keyless_signer(policy, &leaf, &times)
        .map_err(|(status, message)| Outcome::fail(status, message))?;
    Ok(Found {
        signer: policy.keys().len() + index,
        message: format!(
            "bundle signed by {described} ({algorithm}), certificate valid when it signed{}",
            match log_entry {
                Some(entry) => format!(", logged at index {}", entry.log_index),
                None => String::new(),
            }
        ),
        log_entry,
    })
}

/// The bundle's log entries, as the policy's mode asks ([`log::check_entries`]): an entry of
/// a log the policy does not trust is an error, not skipped; what each proves is returned, in
/// bundle order.
fn check_log(
    policy: &Policy,
    bundle: &Bundle,
    logged: Logged<'_>,
    signature: &[u8],
    signer: Signer<'_>,
) -> Result<Vec<LogEntry>, Failure> {
    log::check_entries(
        policy.rekor_mode(),
        &bundle.tlog_entries,
        |i, entry| {
            rekor::verify_bundle_entry(entry, policy.log_keys(), logged, signature, signer)
                .map_err(|err| format!("log entry {i}: {err}"))
        },
        || "the policy requires a transparency-log entry and the bundle has none".into(),
    )
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
    let mut satisfied = alloc::vec![false; policy.signer_count()];
    if outcome.status == Reason::Verified
        && let Some(key) = outcome.key
    {
        satisfied[key] = true;
    }
    verdict
        .bundles
        .push(outcome.bundle_result(policy, Sha256Digest::of(bundle).to_string()));
    decide(policy, &satisfied, &mut verdict);
    verdict
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::claim::in_toto::COSIGN_SIGN_PREDICATE_TYPE;
    use crate::crypto::digest::Sha256Digest;
    use crate::testing::{
        Signer, dsse_bundle, evidence, image_digest, message_bundle, policy, run, statement,
    };
    use crate::verdict::reason::Reason;

    #[test]
    fn a_bundle_by_a_policy_key_verifies_and_an_attestation_is_not_a_signature() {
        let alice = Signer::new("alice", 1);
        let signature = dsse_bundle(
            &alice,
            &statement(&image_digest(), COSIGN_SIGN_PREDICATE_TYPE),
        );
        let verdict = run(&policy(&[&alice], json!({})), &evidence(None, &[signature]));
        assert!(verdict.verified(), "{}", verdict.to_json());
        assert_eq!(
            verdict.message(),
            "signed by alice (Sigstore bundle) (threshold 1)"
        );

        let provenance = dsse_bundle(
            &alice,
            &statement(&image_digest(), "https://slsa.dev/provenance/v1"),
        );
        let verdict = run(
            &policy(&[&alice], json!({})),
            &evidence(None, &[provenance]),
        );
        assert_eq!(verdict.reason(), Reason::NotASignature);

        let other = dsse_bundle(
            &alice,
            &statement(&Sha256Digest::of(b"other"), COSIGN_SIGN_PREDICATE_TYPE),
        );
        let verdict = run(&policy(&[&alice], json!({})), &evidence(None, &[other]));
        assert_eq!(verdict.reason(), Reason::ClaimDigestMismatch);

        let mallory = Signer::new("mallory", 3);
        let forged = dsse_bundle(
            &mallory,
            &statement(&image_digest(), COSIGN_SIGN_PREDICATE_TYPE),
        );
        let verdict = run(&policy(&[&alice], json!({})), &evidence(None, &[forged]));
        assert_eq!(verdict.reason(), Reason::NoMatchingSignature);

        // Only bundles accepted: a .sig format policy sees nothing.
        let legacy = policy(&[&alice], json!({"formats": ["simplesigning"]}));
        let signature = dsse_bundle(
            &alice,
            &statement(&image_digest(), COSIGN_SIGN_PREDICATE_TYPE),
        );
        let verdict = run(&legacy, &evidence(None, &[signature]));
        assert_eq!(verdict.reason(), Reason::NoSignatures);
        assert!(
            verdict.message().contains("excludes bundle")
                || verdict.message().contains("exclude bundle"),
            "{}",
            verdict.message()
        );
    }

    #[test]
    fn an_artifact_bundle_verifies_for_its_digest_only() {
        let alice = Signer::new("alice", 1);
        let artifact = b"an artifact";
        let bundle = message_bundle(&alice, artifact);
        let ours = policy(&[&alice], json!({}));
        let verdict = super::verify_artifact_bundle(&ours, &bundle, &Sha256Digest::of(artifact));
        assert!(verdict.verified(), "{}", verdict.to_json());
        let verdict = super::verify_artifact_bundle(&ours, &bundle, &Sha256Digest::of(b"another"));
        assert_eq!(verdict.reason(), Reason::ClaimDigestMismatch);
        let verdict = crate::verify_bundle_json(&ours, &bundle, b"sha256:nothex");
        assert_eq!(verdict.reason(), Reason::InvalidEvidence);
    }
}
