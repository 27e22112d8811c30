//! The policy document, as written: its shape (the types), and the one reader of it. What the
//! fields mean, and the rules they must keep, are [`crate::policy::compiled`]'s.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::str::FromStr;
use serde::Serialize;

use crate::crypto::keys::KeyError;
use crate::crypto::options::{HashAlgorithm, RsaScheme};
use crate::encoding::json::{self, Fields};
use crate::limits;

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

pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> PolicyError {
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
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDocument {
    /// The trusted keys.
    pub keys: Vec<KeyDocument>,
    /// The trusted keyless signers: OIDC identities whose Fulcio certificates count like keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityDocument>,
    /// A Sigstore `trusted_root.json`: the transparency logs, certificate authorities, CT logs
    /// and timestamp authorities to trust.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_root: Option<serde_json::Value>,
    /// How many distinct keys must each verify a layer (default 1).
    pub threshold: u32,
    /// Key names that must be among those that verified.
    pub required: Vec<String>,
    /// Pairs that must appear in the `optional` section of the same payload that verified.
    pub annotations: BTreeMap<String, String>,
    /// Require `critical.identity.docker-reference` to name the evidence image's repository.
    pub match_reference: bool,
    /// For an image index, every manifest it lists must verify under this policy too (what
    /// `cosign sign --recursive` promises), not only the index itself.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub verify_platforms: bool,
    /// Size and count caps.
    pub limits: LimitsDocument,
    /// Offline checks of the Rekor bundles cosign attaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rekor: Option<RekorDocument>,
    /// Which signature formats count: `simplesigning` (the `.sig` tag) and `bundle` (Sigstore
    /// bundles attached as OCI referrers). Both by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formats: Option<Vec<Format>>,
    /// Attestations the image must have: each rule must be met, beside the signature rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<AttestationDocument>,
    /// The repository (`registry/path`) the image's signatures, attestations and bundles are
    /// stored in, when not the image's own (cosign's `COSIGN_REPOSITORY`; a
    /// `ClusterImagePolicy`'s `source[].oci`). Where to look only: what is found there is
    /// checked exactly as it would be in the image's repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_repository: Option<String>,
}

/// One attestation rule, as written: a predicate type, who must have signed it, and what the
/// predicate must say.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationDocument {
    /// The name the verdict uses [default: the predicate type as written].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A URI, or one of cosign's short names (`slsaprovenance1`, `spdxjson`, `vuln`, …).
    pub predicate_type: String,
    /// The keys that may sign it [default: the policy's keys and identities, when the rule
    /// names neither keys nor identities].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyDocument>,
    /// The keyless signers that may sign it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityDocument>,
    /// How many distinct signers must have signed a statement of this type (default 1).
    pub threshold: u32,
    /// Signer names that must be among them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// JSON pointer (into the predicate) → `{"equals": V}`, `{"oneOf": [V…]}` or
    /// `{"prefix": "S"}`; every one must hold.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, serde_json::Value>,
}

/// A signature storage format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// cosign's legacy `.sig` tag of simple-signing layers.
    Simplesigning,
    /// Sigstore bundles attached to the image as OCI referrers (cosign v3).
    Bundle,
}

impl FromStr for Format {
    type Err = &'static str;

    /// `simplesigning` or `bundle`; the error lists them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "simplesigning" => Ok(Self::Simplesigning),
            "bundle" => Ok(Self::Bundle),
            _ => Err("simplesigning or bundle"),
        }
    }
}

/// The `rekor` section: which transparency-log keys to trust, and how much to insist.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RekorDocument {
    /// PEM public keys of trusted Rekor logs.
    pub public_keys: Vec<String>,
    /// A Sigstore `trusted_root.json`, whose `tlogs` keys are trusted too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_root: Option<serde_json::Value>,
    /// `require`, `verify-if-present` or `ignore`; the default is `verify-if-present` when
    /// keys are given and `ignore` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<RekorMode>,
}

/// How Rekor bundles count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RekorMode {
    /// A layer counts only with a bundle that verifies.
    Require,
    /// A layer's bundle, if it has one, must verify.
    VerifyIfPresent,
    /// Bundles are not looked at.
    Ignore,
}

