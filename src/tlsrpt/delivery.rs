//! The forms a report travels in (RFC 8460 §5): JSON, gzip, its file name and the
//! `multipart/report` message.

use std::fmt::Write as _;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;

use super::{DateTime, Report, ReportUri};

/// `application/tlsrpt+json`: the media type of a report as plain JSON (RFC 8460 §6.4).
pub const MEDIA_TYPE_JSON: &str = "application/tlsrpt+json";

/// `application/tlsrpt+gzip`: the media type of a gzip'd report (RFC 8460 §6.5), for the
/// message attachment and as the `Content-Type` of an HTTPS POST (RFC 8460 §5.4).
pub const MEDIA_TYPE_GZIP: &str = "application/tlsrpt+gzip";

/// Why a report could not be put in one of its delivery forms.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The report could not be written as JSON.
    #[error("cannot write the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Compressing or assembling failed while writing to memory.
    #[error("cannot compress or assemble the report: {0}")]
    Io(#[from] std::io::Error),
    /// The report has no `policies`, so there is no policy domain to name it after.
    #[error("the report has no policy, so no policy domain")]
    NoPolicy,
    /// The report's policies have different `policy-domain`s: RFC 8460 §5 sends a report
    /// to one policy domain ([`Aggregator::drain`](super::Aggregator::drain) makes one
    /// report per policy domain).
    #[error("the report's policies have different policy domains ({0:?}, {1:?})")]
    MixedPolicyDomains(String, String),
    /// A value that goes into a file name or header field does not have the RFC's syntax.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidField {
        /// Which value (`submitter`, `policy-domain`, `unique-id`, `from`, `to`,
        /// `date-range`).
        field: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The submitter is not the domain of the report's `contact-info` address, which
    /// `TLS-Report-Submitter` must match (RFC 8460 §5.3).
    #[error(
        "submitter {submitter:?} is not the domain of contact-info {contact_info:?} (RFC 8460 §5.3)"
    )]
    SubmitterMismatch {
        /// The submitter given.
        submitter: String,
        /// The report's `contact-info`.
        contact_info: String,
    },
}

impl Report {
    /// The report as JSON (RFC 8460 §4), compact, UTF-8: the body of an
    /// `application/tlsrpt+json` part or POST.
    pub fn to_json(&self) -> Result<String, DeliveryError> {
        Ok(serde_json::to_string(self)?)
    }

