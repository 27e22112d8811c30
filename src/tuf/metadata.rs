//! TUF metadata as the specification (1.0.x) writes it: an envelope of `signed` and
//! `signatures`, and the four top-level roles and delegations inside. Read strictly where
//! the meaning is at stake (types, versions, expiry, thresholds, hashes) and leniently where
//! the specification lets a repository add fields, which are kept in the signed bytes and
//! otherwise ignored. Nothing here trusts anything: [`crate::tuf::trusted`] decides.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::Value;

use crate::crypto::keys::PublicKey;
use crate::crypto::options::{HashAlgorithm, KeyOptions, RsaScheme};
use crate::encoding::time::parse_rfc3339;
use crate::limits;
use crate::tuf::canonical;
use crate::tuf::error::TufError;

/// A top-level role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleType {
    /// `root`.
    Root,
    /// `timestamp`.
    Timestamp,
    /// `snapshot`.
    Snapshot,
    /// `targets` (and every delegated targets role).
    Targets,
}

impl RoleType {
    /// The largest file of this role read ([`crate::limits`]): a host asks for no more.
    pub fn max_bytes(self) -> usize {
        match self {
            Self::Root => limits::MAX_TUF_ROOT_BYTES,
            Self::Timestamp => limits::MAX_TUF_TIMESTAMP_BYTES,
            Self::Snapshot => limits::MAX_TUF_SNAPSHOT_BYTES,
            Self::Targets => limits::MAX_TUF_TARGETS_BYTES,
        }
    }

    /// The `_type` it is written with.
    pub fn name(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Timestamp => "timestamp",
            Self::Snapshot => "snapshot",
            Self::Targets => "targets",
        }
    }
}

/// A metadata file read: its `signed` part parsed, its canonical bytes (what the signatures
/// cover) and its signatures, each key id once.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// The `signed` value.
    pub signed: Value,
    /// The canonical JSON of `signed`.
    pub canonical: Vec<u8>,
    /// `(keyid, signature bytes)`; a signature that is not hex is kept empty (it verifies
    /// under no key).
    pub signatures: Vec<(String, Vec<u8>)>,
}

impl Envelope {
    /// Reads a metadata file of role `expected` (its `_type`).
    ///
    /// # Errors
    /// Not JSON, not the envelope's shape, another `_type`, a key id signing twice.
    pub fn read(bytes: &[u8], expected: RoleType) -> Result<Self, TufError> {
        let cap = expected.max_bytes();
        if bytes.len() > cap {
            return Err(TufError::Malformed(format!(
                "{} bytes of {} metadata; the most read is {cap}",
                bytes.len(),
                expected.name()
            )));
        }
        let value = crate::encoding::json::parse_value(bytes)
            .map_err(|e| TufError::Malformed(format!("not JSON: {e}")))?;
        let bad = |what: &str| TufError::Malformed(what.to_string());
        let signed = value.get("signed").ok_or_else(|| bad("no `signed`"))?;
        let kind = signed.get("_type").and_then(Value::as_str);
        if kind != Some(expected.name()) {
            return Err(TufError::WrongType {
                expected: expected.name(),
                found: kind.unwrap_or("none").to_string(),
            });
        }
        let listed = value
            .get("signatures")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("`signatures` is not a list"))?;
        let mut signatures: Vec<(String, Vec<u8>)> = Vec::with_capacity(listed.len());
        for entry in listed {
            let keyid = entry
                .get("keyid")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("a signature has no `keyid`"))?;
            let sig = entry
                .get("sig")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("a signature has no `sig`"))?;
            if signatures.iter().any(|(id, _)| id == keyid) {
                return Err(TufError::Malformed(format!(
                    "key {keyid} signs twice; each key id signs once"
                )));
            }
            signatures.push((keyid.to_string(), hex(sig).unwrap_or_default()));
        }
        let canonical = canonical::encode(signed)
            .map_err(|e| TufError::Malformed(e.0))?
            .into_bytes();
        Ok(Self {
            signed: signed.clone(),
            canonical,
            signatures,
        })
    }

    /// Checks that `threshold` distinct keys of `role`, among `keys`, signed. Distinct by the
    /// key itself, not its id: one key listed under two ids counts once.
    ///
    /// # Errors
    /// [`TufError::Threshold`] naming the role and how many signed.
    pub fn verify(&self, role: &str, keys: &Keys, delegation: &RoleKeys) -> Result<(), TufError> {
        let mut signed_by: Vec<&[u8]> = Vec::new();
        for keyid in &delegation.keyids {
            let Some(Some(key)) = keys.get(keyid) else {
                continue;
            };
            if signed_by.contains(&key.spki_der()) {
                continue;
            }
            let Some((_, signature)) = self.signatures.iter().find(|(id, _)| id == keyid) else {
                continue;
            };
            if key.verify(&self.canonical, signature).is_ok() {
                signed_by.push(key.spki_der());
            }
        }
        let valid = u32::try_from(signed_by.len()).unwrap_or(u32::MAX);
        if valid < delegation.threshold {
            return Err(TufError::Threshold {
                role: role.to_string(),
                valid,
                threshold: delegation.threshold,
            });
        }
        Ok(())
    }
}

