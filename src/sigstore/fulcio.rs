//! Fulcio's certificates: the OIDC issuer and GitHub workflow extensions a keyless identity is
//! matched against, and the embedded SCT (RFC 6962) that shows the certificate was published in
//! a certificate-transparency log of the trusted root.
//!
//! None of these extensions is processed on a certificate path, so none may be critical there
//! ([`crate::x509::path`]): Fulcio marks none critical.

use alloc::string::String;
use alloc::vec::Vec;

use crate::encoding::der::{OCTET_STRING, UTF8_STRING, der_header, single, tlv};
use crate::sigstore::rekor::LogKey;
use crate::x509::certificate::{Certificate, CertificateError};

/// Fulcio's OIDC issuer extension, v1 `1.3.6.1.4.1.57264.1.1` (deprecated; the raw issuer
/// bytes), as the content of its DER OID.
pub const OID_FULCIO_ISSUER_V1: &[u8] = &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 1];
/// Fulcio's OIDC issuer extension, v2 `1.3.6.1.4.1.57264.1.8` (a DER UTF8String).
pub const OID_FULCIO_ISSUER_V2: &[u8] = &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 8];
/// Fulcio's deprecated GitHub workflow extensions `1.3.6.1.4.1.57264.1.2` to `.6` (raw bytes):
/// the workflow's trigger, commit SHA, name, repository and ref, in that order. cosign's
/// `--certificate-github-workflow-*` flags match these.
const OID_GITHUB_WORKFLOW: [&[u8]; 5] = [
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 2],
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 3],
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 4],
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 5],
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 6],
];
/// RFC 6962's embedded SCT list extension, `1.3.6.1.4.1.11129.2.4.2`.
pub const OID_SCT_LIST: &[u8] = &[0x2b, 6, 1, 4, 1, 0xd6, 0x79, 2, 4, 2];

/// A Fulcio certificate: the X.509 certificate and what Fulcio's extensions say.
#[derive(Clone, Debug)]
pub struct FulcioCertificate {
    certificate: Certificate,
    oidc_issuer: Option<String>,
    github_workflow: [Option<String>; 5],
}

impl FulcioCertificate {
    /// Parses a DER certificate and reads Fulcio's extensions.
    ///
    /// # Errors
    /// As [`Certificate::from_der`]; [`CertificateError::Extension`] for a Fulcio extension
    /// that cannot be read.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let certificate = Certificate::from_der(der)?;
        let value = |oid: &[u8]| certificate.extension(oid).map(|e| e.value.as_slice());
        let v2 = value(OID_FULCIO_ISSUER_V2)
            .map(|value| {
                single(value, UTF8_STRING, "")
                    .ok()
                    .and_then(|s| core::str::from_utf8(s.content).ok())
                    .map(String::from)
                    .ok_or(CertificateError::Extension(
                        "Fulcio issuer (v2) is malformed",
                    ))
            })
            .transpose()?;
        let v1 = value(OID_FULCIO_ISSUER_V1)
            .map(|value| {
                core::str::from_utf8(value)
                    .map(String::from)
                    .map_err(|_| CertificateError::Extension("Fulcio issuer (v1) is malformed"))
            })
            .transpose()?;
        let mut github_workflow: [Option<String>; 5] = Default::default();
        for (slot, oid) in github_workflow.iter_mut().zip(OID_GITHUB_WORKFLOW) {
            if let Some(value) = value(oid) {
                let text = core::str::from_utf8(value).map_err(|_| {
                    CertificateError::Extension("a GitHub workflow extension is not UTF-8")
                })?;
                *slot = Some(text.into());
            }
        }
        Ok(Self {
            // The v2 extension is authoritative; the v1 one stands in only without it.
            oidc_issuer: v2.or(v1),
            github_workflow,
            certificate,
        })
    }

    /// The X.509 certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The OIDC issuer Fulcio recorded (v2 extension, else v1).
    pub fn oidc_issuer(&self) -> Option<&str> {
        self.oidc_issuer.as_deref()
    }

    /// Fulcio's GitHub workflow extensions (v1 OIDs `.2` to `.6`): trigger, SHA, name,
    /// repository and ref, each if present.
    pub fn github_workflow(&self) -> &[Option<String>; 5] {
        &self.github_workflow
    }
}

/// No embedded SCT verifies under a CT log of the trusted root valid at its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoValidSct;

impl core::fmt::Display for NoValidSct {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(
            "no embedded SCT of the certificate verifies under a CT log of the trusted root",
        )
    }
}

impl core::error::Error for NoValidSct {}

/// The TBS a CT log signed for a precertificate (RFC 6962 §3.2): the leaf's TBS without its
/// embedded SCT list extension.
fn precertificate_tbs(tbs: &[u8]) -> Option<Vec<u8>> {
    let sct_oid = OID_SCT_LIST;
    let (tag, end, content) = tlv(tbs)?;
    if tag != 0x30 || end != tbs.len() {
        return None;
    }
    let mut children = Vec::new();
    let mut rest = &tbs[content];
    while !rest.is_empty() {
        let (tag, end, inner) = tlv(rest)?;
        if tag == 0xa3 {
            // [3] EXPLICIT Extensions: a SEQUENCE of Extension SEQUENCEs, each starting with its
            // OID.
            let (seq_tag, seq_end, seq_content) = tlv(&rest[inner.clone()])?;
            let sequence = &rest[inner.clone()];
            if seq_tag != 0x30 || seq_end != sequence.len() {
                return None;
            }
            let mut kept = Vec::new();
            let mut extensions = &sequence[seq_content];
            while !extensions.is_empty() {
                let (_, ext_end, ext_content) = tlv(extensions)?;
                let (oid_tag, _, oid) = tlv(&extensions[ext_content.clone()])?;
                let oid_bytes =
                    &extensions[ext_content.start + oid.start..ext_content.start + oid.end];
                if oid_tag != 0x06 || oid_bytes != sct_oid {
                    kept.extend_from_slice(&extensions[..ext_end]);
                }
                extensions = &extensions[ext_end..];
            }
            let mut sequence = der_header(0x30, kept.len());
            sequence.extend_from_slice(&kept);
            children.extend_from_slice(&der_header(0xa3, sequence.len()));
            children.extend_from_slice(&sequence);
        } else {
            children.extend_from_slice(&rest[..end]);
        }
        rest = &rest[end..];
    }
    let mut out = der_header(0x30, children.len());
    out.extend_from_slice(&children);
    Some(out)
}

