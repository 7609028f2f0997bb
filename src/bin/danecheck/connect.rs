//! Connecting to a server and authenticating it in a real TLS handshake (rustls with
//! [`dane::DaneVerifier`]): TLS at once (`https`) or after SMTP STARTTLS (`smtp-connect`,
//! `smtp`). Nothing is sent over TLS but a `QUIT` (SMTP) and the close_notify alert: the
//! handshake is the check.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dane::pki_types::{CertificateDer, ServerName, UnixTime};
use dane::{DaneVerifier, Outcome, Policy, ReferenceName, TlsRptResult, TlsaSet};
use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConnection, DigitallySignedStruct, OtherError, SignatureScheme,
    StreamOwned,
};

use crate::args::{self, DEFAULT_EHLO, Host, Profile, Records, Target};
use crate::output::{self, ConnectLine};
use crate::starttls::starttls;
use crate::{
    EXIT_DANE_FAILURE, EXIT_LOOKUP_FAILED, EXIT_NO_DANE, EXIT_OK, Fatal, Result, say, worst,
};

/// `danecheck smtp-connect`.
#[derive(clap::Args, Debug)]
pub struct SmtpConnectArgs {
    #[command(flatten)]
    records: Records,
    /// The TLSA base domain (first; also the TLS server name, RFC 7672 §8.1), then further
    /// reference identifiers. Default: HOST; required when HOST is an IP address.
    #[arg(long, value_name = "NAME", value_parser = args::name)]
    name: Vec<ReferenceName>,
    /// The name sent in EHLO.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_EHLO, value_parser = args::ehlo)]
    ehlo: String,
    /// Also check names when a DANE-EE record matches (OpenSSL's default).
    #[arg(long)]
    dane_ee_name_check: bool,
    /// Seconds (fractions allowed) for the TCP connection and for each read and write.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = args::timeout)]
    timeout: Duration,
    /// One JSON object per address.
    #[arg(long)]
    json: bool,
    /// The server: a DNS name or an IP address (IPv6 in brackets before a port); port 25
    /// unless given.
    #[arg(value_name = "HOST[:PORT]", value_parser = args::target)]
    target: Target,
}

pub fn run_smtp(opts: &SmtpConnectArgs) -> Result<u8> {
    let names = names_for(&opts.target.host, &opts.name)?;
    let tlsa = opts.records.set()?;
    let policy = args::build_policy(&names, Profile::Smtp, None, opts.dane_ee_name_check)?;
    let session = Session::new(
        Protocol::Smtp,
        tlsa,
        policy,
        opts.timeout,
        opts.ehlo.clone(),
    )?;
    let port = opts.target.port.unwrap_or(Protocol::Smtp.default_port());
    let addrs = match resolve(&opts.target.host, port, opts.json)? {
        Ok(addrs) => addrs,
        Err(code) => return Ok(code),
    };
    check_all(&addrs, &session, opts.json)
}

/// The reference names: those given, else the host's name (an IP address needs `--name`).
pub fn names_for(host: &Host, given: &[ReferenceName]) -> Result<Vec<ReferenceName>> {
    match host {
        _ if !given.is_empty() => Ok(given.to_vec()),
        Host::Name(name) => Ok(vec![name.clone()]),
        Host::Ip(ip) => Err(Fatal(format!(
            "{ip} is an IP address: give --name (the TLSA base domain)"
        ))),
    }
}

/// The addresses of `host` from the system resolver (or the address itself). When there
/// is none, a line saying why and the exit status (4).
pub fn resolve(host: &Host, port: u16, json: bool) -> Result<Result<Vec<SocketAddr>, u8>> {
    let name = match host {
        Host::Ip(ip) => return Ok(Ok(vec![SocketAddr::new(*ip, port)])),
        Host::Name(name) => name.as_str(),
    };
    match (name, port)
        .to_socket_addrs()
        .map(Iterator::collect::<Vec<_>>)
    {
        Ok(addrs) if !addrs.is_empty() => Ok(Ok(addrs)),
        other => {
            let why = match other {
                Err(e) => e.to_string(),
                Ok(_) => "no address".to_owned(),
            };
            let failure = Failure::new("resolve-failed", format!("cannot resolve {name}: {why}"));
            report(&format!("{name}:{port}"), &Err(failure), json)?;
            Ok(Err(EXIT_LOOKUP_FAILED))
        }
    }
}

/// Checks each address, one line each; the worst exit status.
pub fn check_all(addrs: &[SocketAddr], session: &Session, json: bool) -> Result<u8> {
    let mut code = EXIT_OK;
    for &addr in addrs {
        let result = check_address(addr, session);
        code = worst(code, outcome_status(&result));
        report(&addr.to_string(), &result, json)?;
    }
    Ok(code)
}

