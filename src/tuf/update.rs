//! The client workflow that drives a [`TrustedSet`]: which file to ask for next, under which
//! name and size cap, what a missing file means, and what to keep. The host implements
//! [`Repository`] (HTTP, a local directory) and [`Store`] (the trusted metadata kept between
//! runs); the order and every decision are here, once.
//!
//! As the specification's "Detailed client workflow" and python-tuf's updater have it:
//! 1. the kept root, then `N.root.json` for each next version until the repository has none
//!    (at most [`limits::MAX_TUF_ROOT_ROTATIONS`]), each kept as it is taken;
//! 2. the kept timestamp (for rollback protection, errors ignored), then `timestamp.json`:
//!    kept unless it is the version already trusted;
//! 3. the kept snapshot when it is still the one the timestamp names, else the snapshot the
//!    timestamp names (`V.snapshot.json` with consistent snapshots), kept;
//! 4. the same for `targets` and, during a target search, each delegated role reached.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::limits;
use crate::tuf::delegation::find_target;
use crate::tuf::error::TufError;
use crate::tuf::metadata::{RoleType, TargetFile};
use crate::tuf::trusted::TrustedSet;

/// Why a repository did not hand over a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// The repository says there is no such file (an HTTP 404, a missing file).
    NotFound,
    /// Anything else, in the host's words; a body over the cap is this too.
    Failed(String),
}

/// Where the metadata comes from.
pub trait Repository {
    /// The metadata file `name` (already escaped: `1.root.json`, `timestamp.json`,
    /// `3.a%2Fb.json`), read no further than `max_bytes`.
    ///
    /// # Errors
    /// [`FetchError::NotFound`] only when the repository says it does not exist.
    fn metadata(&self, name: &str, max_bytes: usize) -> Result<Vec<u8>, FetchError>;
}

/// Where the trusted metadata is kept between runs, under unversioned names (`root.json`,
/// `timestamp.json`, `ROLE.json` with the role name escaped).
pub trait Store {
    /// The kept bytes of `name`, if any.
    fn load(&self, name: &str) -> Option<Vec<u8>>;
    /// Keeps `bytes` as `name`, replacing what was there.
    ///
    /// # Errors
    /// The host's words for a failed write.
    fn keep(&mut self, name: &str, bytes: &[u8]) -> Result<(), String>;
}

/// Why a refresh failed: the file or step, and what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateError {
    /// Which file or step (`2.root.json`, `timestamp.json`, `keeping root.json`).
    pub step: String,
    /// What went wrong.
    pub error: UpdateProblem,
}

/// What went wrong in a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateProblem {
    /// The file could not be fetched.
    Fetch(FetchError),
    /// The file was refused.
    Refused(TufError),
    /// The host could not keep it.
    Store(String),
    /// Nothing is kept to start from.
    NotKept,
}

impl core::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.error {
            UpdateProblem::Fetch(FetchError::NotFound) => {
                write!(f, "{}: the repository has no such file", self.step)
            }
            UpdateProblem::Fetch(FetchError::Failed(why)) => write!(f, "{}: {why}", self.step),
            UpdateProblem::Refused(error) => write!(f, "{}: {error}", self.step),
            UpdateProblem::Store(why) => write!(f, "{}: cannot keep it: {why}", self.step),
            UpdateProblem::NotKept => write!(
                f,
                "{}: nothing was ever verified (update from the repository first)",
                self.step
            ),
        }
    }
}

impl core::error::Error for UpdateError {}

/// A role name as a file name: every byte but ASCII letters, digits and `_.-~` percent-encoded,
/// `/` too, as python-tuf quotes it, so that a role name never names another path.
pub fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Refreshes the top-level metadata (steps 1 to 4 above, `targets` included) at time `now`.
///
/// # Errors
/// The first step that failed; what was taken before it is kept.
pub fn refresh(
    store: &mut dyn Store,
    repository: &dyn Repository,
    now: i64,
) -> Result<TrustedSet, UpdateError> {
    let root = store.load("root.json").ok_or_else(|| UpdateError {
        step: "root.json".into(),
        error: UpdateProblem::NotKept,
    })?;
    let mut set = TrustedSet::new(&root, now).map_err(refused("the kept root.json"))?;
    update_root(&mut set, store, repository)?;
    update_timestamp(&mut set, store, repository)?;
    update_snapshot(&mut set, store, repository)?;
    load_targets(&mut set, store, repository, "targets", "root")?;
    Ok(set)
}

