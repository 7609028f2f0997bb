//! One delivery session, as an RFC 8460 report counts it.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{PolicyDetails, PolicyType, ResultType, optional_ip};
use crate::error::{Error, TlsRptResult};
use crate::names::ReferenceName;
use crate::rrset::TlsaSet;

/// What failed in one session, and where: a `failure-details` element without its count.
///
/// Two failures are merged in a report exactly when they are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Failure {
    /// `result-type`.
    pub result_type: ResultType,
    /// `sending-mta-ip`: the address the session was made from.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_ip"
    )]
    pub sending_mta_ip: Option<IpAddr>,
    /// `receiving-mx-hostname`: the MX host connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_hostname: Option<String>,
    /// `receiving-mx-helo`: the name the server greeted with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_helo: Option<String>,
    /// `receiving-ip`: the address connected to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_ip"
    )]
    pub receiving_ip: Option<IpAddr>,
    /// `additional-information`: a URI with more about this failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_information: Option<String>,
    /// `failure-reason-code`: a stable kebab-case code. Also read from
    /// `failure-error-code`, the name the RFC's §4.4 example uses.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "failure-error-code"
    )]
    pub failure_reason_code: Option<String>,
}

impl Failure {
    /// A failure of this type with this `failure-reason-code`, and no address or host yet.
    pub fn new(result_type: impl Into<ResultType>, reason_code: impl Into<String>) -> Self {
        Self {
            result_type: result_type.into(),
            sending_mta_ip: None,
            receiving_mx_hostname: None,
            receiving_mx_helo: None,
            receiving_ip: None,
            additional_information: None,
            failure_reason_code: Some(reason_code.into()),
        }
    }

    /// The failure a verification [`Error`] means: its
    /// [`tls_rpt_result`](Error::tls_rpt_result) as `result-type` and its
    /// [`category`](Error::category) as `failure-reason-code`. Both are exhaustive matches
    /// over [`Error`] inside this crate, so a new variant does not compile until it is
    /// mapped; the table is in the [`SessionOutcome`] documentation.
    pub fn from_error(error: &Error) -> Self {
        Self::new(error.tls_rpt_result(), error.category())
    }

    /// The server did not offer STARTTLS (or refused it): `starttls-not-supported`, reason
    /// `starttls-not-offered` (RFC 8460 §4.3.1).
    pub fn starttls_not_supported() -> Self {
        Self::new(TlsRptResult::StarttlsNotSupported, "starttls-not-offered")
    }

    /// The TLS handshake ended with a fatal alert `alert` (the RFC 8446 §6 number):
    /// `validation-failure` (RFC 8460 §4.3.3, no more specific type applies), reason
    /// `tls-alert-<alert>`.
    pub fn tls_alert(alert: u8) -> Self {
        Self::new(
            TlsRptResult::ValidationFailure,
            format!("tls-alert-{alert}"),
        )
    }

    /// With `sending-mta-ip`.
    #[must_use]
    pub fn with_sending_mta_ip(mut self, ip: IpAddr) -> Self {
        self.sending_mta_ip = Some(ip);
        self
    }

    /// With `receiving-mx-hostname`.
    #[must_use]
    pub fn with_receiving_mx_hostname(mut self, host: impl Into<String>) -> Self {
        self.receiving_mx_hostname = Some(host.into());
        self
    }

    /// With `receiving-mx-helo`.
    #[must_use]
    pub fn with_receiving_mx_helo(mut self, helo: impl Into<String>) -> Self {
        self.receiving_mx_helo = Some(helo.into());
        self
    }

    /// With `receiving-ip`.
    #[must_use]
    pub fn with_receiving_ip(mut self, ip: IpAddr) -> Self {
        self.receiving_ip = Some(ip);
        self
    }

    /// With `additional-information` (a URI).
    #[must_use]
    pub fn with_additional_information(mut self, uri: impl Into<String>) -> Self {
        self.additional_information = Some(uri.into());
        self
    }
}