/// The exit status of a connection's outcome: 0 only when DANE authenticated the server.
pub fn outcome_status(result: &Result<Outcome, Failure>) -> u8 {
    match result {
        Ok(Outcome::Dane(_)) => EXIT_OK,
        // Unauthenticated TLS, another verifier, or a resumed session (never offered: a
        // verifier per connection) authenticated nothing by DANE here.
        Ok(_) => EXIT_NO_DANE,
        Err(failure) => failure.exit_status(),
    }
}

/// How TLS starts on the connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Protocol {
    /// TLS from the first byte (`https`).
    Https,
    /// SMTP STARTTLS (`smtp-connect`, `smtp`).
    Smtp,
}

impl Protocol {
    pub fn default_port(self) -> u16 {
        match self {
            Self::Https => 443,
            Self::Smtp => 25,
        }
    }
}

/// What every connection of one command shares.
pub struct Session {
    protocol: Protocol,
    tlsa: TlsaSet,
    policy: Policy,
    server_name: ServerName<'static>,
    provider: Arc<CryptoProvider>,
    timeout: Duration,
    ehlo: String,
    /// Accept the server unauthenticated when `tlsa` has no usable record (RFC 7672 §2.2:
    /// `smtp` for a host whose secure TLSA records are all unusable).
    accept_unauthenticated: bool,
}

impl Session {
    /// A session for `policy`, whose TLSA base domain is the TLS server name (RFC 7672
    /// §8.1).
    pub fn new(
        protocol: Protocol,
        tlsa: TlsaSet,
        policy: Policy,
        timeout: Duration,
        ehlo: String,
    ) -> Result<Self> {
        let base = policy.base_domain().as_str().to_owned();
        let server_name = ServerName::try_from(base.clone()).map_err(|e| {
            Fatal(format!(
                "--name {base:?}: not usable as a TLS server name: {e}"
            ))
        })?;
        Ok(Self {
            protocol,
            tlsa,
            policy,
            server_name,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            timeout,
            ehlo,
            accept_unauthenticated: false,
        })
    }

    /// For a host whose records are all unusable: TLS, accepted unauthenticated.
    pub fn accepting_unauthenticated(mut self) -> Self {
        self.accept_unauthenticated = true;
        self
    }

    /// The TLS server name (SNI) sent.
    pub fn server_name(&self) -> String {
        self.server_name.to_str().into_owned()
    }
}

/// Why one address was not verified.
pub struct Failure {
    /// The kebab-case category: [`dane::Error::category`], or one of the connection's own
    /// (`resolve-failed`, `connect-failed`, `timeout`, `smtp-error`, `starttls-not-supported`,
    /// `starttls-refused`, `tls-error`), or a lookup's.
    pub error: &'static str,
    /// The RFC 8460 result type, when there is one.
    pub tls_rpt: Option<TlsRptResult>,
    pub message: String,
    /// The RFC 8460 failure detail of a TLS session that failed (`None`: no TLS session
    /// took place, nothing to report).
    pub report: Option<Box<dane::tlsrpt::Failure>>,
}

impl Failure {
    pub fn new(error: &'static str, message: impl fmt::Display) -> Self {
        Self {
            error,
            tls_rpt: None,
            message: message.to_string(),
            report: None,
        }
    }

    fn dane(e: &dane::Error) -> Self {
        Self {
            error: e.category(),
            tls_rpt: Some(e.tls_rpt_result()),
            message: e.to_string(),
            report: Some(Box::new(dane::tlsrpt::Failure::from_error(e))),
        }
    }

    /// A TLS failure that is not a DANE decision (an alert, a protocol error, a closed
    /// connection): a `validation-failure` in RFC 8460 terms.
    fn tls(message: impl fmt::Display) -> Self {
        Self {
            error: "tls-error",
            tls_rpt: Some(TlsRptResult::ValidationFailure),
            message: message.to_string(),
            report: Some(Box::new(dane::tlsrpt::Failure::new(
                TlsRptResult::ValidationFailure,
                "tls-error",
            ))),
        }
    }

    /// The exit status: no usable records is no DANE (3); a verifier's decision, a TLS
    /// failure or a server without STARTTLS, all with an RFC 8460 result type, is a DANE
    /// failure (1); the rest (no address, no connection, a timeout, an SMTP error or a
    /// refused STARTTLS before TLS) is a check that could not be made (4).
    fn exit_status(&self) -> u8 {
        if self.error == dane::Error::NoUsableRecords.category() {
            EXIT_NO_DANE
        } else if self.tls_rpt.is_some() {
            EXIT_DANE_FAILURE
        } else {
            EXIT_LOOKUP_FAILED
        }
    }

    /// An I/O error while `doing` something: a timeout, or a failure of kind `error`.
    pub fn io(e: &io::Error, error: &'static str, doing: impl fmt::Display) -> Self {
        if is_timeout(e) {
            Self::new("timeout", format_args!("timed out {doing}"))
        } else {
            Self::new(error, format_args!("{doing}: {e}"))
        }
    }
}

