//! What the server verifies against: an ocisig policy file, or Lakom's own configuration file
//! read unchanged; and reading it again when it changes.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ocisig::evidence::plan::Plan;
use ocisig::{Document, HashAlgorithm, KeyDocument, PolicyDocument, RsaScheme, Scope};
use serde::Deserialize;

use crate::policy_args::PolicyArgs;

/// Where the policy comes from.
#[derive(Clone, Debug)]
pub enum PolicySource {
    /// An ocisig policy or policy set, or ClusterImagePolicy YAML (`--policy`, with the flags
    /// that read them).
    Policy(Box<PolicyArgs>),
    /// Lakom's configuration (`publicKeys: [{name, key, algorithm}]`, YAML or JSON).
    Lakom(PathBuf),
}

impl PolicySource {
    /// The file (or directory) to watch.
    pub fn path(&self) -> &Path {
        match self {
            Self::Policy(args) => args.file.as_deref().unwrap_or(Path::new("")),
            Self::Lakom(path) => path,
        }
    }

    /// What the source holds now, to tell a change: the file's bytes, or a directory's
    /// `.yaml`/`.yml` files' names and bytes; `None` when it cannot be read.
    pub fn contents(&self) -> Option<Vec<u8>> {
        let path = self.path();
        if !path.is_dir() {
            return std::fs::read(path).ok();
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect();
        files.sort();
        let mut contents = Vec::new();
        for file in files {
            contents.extend_from_slice(file.to_string_lossy().as_bytes());
            contents.push(0);
            contents.extend(std::fs::read(&file).unwrap_or_default());
            contents.push(0);
        }
        Some(contents)
    }
}

/// A loaded policy or policy set, with what the fetching needs to know of it.
#[derive(Debug)]
pub struct ActivePolicy {
    /// The document handed to the module (a set's policies are handed one by one).
    pub json: Vec<u8>,
    /// The policy or the set, parsed.
    pub document: Document,
    /// The policy's or the set's digest, for the log.
    pub digest: String,
    /// Under a set, [`ActivePolicy::key_for`]'s answers by image, so that a cached verdict
    /// costs no glob matching (at most [`MAX_KEYS_KEPT`], then started afresh; it lives and
    /// dies with this policy).
    keys: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// The most images whose set cache key is kept.
const MAX_KEYS_KEPT: usize = 10_000;

impl ActivePolicy {
    /// What to fetch for `image` (as written, admitted in `scope`) under it
    /// ([`Plan::of_document`]).
    pub fn plan_for(&self, image: &str, scope: &Scope<'_>) -> Plan {
        Plan::of_document(&self.document, image, scope)
    }

    /// The rules that would apply to `image` by conditions on a scope that Gatekeeper's
    /// provider is not told (namespaces, resources): their names, and what they read. Empty
    /// for a policy, or when no such rule's images match.
    pub fn scoped_rules_for(&self, image: &str) -> Vec<(String, String)> {
        let Document::Set(set) = &self.document else {
            return Vec::new();
        };
        if !set.is_scoped() {
            return Vec::new();
        }
        set.rules_for(image, &Scope::UNKNOWN)
            .into_iter()
            .filter_map(|rule| {
                let what = rule.conditions().unknowable()?;
                Some((rule.name().to_string(), what))
            })
            .collect()
    }

