//! Registry credentials from the docker config, the way docker, podman and cosign find them.
//!
//! Looked up in order: `$REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json`,
//! `~/.docker/config.json`. Each entry of `auths` may hold `auth` (base64 `user:password`),
//! `username` and `password`, `identitytoken` (an OAuth refresh token) or `registrytoken` (a
//! bearer token). `credHelpers` and `credsStore` name a `docker-credential-*` program to ask.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

/// What a registry may be given to prove who we are.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password (or a personal access token).
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: String,
    },
    /// An OAuth refresh token, exchanged at the token endpoint.
    IdentityToken(String),
    /// A bearer token sent as is.
    RegistryToken(String),
}

impl std::fmt::Debug for Credential {
    // Never print secrets, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Self::IdentityToken(_) => f.write_str("IdentityToken(***)"),
            Self::RegistryToken(_) => f.write_str("RegistryToken(***)"),
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

/// The credentials the user's docker config holds.
#[derive(Default)]
pub struct Credentials {
    config: ConfigFile,
    source: Option<PathBuf>,
}

impl Credentials {
    /// Loads the first docker config found, or none.
    ///
    /// # Errors
    /// When a config file exists but cannot be read or parsed.
    pub fn from_environment() -> anyhow::Result<Self> {
        let candidates = [
            std::env::var_os("REGISTRY_AUTH_FILE").map(PathBuf::from),
            std::env::var_os("DOCKER_CONFIG").map(|dir| PathBuf::from(dir).join("config.json")),
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json")),
        ];
        for path in candidates.into_iter().flatten() {
            if path.is_file() {
                return Self::from_file(&path);
            }
        }
        Ok(Self::default())
    }

    /// Loads one docker config file.
    ///
    /// # Errors
    /// When it cannot be read or is not a docker config.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read(path)
            .with_context(|| format!("cannot read registry credentials {}", path.display()))?;
        let config = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a docker config file", path.display()))?;
        Ok(Self {
            config,
            source: Some(path.to_path_buf()),
        })
    }

    /// The credential for `registry` (a host, with its port if any), if the config has one.
    ///
    /// # Errors
    /// When an entry is malformed or a credential helper fails.
    pub fn for_registry(&self, registry: &str) -> anyhow::Result<Option<Credential>> {
        if let Some(helper) = self.config.cred_helpers.get(registry) {
            return ask_helper(helper, registry);
        }
        let keys = config_keys(registry);
        let entry = self.config.auths.iter().find(|(key, _)| {
            let host = strip_scheme_and_path(key);
            keys.contains(&host)
        });
        if let Some((key, entry)) = entry {
            return entry
                .credential()
                .with_context(|| match &self.source {
                    Some(path) => format!("entry {key:?} in {}", path.display()),
                    None => format!("entry {key:?}"),
                })
                .map(Some);
        }
        match &self.config.creds_store {
            Some(store) => ask_helper(store, registry),
            None => Ok(None),
        }
    }
}

impl AuthEntry {
    fn credential(&self) -> anyhow::Result<Credential> {
        if let Some(token) = non_empty(&self.registrytoken) {
            return Ok(Credential::RegistryToken(token.to_string()));
        }
        if let Some(token) = non_empty(&self.identitytoken) {
            return Ok(Credential::IdentityToken(token.to_string()));
        }
        if let (Some(username), Some(password)) =
            (non_empty(&self.username), non_empty(&self.password))
        {
            return Ok(Credential::Basic {
                username: username.to_string(),
                password: password.to_string(),
            });
        }
        let Some(auth) = non_empty(&self.auth) else {
            bail!("has no auth, username/password or token");
        };
        let decoded = BASE64.decode(auth.trim()).context("auth is not base64")?;
        let decoded = String::from_utf8(decoded).context("auth is not UTF-8")?;
        let Some((username, password)) = decoded.split_once(':') else {
            bail!("auth is not base64 of user:password");
        };
        Ok(Credential::Basic {
            username: username.to_string(),
            password: password.to_string(),
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.is_empty())
}

/// The `auths` keys that may name `registry`; Docker Hub has historic aliases.
fn config_keys(registry: &str) -> Vec<&str> {
    if registry == ocisig::DOCKER_HUB_REGISTRY {
        vec!["index.docker.io", "docker.io", "registry-1.docker.io"]
    } else {
        vec![registry]
    }
}

/// `https://index.docker.io/v1/` → `index.docker.io`.
fn strip_scheme_and_path(key: &str) -> &str {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    without_scheme
        .split_once('/')
        .map_or(without_scheme, |(host, _)| host)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// Asks `docker-credential-<helper> get` for the registry's credential.
fn ask_helper(helper: &str, registry: &str) -> anyhow::Result<Option<Credential>> {
    if helper.is_empty()
        || !helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        bail!("credential helper name {helper:?} is not valid");
    }
    let program = format!("docker-credential-{helper}");
    let server = if registry == ocisig::DOCKER_HUB_REGISTRY {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run credential helper {program}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .with_context(|| format!("cannot talk to {program}"))?;
    }
    let output = child
        .wait_with_output()
        .with_context(|| format!("cannot run credential helper {program}"))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stdout);
        // Helpers say "credentials not found in native keychain" for an unknown server.
        if said.contains("not found") {
            return Ok(None);
        }
        bail!("{program} failed: {}", said.trim());
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{program} printed something other than credentials"))?;
    Ok(Some(if answer.username == "<token>" {
        Credential::IdentityToken(answer.secret)
    } else {
        Credential::Basic {
            username: answer.username,
            password: answer.secret,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_json(json: &str) -> Credentials {
        Credentials {
            config: serde_json::from_str(json).unwrap(),
            source: None,
        }
    }

    #[test]
    fn reads_basic_auth_and_docker_hub_aliases() {
        let credentials = from_json(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
                "registry.example:5000": {"username": "u", "password": "p"},
                "ghcr.io": {"registrytoken": "t"}
            }}"#,
        );
        assert_eq!(
            credentials.for_registry("index.docker.io").unwrap(),
            Some(Credential::Basic {
                username: "user".into(),
                password: "pa:ss".into()
            })
        );
        assert_eq!(
            credentials.for_registry("registry.example:5000").unwrap(),
            Some(Credential::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
        assert_eq!(
            credentials.for_registry("ghcr.io").unwrap(),
            Some(Credential::RegistryToken("t".into()))
        );
        assert_eq!(credentials.for_registry("quay.io").unwrap(), None);
    }

    #[test]
    fn malformed_entries_are_errors_not_anonymous() {
        let credentials = from_json(r#"{"auths": {"r.example": {"auth": "!!!"}}}"#);
        assert!(credentials.for_registry("r.example").is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let shown = format!(
            "{:?}",
            Credential::Basic {
                username: "u".into(),
                password: "hunter2".into()
            }
        );
        assert!(!shown.contains("hunter2"));
    }
}
