//! `-v`: each DNS step and its DNSSEC status, one line each on standard error (standard
//! output keeps the results, so `--json` stays machine-readable), in the spirit of
//! `posttls-finger -v`:
//!
//! ```text
//! trust: local DNSSEC validation from dane.test.ds, querying 127.0.0.1:53530
//! MX secure.dane.test: secure: 10 mx.secure.dane.test. (ttl 300)
//! A mx.secure.dane.test: secure: 127.0.0.1 (ttl 300)
//! AAAA mx.secure.dane.test: secure: no records (NODATA)
//! TLSA _25._tcp.mx.secure.dane.test: secure: 3 1 1 5c3f…, 3 1 2 9a0e… (ttl 300)
//! mx.secure.dane.test: dane (TLSA base mx.secure.dane.test, names mx.secure.dane.test, secure.dane.test)
//! connect mx.secure.dane.test[127.0.0.1]:25 (SNI mx.secure.dane.test)
//! ```

use std::fmt::{self, Display};
use std::io::{self, Write};

use dane::Tlsa;
use dane::resolver::hickory_proto::rr::{Name, RData, RecordType};
use dane::resolver::{AnswerKind, DnsAnswer, LookupError, Security, Step, TlsaLookup};

use crate::dns::describe;

/// Where `-v` lines go: standard error, or nowhere.
#[derive(Clone, Copy)]
pub struct Trace {
    on: bool,
}

impl Trace {
    pub fn new(on: bool) -> Self {
        Self { on }
    }

    /// Prints one line, if `-v` was given. A closed stderr is ignored.
    pub fn line(&self, text: impl Display) {
        if self.on {
            let _ = writeln!(io::stderr().lock(), "{text}");
        }
    }

    /// Prints a step of the library's plan.
    pub fn step(&self, step: &Step) {
        if !self.on {
            return;
        }
        match step {
            Step::Query {
                name,
                rtype,
                answer,
            } => self.line(QueryLine {
                name,
                rtype: *rtype,
                answer,
            }),
            Step::Tlsa {
                port,
                proto,
                host,
                result,
            } => self.line(TlsaLine {
                owner: &format!("_{port}._{proto}.{host}"),
                result: result.as_ref(),
            }),
            // A step this program does not know yet.
            other => self.line(format_args!("{other:?}")),
        }
    }
}

/// A name without its final dot.
pub fn show(name: &Name) -> String {
    let text = name.to_ascii();
    match text.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => text,
    }
}

fn security(s: Security) -> &'static str {
    match s {
        Security::Secure => "secure",
        Security::Insecure => "insecure",
    }
}

/// A failed lookup: `bogus`, or `failed: <category> (<reason>)`.
fn failure(e: &LookupError) -> String {
    match e {
        LookupError::Bogus => "bogus".to_owned(),
        other => format!("failed: {}", describe(other)),
    }
}

/// `RTYPE NAME: STATUS: DATA (ttl N)`.
pub struct QueryLine<'a> {
    pub name: &'a Name,
    pub rtype: RecordType,
    pub answer: &'a Result<DnsAnswer, LookupError>,
}

impl Display for QueryLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.rtype, show(self.name))?;
        let answer = match self.answer {
            Ok(answer) => answer,
            Err(e) => return f.write_str(&failure(e)),
        };
        write!(f, "{}: ", security(answer.security))?;
        match &answer.kind {
            AnswerKind::Records {
                owner,
                cnames,
                ttl,
                rdata,
            } => {
                if !cnames.is_empty() {
                    let mut chain = vec![show(self.name)];
                    chain.extend(cnames.iter().map(show));
                    if cnames.last() != Some(owner) {
                        chain.push(show(owner));
                    }
                    write!(f, "CNAME {}; ", chain.join(" -> "))?;
                }
                let data: Vec<String> = rdata.iter().map(rdata_text).collect();
                write!(f, "{} (ttl {ttl})", data.join(", "))
            }
            AnswerKind::NoData { .. } => f.write_str("no records (NODATA)"),
            AnswerKind::NxDomain { .. } => f.write_str("no such name (NXDOMAIN)"),
        }
    }
}

fn rdata_text(r: &RData) -> String {
    match r {
        RData::TLSA(t) => Tlsa::from(t).to_string(),
        other => other.to_string(),
    }
}

/// `TLSA _PORT._PROTO.HOST: STATUS: RECORDS (ttl N)`.
pub struct TlsaLine<'a> {
    pub owner: &'a str,
    pub result: Result<&'a TlsaLookup, &'a LookupError>,
}

impl Display for TlsaLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLSA {}: ", self.owner)?;
        match self.result {
            Ok(TlsaLookup::Secure {
                records,
                malformed,
                ttl,
                ..
            }) => {
                let mut list: Vec<String> =
                    records.records().iter().map(ToString::to_string).collect();
                if *malformed > 0 {
                    list.push(format!("{malformed} malformed"));
                }
                write!(f, "secure: {} (ttl {ttl})", list.join(", "))
            }
            Ok(other) => f.write_str(other.status()),
            Err(e) => f.write_str(&failure(e)),
        }
    }
}
