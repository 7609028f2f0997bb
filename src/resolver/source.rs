//! Where DNS answers come from, with their DNSSEC status: the [`DnsSource`] trait, the
//! settings and trust anchors of both sources, and [`TrustedAdSource`] (the AD bit of a
//! validating resolver on a trusted path). [`ValidatingSource`](super::ValidatingSource) is in
//! `validating.rs`; the judging of validated answers in `answer.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use hickory_proto::dnssec::rdata::{DNSSECRData, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, Verifier};
use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::LookupError;
use super::answer::{
    AnswerKind, DnsAnswer, Relevant, Security, SignatureValidity, relevant_records,
    signature_validity,
};

/// A source of DNS answers with DNSSEC status, the one thing the resolver module needs from
/// DNS. Implement it to plug in another validating resolver; an implementation must never
/// report a bogus or failed lookup as [`Security::Insecure`] or as a negative answer.
pub trait DnsSource: Send + Sync + 'static {
    /// Looks up `rtype` at the fully qualified `name`.
    fn query(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> impl Future<Output = Result<DnsAnswer, LookupError>> + Send;
}

/// Transport settings shared by both sources.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The name servers, as IP:port. For [`ValidatingSource`](super::ValidatingSource) an authoritative or recursive
    /// server; for [`TrustedAdSource`] a validating recursive resolver on a trusted path.
    pub servers: Vec<SocketAddr>,
    /// Time to wait for one answer.
    pub timeout: Duration,
    /// How many times to try each query.
    pub attempts: usize,
    /// Whether to ask for recursion (RD). Off when talking to authoritative servers.
    pub recursion_desired: bool,
}

impl ServerSettings {
    /// One server, 5 s timeout, 2 attempts, recursion desired.
    pub fn new(server: SocketAddr) -> Self {
        Self {
            servers: vec![server],
            timeout: Duration::from_secs(5),
            attempts: 2,
            recursion_desired: true,
        }
    }
}

/// Trust anchors for local DNSSEC validation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TrustAnchor {
    /// The IANA root zone's key-signing keys (hickory's built-in copy).
    IanaRoot,
    /// DNSKEY records in zone-file form (`dane.test. IN DNSKEY 257 3 13 …`), for example a
    /// test zone's key, with its owner name as the trust point.
    DnskeyText(String),
    /// DS records in zone-file form (`dane.test. IN DS 4074 13 2 e159…`). Only
    /// [`ValidatingSource::connect`](super::ValidatingSource::connect) accepts them: the DNSKEY RRset they designate is fetched
    /// from the configured servers, and the keys that match a DS and sign that RRset (with
    /// a signature valid now) become the anchors.
    DsText(String),
}

/// "Trust the AD bit": a validating recursive resolver (local Unbound, as Postfix uses it)
/// does the DNSSEC work and reports it in the AD bit.
///
/// Safe only on a trusted path, such as a resolver on loopback: the AD bit is not signed, so
/// anyone between client and resolver could set it. Queries carry RD=1, AD=1 and EDNS DO=1
/// (without DO or AD a validating resolver does not set AD, RFC 6840 §5.7) and never CD. A
/// SERVFAIL, which is how a validating resolver reports bogus data, is an error, never
/// "insecure". Sent over UDP, retried over TCP when truncated.
#[derive(Debug, Clone)]
pub struct TrustedAdSource {
    settings: ServerSettings,
}

impl TrustedAdSource {
    /// A source asking `settings.servers` in order. Refuses a server that is not on a
    /// loopback address: over any other path the unsigned AD bit could be forged (use
    /// [`dangerous_on_trusted_path`](Self::dangerous_on_trusted_path) when the path is
    /// otherwise protected).
    pub fn new(settings: ServerSettings) -> Result<Self, LookupError> {
        if let Some(server) = settings.servers.iter().find(|s| !s.ip().is_loopback()) {
            return Err(LookupError::Config(format!(
                "{server} is not a loopback address: the AD bit is only trustworthy on a trusted path"
            )));
        }
        Ok(Self { settings })
    }