/// Decodes lower- or upper-case hex.
pub(crate) fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Keys by id; `None` for a key of a type or scheme ocisig does not verify (allowed in a
/// root, where it only never counts toward a threshold).
pub type Keys = BTreeMap<String, Option<PublicKey>>;

/// The keys a role is delegated to, and how many must sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleKeys {
    /// Key ids.
    pub keyids: Vec<String>,
    /// At least 1.
    pub threshold: u32,
}

/// What every role has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Common {
    /// At least 1.
    pub version: u64,
    /// Seconds since the epoch.
    pub expires: i64,
}

impl Common {
    /// Whether it has expired at `now` (expiry at `now` itself counts as expired).
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires
    }
}

/// A `root`.
#[derive(Clone, Debug)]
pub struct Root {
    /// Version and expiry.
    pub common: Common,
    /// Its keys.
    pub keys: Keys,
    /// The four roles' keys, in [`RoleType`] order.
    pub roles: BTreeMap<RoleType, RoleKeys>,
    /// Whether files are named by version (`N.snapshot.json`) and hash (targets).
    pub consistent_snapshot: bool,
}

/// Where a file (metadata in snapshot and timestamp) is described: its version, and optionally
/// its length and hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaFile {
    /// At least 1.
    pub version: u64,
    /// Bytes.
    pub length: Option<u64>,
    /// Algorithm → hex digest; empty when not given.
    pub hashes: BTreeMap<String, String>,
}

/// A `timestamp`.
#[derive(Clone, Debug)]
pub struct Timestamp {
    /// Version and expiry.
    pub common: Common,
    /// `meta["snapshot.json"]`.
    pub snapshot: MetaFile,
}

/// A `snapshot`.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Version and expiry.
    pub common: Common,
    /// `meta`: file name (`targets.json`, `ROLE.json`) → its description.
    pub meta: BTreeMap<String, MetaFile>,
}

/// A target file: its length and at least one hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetFile {
    /// Bytes.
    pub length: u64,
    /// Algorithm → hex digest.
    pub hashes: BTreeMap<String, String>,
}

/// Which target paths a delegated role is trusted for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Paths {
    /// `paths`: shell-style patterns, `*` within a path segment.
    Patterns(Vec<String>),
    /// `path_hash_prefixes`: hex prefixes of the SHA-256 of the path.
    HashPrefixes(Vec<String>),
}

/// A delegated targets role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegatedRole {
    /// Its name (`ROLE.json`).
    pub name: String,
    /// Its keys.
    pub keys: RoleKeys,
    /// Whether the search stops at it.
    pub terminating: bool,
    /// Its paths.
    pub paths: Paths,
}

/// Succinct hash-bin delegations (TAP 15): `2^bit_length` roles named
/// `NAME_PREFIX-XX`, each for the paths whose hash starts with its bin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuccinctRoles {
    /// The keys every bin shares.
    pub keys: RoleKeys,
    /// 1 to 32.
    pub bit_length: u32,
    /// The bins' name prefix.
    pub name_prefix: String,
}

impl SuccinctRoles {
    /// The bin `path` falls in: `NAME_PREFIX-XX`, the first `bit_length` bits of the path's
    /// SHA-256, in hex as wide as the largest bin needs.
    pub fn bin_for(&self, path: &str) -> String {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(path.as_bytes());
        let first = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
        let bin = first >> (32 - self.bit_length);
        format!(
            "{}-{:0width$x}",
            self.name_prefix,
            bin,
            width = self.bin_width()
        )
    }

    fn bin_width(&self) -> usize {
        (self.bit_length as usize).div_ceil(4)
    }

