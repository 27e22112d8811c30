//! sigstore policy-controller's `ClusterImagePolicy`, read as it is written and translated into
//! an ocisig policy set (`docs/policy-sets.md` has the mapping, field by field). What ocisig
//! cannot honour is refused here, naming the document and the field, never ignored.
//!
//! Each policy becomes one rule: its globs, its mode, and its authorities as the rule's
//! `anyOf` (any one authority satisfies a policy, as in policy-controller's validator); every
//! policy that matches an image must be satisfied. An authority with `attestations` is
//! satisfied by those attestations (its signers sign them) rather than by a signature, as
//! there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};

/// The API versions read.
const API_VERSIONS: &[&str] = &[
    "policy.sigstore.dev/v1alpha1",
    "policy.sigstore.dev/v1beta1",
];

/// What the command line adds to the policies.
#[derive(Clone, Debug, Default)]
pub struct CipOptions {
    /// `--trusted-root NAME=FILE`: the trust roots `trustRootRef` names, parsed.
    pub trusted_roots: BTreeMap<String, Value>,
    /// `--trusted-root FILE`: the root of authorities that name none [default: the embedded
    /// public-good root].
    pub default_root: Option<Value>,
    /// `--secret-dir DIR`: `key.secretRef` reads `DIR/<namespace>/<name>/`, which must hold
    /// one file (a mounted Secret with one key), the public key.
    pub secret_dir: Option<PathBuf>,
    /// `--no-match`: what happens to an image no policy matches [default: deny].
    pub no_match: Option<String>,
    /// `--warn-only`: every policy in warn mode.
    pub warn_only: bool,
}

/// One YAML document, and where it came from (`cips.yaml[1]`).
#[derive(Clone, Debug)]
pub struct SourceDocument {
    /// The file name and the document's index in it.
    pub label: String,
    /// The document.
    pub value: Value,
}

/// Reads every YAML document of `path`: a file (one document or several, `---` between them)
/// or a directory (its `.yaml` and `.yml` files, by name).
///
/// # Errors
/// When a file cannot be read or is not YAML, or the whole is larger than the policy cap.
pub fn read_documents(path: &Path) -> anyhow::Result<Vec<SourceDocument>> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the directory {}", path.display()))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| {
                p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml")
                })
            })
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("{} holds no .yaml or .yml file", path.display());
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut total = 0;
    let mut documents = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file)
            .with_context(|| format!("cannot read policy file {}", file.display()))?;
        total += bytes.len();
        if total > ocisig::limits::MAX_POLICY_BYTES {
            bail!(
                "the policies are larger than {} bytes",
                ocisig::limits::MAX_POLICY_BYTES
            );
        }
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        for (index, document) in serde_yaml_ng::Deserializer::from_slice(&bytes).enumerate() {
            let value: Value = serde::Deserialize::deserialize(document)
                .with_context(|| format!("{name}[{index}] is not valid YAML"))?;
            // An empty document (a trailing `---`) is nothing, as kubectl reads it.
            if !value.is_null() {
                documents.push(SourceDocument {
                    label: format!("{name}[{index}]"),
                    value,
                });
            }
        }
    }
    Ok(documents)
}

/// Whether a document is a `ClusterImagePolicy` (by its `kind`).
pub fn is_cluster_image_policy(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str) == Some("ClusterImagePolicy")
}

/// Translates `ClusterImagePolicy` documents into a policy-set document; the flag says whether
/// the embedded public-good root was used (an authority named no root and none was given).
///
/// # Errors
/// The first field ocisig cannot honour or that is malformed, as
/// `cips.yaml[1] spec.authorities[0].key.kms: KMS keys are not supported`.
pub fn to_policy_set(
    documents: &[SourceDocument],
    options: &CipOptions,
) -> anyhow::Result<(Value, bool)> {
    let mut rules = Vec::with_capacity(documents.len());
    let embedded = std::cell::Cell::new(false);
    for document in documents {
        let rule = Translation {
            label: &document.label,
            options,
            embedded: &embedded,
        }
        .policy(&document.value)?;
        rules.push(rule);
    }
    let mut set = json!({ "rules": rules });
    if let Some(no_match) = &options.no_match {
        set["unmatched"] = Value::String(no_match.clone());
    }
    Ok((set, embedded.get()))
}

/// One document's translation; errors name it and the field.
struct Translation<'a> {
    label: &'a str,
    options: &'a CipOptions,
    /// Set when the embedded root stands in for one not named.
    embedded: &'a std::cell::Cell<bool>,
}

