//! The policy: which keys are trusted and what a signature must say. Parsed and checked once,
//! then used for any number of verifications.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::attestation::{AttestationRule, Condition};
use crate::digest::Sha256Digest;
use crate::identity::{Identity, Matcher};
use crate::keys::{HashAlgorithm, KeyError, KeyOptions, PublicKey, RsaScheme};
use crate::limits;
use crate::rekor::LogKey;
use crate::strict_json::{self, Fields};
use crate::trusted_root::TrustedRoot;

/// Why a policy document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is larger than [`limits::MAX_POLICY_BYTES`].
    TooLarge(usize),
    /// The document is not strict JSON of the policy's shape.
    Syntax(String),
    /// The document parses but breaks a rule.
    Invalid {
        /// The field at fault, as a path (`keys[2].name`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A public key the policy names was refused.
    InvalidKey {
        /// The field at fault (`keys[2].publicKey`).
        field: String,
        /// The key's name in the policy, if it has one.
        name: Option<String>,
        /// Why the key was refused.
        error: KeyError,
    },
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

impl core::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge(n) => write!(
                f,
                "policy is {n} bytes; the most accepted is {}",
                limits::MAX_POLICY_BYTES
            ),
            Self::Syntax(msg) => write!(f, "policy is not valid JSON of the policy shape: {msg}"),
            Self::Invalid { field, problem } => write!(f, "invalid policy: {field}: {problem}"),
            Self::InvalidKey {
                field,
                name: Some(name),
                error,
            } => write!(f, "invalid policy: {field} ({name:?}): {error}"),
            Self::InvalidKey {
                field,
                name: None,
                error,
            } => write!(f, "invalid policy: {field}: {error}"),
        }
    }
}

impl core::error::Error for PolicyError {}

/// The policy document, as written (camelCase JSON). See `docs/contracts.md`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyDocument {
    /// The trusted keys.
    #[serde(default)]
    pub keys: Vec<KeyDocument>,
    /// The trusted keyless signers: OIDC identities whose Fulcio certificates count like keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityDocument>,
    /// A Sigstore `trusted_root.json`: the transparency logs, certificate authorities, CT logs
    /// and timestamp authorities to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_root: Option<serde_json::Value>,
    /// How many distinct keys must each verify a layer (default 1).
    #[serde(default = "default_threshold")]
    pub threshold: u32,
    /// Key names that must be among those that verified.
    #[serde(default)]
    pub required: Vec<String>,
    /// Pairs that must appear in the `optional` section of the same payload that verified.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Require `critical.identity.docker-reference` to name the evidence image's repository.
    #[serde(default)]
    pub match_reference: bool,
    /// For an image index, every manifest it lists must verify under this policy too (what
    /// `cosign sign --recursive` promises), not only the index itself.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub verify_platforms: bool,
    /// Size and count caps.
    #[serde(default)]
    pub limits: LimitsDocument,
    /// Offline checks of the Rekor bundles cosign attaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekor: Option<RekorDocument>,
    /// Which signature formats count: `simplesigning` (the `.sig` tag) and `bundle` (Sigstore
    /// bundles attached as OCI referrers). Both by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formats: Option<Vec<Format>>,
    /// Attestations the image must have: each rule must be met, beside the signature rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<AttestationDocument>,
}

/// One attestation rule, as written: a predicate type, who must have signed it, and what the
/// predicate must say.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttestationDocument {
    /// The name the verdict uses [default: the predicate type as written].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A URI, or one of cosign's short names (`slsaprovenance1`, `spdxjson`, `vuln`, …).
    pub predicate_type: String,
    /// The keys that may sign it [default: the policy's keys and identities, when the rule
    /// names neither keys nor identities].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyDocument>,
    /// The keyless signers that may sign it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityDocument>,
    /// How many distinct signers must have signed a statement of this type (default 1).
    #[serde(default = "default_threshold")]
    pub threshold: u32,
    /// Signer names that must be among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// JSON pointer (into the predicate) → `{"equals": V}`, `{"oneOf": [V…]}` or
    /// `{"prefix": "S"}`; every one must hold.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, serde_json::Value>,
}

/// A signature storage format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// cosign's legacy `.sig` tag of simple-signing layers.
    Simplesigning,
    /// Sigstore bundles attached to the image as OCI referrers (cosign v3).
    Bundle,
}

/// The `rekor` section: which transparency-log keys to trust, and how much to insist.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RekorDocument {
    /// PEM public keys of trusted Rekor logs.
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// A Sigstore `trusted_root.json`, whose `tlogs` keys are trusted too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_root: Option<serde_json::Value>,
    /// `require`, `verify-if-present` or `ignore`; the default is `verify-if-present` when
    /// keys are given and `ignore` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RekorMode>,
}