/// Read and write timeouts show up as `WouldBlock` on Unix and `TimedOut` on Windows.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// Connects to `addr`, starts TLS (after STARTTLS for SMTP) and returns how the verifier
/// accepted the server.
pub fn check_address(addr: SocketAddr, session: &Session) -> Result<Outcome, Failure> {
    check_address_chain(addr, session).0
}

/// [`check_address`], and the certificate chain the server presented (leaf first; empty
/// when the handshake did not get that far), whether or not it was accepted.
pub fn check_address_chain(
    addr: SocketAddr,
    session: &Session,
) -> (Result<Outcome, Failure>, Vec<CertificateDer<'static>>) {
    let chain = Arc::new(Mutex::new(Vec::new()));
    let result = connect_and_check(addr, session, &chain);
    let chain = std::mem::take(&mut *chain.lock().unwrap_or_else(PoisonError::into_inner));
    (result, chain)
}

fn connect_and_check(
    addr: SocketAddr,
    session: &Session,
    chain: &Arc<Mutex<Vec<CertificateDer<'static>>>>,
) -> Result<Outcome, Failure> {
    let timeout = session.timeout;
    let tcp = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| Failure::io(&e, "connect-failed", "connecting"))?;
    tcp.set_read_timeout(Some(timeout))
        .and_then(|()| tcp.set_write_timeout(Some(timeout)))
        .map_err(|e| Failure::new("connect-failed", format_args!("socket options: {e}")))?;
    let _ = tcp.set_nodelay(true);
    if session.protocol == Protocol::Smtp {
        starttls(&tcp, &session.ehlo)?;
    }

    // A verifier, and so a session cache, per connection: a resumed session would skip the
    // certificate check and leave the previous connection's outcome.
    let mut verifier = DaneVerifier::new(
        session.tlsa.clone(),
        session.policy.clone(),
        session.provider.clone(),
    );
    if session.accept_unauthenticated {
        verifier = verifier.with_no_usable_records(dane::danger::accept_unauthenticated());
    }
    let mut config = verifier
        .client_config()
        .map_err(|e| Failure::tls(format_args!("TLS configuration: {e}")))?;
    config.resumption = Resumption::disabled();
    config
        .dangerous()
        .set_certificate_verifier(Arc::new(Recording {
            inner: verifier.clone(),
            chain: chain.clone(),
        }));
    let conn = ClientConnection::new(Arc::new(config), session.server_name.clone())
        .map_err(|e| Failure::tls(format_args!("TLS configuration: {e}")))?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| handshake_failure(&e))?;
    }
    let outcome = verifier
        .outcome()
        .ok_or_else(|| Failure::tls("the handshake completed without a certificate decision"))?;

    if session.protocol == Protocol::Smtp {
        // Politely, with a short wait for the 221 and no care for errors.
        let _ = tls
            .sock
            .set_read_timeout(Some(timeout.min(Duration::from_secs(2))));
        if tls
            .write_all(b"QUIT\r\n")
            .and_then(|()| tls.flush())
            .is_ok()
        {
            let _ = tls.read(&mut [0; 512]);
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(outcome)
}

/// The [`DaneVerifier`], noting the chain it is shown (for `audit`).
#[derive(Debug)]
struct Recording {
    inner: DaneVerifier,
    chain: Arc<Mutex<Vec<CertificateDer<'static>>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap_or_else(PoisonError::into_inner) = chain;
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}

/// The failure behind a handshake's I/O error: our verifier's [`dane::Error`], another TLS
/// error, a timeout or a closed connection.
fn handshake_failure(e: &io::Error) -> Failure {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(other)))) = tls
        && let Some(dane) = other.downcast_ref::<dane::Error>()
    {
        return Failure::dane(dane);
    }
    match tls {
        Some(tls) => Failure {
            report: Some(Box::new(dane::tlsrpt::Failure::from_rustls_error(tls))),
            ..Failure::tls(format_args!("TLS handshake failed: {tls}"))
        },
        None if is_timeout(e) => Failure::new("timeout", "timed out in the TLS handshake"),
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            Failure::tls("the server closed the connection during the TLS handshake")
        }
        None => Failure::tls(format_args!("TLS handshake failed: {e}")),
    }
}

/// Prints the line for one address.
pub fn report(address: &str, result: &Result<Outcome, Failure>, json: bool) -> Result<()> {
    if json {
        return output::print(&ConnectLine::new(address, result));
    }
    match result {
        Ok(outcome) => say(format_args!("verified: {outcome} ({address})")),
        Err(f) => match f.tls_rpt {
            Some(rpt) => say(format_args!(
                "not verified: {} [{rpt}] ({address})",
                f.message
            )),
            None => say(format_args!("not verified: {} ({address})", f.message)),
        },
    }
}