/// A field's value as an object (a missing one is empty), refusing fields not in `known`.
fn object<'v>(value: &'v Value, known: &[&str]) -> Result<&'v Map<String, Value>, String> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let map = match value {
        Value::Object(map) => map,
        Value::Null => EMPTY.get_or_init(Map::new),
        other => return Err(format!(": expected an object, found {other}")),
    };
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(format!(
            ".{unknown}: not a field ocisig knows here (it knows {})",
            known.join(", ")
        )),
        None => Ok(map),
    }
}

fn text<'v>(map: &'v Map<String, Value>, key: &str) -> Result<Option<&'v str>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(".{key}: expected a string, found {other}")),
    }
}

fn list<'v>(map: &'v Map<String, Value>, key: &str) -> Result<&'v [Value], String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!(".{key}: expected a list, found {other}")),
    }
}

/// A pattern of policy-controller's (Go's `regexp.MatchString`, which matches anywhere) as an
/// ocisig pattern, which must match the whole value.
fn anywhere(pattern: &str) -> String {
    format!(".*(?:{pattern}).*")
}

impl Translation<'_> {
    fn fail(&self, field: &str, why: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("{} {field}: {why}", self.label)
    }

    /// `at` + the relative error of a helper (`.x: …` or `: …`).
    fn at(&self, at: &str) -> impl Fn(String) -> anyhow::Error + '_ {
        let at = at.to_string();
        move |e: String| {
            let (field, why) = match e.split_once(": ") {
                Some((field, why)) => (format!("{at}{field}"), why.to_string()),
                None => (at.clone(), e),
            };
            anyhow::anyhow!("{} {field}: {why}", self.label)
        }
    }

    fn policy(&self, value: &Value) -> anyhow::Result<Value> {
        let top = object(value, &["apiVersion", "kind", "metadata", "spec", "status"])
            .map_err(self.at(""))?;
        let api_version = text(top, "apiVersion").map_err(self.at(""))?.unwrap_or("");
        if !API_VERSIONS.contains(&api_version) {
            return Err(self.fail(
                "apiVersion",
                format!(
                    "{api_version:?} is not one ocisig reads ({})",
                    API_VERSIONS.join(", ")
                ),
            ));
        }
        if !is_cluster_image_policy(value) {
            return Err(self.fail(
                "kind",
                "only ClusterImagePolicy documents are read (TrustRoot: give its trusted root \
                 with --trusted-root NAME=FILE)",
            ));
        }
        let metadata = top.get("metadata").cloned().unwrap_or(Value::Null);
        let name = metadata
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| self.fail("metadata.name", "missing; every policy needs a name"))?;
        let spec = object(
            top.get("spec").unwrap_or(&Value::Null),
            &["images", "authorities", "policy", "mode", "match"],
        )
        .map_err(self.at("spec"))?;
        if spec.get("policy").is_some_and(|p| !p.is_null()) {
            return Err(self.fail(
                "spec.policy",
                "CUE and Rego policies over the authorities' results are not supported",
            ));
        }
        // spec.match: the resource kinds (and labels) the policy applies to, in admission.
        // Read here by the core's reader, so that an error names the document's field.
        let matches = list(spec, "match").map_err(self.at("spec"))?;
        for (i, entry) in matches.iter().enumerate() {
            ocisig::ResourceMatch::read(entry)
                .map_err(|e| self.fail(&format!("spec.match[{i}]"), e))?;
        }
        let mut images = Vec::new();
        for (i, image) in list(spec, "images")
            .map_err(self.at("spec"))?
            .iter()
            .enumerate()
        {
            let at = format!("spec.images[{i}]");
            let image = object(image, &["glob"]).map_err(self.at(&at))?;
            let glob = text(image, "glob")
                .map_err(self.at(&at))?
                .ok_or_else(|| self.fail(&format!("{at}.glob"), "missing"))?;
            images.push(Value::String(glob.into()));
        }
        if images.is_empty() {
            return Err(self.fail("spec.images", "at least one image glob is needed"));
        }
        let mode = match text(spec, "mode").map_err(self.at("spec"))? {
            _ if self.options.warn_only => "warn",
            None | Some("" | "enforce") => "enforce",
            Some("warn") => "warn",
            Some(other) => {
                return Err(self.fail("spec.mode", format!("{other:?} is not enforce or warn")));
            }
        };
        let authorities = list(spec, "authorities").map_err(self.at("spec"))?;
        if authorities.is_empty() {
            return Err(self.fail(
                "spec.authorities",
                "at least one authority is needed (a key, keyless identities or static)",
            ));
        }
        let mut policies = Vec::new();
        let mut statics = Vec::new();
        for (i, authority) in authorities.iter().enumerate() {
            let at = format!("spec.authorities[{i}]");
            match self.authority(&at, i, authority)? {
                Authority::Policy(policy) => policies.push(policy),
                Authority::Static(pass, message) => statics.push((pass, message)),
            }
        }
        let mut rule = json!({ "name": name, "images": images, "mode": mode });
        if !matches.is_empty() {
            rule["match"] = Value::Array(matches.to_vec());
        }
        if statics.iter().any(|(pass, _)| *pass) {
            // Any one authority satisfies the policy: a passing static one always does.
            rule["static"] = json!("pass");
        } else if policies.is_empty() {
            rule["static"] = json!("fail");
            if let Some((_, Some(message))) = statics.first() {
                rule["message"] = json!(message);
            }
        } else {
            // A failing static authority never satisfies the policy; the others may.
            rule["anyOf"] = Value::Array(policies);
        }
        Ok(rule)
    }

    /// `source[].oci`: the repository the authority's signatures are stored in (cosign's
    /// `COSIGN_REPOSITORY`). One source; its pull secrets and tag prefix are refused (the
    /// binary's registry credentials are used; cosign's tags have no prefix).
    fn source(&self, at: &str, authority: &Map<String, Value>) -> anyhow::Result<Option<String>> {
        let sources = list(authority, "source").map_err(self.at(at))?;
        match sources {
            [] => Ok(None),
            [source] => {
                let at = format!("{at}.source[0]");
                let s = object(source, &["oci", "signaturePullSecrets", "tagPrefix"])
                    .map_err(self.at(&at))?;
                if !list(s, "signaturePullSecrets")
                    .map_err(self.at(&at))?
                    .is_empty()
                {
                    return Err(self.fail(
                        &format!("{at}.signaturePullSecrets"),
                        "pull secrets are not read; ocisig uses its own registry credentials \
                         (the docker config it is given)",
                    ));
                }
                if text(s, "tagPrefix")
                    .map_err(self.at(&at))?
                    .is_some_and(|p| !p.is_empty())
                {
                    return Err(self.fail(
                        &format!("{at}.tagPrefix"),
                        "prefixed signature tags are not supported",
                    ));
                }
                let Some(oci) = text(s, "oci")
                    .map_err(self.at(&at))?
                    .filter(|o| !o.is_empty())
                else {
                    return Ok(None);
                };
                match ocisig::Reference::parse(oci) {
                    Ok(r) if r.tag().is_none() && r.digest().is_none() => Ok(Some(oci.to_string())),
                    Ok(_) => Err(self.fail(
                        &format!("{at}.oci"),
                        format!("{oci:?}: a repository, without a tag or digest"),
                    )),
                    Err(e) => Err(self.fail(&format!("{at}.oci"), format!("{oci:?}: {e}"))),
                }
            }
            _ => Err(self.fail(
                &format!("{at}.source"),
                format!(
                    "{} sources; ocisig reads one (policy-controller uses the last one given)",
                    sources.len()
                ),
            )),
        }
    }

    fn authority(&self, at: &str, index: usize, value: &Value) -> anyhow::Result<Authority> {
        let a = object(
            value,
            &[
                "name",
                "key",
                "keyless",
                "static",
                "source",
                "ctlog",
                "attestations",
                "rfc3161timestamp",
                "signatureFormat",
            ],
        )
        .map_err(self.at(at))?;
        let name = text(a, "name")
            .map_err(self.at(at))?
            .filter(|n| !n.is_empty())
            .map_or_else(|| format!("authority-{index}"), str::to_string);
        let kinds = ["key", "keyless", "static"]
            .iter()
            .filter(|k| a.get(**k).is_some_and(|v| !v.is_null()))
            .count();
        if kinds != 1 {
            return Err(self.fail(at, "exactly one of key, keyless and static is needed"));
        }
        let repository = self.source(at, a)?;
        if let Some(value) = a.get("static") {
            let s =
                object(value, &["action", "message"]).map_err(self.at(&format!("{at}.static")))?;
            let message = text(s, "message")
                .map_err(self.at(&format!("{at}.static")))?
                .map(str::to_string);
            return match text(s, "action").map_err(self.at(&format!("{at}.static")))? {
                Some("pass") => Ok(Authority::Static(true, message)),
                Some("fail") => Ok(Authority::Static(false, message)),
                other => Err(self.fail(
                    &format!("{at}.static.action"),
                    format!("{other:?} is not pass or fail"),
                )),
            };
        }
        let mut policy = Map::new();
        let format = match text(a, "signatureFormat").map_err(self.at(at))? {
            None | Some("") => "simplesigning",
            Some("bundle") => "bundle",
            Some(other) => {
                return Err(self.fail(
                    &format!("{at}.signatureFormat"),
                    format!("{other:?} is not bundle (or empty, for cosign's .sig tag)"),
                ));
            }
        };
        policy.insert("formats".into(), json!([format]));
        if let Some(repository) = repository {
            policy.insert("signatureRepository".into(), json!(repository));
        }
        let (keys, identities, root) = if let Some(key) = a.get("key") {
            let key = self.key(&format!("{at}.key"), &name, key)?;
            self.key_log(at, a, &mut policy)?;
            (vec![key], Vec::new(), None)
        } else {
            let keyless = a.get("keyless").unwrap_or(&Value::Null);
            let (identities, root) = self.keyless(at, a, keyless)?;
            // As policy-controller: the log entry proves the signing time unless signed
            // timestamps do (`rfc3161timestamp`), when the log is not consulted.
            let timestamps = a.get("rfc3161timestamp").is_some_and(|v| !v.is_null());
            policy.insert(
                "rekor".into(),
                json!({"mode": if timestamps { "ignore" } else { "require" }}),
            );
            (Vec::new(), identities, Some(root))
        };
        if let Some(root) = root {
            policy.insert("trustedRoot".into(), root);
        }
        let attestations = list(a, "attestations").map_err(self.at(at))?;
        if attestations.is_empty() {
            policy.insert("keys".into(), Value::Array(keys));
            policy.insert("identities".into(), Value::Array(identities));
        } else {
            let mut rules = Vec::with_capacity(attestations.len());
            for (i, attestation) in attestations.iter().enumerate() {
                let at = format!("{at}.attestations[{i}]");
                let t = object(attestation, &["name", "predicateType", "policy"])
                    .map_err(self.at(&at))?;
                if t.get("policy").is_some_and(|p| !p.is_null()) {
                    return Err(self.fail(
                        &format!("{at}.policy"),
                        "CUE and Rego policies over an attestation are not supported; ocisig's \
                         own attestation conditions are (docs/policy-sets.md)",
                    ));
                }
                let predicate_type = text(t, "predicateType")
                    .map_err(self.at(&at))?
                    .ok_or_else(|| self.fail(&format!("{at}.predicateType"), "missing"))?;
                let mut rule = json!({
                    "predicateType": predicate_type,
                    "keys": keys,
                    "identities": identities,
                });
                if let Some(name) = text(t, "name").map_err(self.at(&at))? {
                    rule["name"] = json!(name);
                }
                rules.push(rule);
            }
            policy.insert("attestations".into(), Value::Array(rules));
        }
        Ok(Authority::Policy(Value::Object(policy)))
    }

    /// A key authority's key, from `data` or a mounted secret.
    fn key(&self, at: &str, name: &str, value: &Value) -> anyhow::Result<Value> {
        let k =
            object(value, &["data", "secretRef", "kms", "hashAlgorithm"]).map_err(self.at(at))?;
        if text(k, "kms")
            .map_err(self.at(at))?
            .is_some_and(|s| !s.is_empty())
        {
            return Err(self.fail(&format!("{at}.kms"), "KMS keys are not supported"));
        }
        let data = match (text(k, "data").map_err(self.at(at))?, k.get("secretRef")) {
            (Some(data), None) if !data.is_empty() => data.to_string(),
            (None, Some(secret)) => self.secret(&format!("{at}.secretRef"), secret)?,
            _ => return Err(self.fail(at, "exactly one of data and secretRef is needed")),
        };
        // policy-controller verifies with sha256 unless told otherwise.
        let hash = text(k, "hashAlgorithm")
            .map_err(self.at(at))?
            .unwrap_or("sha256");
        if !["sha256", "sha384", "sha512"].contains(&hash) {
            return Err(self.fail(
                &format!("{at}.hashAlgorithm"),
                format!("{hash:?} is not sha256, sha384 or sha512"),
            ));
        }
        Ok(json!({"name": name, "publicKey": data, "hashAlgorithm": hash}))
    }

    /// The public key in a mounted secret: `--secret-dir DIR/<namespace>/<name>/`, one file.
    fn secret(&self, at: &str, value: &Value) -> anyhow::Result<String> {
        let s = object(value, &["name", "namespace"]).map_err(self.at(at))?;
        let name = text(s, "name").map_err(self.at(at))?.unwrap_or("");
        let namespace = text(s, "namespace").map_err(self.at(at))?.unwrap_or("");
        let Some(dir) = &self.options.secret_dir else {
            return Err(self.fail(
                at,
                "a secret is read from files: mount it and give --secret-dir DIR, which holds \
                 DIR/<namespace>/<name>/",
            ));
        };
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                && part != "."
                && part != ".."
        };
        if !valid(name) || !valid(namespace) {
            return Err(self.fail(at, "needs a name and a namespace (Kubernetes object names)"));
        }
        let dir = dir.join(namespace).join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| self.fail(at, format!("cannot read {}: {e}", dir.display())))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            // A mounted secret's own bookkeeping (`..data`, `..2024_…`) is not a key.
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(".."))
            })
            .collect();
        files.sort();
        match files.as_slice() {
            [file] => std::fs::read_to_string(file)
                .map_err(|e| self.fail(at, format!("cannot read {}: {e}", file.display()))),
            _ => Err(self.fail(
                at,
                format!(
                    "{} holds {} files; a key secret holds exactly one (the public key)",
                    dir.display(),
                    files.len()
                ),
            )),
        }
    }

    /// A key authority's transparency log: none by default (policy-controller skips the log
    /// check then); with `ctlog`, a Rekor entry is required and checked offline against the
    /// log keys of its trust root.
    fn key_log(
        &self,
        at: &str,
        a: &Map<String, Value>,
        policy: &mut Map<String, Value>,
    ) -> anyhow::Result<()> {
        if a.get("rfc3161timestamp").is_some_and(|v| !v.is_null()) {
            return Err(self.fail(
                &format!("{at}.rfc3161timestamp"),
                "signed timestamps are checked for keyless authorities only",
            ));
        }
        let Some(ctlog) = a.get("ctlog").filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let at = format!("{at}.ctlog");
        let c = object(ctlog, &["url", "trustRootRef"]).map_err(self.at(&at))?;
        let root = self.root(&at, text(c, "trustRootRef").map_err(self.at(&at))?)?;
        policy.insert(
            "rekor".into(),
            json!({"mode": "require", "trustedRoot": root}),
        );
        Ok(())
    }

    /// A keyless authority's identities and trust root.
    fn keyless(
        &self,
        at: &str,
        a: &Map<String, Value>,
        value: &Value,
    ) -> anyhow::Result<(Vec<Value>, Value)> {
        let kat = format!("{at}.keyless");
        let k = object(
            value,
            &[
                "url",
                "identities",
                "ca-cert",
                "trustRootRef",
                "insecureIgnoreSCT",
            ],
        )
        .map_err(self.at(&kat))?;
        if k.get("ca-cert").is_some_and(|v| !v.is_null()) {
            return Err(self.fail(
                &format!("{kat}.ca-cert"),
                "a CA certificate outside a trust root is not supported; put it in a \
                 trusted_root.json and name it with trustRootRef",
            ));
        }
        if k.get("insecureIgnoreSCT") == Some(&Value::Bool(true)) {
            return Err(self.fail(
                &format!("{kat}.insecureIgnoreSCT"),
                "ocisig always checks the certificate's SCT",
            ));
        }
        let trust_root_ref = text(k, "trustRootRef").map_err(self.at(&kat))?;
        for other in ["ctlog", "rfc3161timestamp"] {
            if let Some(v) = a.get(other).filter(|v| !v.is_null()) {
                let oat = format!("{at}.{other}");
                let o = object(v, &["url", "trustRootRef"]).map_err(self.at(&oat))?;
                let theirs = text(o, "trustRootRef").map_err(self.at(&oat))?;
                if theirs.is_some() && theirs != trust_root_ref {
                    return Err(self.fail(
                        &format!("{oat}.trustRootRef"),
                        "must name the keyless authority's trust root (ocisig checks a keyless \
                         signature against one trusted root)",
                    ));
                }
            }
        }
        let root = self.root(&kat, trust_root_ref)?;
        let mut identities = Vec::new();
        for (i, identity) in list(k, "identities")
            .map_err(self.at(&kat))?
            .iter()
            .enumerate()
        {
            let iat = format!("{kat}.identities[{i}]");
            let id = object(
                identity,
                &["issuer", "subject", "issuerRegExp", "subjectRegExp"],
            )
            .map_err(self.at(&iat))?;
            let field = |key: &str| text(id, key).map_err(self.at(&iat));
            let mut out = Map::new();
            match (field("issuer")?, field("issuerRegExp")?) {
                (Some(exact), None) if !exact.is_empty() => {
                    out.insert("issuer".into(), json!(exact));
                }
                (None, Some(pattern)) if !pattern.is_empty() => {
                    out.insert("issuerRegExp".into(), json!(anywhere(pattern)));
                }
                _ => {
                    return Err(self.fail(&iat, "exactly one of issuer and issuerRegExp is needed"));
                }
            }
            match (field("subject")?, field("subjectRegExp")?) {
                (Some(exact), None) if !exact.is_empty() => {
                    out.insert("subject".into(), json!(exact));
                }
                (None, Some(pattern)) if !pattern.is_empty() => {
                    out.insert("subjectRegExp".into(), json!(anywhere(pattern)));
                }
                _ => {
                    return Err(
                        self.fail(&iat, "exactly one of subject and subjectRegExp is needed")
                    );
                }
            }
            identities.push(Value::Object(out));
        }
        if identities.is_empty() {
            return Err(self.fail(
                &format!("{kat}.identities"),
                "at least one identity is needed",
            ));
        }
        Ok((identities, root))
    }

    /// The trust root `reference` names, or the embedded public-good one.
    fn root(&self, at: &str, reference: Option<&str>) -> anyhow::Result<Value> {
        match reference.filter(|r| !r.is_empty()) {
            Some(name) => self
                .options
                .trusted_roots
                .get(name)
                .cloned()
                .ok_or_else(|| {
                    self.fail(
                        &format!("{at}.trustRootRef"),
                        format!(
                            "{name:?} names no trust root: give it with --trusted-root {name}=FILE"
                        ),
                    )
                }),
            None => match &self.options.default_root {
                Some(root) => Ok(root.clone()),
                None => {
                    self.embedded.set(true);
                    crate::trust::DefaultRoot::get()?.value()
                }
            },
        }
    }
}

