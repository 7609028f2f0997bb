//! An on-path DNS attacker for tests: a UDP + TCP proxy in front of a real server (the
//! in-process signed server of `dns.rs`) that can rewrite, replace, delay or drop any answer to
//! any question.
//!
//! Every query is forwarded to the upstream server over the transport it came in on (UDP or
//! TCP); the upstream response and the query go through the current [`Rule`], whose
//! [`Verdict`] is what the client receives. Rules can be swapped at run time
//! ([`ForgingProxy::set_rule`]); [`pass_through`] forwards everything unchanged.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// What the client receives.
pub enum Verdict {
    /// This message (its ID is *not* fixed up: a rule forging a wrong ID does so on purpose).
    Reply(Message),
    /// These bytes.
    Raw(Vec<u8>),
    /// Nothing (a lost packet).
    Drop,
    /// The verdict, after a delay.
    Delay(Duration, Box<Verdict>),
}

/// The transport a query came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// A rewrite: from the client's query and the real upstream response (None when the upstream
/// did not answer) to what the client receives.
pub type Rule = Arc<dyn Fn(Transport, &Message, Option<Message>) -> Verdict + Send + Sync>;

/// Forwards every answer unchanged.
pub fn pass_through() -> Rule {
    Arc::new(|_, _, resp| match resp {
        Some(m) => Verdict::Reply(m),
        None => Verdict::Drop,
    })
}

/// Applies `forge` to the answers to `(name, rtype)` (name compared case-insensitively) and
/// forwards everything else unchanged.
pub fn on_question(
    name: &Name,
    rtype: RecordType,
    forge: impl Fn(Transport, &Message, Option<Message>) -> Verdict + Send + Sync + 'static,
) -> Rule {
    let name = name.clone();
    Arc::new(move |t, q, resp| {
        let hit = q
            .queries
            .first()
            .is_some_and(|q| q.name() == &name && q.query_type() == rtype);
        if hit {
            forge(t, q, resp)
        } else {
            match resp {
                Some(m) => Verdict::Reply(m),
                None => Verdict::Drop,
            }
        }
    })
}

/// A response to `query` (same ID and question, QR=1, AA=1, an OPT with DO=1 when the query
/// had EDNS) with `rcode` and the given sections; nothing else.
pub fn response(
    query: &Message,
    rcode: ResponseCode,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    additionals: Vec<Record>,
) -> Message {
    let mut m = Message::response(query.metadata.id, OpCode::Query);
    m.metadata.message_type = MessageType::Response;
    m.metadata.authoritative = true;
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    m.metadata.response_code = rcode;
    for q in &query.queries {
        m.add_query(q.clone());
    }
    m.add_answers(answers);
    m.add_authorities(authorities);
    m.add_additionals(additionals);
    if query.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_dnssec_ok(true).set_max_payload(1232);
        m.set_edns(edns);
    }
    m
}

/// An unsigned SOA record owned by `zone`.
pub fn unsigned_soa(zone: &Name) -> Record {
    let soa = SOA::new(
        Name::from_ascii("ns.dane.test.").unwrap(),
        Name::from_ascii("hostmaster.dane.test.").unwrap(),
        1,
        3600,
        600,
        86400,
        300,
    );
    Record::from_rdata(zone.clone(), 300, RData::SOA(soa))
}

/// The question of a query.
pub fn question(query: &Message) -> Option<&Query> {
    query.queries.first()
}

/// The proxy. Dropping it stops it.
pub struct ForgingProxy {
    /// `127.0.0.1:port`, UDP and TCP.
    pub addr: SocketAddr,
    rule: Arc<Mutex<Rule>>,
    tcp_enabled: Arc<Mutex<bool>>,
    queries: Arc<Mutex<usize>>,
    tasks: Vec<JoinHandle<()>>,
}

