//! Errors, and their RFC 8460 (SMTP TLS Reporting) result types.

use crate::record::CertUsage;

/// Why a peer was not authenticated, or why an input was refused.
///
/// Every variant is a refusal: there is no error that means "verified anyway". Use
/// [`Error::tls_rpt_result`] to file it in a TLS-RPT report and [`Error::category`] for a
/// stable machine-readable name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The RRset has no record this verifier can use (RFC 7671 §4): every record has an
    /// unknown or private parameter, a bad digest length, malformed data, an unsupported
    /// digest, or a usage the policy excludes. For SMTP this means TLS is still mandatory but
    /// unauthenticated (RFC 7672 §2.2); the caller decides.
    #[error("no usable TLSA records")]
    NoUsableRecords,
    /// The peer presented no certificate.
    #[error("the peer presented no certificate")]
    EmptyChain,
    /// There were usable records, and none matched the presented chain.
    #[error("no usable TLSA record matches the presented certificates")]
    NoMatch,
    /// A certificate could not be decoded.
    #[error("malformed certificate at depth {depth}: {reason}")]
    MalformedCertificate {
        /// Position in the chain as presented (0 = leaf).
        depth: usize,
        /// What was wrong with the DER.
        reason: &'static str,
    },
    /// A DANE-TA record matched, but the leaf does not chain to that anchor (bad signature,
    /// unknown issuer, an intermediate that is not a CA, a forbidden extended key usage…).
    #[error("chain does not validate to the matched {usage:#} trust anchor: {reason:?}")]
    ChainInvalid {
        /// The usage of the anchor that was tried.
        usage: CertUsage,
        /// rustls-webpki's reason.
        reason: webpki::Error,
    },
    /// A DANE-TA (or PKIX) path validated, but the leaf's keyUsage (or Netscape
    /// certificate type) does not allow a TLS server key: none of digitalSignature,
    /// keyEncipherment, keyAgreement (RFC 5280 §4.2.1.3). OpenSSL's purpose check refuses
    /// it too ("unsuitable certificate purpose"). Not checked under DANE-EE, where the key
    /// itself is what the record names.
    #[error("the leaf's key usage does not allow a TLS server ({usage:#} path)")]
    InvalidPurpose {
        /// The usage of the record whose path was validated.
        usage: CertUsage,
    },
    /// A certificate below the trust anchor has expired at the given time.
    #[error("certificate at depth {} has expired", Depth(*depth))]
    Expired {
        /// Position in the chain as presented, when it could be determined.
        depth: Option<usize>,
    },
    /// A certificate below the trust anchor is not yet valid at the given time.
    #[error("certificate at depth {} is not yet valid", Depth(*depth))]
    NotYetValid {
        /// Position in the chain as presented, when it could be determined.
        depth: Option<usize>,
    },
    /// The chain matched and validated, but the leaf is not valid for any reference
    /// identifier (RFC 7671 §5.2, RFC 7672 §3.2.2).
    #[error("certificate is not valid for any reference identifier ({names})")]
    NameMismatch {
        /// The reference identifiers, comma-separated.
        names: String,
    },
    /// The chain matched and validated, and the leaf's name came from its subject CN (it has
    /// no dNSName subjectAltName), but that CN lies outside the dNSName name constraints of
    /// a certificate of the validated path or of the trust anchor (RFC 5280 §4.2.1.10; as
    /// OpenSSL's `NAME_CONSTRAINTS_check_CN`). Reported as `certificate-not-trusted`, like
    /// any other name-constraint violation of a path.
    #[error("subject CN {name:?} lies outside the name constraints of its certification path")]
    NameConstraintViolation {
        /// The CN, lossily decoded.
        name: String,
    },
    /// [`verify_raw_public_key`](crate::verify_raw_public_key) under a policy with
    /// [`Policy::with_dane_ee_name_checks`](crate::Policy::with_dane_ee_name_checks): an
    /// RFC 7250 raw public key carries no names, so the name check can never pass.
    #[error("DANE-EE name checks were asked for, and a raw public key has no names")]
    RawPublicKeyNameChecks,
    /// A PKIX-TA or PKIX-EE record could apply, but PKIX validation against the caller's
    /// roots failed (RFC 6698 §2.1.1).
    #[error("PKIX validation failed: {0:?}")]
    Pkix(webpki::Error),
    /// A PKIX-TA or PKIX-EE record could apply, but the policy has no PKIX roots.
    #[error("PKIX-TA/PKIX-EE records need PKIX roots, and the policy has none")]
    NoPkixRoots,
    /// A request this crate cannot serve, such as generating a record with an unknown
    /// selector.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A TLSA record could not be parsed.
    #[error(transparent)]
    InvalidTlsa(#[from] TlsaParseError),
}

