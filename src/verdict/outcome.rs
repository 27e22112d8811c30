//! The verdict: the one output of a verification, as a value and as JSON.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use crate::verdict::reason::Reason;

/// The outcome of verifying one image against one policy. See `docs/contracts.md`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Verdict {
    /// True only when the policy is satisfied.
    pub(crate) verified: bool,
    /// One reason code for the whole verdict.
    pub(crate) reason: Reason,
    /// A sentence for people.
    pub(crate) message: String,
    /// The image reference from the evidence, when the evidence could be read.
    pub(crate) image: Option<String>,
    /// The image digest from the evidence, when the evidence could be read.
    pub(crate) digest: Option<String>,
    /// Names of the keys that each verified at least one layer, in policy order.
    pub(crate) satisfied_keys: Vec<String>,
    /// One entry per layer examined, in manifest order.
    pub(crate) signatures: Vec<LayerResult>,
    /// One entry per Sigstore bundle referrer examined (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) bundles: Vec<BundleResult>,
    /// SHA-256 of the policy's canonical form, when the policy could be read.
    pub(crate) policy_digest: Option<String>,
    /// With `verifyPlatforms`, one entry per manifest the index lists (absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) platforms: Vec<PlatformResult>,
    /// With attestation rules, one entry per attestation examined, rule by rule (absent
    /// otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) attestations: Vec<AttestationResult>,
    /// Every statement that met a rule: verified signature, subject, type and conditions.
    /// Nothing unverified ever appears here (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) statements: Vec<VerifiedStatement>,
}

/// What happened to one attestation examined for one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AttestationResult {
    /// The rule's name.
    pub rule: String,
    /// `att` (a layer of the legacy `.att` manifest) or `bundle` (a bundle referrer).
    pub format: &'static str,
    /// The `.att` layer's index, or the referrer manifest's sha256 digest.
    pub source: String,
    /// `verified`, or the first check that failed.
    pub status: Reason,
    /// The name of the rule's signer whose signature verified, if one did.
    pub key: Option<String>,
    /// A sentence for people.
    pub message: String,
    /// The signed statement's predicate type, once its signature verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
}

/// A statement that met an attestation rule, for the host's own policy language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VerifiedStatement {
    /// The rule it met.
    pub rule: String,
    /// Its predicate type.
    pub predicate_type: String,
    /// The rule's signer (key or identity name) whose signature verified.
    pub signer: String,
    /// `att` or `bundle`.
    pub format: &'static str,
    /// The name of the subject that is the image, when the statement gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The predicate, when its compact JSON is at most
    /// [`crate::limits::MAX_VERDICT_PREDICATE_BYTES`]; otherwise absent, and
    /// `predicateOmitted` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate: Option<serde_json::Value>,
    /// True when the predicate was too large to carry.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub predicate_omitted: bool,
}

/// What happened to one manifest an index lists, under `verifyPlatforms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlatformResult {
    /// The manifest's digest.
    pub digest: String,
    /// `os/architecture[/variant]`, when the index says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Whether it verified under the policy.
    pub verified: bool,
    /// Its verdict's reason.
    pub reason: Reason,
    /// Its verdict's message.
    pub message: String,
}

/// What happened to one layer of the `.sig` manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LayerResult {
    /// The layer's index in the manifest, from 0.
    pub layer: u32,
    /// `verified`, or the first check that failed.
    pub status: Reason,
    /// The name of the policy key whose signature verified, if one did.
    pub key: Option<String>,
    /// A sentence for people.
    pub message: String,
    /// When the Rekor log integrated the signature (Unix seconds), if its bundle verified.
    #[serde(rename = "integratedTime", skip_serializing_if = "Option::is_none")]
    pub integrated_time: Option<i64>,
    /// The signature's Rekor log index, if its bundle verified.
    #[serde(rename = "logIndex", skip_serializing_if = "Option::is_none")]
    pub log_index: Option<i64>,
}

/// What happened to one Sigstore bundle attached to the image as an OCI referrer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BundleResult {
    /// The referrer manifest's sha256 digest, as computed from the bytes the evidence holds.
    pub referrer: String,
    /// `verified`, or the first check that failed.
    pub status: Reason,
    /// The name of the policy key whose signature verified, if one did.
    pub key: Option<String>,
    /// A sentence for people.
    pub message: String,
    /// The statement's predicate type, once its signature verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// When the log integrated the signature (Unix seconds), if a log entry verified and says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrated_time: Option<i64>,
    /// The signature's log index, if a log entry verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<i64>,
}

/// Printed in the impossible case that serializing a verdict fails, so that a host always
/// receives a denial.
const UNSERIALIZABLE: &str = "{\"verified\":false,\"reason\":\"invalid_evidence\",\
\"message\":\"the verdict could not be serialized\",\"image\":null,\"digest\":null,\
\"satisfiedKeys\":[],\"signatures\":[],\"policyDigest\":null}";

impl Verdict {
    /// True only when the policy is satisfied; then [`Verdict::reason`] is
    /// [`Reason::Verified`], and never otherwise.
    pub fn verified(&self) -> bool {
        self.verified
    }

    /// One reason code for the whole verdict.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// A sentence for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The image reference from the evidence, when the evidence could be read.
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// The image digest from the evidence, when the evidence could be read.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// Names of the keys that each verified at least one layer, in policy order.
    pub fn satisfied_keys(&self) -> &[String] {
        &self.satisfied_keys
    }

    /// One entry per layer examined, in manifest order.
    pub fn signatures(&self) -> &[LayerResult] {
        &self.signatures
    }

    /// One entry per Sigstore bundle referrer examined.
    pub fn bundles(&self) -> &[BundleResult] {
        &self.bundles
    }

    /// SHA-256 of the policy's canonical form, when the policy could be read.
    pub fn policy_digest(&self) -> Option<&str> {
        self.policy_digest.as_deref()
    }

    /// With `verifyPlatforms`, the verdict of each manifest the index lists.
    pub fn platforms(&self) -> &[PlatformResult] {
        &self.platforms
    }

    /// With attestation rules, each attestation examined.
    pub fn attestations(&self) -> &[AttestationResult] {
        &self.attestations
    }

    /// The statements that met the attestation rules.
    pub fn statements(&self) -> &[VerifiedStatement] {
        &self.statements
    }

    /// A denial that never reached the layers: bad policy, bad evidence, a cap hit.
    pub fn denied(reason: Reason, message: String) -> Self {
        Self {
            verified: false,
            reason,
            message,
            image: None,
            digest: None,
            satisfied_keys: Vec::new(),
            signatures: Vec::new(),
            bundles: Vec::new(),
            policy_digest: None,
            platforms: Vec::new(),
            attestations: Vec::new(),
            statements: Vec::new(),
        }
    }

    /// Compact JSON; the same verdict always gives the same bytes.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| UNSERIALIZABLE.into())
    }
}