impl FromStr for RekorMode {
    type Err = &'static str;

    /// `require`, `verify-if-present` or `ignore`; the error lists them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "require" => Ok(Self::Require),
            "verify-if-present" => Ok(Self::VerifyIfPresent),
            "ignore" => Ok(Self::Ignore),
            _ => Err("require, verify-if-present or ignore"),
        }
    }
}

/// One trusted keyless signer: an OIDC issuer and a certificate subject, each exact or an
/// anchored regular expression.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityDocument {
    /// The name `required` and the verdict use [default: the subject or its pattern].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The OIDC issuer, exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The OIDC issuer, as a pattern matching all of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_reg_exp: Option<String>,
    /// The certificate's subject (its URI, email or other name), exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The certificate's subject, as a pattern matching all of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_reg_exp: Option<String>,
    /// The GitHub workflow trigger (Fulcio extension `…57264.1.2`), exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_trigger: Option<String>,
    /// The GitHub workflow commit SHA (`…1.3`), exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_sha: Option<String>,
    /// The GitHub workflow name (`…1.4`), exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_name: Option<String>,
    /// The GitHub workflow repository, `owner/repo` (`…1.5`), exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_repository: Option<String>,
    /// The GitHub workflow ref (`…1.6`), exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_ref: Option<String>,
}

/// One trusted key.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyDocument {
    /// A unique, non-empty name, used in verdicts and in `required`.
    pub name: String,
    /// The PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1) block.
    pub public_key: String,
    /// The digest the key signs over; `auto` (the default) accepts what real signers produce.
    #[serde(skip_serializing_if = "is_auto")]
    pub hash_algorithm: HashAlgorithm,
    /// For RSA keys: `pkcs1v15` (the default) or `pss`.
    #[serde(skip_serializing_if = "Option::is_none")]
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
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LimitsDocument {
    /// The most layers a `.sig` manifest may have.
    pub max_layers: u32,
    /// The largest payload blob, in bytes.
    pub max_payload_bytes: u64,
    /// The largest `.sig` manifest, in bytes.
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

impl Default for PolicyDocument {
    /// A document with nothing in it but the defaults (threshold 1, both formats, the default
    /// caps): what a host builds a policy on from flags.
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            identities: Vec::new(),
            trusted_root: None,
            threshold: 1,
            required: Vec::new(),
            annotations: BTreeMap::new(),
            match_reference: false,
            verify_platforms: false,
            limits: LimitsDocument::default(),
            rekor: None,
            formats: None,
            attestations: Vec::new(),
            signature_repository: None,
        }
    }
}

impl PolicyDocument {
    /// The fields the reader knows; any other is refused (`docs/schema/policy.schema.json`
    /// lists the same, a test holds them together).
    pub const FIELDS: &'static [&'static str] = &[
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
        "signatureRepository",
    ];

    /// Parses a policy document strictly, without checking its rules (see
    /// `Policy::from_document`); for hosts that add to a policy file before checking it.
    ///
    /// # Errors
    /// [`PolicyError::TooLarge`] or [`PolicyError::Syntax`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, PolicyError> {
        if bytes.len() > limits::MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge(bytes.len()));
        }
        json::parse(bytes)
            .and_then(|value| Self::read(&value))
            .map_err(PolicyError::Syntax)
    }

    /// Reads the document from a strictly parsed value, field by field (every object's
    /// unknown fields refused), without serde's derived readers: the WebAssembly modules carry
    /// one small reader instead of serde's machinery per document type.
    pub(crate) fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(Self::FIELDS)?;
        Ok(Self {
            keys: f.list("keys", KeyDocument::read)?,
            identities: f.list("identities", IdentityDocument::read)?,
            trusted_root: f.opt("trustedRoot", |v| Ok(v.clone()))?,
            threshold: f.opt("threshold", json::unsigned)?.unwrap_or(1),
            required: f.list("required", json::string)?,
            annotations: f.opt("annotations", json::string_map)?.unwrap_or_default(),
            match_reference: f.opt("matchReference", boolean)?.unwrap_or(false),
            verify_platforms: f.opt("verifyPlatforms", boolean)?.unwrap_or(false),
            limits: f.opt("limits", LimitsDocument::read)?.unwrap_or_default(),
            rekor: f.opt("rekor", RekorDocument::read)?,
            formats: f
                .opt("formats", |_| Ok(()))?
                .map(|()| f.list("formats", named::<Format>))
                .transpose()?,
            attestations: f.list("attestations", AttestationDocument::read)?,
            signature_repository: f.opt_string("signatureRepository")?,
        })
    }
}