impl PolicyDetails {
    /// The policy of a DANE destination (RFC 8460 §4.4): `policy-type` `tlsa`,
    /// `policy-string` the TLSA RRset in presentation form (one record per string, as
    /// [`Tlsa`](crate::Tlsa)'s `Display` writes it), `policy-domain` the TLSA base domain
    /// (so the report goes to the MX host's `_smtp._tls` record).
    ///
    /// The records are in canonical order (RFC 4034 §6.3: by RDATA octets), duplicates
    /// dropped: an RRset is a set, and resolvers hand its records out in any order, so the
    /// same RRset must be the same policy (one entry in the report, its sessions counted
    /// together).
    pub fn tlsa(base: &ReferenceName, records: &TlsaSet) -> Self {
        let mut canonical: Vec<(Vec<u8>, &crate::Tlsa)> = records
            .records()
            .iter()
            .map(|r| (r.to_rdata(), r))
            .collect();
        canonical.sort_by(|a, b| a.0.cmp(&b.0));
        canonical.dedup_by(|a, b| a.0 == b.0);
        Self {
            policy_type: PolicyType::Tlsa,
            policy_string: canonical.iter().map(|(_, r)| r.to_string()).collect(),
            policy_domain: base.as_str().to_owned(),
            mx_host: Vec::new(),
        }
    }

    /// A DANE policy whose TLSA RRset could not be had (bogus, SERVFAIL, timeout…):
    /// `policy-type` `tlsa` with no `policy-string`, `policy-domain` the host.
    pub fn tlsa_unknown(host: &str) -> Self {
        Self {
            policy_type: PolicyType::Tlsa,
            policy_string: Vec::new(),
            policy_domain: normalise(host),
            mx_host: Vec::new(),
        }
    }

    /// A destination without DANE (insecure, or a validated absence of TLSA records):
    /// `policy-type` `no-policy-found`, `policy-domain` the domain.
    pub fn no_policy_found(domain: &str) -> Self {
        Self {
            policy_type: PolicyType::NoPolicyFound,
            policy_string: Vec::new(),
            policy_domain: normalise(domain),
            mx_host: Vec::new(),
        }
    }
}