    /// The report's JSON compressed with gzip (RFC 1952): the `application/tlsrpt+gzip`
    /// form RFC 8460 §5.2 recommends for both email and HTTPS.
    pub fn to_gzip(&self) -> Result<Vec<u8>, DeliveryError> {
        let json = self.to_json()?;
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4 + 64), Compression::best());
        gz.write_all(json.as_bytes())?;
        Ok(gz.finish()?)
    }

    /// The one `policy-domain` of the report's policies: the domain it is sent to and named
    /// after.
    pub fn policy_domain(&self) -> Result<&str, DeliveryError> {
        let mut policies = self.policies.iter();
        let first = policies.next().ok_or(DeliveryError::NoPolicy)?;
        let domain = first.policy.policy_domain.as_str();
        for p in policies {
            if !p.policy.policy_domain.eq_ignore_ascii_case(domain) {
                return Err(DeliveryError::MixedPolicyDomains(
                    domain.to_owned(),
                    p.policy.policy_domain.clone(),
                ));
            }
        }
        Ok(domain)
    }

    /// The report's file name (RFC 8460 §5.1):
    /// `sender!policy-domain!begin-timestamp!end-timestamp[!unique-id].json[.gz]`, the
    /// timestamps the `date-range` in seconds since the Unix epoch.
    ///
    /// `submitter` is the sending domain (the domain of the `contact-info` address when
    /// that is an address); `unique_id` (letters and digits) tells apart reports of the
    /// same period and policy domain made by different sources; `gzip` picks `.json.gz`
    /// over `.json`.
    ///
    /// ```
    /// # use dane::tlsrpt::{Aggregator, DateTime, PolicyDetails, SessionOutcome, UtcDay};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let agg = Aggregator::new("Example Sender", "mailto:tlsrpt@mail.sender.example.com");
    /// let day = UtcDay::containing(DateTime::from_unix(1_470_013_207));
    /// let policy = PolicyDetails::no_policy_found("example.net");
    /// agg.record_at(SessionOutcome::success(policy), day.start());
    /// let report = agg.drain(day).remove(0);
    /// assert_eq!(
    ///     report.file_name("mail.sender.example.com", Some("001"), true)?,
    ///     "mail.sender.example.com!example.net!1470009600!1470095999!001.json.gz",
    /// );
    /// # Ok(()) }
    /// ```
    pub fn file_name(
        &self,
        submitter: &str,
        unique_id: Option<&str>,
        gzip: bool,
    ) -> Result<String, DeliveryError> {
        let submitter = self.checked_submitter(submitter)?;
        let domain = checked_domain("policy-domain", self.policy_domain()?)?;
        let begin = self.date_range.start_datetime.unix();
        let end = self.date_range.end_datetime.unix();
        if begin < 0 || end < 0 {
            return Err(DeliveryError::InvalidField {
                field: "date-range",
                value: format!("{begin}..{end}"),
                reason: "timestamps before 1970 have no file name form",
            });
        }
        let mut name = format!("{submitter}!{domain}!{begin}!{end}");
        if let Some(id) = unique_id {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(DeliveryError::InvalidField {
                    field: "unique-id",
                    value: id.to_owned(),
                    reason: "must be one or more ASCII letters and digits",
                });
            }
            name.push('!');
            name.push_str(id);
        }
        name.push_str(if gzip { ".json.gz" } else { ".json" });
        Ok(name)
    }

    /// The `Report-ID` of the message's Subject (RFC 8460 §5.3): an RFC 5322 `msg-id`,
    /// angle brackets included, made from `report-id` and `submitter`.
    ///
    /// A `report-id` that is already `id-left@id-right` (dot-atoms) is used as it is.
    /// Otherwise it becomes `<id-left@submitter>`, with every character that a dot-atom
    /// cannot hold (such as the `:` of the aggregator's datetimes) written `=XX` (its
    /// UTF-8 octets in hex, `=` itself included), so distinct report ids stay distinct:
    /// `2016-04-01T00:00:00Z_mx.example.net` from `sender.example` is
    /// `<2016-04-01T00=3A00=3A00Z_mx.example.net@sender.example>`.
    pub fn subject_report_id(&self, submitter: &str) -> Result<String, DeliveryError> {
        let submitter = checked_domain("submitter", submitter)?;
        if let Some((left, right)) = self.report_id.split_once('@')
            && is_dot_atom(left)
            && is_dot_atom(right)
        {
            return Ok(format!("<{}>", self.report_id));
        }
        Ok(format!(
            "<{}@{submitter}>",
            dot_atom_escape(&self.report_id)
        ))
    }

    /// The Subject of the report message (RFC 8460 §5.3):
    /// `Report Domain: <policy-domain> Submitter: <submitter> Report-ID: <msg-id>`, with
    /// [`subject_report_id`](Self::subject_report_id) as the `msg-id`.
    pub fn subject(&self, submitter: &str) -> Result<String, DeliveryError> {
        let submitter = self.checked_submitter(submitter)?;
        let domain = checked_domain("policy-domain", self.policy_domain()?)?;
        Ok(format!(
            "Report Domain: {domain} Submitter: {submitter} Report-ID: {}",
            self.subject_report_id(submitter)?
        ))
    }

    /// `submitter`, checked as a domain name and against the `contact-info` address.
    fn checked_submitter<'s>(&self, submitter: &'s str) -> Result<&'s str, DeliveryError> {
        let submitter = checked_domain("submitter", submitter)?;
        if let Some(domain) = contact_domain(&self.contact_info)
            && !domain
                .trim_end_matches('.')
                .eq_ignore_ascii_case(submitter.trim_end_matches('.'))
        {
            return Err(DeliveryError::SubmitterMismatch {
                submitter: submitter.to_owned(),
                contact_info: self.contact_info.clone(),
            });
        }
        Ok(submitter)
    }

    /// A short plain-text account of the report, for the human-readable part (CRLF
    /// line endings).
    fn human_summary(&self, submitter: &str, file_name: &str) -> String {
        let domain = self
            .policies
            .first()
            .map_or("", |p| p.policy.policy_domain.as_str());
        let mut lines = vec![
            "This is an aggregate SMTP TLS report (RFC 8460).".to_owned(),
            String::new(),
            format!("Submitter: {} ({submitter})", self.organization_name),
            format!("Policy domain: {domain}"),
            format!(
                "Period: {} to {}",
                self.date_range.start_datetime, self.date_range.end_datetime
            ),
            format!("Report-ID: {}", self.report_id),
            format!("Contact: {}", self.contact_info),
        ];
        for p in &self.policies {
            lines.push(String::new());
            lines.push(format!(
                "Policy {} for {}:",
                p.policy.policy_type, p.policy.policy_domain
            ));
            lines.push(format!(
                "  {} successful sessions, {} failed",
                p.summary.total_successful_session_count, p.summary.total_failure_session_count,
            ));
            for d in &p.failure_details {
                let mut line = format!("  {} x {}", d.failed_session_count, d.failure.result_type);
                if let Some(code) = &d.failure.failure_reason_code {
                    let _ = write!(line, " ({code})");
                }
                lines.push(line);
                let mut line = String::new();
                if let Some(host) = &d.failure.receiving_mx_hostname {
                    let _ = write!(line, " {host}");
                }
                if let Some(ip) = &d.failure.receiving_ip {
                    let _ = write!(line, " [{ip}]");
                }
                if !line.is_empty() {
                    lines.push(format!("      at{line}"));
                }
            }
        }
        lines.push(String::new());
        lines.push(format!("Attached ({MEDIA_TYPE_GZIP}):"));
        lines.push(file_name.to_owned());
        lines.push(String::new());
        lines.join("\r\n")
    }
}