/// A string value that names one of `T`'s values ([`FromStr`], whose error lists them); any
/// other value is refused, saying what it is.
pub(crate) fn named<T: FromStr<Err = &'static str>>(
    value: &serde_json::Value,
) -> Result<T, String> {
    // No name is empty, so a value that is not a string never parses.
    value
        .as_str()
        .unwrap_or_default()
        .parse::<T>()
        .map_err(|expected| format!("{value} is not {expected}"))
}

fn boolean(value: &serde_json::Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("expected true or false, found {value}"))
}

impl KeyDocument {
    /// The fields the reader knows.
    pub const FIELDS: &'static [&'static str] = &["name", "publicKey", "hashAlgorithm", "scheme"];

    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(Self::FIELDS)?;
        Ok(Self {
            name: f.string("name")?,
            public_key: f.string("publicKey")?,
            hash_algorithm: f
                .opt("hashAlgorithm", named::<HashAlgorithm>)?
                .unwrap_or_default(),
            scheme: f.opt("scheme", named::<RsaScheme>)?,
        })
    }
}

impl IdentityDocument {
    /// The fields the reader knows.
    pub const FIELDS: &'static [&'static str] = &[
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
    ];

    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(Self::FIELDS)?;
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
    /// The fields the reader knows.
    pub const FIELDS: &'static [&'static str] =
        &["maxLayers", "maxPayloadBytes", "maxManifestBytes"];

    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(Self::FIELDS)?;
        let defaults = Self::default();
        Ok(Self {
            max_layers: f
                .opt("maxLayers", json::unsigned)?
                .unwrap_or(defaults.max_layers),
            max_payload_bytes: f
                .opt("maxPayloadBytes", json::unsigned)?
                .unwrap_or(defaults.max_payload_bytes),
            max_manifest_bytes: f
                .opt("maxManifestBytes", json::unsigned)?
                .unwrap_or(defaults.max_manifest_bytes),
        })
    }
}

impl RekorDocument {
    /// The fields the reader knows.
    pub const FIELDS: &'static [&'static str] = &["publicKeys", "trustedRoot", "mode"];

    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(Self::FIELDS)?;
        Ok(Self {
            public_keys: f.list("publicKeys", json::string)?,
            trusted_root: f.opt("trustedRoot", |v| Ok(v.clone()))?,
            mode: f.opt("mode", named::<RekorMode>)?,
        })
    }
}

