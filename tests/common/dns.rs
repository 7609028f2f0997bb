//! An in-process, DNSSEC-signing authoritative DNS server for `cargo test` (feature `resolver`).
//!
//! Nothing is committed and nothing outside the test process is needed: keys are generated and
//! every zone is signed when [`start`] runs, and the server listens on `127.0.0.1` with an
//! OS-assigned port (UDP and TCP on the same port number) as tasks on the test's tokio runtime.
//!
//! # Zones
//!
//! [`ZoneSet::new`] creates these zones, each with SOA and NS (`ns.dane.test.`, which has
//! `A 127.0.0.1` in the apex zone); every signed zone has one key (a CSK, flags 257) and NSEC
//! (never NSEC3). Every child is delegated from `dane.test.` (NS, plus DS when signed):
//!
//! | zone | signing | delegation from `dane.test.` |
//! |---|---|---|
//! | `dane.test.` | alg 13 (ECDSAP256SHA256): the **trust anchor** ([`TestDns::anchor`]) | – |
//! | `secure.dane.test.` | alg 13 | NS + DS |
//! | `rsa.dane.test.` | alg 8 (RSASHA256, 2048 bits) | NS + DS |
//! | `insecure.dane.test.` | unsigned | NS only: the parent's NSEC proves there is no DS |
//! | `bogus.dane.test.` | alg 13, but the RRSIG over every **TLSA** RRset is corrupted after signing (other RRsets validate) | NS + DS |
//! | `expired.dane.test.` | alg 13, every signature valid 2020-01-01 .. 2020-02-01 only | NS + DS (valid, signed by the parent) |
//! | `badds.dane.test.` | alg 13, signed correctly | NS + DS whose digest has one byte flipped |
//! | `unsupported.dane.test.` | alg 16 (ED448, [`UNSUPPORTED_ALGORITHM`]), not implemented by hickory 0.26.3: random DNSKEY (57 bytes) and RRSIG (114 bytes) data, which nothing can verify | NS + DS (alg 16, the correct SHA-256 digest of that key): **insecure** by RFC 4035 §5.2 |
//!
//! Signatures are valid from now−1 h to now+1 day (except in `expired`). The content is added by
//! the test with [`ZoneSet::add`] / [`ZoneSet::add_str`]; see [`start`].
//!
//! # Answers (RFC 1034, 2181, 4035 §3.1)
//!
//! - The question goes to the deepest served zone that contains the name, except a **DS**
//!   query for a child zone's apex, which the **parent** answers (RFC 4035 §3.1.4.1).
//! - AA=1 on authoritative answers; RA=0; RD and CD copied; AD never set. Names outside
//!   `dane.test.` get REFUSED, a class other than IN gets REFUSED, opcodes other than QUERY get
//!   NOTIMP.
//! - EDNS: a query with OPT gets an OPT back (payload 1232) with DO copied. RRSIG and NSEC
//!   records are added only when DO=1 (RFC 4035 §3.2.1); explicitly queried DNSSEC types are
//!   answered either way.
//! - Positive answer: the RRset + its RRSIG; no authority or additional records (minimal
//!   responses).
//! - **CNAME**: the CNAME RRset (+ RRSIG) only. The server never follows the chain inside the
//!   response, even when it serves the target: the client resolves the target with its own
//!   query (hickory's `CachingClient` does this). This keeps every response about one name.
//! - NODATA: NOERROR, SOA + the NSEC of the name (or, for an empty non-terminal, the NSEC
//!   covering it), each with RRSIG.
//! - NXDOMAIN: SOA + the NSEC covering the name + the NSEC covering the wildcard at the
//!   closest encloser (one record when the same NSEC covers both), each with RRSIG.
//! - Wildcards (an owner like `*.wild`): the expansion is answered under the query name with the
//!   wildcard's RRSIG (labels field < owner labels) and the NSEC covering the query name in the
//!   authority section; wildcard NODATA adds the wildcard's own NSEC (RFC 4035 §3.1.3.3/4).
//!   *Known hickory 0.26.3 bug*: its validator calls an NSEC wildcard answer **one label below
//!   the wildcard** (`*.wild` → `mx.wild`) Bogus, while deeper expansions (`_25._tcp.mx.wild`)
//!   validate; the answer served here is the RFC 4035 one (the same shape NSD serves).
//! - Below a delegation to a zone not served here (a non-apex NS added by the test): a referral
//!   (AA=0, NS + DS + RRSIG, or NS + NSEC + RRSIG proving there is no DS).
//! - UDP: when the answer exceeds the client's EDNS payload size (512 without EDNS) the server
//!   sends the header, question and OPT only, with TC=1. TCP: 2-byte length framing, several
//!   queries per connection.
//!
//! Every question received is logged ([`TestDns::queries`]), which lets a test count round trips
//! (cache, coalescing). [`TestDns::set_delay`] delays every response (benchmarks of a remote
//! server).
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Bound;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dane::pki_types::PrivatePkcs8KeyDer;
use hickory_proto::dnssec::crypto::{EcdsaSigningKey, RsaSigningKey};
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, NSEC, RRSIG, SigInput};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf, SigningKey, TBS, TrustAnchors};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, NS, SOA};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType, SerialNumber};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// The signed apex and trust point.
pub const APEX: &str = "dane.test.";
/// Name server of every zone (`A 127.0.0.1` in the apex zone).
pub const NS_NAME: &str = "ns.dane.test.";
/// TTL of the records the fixture makes (SOA, NS, DNSKEY, DS, NSEC) and SOA minimum.
pub const TTL: u32 = 300;
/// EDNS payload size the server advertises.
const SERVER_PAYLOAD: u16 = 1232;
/// Signature window of the `expired` zone: 2020-01-01T00:00:00Z .. 2020-02-01T00:00:00Z.
const EXPIRED_WINDOW: (u32, u32) = (1_577_836_800, 1_580_515_200);
/// DNSSEC algorithm number of the `unsupported` zone: 16, ED448 (RFC 8080). hickory 0.26.3 has
/// no ED448 (`Algorithm::from_u8(16)` is `Algorithm::Unknown(16)`, whose `is_supported()` is
/// false with either crypto backend).
pub const UNSUPPORTED_ALGORITHM: u8 = 16;
/// Sizes of an ED448 public key and signature (RFC 8080 §3, §4).
const ED448_PUBLIC_KEY_LEN: usize = 57;
const ED448_SIGNATURE_LEN: usize = 114;

