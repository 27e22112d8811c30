//! Image references (`host/repo:tag@sha256:…`), normalized the way docker and cosign do.
//!
//! `busybox`, `docker.io/library/busybox` and `index.docker.io/library/busybox` name one
//! repository; cosign writes the last form into `docker-reference`, so that is our canonical
//! form for Docker Hub.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

/// The registry host cosign writes for Docker Hub.
pub const DOCKER_HUB_REGISTRY: &str = "index.docker.io";
const DOCKER_HUB_ALIASES: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// Which part of an image reference is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Empty, or longer than [`crate::limits::MAX_REFERENCE_BYTES`].
    Length,
    /// The registry host (or port).
    Registry(String),
    /// The repository path.
    Repository(String),
    /// The tag.
    Tag(String),
    /// The digest.
    Digest(String),
}

impl core::fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Length => write!(
                f,
                "an image reference must be 1 to {} characters",
                crate::limits::MAX_REFERENCE_BYTES
            ),
            Self::Registry(host) => write!(f, "{host:?} is not a valid registry host"),
            Self::Repository(path) => write!(
                f,
                "{path:?} is not a valid repository (lowercase letters, digits and . _ - \
                 between slashes)"
            ),
            Self::Tag(tag) => write!(f, "{tag:?} is not a valid tag"),
            Self::Digest(digest) => write!(f, "{digest:?} is not a valid digest"),
        }
    }
}

impl core::error::Error for ReferenceError {}

/// Splits a reference as written, `name[:tag][@digest]`, into its three parts, checking
/// nothing: the one place the spelling is taken apart (a tag follows the last `:` after the
/// last `/`; an earlier `:` is a registry's port).
pub fn split(text: &str) -> (&str, Option<&str>, Option<&str>) {
    let (name_and_tag, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
    match name_and_tag[last_slash..].find(':') {
        Some(i) => {
            let at = last_slash + i;
            (&name_and_tag[..at], Some(&name_and_tag[at + 1..]), digest)
        }
        None => (name_and_tag, None, digest),
    }
}

impl Reference {
    /// Parses `[registry/]repository[:tag][@algorithm:hex]`.
    ///
    /// # Errors
    /// A [`ReferenceError`] naming the part that is not valid.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        if text.is_empty() || text.len() > crate::limits::MAX_REFERENCE_BYTES {
            return Err(ReferenceError::Length);
        }
        let (name, tag, digest) = split(text);
        if let Some(digest) = digest {
            validate_digest(digest)?;
        }
        if let Some(tag) = tag {
            validate_tag(tag)?;
        }
        let (tag, digest) = (tag.map(String::from), digest.map(String::from));
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if looks_like_registry(first) => (first, rest.to_string()),
            _ => (DOCKER_HUB_REGISTRY, name.to_string()),
        };
        let registry = if DOCKER_HUB_ALIASES.contains(&registry) {
            DOCKER_HUB_REGISTRY.to_string()
        } else {
            validate_registry(registry)?;
            registry.to_string()
        };
        let repository = if registry == DOCKER_HUB_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        validate_repository(&repository)?;
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The registry host, with port if any (`index.docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path within the registry (`library/busybox`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference has one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `registry/repository`, the form cosign writes as `docker-reference`.
    pub fn repository_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn looks_like_registry(component: &str) -> bool {
    component.contains('.')
        || component.contains(':')
        || component == "localhost"
        || component.chars().any(|c| c.is_ascii_uppercase())
}

/// `host[:port]`, where host is a DNS name, an IPv4 address or a bracketed IPv6 address.
fn validate_registry(registry: &str) -> Result<(), ReferenceError> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !host.starts_with('[') || host.ends_with(']') => (host, Some(port)),
        _ => (registry, None),
    };
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !inner.is_empty() && inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':')
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(ReferenceError::Registry(registry.to_string()))
    }
}

fn validate_repository(repository: &str) -> Result<(), ReferenceError> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
    };
    if repository.len() <= crate::limits::MAX_REPOSITORY_BYTES
        && repository.split('/').all(component_ok)
    {
        Ok(())
    } else {
        Err(ReferenceError::Repository(repository.to_string()))
    }
}

fn validate_tag(tag: &str) -> Result<(), ReferenceError> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::Tag(tag.to_string()))
    }
}

fn validate_digest(digest: &str) -> Result<(), ReferenceError> {
    let ok = digest.split_once(':').is_some_and(|(algorithm, hex)| {
        !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
            && hex.len() >= 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    });
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::Digest(digest.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spelling_splits_into_name_tag_and_digest() {
        let digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        assert_eq!(split("busybox"), ("busybox", None, None));
        assert_eq!(split("nginx:1.27"), ("nginx", Some("1.27"), None));
        assert_eq!(
            split("localhost:5000/app:v1"),
            ("localhost:5000/app", Some("v1"), None)
        );
        assert_eq!(
            split("localhost:5000/app"),
            ("localhost:5000/app", None, None)
        );
        let pinned = alloc::format!("host:5000/a/b:v1@{digest}");
        assert_eq!(split(&pinned), ("host:5000/a/b", Some("v1"), Some(digest)));
        let only = alloc::format!("app@{digest}");
        assert_eq!(split(&only), ("app", None, Some(digest)));
    }

    fn repo(text: &str) -> String {
        Reference::parse(text).unwrap().repository_name()
    }

    #[test]
    fn normalizes_docker_hub_like_docker_and_cosign() {
        assert_eq!(repo("busybox"), "index.docker.io/library/busybox");
        assert_eq!(repo("busybox:1.36"), "index.docker.io/library/busybox");
        assert_eq!(
            repo("docker.io/library/busybox"),
            "index.docker.io/library/busybox"
        );
        assert_eq!(
            repo("securesystemsengineering/testimage"),
            "index.docker.io/securesystemsengineering/testimage"
        );
        assert_eq!(repo("registry-1.docker.io/x/y"), "index.docker.io/x/y");
    }

    #[test]
    fn keeps_registry_ports_apart_from_tags() {
        let r = Reference::parse("127.0.0.1:5000/team/app:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.tag(), Some("v1"));
        assert!(r.digest().is_some());
        assert_eq!(repo("localhost/app"), "localhost/app");
        assert_eq!(repo("localhost:5000/app"), "localhost:5000/app");
    }

    #[test]
    fn rejects_invalid_references() {
        for bad in [
            "",
            "UPPER/Case/x",
            "repo:",
            "repo@sha256:xyz",
            "a//b",
            "-a/b",
            "repo:t@g",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