/// The kept metadata alone, checked at `now` without fetching anything: what was verified
/// last, while it is still fresh (a kept timestamp or snapshot that has expired is refused).
///
/// # Errors
/// Nothing kept, or kept metadata that no longer holds at `now`.
pub fn load_kept(store: &dyn Store, now: i64) -> Result<TrustedSet, UpdateError> {
    let kept = |name: &str| {
        store.load(name).ok_or_else(|| UpdateError {
            step: name.to_string(),
            error: UpdateProblem::NotKept,
        })
    };
    let mut set = TrustedSet::new(&kept("root.json")?, now).map_err(refused("root.json"))?;
    set.update_timestamp(&kept("timestamp.json")?)
        .map_err(refused("timestamp.json"))?;
    set.update_snapshot(&kept("snapshot.json")?, true)
        .map_err(refused("snapshot.json"))?;
    set.update_targets(&kept("targets.json")?)
        .map_err(refused("targets.json"))?;
    Ok(set)
}

fn refused(step: &str) -> impl Fn(TufError) -> UpdateError + '_ {
    move |error| UpdateError {
        step: step.to_string(),
        error: UpdateProblem::Refused(error),
    }
}

fn keep(store: &mut dyn Store, name: &str, bytes: &[u8]) -> Result<(), UpdateError> {
    store.keep(name, bytes).map_err(|why| UpdateError {
        step: format!("keeping {name}"),
        error: UpdateProblem::Store(why),
    })
}

