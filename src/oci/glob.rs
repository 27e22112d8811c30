//! Image globs, with sigstore policy-controller's meaning (its `pkg/apis/glob`), so that a
//! `ClusterImagePolicy` matches in ocisig what it matches there:
//!
//! - a glob matches the whole of an image's normalized name: the registry (`index.docker.io`
//!   for Docker Hub), the repository (`library/` for Docker Hub's official images), then the
//!   tag (`:latest` when none is given) or, for a pinned image, the digest (`@sha256:…`, the tag
//!   dropped). As policy-controller still does, a glob that misses the normalized name is tried
//!   on the image as it was written;
//! - `*` matches any run of characters but `/` (so `:` and `@` too: `ghcr.io/org/*` matches
//!   `ghcr.io/org/app:v1`), `**` any run at all, and, beyond policy-controller, `?` any one
//!   character but `/`; every other character matches itself;
//! - a glob has only letters, digits and `- _ : / * . @ ?`; the bare globs `*` and `*/*` mean
//!   `index.docker.io/library/*` and `index.docker.io/*/*`, as there.

use alloc::format;
use alloc::string::{String, ToString};

use crate::oci::reference::Reference;

/// A checked image glob.
#[derive(Clone, Debug)]
pub struct Glob {
    pattern: String,
    /// The pattern matched: the one written, or what a bare `*` or `*/*` means.
    matched: String,
}

/// Why a glob cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GlobError {
    /// Empty.
    Empty,
    /// A character outside a glob's (letters, digits, `- _ : / * . @ ?`).
    Character(char),
}

impl core::fmt::Display for GlobError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Empty => f.write_str("a glob must not be empty"),
            Self::Character(c) => write!(
                f,
                "{c:?} is not a glob character (letters, digits and - _ : / * . @ ? only)"
            ),
        }
    }
}

impl core::error::Error for GlobError {}

impl Glob {
    /// Compiles `pattern`.
    ///
    /// # Errors
    /// A [`GlobError`] for an empty glob or a character no glob has.
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        let normalized = match pattern {
            "*" => "index.docker.io/library/*",
            "*/*" => "index.docker.io/*/*",
            other => other,
        };
        if normalized.is_empty() {
            return Err(GlobError::Empty);
        }
        if let Some(c) = normalized.chars().find(|c| {
            !(c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | ':' | '/' | '*' | '.' | '@' | '?'))
        }) {
            return Err(GlobError::Character(c));
        }
        Ok(Self {
            pattern: pattern.into(),
            matched: normalized.into(),
        })
    }

    /// The glob as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether the glob matches `image` (a reference as written): its normalized name, or,
    /// failing that, the reference as written. An image that is not a reference matches no
    /// glob.
    pub fn matches(&self, image: &str) -> bool {
        ImageName::of(image).is_some_and(|name| self.matches_name(&name))
    }

    /// Whether the glob matches an image whose names were worked out once
    /// ([`ImageName::of`]), as [`Glob::matches`] does: for a set, whose every glob is tried on
    /// one image.
    pub fn matches_name(&self, name: &ImageName<'_>) -> bool {
        let pattern = self.matched.as_bytes();
        matches_bytes(pattern, name.normalized.as_bytes(), false)
            || (name.normalized != name.written
                && matches_bytes(pattern, name.written.as_bytes(), false))
    }
}

/// An image's names as globs match them: normalized ([`normalized_name`]) and as written.
#[derive(Clone, Debug)]
pub struct ImageName<'a> {
    normalized: String,
    written: &'a str,
}

impl<'a> ImageName<'a> {
    /// The names of `image`; `None` when it is no reference (and so matches no glob).
    pub fn of(image: &'a str) -> Option<Self> {
        let reference = Reference::parse(image).ok()?;
        Some(Self {
            normalized: normalized_name(&reference),
            written: image,
        })
    }

    /// The image as written.
    pub fn written(&self) -> &'a str {
        self.written
    }
}