/// Lower case, no final dot: the form a reporting record is looked up under.
fn normalise(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// One delivery session: the policy it was made under, and whether it succeeded.
///
/// An MTA records one outcome per session (per connection that reached, or tried to reach,
/// TLS). The constructors map what this crate knows:
///
/// | source | `result-type` | `failure-reason-code` | why (RFC 8460) |
/// |---|---|---|---|
/// | verified ([`verify`](crate::verify) `Ok`) | success | — | §4.4 successful session |
/// | [`Error::NoUsableRecords`], [`Error::InvalidTlsa`] | `tlsa-invalid` | `no-usable-records`, `invalid-tlsa` | §4.3.2.1: none of the records of the RRset is valid |
/// | [`Error::NoMatch`], [`Error::ChainInvalid`], [`Error::InvalidPurpose`], [`Error::NameConstraintViolation`], [`Error::Pkix`], [`Error::NoPkixRoots`] | `certificate-not-trusted` | `no-match`, `chain-invalid`, `invalid-purpose`, `name-constraint-violation`, `pkix-failure`, `no-pkix-roots` | §4.3.1: the chain did not lead to a trust anchor (a DANE record is one) |
/// | [`Error::Expired`], [`Error::NotYetValid`] | `certificate-expired` | `expired`, `not-yet-valid` | §4.3.1: outside its validity period |
/// | [`Error::NameMismatch`], [`Error::RawPublicKeyNameChecks`] | `certificate-host-mismatch` | `name-mismatch`, `raw-public-key-name-check` | §4.3.1: no reference identifier matched |
/// | [`Error::EmptyChain`], [`Error::MalformedCertificate`], [`Error::Unsupported`] | `validation-failure` | `empty-chain`, `malformed-certificate`, `unsupported` | §4.3.3: no more specific type |
/// | no STARTTLS ([`SessionOutcome::starttls_not_supported`]) | `starttls-not-supported` | `starttls-not-offered` | §4.3.1 |
/// | TLS alert *n* ([`SessionOutcome::tls_alert`]; rustls `AlertReceived`, certificate alerts included: they are about what the client sent) | `validation-failure` | `tls-alert-<n>` | §4.3.3 |
/// | rustls `InvalidCertificate` holding a [`DaneVerifier`](crate::DaneVerifier) [`Error`] | as that [`Error`] above | as that [`Error`] | as above |
/// | rustls `Expired(Context)`, `NotValidYet(Context)` | `certificate-expired` | `expired`, `not-yet-valid` | §4.3.1 |
/// | rustls `NotValidForName(Context)` | `certificate-host-mismatch` | `name-mismatch` | §4.3.1 |
/// | rustls `UnknownIssuer`, `BadSignature`, `UnsupportedSignatureAlgorithm…Context`, `Revoked`, `UnknownRevocationStatus`, `ExpiredRevocationList(Context)`, `InvalidOcspResponse`, `UnhandledCriticalExtension`, `InvalidPurpose(Context)` | `certificate-not-trusted` | `unknown-issuer`, `bad-signature`, `unsupported-signature-algorithm`, `revoked`, `revocation-status` (×3), `unhandled-critical-extension`, `invalid-purpose` | §4.3.1 |
/// | rustls `BadEncoding`, `ApplicationVerificationFailure`, other certificate errors | `validation-failure` | `malformed-certificate`, `application-verification-failure`, `certificate-error` | §4.3.3 |
/// | rustls `NoCertificatesPresented` | `validation-failure` | `empty-chain` | §4.3.3 (as [`Error::EmptyChain`]) |
/// | rustls `PeerIncompatible`, `PeerMisbehaved`, `InappropriateMessage`/`InappropriateHandshakeMessage`, `InvalidMessage`/`PeerSentOversizedRecord`, `DecryptError`, `InvalidEncryptedClientHello`, `NoApplicationProtocol`, `UnsupportedNameType`, any other | `validation-failure` | `tls-peer-incompatible`, `tls-peer-misbehaved`, `tls-unexpected-message`, `tls-invalid-message`, `tls-decrypt-error`, `tls-invalid-ech`, `tls-no-application-protocol`, `tls-unsupported-name-type`, `tls-error` | §4.3.3 |
/// | `LookupError` Bogus, ServFail, Timeout, Rcode, Indeterminate, Other | `dnssec-invalid` | `dns-bogus`, `dns-servfail`, `dns-timeout`, `dns-rcode`, `dns-indeterminate`, `dns-error` | §4.3.2.1: no valid records came from the resolver |
/// | `LookupError` NoSuchDomain, InvalidName, Config | `validation-failure` | `dns-nxdomain`, `dns-invalid-name`, `dns-config` | §4.3.3: not a DNSSEC failure of the published data |
///
/// **TLS required, no usable records** (a secure TLSA RRset whose records are all unusable,
/// RFC 7672 §2.2): every session counts as a *failure* with `tlsa-invalid` and reason
/// `no-usable-records`, under the `tlsa` policy with the (unusable) RRset as its
/// `policy-string` — also when the MTA then delivers over unauthenticated TLS as RFC 7672
/// §2.2 asks. RFC 8460 §4.3.2.1 defines `tlsa-invalid` as "none of the records in the RRset
/// were found to be valid", which is this case exactly, and the summary counts sessions
/// that succeeded *under the policy*: these records authenticated nothing. Counting them as
/// successes would hide from the domain owner the one misconfiguration the report exists
/// to show. If the server does not offer STARTTLS either, that is the session's failure
/// (`starttls-not-supported`) instead, since a session counts once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOutcome {
    /// The policy the session was made under.
    pub policy: PolicyDetails,
    /// `None` for a successful session; otherwise what failed.
    pub failure: Option<Failure>,
}