/// How Rekor bundles count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RekorMode {
    /// A layer counts only with a bundle that verifies.
    Require,
    /// A layer's bundle, if it has one, must verify.
    VerifyIfPresent,
    /// Bundles are not looked at.
    Ignore,
}

/// One trusted keyless signer: an OIDC issuer and a certificate subject, each exact or an
/// anchored regular expression.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentityDocument {
    /// The name `required` and the verdict use [default: the subject or its pattern].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The OIDC issuer, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The OIDC issuer, as a pattern matching all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_reg_exp: Option<String>,
    /// The certificate's subject (its URI, email or other name), exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The certificate's subject, as a pattern matching all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_reg_exp: Option<String>,
    /// The GitHub workflow trigger (Fulcio extension `…57264.1.2`), exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_workflow_trigger: Option<String>,
    /// The GitHub workflow commit SHA (`…1.3`), exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_workflow_sha: Option<String>,
    /// The GitHub workflow name (`…1.4`), exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_workflow_name: Option<String>,
    /// The GitHub workflow repository, `owner/repo` (`…1.5`), exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_workflow_repository: Option<String>,
    /// The GitHub workflow ref (`…1.6`), exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_workflow_ref: Option<String>,
}

/// One trusted key.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyDocument {
    /// A unique, non-empty name, used in verdicts and in `required`.
    pub name: String,
    /// The PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1) block.
    pub public_key: String,
    /// The digest the key signs over; `auto` (the default) accepts what real signers produce.
    #[serde(default, skip_serializing_if = "is_auto")]
    pub hash_algorithm: HashAlgorithm,
    /// For RSA keys: `pkcs1v15` (the default) or `pss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<RsaScheme>,
}

impl KeyDocument {
    /// A key with the default options.
    pub fn new(name: impl Into<String>, public_key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            public_key: public_key.into(),
            hash_algorithm: HashAlgorithm::Auto,
            scheme: None,
        }
    }
}

fn is_auto(hash: &HashAlgorithm) -> bool {
    *hash == HashAlgorithm::Auto
}

/// Size and count caps; each defaults as documented in [`limits`].
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitsDocument {
    /// The most layers a `.sig` manifest may have.
    #[serde(default = "default_max_layers")]
    pub max_layers: u32,
    /// The largest payload blob, in bytes.
    #[serde(default = "default_max_payload_bytes")]
    pub max_payload_bytes: u64,
    /// The largest `.sig` manifest, in bytes.
    #[serde(default = "default_max_manifest_bytes")]
    pub max_manifest_bytes: u64,
}

impl Default for LimitsDocument {
    fn default() -> Self {
        Self {
            max_layers: limits::DEFAULT_MAX_LAYERS,
            max_payload_bytes: limits::DEFAULT_MAX_PAYLOAD_BYTES,
            max_manifest_bytes: limits::DEFAULT_MAX_MANIFEST_BYTES,
        }
    }
}

impl PolicyDocument {
    /// Parses a policy document strictly, without checking its rules (see
    /// [`Policy::from_document`]); for hosts that add to a policy file before checking it.
    ///
    /// # Errors
    /// [`PolicyError::TooLarge`] or [`PolicyError::Syntax`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, PolicyError> {
        if bytes.len() > limits::MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge(bytes.len()));
        }
        strict_json::parse_value(bytes)
            .and_then(|value| Self::read(&value))
            .map_err(PolicyError::Syntax)
    }

    /// Reads the document from a strictly parsed value, field by field (every object's
    /// unknown fields refused), without serde's derived readers: the WebAssembly modules carry
    /// one small reader instead of serde's machinery per document type.
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&[
            "keys",
            "identities",
            "trustedRoot",
            "threshold",
            "required",
            "annotations",
            "matchReference",
            "verifyPlatforms",
            "limits",
            "rekor",
            "formats",
            "attestations",
        ])?;
        Ok(Self {
            keys: f.list("keys", KeyDocument::read)?,
            identities: f.list("identities", IdentityDocument::read)?,
            trusted_root: f.opt("trustedRoot", |v| Ok(v.clone()))?,
            threshold: f.opt("threshold", strict_json::unsigned)?.unwrap_or(1),
            required: f.list("required", strict_json::string)?,
            annotations: f
                .opt("annotations", strict_json::string_map)?
                .unwrap_or_default(),
            match_reference: f.opt("matchReference", boolean)?.unwrap_or(false),
            verify_platforms: f.opt("verifyPlatforms", boolean)?.unwrap_or(false),
            limits: f.opt("limits", LimitsDocument::read)?.unwrap_or_default(),
            rekor: f.opt("rekor", RekorDocument::read)?,
            formats: f
                .opt("formats", |_| Ok(()))?
                .map(|()| {
                    f.list("formats", |v| match v.as_str() {
                        Some("simplesigning") => Ok(Format::Simplesigning),
                        Some("bundle") => Ok(Format::Bundle),
                        _ => Err(format!("{v} is not simplesigning or bundle")),
                    })
                })
                .transpose()?,
            attestations: f.list("attestations", AttestationDocument::read)?,
        })
    }
}