fn fetch(
    repository: &dyn Repository,
    name: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, UpdateError> {
    repository
        .metadata(name, max_bytes)
        .map_err(|error| UpdateError {
            step: name.to_string(),
            error: UpdateProblem::Fetch(error),
        })
}

fn update_root(
    set: &mut TrustedSet,
    store: &mut dyn Store,
    repository: &dyn Repository,
) -> Result<(), UpdateError> {
    for _ in 0..limits::MAX_TUF_ROOT_ROTATIONS {
        let name = format!("{}.root.json", set.root().common.version + 1);
        let bytes = match repository.metadata(&name, RoleType::Root.max_bytes()) {
            Ok(bytes) => bytes,
            Err(FetchError::NotFound) => return Ok(()),
            Err(error) => {
                return Err(UpdateError {
                    step: name,
                    error: UpdateProblem::Fetch(error),
                });
            }
        };
        set.update_root(&bytes).map_err(refused(&name))?;
        keep(store, "root.json", &bytes)?;
    }
    // As many rotations as allowed: stop here, with what was taken trusted.
    Ok(())
}

fn update_timestamp(
    set: &mut TrustedSet,
    store: &mut dyn Store,
    repository: &dyn Repository,
) -> Result<(), UpdateError> {
    if let Some(kept) = store.load("timestamp.json") {
        // Only for rollback protection: a kept timestamp that no longer verifies (a rotated
        // key, expiry) is no reason to fail.
        let _ = set.update_timestamp(&kept);
    }
    let bytes = fetch(
        repository,
        "timestamp.json",
        RoleType::Timestamp.max_bytes(),
    )?;
    match set.update_timestamp(&bytes) {
        Ok(()) => keep(store, "timestamp.json", &bytes),
        Err(TufError::EqualVersion) => Ok(()),
        Err(error) => Err(refused("timestamp.json")(error)),
    }
}

fn update_snapshot(
    set: &mut TrustedSet,
    store: &mut dyn Store,
    repository: &dyn Repository,
) -> Result<(), UpdateError> {
    if let Some(kept) = store.load("snapshot.json")
        && set.update_snapshot(&kept, true).is_ok()
    {
        return Ok(());
    }
    let described = set.timestamp().map(|t| t.snapshot.clone()).ok_or_else(|| {
        refused("snapshot.json")(TufError::Order("a snapshot before a timestamp"))
    })?;
    let name = if set.root().consistent_snapshot {
        format!("{}.snapshot.json", described.version)
    } else {
        "snapshot.json".into()
    };
    let cap = cap(described.length, RoleType::Snapshot.max_bytes());
    let bytes = fetch(repository, &name, cap)?;
    set.update_snapshot(&bytes, false).map_err(refused(&name))?;
    keep(store, "snapshot.json", &bytes)
}

/// The cap for a file its parent describes: its length when given (and within the role's).
fn cap(length: Option<u64>, role_max: usize) -> usize {
    length
        .and_then(|n| usize::try_from(n).ok())
        .map_or(role_max, |n| n.min(role_max))
}

/// Loads the targets role `role` (delegated by `delegator`): kept, when it still matches the
/// snapshot, else fetched and kept.
///
/// # Errors
/// The fetch or the update that failed.
pub fn load_targets(
    set: &mut TrustedSet,
    store: &mut dyn Store,
    repository: &dyn Repository,
    role: &str,
    delegator: &str,
) -> Result<(), UpdateError> {
    if set.targets(role).is_some() {
        return Ok(());
    }
    let file = format!("{}.json", escape(role));
    if let Some(kept) = store.load(&file)
        && set.update_delegated_targets(&kept, role, delegator).is_ok()
    {
        return Ok(());
    }
    let described = set
        .snapshot()
        .and_then(|s| s.meta.get(&format!("{role}.json")).cloned())
        .ok_or_else(|| {
            refused(&file)(TufError::Missing {
                what: format!("{role}.json in the snapshot"),
            })
        })?;
    let name = if set.root().consistent_snapshot {
        format!("{}.{file}", described.version)
    } else {
        file.clone()
    };
    let bytes = fetch(
        repository,
        &name,
        cap(described.length, RoleType::Targets.max_bytes()),
    )?;
    set.update_delegated_targets(&bytes, role, delegator)
        .map_err(refused(&name))?;
    keep(store, &file, &bytes)
}

/// Finds `path` in the trusted targets, loading (and keeping) delegated roles as the search
/// reaches them. The top-level metadata must be refreshed first.
///
/// # Errors
/// A delegated role that could not be loaded, or a search past the role cap.
pub fn target(
    set: &mut TrustedSet,
    store: &mut dyn Store,
    repository: &dyn Repository,
    path: &str,
) -> Result<Option<TargetFile>, UpdateError> {
    let mut failed: Option<UpdateError> = None;
    let found = find_target(set, path, &mut |set, role, delegator| {
        load_targets(set, store, repository, role, delegator).map_err(|error| {
            let refusal = match &error.error {
                UpdateProblem::Refused(e) => e.clone(),
                _ => TufError::Missing {
                    what: format!("{role}: {error}"),
                },
            };
            failed = Some(error);
            refusal
        })
    });
    match (found, failed) {
        (Ok(found), _) => Ok(found),
        (Err(_), Some(error)) => Err(error),
        (Err(error), None) => Err(refused(path)(error)),
    }
}

/// Where a target is fetched from under the targets base: `DIR/HASH.NAME` with consistent
/// snapshots (the first of its hashes, by algorithm name), else the path itself.
pub fn target_file_name(path: &str, file: &TargetFile, consistent_snapshot: bool) -> String {
    if !consistent_snapshot {
        return path.to_string();
    }
    let Some((_, hash)) = file.hashes.iter().next() else {
        return path.to_string();
    };
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/{hash}.{name}"),
        None => format!("{hash}.{path}"),
    }
}

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::testing::Signer;
    use crate::tuf::fixtures::{LATER, NOW, Repo, describe, sign};

    /// A repository of files by name, and how often each was asked for.
    struct Files {
        files: BTreeMap<String, Vec<u8>>,
        asked: core::cell::RefCell<Vec<String>>,
    }

    impl Repository for Files {
        fn metadata(&self, name: &str, max_bytes: usize) -> Result<Vec<u8>, FetchError> {
            self.asked.borrow_mut().push(name.into());
            match self.files.get(name) {
                Some(bytes) if bytes.len() > max_bytes => Err(FetchError::Failed("too big".into())),
                Some(bytes) => Ok(bytes.clone()),
                None => Err(FetchError::NotFound),
            }
        }
    }

    #[derive(Default)]
    struct Kept(BTreeMap<String, Vec<u8>>);

    impl Store for Kept {
        fn load(&self, name: &str) -> Option<Vec<u8>> {
            self.0.get(name).cloned()
        }
        fn keep(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
            self.0.insert(name.into(), bytes.to_vec());
            Ok(())
        }
    }

    fn published(repo: &Repo, roots: &[Vec<u8>]) -> Files {
        let targets = repo.targets(1);
        let snapshot = repo.snapshot(1, &targets, 1);
        let mut files = BTreeMap::new();
        for (i, root) in roots.iter().enumerate() {
            files.insert(format!("{}.root.json", i + 1), root.clone());
        }
        files.insert("timestamp.json".into(), repo.timestamp(1, &snapshot, 1));
        files.insert("1.snapshot.json".into(), snapshot);
        files.insert("1.targets.json".into(), targets);
        Files {
            files,
            asked: core::cell::RefCell::default(),
        }
    }

    #[test]
    fn a_refresh_walks_the_roots_and_keeps_what_it_trusts() {
        let repo = Repo::new();
        let files = published(&repo, &[repo.root(1), repo.root(2), repo.root(3)]);
        let mut kept = Kept::default();
        kept.0.insert("root.json".into(), repo.root(1));
        let set = refresh(&mut kept, &files, NOW).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.root().common.version, 3);
        assert_eq!(
            *files.asked.borrow(),
            [
                "2.root.json",
                "3.root.json",
                "4.root.json",
                "timestamp.json",
                "1.snapshot.json",
                "1.targets.json"
            ]
        );
        assert_eq!(kept.0.get("root.json"), Some(&repo.root(3)));
        assert!(kept.0.contains_key("targets.json"));
        // What was kept holds on its own, offline, until it expires.
        assert!(load_kept(&kept, NOW).is_ok());
        assert!(
            load_kept(&kept, 1_900_000_000).is_err(),
            "in 2030, all of it has expired"
        );
        assert!(load_kept(&Kept::default(), NOW).is_err(), "nothing kept");
        // Again: the kept snapshot and targets still match, so only root and timestamp are
        // asked for.
        files.asked.borrow_mut().clear();
        refresh(&mut kept, &files, NOW).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(*files.asked.borrow(), ["4.root.json", "timestamp.json"]);
    }

    #[test]
    fn a_failed_step_names_its_file_and_keeps_what_came_before() {
        let repo = Repo::new();
        let mut files = published(&repo, &[repo.root(1), repo.root(2)]);
        files.files.remove("timestamp.json");
        let mut kept = Kept::default();
        kept.0.insert("root.json".into(), repo.root(1));
        let error = refresh(&mut kept, &files, NOW).err();
        assert_eq!(error.map(|e| e.step), Some("timestamp.json".to_string()));
        assert_eq!(kept.0.get("root.json"), Some(&repo.root(2)));
        // A next root of the wrong shape stops the walk there, the trusted root unchanged.
        let forged = sign(&json!({"_type": "root"}), &[&Signer::new("root", 1)]);
        let files = published(&repo, &[repo.root(1), forged]);
        let mut fresh = Kept::default();
        fresh.0.insert("root.json".into(), repo.root(1));
        let error = refresh(&mut fresh, &files, NOW).err();
        assert_eq!(error.map(|e| e.step), Some("2.root.json".to_string()));
        assert_eq!(fresh.0.get("root.json"), Some(&repo.root(1)));
    }

    /// Endless data: a file is asked for with its parent's length as the cap (else the role's),
    /// so a repository that serves more is refused before it is read.
    #[test]
    fn a_file_is_read_no_further_than_its_parent_allows() {
        let repo = Repo::new();
        let mut files = published(&repo, &[repo.root(1)]);
        let targets = repo.targets(1);
        let snapshot = repo.snapshot(1, &targets, 1);
        let mut description = describe(1, &snapshot);
        description["length"] = json!(snapshot.len() - 1);
        files.files.insert(
            "timestamp.json".into(),
            repo.timestamp_of(1, description, LATER),
        );
        let mut kept = Kept::default();
        kept.0.insert("root.json".into(), repo.root(1));
        let error = refresh(&mut kept, &files, NOW).err();
        assert!(
            matches!(&error, Some(UpdateError { step, error: UpdateProblem::Fetch(FetchError::Failed(_)) }) if step == "1.snapshot.json"),
            "{error:?}"
        );
        assert!(!kept.0.contains_key("snapshot.json"));
    }

    #[test]
    fn delegated_roles_are_fetched_by_escaped_versioned_name() {
        let repo = Repo::new();
        let delegate = Signer::new("delegate", 5);
        let delegations = json!({"keys": {"delegate": crate::tuf::fixtures::key(&delegate)},
            "roles": [{"name": "a/b", "keyids": ["delegate"], "threshold": 1,
                       "terminating": false, "paths": ["*"]}]});
        let top = sign(&repo.targets_signed(1, Some(delegations)), &[&repo.targets]);
        let role = sign(
            &json!({"_type": "targets", "spec_version": "1.0.31", "version": 2,
                    "expires": LATER, "targets": {"x": {"length": 1, "hashes": {"sha256": "00"}}}}),
            &[&delegate],
        );
        let snapshot = repo.snapshot_of(
            1,
            json!({"targets.json": describe(1, &top), "a/b.json": describe(2, &role)}),
            LATER,
        );
        let mut files = BTreeMap::new();
        files.insert(
            "timestamp.json".to_string(),
            repo.timestamp(1, &snapshot, 1),
        );
        files.insert("1.snapshot.json".into(), snapshot);
        files.insert("1.targets.json".into(), top);
        files.insert("2.a%2Fb.json".into(), role);
        let files = Files {
            files,
            asked: core::cell::RefCell::default(),
        };
        let mut kept = Kept::default();
        kept.0.insert("root.json".into(), repo.root(1));
        let mut set = refresh(&mut kept, &files, NOW).unwrap_or_else(|e| panic!("{e}"));
        let found = target(&mut set, &mut kept, &files, "x").unwrap_or_else(|e| panic!("{e}"));
        assert!(found.is_some());
        assert!(kept.0.contains_key("a%2Fb.json"));
        assert_eq!(escape("a/b c"), "a%2Fb%20c");
        let file = found.unwrap_or_else(|| unreachable!());
        assert_eq!(target_file_name("d/x", &file, true), "d/00.x");
        assert_eq!(target_file_name("d/x", &file, false), "d/x");
    }
}
