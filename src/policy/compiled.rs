//! The checked policy: each field of the document held to its rules once (keys parsed, names
//! unique, thresholds in range, caps under their ceilings, the trusted root read), with a
//! canonical digest, ready for any number of verifications.

use crate::encoding::base64::STANDARD as BASE64;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::claim::in_toto::{COSIGN_SIGN_PREDICATE_TYPE, Statement};
use crate::crypto::digest::Sha256Digest;
use crate::crypto::keys::PublicKey;
use crate::crypto::options::{HashAlgorithm, KeyOptions};
use crate::limits;
use crate::policy::attestation::{Condition, predicate_type_uri};
use crate::policy::document::{
    AttestationDocument, Format, IdentityDocument, KeyDocument, LimitsDocument, PolicyDocument,
    PolicyError, RekorDocument, RekorMode, invalid,
};
use crate::sigstore::identity::{Identity, Matcher};
use crate::sigstore::rekor::LogKey;
use crate::sigstore::trusted_root::TrustedRoot;

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
    signature_repository: Option<String>,
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
            signature_repository: None,
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
        policy.signature_repository = signature_repository(document.signature_repository)?;
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
            let predicate_type = predicate_type_uri(&document.predicate_type)
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

    /// The repository its signatures are fetched from (`registry/path`, normalized), when not
    /// the image's own.
    pub fn signature_repository(&self) -> Option<&str> {
        self.signature_repository.as_deref()
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

pub(crate) fn canonical_identities(identities: &[Identity]) -> serde_json::Value {
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
        if let Some(repository) = &document.signature_repository {
            object.insert("signatureRepository".into(), serde_json::json!(repository));
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

/// One checked attestation rule of a policy.
#[derive(Clone, Debug)]
pub struct AttestationRule {
    pub(crate) name: String,
    pub(crate) predicate_type: String,
    /// The rule's signers, threshold and `required`, as a policy that shares the enclosing
    /// policy's trust material, log settings, caps and formats (and has no attestation rules,
    /// annotations or reference matching of its own).
    pub(crate) signers: Policy,
    pub(crate) conditions: Vec<Condition>,
}

impl AttestationRule {
    /// The rule's name, which the verdict uses.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The predicate type URI a statement must have.
    pub fn predicate_type(&self) -> &str {
        &self.predicate_type
    }

    /// The conditions on the predicate, in pointer order.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The rule's signers (keys and identities), threshold and required names.
    pub fn signers(&self) -> &Policy {
        &self.signers
    }

    /// A verified statement's type must be the rule's.
    ///
    /// # Errors
    /// A sentence naming both types.
    pub(crate) fn check_predicate_type(&self, statement: &Statement) -> Result<(), String> {
        if statement.predicate_type == self.predicate_type {
            return Ok(());
        }
        let what = if statement.predicate_type == COSIGN_SIGN_PREDICATE_TYPE {
            "a cosign image signature".to_string()
        } else {
            format!("an attestation of type {:?}", statement.predicate_type)
        };
        Err(format!(
            "the signed statement is {what}, not {:?}",
            self.predicate_type
        ))
    }

    /// Every condition, in order, on a verified statement's predicate.
    ///
    /// # Errors
    /// The first that fails, in its own words.
    pub(crate) fn check_conditions(&self, statement: &Statement) -> Result<(), String> {
        self.conditions
            .iter()
            .try_for_each(|condition| condition.check(&statement.predicate))
            .map_err(String::from)
    }
}

/// A `signatureRepository` checked: a repository reference (`registry/path`, no tag or
/// digest), normalized as the image references are (`ghcr.io/acme/sigs`,
/// `index.docker.io/library/x` for `x`).
fn signature_repository(written: Option<String>) -> Result<Option<String>, PolicyError> {
    let Some(written) = written else {
        return Ok(None);
    };
    let field = "signatureRepository";
    let reference = crate::oci::reference::Reference::parse(&written)
        .map_err(|e| invalid(field, format!("{written:?}: {e}")))?;
    if reference.tag().is_some() || reference.digest().is_some() {
        return Err(invalid(
            field,
            format!("{written:?}: a repository, without a tag or digest"),
        ));
    }
    Ok(Some(reference.repository_name()))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::testing::Signer;

    fn check(document: &Value) -> Result<Policy, PolicyError> {
        Policy::from_json(document.to_string().as_bytes())
    }

    fn refused(document: &Value, field: &str) {
        match check(document) {
            Err(
                PolicyError::Invalid { field: f, .. } | PolicyError::InvalidKey { field: f, .. },
            ) => {
                assert_eq!(f, field, "{document}");
            }
            other => unreachable!("{document}: {other:?}"),
        }
    }

    /// Where the signatures are is part of the policy's meaning, normalized; a tag or digest,
    /// or no reference at all, is refused. Plans of policies that disagree cannot be fetched.
    #[test]
    fn a_signature_repository_is_a_normalized_repository() {
        let alice = Signer::new("alice", 1);
        let with = |repository: &str| json!({"keys": [alice.key_entry()], "signatureRepository": repository});
        let plain =
            check(&json!({"keys": [alice.key_entry()]})).unwrap_or_else(|e| unreachable!("{e}"));
        let sigs = check(&with("sigs")).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            sigs.signature_repository(),
            Some("index.docker.io/library/sigs")
        );
        assert_ne!(sigs.digest(), plain.digest());
        assert_eq!(plain.signature_repository(), None);
        refused(&with("ghcr.io/acme/sigs:v1"), "signatureRepository");
        refused(
            &with(
                "ghcr.io/acme/sigs@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ),
            "signatureRepository",
        );
        refused(&with("Not A Reference"), "signatureRepository");
    }

    #[test]
    fn every_rule_of_a_policy_is_checked_once_when_it_is_read() {
        let (alice, bob) = (Signer::new("alice", 1), Signer::new("bob", 2));
        let a = alice.key_entry();
        refused(&json!({}), "keys");
        refused(
            &json!({"keys": [a, {"name": "alice", "publicKey": bob.public_pem()}]}),
            "keys[1].name",
        );
        refused(
            &json!({"keys": [a, {"name": "twin", "publicKey": alice.public_pem()}]}),
            "keys[1].publicKey (\"twin\")",
        );
        refused(&json!({"keys": [a], "threshold": 2}), "threshold");
        refused(&json!({"keys": [a], "threshold": 0}), "threshold");
        refused(&json!({"keys": [a], "required": ["carol"]}), "required");
        refused(
            &json!({"keys": [a], "limits": {"maxLayers": 0}}),
            "limits.maxLayers",
        );
        refused(
            &json!({"keys": [a], "limits": {"maxLayers": 10_001}}),
            "limits.maxLayers",
        );
        refused(&json!({"keys": [a], "formats": []}), "formats");
        refused(&json!({"keys": [a], "rekor": {"mode": "require"}}), "rekor");
        refused(
            &json!({"keys": [{"name": "x", "publicKey": "not a key"}]}),
            "keys[0].publicKey",
        );
        refused(
            &json!({"identities": [{"issuer": "https://i", "subject": "s"}]}),
            "identities",
        );
        refused(
            &json!({"keys": [a], "attestations": [{"predicateType": "not a uri"}]}),
            "attestations[0].predicateType",
        );
        refused(
            &json!({"keys": [a], "attestations": [{"predicateType": "slsaprovenance1"}, {"predicateType": "slsaprovenance1"}]}),
            "attestations[1].name",
        );
        let policy =
            check(&json!({"keys": [a, bob.key_entry()], "threshold": 2, "required": ["bob"]}))
                .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(policy.threshold(), 2);
        assert_eq!(policy.signer_name(1), "bob");
        assert!(policy.accepts(Format::Bundle) && policy.accepts(Format::Simplesigning));
        assert_eq!(policy.rekor_mode(), RekorMode::Ignore);
    }

    #[test]
    fn the_digest_is_of_the_meaning_not_the_spelling() {
        let (alice, bob) = (Signer::new("alice", 1), Signer::new("bob", 2));
        let one = check(&json!({"keys": [alice.key_entry(), bob.key_entry()]}))
            .unwrap_or_else(|e| unreachable!("{e}"));
        let spelled = check(&json!({"threshold": 1, "keys": [alice.key_entry(), bob.key_entry()], "annotations": {}}))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(one.digest(), spelled.digest());
        let stricter =
            check(&json!({"keys": [alice.key_entry(), bob.key_entry()], "threshold": 2}))
                .unwrap_or_else(|e| unreachable!("{e}"));
        assert_ne!(one.digest(), stricter.digest());
    }
}
