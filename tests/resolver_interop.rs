//! The resolver against real DNS servers: NSD (zones signed by ldns-signzone at test time)
//! and Unbound (validating), from the project's lab (`tests/lab/lab.sh`), in both trust
//! modes: local validation against NSD (DNSKEY and DS anchors) and the AD bit of Unbound.
//!
//! The tests read `LAB_AUTH`, `LAB_RESOLVER`, `LAB_ANCHOR_DNSKEY`, `LAB_ANCHOR_DS` and
//! `LAB_CERTS` (`.ci/run` exports them from the lab's env file). Without them the tests
//! return early with a loud message on a developer machine; with `CI=true` they fail.
#![cfg(feature = "resolver")]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use dane::pki_types::pem::PemObject;
use dane::pki_types::{CertificateDer, UnixTime};
use dane::resolver::{
    DaneStatus, DnsSource, LookupError, Security, ServerSettings, TlsaLookup, TlsaResolver,
    TrustAnchor, TrustedAdSource, ValidatingSource,
};
use dane::{CertUsage, Matching, Selector, Tlsa, verify};
use hickory_proto::rr::{Name, RecordType};

struct Lab {
    auth: SocketAddr,
    resolver: SocketAddr,
    dnskey: String,
    ds: String,
    certs: PathBuf,
}

fn lab() -> Option<Lab> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(auth), Some(resolver), Some(dnskey), Some(ds), Some(certs)) = (
        var("LAB_AUTH"),
        var("LAB_RESOLVER"),
        var("LAB_ANCHOR_DNSKEY"),
        var("LAB_ANCHOR_DS"),
        var("LAB_CERTS"),
    ) else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true but the DNSSEC lab is not configured (LAB_* variables missing): run tests/lab/lab.sh up"
            );
        }
        eprintln!(
            "\n*** resolver_interop: DNSSEC lab not running (LAB_* unset); SKIPPING. Run: bash tests/lab/lab.sh up, then source $LAB_DIR/env ***\n"
        );
        return None;
    };
    Some(Lab {
        auth: auth.parse().expect("LAB_AUTH"),
        resolver: resolver.parse().expect("LAB_RESOLVER"),
        dnskey: std::fs::read_to_string(dnskey).expect("LAB_ANCHOR_DNSKEY"),
        ds: std::fs::read_to_string(ds).expect("LAB_ANCHOR_DS"),
        certs: certs.into(),
    })
}

fn settings(addr: SocketAddr, recursion: bool) -> ServerSettings {
    ServerSettings {
        servers: vec![addr],
        timeout: Duration::from_secs(3),
        attempts: 2,
        recursion_desired: recursion,
    }
}

