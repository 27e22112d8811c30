//! `ocisig`: check that a container image was signed by keys you trust.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use ocisig_host::{ModuleLimits, VerifierModule};

/// Exit status: the policy is satisfied.
const EXIT_VERIFIED: u8 = 0;
/// Exit status: the policy is not satisfied.
const EXIT_NOT_VERIFIED: u8 = 1;
/// Exit status: usage error, or a file that cannot be read.
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "ocisig",
    version,
    about = "Check that a container image was signed by keys you trust",
    long_about = "Check that a container image or OCI artifact was signed with cosign by keys \
                  you trust. The verification runs inside a sandboxed WebAssembly module: the \
                  same module that runs in Kubewarden, OPA hosts and the browser.",
    after_help = "Examples:\n  \
        ocisig eval --policy examples/signed/policy.json --evidence examples/signed/evidence.json\n\n\
        Exit status:\n  \
        0  verified\n  \
        1  not verified (the verdict says why)\n  \
        2  usage error or unreadable file"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify an evidence document against a policy and print the verdict JSON.
    #[command(after_help = "Examples:\n  \
        ocisig eval --policy examples/signed/policy.json --evidence examples/signed/evidence.json\n\n\
        The policy, evidence and verdict formats are documented in docs/contracts.md.\n\n\
        Exit status:\n  \
        0  verified\n  \
        1  not verified (the verdict's `reason` says why)\n  \
        2  usage error or unreadable file")]
    Eval {
        /// Policy JSON: trusted keys, threshold, required keys and annotations.
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// Evidence JSON: the image digest, its .sig manifest and payload blobs.
        #[arg(long, value_name = "FILE")]
        evidence: PathBuf,
        /// Run this verifier module instead of the one built into the binary.
        #[arg(long, value_name = "FILE")]
        module: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_VERIFIED
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("ocisig: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Eval {
            policy,
            evidence,
            module,
        } => {
            let policy = read(&policy, "policy")?;
            let evidence = read(&evidence, "evidence")?;
            let verifier = match module {
                Some(path) => {
                    VerifierModule::from_bytes(&read(&path, "module")?, ModuleLimits::default())
                        .with_context(|| format!("cannot load module {}", path.display()))?
                }
                None => VerifierModule::embedded()?,
            };
            let verdict = verifier.verify(&policy, &evidence);
            print_line(&verdict.json);
            Ok(if verdict.verified {
                EXIT_VERIFIED
            } else {
                EXIT_NOT_VERIFIED
            })
        }
    }
}

fn read(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} file {}", path.display()))
}

/// Prints one line; a closed pipe (`ocisig … | head`) is not an error worth reporting.
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
