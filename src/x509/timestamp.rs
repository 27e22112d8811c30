//! RFC 3161 signed timestamps, the time a timestamp authority (TSA) vouches for: how a keyless
//! bundle proves when it was signed when its log entry carries no signed time (Rekor v2), or
//! beside one.
//!
//! A bundle's `timestampVerificationData.rfc3161Timestamps[].signedTimestamp` is a DER
//! `TimeStampResp` (or its bare `TimeStampToken`): CMS `SignedData` around a `TSTInfo`. It
//! counts only when, in order:
//! 1. the response is granted and is exactly one well-formed `SignedData` with one signer,
//!    whose encapsulated content is a `TSTInfo`;
//! 2. the signed attributes name that content type and carry the digest of the exact `TSTInfo`
//!    bytes;
//! 3. the `TSTInfo`'s message imprint is the hash of the bundle's signature bytes;
//! 4. a timestamp authority of the policy's trusted root, whose `validFor` contains the stamped
//!    time, has a certificate path that holds as a time-stamping path
//!    ([`crate::x509::path`]: its leaf's sole, critical extended key usage is `timeStamping`,
//!    no critical extension ocisig does not process, each certificate issued by the next) and
//!    whose every certificate is valid at that time;
//! 5. that leaf's key verifies the signature over the signed attributes.
//!
//! Certificates the response embeds play no part: the authority's chain comes from the trusted
//! root only, so a response signed by anyone else fails at step 5.

use alloc::vec::Vec;
use sha2::Digest as _;

use crate::crypto::options::{HashAlgorithm, KeyOptions};
use crate::encoding::der::{
    self, Element, GENERALIZED_TIME, INTEGER, OCTET_STRING, OID, SEQUENCE, SET,
};
use crate::limits::MAX_TIMESTAMP_BYTES;
use crate::x509::authority::Authority;
use crate::x509::path::PathError;

/// Why a signed timestamp does not count.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampError {
    /// Not a granted RFC 3161 response of the expected shape.
    Malformed(&'static str),
    /// The timestamp is over something other than the bundle's signature.
    Imprint,
    /// No trusted authority's window contains the stamped time (Unix seconds).
    OutsideValidity(i64),
    /// No trusted authority's chain holds at the stamped time, or none signed the stamp.
    Untrusted,
    /// The path of the authority whose window contains the stamped time does not hold: a
    /// critical extension ocisig does not process, a CA's constraints, the time-stamping
    /// usage, or a certificate not valid at that time.
    Path(PathError),
}

impl core::fmt::Display for TimestampError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "the signed timestamp is malformed: {what}"),
            Self::Imprint => f.write_str("the signed timestamp is not over the bundle's signature"),
            Self::OutsideValidity(time) => write!(
                f,
                "the timestamp's time ({}) is outside every trusted timestamp authority's \
                 validity",
                crate::encoding::time::format_rfc3339(*time)
            ),
            Self::Untrusted => f.write_str(
                "the signed timestamp is not signed by a timestamp authority of the trusted root \
                 whose certificates are valid at its time",
            ),
            Self::Path(error) => write!(
                f,
                "the timestamp authority's certificate path does not hold: {error}"
            ),
        }
    }
}

impl core::error::Error for TimestampError {}

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

const CONTEXT_0: u8 = 0xa0;
const CONTEXT_1: u8 = 0xa1;

type Result<T> = core::result::Result<T, TimestampError>;

/// A DER cursor whose errors are this module's.
struct Elements<'a>(der::Elements<'a>);

impl<'a> Elements<'a> {
    fn of(content: &'a [u8]) -> Self {
        Self(der::Elements::of(content))
    }

    fn peek(&self) -> Option<u8> {
        self.0.peek()
    }

