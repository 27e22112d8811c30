//! Transparency-log proofs, checked offline: RFC 6962 Merkle inclusion proofs and the signed
//! checkpoints (c2sp.org signed notes) they lead to.
//!
//! A Sigstore bundle's log entry carries, besides the entry itself, an inclusion proof: the
//! audit path from the entry's leaf to the root of the log at some tree size, and a checkpoint,
//! a note signed by the log that names that size and root. Checking both shows that the log
//! committed to the entry, without asking the log anything:
//!
//! 1. the leaf hash of the exact entry bytes, folded with the audit path, gives the root hash
//!    the proof states ([`root_from_inclusion_proof`], RFC 9162 §2.1.3.2);
//! 2. the checkpoint names the same tree size and root hash ([`Checkpoint::parse`]);
//! 3. one of the checkpoint's signatures is the log's: its key hint is the first four bytes of
//!    the log's id, and it verifies under the log's key from the policy's trust material, never
//!    from the bundle ([`Checkpoint::verify_signature`]).
//!
//! Every input here is public, and nothing here reads a clock.

use crate::encoding::base64::STANDARD as BASE64;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest as _, Sha256};

use crate::crypto::keys::PublicKey;

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

use crate::limits::{MAX_CHECKPOINT_BYTES, MAX_CHECKPOINT_SIGNATURES, MAX_PROOF_HASHES};

/// Why a log entry's proof does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlogError {
    /// The leaf index is not below the tree size.
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The audit path has the wrong number of hashes for the index and size.
    ProofLength {
        /// How many it has.
        hashes: usize,
    },
    /// The audit path leads to another root than the one the proof states: the entry, or a
    /// hash of the path, is not what the log holds.
    RootMismatch,
    /// The checkpoint is not a signed note of the checkpoint shape.
    MalformedCheckpoint(&'static str),
    /// The checkpoint names another tree size or root hash than the proof.
    CheckpointMismatch,
    /// No signature of the checkpoint is the log's (by key hint), or the log's does not verify.
    CheckpointSignature,
}

impl core::fmt::Display for TlogError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::IndexOutOfRange { index, size } => write!(
                f,
                "the inclusion proof's log index {index} is not below its tree size {size}"
            ),
            Self::ProofLength { hashes } => write!(
                f,
                "the inclusion proof has {hashes} hashes, not as many as its index and tree size need"
            ),
            Self::RootMismatch => f.write_str(
                "the inclusion proof does not lead from this entry to the root hash it states",
            ),
            Self::MalformedCheckpoint(what) => write!(f, "the checkpoint is malformed: {what}"),
            Self::CheckpointMismatch => f.write_str(
                "the checkpoint names another tree size or root hash than the inclusion proof",
            ),
            Self::CheckpointSignature => {
                f.write_str("the checkpoint carries no valid signature by the log's key")
            }
        }
    }
}

impl core::error::Error for TlogError {}

/// The RFC 6962 hash of a leaf: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// The RFC 6962 hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root hash that the audit path `proof` leads to from the leaf `leaf` at `index` in a tree
/// of `size` leaves (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`TlogError::IndexOutOfRange`], or [`TlogError::ProofLength`] for a path that is too short
/// or too long.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, TlogError> {
    if index >= size {
        return Err(TlogError::IndexOutOfRange { index, size });
    }
    let too_long = || TlogError::ProofLength {
        hashes: proof.len(),
    };
    if proof.len() > MAX_PROOF_HASHES {
        return Err(too_long());
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut root = *leaf;
    for sibling in proof {
        if sn == 0 {
            return Err(too_long());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            root = node_hash(sibling, &root);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            root = node_hash(&root, sibling);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(too_long());
    }
    Ok(root)
}

/// An inclusion proof as a bundle states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The entry's index in the tree the proof is for (Rekor v1: the shard's own index).
    pub log_index: u64,
    /// The size of that tree.
    pub tree_size: u64,
    /// Its root hash.
    pub root_hash: Hash,
    /// The audit path, leaf to root.
    pub hashes: Vec<Hash>,
}

