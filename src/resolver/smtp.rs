//! RFC 7672 §2 (SMTP) and RFC 7673 (SRV): from a destination to its targets, each with the
//! DANE status that decides how to connect.

use std::net::IpAddr;
use std::time::Instant;

use hickory_proto::rr::{Name, RData, RecordType};

use super::{
    AnswerKind, DnsAnswer, DnsSource, LookupError, Security, TlsaLookup, TlsaResolver, fqdn,
};
use crate::names::ReferenceName;
use crate::rrset::TlsaSet;
use crate::verify::{Policy, Profile};

/// How to connect to one target.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DaneStatus {
    /// A secure TLSA RRset with usable records: TLS is mandatory and the server must be
    /// authenticated by these records under this policy (RFC 7672 §2.2). Send `sni` (the
    /// TLSA base domain, RFC 7672 §8.1) as SNI.
    Required {
        /// The records.
        tlsa: TlsaSet,
        /// SMTP profile (Generic for SRV targets), TLSA base domain first, then the other
        /// reference identifiers.
        policy: Policy,
        /// The SNI name.
        sni: ReferenceName,
    },
    /// A secure TLSA RRset whose records are all unusable: TLS is mandatory but the server
    /// cannot be authenticated (RFC 7672 §2.2).
    TlsRequiredUnauthenticated {
        /// The SNI name (the TLSA base domain, RFC 7672 §8.1).
        sni: ReferenceName,
        /// The records, none of them usable (the `policy-string` of a TLS-RPT report).
        tlsa: TlsaSet,
    },
    /// DANE does not apply (insecure data, or a validated absence of TLSA records):
    /// opportunistic TLS.
    Opportunistic,
    /// A lookup on the way was bogus or failed: do not deliver to this target (try the next,
    /// or defer). Never downgraded to opportunistic.
    Unusable(LookupError),
}

impl DaneStatus {
    /// `dane`, `tls-unauthenticated`, `opportunistic` or `unusable`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Required { .. } => "dane",
            Self::TlsRequiredUnauthenticated { .. } => "tls-unauthenticated",
            Self::Opportunistic => "opportunistic",
            Self::Unusable(_) => "unusable",
        }
    }
}

/// One DNS lookup a plan or a target was decided on, in the order it was made: what a
/// diagnostic trace prints (`danecheck -v`, in the spirit of `posttls-finger -v`). The
/// steps record answers already used for the decision; reading them makes no query and
/// changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// A query (MX, SRV, A, AAAA, or the CNAME of an alias) and its answer with its DNSSEC
    /// status, after any CNAME chain ([`AnswerKind::Records`] lists the chain), or why it
    /// failed.
    Query {
        /// The name asked.
        name: Name,
        /// The type asked.
        rtype: RecordType,
        /// The answer, or the failure.
        answer: Result<DnsAnswer, LookupError>,
    },
    /// A TLSA lookup at `_<port>._<proto>.<host>` and its result.
    Tlsa {
        /// The port of the owner name.
        port: u16,
        /// The protocol label of the owner name (`tcp`).
        proto: String,
        /// The host (the TLSA base domain asked for).
        host: String,
        /// The result, or the failure.
        result: Result<TlsaLookup, LookupError>,
    },
}

/// How to look at one target: which TLSA name, which rules.
struct How<'a> {
    port: u16,
    proto: &'a str,
    /// Further reference identifiers (the SMTP next-hop domain under a secure MX, and its
    /// CNAME-expanded form when the next-hop domain is a secure alias).
    extra_names: Vec<ReferenceName>,
    profile: Profile,
    /// False below an insecure SRV RRset: no TLSA lookup at all.
    dane_applies: bool,
}

/// One host to connect to, in preference order.
#[derive(Debug, Clone)]
pub struct Target {
    /// The host name as published (MX exchange or SRV target).
    pub host: Name,
    /// MX preference or SRV priority.
    pub preference: u16,
    /// SRV port (the SMTP port for MX targets).
    pub port: u16,
    /// Addresses whose lookup was secure: only connections to these are covered by
    /// [`DaneStatus::Required`]. For a host that is a secure CNAME into an unsigned zone
    /// with a secure TLSA RRset at the host's own name (RFC 7672 §2.2.2, as Postfix), the
    /// target's addresses are here too: DANE applies to them through the alias.
    pub secure_addresses: Vec<IpAddr>,
    /// Addresses whose lookup was insecure: opportunistic TLS only.
    pub insecure_addresses: Vec<IpAddr>,
    /// What DANE requires of connections to the secure addresses.
    pub status: DaneStatus,
    /// When the first of the answers this target was decided on (addresses, TLSA RRset, or
    /// a remembered failure) leaves the cache: decide again after it (RFC 7672 §2.2 caching
    /// follows the DNS TTLs).
    pub expires: Instant,
    /// The lookups made for this target, in order (see [`Target::steps`]).
    steps: Vec<Step>,
}