/// What one authority is.
enum Authority {
    /// A policy (its JSON document).
    Policy(Value),
    /// `static`: pass or fail, with its message.
    Static(bool, Option<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEusIAt6EJ3YrTHdg2qkWVS0KuotWQ\nwHDtyaXlq7Nhj8279+1u/l5pZhXJPW8PnGRRLdO5NbsuM6aT7pOcP100uw==\n-----END PUBLIC KEY-----\n";

    fn documents(yaml: &str) -> Vec<SourceDocument> {
        serde_yaml_ng::Deserializer::from_str(yaml)
            .enumerate()
            .map(|(index, document)| SourceDocument {
                label: format!("cips.yaml[{index}]"),
                value: serde::Deserialize::deserialize(document)
                    .unwrap_or_else(|e| unreachable!("{e}")),
            })
            .collect()
    }

    fn options() -> CipOptions {
        let mut options = CipOptions::default();
        options.trusted_roots.insert(
            "corp".into(),
            serde_json::from_slice(crate::trust::PRODUCTION_TRUSTED_ROOT).unwrap_or_default(),
        );
        options
    }

    fn translate(yaml: &str) -> Result<Value, String> {
        to_policy_set(&documents(yaml), &options())
            .map(|(set, _)| set)
            .map_err(|e| e.to_string())
    }

    /// The set the translation gives, parsed by the core: so that every translation is one
    /// ocisig accepts.
    fn checked(yaml: &str) -> (Value, ocisig::PolicySet) {
        let set = translate(yaml).unwrap_or_else(|e| unreachable!("{e}"));
        let parsed = ocisig::PolicySet::from_json(set.to_string().as_bytes())
            .unwrap_or_else(|e| unreachable!("{e}: {set}"));
        (set, parsed)
    }

    fn cip(name: &str, spec: &str) -> String {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: {name}\nspec:\n{spec}"
        )
    }

