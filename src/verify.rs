//! The matcher: [`Policy`], [`verify`], [`Verified`] and the per-usage rules.

use std::fmt;
use std::sync::Arc;

use pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use sha2::{Digest, Sha256, Sha512};

use crate::cert::{self, CertView, PresentedNames};
use crate::der;
use crate::error::Error;
use crate::names::{self, ReferenceName};
use crate::pkix::PkixRoots;
use crate::record::{CertUsage, Matching, Selector, Tlsa};
use crate::rrset::TlsaSet;

/// Which RFC's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// SMTP (RFC 7672): PKIX-TA(0) and PKIX-EE(1) records are unusable (§3.1.3), DANE-EE
    /// skips name checks (§3.1.1), reference identifiers are the TLSA base domain and, with a
    /// secure MX RRset, the next-hop domain (§3.2.2).
    Smtp,
    /// Any other TLS service (RFC 6698, RFC 7671): all four usages; DANE-EE skips name checks
    /// (RFC 7671 §5.1) unless [`Policy::with_dane_ee_name_checks`] asks for them.
    Generic,
}

/// What a peer must satisfy besides the TLSA records: profile, reference identifiers, PKIX
/// roots and switches.
///
/// ```
/// use dane::{Policy, ReferenceName};
/// let policy = Policy::smtp(ReferenceName::new("mx.example.net")?)
///     .with_reference_name(ReferenceName::new("example.net")?);
/// assert_eq!(policy.reference_names().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Policy {
    profile: Profile,
    names: Vec<ReferenceName>,
    roots: Option<Arc<PkixRoots>>,
    dane_ee_name_checks: bool,
    pkix_usages: bool,
    algs: &'static [&'static dyn SignatureVerificationAlgorithm],
}

impl Policy {
    /// The RFC 7672 profile; `base_domain` is the TLSA base domain (the MX host name after
    /// any secure CNAME expansion that found the records), the first reference identifier.
    pub fn smtp(base_domain: ReferenceName) -> Self {
        Self::new(Profile::Smtp, base_domain)
    }

    /// The RFC 7671 profile for other services; `base_domain` is the TLSA base domain.
    pub fn generic(base_domain: ReferenceName) -> Self {
        Self::new(Profile::Generic, base_domain)
    }

    fn new(profile: Profile, base_domain: ReferenceName) -> Self {
        Self {
            profile,
            names: vec![base_domain],
            roots: None,
            dane_ee_name_checks: false,
            pkix_usages: profile == Profile::Generic,
            algs: webpki::ALL_VERIFICATION_ALGS,
        }
    }

    /// Adds an acceptable reference identifier (for SMTP with a secure MX RRset: the
    /// next-hop domain, RFC 7672 §3.2.2).
    pub fn with_reference_name(mut self, name: ReferenceName) -> Self {
        if !self.names.contains(&name) {
            self.names.push(name);
        }
        self
    }

    /// Replaces the TLSA base domain (the first reference identifier), keeping the others.
    pub fn with_base_domain(mut self, base_domain: ReferenceName) -> Self {
        // Replace the first name, then drop later duplicates of the new one.
        let rest = self.names.into_iter().skip(1).filter(|n| *n != base_domain);
        self.names = std::iter::once(base_domain.clone()).chain(rest).collect();
        self
    }

    /// PKIX roots for PKIX-TA(0) and PKIX-EE(1) records (Generic profile only). Without
    /// roots such a record can never authenticate the peer (the same as OpenSSL with an
    /// empty trust store).
    pub fn with_pkix_roots(mut self, roots: Arc<PkixRoots>) -> Self {
        self.roots = Some(roots);
        self
    }

    /// Also check reference identifiers when a DANE-EE record matches.
    ///
    /// Off by default in both profiles: RFC 7671 §5.1 and RFC 7672 §3.1.1 say DANE-EE binds
    /// the key to the service, so names and dates are irrelevant. OpenSSL checks names for
    /// DANE-EE unless `DANE_FLAG_NO_DANE_EE_NAMECHECKS` is set (Postfix sets it); turn this on
    /// to get OpenSSL's default, for example where unknown-key-share attacks between
    /// services sharing a key matter more than operational ease.
    ///
    /// A raw public key (RFC 7250) has no names: [`verify_raw_public_key`] refuses a policy
    /// with this switch on ([`Error::RawPublicKeyNameChecks`]), and so does a
    /// `DaneVerifier` that accepts raw public keys, in the handshake.
    pub fn with_dane_ee_name_checks(mut self, on: bool) -> Self {
        self.dane_ee_name_checks = on;
        self
    }

    /// Treat PKIX-TA(0) and PKIX-EE(1) records as unusable, as the SMTP profile always does
    /// (RFC 7672 §3.1.3).
    pub fn without_pkix_usages(mut self) -> Self {
        self.pkix_usages = false;
        self
    }

