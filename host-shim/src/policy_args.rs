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
    /// `--trusted-root`: a Sigstore trusted_root.json whose tlog keys are trusted.
    pub trusted_root: Option<PathBuf>,
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

impl PolicyArgs {
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
            // Keyless needs certificate authorities; without a root given, the embedded one.
            eprintln!("ocisig: {}", crate::trust::embedded_root_notice());
            document.trusted_root = Some(serde_json::from_slice(
                crate::trust::PRODUCTION_TRUSTED_ROOT,
            )?);
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
