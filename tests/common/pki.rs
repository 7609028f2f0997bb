//! Certificate hierarchies generated at test time (rcgen): no certificate is committed.
#![allow(dead_code, reason = "each test binary uses a different part")]

use dane::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// Key algorithms the tests cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    P256,
    Ed25519,
    Rsa2048,
}

pub const ALGS: [Alg; 3] = [Alg::P256, Alg::Ed25519, Alg::Rsa2048];

/// A fresh key. RSA keys come from the `rsa` crate (ring cannot generate them).
pub fn key(alg: Alg) -> KeyPair {
    match alg {
        Alg::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        Alg::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
        Alg::Rsa2048 => {
            use rsa::pkcs8::EncodePrivateKey;
            let k = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
            let der = k.to_pkcs8_der().unwrap().as_bytes().to_vec();
            KeyPair::from_pkcs8_der_and_sign_algo(
                &PrivatePkcs8KeyDer::from(der),
                &rcgen::PKCS_RSA_SHA256,
            )
            .unwrap()
        }
    }
}

/// Unix seconds of a date, for validity windows and `now`.
pub fn ymd(y: i32, m: u8, d: u8) -> u64 {
    rcgen::date_time_ymd(y, m, d).unix_timestamp() as u64
}

/// The `now` the tests verify at: 2026-06-01.
pub fn now() -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(ymd(2026, 6, 1)))
}

/// What a generated certificate looks like.
#[derive(Clone, Debug)]
pub struct Spec {
    pub cn: String,
    pub dns: Vec<String>,
    pub alg: Alg,
    pub ca: bool,
    pub not_before: (i32, u8, u8),
    pub not_after: (i32, u8, u8),
    pub eku: Vec<ExtendedKeyUsagePurpose>,
    /// iPAddress subjectAltNames.
    pub ips: Vec<std::net::IpAddr>,
    /// nameConstraints: permitted and excluded dNSName subtrees (none: no extension).
    pub permitted_dns: Vec<String>,
    pub excluded_dns: Vec<String>,
    /// Extra extensions, as (OID arcs, DER extnValue contents), added verbatim.
    pub extra_exts: Vec<(Vec<u64>, Vec<u8>)>,
}

impl Spec {
    pub fn leaf(dns: &[&str]) -> Self {
        Self {
            cn: dns.first().map_or("leaf".into(), |s| s.to_string()),
            dns: dns.iter().map(|s| s.to_string()).collect(),
            alg: Alg::P256,
            ca: false,
            not_before: (2025, 1, 1),
            not_after: (2027, 1, 1),
            eku: vec![ExtendedKeyUsagePurpose::ServerAuth],
            ips: vec![],
            permitted_dns: vec![],
            excluded_dns: vec![],
            extra_exts: vec![],
        }
    }
    pub fn ca(cn: &str) -> Self {
        Self {
            cn: cn.into(),
            dns: vec![],
            alg: Alg::P256,
            ca: true,
            not_before: (2020, 1, 1),
            not_after: (2040, 1, 1),
            eku: vec![],
            ips: vec![],
            permitted_dns: vec![],
            excluded_dns: vec![],
            extra_exts: vec![],
        }
    }
    pub fn alg(mut self, alg: Alg) -> Self {
        self.alg = alg;
        self
    }
    pub fn valid(mut self, from: (i32, u8, u8), to: (i32, u8, u8)) -> Self {
        self.not_before = from;
        self.not_after = to;
        self
    }
    pub fn cn(mut self, cn: &str) -> Self {
        self.cn = cn.into();
        self
    }
    pub fn eku(mut self, eku: Vec<ExtendedKeyUsagePurpose>) -> Self {
        self.eku = eku;
        self
    }