impl SessionOutcome {
    /// A session that negotiated TLS and satisfied `policy`.
    pub fn success(policy: PolicyDetails) -> Self {
        Self {
            policy,
            failure: None,
        }
    }

    /// A failed session.
    pub fn failed(policy: PolicyDetails, failure: Failure) -> Self {
        Self {
            policy,
            failure: Some(failure),
        }
    }

    /// A session refused by the DANE verifier ([`Failure::from_error`]).
    pub fn from_error(policy: PolicyDetails, error: &Error) -> Self {
        Self::failed(policy, Failure::from_error(error))
    }

    /// The result of [`verify`](crate::verify) (or of the rustls adapter's outcome) under
    /// `policy`.
    pub fn from_verification<T>(policy: PolicyDetails, result: &Result<T, Error>) -> Self {
        match result {
            Ok(_) => Self::success(policy),
            Err(e) => Self::from_error(policy, e),
        }
    }

    /// The server did not offer STARTTLS ([`Failure::starttls_not_supported`]).
    pub fn starttls_not_supported(policy: PolicyDetails) -> Self {
        Self::failed(policy, Failure::starttls_not_supported())
    }

    /// The handshake ended with TLS alert `alert` ([`Failure::tls_alert`]).
    pub fn tls_alert(policy: PolicyDetails, alert: u8) -> Self {
        Self::failed(policy, Failure::tls_alert(alert))
    }

    /// The same outcome with `failure` changed by `f` (to add addresses and host names).
    #[must_use]
    pub fn map_failure(mut self, f: impl FnOnce(Failure) -> Failure) -> Self {
        self.failure = self.failure.map(f);
        self
    }

    /// Whether the session succeeded.
    pub fn is_success(&self) -> bool {
        self.failure.is_none()
    }
}

#[cfg(feature = "resolver")]
mod resolver {
    use super::{Failure, PolicyDetails, SessionOutcome, TlsRptResult};
    use crate::error::Error;
    use crate::resolver::{DaneStatus, LookupError};

    impl Failure {
        /// The failure a failed lookup means (see the table at [`SessionOutcome`]). An
        /// exhaustive match over [`LookupError`]: a new variant does not compile until it
        /// is mapped.
        pub fn from_lookup_error(error: &LookupError) -> Self {
            let (result, code) = match error {
                LookupError::Bogus => (TlsRptResult::DnssecInvalid, "dns-bogus"),
                LookupError::ServFail => (TlsRptResult::DnssecInvalid, "dns-servfail"),
                LookupError::Timeout => (TlsRptResult::DnssecInvalid, "dns-timeout"),
                LookupError::Rcode(_) => (TlsRptResult::DnssecInvalid, "dns-rcode"),
                LookupError::Indeterminate => (TlsRptResult::DnssecInvalid, "dns-indeterminate"),
                LookupError::Other(_) => (TlsRptResult::DnssecInvalid, "dns-error"),
                LookupError::NoSuchDomain => (TlsRptResult::ValidationFailure, "dns-nxdomain"),
                LookupError::InvalidName(_) => {
                    (TlsRptResult::ValidationFailure, "dns-invalid-name")
                }
                LookupError::Config(_) => (TlsRptResult::ValidationFailure, "dns-config"),
            };
            Self::new(result, code)
        }
    }

    impl PolicyDetails {
        /// The policy of a target of [`smtp_targets`](crate::resolver::TlsaResolver::smtp_targets)
        /// (MX host `host`): `tlsa` with the RRset for [`DaneStatus::Required`] and
        /// [`DaneStatus::TlsRequiredUnauthenticated`], `tlsa` without a `policy-string` for
        /// [`DaneStatus::Unusable`] (the failed lookup was a DANE lookup), and
        /// `no-policy-found` for [`DaneStatus::Opportunistic`].
        pub fn for_status(status: &DaneStatus, host: &str) -> Self {
            match status {
                DaneStatus::Required { tlsa, sni, .. }
                | DaneStatus::TlsRequiredUnauthenticated { tlsa, sni } => Self::tlsa(sni, tlsa),
                DaneStatus::Unusable(_) => Self::tlsa_unknown(host),
                DaneStatus::Opportunistic => Self::no_policy_found(host),
            }
        }
    }