/// An image's name as globs see it: registry and repository, then the digest of a pinned
/// image, else its tag (`latest` when it has none).
pub fn normalized_name(reference: &Reference) -> String {
    match (reference.digest(), reference.tag()) {
        (Some(digest), _) => format!("{}@{digest}", reference.repository_name()),
        (None, tag) => format!(
            "{}:{}",
            reference.repository_name(),
            tag.unwrap_or("latest")
        ),
    }
}

/// Whether `pattern` matches all of `text`, where `*` is any run of characters (`/` included),
/// `?` exactly one, and every other character itself: the meaning of namespace globs, and of
/// image globs in ocisig's Kubewarden settings before policy sets. Linear in practice (one
/// backtrack point), never exponential.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    matches_bytes(pattern.as_bytes(), text.as_bytes(), true)
}

/// Whether `pattern` matches all of `text`: `*` is any run of bytes (but `/`, unless
/// `crosses`), `**` any run at all, `?` any one byte (but `/`, unless `crosses`). The set of
/// pattern positions reachable after each byte of text is kept (a small automaton), so the
/// work is at most the product of the two lengths, whatever the pattern.
fn matches_bytes(pattern: &[u8], text: &[u8], crosses: bool) -> bool {
    // The literal part before the first wildcard must start the text: most globs of a set
    // fail here, without the automaton.
    let literal = pattern
        .iter()
        .position(|&c| c == b'*' || c == b'?')
        .unwrap_or(pattern.len());
    if !text.starts_with(&pattern[..literal]) {
        return false;
    }
    if literal == pattern.len() {
        return text.len() == literal;
    }
    let (pattern, text) = (&pattern[literal..], &text[literal..]);
    let n = pattern.len();
    // A star may match nothing: from a position on a star, the next one is reachable too.
    let close = |reachable: &mut [bool]| {
        for j in 0..n {
            if reachable[j] && pattern[j] == b'*' {
                reachable[j + 1] = true;
            }
        }
    };
    let mut reachable = alloc::vec![false; n + 1];
    let mut next = alloc::vec![false; n + 1];
    reachable[0] = true;
    close(&mut reachable);
    for &c in text {
        next.fill(false);
        let slash_ok = crosses || c != b'/';
        for j in (0..n).filter(|&j| reachable[j]) {
            match pattern[j] {
                // A star consumes the byte and stays; one of `**` crosses `/`.
                b'*' if slash_ok || pattern.get(j + 1) == Some(&b'*') => next[j] = true,
                b'*' => {}
                b'?' if slash_ok => next[j + 1] = true,
                b'?' => {}
                literal if literal == c => next[j + 1] = true,
                _ => {}
            }
        }
        close(&mut next);
        if !next.contains(&true) {
            return false;
        }
        core::mem::swap(&mut reachable, &mut next);
    }
    reachable[n]
}

