//! Building a policy from command-line flags, on top of an optional policy file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ocisig::{IdentityDocument, KeyDocument, Policy, PolicyDocument};

/// What the command line says about the policy.
#[derive(Clone, Debug, Default)]
pub struct PolicyArgs {
    /// A policy file (JSON, or YAML when named `.yaml` or `.yml`) to start from.
    pub file: Option<PathBuf>,
    /// `[NAME=]FILE` key specs; the name defaults to the file stem.
    pub keys: Vec<String>,
    /// `--threshold`.
    pub threshold: Option<u32>,
    /// `--require` key names.
    pub required: Vec<String>,
    /// `-a KEY=VALUE` annotations.
    pub annotations: Vec<String>,
    /// `--rekor-key` PEM files: trusted Rekor log keys.
    pub rekor_keys: Vec<PathBuf>,
    /// `--trusted-root FILE`: a Sigstore trusted_root.json whose tlog keys are trusted (for a
    /// `ClusterImagePolicy`: the root of authorities that name none).
    pub trusted_root: Option<PathBuf>,
    /// `--trusted-root NAME=FILE`: the trust roots a `ClusterImagePolicy`'s `trustRootRef`
    /// names.
    pub named_roots: Vec<(String, PathBuf)>,
    /// `--secret-dir`: where a `ClusterImagePolicy`'s `key.secretRef` secrets are mounted.
    pub secret_dir: Option<PathBuf>,
    /// `--no-match`: what a policy set does with an image no rule matches.
    pub no_match: Option<String>,
    /// `--warn-only`: every rule of a policy set in warn mode.
    pub warn_only: bool,
    /// `--rekor-mode`: require, verify-if-present or ignore.
    pub rekor_mode: Option<ocisig::RekorMode>,
    /// `--verify-platforms`: every manifest of an index must verify too.
    pub verify_platforms: bool,
    /// `--format`: which signature formats count (both when none is named).
    pub formats: Vec<ocisig::Format>,
    /// `--certificate-identity[-regexp]` with `--certificate-oidc-issuer[-regexp]`: a keyless
    /// signer.
    pub identity: Option<IdentityDocument>,
    /// `verify-attestation --type`: the signers, threshold and `required` the flags name make
    /// an attestation rule of this predicate type (a cosign short name or a URI) instead of
    /// signature rules.
    pub attestation_type: Option<String>,
}

/// The kind of document a policy file holds, told by its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// One ocisig policy.
    Policy,
    /// An ocisig policy set (a document with `rules`).
    PolicySet,
    /// sigstore policy-controller `ClusterImagePolicy` documents.
    ClusterImagePolicy,
}

impl PolicyArgs {
    /// Reads the policy file (or directory of `ClusterImagePolicy` files) and builds what it
    /// holds: a policy (with the flags added to it, [`PolicyArgs::build`]) or a policy set
    /// (an ocisig set, or `ClusterImagePolicy` documents translated into one), beside which
    /// the single-policy flags are refused. Returns the parsed document, its JSON (what the
    /// module is given) and its kind.
    ///
    /// # Errors
    /// When a file cannot be read, a flag does not fit the document, or the document breaks a
    /// rule (naming the field).
    pub fn build_document(&self) -> anyhow::Result<(ocisig::Document, Vec<u8>, DocumentKind)> {
        let set = match &self.file {
            Some(path) => self.read_set(path)?,
            None => None,
        };
        let Some((json, kind)) = set else {
            if !self.named_roots.is_empty()
                || self.secret_dir.is_some()
                || self.no_match.is_some()
                || self.warn_only
            {
                bail!(
                    "--trusted-root NAME=FILE, --secret-dir, --no-match and --warn-only are for \
                     policy sets and ClusterImagePolicy files (--policy FILE)"
                );
            }
            let (policy, json) = self.build()?;
            return Ok((ocisig::Document::Policy(policy), json, DocumentKind::Policy));
        };
        self.refuse_single_policy_flags()?;
        let document = ocisig::Document::from_json(&json).with_context(|| {
            format!(
                "{} is not a valid policy set",
                self.file.as_deref().unwrap_or(Path::new("")).display()
            )
        })?;
        Ok((document, json, kind))
    }