fn boolean(value: &serde_json::Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("expected true or false, found {value}"))
}

impl KeyDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&["name", "publicKey", "hashAlgorithm", "scheme"])?;
        Ok(Self {
            name: f.string("name")?,
            public_key: f.string("publicKey")?,
            hash_algorithm: f
                .opt("hashAlgorithm", |v| match v.as_str() {
                    Some("auto") => Ok(HashAlgorithm::Auto),
                    Some("sha256") => Ok(HashAlgorithm::Sha256),
                    Some("sha384") => Ok(HashAlgorithm::Sha384),
                    Some("sha512") => Ok(HashAlgorithm::Sha512),
                    _ => Err(format!("{v} is not auto, sha256, sha384 or sha512")),
                })?
                .unwrap_or_default(),
            scheme: f.opt("scheme", |v| match v.as_str() {
                Some("pkcs1v15") => Ok(RsaScheme::Pkcs1v15),
                Some("pss") => Ok(RsaScheme::Pss),
                _ => Err(format!("{v} is not pkcs1v15 or pss")),
            })?,
        })
    }
}

impl IdentityDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&[
            "name",
            "issuer",
            "issuerRegExp",
            "subject",
            "subjectRegExp",
            "githubWorkflowTrigger",
            "githubWorkflowSha",
            "githubWorkflowName",
            "githubWorkflowRepository",
            "githubWorkflowRef",
        ])?;
        Ok(Self {
            name: f.opt_string("name")?,
            issuer: f.opt_string("issuer")?,
            issuer_reg_exp: f.opt_string("issuerRegExp")?,
            subject: f.opt_string("subject")?,
            subject_reg_exp: f.opt_string("subjectRegExp")?,
            github_workflow_trigger: f.opt_string("githubWorkflowTrigger")?,
            github_workflow_sha: f.opt_string("githubWorkflowSha")?,
            github_workflow_name: f.opt_string("githubWorkflowName")?,
            github_workflow_repository: f.opt_string("githubWorkflowRepository")?,
            github_workflow_ref: f.opt_string("githubWorkflowRef")?,
        })
    }
}

impl LimitsDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&["maxLayers", "maxPayloadBytes", "maxManifestBytes"])?;
        let defaults = Self::default();
        Ok(Self {
            max_layers: f
                .opt("maxLayers", strict_json::unsigned)?
                .unwrap_or(defaults.max_layers),
            max_payload_bytes: f
                .opt("maxPayloadBytes", strict_json::unsigned)?
                .unwrap_or(defaults.max_payload_bytes),
            max_manifest_bytes: f
                .opt("maxManifestBytes", strict_json::unsigned)?
                .unwrap_or(defaults.max_manifest_bytes),
        })
    }
}

impl RekorDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&["publicKeys", "trustedRoot", "mode"])?;
        Ok(Self {
            public_keys: f.list("publicKeys", strict_json::string)?,
            trusted_root: f.opt("trustedRoot", |v| Ok(v.clone()))?,
            mode: f.opt("mode", |v| match v.as_str() {
                Some("require") => Ok(RekorMode::Require),
                Some("verify-if-present") => Ok(RekorMode::VerifyIfPresent),
                Some("ignore") => Ok(RekorMode::Ignore),
                _ => Err(format!("{v} is not require, verify-if-present or ignore")),
            })?,
        })
    }
}

impl AttestationDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&[
            "name",
            "predicateType",
            "keys",
            "identities",
            "threshold",
            "required",
            "conditions",
        ])?;
        Ok(Self {
            name: f.opt_string("name")?,
            predicate_type: f.string("predicateType")?,
            keys: f.list("keys", KeyDocument::read)?,
            identities: f.list("identities", IdentityDocument::read)?,
            threshold: f.opt("threshold", strict_json::unsigned)?.unwrap_or(1),
            required: f.list("required", strict_json::string)?,
            conditions: f
                .opt("conditions", |v| match v {
                    serde_json::Value::Object(map) => {
                        Ok(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    }
                    other => Err(format!("expected an object, found {other}")),
                })?
                .unwrap_or_default(),
        })
    }
}