/// Whether a Kubewarden `signatures[].image` glob of ocisig before policy sets matches `image`,
/// in that meaning: [`wildcard`] over the image as written, its normalized reference
/// (`index.docker.io/library/nginx:1.27`) and, for Docker Hub, `docker.io/…`. Kept so that
/// settings written then match what they matched.
pub fn legacy_matches(pattern: &str, image: &str) -> bool {
    if wildcard(pattern, image) {
        return true;
    }
    let Ok(reference) = Reference::parse(image) else {
        return false;
    };
    let normalized = reference.to_string();
    wildcard(pattern, &normalized)
        || normalized
            .strip_prefix("index.docker.io/")
            .is_some_and(|rest| wildcard(pattern, &format!("docker.io/{rest}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// policy-controller's own cases (`pkg/apis/glob/glob_test.go`), each with its verdict.
    /// Its error cases are a glob that does not compile, or an image that is no reference,
    /// which matches nothing.
    #[test]
    fn policy_controllers_cases() {
        let digest = "sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350";
        let pinned = format!("ghcr.io/foo@{digest}");
        let cases: &[(&str, &str, bool)] = &[
            ("foo", "index.docker.io/library/foo:latest", true),
            ("foo", "index.docker.io/library/foo:*", true),
            ("foo", "index.docker.io/library/*", true),
            ("foo", "index.docker.io/library/*:latest", true),
            ("foo", "index.docker.io/*/*", true),
            ("foo", "index.docker.io/**", true),
            ("foo", "index.docker.**", true),
            ("foo", "inde**", true),
            ("foo", "**", true),
            ("foo", "foo", true),
            ("foo", "foo*", true),
            ("foo", "foo**", true),
            ("myuser/myapp", "index.docker.io/myuser/myapp:latest", true),
            ("myuser/myapp", "index.docker.io/myuser/myapp:*", true),
            ("myuser/myapp", "index.docker.io/myuser/*", true),
            ("myuser/myapp", "index.docker.io/myuser/*:latest", true),
            ("myuser/myapp", "index.docker.io/*/*", true),
            ("myuser/myapp", "index.docker.io/**", true),
            ("myuser/myapp", "index.docker.**", true),
            ("myuser/myapp", "inde**", true),
            ("myuser/myapp", "**", true),
            ("myuser/myapp", "myuser/myapp", true),
            ("myuser/myapp", "myuser/myapp*", true),
            ("myuser/myapp", "myuser/myapp**", true),
            ("ghcr.io/foo/bar", "ghcr.io/*/*", true),
            ("ghcr.io/foo/bar", "ghcr.io/**", true),
            ("ghcr.io/foo", "ghcr.io/*/*", false),
            ("ghcr.io/foo", "ghcr.io/**", true),
            ("ghcr.io/foo", "ghc**", true),
            ("ghcr.io/foo", "**", true),
            ("ghcr.io/foo", "*/**", true),
            ("ghcr.io/foo", "ghcr.io/foo*", true),
            ("ghcr.io/foo", "ghcr.io/foo**", true),
            ("prefix-ghcr.io/foo", "ghcr.io/foo", false),
            ("ghcr.io/foo-suffix", "ghcr.io/foo", false),
            ("ghcrxio/foo", "ghcr.io/**", false),
            ("invalid&name", "**", false),
            ("foo", "*", true),
            ("myuser/myapp", "*/*", true),
            (&pinned, &pinned, true),
        ];
        for (image, glob, want) in cases {
            let glob = Glob::new(glob).unwrap_or_else(|e| unreachable!("{glob}: {e}"));
            assert_eq!(glob.matches(image), *want, "{image} | {}", glob.pattern());
        }
        for bad in [".+", "[a-z]*", ""] {
            assert!(Glob::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_character_and_pinned_images() {
        let glob =
            Glob::new("registry.example:5000/app:v?").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(glob.matches("registry.example:5000/app:v2"));
        assert!(!glob.matches("registry.example:5000/app:v10"));
        let any_tag = Glob::new("ghcr.io/org/app:**").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(any_tag.matches("ghcr.io/org/app"));
        // A pinned image is named by its digest, its tag dropped (the name as written still
        // matches a glob of the tag, by the fallback).
        let digest = "sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350";
        let pinned = format!("ghcr.io/org/app:v1@{digest}");
        let by_tag = Glob::new("ghcr.io/org/app:v1").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(!by_tag.matches(&format!("ghcr.io/org/app@{digest}")));
        assert!(
            Glob::new("ghcr.io/org/app@**")
                .unwrap_or_else(|e| unreachable!("{e}"))
                .matches(&pinned)
        );
        assert!(
            Glob::new("ghcr.io/org/*")
                .unwrap_or_else(|e| unreachable!("{e}"))
                .matches(&pinned)
        );
    }

    /// The wildcard of namespaces and of the old Kubewarden globs (its tests, moved here with it).
    #[test]
    fn wildcard_stars_and_question_marks() {
        assert!(wildcard("ghcr.io/acme/*", "ghcr.io/acme/app:v1"));
        assert!(wildcard(
            "ghcr.io/acme/*",
            "ghcr.io/acme/team/app@sha256:00"
        ));
        assert!(wildcard("*", "anything"));
        assert!(wildcard("registry:5000/app:v?", "registry:5000/app:v2"));
        assert!(wildcard("*/app:*", "127.0.0.1:5000/app:v1"));
        assert!(!wildcard("ghcr.io/acme/*", "ghcr.io/acmex/app"));
        assert!(!wildcard("ghcr.io/acme/app", "ghcr.io/acme/app:v1"));
        assert!(!wildcard("a?c", "ac"));
        assert!(wildcard("a**b", "ab"));
        assert!(wildcard("prod-*", "prod-eu"));
        assert!(!wildcard("prod-*", "staging"));
    }

    /// The old Kubewarden meaning matches every spelling of a Docker Hub image.
    #[test]
    fn legacy_globs_match_every_spelling_of_docker_hub() {
        assert!(legacy_matches("docker.io/library/*", "nginx:1.27"));
        assert!(legacy_matches(
            "index.docker.io/library/nginx*",
            "nginx:1.27"
        ));
        assert!(legacy_matches("*", "quay.io/a/b/c:v1"));
        assert!(!legacy_matches("ghcr.io/*", "quay.io/x"));
        assert!(!legacy_matches("ghcr.io/*", "not a reference"));
    }

    /// The matcher means what policy-controller's regular expressions mean (`*` is `[^/]*`,
    /// `**` is `.*`, `?` is `[^/]`), and the wildcard what `.*` and `.` mean: compared on every
    /// pattern of up to five symbols and every text of up to five over a small alphabet.
    #[test]
    fn the_matcher_means_what_the_regular_expressions_mean() {
        fn all(alphabet: &[u8], most: usize) -> Vec<Vec<u8>> {
            let mut out = alloc::vec![Vec::new()];
            let mut last = alloc::vec![Vec::new()];
            for _ in 0..most {
                let mut grown = Vec::new();
                for prefix in &last {
                    for &c in alphabet {
                        let mut word = prefix.clone();
                        word.push(c);
                        grown.push(word);
                    }
                }
                out.extend(grown.iter().cloned());
                last = grown;
            }
            out
        }
        let texts = all(b"a/b", 5);
        for pattern in all(b"a/*?", 5) {
            let glob: String = pattern.iter().map(|&c| char::from(c)).collect();
            let mut regex = String::from("^");
            let mut legacy = String::from("^");
            let mut i = 0;
            while i < pattern.len() {
                match pattern[i] {
                    b'*' if pattern.get(i + 1) == Some(&b'*') => {
                        regex.push_str(".*");
                        i += 1;
                    }
                    b'*' => regex.push_str("[^/]*"),
                    b'?' => regex.push_str("[^/]"),
                    c => regex.push(char::from(c)),
                }
                i += 1;
            }
            for &c in &pattern {
                match c {
                    b'*' => legacy.push_str(".*"),
                    b'?' => legacy.push('.'),
                    c => legacy.push(char::from(c)),
                }
            }
            regex.push('$');
            legacy.push('$');
            let regex = regex_lite::Regex::new(&regex).unwrap_or_else(|e| unreachable!("{e}"));
            let legacy = regex_lite::Regex::new(&legacy).unwrap_or_else(|e| unreachable!("{e}"));
            for text in &texts {
                let text: String = text.iter().map(|&c| char::from(c)).collect();
                assert_eq!(
                    matches_bytes(glob.as_bytes(), text.as_bytes(), false),
                    regex.is_match(&text),
                    "{glob} on {text}"
                );
                assert_eq!(
                    wildcard(&glob, &text),
                    legacy.is_match(&text),
                    "{glob} on {text}"
                );
            }
        }
    }
}
