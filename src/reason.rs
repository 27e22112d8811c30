//! Reason codes: the one vocabulary for top-level verdicts and per-layer statuses.

use serde::Serialize;

/// Why a verdict or a layer came out as it did. Serialized in `snake_case`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// The policy is satisfied (top level) or the layer passed every check (layer).
    Verified,
    /// There is no `.sig` manifest (or it has no layers) and no Sigstore bundle referrer.
    NoSignatures,
    /// No policy key verifies the layer's signature.
    NoMatchingSignature,
    /// Fewer distinct keys verified than the threshold asks for.
    ThresholdNotMet,
    /// A key the policy requires did not verify any layer.
    RequiredKeyMissing,
    /// The verified payload lacks an annotation the policy requires, or has another value.
    AnnotationMismatch,
    /// The verified payload names another image digest.
    ClaimDigestMismatch,
    /// The verified payload names another repository (with `matchReference`).
    ReferenceMismatch,
    /// The blob's sha256 differs from the layer descriptor's digest.
    PayloadDigestMismatch,
    /// The blob's length differs from the layer descriptor's size.
    PayloadSizeMismatch,
    /// The evidence has no blob for the layer's digest.
    PayloadMissing,
    /// The host cannot fetch blobs (Kubewarden), and no payload rebuilt from the image
    /// reference, digest and policy annotations hashes to the layer's digest.
    PayloadUnavailable,
    /// The layer is not a cosign simple-signing layer.
    WrongMediaType,
    /// The `.sig` manifest is not a well-formed image manifest.
    MalformedManifest,
    /// The signed payload is not strict JSON of the simple-signing shape.
    MalformedPayload,
    /// The signature annotation is missing, not standard base64, or not a signature of the
    /// policy keys' type.
    MalformedSignature,
    /// The policy document is not valid.
    InvalidPolicy,
    /// The evidence document is not valid.
    InvalidEvidence,
    /// A size or count limit was hit before the work was done.
    LimitExceeded,
    /// The layer's signature verified, but its Rekor bundle does not (wrong log, bad SET, or
    /// an entry for another payload, signature or key).
    TlogVerificationFailed,
    /// The policy requires a Rekor bundle and the layer has none.
    TlogMissing,
    /// The policy asks every manifest of an image index to verify (`verifyPlatforms`), and one
    /// did not, or the evidence lacks what that check needs.
    PlatformNotVerified,
    /// A bundle referrer names another image as its subject.
    SubjectMismatch,
    /// A Sigstore bundle, or the referrer manifest carrying it, is not well formed.
    MalformedBundle,
    /// A Sigstore bundle this verifier cannot check: a message signature where an image needs
    /// a DSSE statement.
    UnsupportedBundle,
    /// Keyless: the signing certificate does not chain to a certificate authority of the
    /// trusted root, or may not sign code.
    UntrustedCertificate,
    /// Keyless: the signing certificate, or its authority, was not valid at the time the
    /// evidence proves the signature was made.
    CertificateOutsideValidity,
    /// Keyless: no embedded SCT of the certificate verifies under a CT log of the trusted root.
    SctInvalid,
    /// Keyless: the certificate is trusted, but issued to an identity the policy does not list
    /// (another subject or OIDC issuer), or the policy lists none.
    IdentityMismatch,
    /// Keyless: nothing proves when the signature was made: no verified signed timestamp and
    /// no log entry with a verified inclusion promise.
    NoVerifiedTime,
    /// Keyless: a signed timestamp does not verify: malformed, over another signature, or not
    /// from a timestamp authority of the trusted root valid at its time.
    TimestampInvalid,
    /// A bundle verified under a policy key, but its statement is an attestation (another
    /// predicate type), not a cosign image signature.
    NotASignature,
    /// The host cannot fetch blobs (Kubewarden), so a Sigstore bundle attached to the image
    /// could not be read, let alone verified.
    BundleUnavailable,
    /// An attestation rule found no attestation at all: no `.att` manifest and no bundle
    /// referrer (in the formats the policy accepts).
    NoAttestations,
    /// A verified statement is of another predicate type than the rule's (a signature offered
    /// as provenance, an SBOM as a scan), or an `.att` layer's `predicateType` annotation and
    /// its signed statement disagree.
    PredicateTypeMismatch,
    /// A verified statement of the rule's type fails one of the rule's conditions.
    ConditionNotMet,
    /// The WebAssembly module trapped, ran out of fuel or memory, or broke its ABI. Only hosts
    /// produce this; the core never does.
    ModuleTrap,
}

impl Reason {
    /// The `snake_case` code, as it appears in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::NoSignatures => "no_signatures",
            Self::NoMatchingSignature => "no_matching_signature",
            Self::ThresholdNotMet => "threshold_not_met",
            Self::RequiredKeyMissing => "required_key_missing",
            Self::AnnotationMismatch => "annotation_mismatch",
            Self::ClaimDigestMismatch => "claim_digest_mismatch",
            Self::ReferenceMismatch => "reference_mismatch",
            Self::PayloadDigestMismatch => "payload_digest_mismatch",
            Self::PayloadSizeMismatch => "payload_size_mismatch",
            Self::PayloadMissing => "payload_missing",
            Self::PayloadUnavailable => "payload_unavailable",
            Self::WrongMediaType => "wrong_media_type",
            Self::MalformedManifest => "malformed_manifest",
            Self::MalformedPayload => "malformed_payload",
            Self::MalformedSignature => "malformed_signature",
            Self::InvalidPolicy => "invalid_policy",
            Self::InvalidEvidence => "invalid_evidence",
            Self::LimitExceeded => "limit_exceeded",
            Self::TlogVerificationFailed => "tlog_verification_failed",
            Self::TlogMissing => "tlog_missing",
            Self::PlatformNotVerified => "platform_not_verified",
            Self::SubjectMismatch => "subject_mismatch",
            Self::MalformedBundle => "malformed_bundle",
            Self::UnsupportedBundle => "unsupported_bundle",
            Self::UntrustedCertificate => "untrusted_certificate",
            Self::CertificateOutsideValidity => "certificate_outside_validity",
            Self::SctInvalid => "sct_invalid",
            Self::IdentityMismatch => "identity_mismatch",
            Self::NoVerifiedTime => "no_verified_time",
            Self::TimestampInvalid => "timestamp_invalid",
            Self::NotASignature => "not_a_signature",
            Self::BundleUnavailable => "bundle_unavailable",
            Self::NoAttestations => "no_attestations",
            Self::PredicateTypeMismatch => "predicate_type_mismatch",
            Self::ConditionNotMet => "condition_not_met",
            Self::ModuleTrap => "module_trap",
        }
    }

    /// How far through the per-layer check order a layer with this status got: its place in
    /// [`crate::inspect::LAYER_CHECKS`], the one list of the checks in order (1 for the first,
    /// one past the last for `verified`, 0 for statuses that are not layer statuses). The
    /// top-level reason of a failed verdict is the status of the layer that got furthest.
    pub(crate) fn layer_progress(self) -> u8 {
        let checks = &crate::inspect::LAYER_CHECKS;
        // Both mean the payload is not in hand; they are one check.
        let status = match self {
            Self::PayloadUnavailable => Self::PayloadMissing,
            other => other,
        };
        let place = if status == Self::Verified {
            Some(checks.len() + 1)
        } else {
            checks
                .iter()
                .position(|check| check.status == status)
                .map(|index| index + 1)
        };
        place.and_then(|p| u8::try_from(p).ok()).unwrap_or(0)
    }
}

impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())
    }
}