    /// The signature algorithms accepted in chains below a DANE-TA anchor and in PKIX
    /// validation. Defaults to all of rustls-webpki's for the enabled crypto backend; the
    /// rustls adapter passes its `CryptoProvider`'s list.
    pub fn with_signature_algorithms(
        mut self,
        algs: &'static [&'static dyn SignatureVerificationAlgorithm],
    ) -> Self {
        self.algs = algs;
        self
    }

    /// Feeds everything that decides a verification into `h` (session resumption is keyed
    /// by it): profile, reference names, switches, roots and algorithms (by identity).
    #[cfg(feature = "rustls")]
    pub(crate) fn digest_into(&self, h: &mut Sha256) {
        h.update([
            u8::from(self.profile == Profile::Smtp),
            u8::from(self.dane_ee_name_checks),
            u8::from(self.pkix_usages),
        ]);
        h.update((self.names.len() as u64).to_be_bytes());
        for n in &self.names {
            h.update((n.as_str().len() as u64).to_be_bytes());
            h.update(n.as_str().as_bytes());
        }
        // Roots by content (an address can be reused once an `Arc` is freed), algorithms
        // by identity (a `'static` table: equal addresses are the same table).
        match &self.roots {
            Some(roots) => {
                h.update([1]);
                roots.digest_into(h);
            }
            None => h.update([0]),
        }
        h.update((self.algs.as_ptr() as usize as u64).to_be_bytes());
        h.update((self.algs.len() as u64).to_be_bytes());
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The reference identifiers, TLSA base domain first.
    pub fn reference_names(&self) -> &[ReferenceName] {
        &self.names
    }

    /// The TLSA base domain (the first reference identifier); also the SNI name to send
    /// (RFC 7672 §8.1).
    pub fn base_domain(&self) -> &ReferenceName {
        // `names` is never empty: the constructors put the base domain first.
        &self.names[0]
    }

    /// Whether records of `usage` take part in matching under this policy.
    pub fn allows_usage(&self, usage: CertUsage) -> bool {
        match usage {
            CertUsage::DaneEe | CertUsage::DaneTa => true,
            // RFC 7672 §3.1.3: PKIX usages are unusable for SMTP.
            CertUsage::PkixTa | CertUsage::PkixEe => {
                self.profile == Profile::Generic && self.pkix_usages
            }
            _ => false,
        }
    }

    fn names_joined(&self) -> String {
        self.names
            .iter()
            .map(ReferenceName::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("profile", &self.profile)
            .field("names", &self.names)
            .field("pkix_roots", &self.roots.as_ref().map(|r| r.len()))
            .field("dane_ee_name_checks", &self.dane_ee_name_checks)
            .field("pkix_usages", &self.pkix_usages)
            .finish_non_exhaustive()
    }
}

/// What authenticated the peer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Verified {
    record_index: usize,
    record: Tlsa,
    depth: usize,
    name: Option<ReferenceName>,
    anchor_from_record: bool,
}

impl Verified {
    /// Index of the matched record in the [`TlsaSet`].
    pub fn record_index(&self) -> usize {
        self.record_index
    }

    /// The matched record.
    pub fn record(&self) -> &Tlsa {
        &self.record
    }

    /// The matched record's usage.
    pub fn usage(&self) -> CertUsage {
        self.record.usage()
    }

    /// Depth of the matching certificate, counted in the chain as presented (0 = leaf), as
    /// OpenSSL reports it for a chain sent in order (out of order, OpenSSL counts in the
    /// chain it built, we in the chain as sent): a trust anchor taken from a 2 0 0 record counts as appended to the
    /// chain (depth = chain length); a 2 1 0 bare key reports the depth of the topmost
    /// presented certificate it signed.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The reference identifier the leaf matched, when a name check applied.
    pub fn name(&self) -> Option<&ReferenceName> {
        self.name.as_ref()
    }

    /// Whether the trust anchor came from the record itself (2 0 0 or 2 1 0 for a TA the
    /// server did not send).
    pub fn anchor_from_record(&self) -> bool {
        self.anchor_from_record
    }
}

impl fmt::Display for Verified {
    /// As Postfix logs it: `DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.record;
        write!(
            f,
            "{:#}({}) {:#}({}) {:#}({}) at depth {}",
            r.usage(),
            r.usage(),
            r.selector(),
            r.selector(),
            r.matching(),
            r.matching(),
            self.depth
        )?;
        if let Some(name) = &self.name {
            write!(f, ", name {name}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verified(#{} {self})", self.record_index)
    }
}