/// Checks that one of the leaf's embedded SCTs (RFC 6962 v1) verifies under a CT log of the
/// trusted root (by log id), whose key was valid at the SCT's time, over the precertificate
/// entry: the leaf's TBS without the SCT extension, and the hash of `issuer`'s key.
///
/// # Errors
/// [`NoValidSct`] when none does (or the leaf has none).
pub fn verify_embedded_sct(
    leaf: &Certificate,
    issuer: &Certificate,
    ct_logs: &[LogKey],
) -> Result<(), NoValidSct> {
    use sha2::Digest as _;
    let list = leaf
        .extension(OID_SCT_LIST)
        .and_then(|extension| single(&extension.value, OCTET_STRING, "").ok())
        .map(|octets| octets.content.to_vec())
        .ok_or(NoValidSct)?;
    let tbs = precertificate_tbs(leaf.tbs_der()).ok_or(NoValidSct)?;
    let tbs_length = u32::try_from(tbs.len()).map_err(|_| NoValidSct)?;
    if tbs_length >= 1 << 24 {
        return Err(NoValidSct);
    }
    let issuer_key_hash: [u8; 32] = sha2::Sha256::digest(issuer.public_key_der()).into();
    let u16_at = |b: &[u8], at: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *b.get(at)?,
            *b.get(at + 1)?,
        ])))
    };
    let total = u16_at(&list, 0).ok_or(NoValidSct)?;
    let mut rest = list.get(2..2 + total).ok_or(NoValidSct)?;
    while rest.len() >= 2 {
        let Some(length) = u16_at(rest, 0) else { break };
        let Some(sct) = rest.get(2..2 + length) else {
            break;
        };
        rest = &rest[2 + length..];
        // version(1) log_id(32) timestamp(8) extensions(2+n) hash(1) signature_algorithm(1)
        // signature(2+n)
        if sct.len() < 43 || sct[0] != 0 {
            continue;
        }
        let log_id = &sct[1..33];
        let timestamp = &sct[33..41];
        let Some(ext_length) = u16_at(sct, 41) else {
            continue;
        };
        if sct.len() < 43 + ext_length + 2 {
            continue;
        }
        let at = 43 + ext_length + 2;
        let Some(sig_length) = u16_at(sct, at) else {
            continue;
        };
        let Some(signature) = sct.get(at + 2..at + 2 + sig_length) else {
            continue;
        };
        let Some(log) = ct_logs
            .iter()
            .find(|l| l.log_id().as_bytes()[..] == log_id[..])
        else {
            continue;
        };
        let millis = u64::from_be_bytes(timestamp.try_into().unwrap_or_default());
        let seconds = i64::try_from(millis / 1000).unwrap_or(i64::MAX);
        if !log.valid_at(seconds) {
            continue;
        }
        let mut signed = Vec::with_capacity(tbs.len() + 64);
        signed.extend_from_slice(&[0, 0]); // v1, certificate_timestamp
        signed.extend_from_slice(timestamp);
        signed.extend_from_slice(&[0, 1]); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&tbs_length.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&sct[41..43 + ext_length]);
        if log.key().verify(&signed, signature).is_ok() {
            return Ok(());
        }
    }
    Err(NoValidSct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_precertificate_tbs_drops_only_the_sct_extension() {
        let extension = |oid: &[u8], value: &[u8]| {
            let mut oid_tlv = der_header(0x06, oid.len());
            oid_tlv.extend_from_slice(oid);
            let mut octets = der_header(0x04, value.len());
            octets.extend_from_slice(value);
            let mut content = oid_tlv;
            content.extend_from_slice(&octets);
            let mut out = der_header(0x30, content.len());
            out.extend_from_slice(&content);
            out
        };
        let tbs = |extensions: &[Vec<u8>]| {
            let list: Vec<u8> = extensions.concat();
            let mut sequence = der_header(0x30, list.len());
            sequence.extend_from_slice(&list);
            let mut wrapped = der_header(0xa3, sequence.len());
            wrapped.extend_from_slice(&sequence);
            let mut content = alloc::vec![0x02, 0x01, 0x05];
            content.extend_from_slice(&wrapped);
            let mut out = der_header(0x30, content.len());
            out.extend_from_slice(&content);
            out
        };
        let key_usage = extension(&[0x55, 0x1d, 0x0f], &[3, 2, 7, 128]);
        let sct = extension(OID_SCT_LIST, &[4, 2, 0, 0]);
        assert_eq!(
            precertificate_tbs(&tbs(&[key_usage.clone(), sct.clone()])),
            Some(tbs(core::slice::from_ref(&key_usage)))
        );
        assert_eq!(
            precertificate_tbs(&tbs(core::slice::from_ref(&key_usage))),
            Some(tbs(&[key_usage]))
        );
        let mut trailing = tbs(&[sct]);
        trailing.push(0);
        assert_eq!(precertificate_tbs(&trailing), None);
    }
}
