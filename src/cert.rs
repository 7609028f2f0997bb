//! The minimal view of a DER certificate that the matcher needs.
//!
//! [`CertView::parse`] walks the outer structure of an X.509 certificate once and records
//! where the issuer, subject, SubjectPublicKeyInfo and extensions are. It does not decode
//! names, dates or keys: the DANE-EE path needs nothing but the SPKI bytes. Names are
//! decoded from the recorded ranges only when a rule needs them ([`CertView::presented_names`]),
//! validity periods only to explain a failure.

use crate::der::{self, DerError, Reader};

/// Object identifier `2.5.29.17` (subjectAltName), DER contents.
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// Object identifier `2.5.29.30` (nameConstraints), DER contents.
const OID_NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
/// Object identifier `2.5.29.19` (basicConstraints), DER contents.
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// Object identifier `2.5.29.15` (keyUsage), DER contents.
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
/// Object identifier `2.16.840.1.113730.1.1` (Netscape certificate type), DER contents.
const OID_NETSCAPE_CERT_TYPE: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x01];
/// keyUsage `keyCertSign` (bit 5), in the first octet of the bits.
const KU_KEY_CERT_SIGN: u8 = 0x04;
/// keyUsage digitalSignature (bit 0), keyEncipherment (bit 2), keyAgreement (bit 4): the
/// bits of which a TLS server certificate needs one (OpenSSL's `KU_TLS`).
const KU_TLS: u8 = 0x80 | 0x20 | 0x08;
/// Netscape certificate type: SSL server (bit 1).
const NS_SSL_SERVER: u8 = 0x40;
/// Netscape certificate type: SSL CA, S/MIME CA, object-signing CA (bits 5–7).
const NS_ANY_CA: u8 = 0x07;
/// Object identifier `2.5.4.3` (commonName), DER contents.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// GeneralName `dNSName [2] IMPLICIT IA5String`.
const GENERAL_NAME_DNS: u8 = 0x82;

/// The host names a certificate presents, and where they come from.
#[derive(Debug)]
pub(crate) enum PresentedNames<'a> {
    /// The dNSName subjectAltNames (there is at least one).
    Sans(Vec<&'a [u8]>),
    /// The subject CNs: the certificate has no dNSName subjectAltName.
    CommonNames(Vec<&'a [u8]>),
}

/// Borrowed ranges of one certificate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CertView<'a> {
    /// The whole certificate (selector 0).
    pub(crate) der: &'a [u8],
    /// The SubjectPublicKeyInfo with its header (selector 1).
    pub(crate) spki: &'a [u8],
    /// The issuer Name, contents only (no outer SEQUENCE header).
    pub(crate) issuer: &'a [u8],
    /// The subject Name, contents only.
    pub(crate) subject: &'a [u8],
    /// The contents of the `[0]` version wrapper, if present (absent: v1).
    version: Option<&'a [u8]>,
    /// The contents of the `[3]` extensions wrapper, if present.
    extensions: Option<&'a [u8]>,
}

/// The first octet of a BIT STRING's bits (the octet after the unused-bits count): the
/// first eight bits of keyUsage or of a Netscape certificate type.
fn first_octet(value: &[u8]) -> Result<u8, DerError> {
    match der::single(value, der::BIT_STRING)?.contents {
        [] => Err("empty BIT STRING"),
        [_, first, ..] => Ok(*first),
        [_] => Ok(0),
    }
}

impl<'a> CertView<'a> {
    /// Walks `der` as `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
    /// signatureValue }`, with nothing after it.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, DerError> {
        let cert = der::single(der, der::SEQUENCE)?;
        let mut outer = Reader::new(cert.contents);
        let tbs = outer.read(der::SEQUENCE)?;
        outer.read(der::SEQUENCE)?; // signatureAlgorithm
        outer.read(der::BIT_STRING)?; // signatureValue
        outer.finish()?;