impl ReportUri {
    /// For a `mailto:` URI, the address to send the report to (RFC 6068: the part between
    /// the scheme and any `?`, percent-decoded); `None` for `https:` or a `mailto:` URI
    /// without an address.
    pub fn mailto_address(&self) -> Option<String> {
        let Self::Mailto(uri) = self else {
            return None;
        };
        let rest = uri.get(..7).filter(|s| s.eq_ignore_ascii_case("mailto:"))?;
        let to = uri[rest.len()..].split('?').next().unwrap_or_default();
        let to = percent_decode(to)?;
        // RFC 6068 allows a list; a report goes to each address, and the first is the
        // common case. A list is not one address.
        (!to.is_empty() && !to.contains(',')).then_some(to)
    }
}

/// The RFC 8460 §5.3 report message: `multipart/report; report-type="tlsrpt"` with a
/// human-readable `text/plain` part and the gzip'd report as an `application/tlsrpt+gzip`
/// attachment (base64) named by [`Report::file_name`].
///
/// The header has `From`, `To`, the §5.3 `Subject` ([`Report::subject`]), `Date`,
/// `Message-ID` (the Subject's `Report-ID`, so every copy and every retry of one report
/// carries the same id), `TLS-Report-Domain` (the policy domain), `TLS-Report-Submitter`,
/// `TLS-Required: No` (RFC 8689: a report about a broken TLS setup must not be held up by
/// it; RFC 8460 §5.3 says to deliver reports despite TLS failures), `Auto-Submitted:
/// auto-generated` (RFC 3834) and `MIME-Version`. Lines end in CRLF, header fields are
/// folded and the attachment's base64 is folded at 76 characters, so the bytes can be
/// DKIM-signed and sent as they are.
///
/// What stays the MTA's job: the DKIM signature RFC 8460 §5.3 requires of the reporting
/// domain (without `l=`; the selector's key record should carry `s=tlsrpt`), the SMTP
/// transaction (deliver despite TLS failures, and leave this session out of the next
/// report), and for `https:` URIs the POST of [`Report::to_gzip`] with `Content-Type:
/// application/tlsrpt+gzip` (RFC 8460 §5.4).
///
/// ```
/// # use dane::tlsrpt::{Aggregator, DateTime, PolicyDetails, ReportMessage, SessionOutcome, UtcDay};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let agg = Aggregator::new("Example Sender", "mailto:tlsrpt@sender.example");
/// let day = UtcDay::containing(DateTime::from_unix(1_459_468_800));
/// agg.record_at(
///     SessionOutcome::starttls_not_supported(PolicyDetails::no_policy_found("mx.example.net")),
///     day.start(),
/// );
/// let report = agg.drain(day).remove(0);
/// let message = ReportMessage::new(&report, "tlsrpt@sender.example", "tlsrpt@example.net", "sender.example")
///     .with_date(DateTime::from_unix(1_459_555_200))
///     .to_bytes()?;
/// let text = String::from_utf8(message)?;
/// assert!(text.contains("TLS-Report-Domain: mx.example.net\r\n"));
/// assert!(text.contains("multipart/report; report-type=\"tlsrpt\""));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ReportMessage<'r> {
    report: &'r Report,
    from: String,
    to: String,
    submitter: String,
    date: Option<DateTime>,
    unique_id: Option<String>,
    tls_required_no: bool,
}

impl<'r> ReportMessage<'r> {
    /// The message for `report` from address `from` to address `to` (an `rua` address,
    /// see [`ReportUri::mailto_address`]), sent by the domain `submitter` (the domain of
    /// the report's `contact-info` address).
    pub fn new(
        report: &'r Report,
        from: impl Into<String>,
        to: impl Into<String>,
        submitter: impl Into<String>,
    ) -> Self {
        Self {
            report,
            from: from.into(),
            to: to.into(),
            submitter: submitter.into(),
            date: None,
            unique_id: None,
            tls_required_no: true,
        }
    }

    /// With this `Date` (default: the system clock when the message is built).
    #[must_use]
    pub fn with_date(mut self, date: DateTime) -> Self {
        self.date = Some(date);
        self
    }

    /// With this `unique-id` in the attachment's file name ([`Report::file_name`]).
    #[must_use]
    pub fn with_unique_id(mut self, unique_id: impl Into<String>) -> Self {
        self.unique_id = Some(unique_id.into());
        self
    }