    fn key_block() -> String {
        KEY.lines().map(|l| format!("          {l}\n")).collect()
    }

    /// The shape of policy-controller's `examples/policies/signed-by-github-actions.yaml` and
    /// `release-signed-by-github-actions.yaml`: keyless, one identity, the public-good root.
    #[test]
    fn keyless_identities_as_policy_controller_matches_them() {
        let yaml = cip(
            "image-is-signed-by-github-actions",
            "  images:\n  - glob: \"**\"\n  authorities:\n  - keyless:\n      url: https://fulcio.sigstore.dev\n      identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: \"https://github.com/org/.*\"\n",
        );
        let (set, parsed) = checked(&yaml);
        let policy = &set["rules"][0]["anyOf"][0];
        assert_eq!(
            policy["identities"][0]["issuer"],
            "https://token.actions.githubusercontent.com"
        );
        // Go's regexp.MatchString matches anywhere; ocisig's patterns match all of the value.
        assert_eq!(
            policy["identities"][0]["subjectRegExp"],
            ".*(?:https://github.com/org/.*).*"
        );
        // The log entry proves the time, as policy-controller requires it.
        assert_eq!(policy["rekor"]["mode"], "require");
        assert_eq!(policy["formats"], json!(["simplesigning"]));
        assert_eq!(
            parsed.rules()[0].name(),
            "image-is-signed-by-github-actions"
        );
        assert!(parsed.rules()[0].applies_to("ghcr.io/a/b/c:v1", &ocisig::Scope::UNKNOWN));
    }

