//! SMTP TLS Reporting (RFC 8460) for DANE (feature `tlsrpt`).
//!
//! What this module covers:
//! - [`Report`]: the RFC 8460 §4 JSON report model, with the RFC's field names. It reads
//!   what real senders emit (a `date-range` datetime without a zone, `mx-host` as a string
//!   or an array, the §4.4 example's `failure-error-code` for `failure-reason-code`, result
//!   types this crate does not know) and writes what the RFC says (RFC 3339 UTC datetimes
//!   with `Z`, `mx-host` as an array).
//! - [`PolicyDetails::tlsa`] and [`PolicyDetails::no_policy_found`]: the `policy` object of
//!   a DANE destination (RFC 8460 §4.4).
//! - [`SessionOutcome`]: one delivery session as a report counts it, built from every
//!   [`Error`](crate::Error), every resolver
//!   [`LookupError`](crate::resolver::LookupError) and
//!   [`DaneStatus`](crate::resolver::DaneStatus), a missing STARTTLS, a TLS alert, and
//!   (feature `rustls`) every rustls handshake error
//!   ([`SessionOutcome::from_rustls_error`], [`Failure::from_tls_io_error`]): a
//!   [`DaneVerifier`](crate::DaneVerifier) refusal maps as its [`Error`](crate::Error) does.
//!
//! - [`Aggregator`]: counts outcomes from many tasks per UTC day and policy, merges
//!   identical failures, bounds memory, and turns a day into one [`Report`] per policy
//!   domain; its state can be saved and restored ([`Snapshot`]).
//!
//! - [`ReportingPolicy`]: the `v=TLSRPTv1` TXT record a domain publishes at
//!   `_smtp._tls.<domain>` (RFC 8460 §3), parsed from its text; with the feature
//!   `resolver` also looked up, with its DNSSEC status
//!   ([`TlsaResolver::lookup_tlsrpt`](crate::resolver::TlsaResolver::lookup_tlsrpt)).
//!   [`ReportUri::mailto_address`] gives the address of a `mailto:` rua.
//!
//! - Delivery forms (RFC 8460 §5): [`Report::to_json`], [`Report::to_gzip`]
//!   (`application/tlsrpt+gzip`), [`Report::file_name`] (§5.1), [`Report::subject`] (§5.3)
//!   and [`ReportMessage`]: the §5.3 `multipart/report; report-type="tlsrpt"` message with
//!   a human-readable part, the gzip'd report attached, and the `TLS-Report-Domain` and
//!   `TLS-Report-Submitter` header fields, as bytes ready to sign and send.
//!
//! What stays the MTA's job: recording one outcome per session, the DKIM signature that
//! RFC 8460 §5.3 requires on the report message (by the reporting domain, without `l=`),
//! sending it over SMTP (despite TLS failures, and leaving that session out of the next
//! report), and for an `https:` rua the POST of [`Report::to_gzip`] with `Content-Type:
//! application/tlsrpt+gzip` (§5.4); retrying and spreading the sends over the day.

mod aggregate;
mod datetime;
mod delivery;
mod outcome;
mod record;

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use aggregate::{Aggregator, OVERFLOW_REASON_CODE, Snapshot, SnapshotWindow, UtcDay};
pub use datetime::{DateTime, InvalidDateTime};
pub use delivery::{DeliveryError, MEDIA_TYPE_GZIP, MEDIA_TYPE_JSON, ReportMessage};
pub use outcome::{Failure, SessionOutcome};
pub use record::{ReportUri, ReportingPolicy, ReportingPolicyError};

use crate::error::TlsRptResult;

/// An RFC 8460 §4 aggregate report: what one sending organisation saw for one reporting
/// period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// `organization-name`: the sending organisation.
    pub organization_name: String,
    /// `date-range`: the reporting period.
    pub date_range: DateRange,
    /// `contact-info`: an address or URI of the sender's contact for the report.
    #[serde(default)]
    pub contact_info: String,
    /// `report-id`: a unique identifier of this report.
    pub report_id: String,
    /// `policies`: one entry per policy applied in the period.
    #[serde(default)]
    pub policies: Vec<PolicyReport>,
}

/// `date-range`: the period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DateRange {
    /// `start-datetime`.
    pub start_datetime: DateTime,
    /// `end-datetime`.
    pub end_datetime: DateTime,
}

/// One element of `policies`: a policy, its session counts and its failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyReport {
    /// `policy`.
    pub policy: PolicyDetails,
    /// `summary`.
    pub summary: Summary,
    /// `failure-details` (written even when empty).
    #[serde(default)]
    pub failure_details: Vec<FailureDetails>,
}