/// Decides whether `chain` is authenticated by `tlsa` under `policy` at time `now`.
///
/// `chain[0]` is the leaf as the peer sent it; the rest may come in any order and may hold
/// extra certificates. The function is pure: no I/O, no clock (`now` is only used below a
/// DANE-TA anchor and for PKIX usages).
///
/// The rules, each with its RFC:
/// - DANE-EE(3) (RFC 7671 §5.1, RFC 7672 §3.1.1): the leaf's certificate or SPKI matches.
///   No chain, no dates, no names (unless [`Policy::with_dane_ee_name_checks`]). Only the
///   leaf is decoded, by a DER walk; no X.509 parse.
/// - DANE-TA(2) (RFC 7671 §5.2, RFC 7672 §3.1.2): a presented certificate at depth ≥ 1, or
///   the certificate or key in a 2 0 0 / 2 1 0 record, is the trust anchor (name and key,
///   its own dates are not checked); the leaf must chain to it with valid signatures,
///   validity periods at `now`, CA certificates in between, and an extended key usage that
///   allows serverAuth where present; the leaf must match a reference identifier.
///   As in OpenSSL, a DANE-TA record never matches the leaf itself (not even a 2 0 0 copy
///   of a self-signed leaf; a 2 1 0 key that signed the leaf is an anchor at depth 0).
/// - The DANE-TA anchor must be a CA certificate (RFC 5280 §4.2.1.9), judged as OpenSSL's
///   `check_chain` judges the top of a chain (else `X509_V_ERR_INVALID_CA`); a certificate
///   that matched but is none is no anchor, and when nothing else validates the error is
///   [`Error::ChainInvalid`] with `EndEntityUsedAsCa`, as for a non-CA intermediate. Case by
///   case, each checked against OpenSSL 3.0 on loopback (`tests/openssl_interop.rs`, case 14):
///   - a presented certificate above the leaf (matched by any 2 x y record, 2 1 0
///     included), or the certificate of a 2 0 0 record: basicConstraints with `cA` FALSE, or
///     no basicConstraints and no keyUsage, or a keyUsage without keyCertSign: refused;
///   - an X.509 v1 certificate (no extensions): refused, except a self-signed one (subject
///     equal to issuer: OpenSSL's "v1 root"), which is accepted;
///   - no basicConstraints but a keyUsage with keyCertSign (or a Netscape certificate type
///     with a CA bit): accepted, OpenSSL's legacy exception for the top of the chain;
///   - a self-signed leaf under its own 2 1 0 key: accepted at depth 0, its CA bit is not
///     asked (it is the end entity, not an anchor above it); its 2 0 1 / 2 0 0 never match;
///   - a 2 1 0 bare key whose certificate is not sent: accepted, nothing says it is no CA
///     (OpenSSL cannot know either). When that certificate *is* sent (with the name the
///     key stands under), it is met first and refused, as in OpenSSL.
///
///   Only candidate anchors are checked, after their record matched: DANE-EE never reads
///   an extension.
/// - PKIX-EE(1) / PKIX-TA(0) (RFC 6698 §2.1.1, RFC 7671 §5.3–5.4): the chain must also
///   validate against the policy's PKIX roots, with the leaf matching (usage 1) or a
///   certificate of the validated path above the leaf matching (usage 0), and names must
///   match. Unusable in the SMTP profile.
///
/// Names: the leaf's dNSName subjectAltNames; under DANE-TA (and DANE-EE with name checks)
/// its subject CNs when it has no dNSName subjectAltName (none at all, or only other name
/// types, or an empty one: RFC 6125 §6.4.4, as OpenSSL 3.0). Under DANE-TA such a CN must
/// also satisfy the dNSName name constraints (permitted and excluded subtrees) of every
/// CA certificate of the validated path and of the trust anchor (none for a 2 1 0 bare
/// key), else [`Error::NameConstraintViolation`]; constraints that cannot be read refuse
/// the chain ([`Error::MalformedCertificate`]). This is OpenSSL's
/// `NAME_CONSTRAINTS_check_CN` (RFC 5280 §4.2.1.10): rustls-webpki checks constraints on
/// subjectAltNames only. The PKIX usages never use CNs (RFC 9525; rustls' own WebPKI
/// verifier does not either).
///
/// Records are tried DANE-EE first, then DANE-TA, then PKIX; the first success wins. When
/// none succeeds, the error of the first record that matched but failed a later check is
/// returned (for example [`Error::NameMismatch`]), else [`Error::NoMatch`].
pub fn verify(
    chain: &[CertificateDer<'_>],
    tlsa: &TlsaSet,
    policy: &Policy,
    now: UnixTime,
) -> Result<Verified, Error> {
    let wants_ta = || tlsa.has_usable_of(CertUsage::DaneTa, policy);
    let wants_pkix = || {
        tlsa.has_usable_of(CertUsage::PkixEe, policy)
            || tlsa.has_usable_of(CertUsage::PkixTa, policy)
    };
    let mut ee = tlsa.usable_of(CertUsage::DaneEe).peekable();
    // The other usages are only looked at when DANE-EE did not decide.
    if ee.peek().is_none() && !wants_ta() && !wants_pkix() {
        return Err(Error::NoUsableRecords);
    }
    let leaf = CertView::parse(chain.first().ok_or(Error::EmptyChain)?)
        .map_err(|reason| Error::MalformedCertificate { depth: 0, reason })?;
    let mut leaf_digests = Digests::new(leaf.der, leaf.spki);
    let mut failure: Option<Error> = None;

    // RFC 7671 §5.1 / RFC 7672 §3.1.1: DANE-EE binds the leaf key (or certificate) to the
    // service; nothing else is checked.
    for (index, r) in ee {
        if !leaf_digests.matches(r) {
            continue;
        }
        let name = if policy.dane_ee_name_checks {
            // No path is validated, so no name constraints apply to a CN.
            match check_names(&leaf, policy, CnIds::Allowed) {
                Ok((name, _)) => Some(name),
                Err(e) => {
                    failure.get_or_insert(e);
                    continue;
                }
            }
        } else {
            None
        };
        return Ok(Verified {
            record_index: index,
            record: r.clone(),
            depth: 0,
            name,
            anchor_from_record: false,
        });
    }

    let (wants_ta, wants_pkix) = (wants_ta(), wants_pkix());
    if wants_ta || wants_pkix {
        let rest = parse_rest(chain)?;
        if wants_ta {
            match dane_ta(chain, &leaf, &rest, tlsa, policy, now) {
                Ok(v) => return Ok(v),
                Err(Some(e)) => {
                    failure.get_or_insert(e);
                }
                Err(None) => {}
            }
        }
        if wants_pkix {
            match pkix(chain, &leaf, &rest, &mut leaf_digests, tlsa, policy, now) {
                Ok(v) => return Ok(v),
                Err(Some(e)) => {
                    failure.get_or_insert(e);
                }
                Err(None) => {}
            }
        }
    }
    Err(failure.unwrap_or(Error::NoMatch))
}

/// Decodes the certificates above the leaf; only the DANE-TA and PKIX paths need them.
fn parse_rest<'a>(chain: &'a [CertificateDer<'_>]) -> Result<Vec<CertView<'a>>, Error> {
    chain
        .iter()
        .enumerate()
        .skip(1)
        .map(|(depth, c)| {
            CertView::parse(c).map_err(|reason| Error::MalformedCertificate { depth, reason })
        })
        .collect()
}

/// A DANE-TA candidate anchor and where it came from.
struct Candidate {
    record_index: usize,
    /// Depth in the presented chain, `None` when the anchor comes from the record.
    depth: Option<usize>,
}

/// What a successful path validation tells the matcher.
struct PathFound {
    /// Index of the anchor used, in the slice passed.
    anchor: usize,
    /// Chain position of the topmost presented certificate of the path (0 = the leaf).
    top_depth: usize,
    /// Chain positions of the path's certificates between the leaf and the anchor.
    intermediates: Vec<usize>,
}

fn validate_path(
    chain: &[CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
    policy: &Policy,
    now: UnixTime,
) -> Result<PathFound, webpki::Error> {
    let ee = webpki::EndEntityCert::try_from(&chain[0])?;
    let intermediates = chain.get(1..).unwrap_or_default();
    let path = ee.verify_for_usage(
        policy.algs,
        anchors,
        intermediates,
        now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )?;
    issuers_are_cas(&path)?;
    // rustls-webpki returns a reference into `anchors`; anything else is refused.
    let anchor = anchors
        .iter()
        .position(|a| std::ptr::eq(a, path.anchor()))
        .ok_or(webpki::Error::UnknownIssuer)?;
    let intermediates: Vec<usize> = path
        .intermediate_certificates()
        .filter_map(|c| chain.iter().position(|p| p.as_ref() == c.der().as_ref()))
        .collect();
    let top_depth = intermediates.last().copied().unwrap_or(0);
    Ok(PathFound {
        anchor,
        top_depth,
        intermediates,
    })
}

/// Every intermediate of a path rustls-webpki validated must also be a CA as OpenSSL's
/// `check_ca` judges it (`X509_V_ERR_INVALID_CA` otherwise): rustls-webpki checks
/// basicConstraints but not keyUsage, and a keyUsage without keyCertSign means the key may
/// not sign certificates (RFC 5280 §4.2.1.3), whatever basicConstraints says.
fn issuers_are_cas(path: &webpki::VerifiedPath<'_>) -> Result<(), webpki::Error> {
    for issuer in path.intermediate_certificates() {
        let der = issuer.der();
        let is_ca = CertView::parse(&der)
            .and_then(|view| view.is_ca_for_openssl())
            .unwrap_or(false);
        if !is_ca {
            return Err(webpki::Error::EndEntityUsedAsCa);
        }
    }
    Ok(())
}

/// The leaf of a validated path (DANE-TA, PKIX) must be fit for a TLS server, as OpenSSL's
/// `sslserver` purpose check has it (RFC 5280 §4.2.1.3): see [`CertView::allows_tls_server`].
/// rustls-webpki checks the extended key usage, not the keyUsage. Never applied under
/// DANE-EE, where OpenSSL checks no purpose either.
fn leaf_may_serve_tls(leaf: &CertView<'_>, usage: CertUsage) -> Result<(), Error> {
    match leaf.allows_tls_server() {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::InvalidPurpose { usage }),
        Err(reason) => Err(Error::MalformedCertificate { depth: 0, reason }),
    }
}

/// The anchor (index into `anchors`) that issued the X.509 v1 `leaf` directly: its name is
/// the leaf's issuer and its key verifies the leaf's signature, with one of the policy's
/// algorithms, over a TBSCertificate whose signature field equals the outer one. `Ok(None)`
/// when no anchor did; an error when one did but the leaf is outside its validity period
/// (as OpenSSL reports it). A v1 certificate has no extensions, so it is no CA and its key
/// usage is unrestricted (RFC 5280 §4.1.2.1, §4.2).
fn v1_leaf_under_anchor(
    leaf: &CertView<'_>,
    anchors: &[TrustAnchor<'_>],
    policy: &Policy,
    now: UnixTime,
) -> Result<Option<usize>, Error> {
    let malformed = |reason| Error::MalformedCertificate { depth: 0, reason };
    let cert = der::single(leaf.der, der::SEQUENCE).map_err(malformed)?;
    let mut outer = der::Reader::new(cert.contents);
    let tbs = outer.read(der::SEQUENCE).map_err(malformed)?;
    let sig_alg = outer.read(der::SEQUENCE).map_err(malformed)?;
    let signature = match outer.read(der::BIT_STRING).map_err(malformed)?.contents {
        [0, sig @ ..] => sig,
        _ => return Ok(None),
    };
    // TBSCertificate: [0] version (optional), serialNumber, signature AlgorithmIdentifier.
    let mut fields = der::Reader::new(tbs.contents);
    fields.read_optional(der::CONTEXT_0).map_err(malformed)?;
    fields.read(der::INTEGER).map_err(malformed)?;
    if fields.read(der::SEQUENCE).map_err(malformed)?.encoded != sig_alg.encoded {
        return Ok(None);
    }
    for (index, anchor) in anchors.iter().enumerate() {
        if anchor.subject.as_ref() != leaf.issuer {
            continue;
        }
        let mut spki = der::Reader::new(anchor.subject_public_key_info.as_ref());
        let (Ok(key_alg), Ok(key)) = (spki.read(der::SEQUENCE), spki.read(der::BIT_STRING)) else {
            continue;
        };
        let [0, key @ ..] = key.contents else {
            continue;
        };
        let verified = policy.algs.iter().any(|alg| {
            alg.public_key_alg_id().as_ref() == key_alg.contents
                && alg.signature_alg_id().as_ref() == sig_alg.contents
                && alg.verify_signature(key, tbs.encoded, signature).is_ok()
        });
        if !verified {
            continue;
        }
        return match cert::validity_at(leaf.der, now.as_secs()) {
            Some((false, false)) => Ok(Some(index)),
            Some((true, _)) => Err(Error::Expired { depth: Some(0) }),
            Some((false, true)) => Err(Error::NotYetValid { depth: Some(0) }),
            None => Err(malformed("unreadable validity")),
        };
    }
    Ok(None)
}

/// RFC 7671 §5.2, RFC 7672 §3.1.2. `Err(None)`: no record matched anything.
fn dane_ta<'a>(
    chain: &'a [CertificateDer<'a>],
    leaf: &CertView<'a>,
    rest: &[CertView<'a>],
    tlsa: &'a TlsaSet,
    policy: &Policy,
    now: UnixTime,
) -> Result<Verified, Option<Error>> {
    let mut digests: Vec<Digests<'_>> = rest.iter().map(|v| Digests::new(v.der, v.spki)).collect();
    let mut anchors: Vec<TrustAnchor<'a>> = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut bare_keys: Vec<(usize, &'a [u8])> = Vec::new();
    let mut failure = None;
    // Certificates that matched a record but are not CAs (RFC 5280 §4.2.1.9; OpenSSL's
    // X509_V_ERR_INVALID_CA): (subject, SPKI contents), and the error they give.
    let mut non_ca: Vec<(&'a [u8], &'a [u8])> = Vec::new();
    let mut invalid_ca: Option<Error> = None;
    for (index, r) in tlsa.usable_of(CertUsage::DaneTa) {
        // A certificate the server sent, above the leaf (OpenSSL: TA records are matched at
        // depth > 0 only).
        for (i, d) in digests.iter_mut().enumerate() {
            // A copy of the leaf sent again above it is still the leaf (OpenSSL).
            if rest[i].der == leaf.der || !d.matches(r) {
                continue;
            }
            match ca_anchor_from_view(&rest[i]) {
                Ok(Some(a)) => {
                    anchors.push(a);
                    candidates.push(Candidate {
                        record_index: index,
                        depth: Some(i + 1),
                    });
                }
                Ok(None) => refuse_non_ca(&rest[i], &mut non_ca, &mut invalid_ca),
                Err(reason) => {
                    failure.get_or_insert(Error::MalformedCertificate {
                        depth: i + 1,
                        reason,
                    });
                }
            }
        }
        // RFC 7671 §5.2.2: the record itself may carry the anchor the server did not send.
        // Full data was checked when the set was built, so these parses succeed.
        if r.matching() == Matching::Full {
            match r.selector() {
                // As in OpenSSL, not a copy of the leaf itself (a self-signed leaf would
                // otherwise "chain" to its own copy).
                Selector::Cert if r.data() == leaf.der => {}
                Selector::Cert => {
                    let Ok(view) = CertView::parse(r.data()) else {
                        continue;
                    };
                    match ca_anchor_from_view(&view) {
                        Ok(Some(a)) => {
                            anchors.push(a);
                            candidates.push(Candidate {
                                record_index: index,
                                depth: None,
                            });
                        }
                        Ok(None) => refuse_non_ca(&view, &mut non_ca, &mut invalid_ca),
                        // Unreadable extensions: not an anchor (as an unusable record).
                        Err(_) => {}
                    }
                }
                Selector::Spki => {
                    if let Ok(spki) = der::spki_contents(r.data()) {
                        bare_keys.push((index, spki));
                    }
                }
                _ => {}
            }
        }
    }

    // A bare key has no name: it becomes an anchor under the issuer name of a presented
    // certificate. Like OpenSSL (which tries it on the top of the chain it built), first
    // pair it with the issuers that no other presented certificate claims as its subject;
    // the other issuer names are tried only if that fails.
    let all: Vec<&CertView<'a>> = std::iter::once(leaf).chain(rest.iter()).collect();
    let mut top_issuers: Vec<&'a [u8]> = Vec::new();
    let mut other_issuers: Vec<&'a [u8]> = Vec::new();
    if !bare_keys.is_empty() {
        for (i, c) in all.iter().enumerate() {
            let claimed = all
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.subject == c.issuer);
            let list = if claimed {
                &mut other_issuers
            } else {
                &mut top_issuers
            };
            if !list.contains(&c.issuer) {
                list.push(c.issuer);
            }
        }
        other_issuers.retain(|n| !top_issuers.contains(n));
    }
    let add_bare = |anchors: &mut Vec<TrustAnchor<'a>>,
                    candidates: &mut Vec<Candidate>,
                    names: &[&'a [u8]]| {
        for &(record_index, spki) in &bare_keys {
            for &name in names {
                // OpenSSL meets the sent (or 2 0 0) certificate with this name and key first,
                // as the anchor, and refuses it as a non-CA: the bare key does not stand in.
                if non_ca.contains(&(name, spki)) {
                    continue;
                }
                anchors.push(TrustAnchor {
                    subject: name.into(),
                    subject_public_key_info: spki.into(),
                    name_constraints: None,
                });
                candidates.push(Candidate {
                    record_index,
                    depth: None,
                });
            }
        }
    };
    add_bare(&mut anchors, &mut candidates, &top_issuers);
    if anchors.is_empty() && other_issuers.is_empty() {
        return Err(failure.or(invalid_ca));
    }

    let mut found = validate_path(chain, &anchors, policy, now);
    if found.is_err() && !other_issuers.is_empty() {
        add_bare(&mut anchors, &mut candidates, &other_issuers);
        found = validate_path(chain, &anchors, policy, now);
    }
    // An X.509 v1 leaf issued directly by a matched anchor: OpenSSL accepts it, rustls-webpki
    // refuses every v1 end-entity certificate. Check that one step here.
    if matches!(found, Err(webpki::Error::UnsupportedCertVersion)) && leaf.is_v1() {
        match v1_leaf_under_anchor(leaf, &anchors, policy, now) {
            Ok(Some(anchor)) => {
                found = Ok(PathFound {
                    anchor,
                    top_depth: 0,
                    intermediates: Vec::new(),
                });
            }
            Ok(None) => {}
            Err(e) => return Err(Some(e)),
        }
    }
    let anchor_depths: Vec<usize> = candidates.iter().filter_map(|c| c.depth).collect();
    let found = found.map_err(|e| {
        // A matched certificate refused as a non-CA explains the failure better than
        // whatever the remaining anchors gave (usually: unknown issuer).
        Some(
            invalid_ca
                .unwrap_or_else(|| chain_error(e, chain, &anchor_depths, now, CertUsage::DaneTa)),
        )
    })?;
    let used = candidates.get(found.anchor).ok_or(None)?;
    let record = &tlsa.records()[used.record_index];
    let depth = match used.depth {
        Some(d) => d,
        // 2 0 0: the anchor counts as appended to the chain.
        None if record.selector() == Selector::Cert => chain.len(),
        // 2 1 0: the topmost presented certificate it signed.
        None => found.top_depth,
    };
    leaf_may_serve_tls(leaf, CertUsage::DaneTa).map_err(Some)?;
    // RFC 7671 §5.2, RFC 7672 §3.2.2: names are checked below a DANE-TA anchor.
    let (name, common_names) = check_names(leaf, policy, CnIds::Allowed).map_err(Some)?;
    if let Some(common_names) = common_names {
        // RFC 5280 §4.2.1.10: a CN used as a host name obeys the dNSName constraints of the
        // path and the anchor (rustls-webpki checks SANs only). Slow path only.
        let mut constraints: Vec<(usize, &[u8])> = Vec::new();
        for &depth in &found.intermediates {
            let Some(view) = depth.checked_sub(1).and_then(|i| rest.get(i)) else {
                continue;
            };
            match view.name_constraints() {
                Ok(Some(nc)) => constraints.push((depth, nc)),
                Ok(None) => {}
                Err(reason) => return Err(Some(Error::MalformedCertificate { depth, reason })),
            }
        }
        if let Some(nc) = anchors
            .get(found.anchor)
            .and_then(|a| a.name_constraints.as_deref())
        {
            constraints.push((depth, nc));
        }
        check_common_names_against_constraints(&common_names, policy, &constraints)
            .map_err(Some)?;
    }
    Ok(Verified {
        record_index: used.record_index,
        record: record.clone(),
        depth,
        name: Some(name),
        anchor_from_record: used.depth.is_none(),
    })
}