    /// The set the file holds, as JSON, or `None` for a single policy.
    fn read_set(&self, path: &Path) -> anyhow::Result<Option<(Vec<u8>, DocumentKind)>> {
        if path.is_dir() || is_yaml(path) {
            let documents = crate::cip::read_documents(path)?;
            if documents
                .iter()
                .any(|d| crate::cip::is_cluster_image_policy(&d.value))
            {
                let mut options = crate::cip::CipOptions {
                    secret_dir: self.secret_dir.clone(),
                    no_match: self.no_match.clone(),
                    warn_only: self.warn_only,
                    ..crate::cip::CipOptions::default()
                };
                for (name, file) in &self.named_roots {
                    options.trusted_roots.insert(name.clone(), read_root(file)?);
                }
                if let Some(file) = &self.trusted_root {
                    options.default_root = Some(read_root(file)?);
                }
                let (set, default_used) = crate::cip::to_policy_set(&documents, &options)?;
                if default_used {
                    eprintln!("ocisig: {}", crate::trust::DefaultRoot::get()?.notice);
                }
                return Ok(Some((
                    serde_json::to_vec(&set)?,
                    DocumentKind::ClusterImagePolicy,
                )));
            }
            if path.is_dir() {
                bail!("{} holds no ClusterImagePolicy", path.display());
            }
            let [document] = documents.as_slice() else {
                bail!(
                    "{} holds {} YAML documents; an ocisig policy or policy set is one",
                    path.display(),
                    documents.len()
                );
            };
            if document.value.get("rules").is_none() {
                return Ok(None);
            }
            return self
                .set_json(serde_json::to_vec(&document.value)?)
                .map(Some);
        }
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read policy file {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        if value.get("rules").is_none() {
            return Ok(None);
        }
        self.set_json(bytes).map(Some)
    }

    /// An ocisig set, with `--no-match` and `--warn-only` applied.
    fn set_json(&self, bytes: Vec<u8>) -> anyhow::Result<(Vec<u8>, DocumentKind)> {
        if !self.named_roots.is_empty() || self.secret_dir.is_some() || self.trusted_root.is_some()
        {
            bail!(
                "--trusted-root and --secret-dir are for ClusterImagePolicy files; an ocisig \
                 policy set names its trusted roots in its policies"
            );
        }
        if self.no_match.is_none() && !self.warn_only {
            return Ok((bytes, DocumentKind::PolicySet));
        }
        let mut value: serde_json::Value = serde_json::from_slice(&bytes)?;
        if let Some(no_match) = &self.no_match {
            value["unmatched"] = serde_json::Value::String(no_match.clone());
        }
        if self.warn_only
            && let Some(rules) = value.get_mut("rules").and_then(|r| r.as_array_mut())
        {
            for rule in rules {
                rule["mode"] = "warn".into();
            }
        }
        Ok((serde_json::to_vec(&value)?, DocumentKind::PolicySet))
    }

    /// Beside a set, the flags that add to one policy mean nothing: refused, naming them.
    fn refuse_single_policy_flags(&self) -> anyhow::Result<()> {
        let given: Vec<&str> = [
            ("--key", !self.keys.is_empty()),
            ("--threshold", self.threshold.is_some()),
            ("--require", !self.required.is_empty()),
            ("--annotation", !self.annotations.is_empty()),
            ("--rekor-key", !self.rekor_keys.is_empty()),
            ("--rekor-mode", self.rekor_mode.is_some()),
            ("--verify-platforms", self.verify_platforms),
            ("--format", !self.formats.is_empty()),
            ("--certificate-identity", self.identity.is_some()),
            ("--type", self.attestation_type.is_some()),
        ]
        .iter()
        .filter(|(_, given)| *given)
        .map(|(flag, _)| *flag)
        .collect();
        if !given.is_empty() {
            bail!(
                "{} cannot be used with a policy set: each rule of the set says what its images \
                 need (docs/policy-sets.md)",
                given.join(", ")
            );
        }
        Ok(())
    }

    /// Reads the files and builds the checked policy and its JSON document.
    ///
    /// # Errors
    /// When a file cannot be read, a flag is malformed, or the policy breaks a rule.
    pub fn build(&self) -> anyhow::Result<(Policy, Vec<u8>)> {
        let mut document = match &self.file {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read policy file {}", path.display()))?;
                let json = if is_yaml(path) {
                    yaml_to_json(&bytes)
                        .with_context(|| format!("{} is not valid YAML", path.display()))?
                } else {
                    bytes
                };
                PolicyDocument::from_json(&json)
                    .with_context(|| format!("{} is not a valid policy", path.display()))?
            }
            None => PolicyDocument::default(),
        };
        let mut keys = Vec::with_capacity(self.keys.len());
        for spec in &self.keys {
            keys.push(key_from_spec(spec)?);
        }
        if let Some(predicate_type) = &self.attestation_type {
            document.attestations.push(ocisig::AttestationDocument {
                keys,
                identities: self.identity.iter().cloned().collect(),
                threshold: self.threshold.unwrap_or(1),
                required: self.required.clone(),
                ..ocisig::AttestationDocument::new(predicate_type.clone())
            });
        } else {
            document.keys.extend(keys);
            if let Some(threshold) = self.threshold {
                document.threshold = threshold;
            }
            document.required.extend(self.required.iter().cloned());
            if let Some(identity) = &self.identity {
                document.identities.push(identity.clone());
            }
        }
        for pair in &self.annotations {
            let Some((key, value)) = pair.split_once('=') else {
                bail!("-a {pair:?}: expected KEY=VALUE");
            };
            document.annotations.insert(key.into(), value.into());
        }
        if let Some(path) = &self.trusted_root {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read trusted root {}", path.display()))?;
            document.trusted_root = Some(
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not JSON", path.display()))?,
            );
        }
        let has_root = document.trusted_root.is_some()
            || document
                .rekor
                .as_ref()
                .is_some_and(|r| r.trusted_root.is_some());
        let keyless = !document.identities.is_empty()
            || document
                .attestations
                .iter()
                .any(|rule| !rule.identities.is_empty());
        if keyless && !has_root {
            // Keyless needs certificate authorities; without a root given, the default one.
            let root = crate::trust::DefaultRoot::get()?;
            eprintln!("ocisig: {}", root.notice);
            document.trusted_root = Some(root.value()?);
        }
        if !self.rekor_keys.is_empty() || self.rekor_mode.is_some() {
            let rekor = document.rekor.get_or_insert_with(Default::default);
            for path in &self.rekor_keys {
                rekor.public_keys.push(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read Rekor key {}", path.display()))?,
                );
            }
            if self.rekor_mode.is_some() {
                rekor.mode = self.rekor_mode;
            }
        }
        document.verify_platforms |= self.verify_platforms;
        if !self.formats.is_empty() {
            document.formats = Some(self.formats.clone());
        }
        if document.keys.is_empty()
            && document.identities.is_empty()
            && document.attestations.is_empty()
        {
            bail!(
                "no signers: name a key with --key FILE, an identity with \
                 --certificate-identity and --certificate-oidc-issuer, or either in --policy FILE"
            );
        }
        let json = serde_json::to_vec(&document)?;
        let policy = Policy::from_document(document)?;
        Ok((policy, json))
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml"))
}

/// YAML in, JSON out: the policy then goes through the same strict JSON reader as every other
/// policy (the YAML parser already refuses duplicate keys).
fn yaml_to_json(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    if bytes.len() > ocisig::limits::MAX_POLICY_BYTES {
        bail!(
            "the policy is larger than {} bytes",
            ocisig::limits::MAX_POLICY_BYTES
        );
    }
    let value: serde_json::Value = serde_yaml_ng::from_slice(bytes)?;
    Ok(serde_json::to_vec(&value)?)
}

fn key_from_spec(spec: &str) -> anyhow::Result<KeyDocument> {
    // NAME=FILE, unless the whole spec is an existing file (whose name may hold '=').
    let (name, path) = match spec.split_once('=') {
        Some((name, path)) if !Path::new(spec).exists() => (name.to_string(), PathBuf::from(path)),
        _ => {
            let path = PathBuf::from(spec);
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .with_context(|| format!("--key {spec:?}: cannot name a key after this file"))?
                .to_string();
            (stem, path)
        }
    };
    let public_key = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    Ok(KeyDocument::new(name, public_key))
}

fn read_root(path: &Path) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read trusted root {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))
}
