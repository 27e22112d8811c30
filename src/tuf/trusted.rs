//! The trusted metadata of one TUF repository, updated one file at a time as the client
//! workflow of the specification (1.0.x, "Detailed client workflow") orders it: roots one
//! version at a time, then timestamp, snapshot and targets, then delegated targets. Each update
//! takes the file's bytes and is checked against what is already trusted, at the time the set
//! was made with ([`TrustedSet::new`]): this module reads no clock and fetches nothing.
//!
//! The rules, each once:
//! - a new root is signed by a threshold of the old root's root keys and of its own, and is
//!   the next version; an expired root may be passed through, but timestamp is refused while
//!   the final root is expired (freeze);
//! - timestamp, snapshot and targets are signed by a threshold of the root's keys for them;
//! - versions never go back (rollback): a timestamp below the trusted one, a snapshot version
//!   in it below the trusted one's, a snapshot that drops or lowers a role's version; an
//!   equal timestamp is [`TufError::EqualVersion`], not an update;
//! - snapshot and targets files match the length and hashes their parent lists, and their
//!   version is the one it lists;
//! - an expired timestamp or snapshot is still kept (so that a newer one must beat its
//!   versions), but stops the next step; an expired targets role is not kept.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};

use crate::tuf::error::TufError;
use crate::tuf::metadata::{
    Envelope, Keys, RoleKeys, RoleType, Root, Snapshot, Targets, Timestamp, check_file,
};

/// What a client trusts of one repository now.
#[derive(Clone, Debug)]
pub struct TrustedSet {
    now: i64,
    root: Root,
    root_bytes: alloc::vec::Vec<u8>,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    targets: BTreeMap<String, Targets>,
}

impl TrustedSet {
    /// Starts from a root the caller trusts (shipped, or kept from an earlier update), which
    /// must be signed by a threshold of its own root keys; `now` is seconds since the epoch.
    /// An expired root is accepted here: a newer one may follow.
    ///
    /// # Errors
    /// The root is malformed or not signed by its own keys.
    pub fn new(root: &[u8], now: i64) -> Result<Self, TufError> {
        let envelope = Envelope::read(root, RoleType::Root)?;
        let parsed = Root::read(&envelope.signed)?;
        envelope.verify("root", &parsed.keys, parsed.role(RoleType::Root))?;
        Ok(Self {
            now,
            root: parsed,
            root_bytes: root.to_vec(),
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
        })
    }

    /// The trusted root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The trusted root's bytes, as they came.
    pub fn root_bytes(&self) -> &[u8] {
        &self.root_bytes
    }

    /// The trusted timestamp, if any.
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot, if any.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// The trusted targets role `name` (`targets`, or a delegated role), if loaded.
    pub fn targets(&self, name: &str) -> Option<&Targets> {
        self.targets.get(name)
    }