fn default_threshold() -> u32 {
    1
}
fn default_max_layers() -> u32 {
    limits::DEFAULT_MAX_LAYERS
}
fn default_max_payload_bytes() -> u64 {
    limits::DEFAULT_MAX_PAYLOAD_BYTES
}
fn default_max_manifest_bytes() -> u64 {
    limits::DEFAULT_MAX_MANIFEST_BYTES
}

/// A trusted key with its name.
#[derive(Clone, Debug)]
pub struct NamedKey {
    pub(crate) name: String,
    pub(crate) key: PublicKey,
}

impl NamedKey {
    /// The policy's name for the key, unique within the policy.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parsed key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

/// A checked policy, ready to verify with. Built only by [`Policy::from_json`] or
/// [`Policy::from_document`], so every `Policy` has passed every rule.
#[derive(Clone, Debug)]
pub struct Policy {
    keys: Vec<NamedKey>,
    identities: Vec<Identity>,
    trusted_root: TrustedRoot,
    threshold: usize,
    required: BTreeSet<String>,
    annotations: BTreeMap<String, String>,
    match_reference: bool,
    verify_platforms: bool,
    limits: LimitsDocument,
    rekor_mode: RekorMode,
    log_keys: Vec<LogKey>,
    formats: BTreeSet<Format>,
    attestations: Vec<AttestationRule>,
    digest: Sha256Digest,
}

impl Policy {
    /// Parses and checks a policy document.
    ///
    /// # Errors
    /// [`PolicyError`] naming the field at fault.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PolicyError> {
        Self::from_document(PolicyDocument::from_json(bytes)?)
    }

    /// Checks an already-parsed policy document.
    ///
    /// # Errors
    /// [`PolicyError::Invalid`] naming the field at fault.
    pub fn from_document(document: PolicyDocument) -> Result<Self, PolicyError> {
        if document.keys.is_empty()
            && document.identities.is_empty()
            && document.attestations.is_empty()
        {
            return Err(invalid(
                "keys",
                "at least one key, identity or attestation rule is needed",
            ));
        }
        let keys = named_keys("keys", &document.keys)?;
        let trusted_root = match (&document.trusted_root, document.rekor.as_ref()) {
            (
                Some(_),
                Some(RekorDocument {
                    trusted_root: Some(_),
                    ..
                }),
            ) => {
                return Err(invalid(
                    "rekor.trustedRoot",
                    "the trusted root is given twice; keep the top-level trustedRoot",
                ));
            }
            (Some(root), _) => {
                TrustedRoot::from_value(root).map_err(|msg| invalid("trustedRoot", msg))?
            }
            (
                None,
                Some(RekorDocument {
                    trusted_root: Some(root),
                    ..
                }),
            ) => TrustedRoot::from_value(root).map_err(|msg| invalid("rekor.trustedRoot", msg))?,
            _ => TrustedRoot::default(),
        };
        let identities = identities("identities", &document.identities, &keys, &trusted_root)?;
        let (threshold, required) = if keys.is_empty() && identities.is_empty() {
            // Only attestation rules: there is no signature rule for these to shape.
            if document.threshold != 1 || !document.required.is_empty() || document.verify_platforms
            {
                return Err(invalid(
                    "threshold",
                    "threshold, required and verifyPlatforms apply to keys and identities, and \
                     the policy lists none",
                ));
            }
            (0, BTreeSet::new())
        } else {
            signer_rules(
                "",
                &keys,
                &identities,
                document.threshold,
                &document.required,
            )?
        };
        if document.annotations.len() > limits::MAX_POLICY_ANNOTATIONS {
            return Err(invalid(
                "annotations",
                format!(
                    "{} pairs; the most accepted is {}",
                    document.annotations.len(),
                    limits::MAX_POLICY_ANNOTATIONS
                ),
            ));
        }
        check_limit(
            "limits.maxLayers",
            document.limits.max_layers.into(),
            limits::CEILING_MAX_LAYERS.into(),
        )?;
        check_limit(
            "limits.maxPayloadBytes",
            document.limits.max_payload_bytes,
            limits::CEILING_MAX_PAYLOAD_BYTES,
        )?;
        check_limit(
            "limits.maxManifestBytes",
            document.limits.max_manifest_bytes,
            limits::CEILING_MAX_MANIFEST_BYTES,
        )?;
        let (rekor_mode, log_keys) =
            rekor_settings(document.rekor.as_ref(), trusted_root.logs.clone())?;
        let formats: BTreeSet<Format> = match &document.formats {
            None => [Format::Simplesigning, Format::Bundle].into(),
            Some(list) if list.is_empty() => {
                return Err(invalid(
                    "formats",
                    "an empty list would admit nothing; name simplesigning, bundle or both",
                ));
            }
            Some(list) => list.iter().copied().collect(),
        };
        let mut policy = Self {
            keys,
            identities,
            trusted_root,
            threshold,
            required,
            annotations: BTreeMap::new(),
            match_reference: false,
            verify_platforms: false,
            limits: document.limits,
            rekor_mode,
            log_keys,
            formats,
            attestations: Vec::new(),
            digest: Sha256Digest::of(b""),
        };
        let attestations = policy.attestation_rules(&document.attestations)?;
        policy.digest = canonical_digest(&document, &policy, &attestations);
        policy.attestations = attestations;
        policy.annotations = document.annotations;
        policy.match_reference = document.match_reference;
        policy.verify_platforms = document.verify_platforms;
        Ok(policy)
    }

