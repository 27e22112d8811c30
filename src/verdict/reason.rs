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
    /// Policy sets: no rule of the set matches the image, and `unmatched` is `deny` (or, when
    /// it admits, says why nothing was checked).
    UnmatchedImage,
    /// Policy sets: a matching rule is `static: fail`.
    StaticFail,
    /// The WebAssembly module trapped, ran out of fuel or memory, or broke its ABI. Only hosts
    /// produce this; the core never does.
    ModuleTrap,
}

impl Reason {
    /// Every reason, in declaration order (`docs/schema/verdict.schema.json` lists the same
    /// codes; a test holds them together).
    pub const ALL: [Self; 39] = [
        Self::Verified,
        Self::NoSignatures,
        Self::NoMatchingSignature,
        Self::ThresholdNotMet,
        Self::RequiredKeyMissing,
        Self::AnnotationMismatch,
        Self::ClaimDigestMismatch,
        Self::ReferenceMismatch,
        Self::PayloadDigestMismatch,
        Self::PayloadSizeMismatch,
        Self::PayloadMissing,
        Self::PayloadUnavailable,
        Self::WrongMediaType,
        Self::MalformedManifest,
        Self::MalformedPayload,
        Self::MalformedSignature,
        Self::InvalidPolicy,
        Self::InvalidEvidence,
        Self::LimitExceeded,
        Self::TlogVerificationFailed,
        Self::TlogMissing,
        Self::PlatformNotVerified,
        Self::SubjectMismatch,
        Self::MalformedBundle,
        Self::UnsupportedBundle,
        Self::UntrustedCertificate,
        Self::CertificateOutsideValidity,
        Self::SctInvalid,
        Self::IdentityMismatch,
        Self::NoVerifiedTime,
        Self::TimestampInvalid,
        Self::NotASignature,
        Self::BundleUnavailable,
        Self::NoAttestations,
        Self::PredicateTypeMismatch,
        Self::ConditionNotMet,
        Self::UnmatchedImage,
        Self::StaticFail,
        Self::ModuleTrap,
    ];

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
            Self::UnmatchedImage => "unmatched_image",
            Self::StaticFail => "static_fail",
            Self::ModuleTrap => "module_trap",
        }
    }

    /// The reason a code names ([`Reason::code`]'s inverse).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.code() == code)
    }

    /// How far through the checks of one signature (a `.sig` layer, a bundle, keyless or
    /// not, an attestation) a result with this status got: every status has its place, the
    /// checks of every format in one order, so that the top-level reason of a denial is the
    /// status of the signature that got furthest, whatever its format. Statuses that are not
    /// a signature's (`no_signatures`, `threshold_not_met`, …) are 0; `verified` is last.
    ///
    /// The order: the container (media type, subject, size, the blob), the bundle's shape, the
    /// signature, the log entries, the keyless certificate (times, validity, chain, SCT,
    /// identity), then what the signed payload says. `docs/contracts.md` lists the checks of
    /// each format in this order (a test holds them to it).
    pub fn progress(self) -> u8 {
        match self {
            Self::NoSignatures
            | Self::ThresholdNotMet
            | Self::RequiredKeyMissing
            | Self::MalformedManifest
            | Self::InvalidPolicy
            | Self::InvalidEvidence
            | Self::PlatformNotVerified
            | Self::NoAttestations
            | Self::UnmatchedImage
            | Self::StaticFail
            | Self::ModuleTrap => 0,
            Self::WrongMediaType => 1,
            Self::SubjectMismatch => 2,
            Self::LimitExceeded => 3,
            // The blob is not in hand: one check, whatever the reason.
            Self::PayloadMissing | Self::PayloadUnavailable | Self::BundleUnavailable => 4,
            Self::PayloadSizeMismatch => 5,
            Self::PayloadDigestMismatch => 6,
            Self::MalformedBundle => 7,
            Self::UnsupportedBundle => 8,
            Self::MalformedSignature => 9,
            Self::NoMatchingSignature => 10,
            Self::TlogMissing => 11,
            Self::TlogVerificationFailed => 12,
            Self::TimestampInvalid => 13,
            Self::NoVerifiedTime => 14,
            Self::CertificateOutsideValidity => 15,
            Self::UntrustedCertificate => 16,
            Self::SctInvalid => 17,
            Self::IdentityMismatch => 18,
            Self::MalformedPayload => 19,
            Self::ClaimDigestMismatch => 20,
            Self::NotASignature => 21,
            Self::PredicateTypeMismatch => 22,
            Self::ReferenceMismatch => 23,
            Self::AnnotationMismatch => 24,
            Self::ConditionNotMet => 25,
            Self::Verified => 26,
        }
    }
}

impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Reason::ALL`] is every code the verdict schema allows, and no other.
    #[test]
    fn all_is_every_reason_of_the_schema() {
        let schema = include_str!("../../docs/schema/verdict.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(schema).unwrap_or_else(|e| unreachable!("{e}"));
        let mut listed: alloc::vec::Vec<&str> = schema
            .pointer("/$defs/reason/enum")
            .and_then(serde_json::Value::as_array)
            .map(|codes| codes.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        let mut ours: alloc::vec::Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
        listed.sort_unstable();
        ours.sort_unstable();
        assert_eq!(ours, listed);
    }
}
