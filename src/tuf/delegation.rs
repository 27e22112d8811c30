//! Which delegated role is trusted for a target path, and the order the specification searches
//! them in: a pre-order walk from the top-level targets, each role's delegations in the order
//! listed, a role visited once, a terminating role ending the search below its delegator, at
//! most [`MAX_DELEGATIONS`] roles.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use sha2::Digest as _;

use crate::tuf::error::TufError;
use crate::tuf::metadata::{DelegatedRole, Paths, TargetFile};
use crate::tuf::trusted::TrustedSet;

/// The most roles one search visits (python-tuf's default).
pub const MAX_DELEGATIONS: usize = 32;

/// Whether `pattern` (shell-style: `*` any run, `?` one character, `[…]` a class, each within
/// one `/`-separated segment) matches all of `path`, segment by segment.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let patterns: Vec<&str> = pattern.split('/').collect();
    let parts: Vec<&str> = path.split('/').collect();
    patterns.len() == parts.len()
        && patterns
            .iter()
            .zip(&parts)
            .all(|(p, s)| segment(p.as_bytes(), s.as_bytes()))
}

/// fnmatch on one segment, by backtracking over the last `*` (linear in practice: one star
/// at a time is retried).
fn segment(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(&pattern[p..], text[t]) {
                        if matched {
                            p += next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == b'[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                c if c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A `[…]` class at the start of `pattern`: whether `c` is in it, and its length; `None` when
/// it is not closed (then `[` is literal, as in fnmatch).
fn class(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!'));
    if negate {
        i += 1;
    }
    let start = i;
    let mut found = false;
    while i < pattern.len() {
        if pattern[i] == b']' && i > start {
            return Some((found != negate, i + 1));
        }
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&e| e != b']') {
            found |= pattern[i] <= c && c <= pattern[i + 2];
            i += 3;
        } else {
            found |= pattern[i] == c;
            i += 1;
        }
    }
    None
}

fn path_hash(path: &str) -> [u8; 32] {
    sha2::Sha256::digest(path.as_bytes()).into()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `role` is trusted for `path`.
pub fn role_covers(role: &DelegatedRole, path: &str) -> bool {
    match &role.paths {
        Paths::Patterns(patterns) => patterns.iter().any(|p| path_matches(p, path)),
        Paths::HashPrefixes(prefixes) => {
            let hash = hex_of(&path_hash(path));
            prefixes
                .iter()
                .any(|prefix| hash.starts_with(prefix.as_str()))
        }
    }
}

/// Finds `path` among the trusted targets, loading delegated roles as the search reaches them
/// with `load(set, role, delegator)` (which fetches the role's file and hands it to
/// [`TrustedSet::update_delegated_targets`]). The top-level targets must be loaded.
///
/// # Errors
/// The first error `load` gives (a role that cannot be loaded fails the search, as python-tuf
/// does), or a search past [`MAX_DELEGATIONS`] roles.
pub fn find_target(
    set: &mut TrustedSet,
    path: &str,
    load: &mut dyn FnMut(&mut TrustedSet, &str, &str) -> Result<(), TufError>,
) -> Result<Option<TargetFile>, TufError> {
    if set.targets("targets").is_none() {
        return Err(TufError::Order("a target search before the targets"));
    }
    // (role, its delegator); the top-level targets has none to load.
    let mut stack: Vec<(String, Option<String>)> = alloc::vec![("targets".to_string(), None)];
    let mut visited: Vec<String> = Vec::new();
    while let Some((role, delegator)) = stack.pop() {
        if visited.contains(&role) {
            continue;
        }
        if visited.len() >= MAX_DELEGATIONS {
            return Err(TufError::Malformed(format!(
                "the search for {path} visits more than {MAX_DELEGATIONS} roles"
            )));
        }
        if let Some(delegator) = &delegator
            && set.targets(&role).is_none()
        {
            load(set, &role, delegator)?;
        }
        visited.push(role.clone());
        let Some(targets) = set.targets(&role) else {
            continue;
        };
        if let Some(file) = targets.targets.get(path) {
            return Ok(Some(file.clone()));
        }
        let Some(delegations) = &targets.delegations else {
            continue;
        };
        let mut children: Vec<(String, Option<String>)> = Vec::new();
        if let Some(succinct) = &delegations.succinct {
            children.push((succinct.bin_for(path), Some(role.clone())));
        }
        for child in &delegations.roles {
            if role_covers(child, path) {
                children.push((child.name.clone(), Some(role.clone())));
                if child.terminating {
                    // Nothing after a terminating role is searched, nor what is queued
                    // behind its delegator.
                    stack.clear();
                    break;
                }
            }
        }
        // Pre-order: the first listed is searched first.
        stack.extend(children.into_iter().rev());
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use serde_json::{Value, json};

    use super::*;
    use crate::testing::Signer;
    use crate::tuf::fixtures::{LATER, NOW, Repo, describe, key, sign};

    #[test]
    fn patterns_match_within_segments() {
        for (pattern, path, matches) in [
            ("targets/*.tgz", "targets/foo.tgz", true),
            ("targets/*.tgz", "targets/sub/foo.tgz", false),
            ("*", "foo", true),
            ("*", "a/b", false),
            ("*/*", "a/b", true),
            ("foo-version-?.tgz", "foo-version-2.tgz", true),
            ("foo-version-?.tgz", "foo-version-22.tgz", false),
            ("[ab]*", "beta", true),
            ("[!ab]*", "beta", false),
            ("file-[0-9].txt", "file-7.txt", true),
            ("*.txt", "a.txt.gz", false),
            ("a*b*c", "aXbYbZc", true),
        ] {
            assert_eq!(path_matches(pattern, path), matches, "{pattern} {path}");
        }
    }

    #[test]
    fn bins_are_named_by_the_hash_prefix() {
        let succinct = crate::tuf::metadata::SuccinctRoles {
            keys: crate::tuf::metadata::RoleKeys {
                keyids: Vec::new(),
                threshold: 1,
            },
            bit_length: 8,
            name_prefix: "bin".into(),
        };
        let name = succinct.bin_for("file.txt");
        assert_eq!(name.len(), "bin-00".len());
        assert!(succinct.is_bin(&name));
        assert!(succinct.is_bin("bin-ff"));
        assert!(!succinct.is_bin("bin-100"));
        assert!(!succinct.is_bin("bin-f"));
        assert!(!succinct.is_bin("other-00"));
        let hash = path_hash("file.txt");
        assert_eq!(name, format!("bin-{:02x}", hash[0]));
    }

    #[test]
    fn delegations_are_searched_in_order_and_a_terminating_role_ends_it() {
        let repo = Repo::new();
        let delegate = Signer::new("delegate", 5);
        let role = |name: &str, paths: Value, terminating: bool| {
            json!({"name": name, "keyids": ["delegate"], "threshold": 1,
                   "terminating": terminating, "paths": paths})
        };
        let delegations = json!({"keys": {"delegate": key(&delegate)}, "roles": [
            role("a", json!(["docs/*"]), true),
            role("b", json!(["*", "docs/*"]), false)
        ]});
        let top = sign(&repo.targets_signed(1, Some(delegations)), &[&repo.targets]);
        let delegated = |version: u64, path: &str| {
            sign(
                &json!({"_type": "targets", "spec_version": "1.0.31", "version": version,
                        "expires": LATER, "targets": {path: {"length": 1, "hashes": {"sha256": "00"}}}}),
                &[&delegate],
            )
        };
        let a = delegated(1, "docs/a.txt");
        let b = delegated(1, "b.txt");
        let snapshot = repo.snapshot_of(
            1,
            json!({"targets.json": describe(1, &top), "a.json": describe(1, &a),
                   "b.json": describe(1, &b)}),
            LATER,
        );
        let mut set = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
        set.update_timestamp(&repo.timestamp(1, &snapshot, 1))
            .unwrap_or_else(|e| panic!("{e}"));
        set.update_snapshot(&snapshot, false)
            .unwrap_or_else(|e| panic!("{e}"));
        set.update_targets(&top).unwrap_or_else(|e| panic!("{e}"));
        let mut loaded: Vec<String> = Vec::new();
        let search = |set: &mut TrustedSet, path: &str, loaded: &mut Vec<String>| {
            find_target(set, path, &mut |set, role, delegator| {
                loaded.push(role.to_string());
                let bytes = if role == "a" { &a } else { &b };
                set.update_delegated_targets(bytes, role, delegator)
            })
        };
        assert!(matches!(
            search(&mut set, "b.txt", &mut loaded),
            Ok(Some(_))
        ));
        assert_eq!(loaded, ["b"]);
        assert!(matches!(
            search(&mut set, "docs/a.txt", &mut loaded),
            Ok(Some(_))
        ));
        assert_eq!(loaded, ["b", "a"]);
        // docs/* goes to the terminating "a" first, which does not have it: "b" is not asked.
        assert!(matches!(
            search(&mut set, "docs/none.txt", &mut loaded),
            Ok(None)
        ));
        // A role signed by another key is not trusted.
        let forged = sign(
            &json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
                    "expires": LATER, "targets": {}}),
            &[&Signer::new("delegate", 6)],
        );
        let mut fresh = TrustedSet::new(&repo.root(1), NOW).unwrap_or_else(|e| panic!("{e}"));
        let snapshot = repo.snapshot_of(
            1,
            json!({"targets.json": describe(1, &top), "b.json": describe(1, &forged)}),
            LATER,
        );
        fresh
            .update_timestamp(&repo.timestamp(1, &snapshot, 1))
            .unwrap_or_else(|e| panic!("{e}"));
        fresh
            .update_snapshot(&snapshot, false)
            .unwrap_or_else(|e| panic!("{e}"));
        fresh.update_targets(&top).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            fresh.update_delegated_targets(&forged, "b", "targets"),
            Err(TufError::Threshold { .. })
        ));
    }
}