    fn next(&mut self, what: &'static str) -> Result<Element<'a>> {
        self.0.next(what).map_err(TimestampError::Malformed)
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<Element<'a>> {
        self.0.expect(tag, what).map_err(TimestampError::Malformed)
    }

    fn optional(&mut self, tag: u8, what: &'static str) -> Result<Option<Element<'a>>> {
        self.0
            .optional(tag, what)
            .map_err(TimestampError::Malformed)
    }

    fn end(&self, what: &'static str) -> Result<()> {
        self.0.end(what).map_err(TimestampError::Malformed)
    }
}

fn single<'a>(bytes: &'a [u8], tag: u8, what: &'static str) -> Result<Element<'a>> {
    der::single(bytes, tag, what).map_err(TimestampError::Malformed)
}

fn hash_of(oid: &[u8]) -> Result<HashAlgorithm> {
    match oid {
        OID_SHA256 => Ok(HashAlgorithm::Sha256),
        OID_SHA384 => Ok(HashAlgorithm::Sha384),
        OID_SHA512 => Ok(HashAlgorithm::Sha512),
        _ => Err(TimestampError::Malformed(
            "a hash algorithm is not SHA-256, SHA-384 or SHA-512",
        )),
    }
}

fn digest(hash: HashAlgorithm, bytes: &[u8]) -> Vec<u8> {
    match hash {
        HashAlgorithm::Sha384 => sha2::Sha384::digest(bytes).to_vec(),
        HashAlgorithm::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
        _ => sha2::Sha256::digest(bytes).to_vec(),
    }
}

/// The hash algorithm an `AlgorithmIdentifier` names (its parameters, absent or NULL, are not
/// read).
fn algorithm(identifier: &Element<'_>) -> Result<HashAlgorithm> {
    let mut fields = Elements::of(identifier.content);
    hash_of(
        fields
            .expect(OID, "an algorithm identifier has no OID")?
            .content,
    )
}

/// What a parsed response says, before any authority is consulted.
struct Stamp<'a> {
    /// The digest algorithm of the signer, and of the signature over the attributes.
    hash: HashAlgorithm,
    /// The signed attributes, re-tagged as the SET they are signed as.
    signed_attributes: Vec<u8>,
    signature: &'a [u8],
    time: i64,
}

fn parse<'a>(response: &'a [u8], signature: &[u8]) -> Result<Stamp<'a>> {
    if response.len() > MAX_TIMESTAMP_BYTES {
        return Err(TimestampError::Malformed("it is too large"));
    }
    let outer = single(response, SEQUENCE, "not a DER TimeStampResp")?;
    let mut fields = Elements::of(outer.content);
    // A TimeStampResp starts with its status; a bare TimeStampToken with its content type.
    let token = if fields.peek() == Some(SEQUENCE) {
        let status = fields.expect(SEQUENCE, "no status")?;
        let code = Elements::of(status.content).expect(INTEGER, "no status code")?;
        if !matches!(code.content, [0] | [1]) {
            return Err(TimestampError::Malformed("the response was not granted"));
        }
        let token = fields.expect(SEQUENCE, "the response holds no timestamp token")?;
        fields.end("data after the timestamp token")?;
        token.content
    } else {
        outer.content
    };
    let mut content_info = Elements::of(token);
    if content_info.expect(OID, "no content type")?.content != OID_SIGNED_DATA {
        return Err(TimestampError::Malformed("the token is not CMS SignedData"));
    }
    let explicit = content_info.expect(CONTEXT_0, "no SignedData")?;
    content_info.end("data after the SignedData")?;
    let signed_data = single(
        explicit.content,
        SEQUENCE,
        "the SignedData is not one SEQUENCE",
    )?;
    let mut signed_data = Elements::of(signed_data.content);
    signed_data.expect(INTEGER, "no SignedData version")?;
    signed_data.expect(SET, "no digest algorithms")?;
    let encapsulated = signed_data.expect(SEQUENCE, "no encapsulated content")?;
    // Embedded certificates: never trusted, never read.
    signed_data.optional(CONTEXT_0, "certificates")?;
    signed_data.optional(CONTEXT_1, "revocation lists")?;
    let signer_infos = signed_data.expect(SET, "no signer infos")?;
    signed_data.end("data after the signer infos")?;

    let mut encapsulated = Elements::of(encapsulated.content);
    if encapsulated
        .expect(OID, "no encapsulated content type")?
        .content
        != OID_TST_INFO
    {
        return Err(TimestampError::Malformed(
            "the signed content is not a TSTInfo",
        ));
    }
    let wrapped = encapsulated.expect(CONTEXT_0, "no TSTInfo")?;
    encapsulated.end("data after the TSTInfo")?;
    let tst_info = single(
        wrapped.content,
        OCTET_STRING,
        "the TSTInfo is not an OCTET STRING",
    )?;

    let signer = single(signer_infos.content, SEQUENCE, "not exactly one signer")?;
    let mut signer = Elements::of(signer.content);
    signer.expect(INTEGER, "no signer version")?;
    signer.next("no signer identifier")?;
    let hash = algorithm(&signer.expect(SEQUENCE, "no signer digest algorithm")?)?;
    let attributes = signer.expect(CONTEXT_0, "no signed attributes")?;
    signer.expect(SEQUENCE, "no signature algorithm")?;
    let signature_bytes = signer.expect(OCTET_STRING, "no signature")?.content;
    signer.optional(CONTEXT_1, "unsigned attributes")?;
    signer.end("data after the signer's signature")?;

    // The signed attributes: the content type and the digest of the TSTInfo, each once.
    let mut content_type = None;
    let mut message_digest = None;
    let mut list = Elements::of(attributes.content);
    while list.peek().is_some() {
        let attribute = list.expect(SEQUENCE, "an attribute is not a SEQUENCE")?;
        let mut attribute = Elements::of(attribute.content);
        let oid = attribute.expect(OID, "an attribute has no type")?.content;
        let values = attribute.expect(SET, "an attribute has no values")?;
        attribute.end("data after an attribute's values")?;
        let slot = match oid {
            OID_CONTENT_TYPE => &mut content_type,
            OID_MESSAGE_DIGEST => &mut message_digest,
            _ => continue,
        };
        if slot.replace(values.content).is_some() {
            return Err(TimestampError::Malformed("a signed attribute is repeated"));
        }
    }
    let content_type =
        content_type.ok_or(TimestampError::Malformed("no content type attribute"))?;
    if single(
        content_type,
        OID,
        "the content type attribute is not one OID",
    )?
    .content
        != OID_TST_INFO
    {
        return Err(TimestampError::Malformed(
            "the content type attribute is not TSTInfo",
        ));
    }
    let message_digest =
        message_digest.ok_or(TimestampError::Malformed("no message digest attribute"))?;
    let message_digest = single(
        message_digest,
        OCTET_STRING,
        "the message digest attribute is not one OCTET STRING",
    )?;
    if message_digest.content != digest(hash, tst_info.content).as_slice() {
        return Err(TimestampError::Malformed(
            "the signed attributes are not over this TSTInfo",
        ));
    }

    // The TSTInfo: the imprint of the bundle's signature, and the time.
    let tst = single(
        tst_info.content,
        SEQUENCE,
        "the TSTInfo is not one SEQUENCE",
    )?;
    let mut tst = Elements::of(tst.content);
    tst.expect(INTEGER, "no TSTInfo version")?;
    tst.expect(OID, "no TSA policy")?;
    let imprint = tst.expect(SEQUENCE, "no message imprint")?;
    tst.expect(INTEGER, "no serial number")?;
    let time = tst.expect(GENERALIZED_TIME, "no time")?;
    let mut imprint = Elements::of(imprint.content);
    let imprint_hash = algorithm(&imprint.expect(SEQUENCE, "no imprint algorithm")?)?;
    let imprinted = imprint.expect(OCTET_STRING, "no imprinted digest")?.content;
    imprint.end("data after the imprint")?;
    if imprinted != digest(imprint_hash, signature).as_slice() {
        return Err(TimestampError::Imprint);
    }
    let time = der::time(&time).ok_or(TimestampError::Malformed(
        "the time is not a GeneralizedTime in UTC",
    ))?;

    let mut signed_attributes = attributes.whole.to_vec();
    signed_attributes[0] = SET;
    Ok(Stamp {
        hash,
        signed_attributes,
        signature: signature_bytes,
        time,
    })
}

