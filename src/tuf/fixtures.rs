//! Test repositories: TUF metadata of every role, signed by fixed P-256 keys, each file made
//! the way a test needs it (one thing changed at a time).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::{Value, json};
use sha2::Digest as _;

use crate::testing::Signer;
use crate::tuf::canonical;

pub(crate) const NOW: i64 = 1_800_000_000;
pub(crate) const LATER: &str = "2030-01-01T00:00:00Z";
pub(crate) const EARLIER: &str = "2020-01-01T00:00:00Z";

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| alloc::format!("{b:02x}")).collect()
}

pub(crate) fn key(signer: &Signer) -> Value {
    json!({"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
           "keyval": {"public": signer.public_pem()}})
}

/// `signed`, signed by each of `signers` (its key id is its name).
pub(crate) fn sign(signed: &Value, signers: &[&Signer]) -> Vec<u8> {
    let bytes = canonical::encode(signed).unwrap_or_default();
    let signatures: Vec<Value> = signers
        .iter()
        .map(|s| json!({"keyid": s.name, "sig": hex(&s.sign(bytes.as_bytes()))}))
        .collect();
    json!({"signed": signed, "signatures": signatures})
        .to_string()
        .into_bytes()
}

pub(crate) fn describe(version: u64, bytes: &[u8]) -> Value {
    json!({"version": version, "length": bytes.len(),
           "hashes": {"sha256": hex(&sha2::Sha256::digest(bytes))}})
}

/// One key per top-level role, and the metadata they sign.
pub(crate) struct Repo {
    pub(crate) root: Signer,
    pub(crate) timestamp: Signer,
    pub(crate) snapshot: Signer,
    pub(crate) targets: Signer,
}

impl Repo {
    pub(crate) fn new() -> Self {
        Self {
            root: Signer::new("root", 1),
            timestamp: Signer::new("timestamp", 2),
            snapshot: Signer::new("snapshot", 3),
            targets: Signer::new("targets", 4),
        }
    }

    pub(crate) fn root_signed(&self, version: u64, expires: &str, root_key: &Signer) -> Value {
        let mut keys = serde_json::Map::new();
        for s in [root_key, &self.timestamp, &self.snapshot, &self.targets] {
            keys.insert(s.name.clone(), key(s));
        }
        let role = |s: &Signer| json!({"keyids": [s.name], "threshold": 1});
        json!({"_type": "root", "spec_version": "1.0.31", "version": version,
               "expires": expires, "consistent_snapshot": true, "keys": keys,
               "roles": {"root": role(root_key), "timestamp": role(&self.timestamp),
                         "snapshot": role(&self.snapshot), "targets": role(&self.targets)}})
    }

    pub(crate) fn root(&self, version: u64) -> Vec<u8> {
        sign(&self.root_signed(version, LATER, &self.root), &[&self.root])
    }

    pub(crate) fn targets_signed(&self, version: u64, delegations: Option<Value>) -> Value {
        let mut signed = json!({"_type": "targets", "spec_version": "1.0.31",
            "version": version, "expires": LATER,
            "targets": {"file.txt": {"length": 5, "hashes": {"sha256": hex(&sha2::Sha256::digest(b"hello"))}}}});
        if let Some(delegations) = delegations {
            signed["delegations"] = delegations;
        }
        signed
    }

    pub(crate) fn targets(&self, version: u64) -> Vec<u8> {
        sign(&self.targets_signed(version, None), &[&self.targets])
    }

    pub(crate) fn snapshot_of(&self, version: u64, meta: Value, expires: &str) -> Vec<u8> {
        sign(
            &json!({"_type": "snapshot", "spec_version": "1.0.31", "version": version,
                    "expires": expires, "meta": meta}),
            &[&self.snapshot],
        )
    }

    pub(crate) fn snapshot(&self, version: u64, targets: &[u8], targets_version: u64) -> Vec<u8> {
        self.snapshot_of(
            version,
            json!({"targets.json": describe(targets_version, targets)}),
            LATER,
        )
    }

    pub(crate) fn timestamp_of(&self, version: u64, snapshot: Value, expires: &str) -> Vec<u8> {
        sign(
            &json!({"_type": "timestamp", "spec_version": "1.0.31", "version": version,
                    "expires": expires, "meta": {"snapshot.json": snapshot}}),
            &[&self.timestamp],
        )
    }

    pub(crate) fn timestamp(
        &self,
        version: u64,
        snapshot: &[u8],
        snapshot_version: u64,
    ) -> Vec<u8> {
        self.timestamp_of(version, describe(snapshot_version, snapshot), LATER)
    }
}