/// How a zone is signed (see the table in the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// Not signed, delegated without DS.
    Unsigned,
    /// ECDSAP256SHA256 (algorithm 13).
    Ecdsa,
    /// RSASHA256 (algorithm 8), 2048-bit key.
    Rsa,
    /// Algorithm 13, RRSIGs over TLSA RRsets corrupted after signing.
    BogusTlsaSig,
    /// Algorithm 13, every signature expired (2020-01-01 .. 2020-02-01).
    Expired,
    /// Algorithm 13, correctly signed, but the parent's DS digest is wrong.
    BadDs,
    /// Algorithm [`UNSUPPORTED_ALGORITHM`] (16, ED448), which the validator does not
    /// implement: random public key and signature bytes, a correct DS (SHA-256) in the parent.
    /// With only unsupported algorithms in the DS RRset the zone is insecure (RFC 4035 §5.2).
    UnsupportedAlgorithm,
}

/// The zones [`ZoneSet::new`] creates: `(apex, signing)`.
pub const ZONES: [(&str, Signing); 8] = [
    ("dane.test.", Signing::Ecdsa),
    ("secure.dane.test.", Signing::Ecdsa),
    ("rsa.dane.test.", Signing::Rsa),
    ("insecure.dane.test.", Signing::Unsigned),
    ("bogus.dane.test.", Signing::BogusTlsaSig),
    ("expired.dane.test.", Signing::Expired),
    ("badds.dane.test.", Signing::BadDs),
    ("unsupported.dane.test.", Signing::UnsupportedAlgorithm),
];

/// An RRset: one TTL (the smallest given), its RDATAs (no duplicates) and, once signed, RRSIGs.
#[derive(Clone, Debug, Default)]
struct RrSet {
    ttl: u32,
    data: Vec<RData>,
    sigs: Vec<RData>,
}

/// The RRsets at one owner name, by type code.
type Node = BTreeMap<u16, RrSet>;

#[derive(Clone, Debug)]
struct ZoneData {
    apex: Name,
    signing: Signing,
    /// Owner names are lower-cased; `Name`'s `Ord` is the canonical DNSSEC order (RFC 4034 §6.1).
    nodes: BTreeMap<Name, Node>,
}

impl ZoneData {
    fn insert(&mut self, owner: Name, ttl: u32, rdata: RData) {
        let set = self
            .nodes
            .entry(owner)
            .or_default()
            .entry(u16::from(rdata.record_type()))
            .or_insert_with(|| RrSet {
                ttl,
                ..RrSet::default()
            });
        set.ttl = set.ttl.min(ttl);
        if !set.data.contains(&rdata) {
            set.data.push(rdata);
        }
    }
}

/// The zones to serve and their content; turn it into a running server with [`start`].
#[derive(Clone, Debug)]
pub struct ZoneSet {
    zones: Vec<ZoneData>,
}

impl Default for ZoneSet {
    fn default() -> Self {
        Self::new()
    }
}