    /// Checks the attestation rules of a policy whose own signers, trust material and settings
    /// (`self`, without annotations or attestation rules yet) are checked.
    fn attestation_rules(
        &self,
        documents: &[AttestationDocument],
    ) -> Result<Vec<AttestationRule>, PolicyError> {
        if documents.len() > limits::MAX_POLICY_ATTESTATIONS {
            return Err(invalid(
                "attestations",
                format!(
                    "{} rules; the most accepted is {}",
                    documents.len(),
                    limits::MAX_POLICY_ATTESTATIONS
                ),
            ));
        }
        let mut rules: Vec<AttestationRule> = Vec::with_capacity(documents.len());
        for (index, document) in documents.iter().enumerate() {
            let field = |name: &str| format!("attestations[{index}].{name}");
            let predicate_type = crate::attestation::predicate_type_uri(&document.predicate_type)
                .map_err(|msg| invalid(field("predicateType"), msg))?;
            let name = document
                .name
                .clone()
                .unwrap_or_else(|| document.predicate_type.clone());
            if name.is_empty() || name.len() > limits::MAX_KEY_NAME_BYTES {
                return Err(invalid(
                    field("name"),
                    format!("must be 1 to {} bytes", limits::MAX_KEY_NAME_BYTES),
                ));
            }
            if rules.iter().any(|rule| rule.name == name) {
                return Err(invalid(
                    field("name"),
                    format!("{name:?} is used twice; give each rule its own name"),
                ));
            }
            // A rule that names no signers is signed by the policy's own.
            let (keys, identities) = if document.keys.is_empty() && document.identities.is_empty() {
                if self.signer_count() == 0 {
                    return Err(invalid(
                        field("keys"),
                        "the rule names no keys or identities, and the policy has none to lend it",
                    ));
                }
                (self.keys.clone(), self.identities.clone())
            } else {
                let keys = named_keys(&field("keys"), &document.keys)?;
                let identities = identities(
                    &field("identities"),
                    &document.identities,
                    &keys,
                    &self.trusted_root,
                )?;
                (keys, identities)
            };
            let (threshold, required) = signer_rules(
                &format!("attestations[{index}]."),
                &keys,
                &identities,
                document.threshold,
                &document.required,
            )?;
            if document.conditions.len() > limits::MAX_RULE_CONDITIONS {
                return Err(invalid(
                    field("conditions"),
                    format!(
                        "{} conditions; the most accepted is {}",
                        document.conditions.len(),
                        limits::MAX_RULE_CONDITIONS
                    ),
                ));
            }
            let conditions = document
                .conditions
                .iter()
                .map(|(pointer, test)| {
                    Condition::parse(pointer, test).map_err(|msg| {
                        invalid(format!("{}[{pointer:?}]", field("conditions")), msg)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            rules.push(AttestationRule {
                name,
                predicate_type,
                signers: Self {
                    keys,
                    identities,
                    threshold,
                    required,
                    ..self.clone()
                },
                conditions,
            });
        }
        Ok(rules)
    }

    /// The attestation rules, in policy order.
    pub fn attestations(&self) -> &[AttestationRule] {
        &self.attestations
    }

    /// Whether signatures stored in `format` count.
    pub fn accepts(&self, format: Format) -> bool {
        self.formats.contains(&format)
    }

    /// How Rekor bundles count.
    pub fn rekor_mode(&self) -> RekorMode {
        self.rekor_mode
    }

    /// The trusted Rekor log keys.
    pub fn log_keys(&self) -> &[LogKey] {
        &self.log_keys
    }

    /// The trusted keys, in policy order.
    pub fn keys(&self) -> &[NamedKey] {
        &self.keys
    }

    /// The trusted keyless signers, in policy order.
    pub fn identities(&self) -> &[Identity] {
        &self.identities
    }

    /// The trusted root's certificate authorities, CT logs and timestamp authorities.
    pub fn trusted_root(&self) -> &TrustedRoot {
        &self.trusted_root
    }

    /// Whether the policy has signature rules (keys or identities), not only attestation
    /// rules.
    pub fn has_signature_rules(&self) -> bool {
        self.signer_count() > 0
    }

    /// How many signers (keys, then identities) the policy names.
    pub(crate) fn signer_count(&self) -> usize {
        self.keys.len() + self.identities.len()
    }

    /// The name of signer `index`: a key's, or after the keys an identity's.
    pub(crate) fn signer_name(&self, index: usize) -> &str {
        match self.keys.get(index) {
            Some(key) => &key.name,
            None => self
                .identities
                .get(index - self.keys.len())
                .map_or("", |identity| identity.name.as_str()),
        }
    }

    /// How many distinct keys must verify.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// Key names that must verify.
    pub fn required(&self) -> &BTreeSet<String> {
        &self.required
    }

    /// Required payload annotations.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// Whether the payload's `docker-reference` must name the image's repository.
    pub fn match_reference(&self) -> bool {
        self.match_reference
    }

    /// Whether every manifest of an image index must verify too.
    pub fn verify_platforms(&self) -> bool {
        self.verify_platforms
    }

    /// The caps in force.
    pub fn limits(&self) -> &LimitsDocument {
        &self.limits
    }

    /// SHA-256 of the policy's canonical form: equal for policies that mean the same thing.
    pub fn digest(&self) -> Sha256Digest {
        self.digest
    }
}

/// The keys of a `keys` list (at `field`), each checked: a unique name, a key that parses, and
/// no key twice under two names.
fn named_keys(field: &str, documents: &[KeyDocument]) -> Result<Vec<NamedKey>, PolicyError> {
    if documents.len() > limits::MAX_POLICY_KEYS {
        return Err(invalid(
            field,
            format!(
                "{} keys; the most accepted is {}",
                documents.len(),
                limits::MAX_POLICY_KEYS
            ),
        ));
    }
    let mut keys: Vec<NamedKey> = Vec::with_capacity(documents.len());
    for (index, entry) in documents.iter().enumerate() {
        if entry.name.is_empty() || entry.name.len() > limits::MAX_KEY_NAME_BYTES {
            return Err(invalid(
                format!("{field}[{index}].name"),
                format!("must be 1 to {} bytes", limits::MAX_KEY_NAME_BYTES),
            ));
        }
        if keys.iter().any(|k| k.name == entry.name) {
            return Err(invalid(
                format!("{field}[{index}].name"),
                format!("{:?} is used twice", entry.name),
            ));
        }
        let options = KeyOptions {
            hash: entry.hash_algorithm,
            scheme: entry.scheme,
        };
        let key = PublicKey::from_pem_with(&entry.public_key, options).map_err(|error| {
            PolicyError::InvalidKey {
                field: format!("{field}[{index}].publicKey"),
                name: Some(entry.name.clone()),
                error,
            }
        })?;
        // The same key under two names would let one signature count twice.
        if let Some(twin) = keys.iter().find(|k| k.key.spki_der() == key.spki_der()) {
            return Err(invalid(
                format!("{field}[{index}].publicKey ({:?})", entry.name),
                format!(
                    "the same key as {:?}; a threshold counts distinct keys",
                    twin.name
                ),
            ));
        }
        keys.push(NamedKey {
            name: entry.name.clone(),
            key,
        });
    }
    Ok(keys)
}

/// A threshold and `required` list (fields under `prefix`) over these signers, checked.
fn signer_rules(
    prefix: &str,
    keys: &[NamedKey],
    identities: &[Identity],
    threshold: u32,
    required: &[String],
) -> Result<(usize, BTreeSet<String>), PolicyError> {
    let signers = keys.len() + identities.len();
    let count = usize::try_from(threshold).unwrap_or(usize::MAX);
    if count == 0 || count > signers {
        return Err(invalid(
            format!("{prefix}threshold"),
            format!(
                "{threshold} is not between 1 and the number of keys and identities ({signers})"
            ),
        ));
    }
    let mut names = BTreeSet::new();
    for name in required {
        if !keys.iter().any(|k| &k.name == name) && !identities.iter().any(|i| &i.name == name) {
            return Err(invalid(
                format!("{prefix}required"),
                format!("{name:?} is not the name of a key or identity"),
            ));
        }
        names.insert(name.clone());
    }
    Ok((count, names))
}

fn check_limit(field: &str, value: u64, ceiling: u64) -> Result<(), PolicyError> {
    if value == 0 || value > ceiling {
        return Err(invalid(
            field,
            format!("{value} is not between 1 and {ceiling}"),
        ));
    }
    Ok(())
}

/// The Rekor mode and log keys, with the defaults applied and the rules checked.
fn rekor_settings(
    rekor: Option<&RekorDocument>,
    root_logs: Vec<LogKey>,
) -> Result<(RekorMode, Vec<LogKey>), PolicyError> {
    let default = RekorDocument::default();
    let rekor = rekor.unwrap_or(&default);
    if rekor.public_keys.len() > limits::MAX_POLICY_KEYS {
        return Err(invalid(
            "rekor.publicKeys",
            format!(
                "{} keys; the most accepted is {}",
                rekor.public_keys.len(),
                limits::MAX_POLICY_KEYS
            ),
        ));
    }
    let mut log_keys: Vec<LogKey> = root_logs;
    for (index, pem) in rekor.public_keys.iter().enumerate() {
        let key = PublicKey::from_pem(pem).map_err(|error| PolicyError::InvalidKey {
            field: format!("rekor.publicKeys[{index}]"),
            name: None,
            error,
        })?;
        log_keys.push(LogKey::new(key));
    }
    // Keep each log once, in a canonical order.
    log_keys.sort_by_key(|k| k.log_id);
    log_keys.dedup_by(|a, b| a.log_id == b.log_id);
    let mode = rekor.mode.unwrap_or(if log_keys.is_empty() {
        RekorMode::Ignore
    } else {
        RekorMode::VerifyIfPresent
    });
    if mode != RekorMode::Ignore && log_keys.is_empty() {
        return Err(invalid(
            "rekor",
            "this mode checks bundles, so it needs publicKeys or a trustedRoot",
        ));
    }
    Ok((mode, log_keys))
}

/// The identities, checked: names unique among keys and identities, exactly one of each exact
/// value and pattern, and a trusted root with certificate authorities to chain to.
fn identities(
    list: &str,
    documents: &[IdentityDocument],
    keys: &[NamedKey],
    root: &TrustedRoot,
) -> Result<Vec<Identity>, PolicyError> {
    if documents.len() > limits::MAX_POLICY_IDENTITIES {
        return Err(invalid(
            list,
            format!(
                "{} identities; the most accepted is {}",
                documents.len(),
                limits::MAX_POLICY_IDENTITIES
            ),
        ));
    }
    if !documents.is_empty() && root.authorities.is_empty() {
        return Err(invalid(
            list,
            "keyless signers need a trustedRoot with certificateAuthorities to chain to",
        ));
    }
    let mut identities: Vec<Identity> = Vec::with_capacity(documents.len());
    for (index, entry) in documents.iter().enumerate() {
        let field = |name: &str| format!("{list}[{index}].{name}");
        let issuer = Matcher::new(entry.issuer.as_deref(), entry.issuer_reg_exp.as_deref())
            .map_err(|msg| invalid(field("issuer"), msg))?;
        let subject = Matcher::new(entry.subject.as_deref(), entry.subject_reg_exp.as_deref())
            .map_err(|msg| invalid(field("subject"), msg))?;
        let name = entry
            .name
            .clone()
            .or_else(|| entry.subject.clone())
            .or_else(|| entry.subject_reg_exp.clone())
            .unwrap_or_default();
        if name.is_empty() || name.len() > limits::MAX_KEY_NAME_BYTES {
            return Err(invalid(
                field("name"),
                format!("must be 1 to {} bytes", limits::MAX_KEY_NAME_BYTES),
            ));
        }
        if keys.iter().any(|k| k.name == name) || identities.iter().any(|i| i.name == name) {
            return Err(invalid(field("name"), format!("{name:?} is used twice")));
        }
        let github_workflow = [
            &entry.github_workflow_trigger,
            &entry.github_workflow_sha,
            &entry.github_workflow_name,
            &entry.github_workflow_repository,
            &entry.github_workflow_ref,
        ]
        .map(Clone::clone);
        if github_workflow
            .iter()
            .flatten()
            .any(|v| v.is_empty() || v.len() > limits::MAX_IDENTITY_BYTES)
        {
            return Err(invalid(
                field("githubWorkflow*"),
                "each value must be 1 to 1024 bytes",
            ));
        }
        identities.push(Identity {
            name,
            issuer,
            subject,
            github_workflow,
        });
    }
    Ok(identities)
}

/// The canonical form of keys: base64 DER, with the options each was written with.
fn canonical_keys(keys: &[NamedKey], documents: &[KeyDocument]) -> serde_json::Value {
    keys.iter()
        .map(|k| {
            let hash = documents
                .iter()
                .find(|entry| entry.name == k.name)
                .map_or(HashAlgorithm::Auto, |entry| entry.hash_algorithm);
            serde_json::json!({
                "algorithm": k.key.algorithm(),
                "hashAlgorithm": hash,
                "name": k.name,
                "publicKey": BASE64.encode(k.key().spki_der()),
            })
        })
        .collect()
}

fn canonical_identities(identities: &[Identity]) -> serde_json::Value {
    identities
        .iter()
        .map(|i| {
            let mut identity = serde_json::json!({
                "issuer": i.issuer.canonical(),
                "name": i.name,
                "subject": i.subject.canonical(),
            });
            // Only when given, so identities without them keep their digest.
            if i.github_workflow.iter().any(Option::is_some) {
                identity["githubWorkflow"] = serde_json::json!(i.github_workflow);
            }
            identity
        })
        .collect()
}

/// The canonical form: defaults filled in, keys as base64 DER, `required` sorted, object keys
/// sorted (serde_json's map is ordered), no whitespace. `policy` holds the checked signers and
/// settings; the rest comes from the document.
fn canonical_digest(
    document: &PolicyDocument,
    policy: &Policy,
    attestations: &[AttestationRule],
) -> Sha256Digest {
    let mut canonical = serde_json::json!({
        "rekor": {
            "mode": policy.rekor_mode,
            "publicKeys": policy.log_keys.iter().map(|k| BASE64.encode(k.key().spki_der())).collect::<Vec<_>>(),
        },
        "annotations": document.annotations,
        "keys": canonical_keys(&policy.keys, &document.keys),
        "limits": document.limits,
        "matchReference": document.match_reference,
        "required": policy.required,
        "threshold": document.threshold,
    });
    // Each only when it differs from the default, so that every policy written before the
    // option keeps its digest.
    if let Some(object) = canonical.as_object_mut() {
        if document.verify_platforms {
            object.insert("verifyPlatforms".into(), serde_json::Value::Bool(true));
        }
        if policy.formats.len() == 1 {
            object.insert("formats".into(), serde_json::json!(policy.formats));
        }
        let keyless = !policy.identities.is_empty()
            || attestations
                .iter()
                .any(|rule| !rule.signers.identities.is_empty());
        if !policy.identities.is_empty() {
            object.insert(
                "identities".into(),
                canonical_identities(&policy.identities),
            );
        }
        if keyless {
            // Which CAs, CT logs and TSAs count: the whole root, by digest.
            object.insert(
                "trustedRoot".into(),
                serde_json::json!(policy.trusted_root.digest.map(|d| d.to_string())),
            );
        }
        if !attestations.is_empty() {
            let rules = attestations
                .iter()
                .zip(&document.attestations)
                .map(|(rule, written)| {
                    let keys = if written.keys.is_empty() {
                        &document.keys
                    } else {
                        &written.keys
                    };
                    serde_json::json!({
                        "conditions": rule
                            .conditions
                            .iter()
                            .map(|c| (c.pointer.clone(), c.canonical()))
                            .collect::<serde_json::Map<_, _>>(),
                        "identities": canonical_identities(&rule.signers.identities),
                        "keys": canonical_keys(&rule.signers.keys, keys),
                        "name": rule.name,
                        "predicateType": rule.predicate_type,
                        "required": rule.signers.required,
                        "threshold": rule.signers.threshold,
                    })
                })
                .collect();
            object.insert("attestations".into(), rules);
        }
        if policy.log_keys.iter().any(|k| k.valid_for != (None, None))
            && let Some(rekor) = object.get_mut("rekor").and_then(|r| r.as_object_mut())
        {
            rekor.insert(
                "validFor".into(),
                policy
                    .log_keys
                    .iter()
                    .map(|k| serde_json::json!([k.valid_for.0, k.valid_for.1]))
                    .collect(),
            );
        }
    }
    Sha256Digest::of(canonical.to_string().as_bytes())
}
