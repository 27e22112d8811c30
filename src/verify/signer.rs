//! Who signed: the first policy key under which a signature verifies, or, keyless, the
//! identity of the policy a Fulcio certificate names, once the certificate is trusted (its
//! path to a certificate authority of the trusted root at every proven time, and its SCT).
//! Shared by `.sig` layers, bundles and attestations.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::crypto::keys::{PublicKey, SignatureError};
use crate::encoding::time::format_rfc3339;
use crate::policy::compiled::Policy;
use crate::sigstore::fulcio::{FulcioCertificate, verify_embedded_sct};
use crate::sigstore::identity;
use crate::verdict::reason::Reason;
use crate::x509::authority::{ChainError, verify_leaf};
use crate::x509::path::Purpose;

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

/// The first keyless step, shared by bundles and `.sig` layers: `verify` succeeds under the
/// leaf certificate's key. Returns the algorithm that verified.
pub(crate) fn verify_under_leaf(
    leaf: &FulcioCertificate,
    verify: impl Fn(&PublicKey) -> Result<String, SignatureError>,
) -> Result<String, (Reason, String)> {
    let key = leaf
        .certificate()
        .public_key(crate::crypto::options::KeyOptions::default())
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
    fulcio: &FulcioCertificate,
    times: &[i64],
) -> Result<(usize, String), (Reason, String)> {
    let root = policy.trusted_root();
    let leaf = fulcio.certificate();
    if times.is_empty() {
        return Err((
            Reason::NoVerifiedTime,
            "nothing proves when the certificate signed: no verified signed timestamp, and no \
             log entry with an inclusion promise"
                .into(),
        ));
    }
    let authority = verify_leaf(leaf, root.authorities(), Purpose::CodeSigning, times).map_err(
        |err| match err {
            ChainError::NotValidAt(time) => (
                Reason::CertificateOutsideValidity,
                format!(
                    "the signing certificate is not valid at {}, when it signed (valid {} to {})",
                    format_rfc3339(time),
                    format_rfc3339(leaf.validity().0),
                    format_rfc3339(leaf.validity().1),
                ),
            ),
            other => (
                Reason::UntrustedCertificate,
                format!(
                    "at {}: {other}",
                    times
                        .iter()
                        .map(|t| format_rfc3339(*t))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ),
        },
    )?;
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
    let issuer_name = fulcio.oidc_issuer().unwrap_or("");
    let Some(index) = policy.identities().iter().position(|i| i.matches(fulcio)) else {
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