impl Target {
    /// The DNS lookups this target was decided on, in the order made: its A and AAAA
    /// queries (with any CNAME chain), the CNAME query of an alias into an unsigned zone,
    /// and its TLSA lookups (the CNAME-expanded name first, RFC 7672 §2.2.2). For
    /// diagnostics; the decision is [`Target::status`].
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

/// The result of [`TlsaResolver::smtp_targets`].
#[derive(Debug, Clone)]
pub struct SmtpPlan {
    /// The next-hop (recipient) domain.
    pub domain: Name,
    /// Whether the MX RRset (or its absence) was secure.
    pub mx_secure: bool,
    /// Whether there was no MX RRset, so the domain is its own host (RFC 5321 §5.1).
    pub implicit_mx: bool,
    /// The targets in MX preference order; empty for a null MX (RFC 7505).
    pub targets: Vec<Target>,
    /// When the first of the answers the plan was made from (the MX RRset and every
    /// target's) leaves the cache: the plan is stale after it.
    pub expires: Instant,
    /// The MX query (see [`SmtpPlan::steps`]).
    steps: Vec<Step>,
}

impl SmtpPlan {
    /// The DNS lookups of the plan itself, in the order made: the MX query of the domain,
    /// with its DNSSEC status and any CNAME chain. Each target's own lookups are
    /// [`Target::steps`]. For diagnostics.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

/// The result of [`TlsaResolver::srv_targets`].
#[derive(Debug, Clone)]
pub struct SrvPlan {
    /// Whether the SRV RRset was secure; DANE applies only then (RFC 7673 §3).
    pub srv_secure: bool,
    /// The targets in priority order.
    pub targets: Vec<Target>,
    /// When the first of the answers the plan was made from leaves the cache.
    pub expires: Instant,
    /// The SRV query (see [`SrvPlan::steps`]).
    steps: Vec<Step>,
}

impl SrvPlan {
    /// The DNS lookups of the plan itself: the SRV query, with its DNSSEC status. Each
    /// target's own lookups are [`Target::steps`]. For diagnostics.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

impl<S: DnsSource> TlsaResolver<S> {
    /// RFC 7672 §2: the delivery targets of `domain` in MX order, with per target the DANE
    /// status for port `port` (25 in production).
    ///
    /// A bogus or failed MX lookup is an error for the whole domain (defer). A failure for
    /// one host makes only that host [`DaneStatus::Unusable`].
    pub async fn smtp_targets(&self, domain: &str, port: u16) -> Result<SmtpPlan, LookupError> {
        let plan = self.smtp_targets_inner(domain, port).await;
        crate::trace::smtp_plan(domain, &plan);
        plan
    }

    async fn smtp_targets_inner(&self, domain: &str, port: u16) -> Result<SmtpPlan, LookupError> {
        let domain_name = fqdn(domain)?;
        let next_hop = ReferenceName::new(domain)
            .map_err(|e| LookupError::InvalidName(format!("{domain}: {e}")))?;
        let (mx, mut expires) = self.query_until(&domain_name, RecordType::MX).await;
        let steps = vec![Step::Query {
            name: domain_name.clone(),
            rtype: RecordType::MX,
            answer: mx.clone(),
        }];
        let mx = mx?;
        let mx_secure = mx.security == Security::Secure;
        // RFC 7672 §2.2.1, §3.2.2: the next-hop domain is a reference identifier only when
        // the MX RRset is secure (for an implicit MX it is the host itself). When the
        // next-hop domain is a secure CNAME to the name that holds the MX RRset, both names
        // are (as Postfix does).
        let mut extra_names = Vec::new();
        if mx_secure {
            extra_names.push(next_hop.clone());
            if let AnswerKind::Records { owner, cnames, .. } = &mx.kind
                && !cnames.is_empty()
                && let Ok(expanded) = ReferenceName::new(owner.to_ascii().trim_end_matches('.'))
            {
                extra_names.push(expanded);
            }
        }
        let (hosts, implicit_mx) = match mx.kind {
            AnswerKind::Records { rdata, .. } => {
                let mut hosts: Vec<(u16, Name)> = rdata
                    .iter()
                    .filter_map(|r| match r {
                        RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
                        _ => None,
                    })
                    .collect();
                // RFC 7505: a null MX ("0 .") means the domain accepts no mail.
                if hosts.iter().any(|(_, h)| h.is_root()) {
                    hosts.clear();
                }
                hosts.sort_by_key(|(pref, _)| *pref);
                (hosts, false)
            }
            AnswerKind::NoData { .. } => (vec![(0, domain_name.clone())], true),
            AnswerKind::NxDomain { .. } => return Err(LookupError::NoSuchDomain),
        };
        let mut targets = Vec::with_capacity(hosts.len());
        for (preference, host) in hosts {
            let how = How {
                port,
                proto: "tcp",
                extra_names: extra_names.clone(),
                profile: Profile::Smtp,
                dane_applies: true,
            };
            let target = self.target(host, preference, &how).await;
            expires = expires.min(target.expires);
            targets.push(target);
        }
        Ok(SmtpPlan {
            domain: domain_name,
            mx_secure,
            implicit_mx,
            targets,
            expires,
            steps,
        })
    }

