//! The I/O half of the core's TUF client ([`ocisig::tuf::update`]): a repository over HTTP(S)
//! or in a local directory (for air-gapped use), the trusted metadata kept in a directory, the
//! clock, and target files fetched, checked and stored. Every decision is the core's.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ocisig::tuf::metadata::{TargetFile, check_file};
use ocisig::tuf::trusted::TrustedSet;
use ocisig::tuf::update::{self, FetchError, Repository, Store};

/// A TUF repository: metadata under a base URL (`http(s)://…`) or directory.
pub struct Remote {
    base: String,
    client: Option<reqwest::blocking::Client>,
}

impl Remote {
    /// The repository at `base` (an `http://` or `https://` URL, or a local directory).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let client = if base.starts_with("http://") || base.starts_with("https://") {
            Some(
                reqwest::blocking::Client::builder()
                    .timeout(std::time::Duration::from_secs(30))
                    .build()
                    .context("building the HTTP client")?,
            )
        } else {
            None
        };
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            client,
        })
    }

    /// The bytes of `name` under the base, no more than `max_bytes`.
    ///
    /// # Errors
    /// [`FetchError::NotFound`] for a 404 or a missing file, else [`FetchError::Failed`].
    pub fn get(&self, name: &str, max_bytes: usize) -> Result<Vec<u8>, FetchError> {
        let failed = |why: String| FetchError::Failed(format!("{name}: {why}"));
        let cap = u64::try_from(max_bytes).unwrap_or(u64::MAX);
        let mut bytes = Vec::new();
        match &self.client {
            Some(client) => {
                let response = client
                    .get(format!("{}/{name}", self.base))
                    .send()
                    .map_err(|e| failed(e.to_string()))?;
                match response.status().as_u16() {
                    200 => {}
                    404 => return Err(FetchError::NotFound),
                    status => return Err(failed(format!("HTTP {status}"))),
                }
                response
                    .take(cap + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| failed(e.to_string()))?;
            }
            None => {
                let path = Path::new(&self.base).join(name);
                let file = match std::fs::File::open(&path) {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(FetchError::NotFound);
                    }
                    Err(e) => return Err(failed(e.to_string())),
                };
                file.take(cap + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| failed(e.to_string()))?;
            }
        }
        if bytes.len() > max_bytes {
            return Err(failed(format!("more than {max_bytes} bytes")));
        }
        Ok(bytes)
    }
}

impl Repository for Remote {
    fn metadata(&self, name: &str, max_bytes: usize) -> Result<Vec<u8>, FetchError> {
        self.get(name, max_bytes)
    }
}

/// The trusted metadata of one repository, kept in a directory under unversioned names.
pub struct Kept {
    dir: PathBuf,
}

impl Kept {
    /// The metadata kept in `dir` (created when missing).
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }
}