    pub fn ip(mut self, ip: &str) -> Self {
        self.ips.push(ip.parse().unwrap());
        self
    }
    /// nameConstraints with these permitted dNSName subtrees.
    pub fn permit(mut self, dns: &[&str]) -> Self {
        self.permitted_dns = dns.iter().map(|s| s.to_string()).collect();
        self
    }
    /// nameConstraints with these excluded dNSName subtrees.
    pub fn exclude(mut self, dns: &[&str]) -> Self {
        self.excluded_dns = dns.iter().map(|s| s.to_string()).collect();
        self
    }
    /// An extra extension (OID arcs, extnValue contents), not critical.
    pub fn extension(mut self, oid: &[u64], value: &[u8]) -> Self {
        self.extra_exts.push((oid.to_vec(), value.to_vec()));
        self
    }

    fn params(&self) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, self.cn.clone());
        p.subject_alt_names = self
            .dns
            .iter()
            .map(|d| SanType::DnsName(d.clone().try_into().unwrap()))
            .chain(self.ips.iter().map(|ip| SanType::IpAddress(*ip)))
            .collect();
        if !self.permitted_dns.is_empty() || !self.excluded_dns.is_empty() {
            let subtrees = |names: &[String]| {
                names
                    .iter()
                    .map(|n| rcgen::GeneralSubtree::DnsName(n.clone()))
                    .collect()
            };
            p.name_constraints = Some(rcgen::NameConstraints {
                permitted_subtrees: subtrees(&self.permitted_dns),
                excluded_subtrees: subtrees(&self.excluded_dns),
            });
        }
        p.custom_extensions = self
            .extra_exts
            .iter()
            .map(|(oid, value)| rcgen::CustomExtension::from_oid_content(oid, value.clone()))
            .collect();
        p.not_before =
            rcgen::date_time_ymd(self.not_before.0, self.not_before.1, self.not_before.2);
        p.not_after = rcgen::date_time_ymd(self.not_after.0, self.not_after.1, self.not_after.2);
        p.extended_key_usages = self.eku.clone();
        if self.ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        } else {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        p
    }
}

/// A generated certificate with its key.
pub struct Cert {
    pub der: CertificateDer<'static>,
    pub pem: String,
    pub key: KeyPair,
    params: CertificateParams,
}

impl Cert {
    /// A self-signed certificate.
    pub fn self_signed(spec: &Spec) -> Self {
        let key = key(spec.alg);
        let params = spec.params();
        let cert = params.self_signed(&key).unwrap();
        let (der, pem) = (cert.der().clone(), cert.pem());
        Self {
            der,
            pem,
            key,
            params,
        }
    }

    /// A certificate issued by `self`.
    pub fn issue(&self, spec: &Spec) -> Cert {
        let key = key(spec.alg);
        let params = spec.params();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let (der, pem) = (cert.der().clone(), cert.pem());
        Cert {
            der,
            pem,
            key,
            params,
        }
    }

    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }

    /// DER of the SubjectPublicKeyInfo.
    pub fn spki(&self) -> Vec<u8> {
        rcgen::PublicKeyData::subject_public_key_info(&self.key)
    }
}

/// root → intermediate → leaf, all of `alg`.
pub struct Hierarchy {
    pub root: Cert,
    pub intermediate: Cert,
    pub leaf: Cert,
}

impl Hierarchy {
    pub fn new(alg: Alg, leaf_names: &[&str]) -> Self {
        let root = Cert::self_signed(&Spec::ca("Test Root CA").alg(alg));
        let intermediate = root.issue(&Spec::ca("Test Intermediate CA").alg(alg));
        let leaf = intermediate.issue(&Spec::leaf(leaf_names).alg(alg));
        Self {
            root,
            intermediate,
            leaf,
        }
    }

    /// leaf, intermediate, root: what a server that sends its root sends.
    pub fn chain3(&self) -> Vec<CertificateDer<'static>> {
        vec![
            self.leaf.der.clone(),
            self.intermediate.der.clone(),
            self.root.der.clone(),
        ]
    }

    /// leaf, intermediate: the usual server chain.
    pub fn chain2(&self) -> Vec<CertificateDer<'static>> {
        vec![self.leaf.der.clone(), self.intermediate.der.clone()]
    }
}