/// `name` as an absolute name (`"mx.secure.dane.test."`; a missing final dot is added).
fn apex_records(z: &mut ZoneData, ns: &Name) {
    let soa = SOA::new(
        ns.clone(),
        name("hostmaster.dane.test."),
        1,
        3600,
        600,
        86400,
        TTL,
    );
    let apex = z.apex.clone();
    z.insert(apex.clone(), TTL, RData::SOA(soa));
    z.insert(apex, TTL, RData::NS(NS(ns.clone())));
}

pub fn name(name: &str) -> Name {
    let mut n = Name::from_str(name).unwrap_or_else(|e| panic!("bad name {name:?}: {e}"));
    n.set_fqdn(true);
    n.to_lowercase()
}

impl ZoneSet {
    /// The zones of [`ZONES`], each with SOA and NS only.
    pub fn new() -> Self {
        let ns = name(NS_NAME);
        let mut set = Self {
            zones: ZONES
                .iter()
                .map(|&(apex, signing)| ZoneData {
                    apex: name(apex),
                    signing,
                    nodes: BTreeMap::new(),
                })
                .collect(),
        };
        for z in &mut set.zones {
            apex_records(z, &ns);
        }
        set.add(APEX, NS_NAME, TTL, RData::A(A(Ipv4Addr::LOCALHOST)));
        set
    }

    /// Adds another zone `label.dane.test.` (SOA and NS; delegated from `dane.test.` like
    /// the zones of [`ZONES`]).
    pub fn add_zone(&mut self, label: &str, signing: Signing) -> &mut Self {
        let mut z = ZoneData {
            apex: name(&format!("{label}.{APEX}")),
            signing,
            nodes: BTreeMap::new(),
        };
        apex_records(&mut z, &name(NS_NAME));
        self.zones.push(z);
        self
    }

    /// Adds one record.
    ///
    /// `zone`: a zone apex (`"secure.dane.test."`, final dot optional) or its first label
    /// relative to `dane.test.` (`"secure"`); `"dane.test"` or `"@"` is the apex zone.
    /// `owner`: absolute when it ends with a dot, otherwise relative to the zone; `"@"` is
    /// the zone apex. Panics if the owner is outside the zone or inside a served child zone
    /// (add it to that zone instead). Records with the same owner and type form one RRset,
    /// whose TTL is the smallest one given. The fixture makes SOA, NS, DNSKEY, DS and NSEC
    /// itself; adding NS below an apex makes a delegation to a zone that is not served.
    pub fn add(&mut self, zone: &str, owner: &str, ttl: u32, rdata: RData) -> &mut Self {
        let zi = self.zone_index(zone);
        let apex = self.zones[zi].apex.clone();
        let owner = if owner == "@" {
            apex.clone()
        } else if owner.ends_with('.') {
            name(owner)
        } else {
            name(&format!("{owner}.{apex}"))
        };
        assert!(apex.zone_of(&owner), "{owner} is not in zone {apex}");
        if let Some(child) = self
            .zones
            .iter()
            .find(|z| z.apex != apex && apex.zone_of(&z.apex) && z.apex.zone_of(&owner))
        {
            panic!("{owner} belongs to zone {}, not {apex}", child.apex);
        }
        self.zones[zi].insert(owner, ttl, rdata);
        self
    }

    /// [`ZoneSet::add`] with the RDATA in presentation format, e.g.
    /// `add_str("secure", "_25._tcp.mx", 300, RecordType::TLSA, "3 1 1 0123…")`.
    pub fn add_str(
        &mut self,
        zone: &str,
        owner: &str,
        ttl: u32,
        rtype: RecordType,
        rdata: &str,
    ) -> &mut Self {
        let rdata = RData::try_from_str(rtype, rdata)
            .unwrap_or_else(|e| panic!("bad {rtype} RDATA {rdata:?}: {e}"));
        self.add(zone, owner, ttl, rdata)
    }

    fn zone_index(&self, zone: &str) -> usize {
        let zone = zone.trim_end_matches('.');
        let full = match zone {
            "@" | "" => APEX.to_owned(),
            z if z == APEX.trim_end_matches('.') || z.ends_with(".dane.test") => format!("{z}."),
            z => format!("{z}.{APEX}"),
        };
        let full = name(&full);
        self.zones
            .iter()
            .position(|z| z.apex == full)
            .unwrap_or_else(|| panic!("no zone {full} in the fixture"))
    }
}

/// One question the server received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedQuery {
    pub name: Name,
    pub qtype: RecordType,
    /// Received over TCP (else UDP).
    pub tcp: bool,
    /// The query had EDNS with DO=1.
    pub dnssec_ok: bool,
}