/// RFC 6698 §2.1.1, RFC 7671 §5.3–5.4. `Err(None)`: no record matched.
#[allow(clippy::too_many_arguments, reason = "private helper of `verify`")]
fn pkix(
    chain: &[CertificateDer<'_>],
    leaf: &CertView<'_>,
    rest: &[CertView<'_>],
    leaf_digests: &mut Digests<'_>,
    tlsa: &TlsaSet,
    policy: &Policy,
    now: UnixTime,
) -> Result<Verified, Option<Error>> {
    // Which records could apply, before paying for path validation: a failure is only
    // reported for a record that matched something (else it is a plain "no match").
    let ee_match = tlsa
        .usable_of(CertUsage::PkixEe)
        .find(|(_, r)| leaf_digests.matches(r))
        .map(|(index, _)| index);
    let ta_records: Vec<(usize, &Tlsa)> = if policy.allows_usage(CertUsage::PkixTa) {
        tlsa.usable_of(CertUsage::PkixTa).collect()
    } else {
        Vec::new()
    };
    if ee_match.is_none() && ta_records.is_empty() {
        return Err(None);
    }
    let mut rest_digests: Vec<Digests<'_>> =
        rest.iter().map(|v| Digests::new(v.der, v.spki)).collect();
    let mut ta_matches_sent = || {
        ta_records
            .iter()
            .any(|(_, r)| rest_digests.iter_mut().any(|d| d.matches(r)))
    };
    let Some(roots) = policy.roots.as_deref() else {
        return Err((ee_match.is_some() || ta_matches_sent()).then_some(Error::NoPkixRoots));
    };
    let ee = webpki::EndEntityCert::try_from(&chain[0]).map_err(|e| Some(Error::Pkix(e)))?;
    let intermediates = chain.get(1..).unwrap_or_default();
    let path = match ee
        .verify_for_usage(
            policy.algs,
            roots.anchors(),
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .and_then(|path| issuers_are_cas(&path).map(|()| path))
    {
        Ok(path) => path,
        Err(e) => {
            let relevant = ee_match.is_some()
                || ta_matches_sent()
                || ta_records.iter().any(|(_, r)| roots.any_matches(r));
            return Err(relevant.then(|| {
                match chain_error(e, chain, &[], now, CertUsage::PkixTa) {
                    Error::ChainInvalid { reason, .. } => Error::Pkix(reason),
                    other => other,
                }
            }));
        }
    };

    // PKIX-EE: the leaf itself.
    let mut matched: Option<(usize, usize)> = ee_match.map(|index| (index, 0));
    // PKIX-TA: a certificate of the validated path above the leaf, or its root. The path's
    // intermediates are presented certificates, so their cached digests are reused.
    if matched.is_none() {
        let above: Vec<usize> = path
            .intermediate_certificates()
            .filter_map(|c| {
                let der = c.der();
                chain.iter().position(|p| p.as_ref() == der.as_ref())
            })
            .collect();
        let anchor = path.anchor();
        let anchor_spki = webpki::spki_for_anchor(anchor);
        let anchor_cert = roots.certificate_for(anchor);
        let anchor_depth = anchor_cert
            .and_then(|der| chain.iter().position(|p| p.as_ref() == der))
            .unwrap_or(above.len() + 1);
        let mut anchor_digests =
            Digests::new(anchor_cert.unwrap_or_default(), anchor_spki.as_ref());
        'records: for &(index, r) in &ta_records {
            for &depth in &above {
                if rest_digests
                    .get_mut(depth.wrapping_sub(1))
                    .is_some_and(|d| d.matches(r))
                {
                    matched = Some((index, depth));
                    break 'records;
                }
            }
            if anchor_digests.matches(r) {
                matched = Some((index, anchor_depth));
                break;
            }
        }
    }
    let (index, depth) = matched.ok_or(None)?;
    let usage = if depth == 0 {
        CertUsage::PkixEe
    } else {
        CertUsage::PkixTa
    };
    leaf_may_serve_tls(leaf, usage).map_err(Some)?;
    // RFC 9525: no CN-IDs under the PKIX usages (rustls' WebPKI verifier uses none either).
    let (name, _) = check_names(leaf, policy, CnIds::Refused).map_err(Some)?;
    Ok(Verified {
        record_index: index,
        record: tlsa.records()[index].clone(),
        depth,
        name: Some(name),
        anchor_from_record: false,
    })
}

/// The trust anchor of a certificate that matched a DANE-TA record, `None` when it is not a
/// CA certificate as OpenSSL's `check_chain` judges the top of a chain
/// ([`CertView::is_ca_for_openssl`]; RFC 5280 §4.2.1.9, RFC 7671 §5.2).
fn ca_anchor_from_view<'a>(view: &CertView<'a>) -> Result<Option<TrustAnchor<'a>>, &'static str> {
    if !view.is_ca_for_openssl()? {
        return Ok(None);
    }
    anchor_from_view(view).map(Some)
}

/// Records a certificate that matched a DANE-TA record and is not a CA.
fn refuse_non_ca<'a>(
    view: &CertView<'a>,
    non_ca: &mut Vec<(&'a [u8], &'a [u8])>,
    invalid_ca: &mut Option<Error>,
) {
    if let Ok(spki) = der::spki_contents(view.spki) {
        non_ca.push((view.subject, spki));
    }
    invalid_ca.get_or_insert(Error::ChainInvalid {
        usage: CertUsage::DaneTa,
        reason: webpki::Error::EndEntityUsedAsCa,
    });
}