/// `policy`: the policy a session was made under (RFC 8460 §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyDetails {
    /// `policy-type`.
    pub policy_type: PolicyType,
    /// `policy-string`: for `tlsa`, the TLSA RRset in presentation form, one record per
    /// string. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_string: Vec<String>,
    /// `policy-domain`: for DANE, the TLSA base domain (the MX host).
    pub policy_domain: String,
    /// `mx-host`: read as a string (as in the RFC's §4.4 example) or an array, written as
    /// an array (as the RFC's errata have it); omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_or_array"
    )]
    pub mx_host: Vec<String>,
}

/// `summary`: sessions under one policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    /// `total-successful-session-count`.
    #[serde(default)]
    pub total_successful_session_count: u64,
    /// `total-failure-session-count`.
    #[serde(default)]
    pub total_failure_session_count: u64,
}

/// One element of `failure-details`: identical failures, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureDetails {
    /// What failed, and where (every field but the count).
    #[serde(flatten)]
    pub failure: Failure,
    /// `failed-session-count`.
    #[serde(default)]
    pub failed_session_count: u64,
}

/// `policy-type` (RFC 8460 §4.4), unknown values kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// `tlsa`: a DANE policy.
    Tlsa,
    /// `sts`: an MTA-STS policy.
    Sts,
    /// `no-policy-found`: neither DANE nor MTA-STS applied.
    NoPolicyFound,
    /// Any other value, as read.
    Other(String),
}

impl PolicyType {
    /// The string in the report.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Tlsa => "tlsa",
            Self::Sts => "sts",
            Self::NoPolicyFound => "no-policy-found",
            Self::Other(s) => s,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "tlsa" => Self::Tlsa,
            "sts" => Self::Sts,
            "no-policy-found" => Self::NoPolicyFound,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// `result-type` (RFC 8460 §4.3 and its IANA registry), unknown values kept.
///
/// The DANE-relevant values convert from and to the crate's [`TlsRptResult`], which
/// [`Error::tls_rpt_result`](crate::Error::tls_rpt_result) returns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResultType {
    /// A result type a DANE verdict maps to (`starttls-not-supported`,
    /// `certificate-host-mismatch`, `certificate-expired`, `certificate-not-trusted`,
    /// `validation-failure`, `tlsa-invalid`, `dnssec-invalid`, `dane-required`).
    Dane(TlsRptResult),
    /// `sts-policy-fetch-error` (RFC 8460 §4.3.2.2).
    StsPolicyFetchError,
    /// `sts-policy-invalid` (RFC 8460 §4.3.2.2).
    StsPolicyInvalid,
    /// `sts-webpki-invalid` (RFC 8460 §4.3.2.2).
    StsWebpkiInvalid,
    /// Any other value, as read (the IANA registry grows).
    Other(String),
}

/// Every [`TlsRptResult`]; `tls_rpt_results_are_all_listed` keeps it complete.
const TLS_RPT_RESULTS: [TlsRptResult; 8] = [
    TlsRptResult::StarttlsNotSupported,
    TlsRptResult::CertificateHostMismatch,
    TlsRptResult::CertificateExpired,
    TlsRptResult::CertificateNotTrusted,
    TlsRptResult::ValidationFailure,
    TlsRptResult::TlsaInvalid,
    TlsRptResult::DnssecInvalid,
    TlsRptResult::DaneRequired,
];

impl ResultType {
    /// The string in the report.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Dane(r) => r.as_str(),
            Self::StsPolicyFetchError => "sts-policy-fetch-error",
            Self::StsPolicyInvalid => "sts-policy-invalid",
            Self::StsWebpkiInvalid => "sts-webpki-invalid",
            Self::Other(s) => s,
        }
    }

    /// Reads a result type; any string is accepted (unknown ones as [`ResultType::Other`]).
    pub fn parse(s: &str) -> Self {
        if let Some(r) = TLS_RPT_RESULTS.iter().find(|r| r.as_str() == s) {
            return Self::Dane(*r);
        }
        match s {
            "sts-policy-fetch-error" => Self::StsPolicyFetchError,
            "sts-policy-invalid" => Self::StsPolicyInvalid,
            "sts-webpki-invalid" => Self::StsWebpkiInvalid,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The crate's [`TlsRptResult`] for this result type, if it is one of those.
    pub fn tls_rpt_result(&self) -> Option<TlsRptResult> {
        match self {
            Self::Dane(r) => Some(*r),
            _ => None,
        }
    }
}

impl From<TlsRptResult> for ResultType {
    fn from(r: TlsRptResult) -> Self {
        Self::Dane(r)
    }
}

macro_rules! string_enum_serde {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

string_enum_serde!(PolicyType);
string_enum_serde!(ResultType);

/// `mx-host`: a string (the RFC's §4.4 example, and many senders) or an array of strings.
fn string_or_array<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) if s.is_empty() => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// An IP address field: absent, `null` or `""` is none; anything else must be an address.
fn optional_ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests;
