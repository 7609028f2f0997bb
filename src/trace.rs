//! Structured diagnostics (feature `tracing`): one `tracing` event per TLSA lookup, per SMTP
//! plan and target, and per certificate decision of the rustls verifier, with the fields an
//! MTA logs. Every event has the target `dane`. Nothing is logged unless the application
//! installs a `tracing` subscriber; without the feature these functions are empty.
//!
//! | event (`message`) | level | fields |
//! |---|---|---|
//! | `tlsa lookup` | DEBUG | `tlsa_name`, `status` (`secure`, `secure-absent`, `insecure`, or `error`), `records`, `ttl`, `base`, `reason` (a failure's category) |
//! | `smtp plan` | DEBUG | `domain`, `mx_secure`, `implicit_mx`, `targets` |
//! | `smtp plan failed` | INFO | `domain`, `reason`, `error` |
//! | `smtp target` | DEBUG (INFO when unusable) | `domain`, `host`, `preference`, `status` (`dane`, `tls-unauthenticated`, `opportunistic`, `unusable`), `secure_addresses`, `insecure_addresses`, `base`, `records`, `reason` |
//! | `dane verified` | DEBUG | `server_name` (the SNI; in SMTP the TLSA base domain), `record` (presentation form), `record_index`, `usage`, `depth`, `name` |
//! | `dane accepted without authentication` | DEBUG | `server_name`, `outcome` (`fallback` or `unauthenticated`) |
//! | `dane refused` | INFO | `server_name`, `reason` ([`Error::category`](crate::Error::category)), `tlsrpt_result` (RFC 8460 result type), `error` |
#![cfg_attr(not(feature = "tracing"), allow(unused_variables))]

#[cfg(feature = "resolver")]
use crate::resolver::{LookupError, SmtpPlan, TlsaLookup};

/// A finished TLSA lookup of `_<port>._<proto>.<host>`.
#[cfg(feature = "resolver")]
pub(crate) fn tlsa_lookup(
    port: u16,
    proto: &str,
    host: &str,
    result: &Result<TlsaLookup, LookupError>,
) {
    #[cfg(feature = "tracing")]
    {
        let tlsa_name = format_args!("_{port}._{proto}.{host}");
        match result {
            Ok(TlsaLookup::Secure {
                records,
                ttl,
                base,
                malformed,
            }) => tracing::debug!(
                target: "dane",
                %tlsa_name,
                status = "secure",
                records = records.len(),
                malformed,
                ttl,
                base = base.as_str(),
                "tlsa lookup"
            ),
            Ok(other) => {
                tracing::debug!(target: "dane", %tlsa_name, status = other.status(), "tlsa lookup")
            }
            Err(e) => tracing::debug!(
                target: "dane",
                %tlsa_name,
                status = "error",
                reason = e.category(),
                error = %e,
                "tlsa lookup"
            ),
        }
    }
}

/// The result of `smtp_targets(domain, _)`.
#[cfg(feature = "resolver")]
pub(crate) fn smtp_plan(domain: &str, plan: &Result<SmtpPlan, LookupError>) {
    #[cfg(feature = "tracing")]
    {
        use crate::resolver::DaneStatus;
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => {
                tracing::info!(target: "dane", domain, reason = e.category(), error = %e, "smtp plan failed");
                return;
            }
        };
        tracing::debug!(
            target: "dane",
            domain,
            mx_secure = plan.mx_secure,
            implicit_mx = plan.implicit_mx,
            targets = plan.targets.len(),
            "smtp plan"
        );
        for t in &plan.targets {
            let host = t.host.to_ascii();
            let (base, records, reason) = match &t.status {
                DaneStatus::Required { tlsa, sni, .. } => {
                    (Some(sni.as_str()), Some(tlsa.len()), None)
                }
                DaneStatus::TlsRequiredUnauthenticated { sni, tlsa } => {
                    (Some(sni.as_str()), Some(tlsa.len()), None)
                }
                DaneStatus::Unusable(e) => (None, None, Some(e.category())),
                _ => (None, None, None),
            };
            if reason.is_some() {
                tracing::info!(
                    target: "dane",
                    domain,
                    %host,
                    preference = t.preference,
                    status = t.status.label(),
                    reason,
                    "smtp target"
                );
            } else {
                tracing::debug!(
                    target: "dane",
                    domain,
                    %host,
                    preference = t.preference,
                    status = t.status.label(),
                    secure_addresses = t.secure_addresses.len(),
                    insecure_addresses = t.insecure_addresses.len(),
                    base,
                    records,
                    "smtp target"
                );
            }
        }
    }
}

/// A certificate decision of the rustls verifier.
#[cfg(feature = "rustls")]
pub(crate) fn verifier_decision(
    server_name: &pki_types::ServerName<'_>,
    result: &Result<crate::Outcome, rustls::Error>,
) {
    #[cfg(feature = "tracing")]
    {
        use crate::Outcome;
        let server_name = server_name.to_str();
        match result {
            Ok(Outcome::Dane(v)) => tracing::debug!(
                target: "dane",
                server_name = %server_name,
                record = %v.record(),
                record_index = v.record_index(),
                usage = u8::from(v.usage()),
                depth = v.depth(),
                name = v.name().map(|n| n.as_str()),
                "dane verified"
            ),
            Ok(other) => tracing::debug!(
                target: "dane",
                server_name = %server_name,
                outcome = match other {
                    Outcome::FallBack => "fallback",
                    Outcome::Unauthenticated => "unauthenticated",
                    _ => "other",
                },
                "dane accepted without authentication"
            ),
            Err(e) => {
                let dane = match e {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o)) => {
                        o.0.downcast_ref::<crate::Error>()
                    }
                    _ => None,
                };
                match dane {
                    Some(d) => tracing::info!(
                        target: "dane",
                        server_name = %server_name,
                        reason = d.category(),
                        tlsrpt_result = d.tls_rpt_result().as_str(),
                        error = %d,
                        "dane refused"
                    ),
                    None => tracing::info!(
                        target: "dane",
                        server_name = %server_name,
                        reason = "tls",
                        error = %e,
                        "dane refused"
                    ),
                }
            }
        }
    }
}