struct Depth(Option<usize>);

impl std::fmt::Display for Depth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(d) => write!(f, "{d}"),
            None => f.write_str("(unknown)"),
        }
    }
}

impl Error {
    /// The RFC 8460 §4.3 result type to report this failure under.
    pub fn tls_rpt_result(&self) -> TlsRptResult {
        match self {
            Self::NoUsableRecords | Self::InvalidTlsa(_) => TlsRptResult::TlsaInvalid,
            Self::NoMatch
            | Self::ChainInvalid { .. }
            | Self::InvalidPurpose { .. }
            | Self::NameConstraintViolation { .. }
            | Self::Pkix(_)
            | Self::NoPkixRoots => TlsRptResult::CertificateNotTrusted,
            Self::Expired { .. } | Self::NotYetValid { .. } => TlsRptResult::CertificateExpired,
            Self::NameMismatch { .. } | Self::RawPublicKeyNameChecks => {
                TlsRptResult::CertificateHostMismatch
            }
            Self::EmptyChain | Self::MalformedCertificate { .. } | Self::Unsupported(_) => {
                TlsRptResult::ValidationFailure
            }
        }
    }

    /// A stable kebab-case name for the kind of failure (used in `danecheck --json`).
    pub fn category(&self) -> &'static str {
        match self {
            Self::NoUsableRecords => "no-usable-records",
            Self::EmptyChain => "empty-chain",
            Self::NoMatch => "no-match",
            Self::MalformedCertificate { .. } => "malformed-certificate",
            Self::ChainInvalid { .. } => "chain-invalid",
            Self::InvalidPurpose { .. } => "invalid-purpose",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not-yet-valid",
            Self::NameMismatch { .. } => "name-mismatch",
            Self::NameConstraintViolation { .. } => "name-constraint-violation",
            Self::RawPublicKeyNameChecks => "raw-public-key-name-check",
            Self::Pkix(_) => "pkix-failure",
            Self::NoPkixRoots => "no-pkix-roots",
            Self::Unsupported(_) => "unsupported",
            Self::InvalidTlsa(_) => "invalid-tlsa",
        }
    }
}

/// Why a TLSA record in presentation or wire format was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsaParseError {
    /// Nothing to parse.
    #[error("empty TLSA record")]
    Empty,
    /// A field is missing.
    #[error("TLSA record has no {0} field")]
    MissingField(&'static str),
    /// A parameter is neither a number 0–255 nor an RFC 7218 mnemonic.
    #[error("invalid {field} {value:?} (want 0-255 or an RFC 7218 mnemonic)")]
    BadParameter {
        /// Which field.
        field: &'static str,
        /// What was given.
        value: String,
    },
    /// A character in the association data is not a hex digit.
    #[error("invalid hex digit {0:?} in association data")]
    BadHex(char),
    /// The association data has an odd number of hex digits.
    #[error("association data has an odd number of hex digits")]
    OddHexLength,
    /// An RFC 3597 `\#` length does not match the data.
    #[error("RFC 3597 generic RDATA length missing or wrong")]
    BadGenericLength,
    /// Wire RDATA shorter than the three parameter octets.
    #[error("TLSA RDATA of {0} octets is shorter than 3")]
    ShortRdata(usize),
}

/// The result types of RFC 8460 §4.3 (SMTP TLS Reporting) that a DANE failure maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsRptResult {
    /// `starttls-not-supported`
    StarttlsNotSupported,
    /// `certificate-host-mismatch`
    CertificateHostMismatch,
    /// `certificate-expired`
    CertificateExpired,
    /// `certificate-not-trusted`
    CertificateNotTrusted,
    /// `validation-failure`
    ValidationFailure,
    /// `tlsa-invalid`
    TlsaInvalid,
    /// `dnssec-invalid`
    DnssecInvalid,
    /// `dane-required`
    DaneRequired,
}

impl TlsRptResult {
    /// The string used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StarttlsNotSupported => "starttls-not-supported",
            Self::CertificateHostMismatch => "certificate-host-mismatch",
            Self::CertificateExpired => "certificate-expired",
            Self::CertificateNotTrusted => "certificate-not-trusted",
            Self::ValidationFailure => "validation-failure",
            Self::TlsaInvalid => "tlsa-invalid",
            Self::DnssecInvalid => "dnssec-invalid",
            Self::DaneRequired => "dane-required",
        }
    }
}

impl std::fmt::Display for TlsRptResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
