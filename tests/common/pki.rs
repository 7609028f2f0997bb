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
    /// Leave basicConstraints out (only with `ca: false`).
    pub no_basic_constraints: bool,
    /// keyUsage bits instead of the default for `ca` (empty: no keyUsage extension).
    pub key_usages: Option<Vec<KeyUsagePurpose>>,
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
            no_basic_constraints: false,
            key_usages: None,
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
            no_basic_constraints: false,
            key_usages: None,
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
    /// A certificate that is no CA by its basicConstraints: CA:FALSE (`with_bc`) or no
    /// basicConstraints at all, with these keyUsage bits (empty: no keyUsage).
    pub fn not_ca(cn: &str, with_bc: bool, key_usages: &[KeyUsagePurpose]) -> Self {
        Self {
            ca: false,
            no_basic_constraints: !with_bc,
            key_usages: Some(key_usages.to_vec()),
            ..Self::ca(cn)
        }
    }
    /// These keyUsage bits instead of the default (empty: no keyUsage extension).
    pub fn key_usages(mut self, key_usages: &[KeyUsagePurpose]) -> Self {
        self.key_usages = Some(key_usages.to_vec());
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
            p.is_ca = if self.no_basic_constraints {
                IsCa::NoCa
            } else {
                IsCa::ExplicitNoCa
            };
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        if let Some(key_usages) = &self.key_usages {
            p.key_usages = key_usages.clone();
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

    /// The same certificate as X.509 v1: no version field, no extensions, signed again by
    /// `signer` (its issuer's key; its own for a self-signed one). Same name and key, so
    /// certificates it issues chain to it.
    pub fn to_v1(&self, signer: &KeyPair) -> Cert {
        use rcgen::SigningKey;
        let cert = der_contents(&self.der, 0x30);
        let tbs_whole = der_first(cert);
        let after_tbs = &cert[tbs_whole.len()..];
        let sig_alg = der_first(after_tbs);
        let mut tbs = der_contents(tbs_whole, 0x30);
        let mut fields = Vec::new();
        while !tbs.is_empty() {
            let f = der_first(tbs);
            tbs = &tbs[f.len()..];
            // Drop `[0]` version and `[3]` extensions.
            if f[0] != 0xa0 && f[0] != 0xa3 {
                fields.extend_from_slice(f);
            }
        }
        let tbs = der_tlv(0x30, &fields);
        let mut sig = vec![0];
        sig.extend(signer.sign(&tbs).unwrap());
        let body = [tbs, sig_alg.to_vec(), der_tlv(0x03, &sig)].concat();
        let der = der_tlv(0x30, &body);
        let pem = pem_cert(&der);
        Cert {
            der: CertificateDer::from(der),
            pem,
            key: KeyPair::from_pkcs8_der_and_sign_algo(
                &PrivatePkcs8KeyDer::from(self.key.serialize_der()),
                self.key.algorithm(),
            )
            .unwrap(),
            params: self.params.clone(),
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

/// The first TLV of `der`, whole (definite lengths up to 4 octets).
fn der_first(der: &[u8]) -> &[u8] {
    let (header, len) = match der[1] {
        l if l < 0x80 => (2, l as usize),
        l => {
            let n = (l & 0x7f) as usize;
            (
                2 + n,
                der[2..2 + n].iter().fold(0, |a, &b| a << 8 | b as usize),
            )
        }
    };
    &der[..header + len]
}

/// The contents of the TLV `der`, which must have `tag`.
fn der_contents(der: &[u8], tag: u8) -> &[u8] {
    assert_eq!(der[0], tag);
    let whole = der_first(der);
    let header = if der[1] < 0x80 {
        2
    } else {
        2 + (der[1] & 0x7f) as usize
    };
    &whole[header..]
}

/// A TLV of `tag` around `contents`.
fn der_tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(contents);
    out
}

/// PEM of a DER certificate.
fn pem_cert(der: &[u8]) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, &b)| a | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