impl Store for Kept {
    fn load(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(name)).ok()
    }

    fn keep(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        // Written aside and renamed, so that a crash never leaves half a file trusted.
        let path = self.dir.join(name);
        let partial = self.dir.join(format!(".{name}.partial"));
        std::fs::write(&partial, bytes)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Seconds since the epoch, now: the only clock the TUF client reads.
///
/// # Errors
/// A clock before 1970.
pub fn now() -> anyhow::Result<i64> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?;
    Ok(i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

/// Starts the kept metadata in `dir` from `root`, which must be a root signed by its own keys
/// (an expired one is allowed: a refresh may rotate past it). Nothing is kept otherwise.
///
/// # Errors
/// A root that does not verify, or one that cannot be written.
pub fn init(dir: &Path, root: &[u8]) -> anyhow::Result<()> {
    TrustedSet::new(root, now()?).context("the initial root")?;
    Kept::new(dir)?
        .keep("root.json", root)
        .map_err(|e| anyhow::anyhow!(e))
}

/// Refreshes the metadata kept in `dir` from `remote`.
///
/// # Errors
/// The step that failed, in the core's words.
pub fn refresh(dir: &Path, remote: &Remote) -> anyhow::Result<(TrustedSet, Kept)> {
    let mut kept = Kept::new(dir)?;
    let set = update::refresh(&mut kept, remote, now()?)?;
    Ok((set, kept))
}

/// Fetches the target `path` from `targets` (a URL or directory) into `target_dir`, named by
/// its escaped path, unless a file there already has its length and hashes; after a refresh.
///
/// # Errors
/// No such target, or a file that does not match what the metadata says.
pub fn download(
    dir: &Path,
    metadata: &Remote,
    targets: &Remote,
    path: &str,
    target_dir: &Path,
) -> anyhow::Result<PathBuf> {
    let (mut set, mut kept) = refresh(dir, metadata)?;
    let Some(file) = update::target(&mut set, &mut kept, metadata, path)? else {
        bail!("{path}: no such target in the trusted metadata");
    };
    let local = target_dir.join(update::escape(path));
    if let Ok(bytes) = std::fs::read(&local)
        && matches(path, &bytes, &file)
    {
        return Ok(local);
    }
    let name = update::target_file_name(path, &file, set.root().consistent_snapshot);
    let cap = usize::try_from(file.length).unwrap_or(usize::MAX);
    let bytes = targets
        .get(&name, cap)
        .map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
    check_file(path, &bytes, Some(file.length), &file.hashes)?;
    std::fs::create_dir_all(target_dir)?;
    std::fs::write(&local, &bytes).with_context(|| format!("writing {}", local.display()))?;
    Ok(local)
}

fn matches(path: &str, bytes: &[u8], file: &TargetFile) -> bool {
    check_file(path, bytes, Some(file.length), &file.hashes).is_ok()
}

/// Sigstore's TUF `root.json` (sigstore/root-signing, `metadata/root.json`, version 15; see
/// `host-shim/trust/README.md`): where a mirror without kept state starts, unless `--root`.
pub const SIGSTORE_TUF_ROOT: &[u8] = include_bytes!("../trust/sigstore_tuf_root.json");

/// Sigstore's public-good TUF repository.
pub const DEFAULT_MIRROR: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The target that holds the trust material `verify` reads.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// Where ocisig keeps TUF state by default: `$XDG_CACHE_HOME/ocisig/tuf`, else
/// `~/.cache/ocisig/tuf`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|cache| cache.join("ocisig").join("tuf"))
}

/// The state of one mirror under `cache`: a directory named by the SHA-256 of the mirror as
/// written (its first 16 hex digits), holding `mirror` (the name), `metadata/` and `targets/`.
pub fn state_dir(cache: &Path, mirror: &str) -> PathBuf {
    let digest = ocisig::Sha256Digest::of(mirror.trim_end_matches('/').as_bytes());
    cache.join(&digest.hex()[..16])
}

/// What an update reached.
pub struct Updated {
    /// The trusted root's version.
    pub root_version: u64,
    /// The SHA-256 of the verified `trusted_root.json`.
    pub trusted_root: ocisig::Sha256Digest,
    /// Where it is kept.
    pub path: PathBuf,
}

/// Refreshes the state of `mirror` under `cache` and fetches `trusted_root.json`. A mirror
/// without state starts from `root` (or Sigstore's embedded TUF root); one with state starts
/// from it, and `root` is not used, so that it can never replace a newer trusted root.
///
/// # Errors
/// The step that failed.
pub fn update(mirror: &str, root: Option<&Path>, cache: &Path) -> anyhow::Result<Updated> {
    let state = state_dir(cache, mirror);
    let metadata = state.join("metadata");
    std::fs::create_dir_all(&metadata)
        .with_context(|| format!("creating {}", metadata.display()))?;
    std::fs::write(state.join("mirror"), mirror)?;
    if !metadata.join("root.json").exists() {
        let initial = match root {
            Some(path) => {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
            }
            None => SIGSTORE_TUF_ROOT.to_vec(),
        };
        // Kept only once it is a root signed by its own keys, so that a wrong --root never
        // becomes the mirror's state (a later --root could not replace it).
        init(&metadata, &initial)?;
    }
    let base = mirror.trim_end_matches('/');
    let remote = Remote::new(base)?;
    let targets = Remote::new(&format!("{base}/targets"))?;
    let path = download(
        &metadata,
        &remote,
        &targets,
        TRUSTED_ROOT_TARGET,
        &state.join("targets"),
    )?;
    let bytes = std::fs::read(&path)?;
    let set = update::load_kept(&Kept::new(&metadata)?, now()?)?;
    Ok(Updated {
        root_version: set.root().common.version,
        trusted_root: ocisig::Sha256Digest::of(&bytes),
        path,
    })
}

/// A repository that has nothing: for reading kept state offline.
struct Offline;

impl Repository for Offline {
    fn metadata(&self, _: &str, _: usize) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::Failed(
            "offline: only kept metadata is read".into(),
        ))
    }
}

/// The verified `trusted_root.json` of `mirror`'s kept state, checked now against the kept
/// metadata (which must not have expired), and how old its timestamp's signature is not known
/// here: the caller says when it was updated.
///
/// # Errors
/// Nothing kept, kept metadata that has expired, or a kept file that does not match it.
pub fn kept_trusted_root(mirror: &str, cache: &Path) -> anyhow::Result<Vec<u8>> {
    let state = state_dir(cache, mirror);
    let mut kept = Kept {
        dir: state.join("metadata"),
    };
    let mut set = update::load_kept(&kept, now()?)?;
    let Some(file) = update::target(&mut set, &mut kept, &Offline, TRUSTED_ROOT_TARGET)? else {
        bail!("the kept metadata names no {TRUSTED_ROOT_TARGET}");
    };
    let path = state
        .join("targets")
        .join(update::escape(TRUSTED_ROOT_TARGET));
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "{}: nothing was fetched yet (run ocisig trust update)",
            path.display()
        )
    })?;
    check_file(TRUSTED_ROOT_TARGET, &bytes, Some(file.length), &file.hashes)?;
    Ok(bytes)
}