    /// RFC 7673: the targets of `_<service>._<proto>.<domain>` SRV in priority order, each
    /// with its DANE status for `_<port>._<proto>.<target>`. DANE applies only when the SRV
    /// RRset is secure; otherwise every target is opportunistic.
    pub async fn srv_targets(
        &self,
        service: &str,
        proto: &str,
        domain: &str,
    ) -> Result<SrvPlan, LookupError> {
        let name = fqdn(&format!("_{service}._{proto}.{domain}"))?;
        let (srv, mut expires) = self.query_until(&name, RecordType::SRV).await;
        let steps = vec![Step::Query {
            name: name.clone(),
            rtype: RecordType::SRV,
            answer: srv.clone(),
        }];
        let srv = srv?;
        let srv_secure = srv.security == Security::Secure;
        let mut entries: Vec<(u16, u16, u16, Name)> = match srv.kind {
            AnswerKind::Records { rdata, .. } => rdata
                .iter()
                .filter_map(|r| match r {
                    RData::SRV(s) => Some((s.priority, s.weight, s.port, s.target.clone())),
                    _ => None,
                })
                .filter(|(_, _, _, target)| !target.is_root())
                .collect(),
            _ => Vec::new(),
        };
        entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut targets = Vec::with_capacity(entries.len());
        for (priority, _, port, host) in entries {
            // RFC 7673 §3: DANE applies only below a secure SRV RRset; otherwise no TLSA
            // lookup is made at all.
            let how = How {
                port,
                proto,
                extra_names: Vec::new(),
                profile: Profile::Generic,
                dane_applies: srv_secure,
            };
            let target = self.target(host, priority, &how).await;
            expires = expires.min(target.expires);
            targets.push(target);
        }
        Ok(SrvPlan {
            srv_secure,
            targets,
            expires,
            steps,
        })
    }

