//! Verifying many images: a bounded pool of workers that fetch and verify, reporting each
//! result in the order the images were given.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use ocisig::Document;
use ocisig::evidence::plan::Plan;

use crate::evidence::{self, Source};
use crate::module::{ModuleVerdict, VerifierModule};
use crate::registry::Registry;

/// What happened to one image.
#[derive(Debug)]
pub enum ImageOutcome {
    /// The evidence was fetched and the module gave a verdict (verified or not).
    Verdict(ModuleVerdict),
    /// The evidence could not be fetched; nothing was verified.
    FetchFailed(anyhow::Error),
}

/// Everything the workers share.
pub struct Batch<'a> {
    /// The policy document handed to the module.
    pub policy_json: &'a [u8],
    /// The policy or policy set, parsed, which says what to fetch for each image and under
    /// which caps ([`Plan::of_document`]).
    pub document: &'a Document,
    /// The registry client (one connection pool and token cache for all images).
    pub registry: Option<&'a Registry>,
    /// The compiled verifier module.
    pub module: &'a VerifierModule,
    /// How many images are worked on at once (at least 1).
    pub concurrency: usize,
}

impl Batch<'_> {
    /// Fetches and verifies every source, calling `report(index, outcome)` once per source in
    /// index order, as soon as each one and all before it are done.
    pub fn run(&self, sources: &[Source], mut report: impl FnMut(usize, ImageOutcome)) {
        let next = AtomicUsize::new(0);
        let workers = self.concurrency.clamp(1, sources.len().max(1));
        let (sender, receiver) = mpsc::channel::<(usize, ImageOutcome)>();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let sender = sender.clone();
                let next = &next;
                scope.spawn(move || {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(source) = sources.get(index) else {
                            return;
                        };
                        if sender.send((index, self.one(source))).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(sender);
            // Results arrive in any order; hold them until their turn.
            let mut waiting = BTreeMap::new();
            let mut due = 0;
            for (index, outcome) in receiver {
                waiting.insert(index, outcome);
                while let Some(outcome) = waiting.remove(&due) {
                    report(due, outcome);
                    due += 1;
                }
            }
        });
    }

    fn one(&self, source: &Source) -> ImageOutcome {
        let image = source.image();
        let plan = Plan::of_document(self.document, &image, &ocisig::Scope::UNKNOWN);
        match evidence::fetch(source, self.registry, &plan) {
            Ok(fetched) => ImageOutcome::Verdict(ModuleVerdict::judge(
                self.module,
                self.document,
                self.policy_json,
                &image,
                &fetched.digest,
                &fetched.document,
                &ocisig::Scope::UNKNOWN,
            )),
            Err(err) => ImageOutcome::FetchFailed(err),
        }
    }
}