    #[test]
    fn key_authorities_with_bundles_logs_and_static_ones() {
        let yaml = format!(
            "{}---\n{}",
            cip(
                "team",
                &format!(
                    "  mode: warn\n  images:\n  - glob: \"ghcr.io/acme/*\"\n  authorities:\n  - name: release\n    signatureFormat: bundle\n    key:\n      hashAlgorithm: sha384\n      data: |\n{}  - name: legacy\n    ctlog:\n      trustRootRef: corp\n    key:\n      data: |\n{}",
                    key_block(),
                    key_block()
                )
            ),
            cip(
                "mirrors",
                "  images:\n  - glob: \"registry.k8s.io/**\"\n  authorities:\n  - static:\n      action: fail\n      message: use the mirror\n",
            )
        );
        let (set, parsed) = checked(&yaml);
        let team = &set["rules"][0];
        assert_eq!(team["mode"], "warn");
        assert_eq!(team["anyOf"][0]["formats"], json!(["bundle"]));
        assert_eq!(team["anyOf"][0]["keys"][0]["name"], "release");
        assert_eq!(team["anyOf"][0]["keys"][0]["hashAlgorithm"], "sha384");
        assert!(
            team["anyOf"][0].get("rekor").is_none(),
            "no ctlog: no log check"
        );
        assert_eq!(team["anyOf"][1]["keys"][0]["hashAlgorithm"], "sha256");
        assert_eq!(team["anyOf"][1]["rekor"]["mode"], "require");
        assert_eq!(set["rules"][1]["static"], "fail");
        assert_eq!(set["rules"][1]["message"], "use the mirror");
        assert_eq!(parsed.rules().len(), 2);
    }