impl AttestationDocument {
    /// The fields the reader knows.
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "predicateType",
        "keys",
        "identities",
        "threshold",
        "required",
        "conditions",
    ];

    /// A rule of `predicate_type` (a URI or one of cosign's names), signed by the policy's own
    /// signers, with no conditions.
    pub fn new(predicate_type: impl Into<String>) -> Self {
        Self {
            name: None,
            predicate_type: predicate_type.into(),
            keys: Vec::new(),
            identities: Vec::new(),
            threshold: 1,
            required: Vec::new(),
            conditions: BTreeMap::new(),
        }
    }

    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(Self::FIELDS)?;
        Ok(Self {
            name: f.opt_string("name")?,
            predicate_type: f.string("predicateType")?,
            keys: f.list("keys", KeyDocument::read)?,
            identities: f.list("identities", IdentityDocument::read)?,
            threshold: f.opt("threshold", json::unsigned)?.unwrap_or(1),
            required: f.list("required", json::string)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn schema() -> serde_json::Value {
        serde_json::from_str(include_str!("../../docs/schema/policy.schema.json"))
            .unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn properties(object: &serde_json::Value) -> Vec<&str> {
        let mut names: Vec<&str> = object["properties"]
            .as_object()
            .map(|map| map.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        names
    }

    fn sorted(fields: &[&'static str]) -> Vec<&'static str> {
        let mut fields = fields.to_vec();
        fields.sort_unstable();
        fields
    }

    /// The schema and the one reader know the same fields, object by object, and the schema
    /// refuses any other as the reader does.
    #[test]
    fn the_schema_lists_the_fields_the_reader_reads() {
        let schema = schema();
        let p = &schema["properties"];
        for (object, fields) in [
            (&schema, PolicyDocument::FIELDS),
            (&p["keys"]["items"], KeyDocument::FIELDS),
            (&p["identities"]["items"], IdentityDocument::FIELDS),
            (&p["limits"], LimitsDocument::FIELDS),
            (&p["rekor"], RekorDocument::FIELDS),
            (&p["attestations"]["items"], AttestationDocument::FIELDS),
        ] {
            assert_eq!(properties(object), sorted(fields));
            assert_eq!(object["additionalProperties"], false);
        }
        // The names of every setting: the schema's enums are what FromStr reads.
        let enums = [
            (&p["formats"]["items"]["enum"], "formats"),
            (&p["rekor"]["properties"]["mode"]["enum"], "mode"),
            (
                &p["keys"]["items"]["properties"]["hashAlgorithm"]["enum"],
                "hashAlgorithm",
            ),
            (
                &p["keys"]["items"]["properties"]["scheme"]["enum"],
                "scheme",
            ),
        ];
        for (names, what) in enums {
            let names = names
                .as_array()
                .unwrap_or_else(|| unreachable!("{what} has an enum"));
            assert!(!names.is_empty(), "{what}");
            for name in names.iter().filter_map(serde_json::Value::as_str) {
                let read = match what {
                    "formats" => name.parse::<Format>().is_ok(),
                    "mode" => name.parse::<RekorMode>().is_ok(),
                    "hashAlgorithm" => name.parse::<HashAlgorithm>().is_ok(),
                    _ => name.parse::<RsaScheme>().is_ok(),
                };
                assert!(read, "{what}: {name}");
            }
        }
    }

    /// What a host writes (serde's Serialize) the reader reads back the same.
    #[test]
    fn a_written_document_reads_back_the_same() {
        let mut document = PolicyDocument::default();
        let mut key = KeyDocument::new(
            "alice",
            "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n",
        );
        key.hash_algorithm = HashAlgorithm::Sha384;
        key.scheme = Some(RsaScheme::Pss);
        document.keys.push(key);
        document.identities.push(IdentityDocument {
            issuer: Some("https://issuer.example".into()),
            subject_reg_exp: Some(".*".into()),
            github_workflow_ref: Some("refs/heads/main".into()),
            ..IdentityDocument::default()
        });
        document.threshold = 2;
        document.required = vec!["alice".into()];
        document.annotations.insert("env".into(), "prod".into());
        document.match_reference = true;
        document.verify_platforms = true;
        document.limits.max_layers = 7;
        document.rekor = Some(RekorDocument {
            public_keys: vec!["PEM".into()],
            trusted_root: None,
            mode: Some(RekorMode::Require),
        });
        document.formats = Some(vec![Format::Bundle]);
        let mut rule = AttestationDocument::new("slsaprovenance1");
        rule.conditions
            .insert("/builder".into(), serde_json::json!({"equals": 1}));
        document.attestations.push(rule);
        let written = serde_json::to_vec(&document).unwrap_or_default();
        let read = PolicyDocument::from_json(&written).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            serde_json::to_string(&read).unwrap_or_default(),
            serde_json::to_string(&document).unwrap_or_default()
        );
        // Defaults written are defaults read.
        let empty = serde_json::to_vec(&PolicyDocument::default()).unwrap_or_default();
        let read = PolicyDocument::from_json(&empty).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(read.threshold, 1);
        assert_eq!(read.limits, LimitsDocument::default());
        assert!(
            "nope"
                .parse::<Format>()
                .unwrap_err()
                .contains("simplesigning")
        );
        assert_eq!(
            "x".to_string().parse::<RekorMode>().err(),
            Some("require, verify-if-present or ignore")
        );
    }
}