fn anchor_from_view<'a>(view: &CertView<'a>) -> Result<TrustAnchor<'a>, &'static str> {
    Ok(TrustAnchor {
        subject: view.subject.into(),
        subject_public_key_info: der::spki_contents(view.spki)?.into(),
        name_constraints: view.name_constraints()?.map(Into::into),
    })
}

/// Whether a subject CN may stand in for a missing dNSName subjectAltName.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CnIds {
    /// DANE-EE (opt-in name checks) and DANE-TA, as in OpenSSL (RFC 6125 §6.4.4).
    Allowed,
    /// PKIX-TA and PKIX-EE: dNSName subjectAltNames only (RFC 9525).
    Refused,
}

/// The reference identifier a leaf matched, and its subject CNs when the match came from
/// them (the leaf has no dNSName subjectAltName, RFC 6125 §6.4.4).
type NameMatch<'a> = (ReferenceName, Option<Vec<&'a [u8]>>);

/// The reference identifier the leaf matches (see [`NameMatch`]).
fn check_names<'a>(
    leaf: &CertView<'a>,
    policy: &Policy,
    cn_ids: CnIds,
) -> Result<NameMatch<'a>, Error> {
    let presented = leaf
        .presented_names()
        .map_err(|reason| Error::MalformedCertificate { depth: 0, reason })?;
    let (names, common_names) = match presented {
        PresentedNames::Sans(sans) => (sans, false),
        PresentedNames::CommonNames(cns) if cn_ids == CnIds::Allowed => (cns, true),
        PresentedNames::CommonNames(_) => (Vec::new(), false),
    };
    let name = names::first_match(&policy.names, &names)
        .cloned()
        .ok_or_else(|| Error::NameMismatch {
            names: policy.names_joined(),
        })?;
    Ok((name, common_names.then_some(names)))
}

