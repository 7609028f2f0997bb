//! What the DNS commands (`tlsa`, `smtp`, `https` without `--tlsa`) share: the server to
//! ask, whom to trust (a trust anchor for local validation, or a validating resolver's AD
//! bit), and the resolver made from them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use dane::resolver::hickory_proto;
use dane::resolver::hickory_proto::rr::{Name, RecordType};
use dane::resolver::{
    DnsAnswer, DnsSource, LookupError, ServerSettings, SignatureValidity, TlsaResolver,
    TrustAnchor, TrustedAdSource, ValidatingSource,
};

use crate::args;
use crate::{Fatal, Result};

/// The file the default server comes from.
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Whom to trust, and the server to ask.
#[derive(clap::Args, Debug)]
pub struct DnsArgs {
    /// The DNS server to ask (recursive or authoritative; a bare IP address means port
    /// 53). Default: the first nameserver of /etc/resolv.conf.
    #[arg(long, value_name = "IP:PORT", value_parser = args::server)]
    pub resolver: Option<SocketAddr>,
    /// Validate here from this trust anchor: DS records (one per line) or DNSKEY records,
    /// in zone-file form. Default: the IANA root key.
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,
    /// Believe the AD bit of the validating resolver --resolver (safe only over loopback or
    /// an equally trusted path), once it shows that it validates.
    #[arg(long)]
    pub trust_ad: bool,
    /// The signed zone whose DNSKEY RRset must come with AD=1 before --trust-ad believes
    /// the resolver (default: the root).
    #[arg(long, value_name = "ZONE")]
    pub trust_ad_zone: Option<String>,
    /// Queries without the RD bit (for an authoritative server).
    #[arg(long)]
    pub no_recursion: bool,
}

impl DnsArgs {
    /// Whether any of these options was given (`https` then looks the records up).
    pub fn given(&self) -> bool {
        self.resolver.is_some()
            || self.trust_anchor.is_some()
            || self.trust_ad
            || self.trust_ad_zone.is_some()
            || self.no_recursion
    }
}

/// The server to ask and whom to trust, from the command line.
pub struct Setup {
    settings: ServerSettings,
    trust: Trust,
}

enum Trust {
    /// The AD bit of the validating resolver `settings.servers`, once it has shown that it
    /// validates (AD=1 on this signed zone's DNSKEY).
    Ad { probe_zone: String },
    /// Local validation from this anchor (`file`: where it came from, for messages).
    Anchor {
        anchor: TrustAnchor,
        file: Option<String>,
    },
}

impl Setup {
    pub fn new(opts: &DnsArgs) -> Result<Self> {
        if opts.trust_ad && opts.trust_anchor.is_some() {
            return Err(Fatal::new(
                "--trust-ad and --trust-anchor exclude each other (believe a resolver's AD bit, \
                 or validate here from a trust anchor)",
            ));
        }
        if !opts.trust_ad && opts.trust_ad_zone.is_some() {
            return Err(Fatal::new("--trust-ad-zone goes with --trust-ad"));
        }
        if opts.trust_ad && opts.no_recursion {
            return Err(Fatal::new(
                "--no-recursion cannot be used with --trust-ad (the validating resolver must \
                 recurse)",
            ));
        }
        let server = match opts.resolver {
            Some(server) => server,
            None if opts.trust_ad => {
                return Err(Fatal::new(
                    "--trust-ad needs --resolver IP:PORT (a validating resolver on a trusted \
                     path, such as 127.0.0.1:53)",
                ));
            }
            None => default_server()?,
        };
        let mut settings = ServerSettings::new(server);
        settings.recursion_desired = !opts.no_recursion;
        let trust = if opts.trust_ad {
            Trust::Ad {
                probe_zone: opts.trust_ad_zone.clone().unwrap_or_else(|| ".".to_owned()),
            }
        } else {
            match &opts.trust_anchor {
                Some(file) => Trust::Anchor {
                    anchor: read_anchor(file)?,
                    file: Some(file.display().to_string()),
                },
                None => Trust::Anchor {
                    anchor: TrustAnchor::IanaRoot,
                    file: None,
                },
            }
        };
        Ok(Self { settings, trust })
    }

