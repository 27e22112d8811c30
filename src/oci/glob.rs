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
use alloc::string::String;

use crate::oci::reference::Reference;

/// A compiled image glob.
#[derive(Clone, Debug)]
pub struct Glob {
    pattern: String,
    regex: regex_lite::Regex,
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
        let mut regex = String::with_capacity(normalized.len() * 2 + 2);
        regex.push('^');
        let mut chars = normalized.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    regex.push_str(".*");
                }
                '*' => regex.push_str("[^/]*"),
                '?' => regex.push_str("[^/]"),
                '.' => regex.push_str("\\."),
                other => regex.push(other),
            }
        }
        regex.push('$');
        // Only the characters checked above reach the pattern, escaped where they mean
        // something to a regular expression, so it always compiles.
        let regex = regex_lite::Regex::new(&regex).map_err(|_| GlobError::Empty)?;
        Ok(Self {
            pattern: pattern.into(),
            regex,
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
        let Ok(reference) = Reference::parse(image) else {
            return false;
        };
        let name = normalized_name(&reference);
        self.regex.is_match(&name) || (name != image && self.regex.is_match(image))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