    impl SessionOutcome {
        /// A session that failed because a lookup for `host` failed.
        pub fn from_lookup_error(host: &str, error: &LookupError) -> Self {
            Self::failed(
                PolicyDetails::tlsa_unknown(host),
                Failure::from_lookup_error(error),
            )
        }

        /// The outcome a target's status decides before any handshake, if it does:
        /// [`DaneStatus::Unusable`] is a failed lookup, and
        /// [`DaneStatus::TlsRequiredUnauthenticated`] a `tlsa-invalid` session (see the
        /// type's documentation for why; record
        /// [`starttls_not_supported`](Self::starttls_not_supported) instead if the server
        /// offers no STARTTLS). `None` for [`DaneStatus::Required`] and
        /// [`DaneStatus::Opportunistic`]: the handshake decides.
        pub fn from_status(status: &DaneStatus, host: &str) -> Option<Self> {
            match status {
                DaneStatus::Unusable(e) => Some(Self::from_lookup_error(host, e)),
                DaneStatus::TlsRequiredUnauthenticated { .. } => Some(Self::from_error(
                    PolicyDetails::for_status(status, host),
                    &Error::NoUsableRecords,
                )),
                DaneStatus::Required { .. } | DaneStatus::Opportunistic => None,
            }
        }
    }
}

#[cfg(feature = "rustls")]
mod tls {
    use rustls::{CertificateError, Error as TlsError};

    use super::{Failure, PolicyDetails, SessionOutcome, TlsRptResult};
    use crate::error::Error;

    impl Failure {
        /// The failure a failed rustls handshake means (see the table at
        /// [`SessionOutcome`]).
        ///
        /// - A refusal by this crate's [`DaneVerifier`](crate::DaneVerifier) (a
        ///   [`CertificateError::Other`] holding an [`Error`]) maps exactly as
        ///   [`Failure::from_error`] does.
        /// - Other certificate errors (from a fallback verifier, such as rustls' WebPKI
        ///   verifier after [`NoUsableRecords::FallBack`](crate::NoUsableRecords::FallBack))
        ///   map to the RFC 8460 §4.3.1 type they name: expired or not yet valid →
        ///   `certificate-expired`; not valid for the name → `certificate-host-mismatch`;
        ///   unknown issuer, bad signature, revoked, unhandled critical extension, wrong
        ///   purpose… → `certificate-not-trusted`.
        /// - A TLS alert received from the server → [`Failure::tls_alert`]: every alert, the
        ///   certificate alerts included. A client receives alerts about what *it* sent (its
        ///   ClientHello, its client certificate): none of them says the server's
        ///   certificate failed validation, so none of the certificate types applies, and
        ///   RFC 8460 §4.3.3 asks for `validation-failure` with the TLS error in
        ///   `failure-reason-code`.
        /// - Every other handshake error → `validation-failure` (RFC 8460 §4.3.3) with a
        ///   `tls-…` reason code naming the rustls error.
        ///
        /// A match over the rustls error kinds this crate knows; rustls' enums are
        /// non-exhaustive, so kinds it adds later map to `validation-failure` with reason
        /// `tls-error` or `certificate-error`.
        pub fn from_rustls_error(error: &TlsError) -> Self {
            let (result, code): (TlsRptResult, &str) = match error {
                TlsError::InvalidCertificate(e) => return Self::from_certificate_error(e),
                TlsError::AlertReceived(alert) => return Self::tls_alert(u8::from(*alert)),
                TlsError::NoCertificatesPresented => {
                    return Self::from_error(&Error::EmptyChain);
                }
                TlsError::PeerIncompatible(_) => {
                    (TlsRptResult::ValidationFailure, "tls-peer-incompatible")
                }
                TlsError::PeerMisbehaved(_) => {
                    (TlsRptResult::ValidationFailure, "tls-peer-misbehaved")
                }
                TlsError::InappropriateMessage { .. }
                | TlsError::InappropriateHandshakeMessage { .. } => {
                    (TlsRptResult::ValidationFailure, "tls-unexpected-message")
                }
                TlsError::InvalidMessage(_) | TlsError::PeerSentOversizedRecord => {
                    (TlsRptResult::ValidationFailure, "tls-invalid-message")
                }
                TlsError::DecryptError => (TlsRptResult::ValidationFailure, "tls-decrypt-error"),
                TlsError::InvalidEncryptedClientHello(_) => {
                    (TlsRptResult::ValidationFailure, "tls-invalid-ech")
                }
                TlsError::NoApplicationProtocol => (
                    TlsRptResult::ValidationFailure,
                    "tls-no-application-protocol",
                ),
                TlsError::UnsupportedNameType => {
                    (TlsRptResult::ValidationFailure, "tls-unsupported-name-type")
                }
                _ => (TlsRptResult::ValidationFailure, "tls-error"),
            };
            Self::new(result, code)
        }