    /// Whom this setup trusts, in words (the first line of `-v`).
    pub fn describe(&self) -> String {
        let servers = self
            .settings
            .servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match &self.trust {
            Trust::Ad { probe_zone } => format!(
                "trust: the AD bit of the validating resolver {servers} (once it shows AD=1 on \
                 the DNSKEY RRset of {probe_zone})"
            ),
            Trust::Anchor { file, .. } => format!(
                "trust: local DNSSEC validation from {}, querying {servers}{}",
                file.as_deref().unwrap_or("the IANA root key"),
                if self.settings.recursion_desired {
                    ""
                } else {
                    " without recursion"
                }
            ),
        }
    }
}

/// The first `nameserver` of `/etc/resolv.conf`, port 53.
fn default_server() -> Result<SocketAddr> {
    let text = std::fs::read_to_string(RESOLV_CONF).unwrap_or_default();
    for line in text.lines() {
        let mut tokens = line.split_ascii_whitespace();
        if tokens.next() == Some("nameserver")
            && let Some(addr) = tokens.next()
            // A link-local IPv6 server may carry a zone (`fe80::1%eth0`): not usable here.
            && let Ok(ip) = addr.parse::<IpAddr>()
        {
            return Ok(SocketAddr::new(ip, 53));
        }
    }
    Err(Fatal(format!(
        "no usable nameserver in {RESOLV_CONF}: give --resolver IP:PORT"
    )))
}

/// `--trust-anchor FILE`: DS records (each on one line) or DNSKEY records, in zone-file
/// form. Checked here, so a malformed file is an input error rather than a lookup failure.
fn read_anchor(path: &std::path::Path) -> Result<TrustAnchor> {
    let file = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| Fatal(format!("cannot read {file}: {e}")))?;
    let (mut ds, mut dnskey) = (0, 0);
    // A record wrapped over lines in parentheses: its first line number and its text.
    let mut pending: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.split(';').next().unwrap_or_default();
        let (start, mut entry) = match pending.take() {
            Some(so_far) => so_far,
            None if line.trim().is_empty() => continue,
            None => (n + 1, String::new()),
        };
        entry.push(' ');
        entry.push_str(line);
        if entry.matches('(').count() > entry.matches(')').count() {
            pending = Some((start, entry));
            continue;
        }
        let tokens: Vec<&str> = entry.split_ascii_whitespace().collect();
        let at = |t: &str| format!("{file}, line {start}: {t}");
        if tokens.iter().any(|t| t.eq_ignore_ascii_case("DS")) {
            if start != n + 1 {
                return Err(Fatal(at("put each DS record on one line")));
            }
            check_ds(&tokens).map_err(|why| Fatal(at(why)))?;
            ds += 1;
        } else if tokens.iter().any(|t| t.eq_ignore_ascii_case("DNSKEY")) {
            dnskey += 1;
        } else {
            return Err(Fatal(at("neither a DS nor a DNSKEY record")));
        }
    }
    if let Some((start, _)) = pending {
        return Err(Fatal(format!(
            "{file}, line {start}: unbalanced parenthesis"
        )));
    }
    match (ds, dnskey) {
        (0, 0) => Err(Fatal(format!("{file}: no DS or DNSKEY record"))),
        (_, 0) => Ok(TrustAnchor::DsText(text)),
        (0, _) => {
            // What `ValidatingSource::new` parses, parsed now to report a bad file early.
            text.parse::<hickory_proto::dnssec::TrustAnchors>()
                .map_err(|e| Fatal(format!("{file}: bad DNSKEY trust anchor: {e}")))?;
            Ok(TrustAnchor::DnskeyText(text))
        }
        _ => Err(Fatal(format!(
            "{file}: both DS and DNSKEY records; give one kind"
        ))),
    }
}

