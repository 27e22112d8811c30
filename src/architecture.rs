//! The layout is the architecture, and this test keeps it so: each folder of `src/` is one idea,
//! the folders form layers (each may use only the ones below it, listed in [`LAYERS`]), no two
//! files import each other even through others (the file graph has no cycle), and a folder's
//! `mod.rs` only declares its files. A module is named by the path of the file that defines
//! what is used, never through a re-export: the crate root re-exports for the crate's users,
//! not for itself.

extern crate std;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::path::{Path, PathBuf};

/// Each folder (or top-level file) and the folders it may use, bottom layer first.
const LAYERS: &[(&str, &[&str])] = &[
    ("limits", &[]),
    ("encoding", &["limits"]),
    ("crypto", &["encoding", "limits"]),
    ("x509", &["crypto", "encoding", "limits"]),
    ("oci", &["crypto", "encoding", "limits"]),
    ("tuf", &["crypto", "encoding", "limits"]),
    ("claim", &["oci", "crypto", "encoding", "limits"]),
    (
        "sigstore",
        &["x509", "claim", "oci", "crypto", "encoding", "limits"],
    ),
    (
        "policy",
        &[
            "sigstore", "x509", "claim", "oci", "crypto", "encoding", "limits",
        ],
    ),
    ("verdict", &["limits"]),
    (
        "evidence",
        &[
            "policy", "sigstore", "claim", "oci", "crypto", "encoding", "limits",
        ],
    ),
    (
        "verify",
        &[
            "evidence", "verdict", "policy", "sigstore", "x509", "claim", "oci", "crypto",
            "encoding", "limits",
        ],
    ),
    (
        "host",
        &[
            "verify", "evidence", "verdict", "policy", "sigstore", "x509", "claim", "oci",
            "crypto", "encoding", "limits",
        ],
    ),
];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, as its path relative to `src/`.
fn files() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && let Ok(relative) = path.strip_prefix(base)
            {
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(&src(), &src(), &mut out);
    out
}

/// The code of a file without its comments and string literals (crude, but the crate's code
/// never puts `crate::` in a string).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module path a file defines (`policy/document.rs` is `policy::document`).
fn module_of(file: &str) -> Vec<String> {
    let trimmed = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = trimmed.split('/').map(ToString::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The file a `crate::a::b::…` path names: the longest prefix that is a file.
fn resolve(segments: &[&str], files: &BTreeSet<String>) -> Option<String> {
    (1..=segments.len()).rev().find_map(|n| {
        let base = segments[..n].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .find(|candidate| files.contains(candidate))
    })
}

/// Every file each file uses, by `crate::` and `super::` paths in its code.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = files();
    let set: BTreeSet<String> = files.iter().cloned().collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(src().join(file)).unwrap_or_default();
        let code = code(&text);
        let module = module_of(file);
        let mut uses = BTreeSet::new();
        // `super::` from `a/b.rs` (or from `a/mod.rs`) names a module beside `a::b` (or `a`).
        let parent = module[..module.len().saturating_sub(1)].to_vec();
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent)] {
            let mut rest = code.as_str();
            while let Some(at) = rest.find(prefix) {
                let before = rest[..at].chars().last();
                rest = &rest[at + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                if path.is_empty() {
                    continue;
                }
                let mut segments: Vec<&str> = base.iter().map(String::as_str).collect();
                segments.extend(path.split("::").filter(|s| !s.is_empty()));
                if let Some(target) = resolve(&segments, &set)
                    && &target != file
                {
                    uses.insert(target);
                }
            }
        }
        graph.insert(file.clone(), uses);
    }
    graph
}

fn folder(file: &str) -> &str {
    file.split('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs")
}

#[test]
fn no_two_files_import_each_other() {
    let graph = graph();
    // Depth-first search for a cycle, reporting the first one found.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.into(), 1);
        stack.push(node.into());
        for next in graph.get(node).into_iter().flatten() {
            if next == "lib.rs" || next == "testing.rs" {
                continue;
            }
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.into(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if node == "lib.rs" || state.contains_key(node.as_str()) {
            continue;
        }
        let mut stack = Vec::new();
        if let Some(cycle) = visit(node, &graph, &mut state, &mut stack) {
            panic!("files import each other: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn each_folder_uses_only_the_layers_below_it() {
    let layers: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (file, uses) in graph() {
        let from = folder(&file);
        if matches!(from, "lib" | "fuzzing" | "architecture" | "testing") {
            continue;
        }
        let Some(allowed) = layers.get(from) else {
            wrong.push(format!("{file}: its folder {from:?} is not in LAYERS"));
            continue;
        };
        for target in uses {
            let to = folder(&target);
            // The tests' shared builders serve every layer.
            if to != from && to != "testing" && !allowed.contains(&to) {
                wrong.push(format!("{file} uses {target}"));
            }
        }
    }
    assert!(wrong.is_empty(), "uses across layers: {wrong:#?}");
}

#[test]
fn a_folders_mod_rs_only_declares_its_files() {
    for file in files().iter().filter(|f| f.ends_with("/mod.rs")) {
        let text = std::fs::read_to_string(src().join(file)).unwrap_or_default();
        for line in code(&text).lines().map(str::trim).filter(|l| !l.is_empty()) {
            let declaration = line.starts_with("pub mod ")
                || line.starts_with("pub(crate) mod ")
                || line.starts_with("mod ")
                || line.starts_with("#[");
            assert!(declaration, "{file}: {line:?} is more than a declaration");
        }
    }
}

#[test]
fn the_crate_never_uses_its_own_root_re_exports() {
    for file in files().iter().filter(|f| *f != "lib.rs") {
        let text = std::fs::read_to_string(src().join(file)).unwrap_or_default();
        let code = code(&text);
        for (at, _) in code.match_indices("crate::") {
            let next = code[at + 7..].chars().next();
            assert!(
                !next.is_some_and(char::is_uppercase),
                "{file}: {:?} names a root re-export; name the defining module",
                &code[at..code.len().min(at + 40)]
            );
        }
    }
}