        /// The failure a refused certificate means (see
        /// [`from_rustls_error`](Self::from_rustls_error)).
        pub fn from_certificate_error(error: &CertificateError) -> Self {
            use TlsRptResult::{
                CertificateExpired, CertificateHostMismatch, CertificateNotTrusted,
                ValidationFailure,
            };
            let (result, code) = match error {
                CertificateError::Other(other) => {
                    if let Some(e) = other.0.downcast_ref::<Error>() {
                        return Self::from_error(e);
                    }
                    (ValidationFailure, "certificate-error")
                }
                CertificateError::BadEncoding => (ValidationFailure, "malformed-certificate"),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    (CertificateExpired, "expired")
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    (CertificateExpired, "not-yet-valid")
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    (CertificateHostMismatch, "name-mismatch")
                }
                CertificateError::UnknownIssuer => (CertificateNotTrusted, "unknown-issuer"),
                CertificateError::BadSignature => (CertificateNotTrusted, "bad-signature"),
                CertificateError::UnsupportedSignatureAlgorithmContext { .. }
                | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                    (CertificateNotTrusted, "unsupported-signature-algorithm")
                }
                CertificateError::Revoked => (CertificateNotTrusted, "revoked"),
                CertificateError::UnknownRevocationStatus
                | CertificateError::ExpiredRevocationList
                | CertificateError::ExpiredRevocationListContext { .. }
                | CertificateError::InvalidOcspResponse => {
                    (CertificateNotTrusted, "revocation-status")
                }
                CertificateError::UnhandledCriticalExtension => {
                    (CertificateNotTrusted, "unhandled-critical-extension")
                }
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => {
                    (CertificateNotTrusted, "invalid-purpose")
                }
                CertificateError::ApplicationVerificationFailure => {
                    (ValidationFailure, "application-verification-failure")
                }
                _ => (ValidationFailure, "certificate-error"),
            };
            Self::new(result, code)
        }

        /// The failure of a handshake that failed with this I/O error: the rustls error it
        /// carries (as tokio-rustls and rustls' `Stream` wrap it) through
        /// [`from_rustls_error`](Self::from_rustls_error); `None` for an I/O error without
        /// one (a reset or a timeout is a transient failure, RFC 8460 §4.3.4, or a
        /// connection failure the MTA maps itself).
        pub fn from_tls_io_error(error: &std::io::Error) -> Option<Self> {
            let inner = error.get_ref()?;
            inner
                .downcast_ref::<TlsError>()
                .map(Self::from_rustls_error)
        }
    }

    impl SessionOutcome {
        /// A session under `policy` whose handshake failed with `error`
        /// ([`Failure::from_rustls_error`]).
        pub fn from_rustls_error(policy: PolicyDetails, error: &TlsError) -> Self {
            Self::failed(policy, Failure::from_rustls_error(error))
        }
    }
}