/// `owner [TTL] [class] DS tag algorithm digest-type hex…`.
fn check_ds(tokens: &[&str]) -> Result<(), &'static str> {
    let at = tokens
        .iter()
        .position(|t| t.eq_ignore_ascii_case("DS"))
        .filter(|&i| i > 0)
        .ok_or("a DS record needs an owner name first")?;
    let field = |i: usize| tokens.get(at + i).copied().unwrap_or_default();
    field(1)
        .parse::<u16>()
        .map_err(|_| "bad DS key tag (want 0-65535)")?;
    field(2)
        .parse::<u8>()
        .map_err(|_| "bad DS algorithm (want a number, such as 13)")?;
    field(3)
        .parse::<u8>()
        .map_err(|_| "bad DS digest type (want a number, such as 2)")?;
    let hex: String = tokens.get(at + 4..).unwrap_or_default().concat();
    if hex.is_empty() || !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err("bad DS digest (want hexadecimal)");
    }
    Ok(())
}

/// Either source, so that one resolver type serves both trust modes.
pub enum Source {
    Validating(ValidatingSource),
    TrustedAd(TrustedAdSource),
}

impl Source {
    /// The validity window of the RRSIG over the `rtype` RRset at `name` (see
    /// [`ValidatingSource::signature_validity`]): `None` when the RRset is not secure or,
    /// with `--trust-ad`, the resolver sent no signature.
    pub async fn signature_validity(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> std::result::Result<Option<SignatureValidity>, LookupError> {
        match self {
            Self::Validating(s) => s.signature_validity(name, rtype).await,
            Self::TrustedAd(s) => s.signature_validity(name, rtype).await,
        }
    }
}

impl DnsSource for Source {
    async fn query(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> std::result::Result<DnsAnswer, LookupError> {
        match self {
            Self::Validating(s) => s.query(name, rtype).await,
            Self::TrustedAd(s) => s.query(name, rtype).await,
        }
    }
}

/// Why there is no answer: a failed lookup, or a trust anchor that could not be set up (a
/// DS anchor needs the DNSKEY RRset it designates).
pub enum Failed {
    Lookup(LookupError),
    Anchor(String),
}

impl Failed {
    pub fn category(&self) -> &'static str {
        match self {
            Self::Lookup(e) => e.category(),
            Self::Anchor(_) => "trust-anchor",
        }
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lookup(e) => e.fmt(f),
            Self::Anchor(message) => f.write_str(message),
        }
    }
}

/// The resolver of `setup` (for a DS anchor, after fetching the keys it designates).
pub async fn resolver(setup: &Setup) -> std::result::Result<TlsaResolver<Source>, Failed> {
    let source = match &setup.trust {
        Trust::Ad { probe_zone } => {
            match TrustedAdSource::connect(setup.settings.clone(), probe_zone).await {
                Ok(source) => Source::TrustedAd(source),
                Err(e) => return Err(Failed::Anchor(format!("--trust-ad: {e}"))),
            }
        }
        Trust::Anchor { anchor, file } => {
            match ValidatingSource::connect(&setup.settings, anchor).await {
                Ok(source) => Source::Validating(source),
                Err(e) => {
                    let file = file.as_deref().unwrap_or("(the IANA root)");
                    return Err(Failed::Anchor(format!("trust anchor {file}: {e}")));
                }
            }
        }
    };
    Ok(TlsaResolver::new(source))
}

/// Runs `future` to its end on a single-threaded runtime.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// A lookup error in a few words: the category, and the reason when it says more.
pub fn describe(e: &LookupError) -> String {
    let category = e.category();
    let words = e.to_string();
    if words.to_ascii_lowercase().contains(category) {
        category.to_owned()
    } else {
        format!("{category} ({words})")
    }
}
