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
use alloc::vec::Vec;

use serde_json::Value;

use crate::attestation::AttestationRule;
use crate::bundle::{self, Bundle, Content, Material};
use crate::certificate::{Certificate, CertificateError, verify_chain_at, verify_embedded_sct};
use crate::digest::Sha256Digest;
use crate::identity;
use crate::keys::{HashAlgorithm, PublicKey, SignatureError};
use crate::policy::{Policy, RekorMode};
use crate::reason::Reason;
use crate::reference::Reference;
use crate::rekor::{self, LogEntry, Logged, Signer};
use crate::statement::{COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, Statement};
use crate::timestamp::verify_timestamp;
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

/// The outcome of one bundle's checks.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub(crate) status: Reason,
    pub(crate) key: Option<usize>,
    pub(crate) message: String,
    pub(crate) log_entry: Option<LogEntry>,
    pub(crate) predicate_type: Option<String>,
    /// The statement, once everything but an attestation rule's conditions has passed.
    pub(crate) statement: Option<alloc::boxed::Box<Statement>>,
}

impl Outcome {
    pub(crate) fn fail(status: Reason, message: impl Into<String>) -> Self {
        Self {
            status,
            key: None,
            message: message.into(),
            log_entry: None,
            predicate_type: None,
            statement: None,
        }
    }

    /// The verdict's entry for this outcome.
    pub(crate) fn result(self, policy: &Policy, referrer: String) -> BundleResult {
        BundleResult {
            referrer,
            status: self.status,
            key: self.key.map(|k| policy.signer_name(k).into()),
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
    let fail = |status: Reason, message: String| Outcome {
        key: Some(key),
        ..Outcome::fail(status, message)
    };
    let mut predicate_type = None;
    let mut verified_statement = None;
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
        if let Target::Attestation { rule, .. } = target
            && let Err(msg) = rule.check_predicate_type(&statement)
        {
            return with_type(fail(Reason::PredicateTypeMismatch, msg));
        }
        verified_statement = Some(alloc::boxed::Box::new(statement));
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
    let fail = |status: Reason, message: String| Outcome {
        key: Some(key),
        ..Outcome::fail(status, message)
    };
    let signer = &policy.keys()[key];
    let log_entry = check_log(policy, bundle, logged, signature, Signer::Key(&signer.key))
        .map_err(|(status, message)| fail(status, message))?
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
    let leaf = Certificate::from_der(leaf_der).map_err(|err| {
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
    .map_err(|(status, message)| Outcome::fail(status, message))?;
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

/// The first keyless step, shared by bundles and `.sig` layers: `verify` succeeds under the
/// leaf certificate's key. Returns the algorithm that verified.
pub(crate) fn verify_under_leaf(
    leaf: &Certificate,
    verify: impl Fn(&PublicKey) -> Result<String, SignatureError>,
) -> Result<String, (Reason, String)> {
    let key = leaf
        .public_key(crate::keys::KeyOptions::default())
        .map_err(|err| {
            (
                Reason::UntrustedCertificate,
                format!("the certificate's key: {err}"),
            )
        })?;
    verify(&key).map_err(|_| {
        (
            Reason::NoMatchingSignature,
            "the signature does not verify under the signing certificate's key".into(),
        )
    })
}

/// The last keyless steps, shared by bundles and `.sig` layers, for a leaf whose signature and
/// log entries have verified and at the times the evidence proves (at least one): at every
/// time, the leaf chains to a certificate authority of the trusted root (whose window contains
/// it) as a code-signing path ([`crate::x509::path`]); an embedded SCT verifies under a CT log
/// of the root; and it names an identity of the policy. Returns that identity's index among
/// the policy's identities, and words for the signer.
pub(crate) fn keyless_signer(
    policy: &Policy,
    leaf: &Certificate,
    times: &[i64],
) -> Result<(usize, String), (Reason, String)> {
    let root = policy.trusted_root();
    if times.is_empty() {
        return Err((
            Reason::NoVerifiedTime,
            "nothing proves when the certificate signed: no verified signed timestamp, and no \
             log entry with an inclusion promise"
                .into(),
        ));
    }
    let authority = verify_chain_at(leaf, root.authorities(), times).map_err(|err| match err {
        CertificateError::NotValidAt(time) => (
            Reason::CertificateOutsideValidity,
            format!(
                "the signing certificate is not valid at {}, when it signed (valid {} to {})",
                crate::time::format_rfc3339(time),
                crate::time::format_rfc3339(leaf.validity().0),
                crate::time::format_rfc3339(leaf.validity().1),
            ),
        ),
        other => (
            Reason::UntrustedCertificate,
            format!(
                "at {}: {other}",
                times
                    .iter()
                    .map(|t| crate::time::format_rfc3339(*t))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        ),
    })?;
    let issuer = root.authorities()[authority]
        .chain()
        .first()
        .ok_or_else(|| {
            (
                Reason::UntrustedCertificate,
                String::from("the authority has no certificate"),
            )
        })?;
    verify_embedded_sct(leaf, issuer, root.ct_logs())
        .map_err(|err| (Reason::SctInvalid, err.to_string()))?;
    let subject = identity::subject(leaf).unwrap_or("");
    let issuer_name = leaf.oidc_issuer().unwrap_or("");
    let Some(index) = policy.identities().iter().position(|i| i.matches(leaf)) else {
        return Err((
            Reason::IdentityMismatch,
            format!(
                "the certificate was issued to {subject:?} by {issuer_name:?}, which no policy \
                 identity names"
            ),
        ));
    };
    let name = policy.identities()[index].name();
    Ok((
        index,
        format!("identity {name:?} ({subject} from {issuer_name})"),
    ))
}

/// The bundle's log entries, as the policy's mode asks: with `ignore`, none is read; otherwise
/// every entry must verify (an entry of a log the policy does not trust is an error, not
/// skipped), and what each proves is returned, in bundle order.
fn check_log(
    policy: &Policy,
    bundle: &Bundle,
    logged: Logged<'_>,
    signature: &[u8],
    signer: Signer<'_>,
) -> Result<Vec<LogEntry>, (Reason, String)> {
    if policy.rekor_mode() == RekorMode::Ignore {
        return Ok(Vec::new());
    }
    let entries = bundle
        .tlog_entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            rekor::verify_bundle_entry(entry, policy.log_keys(), logged, signature, signer).map_err(
                |err| {
                    (
                        Reason::TlogVerificationFailed,
                        format!("log entry {i}: {err}"),
                    )
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if policy.rekor_mode() == RekorMode::Require && entries.is_empty() {
        return Err((
            Reason::TlogMissing,
            "the policy requires a transparency-log entry and the bundle has none".into(),
        ));
    }
    Ok(entries)
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
        .push(outcome.result(policy, Sha256Digest::of(bundle).to_string()));
    crate::verify::decide(policy, &satisfied, &mut verdict);
    verdict
}