    /// Trusts the AD bit of servers at any address. The caller vouches that the path to
    /// them cannot be tampered with (IPsec, a private link, a DNS-over-TLS proxy on
    /// loopback…); otherwise anyone on the path can switch DANE off or forge records.
    pub fn dangerous_on_trusted_path(settings: ServerSettings) -> Self {
        Self { settings }
    }

    /// [`new`](Self::new), then a check that every configured resolver validates: each must
    /// answer `signed_zone DNSKEY` with AD=1 and the DNSKEY RRset (use `"."`, the root, with a
    /// resolver that validates from the IANA root; a test zone's apex with a resolver
    /// configured with that zone's anchor). A resolver that does not validate never sets
    /// AD, so every answer would read as "insecure" and switch DANE off everywhere: refuse to
    /// start instead.
    pub async fn connect(settings: ServerSettings, signed_zone: &str) -> Result<Self, LookupError> {
        let source = Self::new(settings)?;
        source.check_validates(signed_zone).await?;
        Ok(source)
    }

    /// The check of [`connect`](Self::connect), for a source made with
    /// [`dangerous_on_trusted_path`](Self::dangerous_on_trusted_path).
    pub async fn check_validates(&self, signed_zone: &str) -> Result<(), LookupError> {
        let zone = super::fqdn(signed_zone)?;
        for &server in &self.settings.servers {
            let one = Self {
                settings: ServerSettings {
                    servers: vec![server],
                    ..self.settings.clone()
                },
            };
            let response = one.raw_query(&zone, RecordType::DNSKEY).await?;
            let has_keys = response
                .answers
                .iter()
                .any(|r| r.record_type() == RecordType::DNSKEY && r.name == zone);
            if response.metadata.response_code != ResponseCode::NoError
                || !response.metadata.authentic_data
                || !has_keys
            {
                return Err(LookupError::Config(format!(
                    "{server} does not validate DNSSEC: its answer to {zone} DNSKEY has \
                     {} and AD={} (a resolver that does not validate would make every \
                     answer look insecure)",
                    if has_keys { "the keys" } else { "no keys" },
                    u8::from(response.metadata.authentic_data),
                )));
            }
        }
        Ok(())
    }

    async fn exchange(
        &self,
        server: SocketAddr,
        request: &[u8],
        id: u16,
        question: &Query,
    ) -> Result<Message, LookupError> {
        let timeout = self.settings.timeout;
        let udp = async {
            let bind: SocketAddr = if server.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let socket = tokio::net::UdpSocket::bind(bind).await.map_err(io_error)?;
            socket.connect(server).await.map_err(io_error)?;
            socket.send(request).await.map_err(io_error)?;
            let mut buf = vec![0u8; 65535];
            loop {
                let n = socket.recv(&mut buf).await.map_err(io_error)?;
                let Some(bytes) = buf.get(..n) else { continue };
                match Message::from_vec(bytes) {
                    Ok(m) if answers(&m, id, question) => return Ok(m),
                    // Not our answer (or garbage): keep waiting until the timeout.
                    _ => continue,
                }
            }
        };
        let response = tokio::time::timeout(timeout, udp)
            .await
            .map_err(|_| LookupError::Timeout)??;
        if !response.metadata.truncation {
            return Ok(response);
        }
        let tcp = async {
            let mut stream = tokio::net::TcpStream::connect(server)
                .await
                .map_err(io_error)?;
            let len = u16::try_from(request.len())
                .map_err(|_| LookupError::Other("query too long".into()))?;
            stream
                .write_all(&len.to_be_bytes())
                .await
                .map_err(io_error)?;
            stream.write_all(request).await.map_err(io_error)?;
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await.map_err(io_error)?;
            let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut buf).await.map_err(io_error)?;
            let m = Message::from_vec(&buf)
                .map_err(|e| LookupError::Other(format!("bad response: {e}")))?;
            if !answers(&m, id, question) {
                return Err(LookupError::Other(
                    "response does not match the query".into(),
                ));
            }
            Ok(m)
        };
        tokio::time::timeout(timeout, tcp)
            .await
            .map_err(|_| LookupError::Timeout)?
    }
}