    /// Takes the root of the next version.
    ///
    /// # Errors
    /// Called after the timestamp; another version than the next; not signed by a threshold
    /// of the trusted root's root keys and of its own.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), TufError> {
        if self.timestamp.is_some() {
            return Err(TufError::Order("a root after the timestamp"));
        }
        let envelope = Envelope::read(bytes, RoleType::Root)?;
        let new = Root::read(&envelope.signed)?;
        envelope.verify("root", &self.root.keys, self.root.role(RoleType::Root))?;
        let expected = self.root.common.version + 1;
        if new.common.version != expected {
            return Err(TufError::BadVersion {
                role: "root".into(),
                detail: format!("version {}, where {expected} is next", new.common.version),
            });
        }
        envelope.verify("root", &new.keys, new.role(RoleType::Root))?;
        self.root = new;
        self.root_bytes = bytes.to_vec();
        Ok(())
    }

    /// Takes a timestamp.
    ///
    /// # Errors
    /// Called after the snapshot; the final root has expired; not signed by the timestamp
    /// keys; a version below the trusted timestamp's (or its snapshot's below the trusted
    /// one's); [`TufError::EqualVersion`] for the trusted version again (nothing changes);
    /// [`TufError::Expired`] for an expired one, which is kept all the same.
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<(), TufError> {
        if self.snapshot.is_some() {
            return Err(TufError::Order("a timestamp after the snapshot"));
        }
        if self.root.common.is_expired(self.now) {
            return Err(TufError::Expired {
                role: "root".into(),
            });
        }
        let envelope = Envelope::read(bytes, RoleType::Timestamp)?;
        let new = Timestamp::read(&envelope.signed)?;
        envelope.verify(
            "timestamp",
            &self.root.keys,
            self.root.role(RoleType::Timestamp),
        )?;
        if let Some(trusted) = &self.timestamp {
            if new.common.version < trusted.common.version {
                return Err(TufError::BadVersion {
                    role: "timestamp".into(),
                    detail: format!(
                        "version {} is below the trusted {}",
                        new.common.version, trusted.common.version
                    ),
                });
            }
            if new.common.version == trusted.common.version {
                return Err(TufError::EqualVersion);
            }
            if new.snapshot.version < trusted.snapshot.version {
                return Err(TufError::BadVersion {
                    role: "timestamp".into(),
                    detail: format!(
                        "it lists snapshot version {}, below the trusted {}",
                        new.snapshot.version, trusted.snapshot.version
                    ),
                });
            }
        }
        self.timestamp = Some(new);
        self.check_final_timestamp().map(|_| ())
    }

    fn check_final_timestamp(&self) -> Result<&Timestamp, TufError> {
        let timestamp = self
            .timestamp
            .as_ref()
            .ok_or(TufError::Order("a snapshot before the timestamp"))?;
        if timestamp.common.is_expired(self.now) {
            return Err(TufError::Expired {
                role: "timestamp".into(),
            });
        }
        Ok(timestamp)
    }

    /// Takes a snapshot; `cached` for bytes this set's owner verified before (kept on disk),
    /// which need not match the timestamp's hashes (a newer one is on its way).
    ///
    /// # Errors
    /// Called before the timestamp or after targets; an expired timestamp; bytes that do not
    /// match the timestamp's description; not signed by the snapshot keys; a role the trusted
    /// snapshot lists that this one drops or lists with a lower version;
    /// [`TufError::Expired`] or [`TufError::BadVersion`] (not the timestamp's version) for
    /// one that is kept all the same.
    pub fn update_snapshot(&mut self, bytes: &[u8], cached: bool) -> Result<(), TufError> {
        if self.targets.contains_key("targets") {
            return Err(TufError::Order("a snapshot after the targets"));
        }
        let described = self.check_final_timestamp()?.snapshot.clone();
        if !cached {
            check_file("snapshot.json", bytes, described.length, &described.hashes)?;
        }
        let envelope = Envelope::read(bytes, RoleType::Snapshot)?;
        let new = Snapshot::read(&envelope.signed)?;
        envelope.verify(
            "snapshot",
            &self.root.keys,
            self.root.role(RoleType::Snapshot),
        )?;
        if let Some(trusted) = &self.snapshot {
            for (name, file) in &trusted.meta {
                match new.meta.get(name) {
                    None => {
                        return Err(TufError::BadVersion {
                            role: "snapshot".into(),
                            detail: format!("it drops {name}, which the trusted one lists"),
                        });
                    }
                    Some(listed) if listed.version < file.version => {
                        return Err(TufError::BadVersion {
                            role: "snapshot".into(),
                            detail: format!(
                                "it lists {name} version {}, below the trusted {}",
                                listed.version, file.version
                            ),
                        });
                    }
                    Some(_) => {}
                }
            }
        }
        self.snapshot = Some(new);
        self.check_final_snapshot().map(|_| ())
    }

    fn check_final_snapshot(&self) -> Result<&Snapshot, TufError> {
        let snapshot = self
            .snapshot
            .as_ref()
            .ok_or(TufError::Order("targets before the snapshot"))?;
        if snapshot.common.is_expired(self.now) {
            return Err(TufError::Expired {
                role: "snapshot".into(),
            });
        }
        let expected = self.check_final_timestamp()?.snapshot.version;
        if snapshot.common.version != expected {
            return Err(TufError::BadVersion {
                role: "snapshot".into(),
                detail: format!(
                    "version {}, where the timestamp lists {expected}",
                    snapshot.common.version
                ),
            });
        }
        Ok(snapshot)
    }

    /// Takes the top-level targets.
    ///
    /// # Errors
    /// As [`TrustedSet::update_delegated_targets`].
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<(), TufError> {
        self.update_delegated_targets(bytes, "targets", "root")
    }

    /// Takes the targets role `role`, delegated by `delegator` (`root` for `targets`).
    ///
    /// # Errors
    /// Before a usable snapshot; a role the snapshot does not list, or whose delegator is not
    /// trusted or does not delegate it; bytes that do not match the snapshot's description;
    /// not signed by a threshold of the delegated keys; another version than the snapshot
    /// lists; expired (and then not kept).
    pub fn update_delegated_targets(
        &mut self,
        bytes: &[u8],
        role: &str,
        delegator: &str,
    ) -> Result<(), TufError> {
        let snapshot = self.check_final_snapshot()?;
        let file = format!("{role}.json");
        let described = snapshot
            .meta
            .get(&file)
            .ok_or_else(|| TufError::Missing {
                what: format!("{file} in the snapshot"),
            })?
            .clone();
        let (keys, delegation) = self.delegation(role, delegator)?;
        check_file(&file, bytes, described.length, &described.hashes)?;
        let envelope = Envelope::read(bytes, RoleType::Targets)?;
        let new = Targets::read(&envelope.signed)?;
        envelope.verify(role, &keys, &delegation)?;
        if new.common.version != described.version {
            return Err(TufError::BadVersion {
                role: role.to_string(),
                detail: format!(
                    "version {}, where the snapshot lists {}",
                    new.common.version, described.version
                ),
            });
        }
        if new.common.is_expired(self.now) {
            return Err(TufError::Expired {
                role: role.to_string(),
            });
        }
        self.targets.insert(role.to_string(), new);
        Ok(())
    }

    /// The keys `delegator` trusts `role` with.
    fn delegation(&self, role: &str, delegator: &str) -> Result<(Keys, RoleKeys), TufError> {
        if delegator == "root" {
            if role != "targets" {
                return Err(TufError::Missing {
                    what: format!("a delegation of {role} by root"),
                });
            }
            return Ok((
                self.root.keys.clone(),
                self.root.role(RoleType::Targets).clone(),
            ));
        }
        let parent = self
            .targets
            .get(delegator)
            .ok_or_else(|| TufError::Missing {
                what: format!("the trusted delegator {delegator}"),
            })?;
        let delegations = parent
            .delegations
            .as_ref()
            .ok_or_else(|| TufError::Missing {
                what: format!("delegations in {delegator}"),
            })?;
        if let Some(found) = delegations.roles.iter().find(|r| r.name == role) {
            return Ok((delegations.keys.clone(), found.keys.clone()));
        }
        if let Some(succinct) = &delegations.succinct
            && succinct.is_bin(role)
        {
            return Ok((delegations.keys.clone(), succinct.keys.clone()));
        }
        Err(TufError::Missing {
            what: format!("a delegation of {role} by {delegator}"),
        })
    }
}