impl InclusionProof {
    /// Checks that the path leads from `entry` (the exact bytes the log hashed: a bundle's
    /// canonicalized body) to [`InclusionProof::root_hash`].
    ///
    /// # Errors
    /// As [`root_from_inclusion_proof`], and [`TlogError::RootMismatch`].
    pub fn verify(&self, entry: &[u8]) -> Result<(), TlogError> {
        let root = root_from_inclusion_proof(
            self.log_index,
            self.tree_size,
            &leaf_hash(entry),
            &self.hashes,
        )?;
        if root == self.root_hash {
            Ok(())
        } else {
            Err(TlogError::RootMismatch)
        }
    }
}

/// One signature line of a signed note: `— <name> <base64(key hint || signature)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's name.
    pub name: String,
    /// The first four bytes of the signer's key id.
    pub key_hint: [u8; 4],
    /// The signature over the note's text.
    pub signature: Vec<u8>,
}

/// A checkpoint: a signed note whose text is `<origin>\n<tree size>\n<base64 root hash>\n`,
/// perhaps followed by extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// The tree size.
    pub tree_size: u64,
    /// The root hash.
    pub root_hash: Hash,
    /// The signed text: every line before the blank line, each with its newline.
    text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Checkpoint {
    /// Parses a signed note of the checkpoint shape.
    ///
    /// # Errors
    /// [`TlogError::MalformedCheckpoint`] naming what is wrong.
    pub fn parse(envelope: &str) -> Result<Self, TlogError> {
        let malformed = TlogError::MalformedCheckpoint;
        if envelope.len() > MAX_CHECKPOINT_BYTES {
            return Err(malformed("it is too large"));
        }
        let (text, signature_block) = envelope.split_once("\n\n").ok_or(malformed(
            "no blank line between the text and the signatures",
        ))?;
        let text = format!("{text}\n");
        let mut lines = text.lines();
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(malformed("no origin line"));
        }
        let tree_size = lines
            .next()
            .filter(|line| !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|line| line.parse::<u64>().ok())
            .ok_or(malformed("the second line is not a tree size"))?;
        let root_hash: Hash = lines
            .next()
            .and_then(|line| BASE64.decode(line).ok())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(malformed(
                "the third line is not a base64 SHA-256 root hash",
            ))?;
        if signature_block.is_empty() {
            return Err(malformed("it has no signature"));
        }
        if !signature_block.ends_with('\n') {
            return Err(malformed("the signatures do not end with a newline"));
        }
        let mut signatures = Vec::new();
        for line in signature_block.lines() {
            if signatures.len() == MAX_CHECKPOINT_SIGNATURES {
                return Err(malformed("it has too many signatures"));
            }
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or(malformed("a signature line does not start with an em dash"))?;
            let (name, encoded) = rest
                .split_once(' ')
                .ok_or(malformed("a signature line has no signature"))?;
            let bytes = BASE64
                .decode(encoded)
                .map_err(|_| malformed("a signature is not base64"))?;
            if name.is_empty() || bytes.len() < 5 {
                return Err(malformed("a signature line is too short"));
            }
            let (hint, signature) = bytes.split_at(4);
            signatures.push(NoteSignature {
                name: name.into(),
                key_hint: [hint[0], hint[1], hint[2], hint[3]],
                signature: signature.to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(malformed("it has no signature"));
        }
        Ok(Self {
            origin: origin.into(),
            tree_size,
            root_hash,
            text,
            signatures,
        })
    }

    /// The signed text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Checks that a signature whose key hint is the first four bytes of `log_id` verifies
    /// under `key` (the log's key, from the policy's trust material). Other signatures
    /// (witnesses' cosignatures) are passed over.
    ///
    /// # Errors
    /// [`TlogError::CheckpointSignature`] when none does.
    pub fn verify_signature(&self, log_id: &Hash, key: &PublicKey) -> Result<(), TlogError> {
        let verified = self.signatures.iter().any(|line| {
            line.key_hint[..] == log_id[..4]
                && key.verify(self.text.as_bytes(), &line.signature).is_ok()
        });
        if verified {
            Ok(())
        } else {
            Err(TlogError::CheckpointSignature)
        }
    }
}

/// The whole offline check of one log entry: the proof leads from `entry` to its root, the
/// checkpoint names that tree size and root, and the log (`log_id`, `key`) signed the
/// checkpoint.
///
/// # Errors
/// The first [`TlogError`] found.
pub fn verify_inclusion(
    entry: &[u8],
    proof: &InclusionProof,
    checkpoint: &str,
    log_id: &Hash,
    key: &PublicKey,
) -> Result<(), TlogError> {
    proof.verify(entry)?;
    let checkpoint = Checkpoint::parse(checkpoint)?;
    if checkpoint.tree_size != proof.tree_size || checkpoint.root_hash != proof.root_hash {
        return Err(TlogError::CheckpointMismatch);
    }
    checkpoint.verify_signature(log_id, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// The largest power of two below `n` (n > 1): where RFC 6962 splits a tree.
    fn split(n: usize) -> usize {
        1 << (usize::BITS - 1 - (n - 1).leading_zeros())
    }

    /// The RFC 6962 tree hash of `leaves`, by its definition (the split at the largest power of
    /// two below the size).
    fn tree_root(leaves: &[Hash]) -> Hash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = split(leaves.len());
        node_hash(&tree_root(&leaves[..k]), &tree_root(&leaves[k..]))
    }

    /// The audit path of leaf `m`, by its definition (RFC 6962 §2.1.1).
    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        if leaves.len() <= 1 {
            return Vec::new();
        }
        let k = split(leaves.len());
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(tree_root(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(tree_root(&leaves[..k]));
            p
        }
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves_against_the_definition() {
        for size in 1..=33u64 {
            let leaves = leaves(size);
            let root = tree_root(&leaves);
            for index in 0..size {
                let proof = path(index as usize, &leaves);
                assert_eq!(
                    root_from_inclusion_proof(index, size, &leaves[index as usize], &proof),
                    Ok(root),
                    "size {size}, index {index}"
                );
                // Any other leaf, a flipped hash, or a path one too short or long fails.
                let other = leaf_hash(b"other");
                assert_ne!(
                    root_from_inclusion_proof(index, size, &other, &proof),
                    Ok(root)
                );
                if !proof.is_empty() {
                    let mut flipped = proof.clone();
                    flipped[0][0] ^= 1;
                    assert_ne!(
                        root_from_inclusion_proof(index, size, &leaves[index as usize], &flipped),
                        Ok(root)
                    );
                    assert_ne!(
                        root_from_inclusion_proof(
                            index,
                            size,
                            &leaves[index as usize],
                            &proof[1..]
                        ),
                        Ok(root),
                        "size {size}, index {index}: a shorter path"
                    );
                }
                let mut longer = proof.clone();
                longer.push(root);
                assert!(
                    root_from_inclusion_proof(index, size, &leaves[index as usize], &longer)
                        .is_err()
                );
            }
            assert_eq!(
                root_from_inclusion_proof(size, size, &leaves[0], &[]),
                Err(TlogError::IndexOutOfRange { index: size, size })
            );
        }
    }

    #[test]
    fn checkpoints_parse_and_refuse_what_is_not_one() {
        let root = BASE64.encode([7u8; 32]);
        let sig = BASE64.encode([1, 2, 3, 4, 9, 9]);
        let good = format!("origin.example - 1\n42\n{root}\n\n\u{2014} origin.example {sig}\n");
        let checkpoint = Checkpoint::parse(&good).unwrap_or_else(|err| unreachable!("{err}"));
        assert_eq!(checkpoint.origin, "origin.example - 1");
        assert_eq!(checkpoint.tree_size, 42);
        assert_eq!(checkpoint.root_hash, [7u8; 32]);
        assert_eq!(
            checkpoint.text(),
            format!("origin.example - 1\n42\n{root}\n")
        );
        assert_eq!(checkpoint.signatures[0].key_hint, [1, 2, 3, 4]);
        for bad in [
            format!("42\n{root}\n\n\u{2014} origin.example {sig}\n"),
            format!("o\n-1\n{root}\n\n\u{2014} o {sig}\n"),
            format!("o\n42\nnot base64\n\n\u{2014} o {sig}\n"),
            format!("o\n42\n{root}\n\n"),
            format!("o\n42\n{root}\n\n- o {sig}\n"),
            format!("o\n42\n{root}\n\u{2014} o {sig}\n"),
        ] {
            assert!(
                matches!(
                    Checkpoint::parse(&bad),
                    Err(TlogError::MalformedCheckpoint(_))
                ),
                "{bad:?}"
            );
        }
    }
}
