//! PKIX roots for the PKIX-TA(0) and PKIX-EE(1) usages, validated with rustls-webpki.

use pki_types::{CertificateDer, TrustAnchor};

use crate::cert::CertView;
use crate::error::Error;

/// The caller's PKIX trust anchors (for example the WebPKI roots), used only by the
/// PKIX-TA(0) and PKIX-EE(1) usages (RFC 6698 §2.1.1, RFC 7671 §5.3–5.4).
///
/// The root certificates are kept next to their anchors so that a PKIX-TA record with
/// selector 0 can match a root the server did not send.
#[derive(Debug, Clone)]
pub struct PkixRoots {
    certs: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
}

impl PkixRoots {
    /// Feeds the roots' DER, each with its length, into `h` (session resumption is keyed by
    /// the policy, roots included).
    #[cfg(feature = "rustls")]
    pub(crate) fn digest_into(&self, h: &mut sha2::Sha256) {
        use sha2::Digest;
        h.update((self.certs.len() as u64).to_be_bytes());
        for c in &self.certs {
            h.update((c.len() as u64).to_be_bytes());
            h.update(c.as_ref());
        }
    }

    /// Roots from DER certificates. A certificate that cannot be decoded is an error naming
    /// its position (as `MalformedCertificate { depth }`).
    pub fn from_certificates(
        certs: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> Result<Self, Error> {
        let certs: Vec<_> = certs.into_iter().collect();
        let anchors = certs
            .iter()
            .enumerate()
            .map(|(depth, c)| {
                webpki::anchor_from_trusted_cert(c)
                    .map(|a| a.to_owned())
                    .map_err(|_| Error::MalformedCertificate {
                        depth,
                        reason: "root certificate rejected by rustls-webpki",
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { certs, anchors })
    }

    /// Roots given only as trust anchors (for example `webpki_roots::TLS_SERVER_ROOTS`).
    /// PKIX-TA records with selector 0 cannot match such a root unless the server sends it.
    pub fn from_anchors(anchors: impl IntoIterator<Item = TrustAnchor<'static>>) -> Self {
        Self {
            certs: Vec::new(),
            anchors: anchors.into_iter().collect(),
        }
    }

    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// The root certificate behind `anchor` (a reference into [`Self::anchors`], as
    /// rustls-webpki's `VerifiedPath::anchor` returns it), if known. Anchors made by
    /// [`Self::from_certificates`] are in the same order as the certificates.
    pub(crate) fn certificate_for(&self, anchor: &TrustAnchor<'_>) -> Option<&[u8]> {
        let index = self
            .anchors
            .iter()
            .position(|a| std::ptr::eq(a.subject.as_ref(), anchor.subject.as_ref()))?;
        self.certs.get(index).map(|c| c.as_ref())
    }

    /// Whether a PKIX-TA record matches one of the roots.
    pub(crate) fn any_matches(&self, r: &crate::record::Tlsa) -> bool {
        let by_cert = self.certs.iter().any(|c| {
            CertView::parse(c).is_ok_and(|v| crate::verify::Digests::new(v.der, v.spki).matches(r))
        });
        by_cert
            || self.anchors.iter().any(|a| {
                let spki = webpki::spki_for_anchor(a);
                crate::verify::Digests::new(&[], spki.as_ref()).matches(r)
            })
    }

    /// Number of roots.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there are no roots.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}