/// Parses `owner [ttl] [IN] DS tag alg digest-type hex…` lines (`;` comments allowed).
fn parse_ds(text: &str) -> Result<Vec<(Name, DS)>, LookupError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(';').next().unwrap_or_default();
        let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
        let Some(ds_at) = tokens.iter().position(|t| t.eq_ignore_ascii_case("DS")) else {
            if tokens.is_empty() {
                continue;
            }
            return Err(LookupError::Config(format!("not a DS record: {line}")));
        };
        let bad = || LookupError::Config(format!("bad DS record: {line}"));
        let owner = tokens.first().filter(|_| ds_at > 0).ok_or_else(bad)?;
        let mut owner = Name::from_ascii(owner).map_err(|_| bad())?;
        owner.set_fqdn(true);
        let field = |i: usize| tokens.get(ds_at + i).ok_or_else(bad);
        let tag: u16 = field(1)?.parse().map_err(|_| bad())?;
        let alg: u8 = field(2)?.parse().map_err(|_| bad())?;
        let digest_type: u8 = field(3)?.parse().map_err(|_| bad())?;
        let hex: String = tokens.get(ds_at + 4..).ok_or_else(bad)?.concat();
        let digest = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .filter(|d| !d.is_empty())
            .ok_or_else(bad)?;
        out.push((
            owner,
            DS::new(
                tag,
                Algorithm::from_u8(alg),
                DigestType::from(digest_type),
                digest,
            ),
        ));
    }
    if out.is_empty() {
        return Err(LookupError::Config(
            "no DS record in the trust anchor".into(),
        ));
    }
    Ok(out)
}

/// The DNSKEYs (zone-file text) designated by DS records: fetched with DO=1, kept only if a
/// DS covers the key and the key signs the DNSKEY RRset with a signature valid now.
pub(crate) async fn dnskeys_from_ds(
    settings: &ServerSettings,
    text: &str,
) -> Result<String, LookupError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Only raw (unvalidated) DNSKEY answers are fetched here; their AD bit is not used.
    let fetcher = TrustedAdSource::dangerous_on_trusted_path(settings.clone());
    let mut out = String::new();
    for (owner, ds) in parse_ds(text)? {
        let response = fetcher.raw_query(&owner, RecordType::DNSKEY).await?;
        let dnskeys: Vec<&Record> = response
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::DNSKEY && r.name == owner)
            .collect();
        for key_record in &dnskeys {
            let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &key_record.data else {
                continue;
            };
            if !ds.covers(&owner, key).unwrap_or(false) {
                continue;
            }
            let signs_rrset = response.answers.iter().any(|r| {
                let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data else {
                    return false;
                };
                let input = sig.input();
                input.type_covered == RecordType::DNSKEY
                    && u64::from(input.sig_inception.get()) <= now
                    && now <= u64::from(input.sig_expiration.get())
                    && key.calculate_key_tag().ok() == Some(input.key_tag)
                    && key
                        .verify_rrsig(&owner, key_record.dns_class, sig, dnskeys.iter().copied())
                        .is_ok()
            });
            if signs_rrset {
                out.push_str(&format!("{owner} 3600 IN DNSKEY {key}\n"));
            }
        }
    }
    if out.is_empty() {
        return Err(LookupError::Config(
            "no DNSKEY matches the DS trust anchor with a valid self-signature".into(),
        ));
    }
    Ok(out)
}

/// RFC 2308 §5: a negative answer is cached for the smaller of the SOA's TTL and MINIMUM.
fn soa_negative_ttl(authorities: &[Record]) -> u32 {
    authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.minimum.min(r.ttl)),
            _ => None,
        })
        .unwrap_or(0)
}

/// Whether `m` is the response to our query: same ID, a response, the same question.
fn answers(m: &Message, id: u16, question: &Query) -> bool {
    m.metadata.id == id
        && m.metadata.message_type == MessageType::Response
        && m.queries.len() == 1
        && m.queries.first().is_some_and(|q| {
            // Name comparison ignores ASCII case (a resolver may echo 0x20-mixed case).
            q.name() == question.name() && q.query_type() == question.query_type()
        })
}

fn io_error(e: std::io::Error) -> LookupError {
    LookupError::Other(format!("I/O: {e}"))
}