/// Checks one signed timestamp over `signature` (the bundle's signature bytes) against the
/// trusted timestamp authorities, and returns the time it proves (Unix seconds).
///
/// # Errors
/// The [`TimestampError`] that stopped it.
pub fn verify_timestamp(
    response: &[u8],
    signature: &[u8],
    authorities: &[Authority],
) -> core::result::Result<i64, TimestampError> {
    let stamp = parse(response, signature)?;
    let time = stamp.time;
    let mut error = TimestampError::OutsideValidity(time);
    for authority in authorities {
        if !authority.valid_at(time) {
            continue;
        }
        let options = KeyOptions {
            hash: stamp.hash,
            scheme: None,
        };
        let signed = authority
            .leaf()
            .and_then(|leaf| leaf.public_key(options).ok())
            .is_some_and(|key| {
                key.verify(&stamp.signed_attributes, stamp.signature)
                    .is_ok()
            });
        if !signed {
            if !matches!(error, TimestampError::Path(_)) {
                error = TimestampError::Untrusted;
            }
            continue;
        }
        // This authority signed: its path (checked when the trust material was read) and the
        // validity of its certificates at the stamped time decide.
        match authority.signs_at(time) {
            Ok(()) => return Ok(time),
            Err(path) => error = TimestampError::Path(path),
        }
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_response_is_malformed() {
        for bytes in [&b""[..], b"\x30\x00", b"\x30\x03\x02\x01\x00", b"\x04\x00"] {
            assert!(matches!(
                parse(bytes, b"sig"),
                Err(TimestampError::Malformed(_))
            ));
        }
    }
}