/// RFC 5280 §4.2.1.10 for CNs used as host names, as OpenSSL's `NAME_CONSTRAINTS_check_CN`
/// does: every CN that looks like a host name, and every CN that matches a reference
/// identifier, must satisfy the dNSName constraints of each `(depth, NameConstraints)`.
fn check_common_names_against_constraints(
    common_names: &[&[u8]],
    policy: &Policy,
    constraints: &[(usize, &[u8])],
) -> Result<(), Error> {
    for &cn in common_names {
        if !names::cn_looks_like_host_name(cn)
            && !policy.names.iter().any(|r| r.matches_presented(cn))
        {
            continue;
        }
        for &(depth, nc) in constraints {
            match names::dns_name_within_constraints(cn, nc) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Error::NameConstraintViolation {
                        name: String::from_utf8_lossy(cn).into_owned(),
                    });
                }
                Err(reason) => return Err(Error::MalformedCertificate { depth, reason }),
            }
        }
    }
    Ok(())
}

/// Maps a rustls-webpki failure, locating an expired or not-yet-valid certificate. The
/// trust anchors at `anchor_depths` are skipped: their own dates are never checked.
fn chain_error(
    e: webpki::Error,
    chain: &[CertificateDer<'_>],
    anchor_depths: &[usize],
    now: UnixTime,
    usage: CertUsage,
) -> Error {
    let now = now.as_secs();
    let find = |want: fn((bool, bool)) -> bool| {
        chain.iter().enumerate().position(|(depth, c)| {
            !anchor_depths.contains(&depth) && cert::validity_at(c, now).is_some_and(want)
        })
    };
    match e {
        webpki::Error::CertExpired { .. } => Error::Expired {
            depth: find(|(expired, _)| expired),
        },
        webpki::Error::CertNotValidYet { .. } => Error::NotYetValid {
            depth: find(|(_, early)| early),
        },
        reason => Error::ChainInvalid { usage, reason },
    }
}

/// The digests of one certificate and its SPKI, each computed at most once.
pub(crate) struct Digests<'a> {
    cert: &'a [u8],
    spki: &'a [u8],
    sha256: [Option<[u8; 32]>; 2],
    sha512: [Option<[u8; 64]>; 2],
}

