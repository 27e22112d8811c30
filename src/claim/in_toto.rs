//! in-toto statements (v0.1 and v1): what a DSSE envelope in a Sigstore bundle signs.
//!
//! Only ever parsed after the envelope's signature has verified over the exact payload bytes.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::Value;

use crate::crypto::digest::Sha256Digest;
use crate::encoding::json::{self, Fields};
use crate::limits::{MAX_SUBJECT_DIGESTS, MAX_SUBJECTS};

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The predicate type of a cosign v3 image signature.
pub const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The statement types this verifier reads.
pub const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];

struct StatementDocument {
    statement_type: String,
    subject: Vec<SubjectDocument>,
    predicate_type: String,
    predicate: Value,
}

struct SubjectDocument {
    name: Option<String>,
    digest: BTreeMap<String, String>,
    annotations: BTreeMap<String, Value>,
}

impl StatementDocument {
    fn read(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            statement_type: f.string("_type")?,
            subject: f.req("subject", |_| Ok(())).and_then(|()| {
                f.list("subject", |subject| {
                    let s = Fields::of(subject)?;
                    Ok(SubjectDocument {
                        name: s.opt_string("name")?,
                        digest: s.opt("digest", json::string_map)?.unwrap_or_default(),
                        annotations: s
                            .opt("annotations", |v| match v {
                                Value::Object(map) => {
                                    Ok(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                                }
                                _ => Err("expected an object".into()),
                            })?
                            .unwrap_or_default(),
                    })
                })
            })?,
            predicate_type: f.string("predicateType")?,
            predicate: f.value("predicate").cloned().unwrap_or(Value::Null),
        })
    }
}

/// One subject of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// Its name, if any (cosign writes the repository for attestations, nothing for
    /// signatures).
    pub name: Option<String>,
    /// Its digests, by algorithm name (`sha256` → lowercase hex).
    pub digest: BTreeMap<String, String>,
    /// Its annotations (cosign v3 puts `cosign sign -a` pairs here).
    pub annotations: BTreeMap<String, Value>,
}

sentence_error! {
    /// Why bytes are not an in-toto statement this verifier reads.
    StatementError
}

/// A parsed statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The subjects.
    pub subjects: Vec<Subject>,
    /// The predicate type.
    pub predicate_type: String,
    /// The predicate (`null` when the statement has none).
    pub predicate: Value,
}

impl Statement {
    /// Parses a statement strictly (duplicate keys refused, as everywhere).
    ///
    /// # Errors
    /// A [`StatementError`] naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, StatementError> {
        Self::read(bytes).map_err(StatementError)
    }

    fn read(bytes: &[u8]) -> Result<Self, String> {
        let document = StatementDocument::read(&json::parse(bytes)?)?;
        if !STATEMENT_TYPES.contains(&document.statement_type.as_str()) {
            return Err(format!(
                "_type is {:?}, not an in-toto statement type this verifier reads",
                document.statement_type
            ));
        }
        if document.subject.is_empty() || document.subject.len() > MAX_SUBJECTS {
            return Err(format!(
                "{} subjects; a statement has 1 to {MAX_SUBJECTS}",
                document.subject.len()
            ));
        }
        if document.predicate_type.is_empty() {
            return Err("predicateType is empty".into());
        }
        let mut subjects = Vec::with_capacity(document.subject.len());
        for (i, subject) in document.subject.into_iter().enumerate() {
            if subject.digest.len() > MAX_SUBJECT_DIGESTS {
                return Err(format!(
                    "subject[{i}] has {} digests; the most accepted is {MAX_SUBJECT_DIGESTS}",
                    subject.digest.len()
                ));
            }
            subjects.push(Subject {
                name: subject.name,
                digest: subject.digest,
                annotations: subject.annotations,
            });
        }
        Ok(Self {
            subjects,
            predicate_type: document.predicate_type,
            predicate: document.predicate,
        })
    }

    /// The first subject whose `sha256` is `digest` (hex compared exactly, lowercase).
    pub fn subject_for(&self, digest: &Sha256Digest) -> Option<&Subject> {
        let hex = digest.hex();
        self.subjects
            .iter()
            .find(|s| s.digest.get("sha256").is_some_and(|d| *d == hex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_parse_and_match_subjects() {
        let d = Sha256Digest::of(b"image");
        let text = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"x","digest":{{"sha256":"{}"}}}},{{"digest":{{"sha256":"{}"}},"annotations":{{"env":"prod"}}}}],"predicateType":"{COSIGN_SIGN_PREDICATE_TYPE}","predicate":{{}}}}"#,
            Sha256Digest::of(b"other").hex(),
            d.hex()
        );
        let statement = Statement::parse(text.as_bytes()).unwrap_or_else(|e| unreachable!("{e}"));
        let subject = statement.subject_for(&d).unwrap_or_else(|| unreachable!());
        assert_eq!(subject.annotations["env"], "prod");
        assert!(
            statement
                .subject_for(&Sha256Digest::of(b"nothing"))
                .is_none()
        );
        for bad in [
            r#"{"_type":"https://in-toto.io/Statement/v2","subject":[{"digest":{}}],"predicateType":"p"}"#,
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#,
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{}}],"predicateType":""}"#,
            r#"{"_type":"https://in-toto.io/Statement/v1","_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{}}],"predicateType":"p"}"#,
        ] {
            assert!(Statement::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