    /// Whether `role` names one of its bins.
    pub fn is_bin(&self, role: &str) -> bool {
        let Some(suffix) = role
            .strip_prefix(self.name_prefix.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
        else {
            return false;
        };
        suffix.len() == self.bin_width()
            && suffix
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
            && u64::from_str_radix(suffix, 16).is_ok_and(|bin| bin < 1u64 << self.bit_length)
    }
}

/// A targets role's delegations.
#[derive(Clone, Debug)]
pub struct Delegations {
    /// Their keys.
    pub keys: Keys,
    /// Explicit roles, in order.
    pub roles: Vec<DelegatedRole>,
    /// Or succinct hash bins.
    pub succinct: Option<SuccinctRoles>,
}

/// A `targets` role (top-level or delegated).
#[derive(Clone, Debug)]
pub struct Targets {
    /// Version and expiry.
    pub common: Common,
    /// Target path → file.
    pub targets: BTreeMap<String, TargetFile>,
    /// Its delegations.
    pub delegations: Option<Delegations>,
}

fn field<'v>(value: &'v Value, name: &str) -> Result<&'v Value, TufError> {
    value
        .get(name)
        .ok_or_else(|| TufError::Malformed(format!("missing `{name}`")))
}

fn text<'v>(value: &'v Value, name: &str) -> Result<&'v str, TufError> {
    field(value, name)?
        .as_str()
        .ok_or_else(|| TufError::Malformed(format!("`{name}` is not a string")))
}

fn object<'v>(
    value: &'v Value,
    name: &str,
) -> Result<&'v serde_json::Map<String, Value>, TufError> {
    field(value, name)?
        .as_object()
        .ok_or_else(|| TufError::Malformed(format!("`{name}` is not an object")))
}

fn positive(value: &Value, name: &str) -> Result<u64, TufError> {
    field(value, name)?
        .as_u64()
        .filter(|n| *n >= 1)
        .ok_or_else(|| TufError::Malformed(format!("`{name}` is not an integer of at least 1")))
}

fn strings(value: &Value, name: &str) -> Result<Vec<String>, TufError> {
    field(value, name)?
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| TufError::Malformed(format!("`{name}` is not a list of strings")))
}

fn common(signed: &Value) -> Result<Common, TufError> {
    let spec = text(signed, "spec_version")?;
    let major = spec.split('.').next().unwrap_or("");
    if major != "1" || spec.split('.').count() < 2 {
        return Err(TufError::Malformed(format!(
            "spec_version {spec:?}: ocisig reads TUF 1.x metadata"
        )));
    }
    let expires = text(signed, "expires")?;
    // The specification writes expiry as `YYYY-MM-DDTHH:MM:SSZ`, always in UTC.
    if !expires.ends_with('Z') {
        return Err(TufError::Malformed(format!(
            "expires {expires:?}: not a UTC time ending in Z"
        )));
    }
    let expires = parse_rfc3339(expires)
        .ok_or_else(|| TufError::Malformed(format!("expires {expires:?}: not a time")))?;
    Ok(Common {
        version: positive(signed, "version")?,
        expires,
    })
}

fn role_keys(value: &Value) -> Result<RoleKeys, TufError> {
    let keyids = strings(value, "keyids")?;
    let threshold = positive(value, "threshold")?;
    let mut unique = keyids.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != keyids.len() {
        return Err(TufError::Malformed("a role lists a key id twice".into()));
    }
    Ok(RoleKeys {
        keyids,
        threshold: u32::try_from(threshold)
            .map_err(|_| TufError::Malformed("threshold is out of range".into()))?,
    })
}