    /// `spec.match` narrows the policy to the resources it selects, as policy-controller's
    /// validator does; where the resource is not known the policy applies.
    #[test]
    fn match_selects_resources_and_labels() {
        let yaml = cip(
            "deployments-only",
            "  images:\n  - glob: \"**\"\n  authorities:\n  - static:\n      action: fail\n  match:\n  - group: apps\n    version: \"*\"\n    resource: deployments\n    selector:\n      matchLabels:\n        tier: front\n",
        );
        let (set, parsed) = checked(&yaml);
        assert_eq!(set["rules"][0]["match"][0]["resource"], "deployments");
        let rule = &parsed.rules()[0];
        let front = json!({"tier": "front"});
        let scope = |resource: &'static str, group: &'static str| ocisig::Scope {
            namespace: Some("default"),
            resource: Some(ocisig::Resource {
                group,
                version: "v1",
                resource,
            }),
            labels: front.as_object(),
        };
        assert!(rule.applies_to("nginx", &scope("deployments", "apps")));
        assert!(!rule.applies_to("nginx", &scope("pods", "")));
        assert!(rule.applies_to("nginx", &ocisig::Scope::UNKNOWN));
    }

    /// The shape of `custom-key-attestation-sbom-spdxjson.yaml` without its CUE policy: the
    /// authority is met by its attestations, not by a signature.
    #[test]
    fn attestations_are_what_an_authority_with_them_checks() {
        let yaml = cip(
            "custom-key-attestation-sbom-spdxjson",
            &format!(
                "  images:\n  - glob: \"**\"\n  authorities:\n  - name: custom-key\n    key:\n      data: |\n{}    attestations:\n    - name: must-have-spdxjson\n      predicateType: spdxjson\n",
                key_block()
            ),
        );
        let (set, _) = checked(&yaml);
        let policy = &set["rules"][0]["anyOf"][0];
        assert!(policy.get("keys").is_none(), "{policy}");
        assert_eq!(policy["attestations"][0]["predicateType"], "spdxjson");
        assert_eq!(policy["attestations"][0]["name"], "must-have-spdxjson");
        assert_eq!(policy["attestations"][0]["keys"][0]["name"], "custom-key");
    }