impl TrustedAdSource {
    /// One query (RD as configured, AD=1, DO=1), the raw response.
    async fn raw_query(&self, name: &Name, rtype: RecordType) -> Result<Message, LookupError> {
        let mut last = LookupError::Other("no name server configured".into());
        for _ in 0..self.settings.attempts.max(1) {
            for &server in &self.settings.servers {
                // A fresh random ID per query.
                let mut msg = Message::query();
                let id = msg.metadata.id;
                msg.metadata.recursion_desired = self.settings.recursion_desired;
                msg.metadata.authentic_data = true;
                let question = Query::query(name.clone(), rtype);
                msg.add_query(question.clone());
                let mut edns = Edns::new();
                edns.set_dnssec_ok(true).set_max_payload(1232);
                msg.set_edns(edns);
                let request = msg
                    .to_vec()
                    .map_err(|e| LookupError::Other(format!("encode: {e}")))?;
                match self.exchange(server, &request, id, &question).await {
                    Ok(response) => return Ok(response),
                    Err(e) => last = e,
                }
            }
        }
        Err(last)
    }
}

impl TrustedAdSource {
    /// The validity window (inception, expiration) of the RRSIG over the `rtype` RRset at
    /// `name` (after any CNAME chain in the response), as the validating resolver sent it
    /// with AD=1: `None` without AD=1 or without such an RRSIG (a resolver may strip them).
    /// Asked afresh (no cache). For monitoring signature expiry (`danecheck audit`); the
    /// decision about the records is [`DnsSource::query`]'s.
    pub async fn signature_validity(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Option<SignatureValidity>, LookupError> {
        let response = self.raw_query(name, rtype).await?;
        match response.metadata.response_code {
            ResponseCode::NoError => {}
            ResponseCode::NXDomain => return Ok(None),
            ResponseCode::ServFail => return Err(LookupError::ServFail),
            code => return Err(LookupError::Rcode(code.to_string())),
        }
        if !response.metadata.authentic_data {
            return Ok(None);
        }
        let relevant = relevant_records(name, rtype, &response.answers);
        if relevant.rrset.is_empty() {
            return Ok(None);
        }
        Ok(signature_validity(
            &relevant.owner,
            rtype,
            &response.answers,
            false,
            SystemTime::now(),
        ))
    }
}

impl DnsSource for TrustedAdSource {
    async fn query(&self, name: &Name, rtype: RecordType) -> Result<DnsAnswer, LookupError> {
        let response = self.raw_query(name, rtype).await?;
        classify_ad(name, rtype, &response)
    }
}

fn classify_ad(
    name: &Name,
    rtype: RecordType,
    response: &Message,
) -> Result<DnsAnswer, LookupError> {
    let security = if response.metadata.authentic_data {
        Security::Secure
    } else {
        Security::Insecure
    };
    let negative_ttl = || soa_negative_ttl(&response.authorities);
    match response.metadata.response_code {
        ResponseCode::NoError => {
            let answer = answer_kind(name, rtype, &response.answers);
            Ok(match answer {
                AnswerKind::NoData { .. } => DnsAnswer {
                    security,
                    kind: AnswerKind::NoData {
                        ttl: negative_ttl(),
                    },
                },
                kind => DnsAnswer { security, kind },
            })
        }
        ResponseCode::NXDomain => Ok(DnsAnswer {
            security,
            kind: AnswerKind::NxDomain {
                ttl: negative_ttl(),
            },
        }),
        // A validating resolver answers SERVFAIL for bogus data: never "insecure".
        ResponseCode::ServFail => Err(LookupError::ServFail),
        code => Err(LookupError::Rcode(code.to_string())),
    }
}

/// The records of type `rtype` at the end of the CNAME chain from `name`.
fn answer_kind(name: &Name, rtype: RecordType, answers: &[Record]) -> AnswerKind {
    let Relevant {
        owner,
        cnames,
        links,
        rrset,
    } = relevant_records(name, rtype, answers);
    let ttl = links
        .iter()
        .chain(rrset.iter())
        .map(|r| r.ttl)
        .min()
        .unwrap_or(0);
    let rdata: Vec<RData> = rrset.iter().map(|r| r.data.clone()).collect();
    if rdata.is_empty() {
        AnswerKind::NoData { ttl }
    } else {
        AnswerKind::Records {
            owner,
            cnames,
            ttl,
            rdata,
        }
    }
}