/// A running server; dropping it stops it (the tasks are aborted).
pub struct TestDns {
    /// `127.0.0.1:port`, the same port for UDP and TCP.
    pub addr: SocketAddr,
    /// The DNSKEY record(s) of `dane.test.` with the SEP flag (flags 257): the trust anchor.
    pub anchor: Vec<Record>,
    /// [`TestDns::anchor`] as zone-file lines (`dane.test. 300 IN DNSKEY 257 3 13 …`), the
    /// format `TrustAnchors::from_file` / `TrustAnchors::from_str` read.
    pub anchor_zone_file: String,
    /// The DS (SHA-256) of the apex key as zone-file lines (`dane.test. 300 IN DS 12345 13 2 …`).
    pub ds_zone_file: String,
    log: Arc<Mutex<Vec<LoggedQuery>>>,
    /// Per-response delay in microseconds ([`TestDns::set_delay`]).
    delay: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl TestDns {
    /// `TrustAnchors` holding [`TestDns::anchor`] under the name `dane.test.`.
    pub fn trust_anchors(&self) -> TrustAnchors {
        let mut anchors = TrustAnchors::empty();
        for r in &self.anchor {
            if let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &r.data {
                anchors.insert_with_name(key.public_key(), LowerName::new(&r.name));
            }
        }
        anchors
    }

    /// A hickory resolver that sends every query to this server (UDP, then TCP on truncation),
    /// RD=0, no hosts file. With `validate` it validates DNSSEC against [`TestDns::anchor`]
    /// (`ResolverBuilder::with_trust_anchor`); without, every record's proof is Indeterminate.
    pub fn resolver(&self, validate: bool) -> TokioResolver {
        let mut udp = ConnectionConfig::udp();
        udp.port = self.addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = self.addr.port();
        let ns = NameServerConfig::new(self.addr.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_name_servers(vec![ns]);
        let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
        let opts = builder.options_mut();
        opts.recursion_desired = false;
        opts.validate = validate;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.timeout = Duration::from_secs(3);
        if validate {
            builder = builder.with_trust_anchor(Arc::new(self.trust_anchors()));
        }
        builder.build().expect("resolver")
    }

    /// The questions received so far, in order.
    pub fn queries(&self) -> Vec<LoggedQuery> {
        self.log.lock().unwrap().clone()
    }

    /// Delays every response by `delay` from now on (zero: answer at once), as a remote
    /// server would. UDP responses are delayed independently of each other; a TCP
    /// connection answers its queries in order.
    pub fn set_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.delay.store(micros, Ordering::Relaxed);
    }

    /// Forgets the logged questions.
    pub fn clear_queries(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Stops the server (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for TestDns {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Signs the zones, binds `127.0.0.1:port` (UDP + TCP) and serves them with `tokio::spawn`
/// (call it inside a tokio runtime; the server lives until [`TestDns`] is dropped or the
/// runtime ends).
pub async fn start(zones: ZoneSet) -> TestDns {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let now = u32::try_from(now).expect("time fits in u32");
    let (served, anchor, ds) = build(zones, now);
    let served = Arc::new(served);
    let anchor_zone_file = anchor.iter().map(|r| format!("{r}\n")).collect();
    let ds_zone_file = ds.iter().map(|r| format!("{r}\n")).collect();

    let (udp, tcp) = bind().await;
    let addr = udp.local_addr().expect("local addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let delay = Arc::new(AtomicU64::new(0));
    let tasks = vec![
        tokio::spawn(serve_udp(udp, served.clone(), log.clone(), delay.clone())),
        tokio::spawn(serve_tcp(tcp, served, log.clone(), delay.clone())),
    ];
    TestDns {
        addr,
        anchor,
        anchor_zone_file,
        ds_zone_file,
        log,
        delay,
        tasks,
    }
}

async fn bind() -> (UdpSocket, TcpListener) {
    let mut last_err = None;
    for _ in 0..50 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind UDP 127.0.0.1:0");
        let port = udp.local_addr().expect("local addr").port();
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(tcp) => return (udp, tcp),
            Err(e) => last_err = Some(e),
        }
    }
    panic!("no port free for both UDP and TCP: {last_err:?}")
}

// ---------------------------------------------------------------- signing

struct ZoneKey {
    /// `None` for [`Signing::UnsupportedAlgorithm`]: its signatures are random bytes.
    key: Option<Box<dyn SigningKey>>,
    algorithm: Algorithm,
    dnskey: DNSKEY,
    tag: u16,
}

fn random_bytes(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut b = vec![0; len];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn generate_key(signing: Signing) -> Option<ZoneKey> {
    let key: Box<dyn SigningKey> = match signing {
        Signing::Unsigned => return None,
        Signing::UnsupportedAlgorithm => {
            let algorithm = Algorithm::from_u8(UNSUPPORTED_ALGORITHM);
            let public = PublicKeyBuf::new(random_bytes(ED448_PUBLIC_KEY_LEN), algorithm);
            let dnskey = DNSKEY::new(true, true, false, public);
            let tag = dnskey.calculate_key_tag().expect("key tag");
            return Some(ZoneKey {
                key: None,
                algorithm,
                dnskey,
                tag,
            });
        }
        Signing::Rsa => {
            use rsa::pkcs8::EncodePrivateKey;
            let k = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key");
            let der = k.to_pkcs8_der().expect("PKCS#8").as_bytes().to_vec();
            Box::new(
                RsaSigningKey::from_pkcs8(&PrivatePkcs8KeyDer::from(der), Algorithm::RSASHA256)
                    .expect("RSA signing key"),
            )
        }
        _ => {
            let der = EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256).expect("P-256");
            Box::new(
                EcdsaSigningKey::from_pkcs8(&der, Algorithm::ECDSAP256SHA256)
                    .expect("P-256 signing key"),
            )
        }
    };
    let public = key.to_public_key().expect("public key");
    let dnskey = DNSKEY::new(true, true, false, public);
    let tag = dnskey.calculate_key_tag().expect("key tag");
    Some(ZoneKey {
        algorithm: key.algorithm(),
        key: Some(key),
        dnskey,
        tag,
    })
}

fn sign_rrset(
    zk: &ZoneKey,
    signer: &Name,
    owner: &Name,
    rtype: RecordType,
    set: &RrSet,
    (inception, expiration): (u32, u32),
    corrupt: bool,
) -> RData {
    let input = SigInput {
        type_covered: rtype,
        algorithm: zk.algorithm,
        num_labels: owner.num_labels(),
        original_ttl: set.ttl,
        sig_expiration: SerialNumber::new(expiration),
        sig_inception: SerialNumber::new(inception),
        key_tag: zk.tag,
        signer_name: signer.clone(),
    };
    let records: Vec<Record> = set
        .data
        .iter()
        .map(|d| Record::from_rdata(owner.clone(), set.ttl, d.clone()))
        .collect();
    let tbs = TBS::from_input(owner, DNSClass::IN, &input, records.iter()).expect("TBS");
    let mut sig = match &zk.key {
        Some(key) => key.sign(&tbs).expect("sign"),
        None => random_bytes(ED448_SIGNATURE_LEN),
    };
    if corrupt {
        sig[0] ^= 0x01;
    }
    RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, sig)))
}

/// Non-apex owners with NS in the zone: delegation points.
fn cuts(z: &ZoneData) -> BTreeSet<Name> {
    z.nodes
        .iter()
        .filter(|(n, node)| **n != z.apex && node.contains_key(&u16::from(RecordType::NS)))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Names strictly below a delegation point (glue, occluded data) are not authoritative.
fn occluded(cuts: &BTreeSet<Name>, n: &Name) -> bool {
    cuts.iter().any(|c| c != n && c.zone_of(n))
}

/// Returns the served zones, the anchor DNSKEY records and the anchor DS records.
fn build(set: ZoneSet, now: u32) -> (Served, Vec<Record>, Vec<Record>) {
    let mut zones = set.zones;
    let keys: Vec<Option<ZoneKey>> = zones.iter().map(|z| generate_key(z.signing)).collect();

    // DNSKEY at each signed apex.
    for (z, k) in zones.iter_mut().zip(&keys) {
        if let Some(k) = k {
            let apex = z.apex.clone();
            z.insert(
                apex,
                TTL,
                RData::DNSSEC(DNSSECRData::DNSKEY(k.dnskey.clone())),
            );
        }
    }

    // Delegations: NS (copied from the child apex) and DS in the parent.
    let mut ds_of_apex = Vec::new();
    for ci in 0..zones.len() {
        let child = zones[ci].apex.clone();
        let ds = keys[ci].as_ref().map(|k| {
            let digest = k
                .dnskey
                .to_digest(&child, DigestType::SHA256)
                .expect("DS digest");
            let mut digest = digest.as_ref().to_vec();
            if zones[ci].signing == Signing::BadDs {
                digest[0] ^= 0x01;
            }
            DS::new(k.tag, k.algorithm, DigestType::SHA256, digest.to_vec())
        });
        let parent = zones
            .iter()
            .enumerate()
            .filter(|(_, p)| p.apex != child && p.apex.zone_of(&child))
            .max_by_key(|(_, p)| p.apex.num_labels())
            .map(|(i, _)| i);
        let Some(pi) = parent else {
            if let Some(ds) = ds {
                ds_of_apex.push(Record::from_rdata(
                    child,
                    TTL,
                    RData::DNSSEC(DNSSECRData::DS(ds)),
                ));
            }
            continue;
        };
        let ns = zones[ci].nodes[&child][&u16::from(RecordType::NS)].clone();
        for d in ns.data {
            zones[pi].insert(child.clone(), ns.ttl, d);
        }
        if let Some(ds) = ds {
            zones[pi].insert(child.clone(), TTL, RData::DNSSEC(DNSSECRData::DS(ds)));
        }
    }

    // NSEC chain and signatures.
    let nsec_t = u16::from(RecordType::NSEC);
    for (z, k) in zones.iter_mut().zip(&keys) {
        let Some(k) = k else { continue };
        let cuts = cuts(z);
        let owners: Vec<Name> = z
            .nodes
            .keys()
            .filter(|n| !occluded(&cuts, n))
            .cloned()
            .collect();
        for (i, owner) in owners.iter().enumerate() {
            let next = owners.get(i + 1).unwrap_or(&z.apex).clone();
            let node = z.nodes.get_mut(owner).expect("owner");
            let types = node
                .keys()
                .map(|&t| RecordType::from(t))
                .chain([RecordType::RRSIG, RecordType::NSEC]);
            let nsec = NSEC::new(next, types);
            node.insert(
                nsec_t,
                RrSet {
                    ttl: TTL,
                    data: vec![RData::DNSSEC(DNSSECRData::NSEC(nsec))],
                    sigs: Vec::new(),
                },
            );
        }
        let window = match z.signing {
            Signing::Expired => EXPIRED_WINDOW,
            _ => (now - 3600, now + 86_400),
        };
        let apex = z.apex.clone();
        for owner in &owners {
            let at_cut = cuts.contains(owner);
            let node = z.nodes.get_mut(owner).expect("owner");
            for (&t, set) in node.iter_mut() {
                let rtype = RecordType::from(t);
                if at_cut && rtype != RecordType::DS && rtype != RecordType::NSEC {
                    continue; // the child is authoritative for them (RFC 4035 §2.2)
                }
                let corrupt = z.signing == Signing::BogusTlsaSig && rtype == RecordType::TLSA;
                set.sigs = vec![sign_rrset(k, &apex, owner, rtype, set, window, corrupt)];
            }
        }
    }

    let apex = name(APEX);
    let anchor_idx = zones
        .iter()
        .position(|z| z.apex == apex)
        .expect("apex zone");
    let anchor = keys[anchor_idx]
        .iter()
        .map(|k| {
            Record::from_rdata(
                apex.clone(),
                TTL,
                RData::DNSSEC(DNSSECRData::DNSKEY(k.dnskey.clone())),
            )
        })
        .collect();
    let zones = zones
        .into_iter()
        .map(|z| Zone {
            cuts: cuts(&z),
            data: z,
        })
        .collect();
    (Served { zones }, anchor, ds_of_apex)
}

// ---------------------------------------------------------------- answering

struct Zone {
    data: ZoneData,
    cuts: BTreeSet<Name>,
}

struct Served {
    zones: Vec<Zone>,
}

struct Answer {
    rcode: ResponseCode,
    authoritative: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
}

impl Answer {
    fn new(rcode: ResponseCode) -> Self {
        Self {
            rcode,
            authoritative: true,
            answers: Vec::new(),
            authorities: Vec::new(),
        }
    }
}

fn is_dnssec_type(t: RecordType) -> bool {
    matches!(t, RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3)
}

impl Zone {
    fn rrset(&self, owner: &Name, t: RecordType) -> Option<&RrSet> {
        self.data.nodes.get(owner)?.get(&u16::from(t))
    }

    /// Appends the RRset (under `as_owner`) and, with DO, its RRSIGs.
    fn push(&self, out: &mut Vec<Record>, owner: &Name, as_owner: &Name, t: RecordType, dok: bool) {
        let Some(set) = self.rrset(owner, t) else {
            return;
        };
        if is_dnssec_type(t) && !dok {
            return;
        }
        for d in &set.data {
            out.push(Record::from_rdata(as_owner.clone(), set.ttl, d.clone()));
        }
        if dok {
            for s in &set.sigs {
                out.push(Record::from_rdata(as_owner.clone(), set.ttl, s.clone()));
            }
        }
    }

    /// Appends the NSEC covering `n` (the closest NSEC owner before it) unless already there.
    fn push_covering_nsec(&self, out: &mut Vec<Record>, n: &Name, dok: bool) {
        let nsec_t = u16::from(RecordType::NSEC);
        let owner = self
            .data
            .nodes
            .range::<Name, _>((Bound::Unbounded, Bound::Excluded(n)))
            .rev()
            .find(|(_, node)| node.contains_key(&nsec_t))
            .map(|(o, _)| o.clone());
        if let Some(owner) = owner {
            self.push_nsec_once(out, &owner, dok);
        }
    }

    fn push_nsec_once(&self, out: &mut Vec<Record>, owner: &Name, dok: bool) {
        if out
            .iter()
            .any(|r| r.record_type() == RecordType::NSEC && r.name == *owner)
        {
            return;
        }
        self.push(out, owner, owner, RecordType::NSEC, dok);
    }

    fn has_descendant(&self, n: &Name) -> bool {
        self.data
            .nodes
            .range::<Name, _>((Bound::Excluded(n), Bound::Unbounded))
            .next()
            .is_some_and(|(o, _)| n.zone_of(o))
    }

    fn exists(&self, n: &Name) -> bool {
        self.data.nodes.contains_key(n) || self.has_descendant(n)
    }

    fn negative(&self, rcode: ResponseCode, dok: bool) -> Answer {
        let mut a = Answer::new(rcode);
        let apex = &self.data.apex;
        self.push(&mut a.authorities, apex, apex, RecordType::SOA, dok);
        a
    }

    fn answer(&self, qname: &Name, qtype: RecordType, dok: bool) -> Answer {
        // Delegation points between the apex and the name: referral (a DS query for the cut
        // itself is answered here, by the parent).
        let labels = qname.iter().count();
        for n in (self.data.apex.iter().count() + 1)..=labels {
            let cut = qname.trim_to(n);
            if self.cuts.contains(&cut) && !(cut == *qname && qtype == RecordType::DS) {
                return self.referral(&cut, dok);
            }
        }

        if let Some(node) = self.data.nodes.get(qname) {
            let mut a = Answer::new(ResponseCode::NoError);
            if qtype == RecordType::ANY {
                for &t in node.keys() {
                    self.push(&mut a.answers, qname, qname, RecordType::from(t), dok);
                }
            } else if qtype == RecordType::RRSIG {
                for set in node.values() {
                    for s in &set.sigs {
                        a.answers
                            .push(Record::from_rdata(qname.clone(), set.ttl, s.clone()));
                    }
                }
            } else if node.contains_key(&u16::from(qtype)) {
                self.push_explicit(&mut a.answers, qname, qname, qtype, dok);
            } else if node.contains_key(&u16::from(RecordType::CNAME)) {
                self.push(&mut a.answers, qname, qname, RecordType::CNAME, dok);
            }
            if a.answers.is_empty() {
                // NODATA (RFC 4035 §3.1.3.1).
                let mut a = self.negative(ResponseCode::NoError, dok);
                self.push_nsec_once(&mut a.authorities, qname, dok);
                return a;
            }
            return a;
        }

        if self.has_descendant(qname) {
            // Empty non-terminal: NODATA, proven by the NSEC covering the name.
            let mut a = self.negative(ResponseCode::NoError, dok);
            self.push_covering_nsec(&mut a.authorities, qname, dok);
            return a;
        }

        // The name does not exist: closest encloser and its wildcard (RFC 4035 §3.1.3.2-4).
        let mut encloser = qname.base_name();
        while !self.exists(&encloser) {
            encloser = encloser.base_name();
        }
        let wildcard = encloser.prepend_label("*").expect("wildcard name");
        if let Some(node) = self.data.nodes.get(&wildcard) {
            let t = if node.contains_key(&u16::from(qtype)) {
                Some(qtype)
            } else if node.contains_key(&u16::from(RecordType::CNAME)) {
                Some(RecordType::CNAME)
            } else {
                None
            };
            return match t {
                Some(t) => {
                    let mut a = Answer::new(ResponseCode::NoError);
                    self.push_explicit(&mut a.answers, &wildcard, qname, t, dok);
                    self.push_covering_nsec(&mut a.authorities, qname, dok);
                    a
                }
                None => {
                    let mut a = self.negative(ResponseCode::NoError, dok);
                    self.push_covering_nsec(&mut a.authorities, qname, dok);
                    self.push_nsec_once(&mut a.authorities, &wildcard, dok);
                    a
                }
            };
        }
        let mut a = self.negative(ResponseCode::NXDomain, dok);
        self.push_covering_nsec(&mut a.authorities, qname, dok);
        self.push_covering_nsec(&mut a.authorities, &wildcard, dok);
        a
    }

    /// [`Zone::push`], but a DNSSEC type asked for explicitly is answered even without DO.
    fn push_explicit(
        &self,
        out: &mut Vec<Record>,
        owner: &Name,
        as_owner: &Name,
        t: RecordType,
        dok: bool,
    ) {
        if !dok && is_dnssec_type(t) {
            if let Some(set) = self.rrset(owner, t) {
                for d in &set.data {
                    out.push(Record::from_rdata(as_owner.clone(), set.ttl, d.clone()));
                }
            }
            return;
        }
        self.push(out, owner, as_owner, t, dok);
    }

    fn referral(&self, cut: &Name, dok: bool) -> Answer {
        let mut a = Answer::new(ResponseCode::NoError);
        a.authoritative = false;
        self.push(&mut a.authorities, cut, cut, RecordType::NS, false);
        if self.rrset(cut, RecordType::DS).is_some() {
            self.push(&mut a.authorities, cut, cut, RecordType::DS, dok);
        } else {
            self.push(&mut a.authorities, cut, cut, RecordType::NSEC, dok);
        }
        a
    }
}

impl Served {
    /// The zone that answers: the deepest containing the name, the parent for a child's DS.
    fn zone_for(&self, qname: &Name, qtype: RecordType) -> Option<&Zone> {
        let mut candidates: Vec<&Zone> = self
            .zones
            .iter()
            .filter(|z| z.data.apex.zone_of(qname))
            .collect();
        candidates.sort_by_key(|z| std::cmp::Reverse(z.data.apex.num_labels()));
        match candidates.as_slice() {
            [child, parent, ..] if qtype == RecordType::DS && child.data.apex == *qname => {
                Some(parent)
            }
            [zone, ..] => Some(zone),
            [] => None,
        }
    }

    fn respond(&self, request: &[u8], tcp: bool, log: &Mutex<Vec<LoggedQuery>>) -> Option<Vec<u8>> {
        let req = Message::from_vec(request).ok()?;
        if req.metadata.message_type != MessageType::Query {
            return None;
        }
        let dok = req.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
        resp.metadata.recursion_desired = req.metadata.recursion_desired;
        resp.metadata.checking_disabled = req.metadata.checking_disabled;
        resp.add_queries(req.queries.iter().cloned());
        if req.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(SERVER_PAYLOAD);
            edns.set_dnssec_ok(dok);
            resp.set_edns(edns);
        }
        if req.metadata.op_code != OpCode::Query {
            resp.metadata.response_code = ResponseCode::NotImp;
        } else if req.queries.len() != 1 {
            resp.metadata.response_code = ResponseCode::FormErr;
        } else {
            let q = &req.queries[0];
            let qname = q.name().to_lowercase();
            log.lock().unwrap().push(LoggedQuery {
                name: qname.clone(),
                qtype: q.query_type(),
                tcp,
                dnssec_ok: dok,
            });
            let zone = self.zone_for(&qname, q.query_type());
            match zone {
                Some(zone) if q.query_class() == DNSClass::IN => {
                    let a = zone.answer(&qname, q.query_type(), dok);
                    resp.metadata.response_code = a.rcode;
                    resp.metadata.authoritative = a.authoritative;
                    resp.answers = a.answers;
                    resp.authorities = a.authorities;
                }
                _ => resp.metadata.response_code = ResponseCode::Refused,
            }
        }
        let bytes = resp.to_vec().ok()?;
        let limit = match &req.edns {
            Some(e) => usize::from(e.max_payload().max(512)),
            None => 512,
        };
        if !tcp && bytes.len() > limit {
            let mut truncated = resp.truncate();
            truncated.metadata.truncation = true;
            return truncated.to_vec().ok();
        }
        Some(bytes)
    }
}

fn current_delay(delay: &AtomicU64) -> Option<Duration> {
    let micros = delay.load(Ordering::Relaxed);
    (micros > 0).then(|| Duration::from_micros(micros))
}

async fn serve_udp(
    sock: UdpSocket,
    served: Arc<Served>,
    log: Arc<Mutex<Vec<LoggedQuery>>>,
    delay: Arc<AtomicU64>,
) {
    let sock = Arc::new(sock);
    // Delayed responses live in the set, so aborting this task also ends them.
    let mut pending = JoinSet::new();
    let mut buf = vec![0u8; 65_535];
    loop {
        while pending.try_join_next().is_some() {}
        let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(resp) = served.respond(&buf[..n], false, &log) {
            match current_delay(&delay) {
                None => {
                    let _ = sock.send_to(&resp, peer).await;
                }
                Some(d) => {
                    let sock = sock.clone();
                    pending.spawn(async move {
                        tokio::time::sleep(d).await;
                        let _ = sock.send_to(&resp, peer).await;
                    });
                }
            }
        }
    }
}

async fn serve_tcp(
    listener: TcpListener,
    served: Arc<Served>,
    log: Arc<Mutex<Vec<LoggedQuery>>>,
    delay: Arc<AtomicU64>,
) {
    // Connection tasks live in the set, so aborting this task also ends them.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    conns.spawn(serve_conn(stream, served.clone(), log.clone(), delay.clone()));
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve_conn(
    mut stream: TcpStream,
    served: Arc<Served>,
    log: Arc<Mutex<Vec<LoggedQuery>>>,
    delay: Arc<AtomicU64>,
) {
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut msg).await.is_err() {
            return;
        }
        let Some(resp) = served.respond(&msg, true, &log) else {
            continue;
        };
        if let Some(d) = current_delay(&delay) {
            tokio::time::sleep(d).await;
        }
        let Ok(n) = u16::try_from(resp.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(resp.len() + 2);
        framed.extend_from_slice(&n.to_be_bytes());
        framed.extend_from_slice(&resp);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}
