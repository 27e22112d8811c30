//! The client under test of the TUF conformance suite (theupdateframework/tuf-conformance,
//! its CLIENT-CLI.md protocol) over ocisig's TUF client: the core's `tuf::update` with the
//! binary's I/O (`ocisig_host::tuf_client`). `scripts/tuf-conformance.sh` runs the suite on it.
//!
//! Usage:
//!   tuf-conformance-client --metadata-dir DIR init ROOT
//!   tuf-conformance-client --metadata-dir DIR --metadata-url URL refresh
//!   tuf-conformance-client --metadata-dir DIR --metadata-url URL --target-name PATH
//!       --target-base-url URL --target-dir DIR download
//! Exit 0 when the command succeeded, 1 otherwise.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use ocisig_host::tuf_client::{self, Remote};

fn main() {
    match run() {
        Ok(()) => std::process::exit(0),
        Err(err) => {
            eprintln!("tuf-conformance-client: {err:#}");
            std::process::exit(1);
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut flags = std::collections::BTreeMap::new();
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        if let Some(name) = arg.strip_prefix("--") {
            let value = args
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            flags.insert(name.to_string(), value);
        } else {
            positional.push(arg);
        }
    }
    let flag = |name: &str| {
        flags
            .get(name)
            .cloned()
            .with_context(|| format!("--{name} is required"))
    };
    let dir = PathBuf::from(flag("metadata-dir")?);
    match positional.as_slice() {
        [command, root] if command == "init" => {
            std::fs::create_dir_all(&dir)?;
            std::fs::copy(root, dir.join("root.json"))
                .with_context(|| format!("copying {root}"))?;
            Ok(())
        }
        [command] if command == "refresh" => {
            let remote = Remote::new(&flag("metadata-url")?)?;
            tuf_client::refresh(&dir, &remote).map(|_| ())
        }
        [command] if command == "download" => {
            let metadata = Remote::new(&flag("metadata-url")?)?;
            let targets = Remote::new(&flag("target-base-url")?)?;
            tuf_client::download(
                &dir,
                &metadata,
                &targets,
                &flag("target-name")?,
                &PathBuf::from(flag("target-dir")?),
            )
            .map(|_| ())
        }
        other => bail!("unknown command {other:?}: init ROOT, refresh or download"),
    }
}