    /// What ocisig cannot honour is refused, naming the document and the field; each case is a
    /// field of policy-controller's examples or types.
    #[test]
    fn what_cannot_be_honoured_is_refused_naming_the_field() {
        let key = key_block();
        let cases = [
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - key:\n      kms: awskms:///arn:aws:kms:us-west-2:1:key/x\n".to_string(),
                "cips.yaml[0] spec.authorities[0].key.kms: KMS keys are not supported",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - static:\n      action: pass\n  policy:\n    type: cue\n    data: x\n".into(),
                "cips.yaml[0] spec.policy: CUE and Rego",
            ),
            (
                format!("  images:\n  - glob: \"**\"\n  authorities:\n  - key:\n      data: |\n{key}    attestations:\n    - name: a\n      predicateType: spdxjson\n      policy:\n        type: cue\n        data: x\n"),
                "cips.yaml[0] spec.authorities[0].attestations[0].policy: CUE and Rego",
            ),
            (
                format!("  images:\n  - glob: \"**\"\n  authorities:\n  - source:\n    - oci: registry.example/sigs\n      signaturePullSecrets:\n      - name: pull\n    key:\n      data: |\n{key}"),
                "cips.yaml[0] spec.authorities[0].source[0].signaturePullSecrets: pull secrets are not read",
            ),
            (
                format!("  images:\n  - glob: \"**\"\n  authorities:\n  - source:\n    - oci: registry.example/a\n    - oci: registry.example/b\n    key:\n      data: |\n{key}"),
                "cips.yaml[0] spec.authorities[0].source: 2 sources",
            ),
            (
                format!("  images:\n  - glob: \"**\"\n  authorities:\n  - source:\n    - oci: \"registry.example/a:v1\"\n    key:\n      data: |\n{key}"),
                "cips.yaml[0] spec.authorities[0].source[0].oci: \"registry.example/a:v1\": a repository, without a tag",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - key:\n      secretRef:\n        name: k\n        namespace: ns\n".into(),
                "cips.yaml[0] spec.authorities[0].key.secretRef: a secret is read from files",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - keyless:\n      trustRootRef: elsewhere\n      identities:\n      - issuer: i\n        subject: s\n".into(),
                "cips.yaml[0] spec.authorities[0].keyless.trustRootRef: \"elsewhere\" names no trust root",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - keyless:\n      ca-cert:\n        data: x\n      identities:\n      - issuer: i\n        subject: s\n".into(),
                "cips.yaml[0] spec.authorities[0].keyless.ca-cert",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - keyless:\n      insecureIgnoreSCT: true\n      identities:\n      - issuer: i\n        subject: s\n".into(),
                "cips.yaml[0] spec.authorities[0].keyless.insecureIgnoreSCT",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - static:\n      action: pass\n  match:\n  - version: v1\n    selector:\n      matchLabels:\n        a: b\n".into(),
                "cips.yaml[0] spec.match[0]: resource: a match entry names a resource",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - static:\n      action: pass\n  match:\n  - resource: pods\n    version: v1\n    selector:\n      matchExpressions:\n      - key: a\n        operator: Gt\n        values: [\"1\"]\n".into(),
                "cips.yaml[0] spec.match[0]: selector: matchExpressions[0]: operator: \"Gt\" is not In",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - static:\n      action: pass\n  colour: blue\n".into(),
                "cips.yaml[0] spec.colour: not a field ocisig knows",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - static:\n      action: maybe\n".into(),
                "cips.yaml[0] spec.authorities[0].static.action",
            ),
            (
                "  images:\n  - glob: \"**\"\n  authorities:\n  - keyless:\n      identities:\n      - issuer: i\n        subject: s\n    ctlog:\n      trustRootRef: corp\n".into(),
                "cips.yaml[0] spec.authorities[0].ctlog.trustRootRef: must name the keyless authority's trust root",
            ),
            (
                "  images: []\n  authorities:\n  - static:\n      action: pass\n".into(),
                "cips.yaml[0] spec.images: at least one image glob",
            ),
            (
                "  images:\n  - glob: \"**\"\n  mode: audit\n  authorities:\n  - static:\n      action: pass\n".into(),
                "cips.yaml[0] spec.mode: \"audit\" is not enforce or warn",
            ),
        ];
        for (spec, expected) in cases {
            let err = translate(&cip("p", &spec)).err().unwrap_or_default();
            assert!(
                err.starts_with(expected),
                "{spec}\n{err:?}\nlacks {expected:?}"
            );
        }
        let other_kind = "apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata:\n  name: r\nspec: {}\n";
        let err = translate(other_kind).err().unwrap_or_default();
        assert!(
            err.starts_with("cips.yaml[0] kind: only ClusterImagePolicy"),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_read_from_their_mounted_directory() {
        let dir = std::env::temp_dir().join(format!("ocisig-cip-secrets-{}", std::process::id()));
        let secret = dir.join("cosign-system").join("release-key");
        std::fs::create_dir_all(&secret).unwrap_or_else(|e| unreachable!("{e}"));
        std::fs::write(secret.join("cosign.pub"), KEY).unwrap_or_else(|e| unreachable!("{e}"));
        let yaml = cip(
            "p",
            "  images:\n  - glob: \"**\"\n  authorities:\n  - key:\n      secretRef:\n        name: release-key\n        namespace: cosign-system\n",
        );
        let options = CipOptions {
            secret_dir: Some(dir.clone()),
            ..CipOptions::default()
        };
        let set = to_policy_set(&documents(&yaml), &options).map(|(set, _)| set);
        assert_eq!(
            set.ok()
                .map(|s| s["rules"][0]["anyOf"][0]["keys"][0]["publicKey"].clone()),
            Some(json!(KEY))
        );
        // A second file makes the secret ambiguous: refused.
        std::fs::write(secret.join("other"), "x").unwrap_or_else(|e| unreachable!("{e}"));
        let err = to_policy_set(&documents(&yaml), &options)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("holds 2 files"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