impl<'a> Digests<'a> {
    pub(crate) fn new(cert: &'a [u8], spki: &'a [u8]) -> Self {
        Self {
            cert,
            spki,
            sha256: [None; 2],
            sha512: [None; 2],
        }
    }

    /// Whether record `r` matches. Only called with usable records, so the data length is
    /// right for the matching type.
    pub(crate) fn matches(&mut self, r: &Tlsa) -> bool {
        let (input, slot) = match r.selector() {
            Selector::Cert => (self.cert, 0),
            Selector::Spki => (self.spki, 1),
            _ => return false,
        };
        if input.is_empty() {
            return false;
        }
        match r.matching() {
            Matching::Full => input == r.data(),
            Matching::Sha256 => {
                self.sha256[slot].get_or_insert_with(|| Sha256::digest(input).into())[..]
                    == *r.data()
            }
            Matching::Sha512 => {
                self.sha512[slot].get_or_insert_with(|| Sha512::digest(input).into())[..]
                    == *r.data()
            }
            _ => false,
        }
    }
}

/// Matches a raw public key (RFC 7250) against DANE-EE SPKI records: the only usage and
/// selector that can authenticate a bare key (RFC 7671 §5.1).
///
/// A raw public key has no names, so a policy with
/// [`Policy::with_dane_ee_name_checks`] can never be satisfied: it is refused with
/// [`Error::RawPublicKeyNameChecks`] (after [`Error::NoUsableRecords`], which stays the
/// caller's decision), never verified without the check it asks for.
pub fn verify_raw_public_key(
    spki_der: &[u8],
    tlsa: &TlsaSet,
    policy: &Policy,
) -> Result<Verified, Error> {
    if !tlsa.has_usable(policy) {
        return Err(Error::NoUsableRecords);
    }
    if policy.dane_ee_name_checks {
        return Err(Error::RawPublicKeyNameChecks);
    }
    der::spki_contents(spki_der)
        .map_err(|reason| Error::MalformedCertificate { depth: 0, reason })?;
    let mut digests = Digests::new(&[], spki_der);
    tlsa.usable(policy)
        .find(|(_, r)| {
            r.usage() == CertUsage::DaneEe && r.selector() == Selector::Spki && digests.matches(r)
        })
        .map(|(index, r)| Verified {
            record_index: index,
            record: r.clone(),
            depth: 0,
            name: None,
            anchor_from_record: false,
        })
        .ok_or(Error::NoMatch)
}