#[cfg(test)]
mod tests {

    use serde_json::{Value, json};

    use super::*;
    use crate::testing::Signer;
    use crate::tuf::fixtures::{EARLIER, LATER, NOW, Repo, describe, sign};

    /// A set that trusts the whole of version 1 of `repo`.
    fn trusted(repo: &Repo) -> TrustedSet {
        let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
        let targets = repo.targets(1);
        let snapshot = repo.snapshot(1, &targets, 1);
        set.update_timestamp(&repo.timestamp(1, &snapshot, 1))
            .unwrap_or_else(|e| panic!("{e}"));
        set.update_snapshot(&snapshot, false)
            .unwrap_or_else(|e| panic!("{e}"));
        set.update_targets(&targets)
            .unwrap_or_else(|e| panic!("{e}"));
        set
    }

    #[test]
    fn a_valid_repository_is_trusted_role_by_role() {
        let repo = Repo::new();
        let set = trusted(&repo);
        assert_eq!(set.root().common.version, 1);
        assert_eq!(set.timestamp().map(|t| t.common.version), Some(1));
        assert!(
            set.targets("targets")
                .is_some_and(|t| t.targets.contains_key("file.txt"))
        );
    }

    #[test]
    fn a_root_rotates_only_to_the_next_version_signed_by_old_and_new() {
        let repo = Repo::new();
        let next = Signer::new("next-root", 9);
        let signed = repo.root_signed(2, LATER, &next);
        let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
        // Only the new key: the old root's threshold is not met.
        assert!(matches!(
            set.update_root(&sign(&signed, &[&next])),
            Err(TufError::Threshold { .. })
        ));
        // Only the old key: the new root's own threshold is not met.
        assert!(matches!(
            set.update_root(&sign(&signed, &[&repo.root])),
            Err(TufError::Threshold { .. })
        ));
        // A version that skips one.
        let skipping = sign(&repo.root_signed(3, LATER, &next), &[&repo.root, &next]);
        assert!(matches!(
            set.update_root(&skipping),
            Err(TufError::BadVersion { .. })
        ));
        set.update_root(&sign(&signed, &[&repo.root, &next]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.root().common.version, 2);
        // The same version again is not the next.
        assert!(
            set.update_root(&sign(&signed, &[&repo.root, &next]))
                .is_err()
        );
    }

    #[test]
    fn an_expired_final_root_stops_the_update() {
        let repo = Repo::new();
        let expired = sign(&repo.root_signed(1, EARLIER, &repo.root), &[&repo.root]);
        let mut set = TrustedSet::new(&expired, NOW).unwrap_or_else(|e| panic!("{e}"));
        let targets = repo.targets(1);
        let snapshot = repo.snapshot(1, &targets, 1);
        assert_eq!(
            set.update_timestamp(&repo.timestamp(1, &snapshot, 1)),
            Err(TufError::Expired {
                role: "root".into()
            })
        );
        // An expired intermediate root may be passed through to a fresh one.
        let mut set = TrustedSet::new(&expired, NOW).unwrap_or_else(|e| panic!("{e}"));
        set.update_root(&repo.root(2))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            set.update_timestamp(&repo.timestamp(1, &snapshot, 1))
                .is_ok()
        );
    }