impl ForgingProxy {
    /// Starts a proxy to `upstream` (UDP and TCP on the same port), passing everything
    /// through until a rule is set.
    pub async fn start(upstream: SocketAddr) -> Self {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let rule = Arc::new(Mutex::new(pass_through()));
        let tcp_enabled = Arc::new(Mutex::new(true));
        let queries = Arc::new(Mutex::new(0));
        let udp = Arc::new(udp);
        let udp_task = {
            let (rule, queries, udp) = (rule.clone(), queries.clone(), udp.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65535];
                loop {
                    let Ok((n, client)) = udp.recv_from(&mut buf).await else {
                        return;
                    };
                    let request = buf[..n].to_vec();
                    let (rule, queries, udp) = (rule.clone(), queries.clone(), udp.clone());
                    tokio::spawn(async move {
                        *queries.lock().unwrap() += 1;
                        let rule = rule.lock().unwrap().clone();
                        if let Some(out) = handle(Transport::Udp, &request, upstream, &rule).await {
                            let _ = udp.send_to(&out, client).await;
                        }
                    });
                }
            })
        };
        let tcp_task = {
            let (rule, queries, tcp_enabled) = (rule.clone(), queries.clone(), tcp_enabled.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = tcp.accept().await else {
                        return;
                    };
                    if !*tcp_enabled.lock().unwrap() {
                        // TCP "fails": the connection is closed at once.
                        drop(stream);
                        continue;
                    }
                    let (rule, queries) = (rule.clone(), queries.clone());
                    tokio::spawn(serve_tcp(stream, upstream, rule, queries));
                }
            })
        };
        Self {
            addr,
            rule,
            tcp_enabled,
            queries,
            tasks: vec![udp_task, tcp_task],
        }
    }

    /// Replaces the rule.
    pub fn set_rule(&self, rule: Rule) {
        *self.rule.lock().unwrap() = rule;
    }

    /// Whether TCP connections are served (off: every connection is closed at once).
    pub fn set_tcp(&self, on: bool) {
        *self.tcp_enabled.lock().unwrap() = on;
    }

    /// Queries received so far (UDP datagrams and TCP messages).
    pub fn queries(&self) -> usize {
        *self.queries.lock().unwrap()
    }
}

impl Drop for ForgingProxy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn serve_tcp(
    mut stream: TcpStream,
    upstream: SocketAddr,
    rule: Arc<Mutex<Rule>>,
    queries: Arc<Mutex<usize>>,
) {
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut request = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut request).await.is_err() {
            return;
        }
        *queries.lock().unwrap() += 1;
        let current = rule.lock().unwrap().clone();
        if let Some(out) = handle(Transport::Tcp, &request, upstream, &current).await {
            let Ok(n) = u16::try_from(out.len()) else {
                return;
            };
            if stream.write_all(&n.to_be_bytes()).await.is_err()
                || stream.write_all(&out).await.is_err()
            {
                return;
            }
        }
    }
}

/// Forwards one request, applies the rule, and returns the bytes to send (if any).
async fn handle(
    transport: Transport,
    request: &[u8],
    upstream: SocketAddr,
    rule: &Rule,
) -> Option<Vec<u8>> {
    let query = Message::from_vec(request).ok()?;
    let real = forward(transport, request, upstream)
        .await
        .and_then(|b| Message::from_vec(&b).ok());
    let mut verdict = rule(transport, &query, real);
    loop {
        match verdict {
            Verdict::Reply(m) => return m.to_vec().ok(),
            Verdict::Raw(b) => return Some(b),
            Verdict::Drop => return None,
            Verdict::Delay(d, next) => {
                tokio::time::sleep(d).await;
                verdict = *next;
            }
        }
    }
}

async fn forward(transport: Transport, request: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let exchange = async {
        match transport {
            Transport::Udp => {
                let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.ok()?;
                sock.send_to(request, upstream).await.ok()?;
                let mut buf = vec![0u8; 65535];
                let n = sock.recv(&mut buf).await.ok()?;
                buf.truncate(n);
                Some(buf)
            }
            Transport::Tcp => {
                let mut s = TcpStream::connect(upstream).await.ok()?;
                let n = u16::try_from(request.len()).ok()?;
                s.write_all(&n.to_be_bytes()).await.ok()?;
                s.write_all(request).await.ok()?;
                let mut len = [0u8; 2];
                s.read_exact(&mut len).await.ok()?;
                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                s.read_exact(&mut buf).await.ok()?;
                Some(buf)
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
}

/// One query straight to `server` (UDP, DO=1, RD=0), for a test to collect real records
/// (signed SOA, NSEC, RRSIG) to replay in a forgery.
pub async fn fetch(server: SocketAddr, name: &Name, rtype: RecordType) -> Message {
    let mut q = Message::query();
    q.metadata.recursion_desired = false;
    q.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true).set_max_payload(1232);
    q.set_edns(edns);
    let bytes = forward(Transport::Tcp, &q.to_vec().unwrap(), server)
        .await
        .expect("upstream answers");
    Message::from_vec(&bytes).unwrap()
}
