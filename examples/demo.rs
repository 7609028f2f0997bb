//! The whole job of the crate, offline: `cargo run --example demo`.
//!
//! 1. An operator's PKI is generated in memory: a root CA, an intermediate CA and two server
//!    certificates, one for `mx.example.net` and one for another customer of the same CA.
//! 2. The operator derives the TLSA records to publish at `_25._tcp.mx.example.net`:
//!    `3 1 1` (DANE-EE, the server's own key) and `2 1 1` (DANE-TA, the intermediate CA).
//! 3. A client verifies the real server's chain under each record, and refuses two impostors:
//!    another customer's valid certificate from the same CA, and a self-signed certificate
//!    with the right name but another key.

use dane::pki_types::{CertificateDer, UnixTime};
use dane::{CertUsage, Matching, Policy, ReferenceName, Selector, Tlsa, TlsaSet, verify};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A certificate with the key and parameters needed to issue others.
struct Ca {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca_params(name: &str) -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::new())?;
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(p)
}

fn root(name: &str) -> Result<Ca> {
    let key = KeyPair::generate()?;
    let params = ca_params(name)?;
    let der = params.self_signed(&key)?.der().clone();
    Ok(Ca {
        der,
        issuer: Issuer::new(params, key),
    })
}

fn intermediate(name: &str, parent: &Ca) -> Result<Ca> {
    let key = KeyPair::generate()?;
    let params = ca_params(name)?;
    let der = params.signed_by(&key, &parent.issuer)?.der().clone();
    Ok(Ca {
        der,
        issuer: Issuer::new(params, key),
    })
}

fn server(host: &str, parent: &Ca) -> Result<CertificateDer<'static>> {
    let params = CertificateParams::new(vec![host.to_owned()])?;
    Ok(params
        .signed_by(&KeyPair::generate()?, &parent.issuer)?
        .der()
        .clone())
}

fn main() -> Result<()> {
    let host = "mx.example.net";

    // 1. The PKI.
    let root = root("Example Root CA")?;
    let int = intermediate("Example Issuing CA", &root)?;
    let mx = server(host, &int)?;
    let other_customer = server("www.example.org", &int)?;
    let self_signed = CertificateParams::new(vec![host.to_owned()])?
        .self_signed(&KeyPair::generate()?)?
        .der()
        .clone();

    // 2. What the operator publishes.
    let owner = format!("_25._tcp.{host}.");
    let ee = Tlsa::from_certificate(&mx, CertUsage::DaneEe, Selector::Spki, Matching::Sha256)?;
    let ta = Tlsa::from_certificate(
        &int.der,
        CertUsage::DaneTa,
        Selector::Spki,
        Matching::Sha256,
    )?;
    println!("Zone data the operator publishes:");
    println!("  {owner} IN TLSA {ee}");
    println!("  {owner} IN TLSA {ta}\n");

    // 3. What a client sees. SMTP profile (RFC 7672); the TLSA base domain is the MX host.
    let policy = Policy::smtp(ReferenceName::new(host)?);
    let now = UnixTime::now();
    let chains: [(&str, Vec<CertificateDer<'static>>); 3] = [
        (
            "the real server (leaf + intermediate)",
            vec![mx.clone(), int.der.clone()],
        ),
        (
            "another customer of the same CA",
            vec![other_customer, int.der.clone()],
        ),
        (
            "a self-signed impostor for the right name",
            vec![self_signed],
        ),
    ];
    let mut refused = 0;
    for (record_name, record) in [("3 1 1 (DANE-EE)", &ee), ("2 1 1 (DANE-TA)", &ta)] {
        println!("RRset {{ {record_name} }}:");
        let rrset = TlsaSet::new([record.clone()]);
        for (label, chain) in &chains {
            match verify(chain, &rrset, &policy, now) {
                Ok(v) => println!("  verified  {label}: {v}"),
                Err(e) => {
                    refused += 1;
                    println!("  REFUSED   {label}: {e} [TLS-RPT: {}]", e.tls_rpt_result());
                }
            }
        }
        println!();
    }
    if refused != 4 {
        return Err(format!("expected 4 refusals, saw {refused}").into());
    }
    println!("Both records authenticate the real server; every impostor was refused.");
    Ok(())
}
