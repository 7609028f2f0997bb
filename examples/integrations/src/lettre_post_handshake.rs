//! lettre's low-level `SmtpConnection`, authenticated by DANE **after** the handshake.
//!
//! lettre 0.11 builds its rustls `ClientConfig` itself: `TlsParameters` has no way to take
//! a config or a `ServerCertVerifier` from outside, so a [`DaneVerifier`](dane::DaneVerifier)
//! cannot sit inside the handshake. What lettre offers instead is enough for the
//! post-handshake pattern of the crate's MTA guide:
//!
//! 1. Handshake with `TlsParametersBuilder::dangerous_accept_invalid_certs(true)` and
//!    `dangerous_accept_invalid_hostnames(true)`. lettre's verifier for these
//!    (`InvalidCertsVerifier` in lettre 0.11.23's `transport/smtp/client/tls.rs`) skips the
//!    chain and the name but **still checks the handshake signatures** with the
//!    certificate's key (`verify_tls12_signature` / `verify_tls13_signature` of the crypto
//!    provider): the peer has proven it holds the key of the leaf it sent. That is what
//!    makes a check after the handshake meaningful. A verifier that also skipped those
//!    signatures would let anyone replay the real server's certificate.
//! 2. Before any mail command, [`dane::verify`] the chain that
//!    `SmtpConnection::certificate_chain()` returns (rustls' `peer_certificates()`: the
//!    whole chain as sent, leaf first, so DANE-TA works too); on failure, `QUIT` and treat
//!    it as a DANE failure of this host.
//!
//! Pitfalls:
//! - lettre's `starttls()` sends `EHLO` again right after the handshake, before the check
//!   can run. That `EHLO` carries only the client's name; `AUTH`, `MAIL FROM` and the
//!   message come after the check. Never authenticate before it.
//! - Session resumption: each `TlsParameters` has its own rustls session cache. Build new
//!   parameters per connection (as here), so no connection resumes a session and every
//!   check sees a chain the peer has just proven to hold the key for.
//! - Prefer a stack that takes a rustls config (mail-send, see
//!   [`mail_send_mx`](crate::mail_send_mx)): with the verifier inside the handshake none of
//!   this can be got wrong. lettre's high-level `SmtpTransport` gives no access to the
//!   connection between handshake and mail, so it cannot do DANE at all.
//! - `SmtpConnection` is blocking: from async code call it in `spawn_blocking`.

use std::net::SocketAddr;
use std::time::Duration;

use dane::pki_types::{CertificateDer, UnixTime};
use dane::{Policy, TlsaSet, Verified};
use lettre::address::Envelope;
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::BoxError;

/// Time allowed for each SMTP step.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Delivers `email` to the SMTP server at `addr` if, and only if, its certificate chain is
/// authenticated by `tlsa` under `policy` (a `DaneStatus::Required` target's records and
/// policy); `sni` is the name sent in the handshake (the TLSA base domain).
pub fn deliver(
    addr: SocketAddr,
    sni: &str,
    tlsa: &TlsaSet,
    policy: &Policy,
    helo: &ClientId,
    envelope: &Envelope,
    email: &[u8],
) -> Result<Verified, BoxError> {
    let mut conn = SmtpConnection::connect(addr, Some(TIMEOUT), helo, None, None)?;
    if !conn.can_starttls() {
        conn.abort(); // QUIT
        return Err("STARTTLS not offered, and DANE requires TLS: not delivered".into());
    }
    // 1. Any certificate, but the handshake signature is checked (see the module doc).
    //    New parameters per connection: nothing to resume from.
    let tls = TlsParameters::builder(sni.to_owned())
        .dangerous_accept_invalid_certs(true)
        .dangerous_accept_invalid_hostnames(true)
        .build_rustls()?;
    conn.starttls(&tls, helo)?;
    // 2. The DANE check, before any mail command.
    let chain: Vec<CertificateDer<'static>> = conn
        .certificate_chain()?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    let verified = match dane::verify(&chain, tlsa, policy, UnixTime::now()) {
        Ok(verified) => verified,
        Err(e) => {
            conn.abort(); // QUIT, then close
            return Err(format!("DANE failure, not delivered: {e} [{}]", e.category()).into());
        }
    };
    conn.send(envelope, email)?;
    conn.quit()?;
    Ok(verified)
}