    #[test]
    fn timestamps_never_go_back() {
        let repo = Repo::new();
        let targets = repo.targets(1);
        let snapshot = repo.snapshot(2, &targets, 1);
        let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
        set.update_timestamp(&repo.timestamp(2, &snapshot, 2))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            set.update_timestamp(&repo.timestamp(1, &snapshot, 2)),
            Err(TufError::BadVersion { .. })
        ));
        assert_eq!(
            set.update_timestamp(&repo.timestamp(2, &snapshot, 2)),
            Err(TufError::EqualVersion)
        );
        assert!(matches!(
            set.update_timestamp(&repo.timestamp(3, &snapshot, 1)),
            Err(TufError::BadVersion { .. })
        ));
        // Signed by another key than the root's timestamp key.
        let stranger = Signer::new("timestamp", 7);
        let forged = sign(
            &json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 3,
                    "expires": LATER, "meta": {"snapshot.json": describe(2, &snapshot)}}),
            &[&stranger],
        );
        assert!(matches!(
            set.update_timestamp(&forged),
            Err(TufError::Threshold { .. })
        ));
        set.update_timestamp(&repo.timestamp(3, &snapshot, 2))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn an_expired_timestamp_is_kept_but_stops_the_snapshot() {
        let repo = Repo::new();
        let targets = repo.targets(1);
        let snapshot = repo.snapshot(1, &targets, 1);
        let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
        let expired = repo.timestamp_of(5, describe(1, &snapshot), EARLIER);
        assert_eq!(
            set.update_timestamp(&expired),
            Err(TufError::Expired {
                role: "timestamp".into()
            })
        );
        assert_eq!(set.timestamp().map(|t| t.common.version), Some(5));
        assert!(matches!(
            set.update_snapshot(&snapshot, false),
            Err(TufError::Expired { .. })
        ));
        // A newer timestamp must beat the expired one's version.
        assert!(
            set.update_timestamp(&repo.timestamp(4, &snapshot, 1))
                .is_err()
        );
    }

    #[test]
    fn snapshots_match_the_timestamp_and_never_drop_a_role() {
        let repo = Repo::new();
        let targets = repo.targets(1);
        let snapshot = repo.snapshot(1, &targets, 1);
        // Another snapshot than the timestamp describes.
        let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
        set.update_timestamp(&repo.timestamp(1, &repo.snapshot(1, &targets, 2), 1))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            set.update_snapshot(&snapshot, false),
            Err(TufError::LengthOrHash { .. })
        ));
        // As cached bytes it is kept, but its version is not the timestamp's: no targets.
        let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
        set.update_timestamp(&repo.timestamp(1, &snapshot, 2))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            set.update_snapshot(&snapshot, true),
            Err(TufError::BadVersion { .. })
        ));
        assert!(set.update_targets(&targets).is_err());
        // As a client does: the new timestamp, the cached snapshot (kept though its version is
        // no longer the timestamp's), then a new snapshot that drops targets.json or lowers
        // its version.
        for (meta, why) in [
            (json!({}), "drops targets.json"),
            (json!({"targets.json": {"version": 1}}), "keeps it"),
        ] {
            let newer = repo.snapshot_of(2, meta, LATER);
            let cached = repo.snapshot(1, &targets, 3);
            let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
            set.update_timestamp(&repo.timestamp(2, &newer, 2))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(
                set.update_snapshot(&cached, true),
                Err(TufError::BadVersion { .. })
            ));
            let result = set.update_snapshot(&newer, false);
            assert!(
                matches!(result, Err(TufError::BadVersion { .. })),
                "{why}: {result:?}"
            );
        }
    }

    #[test]
    fn targets_are_signed_by_their_keys_at_the_listed_version() {
        let repo = Repo::new();
        let targets = repo.targets(1);
        let other = Signer::new("targets", 8);
        let forged = sign(&repo.targets_signed(1, None), &[&other]);
        for (bytes, listed) in [(&forged, &forged), (&targets, &repo.targets(2))] {
            let snapshot = repo.snapshot(1, listed, 1);
            let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
            set.update_timestamp(&repo.timestamp(1, &snapshot, 1))
                .unwrap_or_else(|e| panic!("{e}"));
            set.update_snapshot(&snapshot, false)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(set.update_targets(bytes).is_err());
        }
    }

    /// One key under two ids is one signer: a threshold of 2 is not met by it alone. A role
    /// that lists one id twice is refused.
    #[test]
    fn a_threshold_counts_keys_not_key_ids() {
        let repo = Repo::new();
        let mut signed = repo.root_signed(1, LATER, &repo.root);
        signed["keys"]["root-again"] = crate::tuf::fixtures::key(&repo.root);
        signed["roles"]["root"] = json!({"keyids": ["root", "root-again"], "threshold": 2});
        let again = Signer::new("root-again", 1);
        let bytes = sign(&signed, &[&repo.root, &again]);
        assert!(matches!(
            TrustedSet::new(&bytes, NOW),
            Err(TufError::Threshold { valid: 1, .. })
        ));
        signed["roles"]["root"] = json!({"keyids": ["root", "root"], "threshold": 1});
        assert!(matches!(
            TrustedSet::new(&sign(&signed, &[&repo.root]), NOW),
            Err(TufError::Malformed(_))
        ));
    }

    #[test]
    fn malformed_envelopes_are_refused() {
        let repo = Repo::new();
        let mut twice: Value = serde_json::from_slice(&repo.root(1)).unwrap_or_default();
        let first = twice["signatures"][0].clone();
        if let Some(signatures) = twice["signatures"].as_array_mut() {
            signatures.push(first);
        }
        assert!(matches!(
            TrustedSet::new(twice.to_string().as_bytes(), NOW),
            Err(TufError::Malformed(_))
        ));
        assert!(matches!(
            TrustedSet::new(&repo.targets(1), NOW),
            Err(TufError::WrongType { .. })
        ));
        // Past the cap, before anything is parsed.
        let mut padded = repo.root(1);
        padded.resize(crate::limits::MAX_TUF_ROOT_BYTES + 1, b' ');
        assert!(matches!(
            TrustedSet::new(&padded, NOW),
            Err(TufError::Malformed(m)) if m.contains("the most read")
        ));
        let float = sign(
            &json!({"_type": "root", "spec_version": "1.0.31", "version": 1.5}),
            &[&repo.root],
        );
        assert!(TrustedSet::new(&float, NOW).is_err());
    }
}
