//! What a signed claim must satisfy, once its signature verified, in one place for every
//! format: a `.sig` layer's simple-signing payload, and the in-toto statement of a bundle, an
//! `.att` layer or an artifact bundle. Nothing here is read before the signature over it
//! verified.
//!
//! - the claim is about this digest (`claim_digest_mismatch`);
//! - a statement is of the expected predicate type: cosign's signature type for an image
//!   signature (`not_a_signature`), the rule's for an attestation (`predicate_type_mismatch`);
//! - with `matchReference`, it names the image's repository (`reference_mismatch`);
//! - it carries every annotation the policy requires, as an equal string
//!   (`annotation_mismatch`).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use serde_json::Value;

use crate::claim::in_toto::{COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, Statement};
use crate::claim::simple_signing;
use crate::crypto::digest::Sha256Digest;
use crate::oci::reference::Reference;
use crate::policy::compiled::AttestationRule;
use crate::verdict::reason::Reason;
use crate::verify::outcome::Failure;

/// What an image signature's claim must also say, beside the digest.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SignatureClaims<'a> {
    /// With `matchReference`, the repository it must name.
    pub(crate) expected_repository: Option<&'a str>,
    /// The annotations the policy requires.
    pub(crate) annotations: &'a BTreeMap<String, String>,
}

/// What a statement must be.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expected<'a> {
    /// An image signature: cosign's signature type, and the policy's claims.
    Signature(SignatureClaims<'a>),
    /// An attestation for `rule`: the rule's predicate type (its conditions are checked on the
    /// verdict's statement, later).
    Attestation(&'a AttestationRule),
    /// A statement about an artifact, of any type.
    Artifact,
}

/// A `.sig` layer's payload, parsed only now: cosign's simple-signing shape, about `digest`,
/// naming the expected repository, with the annotations.
///
/// # Errors
/// The [`Failure`] of the first claim that does not hold.
pub(crate) fn check_payload(
    payload: &[u8],
    digest: &Sha256Digest,
    claims: SignatureClaims<'_>,
) -> Result<(), Failure> {
    let payload = simple_signing::parse(payload)
        .map_err(|msg| Failure(Reason::MalformedPayload, format!("signed payload: {msg}")))?;
    let expected = digest.to_string();
    if payload.manifest_digest != expected {
        return Err(Failure(
            Reason::ClaimDigestMismatch,
            format!(
                "the signed payload is for {}, not for this image ({expected})",
                payload.manifest_digest
            ),
        ));
    }
    if let Some(expected) = claims.expected_repository {
        let claimed = payload.docker_reference.as_deref().unwrap_or("");
        if !names_repository(claimed, expected) {
            return Err(Failure(
                Reason::ReferenceMismatch,
                format!("the signed payload names repository {claimed:?}, not {expected:?}"),
            ));
        }
    }
    check_annotations(|name| payload.optional.get(name), claims.annotations)
}

/// An envelope's statement, parsed only now: an in-toto statement with a subject whose sha256
/// is `digest`, of the type `expected` asks, and (for an image signature) with the policy's
/// claims. Returns the statement.
///
/// # Errors
/// The [`Failure`] of the first claim that does not hold, with the statement's predicate type
/// once it was read.
pub(crate) fn check_statement(
    payload_type: &str,
    payload: &[u8],
    digest: &Sha256Digest,
    expected: Expected<'_>,
) -> Result<Statement, (Failure, Option<String>)> {
    if payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err((
            Failure(
                Reason::MalformedPayload,
                format!(
                    "the envelope's payload type is {payload_type:?}, not {IN_TOTO_PAYLOAD_TYPE}"
                ),
            ),
            None,
        ));
    }
    let statement = Statement::parse(payload).map_err(|msg| {
        (
            Failure(
                Reason::MalformedPayload,
                format!("the signed statement: {msg}"),
            ),
            None,
        )
    })?;
    let typed = |failure: Failure| (failure, Some(statement.predicate_type.clone()));
    let Some(subject) = statement.subject_for(digest) else {
        return Err(typed(Failure(
            Reason::ClaimDigestMismatch,
            format!("the signed statement is not about {digest} (no subject has that sha256)"),
        )));
    };
    match expected {
        Expected::Signature(claims) => {
            if statement.predicate_type != COSIGN_SIGN_PREDICATE_TYPE {
                return Err(typed(Failure(
                    Reason::NotASignature,
                    format!(
                        "the signed statement is an attestation of type {:?}, not a cosign \
                         signature ({COSIGN_SIGN_PREDICATE_TYPE})",
                        statement.predicate_type
                    ),
                )));
            }
            if let Some(expected) = claims.expected_repository {
                let named = subject.name.as_deref().unwrap_or("");
                if !names_repository(named, expected) {
                    return Err(typed(Failure(
                        Reason::ReferenceMismatch,
                        format!(
                            "the signed statement's subject names {named:?}, not repository \
                             {expected:?} (cosign v3 signatures name none)"
                        ),
                    )));
                }
            }
            check_annotations(|name| subject.annotations.get(name), claims.annotations)
                .map_err(typed)?;
        }
        Expected::Attestation(rule) => {
            rule.check_predicate_type(&statement)
                .map_err(|msg| typed(Failure(Reason::PredicateTypeMismatch, msg)))?;
        }
        Expected::Artifact => {}
    }
    Ok(statement)
}

/// Whether a reference a claim names is of the `expected` repository.
fn names_repository(named: &str, expected: &str) -> bool {
    Reference::parse(named).is_ok_and(|reference| reference.repository_name() == expected)
}

/// Every annotation the policy requires is among `found`, as an equal string.
fn check_annotations<'a>(
    found: impl Fn(&str) -> Option<&'a Value>,
    wanted: &BTreeMap<String, String>,
) -> Result<(), Failure> {
    for (name, wanted) in wanted {
        match found(name) {
            Some(Value::String(found)) if found == wanted => {}
            Some(found) => {
                return Err(Failure(
                    Reason::AnnotationMismatch,
                    format!("annotation {name:?} is {found}, the policy requires {wanted:?}"),
                ));
            }
            None => {
                return Err(Failure(
                    Reason::AnnotationMismatch,
                    format!("annotation {name:?} is missing, the policy requires {wanted:?}"),
                ));
            }
        }
    }
    Ok(())
}