impl Lab {
    fn chain(&self, name: &str, file: &str) -> Vec<CertificateDer<'static>> {
        let path = self.certs.join(name).join(file);
        CertificateDer::pem_file_iter(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn record(&self, cert: &str, u: u8, s: u8, m: u8) -> String {
        let der = &self.chain(cert, "cert.pem")[0];
        Tlsa::from_certificate(
            der,
            CertUsage::from(u),
            Selector::from(s),
            Matching::from(m),
        )
        .unwrap()
        .to_string()
    }

    /// The three resolvers: local validation (DNSKEY anchor, DS anchor) against NSD, and
    /// the AD bit of Unbound.
    async fn modes(&self) -> Vec<(&'static str, Box<dyn Mode>)> {
        let nsd = settings(self.auth, false);
        let dnskey =
            ValidatingSource::new(&nsd, &TrustAnchor::DnskeyText(self.dnskey.clone())).unwrap();
        let ds = ValidatingSource::connect(&nsd, &TrustAnchor::DsText(self.ds.clone()))
            .await
            .unwrap();
        // The lab's Unbound validates from the lab's anchor: the probe must pass.
        let ad = TrustedAdSource::connect(settings(self.resolver, true), "dane.test")
            .await
            .unwrap();
        vec![
            (
                "local+dnskey",
                Box::new(TlsaResolver::new(dnskey)) as Box<dyn Mode>,
            ),
            ("local+ds", Box::new(TlsaResolver::new(ds))),
            ("trusted-ad", Box::new(TlsaResolver::new(ad))),
        ]
    }
}

/// Object-safe view of `TlsaResolver<S>` for the table.
trait Mode {
    fn is_ad(&self) -> bool;
    fn tlsa<'a>(
        &'a self,
        port: u16,
        host: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<TlsaLookup, LookupError>> + 'a>>;
    fn security<'a>(
        &'a self,
        name: &'a str,
        rtype: RecordType,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Security, LookupError>> + 'a>>;
    fn smtp<'a>(
        &'a self,
        domain: &'a str,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<dane::resolver::SmtpPlan, LookupError>> + 'a>,
    >;
}

impl<S: DnsSource + 'static> Mode for TlsaResolver<S> {
    fn is_ad(&self) -> bool {
        std::any::type_name::<S>().contains("TrustedAd")
    }
    fn tlsa<'a>(
        &'a self,
        port: u16,
        host: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<TlsaLookup, LookupError>> + 'a>>
    {
        Box::pin(self.lookup_tlsa(port, "tcp", host))
    }
    fn security<'a>(
        &'a self,
        name: &'a str,
        rtype: RecordType,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Security, LookupError>> + 'a>>
    {
        Box::pin(async move {
            let n = Name::from_ascii(format!("{name}.")).unwrap();
            self.query(&n, rtype).await.map(|a| a.security)
        })
    }
    fn smtp<'a>(
        &'a self,
        domain: &'a str,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<dane::resolver::SmtpPlan, LookupError>> + 'a>,
    > {
        Box::pin(self.smtp_targets(domain, 25))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Secure,
    Absent,
    Insecure,
    Failed,
}

fn status(got: &Result<TlsaLookup, LookupError>) -> Want {
    match got {
        Ok(TlsaLookup::Secure { .. }) => Want::Secure,
        Ok(TlsaLookup::SecureAbsent) => Want::Absent,
        Ok(TlsaLookup::Insecure) => Want::Insecure,
        Ok(_) => panic!("new TlsaLookup variant"),
        Err(_) => Want::Failed,
    }
}

fn records(got: &Result<TlsaLookup, LookupError>) -> Vec<String> {
    let Ok(TlsaLookup::Secure { records, .. }) = got else {
        return Vec::new();
    };
    let mut v: Vec<String> = records.records().iter().map(|t| t.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn tlsa_matrix_both_trust_modes() {
    let Some(lab) = lab() else { return };
    let z = "dane.test";
    let rows: Vec<(u16, String, Want, Vec<String>)> = vec![
        (
            25,
            format!("mx.secure.{z}"),
            Want::Secure,
            vec![
                lab.record("mx.secure", 3, 1, 1),
                lab.record("mx.secure", 3, 1, 2),
            ],
        ),
        (
            443,
            format!("www.secure.{z}"),
            Want::Secure,
            vec![lab.record("intermediate", 2, 1, 1)],
        ),
        (25, format!("notlsa.secure.{z}"), Want::Absent, vec![]),
        (25, format!("nodata.secure.{z}"), Want::Absent, vec![]),
        (
            25,
            format!("mx.nsec3.{z}"),
            Want::Secure,
            vec![lab.record("mx.nsec3", 3, 1, 1)],
        ),
        (25, format!("notlsa.nsec3.{z}"), Want::Absent, vec![]),
        (25, format!("nodata.nsec3.{z}"), Want::Absent, vec![]),
        (25, format!("mx.insecure.{z}"), Want::Insecure, vec![]),
        (25, format!("mx.bogus.{z}"), Want::Failed, vec![]),
        (25, format!("mx.badds.{z}"), Want::Failed, vec![]),
        (25, format!("mx.expired.{z}"), Want::Failed, vec![]),
        (25, format!("mx.future.{z}"), Want::Failed, vec![]),
        // TLSA owner is a CNAME (RFC 7671 §7): the base domain stays the host.
        (
            25,
            format!("mx-tlsacname.secure.{z}"),
            Want::Secure,
            vec![
                lab.record("mx.secure", 3, 1, 1),
                lab.record("mx.secure", 3, 1, 2),
            ],
        ),
        (
            25,
            format!("mx-tlsacname-ins.secure.{z}"),
            Want::Insecure,
            vec![],
        ),
        (25, format!("mx-cname.secure.{z}"), Want::Absent, vec![]),
        (
            25,
            format!("mx-cname-fallback.secure.{z}"),
            Want::Secure,
            vec![lab.record("mx.secure", 3, 1, 1)],
        ),
        // Wildcards: NSEC (two labels below `*.wild`) and NSEC3.
        (
            25,
            format!("mx.wild.{z}"),
            Want::Secure,
            vec![lab.record("wild", 3, 1, 1)],
        ),
        (
            25,
            format!("mx.wild.nsec3.{z}"),
            Want::Secure,
            vec![lab.record("wild", 3, 1, 1)],
        ),
        // Algorithms 8 and 15.
        (
            25,
            format!("mx.rsa.{z}"),
            Want::Secure,
            vec![lab.record("mx.rsa", 3, 0, 1), lab.record("mx.rsa", 3, 1, 1)],
        ),
        (
            25,
            format!("mx.ed.{z}"),
            Want::Secure,
            vec![lab.record("mx.ed", 3, 1, 1)],
        ),
        (
            25,
            format!("implicit.secure.{z}"),
            Want::Secure,
            vec![lab.record("implicit.secure", 3, 1, 1)],
        ),
    ];
    let mut failures = Vec::new();
    for (mode_name, mode) in lab.modes().await {
        for (port, host, want, want_records) in &rows {
            let got = mode.tlsa(*port, host).await;
            let mut want_records = want_records.clone();
            want_records.sort();
            if status(&got) != *want || (*want == Want::Secure && records(&got) != want_records) {
                failures.push(format!(
                    "{mode_name}: _{port}._tcp.{host}: want {want:?} {want_records:?}, got {got:?}"
                ));
            }
            if let Ok(TlsaLookup::Secure { base, .. }) = &got {
                assert_eq!(base.as_str(), host, "{mode_name}: base domain");
            }
            // Bogus data is reported as such: Bogus by the local validator, SERVFAIL by Unbound.
            if *want == Want::Failed {
                let expect = if mode.is_ad() {
                    LookupError::ServFail
                } else {
                    LookupError::Bogus
                };
                if got.as_ref().err() != Some(&expect) {
                    failures.push(format!("{mode_name}: {host}: want {expect:?}, got {got:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn rollover_unusable_and_mixed_rrsets() {
    let Some(lab) = lab() else { return };
    let policy = dane::Policy::smtp(dane::ReferenceName::new("mx-multi.secure.dane.test").unwrap());
    for (mode_name, mode) in lab.modes().await {
        let got = mode.tlsa(25, "mx-multi.secure.dane.test").await;
        assert_eq!(records(&got).len(), 4, "{mode_name}: {got:?}");
        let Ok(TlsaLookup::Secure { records: set, .. }) = got else {
            unreachable!()
        };
        // Both certificates of the rollover verify against the fetched RRset.
        for cert in ["mx-multi.old", "mx-multi.new"] {
            let v = verify(
                &lab.chain(cert, "chain.pem"),
                &set,
                &policy,
                UnixTime::now(),
            );
            assert!(v.is_ok(), "{mode_name}: {cert}: {v:?}");
        }
        let got = mode.tlsa(25, "mx-unusable.secure.dane.test").await;
        let Ok(TlsaLookup::Secure { records: set, .. }) = got else {
            panic!("{mode_name}: {got:?}")
        };
        assert!(
            !set.has_usable(&policy),
            "{mode_name}: 255 1 1 must be unusable"
        );
        let got = mode.tlsa(25, "mx-mixed.secure.dane.test").await;
        let Ok(TlsaLookup::Secure { records: set, .. }) = got else {
            panic!("{mode_name}: {got:?}")
        };
        assert_eq!(set.usable(&policy).count(), 1, "{mode_name}");
    }
}

#[tokio::test]
async fn fetched_records_authenticate_the_lab_certificates() {
    let Some(lab) = lab() else { return };
    for (mode_name, mode) in lab.modes().await {
        for (host, cert, port) in [
            ("mx.secure.dane.test", "mx.secure", 25),
            ("www.secure.dane.test", "www.secure", 443),
            ("mx.ed.dane.test", "mx.ed", 25),
            ("mx.rsa.dane.test", "mx.rsa", 25),
        ] {
            let Ok(TlsaLookup::Secure { records, base, .. }) = mode.tlsa(port, host).await else {
                panic!("{mode_name}: {host}")
            };
            let policy = dane::Policy::smtp(base);
            let v = verify(
                &lab.chain(cert, "chain.pem"),
                &records,
                &policy,
                UnixTime::now(),
            );
            assert!(v.is_ok(), "{mode_name}: {host}: {v:?}");
            // Another host's certificate is refused.
            let other = verify(
                &lab.chain("mx.insecure", "chain.pem"),
                &records,
                &policy,
                UnixTime::now(),
            );
            assert!(other.is_err(), "{mode_name}: {host}");
        }
    }
}

#[tokio::test]
async fn smtp_plans_both_trust_modes_rfc7672() {
    let Some(lab) = lab() else { return };
    for (mode_name, mode) in lab.modes().await {
        let label = |plan: &Result<dane::resolver::SmtpPlan, LookupError>| -> String {
            match plan {
                Ok(p) => p
                    .targets
                    .iter()
                    .map(|t| t.status.label())
                    .collect::<Vec<_>>()
                    .join(","),
                Err(e) => format!("error:{}", e.category()),
            }
        };
        let failed = if mode.is_ad() {
            "error:servfail"
        } else {
            "error:bogus"
        };
        for (domain, want) in [
            ("secure.dane.test", "dane"),
            ("implicit.secure.dane.test", "dane"),
            ("cname.secure.dane.test", "dane"),
            ("cname-fallback.secure.dane.test", "dane"),
            ("cname-ins.secure.dane.test", "opportunistic"),
            // RFC 7672 §2.2.2 as Postfix: a secure alias into the unsigned zone with TLSA at
            // the alias (whether the server matches is decided at connection time).
            ("cname-ins-dane.secure.dane.test", "dane"),
            ("cname-ins-bad.secure.dane.test", "dane"),
            ("tlsacname.secure.dane.test", "dane"),
            ("tlsacname-ins.secure.dane.test", "opportunistic"),
            ("unusable.secure.dane.test", "tls-unauthenticated"),
            ("multi.secure.dane.test", "dane"),
            ("insecure.dane.test", "opportunistic"),
            ("nsec3.dane.test", "dane"),
            ("rsa.dane.test", "dane"),
            ("ed.dane.test", "dane"),
            ("bogus.dane.test", "unusable"),
            ("badds.dane.test", failed),
            ("expired.dane.test", failed),
        ] {
            let plan = mode.smtp(domain).await;
            assert_eq!(label(&plan), want, "{mode_name}: {domain}: {plan:?}");
        }
        // CNAME'd MX host: SNI and base domain are the expanded name; the alias is accepted.
        let plan = mode.smtp("cname.secure.dane.test").await.unwrap();
        let DaneStatus::Required { sni, policy, .. } = &plan.targets[0].status else {
            unreachable!()
        };
        assert_eq!(sni.as_str(), "mx.secure.dane.test", "{mode_name}");
        let names: Vec<&str> = policy
            .reference_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        // RFC 7672 §3.2.2 as Postfix: the records were found at the expanded name, so the
        // alias is not a reference identifier.
        assert_eq!(
            names,
            ["mx.secure.dane.test", "cname.secure.dane.test"],
            "{mode_name}"
        );
        // A next-hop domain that is a secure CNAME to the name holding the MX RRset: both
        // names are reference identifiers (RFC 7672 §3.2.2, as Postfix).
        let plan = mode.smtp("nh.secure.dane.test").await.unwrap();
        let DaneStatus::Required { policy, .. } = &plan.targets[0].status else {
            panic!("{mode_name}: {plan:?}")
        };
        let names: Vec<&str> = policy
            .reference_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "mx.secure.dane.test",
                "nh.secure.dane.test",
                "cname.secure.dane.test"
            ],
            "{mode_name}"
        );
        // The alias into the unsigned zone: DANE at the alias; the server there (the lab's
        // mx.insecure certificate) matches one RRset and not the other.
        for (domain, matches) in [
            ("cname-ins-dane.secure.dane.test", true),
            ("cname-ins-bad.secure.dane.test", false),
        ] {
            let plan = mode.smtp(domain).await.unwrap();
            let t = &plan.targets[0];
            assert!(
                !t.secure_addresses.is_empty(),
                "{mode_name}: {domain}: {t:?}"
            );
            let DaneStatus::Required { tlsa, policy, .. } = &t.status else {
                unreachable!()
            };
            let v = verify(
                &lab.chain("mx.insecure", "chain.pem"),
                tlsa,
                policy,
                UnixTime::now(),
            );
            assert_eq!(v.is_ok(), matches, "{mode_name}: {domain}: {v:?}");
        }
        let plan = mode.smtp("cname-fallback.secure.dane.test").await.unwrap();
        let DaneStatus::Required { sni, .. } = &plan.targets[0].status else {
            unreachable!()
        };
        assert_eq!(
            sni.as_str(),
            "mx-cname-fallback.secure.dane.test",
            "{mode_name}"
        );
    }
}

/// Two answers hickory 0.26.3's validator alone calls bogus although they are correct
/// (Unbound validates both): a validated CNAME followed by a validated NODATA at the target in
/// one response (`ValidatingSource` follows a CNAME chain one question per link, so the
/// target's NODATA is validated for its own name), and an NSEC wildcard answer one label
/// below the wildcard (the crate checks the RFC 4035 §5.3.4 denial of the next closer name
/// itself when hickory's check fails). Both are secure in every mode.
#[tokio::test]
async fn answers_hickory_alone_calls_bogus_are_secure() {
    let Some(lab) = lab() else { return };
    for (mode_name, mode) in lab.modes().await {
        for (name, rtype) in [
            ("mx-cname.secure.dane.test", RecordType::AAAA),
            ("mx.wild.dane.test", RecordType::A),
            ("foo.wild.dane.test", RecordType::TLSA),
            ("foo._25._tcp.wild.dane.test", RecordType::TLSA),
            // RFC 6672: a signed DNAME and the unsigned CNAME synthesised from it.
            ("mx.dn.secure.dane.test", RecordType::A),
            ("_25._tcp.mx.dn.secure.dane.test", RecordType::TLSA),
        ] {
            let got = mode.security(name, rtype).await;
            assert_eq!(got, Ok(Security::Secure), "{mode_name}: {name} {rtype}");
        }
    }
}

/// A "trusted" resolver that does not validate never sets AD: `connect` refuses it (NSD is
/// authoritative and never sets AD; neither does Unbound for a zone it has no anchor for).
#[tokio::test]
async fn trusted_ad_source_refuses_a_resolver_that_does_not_validate() {
    let Some(lab) = lab() else { return };
    let nsd = TrustedAdSource::connect(settings(lab.auth, false), "dane.test").await;
    assert!(matches!(nsd, Err(LookupError::Config(_))), "{nsd:?}");
    // The lab's Unbound validates from the lab's anchor.
    let unbound = TrustedAdSource::connect(settings(lab.resolver, true), "dane.test").await;
    assert!(unbound.is_ok(), "{unbound:?}");
}

/// Two recipient domains whose MX hosts are CNAMEs to one provider host, delivered one after
/// the other on one resolver: each gets the plan a fresh resolver gives (a cached target must
/// not break the alias), with a signed and with an unsigned provider zone.
#[tokio::test]
async fn customers_aliased_to_one_provider_host_in_both_trust_modes() {
    let Some(lab) = lab() else { return };
    for (mode_name, mode) in lab.modes().await {
        for _ in 0..2 {
            for (domain, want) in [
                ("cust1.secure.dane.test", "dane"),
                ("cust2.rsa.dane.test", "dane"),
                ("cust3.secure.dane.test", "opportunistic"),
                ("cust4.rsa.dane.test", "opportunistic"),
            ] {
                let plan = mode.smtp(domain).await.unwrap();
                let labels: Vec<&str> = plan.targets.iter().map(|t| t.status.label()).collect();
                assert_eq!(labels, [want], "{mode_name}: {domain}: {plan:?}");
            }
        }
    }
}