/// One key of a `keys` object: the key types and schemes of the specification that ocisig
/// verifies (`ed25519`; `ecdsa-sha2-nistp256` and `-nistp384`, keytype `ecdsa` or the old
/// spelling; `rsassa-pss-sha256`), `None` for any other.
fn key(value: &Value) -> Result<Option<PublicKey>, TufError> {
    let keytype = text(value, "keytype")?;
    let scheme = text(value, "scheme")?;
    let public = text(field(value, "keyval")?, "public")?;
    let pem = |hash: HashAlgorithm, scheme: Option<RsaScheme>| {
        PublicKey::from_pem_with(public, KeyOptions { hash, scheme })
            .map(Some)
            .map_err(|e| TufError::Malformed(format!("a {keytype} key: {e}")))
    };
    match (keytype, scheme) {
        ("ed25519", "ed25519") => {
            let raw = hex(public)
                .filter(|raw| raw.len() == 32)
                .ok_or_else(|| TufError::Malformed("an ed25519 key is not 32 hex bytes".into()))?;
            // SubjectPublicKeyInfo for id-Ed25519 (RFC 8410) around the raw key.
            let mut der = alloc::vec![
                0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
            ];
            der.extend_from_slice(&raw);
            PublicKey::from_spki_der(&der, KeyOptions::default())
                .map(Some)
                .map_err(|e| TufError::Malformed(format!("an ed25519 key: {e}")))
        }
        ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
            pem(HashAlgorithm::Sha256, None)
        }
        ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
            pem(HashAlgorithm::Sha384, None)
        }
        ("rsa", "rsassa-pss-sha256") => pem(HashAlgorithm::Sha256, Some(RsaScheme::Pss)),
        _ => Ok(None),
    }
}

fn keys(value: &Value, name: &str) -> Result<Keys, TufError> {
    let mut out = Keys::new();
    for (id, entry) in object(value, name)? {
        out.insert(id.clone(), key(entry)?);
    }
    Ok(out)
}

fn meta_file(value: &Value) -> Result<MetaFile, TufError> {
    let length = match value.get("length") {
        None => None,
        Some(n) => Some(
            n.as_u64()
                .ok_or_else(|| TufError::Malformed("`length` is not an integer".into()))?,
        ),
    };
    let hashes = match value.get("hashes") {
        None => BTreeMap::new(),
        Some(_) => hashes(value)?,
    };
    Ok(MetaFile {
        version: positive(value, "version")?,
        length,
        hashes,
    })
}

fn hashes(value: &Value) -> Result<BTreeMap<String, String>, TufError> {
    let mut out = BTreeMap::new();
    for (algorithm, digest) in object(value, "hashes")? {
        let digest = digest
            .as_str()
            .ok_or_else(|| TufError::Malformed("a hash is not a string".into()))?;
        out.insert(algorithm.clone(), digest.to_string());
    }
    if out.is_empty() {
        return Err(TufError::Malformed("`hashes` is empty".into()));
    }
    Ok(out)
}

impl Root {
    /// Reads a root's `signed`.
    ///
    /// # Errors
    /// A missing or malformed field; a role missing.
    pub fn read(signed: &Value) -> Result<Self, TufError> {
        let roles_value = object(signed, "roles")?;
        let mut roles = BTreeMap::new();
        for role in [
            RoleType::Root,
            RoleType::Timestamp,
            RoleType::Snapshot,
            RoleType::Targets,
        ] {
            let value = roles_value.get(role.name()).ok_or_else(|| {
                TufError::Malformed(format!("the root delegates no {} role", role.name()))
            })?;
            roles.insert(role, role_keys(value)?);
        }
        let consistent_snapshot = match signed.get("consistent_snapshot") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(TufError::Malformed(
                    "`consistent_snapshot` is not a boolean".into(),
                ));
            }
        };
        Ok(Self {
            common: common(signed)?,
            keys: keys(signed, "keys")?,
            roles,
            consistent_snapshot,
        })
    }

    /// The keys of `role`.
    pub fn role(&self, role: RoleType) -> &RoleKeys {
        // Every role is there: `read` refuses a root without one.
        &self.roles[&role]
    }
}

impl Timestamp {
    /// Reads a timestamp's `signed`.
    ///
    /// # Errors
    /// A missing or malformed field; `meta` other than `snapshot.json`.
    pub fn read(signed: &Value) -> Result<Self, TufError> {
        let meta = object(signed, "meta")?;
        let snapshot = match (meta.len(), meta.get("snapshot.json")) {
            (1, Some(value)) => meta_file(value)?,
            _ => {
                return Err(TufError::Malformed(
                    "a timestamp's meta names snapshot.json alone".into(),
                ));
            }
        };
        Ok(Self {
            common: common(signed)?,
            snapshot,
        })
    }
}

impl Snapshot {
    /// Reads a snapshot's `signed`.
    ///
    /// # Errors
    /// A missing or malformed field.
    pub fn read(signed: &Value) -> Result<Self, TufError> {
        let mut meta = BTreeMap::new();
        for (name, value) in object(signed, "meta")? {
            meta.insert(name.clone(), meta_file(value)?);
        }
        Ok(Self {
            common: common(signed)?,
            meta,
        })
    }
}