    /// Address and TLSA lookups for one host (RFC 7672 §2.2, §2.2.2).
    async fn target(&self, host: Name, preference: u16, how: &How<'_>) -> Target {
        let (port, proto) = (how.port, how.proto);
        let mut t = Target {
            host: host.clone(),
            preference,
            port,
            secure_addresses: Vec::new(),
            insecure_addresses: Vec::new(),
            status: DaneStatus::Opportunistic,
            // Lowered by every lookup below (the first one always runs).
            expires: far_future(),
            steps: Vec::new(),
        };
        let mut expanded: Option<Name> = None;
        // Insecure CNAME chains are followed for addresses too, but only a secure one may
        // change the TLSA base domain.
        let mut chain_end: Option<(Name, bool)> = None;
        for rtype in [RecordType::A, RecordType::AAAA] {
            // Once a CNAME chain is known (from the A answer), ask for the AAAA records at its
            // end: the same data (RFC 1034 §3.6.2), one validation step fewer. (hickory
            // 0.26.3 reports a validated CNAME followed by a validated NODATA as bogus.)
            let name = chain_end.as_ref().map_or(&host, |(end, _)| end);
            let (answer, expires) = self.query_until(name, rtype).await;
            t.expires = t.expires.min(expires);
            t.steps.push(Step::Query {
                name: name.clone(),
                rtype,
                answer: answer.clone(),
            });
            match answer {
                Ok(answer) => {
                    let chain_secure = chain_end.as_ref().is_none_or(|(_, secure)| *secure);
                    let secure = answer.security == Security::Secure && chain_secure;
                    if let AnswerKind::Records {
                        rdata,
                        owner,
                        cnames,
                        ..
                    } = answer.kind
                    {
                        if !cnames.is_empty() {
                            chain_end = Some((owner.clone(), secure));
                            if secure {
                                expanded = Some(owner);
                            }
                        }
                        let list = if secure {
                            &mut t.secure_addresses
                        } else {
                            &mut t.insecure_addresses
                        };
                        list.extend(rdata.iter().filter_map(|r| match r {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                            _ => None,
                        }));
                    }
                }
                Err(e) => {
                    // RFC 7672 §2.2: a failed address lookup makes the host unusable.
                    t.status = DaneStatus::Unusable(e);
                    return t;
                }
            }
        }
        if !how.dane_applies {
            return t;
        }
        let original = host.to_ascii().trim_end_matches('.').to_owned();
        let mut candidates = Vec::new();
        // RFC 7672 §2.2.2, as Postfix applies it: a host that is a secure CNAME into an
        // unsigned zone keeps DANE at its own (original) name. The address answer says only
        // that the chain as a whole is insecure: ask for the alias's own CNAME record.
        let mut alias_into_insecure = false;
        if t.secure_addresses.is_empty() && !t.insecure_addresses.is_empty() && chain_end.is_some()
        {
            let (cname, expires) = self.query_until(&host, RecordType::CNAME).await;
            t.expires = t.expires.min(expires);
            t.steps.push(Step::Query {
                name: host.clone(),
                rtype: RecordType::CNAME,
                answer: cname.clone(),
            });
            match cname {
                Ok(DnsAnswer {
                    security: Security::Secure,
                    kind: AnswerKind::Records { .. },
                }) => alias_into_insecure = true,
                // An insecure alias (or no CNAME after all): no DANE.
                Ok(_) => return t,
                Err(e) => {
                    t.status = DaneStatus::Unusable(e);
                    return t;
                }
            }
        } else if t.secure_addresses.is_empty() {
            // RFC 7672 §2.2: TLSA records apply only to hosts whose addresses are secure.
            return t;
        } else if let Some(e) = &expanded {
            // RFC 7672 §2.2.2: with a secure CNAME chain, the fully expanded name first, then
            // the original name.
            candidates.push(e.to_ascii().trim_end_matches('.').to_owned());
        }
        candidates.push(original);
        for base in candidates {
            let (lookup, expires) = self.lookup_tlsa_until(port, proto, &base).await;
            t.expires = t.expires.min(expires);
            t.steps.push(Step::Tlsa {
                port,
                proto: proto.to_owned(),
                host: base.clone(),
                result: lookup.clone(),
            });
            match lookup {
                Ok(TlsaLookup::Secure { records, base, .. }) => {
                    // RFC 7672 §3.2.2: the TLSA base domain (the name the RRset was found
                    // at: the expanded name, or the original one) and, with a secure MX
                    // RRset, the next-hop domain. The pre-expansion host name is not one
                    // when the records were found at the expanded name (as Postfix).
                    let mut policy = match how.profile {
                        Profile::Smtp => Policy::smtp(base.clone()),
                        _ => Policy::generic(base.clone()),
                    };
                    for n in &how.extra_names {
                        policy = policy.with_reference_name(n.clone());
                    }
                    if alias_into_insecure {
                        // DANE covers the target's addresses: they were reached through the
                        // alias's secure CNAME, and the server must match these records.
                        let addresses = std::mem::take(&mut t.insecure_addresses);
                        t.secure_addresses = addresses;
                    }
                    t.status = if records.has_usable(&policy) {
                        DaneStatus::Required {
                            tlsa: records,
                            policy,
                            sni: base,
                        }
                    } else {
                        DaneStatus::TlsRequiredUnauthenticated {
                            sni: base,
                            tlsa: records,
                        }
                    };
                    return t;
                }
                Ok(TlsaLookup::SecureAbsent | TlsaLookup::Insecure) => continue,
                Err(e) => {
                    t.status = DaneStatus::Unusable(e);
                    return t;
                }
            }
        }
        t
    }
}

/// An instant later than any cache expiry.
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(std::time::Duration::from_secs(u64::from(u32::MAX)))
        .unwrap_or(now)
}