    /// The verdict cache's word on the policy for `image` admitted in `scope`: the policy's
    /// digest, or, under a set, what `unmatched` says and the digests of the rules that apply
    /// to it, so that a changed rule misses only the entries of the images it applies to. (A
    /// set whose rules read the scope works its key out every time; any other keeps it by
    /// image.)
    pub fn key_for(&self, image: &str, scope: &Scope<'_>) -> String {
        let Document::Set(set) = &self.document else {
            return self.digest.clone();
        };
        let key_of = || {
            let mut key = String::from(set.unmatched().name());
            for rule in set.rules_for(image, scope) {
                key.push(' ');
                key.push_str(&rule.digest().to_string());
            }
            key
        };
        if set.is_scoped() {
            return key_of();
        }
        let mut keys = match self.keys.lock() {
            Ok(keys) => keys,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(key) = keys.get(image) {
            return key.clone();
        }
        let key = key_of();
        if keys.len() >= MAX_KEYS_KEPT {
            keys.clear();
        }
        keys.insert(image.to_string(), key.clone());
        key
    }
}

/// Reads and checks the policy.
///
/// # Errors
/// When the file cannot be read, is not valid, or names no signer.
pub fn load(source: &PolicySource) -> anyhow::Result<ActivePolicy> {
    let (document, json) = match source {
        PolicySource::Policy(args) => {
            let (document, json, _) = args.build_document()?;
            (document, json)
        }
        PolicySource::Lakom(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read Lakom config {}", path.display()))?;
            let document = from_lakom(&bytes)
                .with_context(|| format!("{} is not a usable Lakom config", path.display()))?;
            // A one-rule set: every image, Lakom's keys, so that its answers name the rule as
            // a set's do and --warn-only reads it as it reads any set.
            let json = serde_json::to_vec(&serde_json::json!({"rules": [
                {"name": LAKOM_RULE, "images": ["**"], "policy": document}
            ]}))?;
            (Document::from_json(&json)?, json)
        }
    };
    let digest = match &document {
        Document::Policy(policy) => policy.digest().to_string(),
        Document::Set(set) => set.digest().to_string(),
    };
    Ok(ActivePolicy {
        json,
        document,
        digest,
        keys: std::sync::Mutex::default(),
    })
}

/// The name of the one rule a Lakom configuration becomes.
pub const LAKOM_RULE: &str = "lakom";

/// Lakom's configuration file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LakomConfig {
    public_keys: Vec<LakomKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LakomKey {
    name: String,
    key: String,
    #[serde(default)]
    algorithm: Option<String>,
}

/// Lakom's RSA algorithm names, as ocisig's scheme and hash.
fn lakom_algorithm(name: &str) -> anyhow::Result<(RsaScheme, HashAlgorithm)> {
    Ok(match name {
        "RSASSA-PKCS1-v1_5-SHA256" => (RsaScheme::Pkcs1v15, HashAlgorithm::Sha256),
        "RSASSA-PKCS1-v1_5-SHA384" => (RsaScheme::Pkcs1v15, HashAlgorithm::Sha384),
        "RSASSA-PKCS1-v1_5-SHA512" => (RsaScheme::Pkcs1v15, HashAlgorithm::Sha512),
        "RSASSA-PSS-SHA256" => (RsaScheme::Pss, HashAlgorithm::Sha256),
        "RSASSA-PSS-SHA384" => (RsaScheme::Pss, HashAlgorithm::Sha384),
        "RSASSA-PSS-SHA512" => (RsaScheme::Pss, HashAlgorithm::Sha512),
        other => bail!(
            "algorithm {other:?} is not one of Lakom's: RSASSA-PKCS1-v1_5-SHA256, -SHA384, \
             -SHA512, RSASSA-PSS-SHA256, -SHA384, -SHA512"
        ),
    })
}

/// Lakom's configuration as an ocisig policy: any one of its keys (threshold 1), in either
/// signature format. Lakom's `algorithm` applies to RSA keys only, as in Lakom.
///
/// # Errors
/// When the file is neither YAML nor JSON of Lakom's shape, has no key, or names an algorithm
/// Lakom does not have.
pub fn from_lakom(bytes: &[u8]) -> anyhow::Result<PolicyDocument> {
    if bytes.len() > ocisig::limits::MAX_POLICY_BYTES {
        bail!(
            "the file is larger than {} bytes",
            ocisig::limits::MAX_POLICY_BYTES
        );
    }
    // YAML is a superset of JSON, so one parser reads both.
    let config: LakomConfig = serde_yaml_ng::from_slice(bytes)?;
    if config.public_keys.is_empty() {
        bail!("publicKeys is empty: Lakom would trust no image, and neither would ocisig");
    }
    let mut keys = Vec::with_capacity(config.public_keys.len());
    for entry in config.public_keys {
        let mut key = KeyDocument::new(entry.name.clone(), entry.key);
        if let Some(algorithm) = entry.algorithm.as_deref() {
            let (scheme, hash) =
                lakom_algorithm(algorithm).with_context(|| format!("key {:?}", entry.name))?;
            key.scheme = Some(scheme);
            key.hash_algorithm = hash;
        }
        keys.push(key);
    }
    Ok(PolicyDocument {
        keys,
        ..PolicyDocument::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEusIAt6EJ3YrTHdg2qkWVS0KuotWQ\nwHDtyaXlq7Nhj8279+1u/l5pZhXJPW8PnGRRLdO5NbsuM6aT7pOcP100uw==\n-----END PUBLIC KEY-----\n";

    #[test]
    fn maps_every_lakom_algorithm() {
        for (name, scheme, hash) in [
            (
                "RSASSA-PKCS1-v1_5-SHA256",
                RsaScheme::Pkcs1v15,
                HashAlgorithm::Sha256,
            ),
            (
                "RSASSA-PKCS1-v1_5-SHA384",
                RsaScheme::Pkcs1v15,
                HashAlgorithm::Sha384,
            ),
            (
                "RSASSA-PKCS1-v1_5-SHA512",
                RsaScheme::Pkcs1v15,
                HashAlgorithm::Sha512,
            ),
            ("RSASSA-PSS-SHA256", RsaScheme::Pss, HashAlgorithm::Sha256),
            ("RSASSA-PSS-SHA384", RsaScheme::Pss, HashAlgorithm::Sha384),
            ("RSASSA-PSS-SHA512", RsaScheme::Pss, HashAlgorithm::Sha512),
        ] {
            assert_eq!(lakom_algorithm(name).unwrap(), (scheme, hash));
        }
        assert!(lakom_algorithm("RSASSA-PSS-SHA1").is_err());
    }

    #[test]
    fn reads_lakoms_yaml_as_a_threshold_one_policy() {
        let yaml = format!(
            "publicKeys:\n- name: team\n  key: |\n{}",
            KEY.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        let document = from_lakom(yaml.as_bytes()).unwrap();
        assert_eq!(document.threshold, 1);
        assert_eq!(document.keys.len(), 1);
        assert_eq!(document.keys[0].name, "team");
        assert!(ocisig::Policy::from_document(document).is_ok());
    }

    #[test]
    fn refuses_what_lakom_would_not_mean() {
        assert!(from_lakom(b"publicKeys: []").is_err(), "no keys");
        assert!(from_lakom(b"publicKey: []").is_err(), "a misspelt field");
        let unknown = format!(
            "{{\"publicKeys\":[{{\"name\":\"a\",\"key\":{},\"algorithm\":\"RSA\"}}]}}",
            serde_json::to_string(KEY).unwrap()
        );
        assert!(
            from_lakom(unknown.as_bytes()).is_err(),
            "an unknown algorithm"
        );
    }
}