impl Targets {
    /// Reads a targets role's `signed`.
    ///
    /// # Errors
    /// A missing or malformed field; delegations with both roles and succinct roles, or a
    /// role with both or neither of `paths` and `path_hash_prefixes`.
    pub fn read(signed: &Value) -> Result<Self, TufError> {
        let mut targets = BTreeMap::new();
        for (path, value) in object(signed, "targets")? {
            let length = field(value, "length")?
                .as_u64()
                .ok_or_else(|| TufError::Malformed(format!("{path}: `length`")))?;
            targets.insert(
                path.clone(),
                TargetFile {
                    length,
                    hashes: hashes(value)?,
                },
            );
        }
        let delegations = match signed.get("delegations") {
            None => None,
            Some(value) => Some(delegations(value)?),
        };
        Ok(Self {
            common: common(signed)?,
            targets,
            delegations,
        })
    }
}

fn delegations(value: &Value) -> Result<Delegations, TufError> {
    let keys = keys(value, "keys")?;
    match (value.get("roles"), value.get("succinct_roles")) {
        (Some(Value::Array(listed)), None) => {
            let mut roles: Vec<DelegatedRole> = Vec::with_capacity(listed.len());
            for role in listed {
                let name = text(role, "name")?.to_string();
                if roles.iter().any(|r| r.name == name)
                    || ["root", "timestamp", "snapshot", "targets"].contains(&name.as_str())
                {
                    return Err(TufError::Malformed(format!(
                        "delegated role {name:?} is named twice or as a top-level role"
                    )));
                }
                let paths = match (role.get("paths"), role.get("path_hash_prefixes")) {
                    (Some(_), None) => Paths::Patterns(strings(role, "paths")?),
                    (None, Some(_)) => Paths::HashPrefixes(strings(role, "path_hash_prefixes")?),
                    _ => {
                        return Err(TufError::Malformed(format!(
                            "delegated role {name:?} needs one of paths and path_hash_prefixes"
                        )));
                    }
                };
                let terminating = match role.get("terminating") {
                    Some(Value::Bool(b)) => *b,
                    _ => {
                        return Err(TufError::Malformed(format!(
                            "delegated role {name:?}: `terminating` is not a boolean"
                        )));
                    }
                };
                roles.push(DelegatedRole {
                    keys: role_keys(role)?,
                    name,
                    terminating,
                    paths,
                });
            }
            Ok(Delegations {
                keys,
                roles,
                succinct: None,
            })
        }
        (None, Some(succinct)) => {
            let bit_length = field(succinct, "bit_length")?
                .as_u64()
                .filter(|n| (1..=32).contains(n))
                .ok_or_else(|| TufError::Malformed("`bit_length` is not 1 to 32".into()))?;
            Ok(Delegations {
                keys,
                roles: Vec::new(),
                succinct: Some(SuccinctRoles {
                    keys: role_keys(succinct)?,
                    bit_length: u32::try_from(bit_length).unwrap_or(32),
                    name_prefix: text(succinct, "name_prefix")?.to_string(),
                }),
            })
        }
        _ => Err(TufError::Malformed(
            "delegations need one of roles and succinct_roles".into(),
        )),
    }
}

/// Checks `data` against a description's length and hashes (each given; `sha256` and
/// `sha512` are computed, any other algorithm is refused rather than skipped).
///
/// # Errors
/// [`TufError::LengthOrHash`] naming the file.
pub fn check_file(
    name: &str,
    data: &[u8],
    length: Option<u64>,
    hashes: &BTreeMap<String, String>,
) -> Result<(), TufError> {
    use sha2::Digest as _;
    let mismatch = |what: String| TufError::LengthOrHash {
        file: name.to_string(),
        detail: what,
    };
    if let Some(length) = length
        && u64::try_from(data.len()).unwrap_or(u64::MAX) != length
    {
        return Err(mismatch(format!("{} bytes, not {length}", data.len())));
    }
    for (algorithm, expected) in hashes {
        let actual: Vec<u8> = match algorithm.as_str() {
            "sha256" => sha2::Sha256::digest(data).to_vec(),
            "sha512" => sha2::Sha512::digest(data).to_vec(),
            other => {
                return Err(mismatch(format!(
                    "hash algorithm {other:?} is not supported"
                )));
            }
        };
        if hex(expected).as_deref() != Some(actual.as_slice()) {
            return Err(mismatch(format!("its {algorithm} is not {expected}")));
        }
    }
    Ok(())
}