    /// Without the `TLS-Required: No` header field (for an MTA that must not see it).
    #[must_use]
    pub fn without_tls_required_no(mut self) -> Self {
        self.tls_required_no = false;
        self
    }

    /// The attachment's file name.
    pub fn file_name(&self) -> Result<String, DeliveryError> {
        self.report
            .file_name(&self.submitter, self.unique_id.as_deref(), true)
    }

    /// The message, ready to be DKIM-signed and sent (CRLF line endings).
    pub fn to_bytes(&self) -> Result<Vec<u8>, DeliveryError> {
        let report = self.report;
        let from = checked_address("from", &self.from)?;
        let to = checked_address("to", &self.to)?;
        let subject = report.subject(&self.submitter)?;
        let domain = report.policy_domain()?;
        let file_name = self.file_name()?;
        let report_id = report.subject_report_id(&self.submitter)?;
        let message_id = report_id.trim_start_matches('<').trim_end_matches('>');
        let text = report.human_summary(&self.submitter, &file_name);
        let gzip = report.to_gzip()?;
        let date = self.date.unwrap_or_else(DateTime::now);

        let mut message = MessageBuilder::new()
            .from(Address::new_address(None::<&str>, from))
            .to(Address::new_address(None::<&str>, to))
            // Raw: the Subject is ASCII, and must read as the RFC 8460 §5.3 ABNF has it
            // (no encoded-words), folded only at its spaces.
            .header("Subject", Raw::new(subject))
            .date(Date::new(date.unix()))
            .message_id(MessageId::new(message_id))
            .header("TLS-Report-Domain", Raw::new(domain))
            .header("TLS-Report-Submitter", Raw::new(self.submitter.as_str()));
        if self.tls_required_no {
            message = message.header("TLS-Required", Raw::new("No"));
        }
        let message = message
            .header("Auto-Submitted", Raw::new("auto-generated"))
            .body(MimePart::new(
                ContentType::new("multipart/report").attribute("report-type", "tlsrpt"),
                vec![
                    MimePart::new("text/plain", text),
                    MimePart::new(MEDIA_TYPE_GZIP, gzip).attachment(file_name),
                ],
            ));
        Ok(message.write_to_vec()?)
    }
}

/// `s` if it is a domain name: LDH labels (underscores allowed, as in service names)
/// separated by dots, a final dot allowed, at most 253 octets.
fn checked_domain<'s>(field: &'static str, s: &'s str) -> Result<&'s str, DeliveryError> {
    let bad = |reason| DeliveryError::InvalidField {
        field,
        value: s.to_owned(),
        reason,
    };
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() || name.len() > 253 {
        return Err(bad("a domain name has 1 to 253 octets"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("a label has 1 to 63 octets"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("a label holds only letters, digits, '-' and '_'"));
        }
    }
    Ok(s)
}

/// `s` if it can stand as an `addr-spec` in a header field: `local@domain`, no white space,
/// control characters or characters that would end the address.
fn checked_address<'s>(field: &'static str, s: &'s str) -> Result<&'s str, DeliveryError> {
    let bad = |reason| DeliveryError::InvalidField {
        field,
        value: s.to_owned(),
        reason,
    };
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c))
    {
        return Err(bad(
            "an address holds no white space, control characters or <>,;\"()[]\\",
        ));
    }
    match s.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            checked_domain(field, domain)?;
            Ok(s)
        }
        _ => Err(bad("an address is local-part@domain")),
    }
}

/// The domain of `contact-info` when it is an email address (with or without `mailto:`).
fn contact_domain(contact: &str) -> Option<&str> {
    let contact = contact.trim();
    let address = match contact.get(..7) {
        Some(s) if s.eq_ignore_ascii_case("mailto:") => &contact[7..],
        _ => contact,
    };
    let address = address.split('?').next().unwrap_or_default();
    if address.chars().any(char::is_whitespace) || address.contains("://") {
        return None;
    }
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then_some(domain)
}

/// RFC 5322 `atext`.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// RFC 5322 `dot-atom-text`: atext runs separated by single dots.
fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|a| !a.is_empty() && a.bytes().all(is_atext))
}

/// `s` as dot-atom-text: octets that cannot stand (and `=`) as `=XX`; a dot stays where
/// it separates two non-empty runs.
fn dot_atom_escape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &b) in bytes.iter().enumerate() {
        let dot_ok = b == b'.'
            && i > 0
            && i + 1 < bytes.len()
            && bytes[i - 1] != b'.'
            && bytes[i + 1] != b'.';
        if (is_atext(b) && b != b'=') || dot_ok {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "={b:02X}");
        }
    }
    if out.is_empty() {
        out.push_str("report");
    }
    out
}

/// RFC 3986 percent-decoding to UTF-8; `None` for a bad escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