        let mut tbs = Reader::new(tbs.contents);
        let version = tbs.read_optional(der::CONTEXT_0)?.map(|v| v.contents);
        tbs.read(der::INTEGER)?; // serialNumber
        tbs.read(der::SEQUENCE)?; // signature
        let issuer = tbs.read(der::SEQUENCE)?;
        tbs.read(der::SEQUENCE)?; // validity
        let subject = tbs.read(der::SEQUENCE)?;
        let spki = tbs.read(der::SEQUENCE)?;
        der::check_spki_contents(spki.contents)?;
        // issuerUniqueID [1], subjectUniqueID [2], extensions [3]: each read as one TLV,
        // each optional, at most once and in this order (RFC 5280 §4.1).
        let mut extensions = None;
        let mut last = 0u8;
        while !tbs.is_empty() {
            let tlv = tbs.read_any()?;
            let field = match tlv.tag {
                0x81 | 0xa1 => 1,
                0x82 | 0xa2 => 2,
                der::CONTEXT_3 => 3,
                _ => return Err("unexpected field in TBSCertificate"),
            };
            if field <= last {
                return Err("TBSCertificate field repeated or out of order");
            }
            last = field;
            if field == 3 {
                extensions = Some(tlv.contents);
            }
        }
        Ok(Self {
            der,
            spki: spki.encoded,
            issuer: issuer.contents,
            subject: subject.contents,
            version,
            extensions,
        })
    }

    /// The names a reference identifier is compared with (RFC 6125 §6.4.4, RFC 7672 §3.2.3):
    /// the dNSName subjectAltNames, or, only when there is none, the subject CNs. As in
    /// OpenSSL 3.0, a subjectAltName extension without a dNSName (only an iPAddress, or
    /// empty) counts as no dNSName: the CNs are returned.
    pub(crate) fn presented_names(&self) -> Result<PresentedNames<'a>, DerError> {
        let sans = self.dns_sans()?;
        if !sans.is_empty() {
            return Ok(PresentedNames::Sans(sans));
        }
        Ok(PresentedNames::CommonNames(self.common_names()?))
    }

    /// The extnValue contents of the extension `oid` (DER contents of the OID), if present.
    ///
    /// Walks every extension, and refuses a certificate in which any extension appears
    /// twice (RFC 5280 §4.2): which instance counts would be a guess. Only called when
    /// names or name constraints are needed, never on the DANE-EE path without name checks.
    fn extension(&self, oid: &[u8]) -> Result<Option<&'a [u8]>, DerError> {
        let Some(exts) = self.extensions else {
            return Ok(None);
        };
        let seq = der::single(exts, der::SEQUENCE)?;
        let mut exts = Reader::new(seq.contents);
        let mut seen: Vec<&[u8]> = Vec::new();
        let mut found = None;
        while !exts.is_empty() {
            let ext = exts.read(der::SEQUENCE)?;
            let mut ext = Reader::new(ext.contents);
            let id = ext.read(der::OID)?;
            ext.read_optional(der::BOOLEAN)?;
            let value = ext.read(der::OCTET_STRING)?;
            ext.finish()?;
            if seen.contains(&id.contents) {
                return Err("extension appears more than once");
            }
            seen.push(id.contents);
            if id.contents == oid {
                found = Some(value.contents);
            }
        }
        Ok(found)
    }

    /// The contents of the NameConstraints SEQUENCE, in the form rustls-webpki's
    /// `TrustAnchor::name_constraints` takes.
    pub(crate) fn name_constraints(&self) -> Result<Option<&'a [u8]>, DerError> {
        match self.extension(OID_NAME_CONSTRAINTS)? {
            Some(value) => Ok(Some(der::single(value, der::SEQUENCE)?.contents)),
            None => Ok(None),
        }
    }

    /// Whether OpenSSL would accept this certificate as the CA at the top of a chain: its
    /// `check_ca` (behind `X509_check_ca`) returning non-zero, as `check_chain` requires of
    /// every certificate above the leaf, the DANE-TA trust anchor included (else
    /// `X509_V_ERR_INVALID_CA`). RFC 5280 §4.2.1.9: a certificate whose key signs other
    /// certificates asserts `cA`; OpenSSL keeps its legacy exceptions for the top of the
    /// chain, and so do we:
    ///
    /// - a keyUsage without keyCertSign: not a CA (RFC 5280 §4.2.1.3), whatever else it says;
    /// - basicConstraints present: a CA exactly when `cA` is TRUE;
    /// - no basicConstraints: a CA when it is an X.509 v1 certificate whose subject equals
    ///   its issuer (a "v1 root"; compared octet for octet, where OpenSSL compares canonical
    ///   forms), or when it has a keyUsage (which then includes keyCertSign), or a Netscape
    ///   certificate type with a CA bit; otherwise (a v1 certificate issued by another, a
    ///   v3 certificate with neither) not a CA.
    ///
    /// Extensions are read only here and for names: never on the DANE-EE path.
    pub(crate) fn is_ca_for_openssl(&self) -> Result<bool, DerError> {
        let key_usage = self
            .extension(OID_KEY_USAGE)?
            .map(first_octet)
            .transpose()?;
        if key_usage.is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
            return Ok(false);
        }
        if let Some(value) = self.extension(OID_BASIC_CONSTRAINTS)? {
            let bc = der::single(value, der::SEQUENCE)?;
            let mut bc = Reader::new(bc.contents);
            let ca = match bc.read_optional(der::BOOLEAN)? {
                None => false,
                Some(b) => match b.contents {
                    [0] => false,
                    [_] => true,
                    _ => return Err("malformed BOOLEAN in basicConstraints"),
                },
            };
            bc.read_optional(der::INTEGER)?; // pathLenConstraint
            bc.finish()?;
            return Ok(ca);
        }
        // `[0] { INTEGER 0 }`, or no version field at all (DEFAULT v1).
        let v1 = self.version.is_none_or(|v| v == [der::INTEGER, 1, 0]);
        if v1 && self.subject == self.issuer {
            return Ok(true);
        }
        if key_usage.is_some() {
            return Ok(true);
        }
        let ns = self
            .extension(OID_NETSCAPE_CERT_TYPE)?
            .map(first_octet)
            .transpose()?;
        Ok(ns.is_some_and(|ns| ns & NS_ANY_CA != 0))
    }

    /// Whether this is an X.509 v1 certificate (no version field, or version 0).
    pub(crate) fn is_v1(&self) -> bool {
        self.version.is_none_or(|v| v == [der::INTEGER, 1, 0])
    }

    /// Whether OpenSSL's `sslserver` purpose admits this certificate as a TLS server's
    /// end-entity certificate, as far as rustls-webpki does not check it already (it checks
    /// the extended key usage): a keyUsage must allow digitalSignature, keyEncipherment or
    /// keyAgreement (RFC 5280 §4.2.1.3; OpenSSL's `KU_TLS`), and a Netscape certificate
    /// type must include an SSL server.
    pub(crate) fn allows_tls_server(&self) -> Result<bool, DerError> {
        let ku_ok = match self.extension(OID_KEY_USAGE)? {
            Some(ku) => first_octet(ku)? & KU_TLS != 0,
            None => true,
        };
        let ns_ok = match self.extension(OID_NETSCAPE_CERT_TYPE)? {
            Some(ns) => first_octet(ns)? & NS_SSL_SERVER != 0,
            None => true,
        };
        Ok(ku_ok && ns_ok)
    }

    fn dns_sans(&self) -> Result<Vec<&'a [u8]>, DerError> {
        let mut out = Vec::new();
        let Some(value) = self.extension(OID_SUBJECT_ALT_NAME)? else {
            return Ok(out);
        };
        let names = der::single(value, der::SEQUENCE)?;
        let mut names = Reader::new(names.contents);
        while !names.is_empty() {
            let name = names.read_any()?;
            if name.tag == GENERAL_NAME_DNS {
                out.push(name.contents);
            }
        }
        Ok(out)
    }

    fn common_names(&self) -> Result<Vec<&'a [u8]>, DerError> {
        let mut out = Vec::new();
        let mut rdns = Reader::new(self.subject);
        while !rdns.is_empty() {
            let set = rdns.read(der::SET)?;
            let mut atvs = Reader::new(set.contents);
            while !atvs.is_empty() {
                let atv = atvs.read(der::SEQUENCE)?;
                let mut atv = Reader::new(atv.contents);
                let oid = atv.read(der::OID)?;
                let value = atv.read_any()?;
                atv.finish()?;
                // UTF8String, PrintableString, T61String, IA5String: the host-name
                // characters are the same octets in all four.
                if oid.contents == OID_COMMON_NAME && matches!(value.tag, 0x0c | 0x13 | 0x14 | 0x16)
                {
                    out.push(value.contents);
                }
            }
        }
        Ok(out)
    }
}

/// Whether `der` is valid at `now`, as `(expired, not_yet_valid)`. Uses a full parse; only
/// called to explain a failure, never on the success path.
pub(crate) fn validity_at(der: &[u8], now_secs: u64) -> Option<(bool, bool)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let now = i64::try_from(now_secs).ok()?;
    let v = cert.validity();
    Some((
        v.not_after.timestamp() < now,
        v.not_before.timestamp() > now,
    ))
}
