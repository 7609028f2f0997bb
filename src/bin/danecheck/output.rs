//! The `--json` lines: one object per result, fields in a fixed order (the first ones of
//! each are the stable interface, see the README).

use serde::Serialize;

use dane::{Outcome, ReferenceName, TlsRptResult, Verified};

use crate::connect::Failure;
use crate::{Fatal, Result, say};

/// Prints `value` as one line of compact JSON on standard output.
pub fn print(value: &impl Serialize) -> Result<()> {
    let line = serde_json::to_string(value)
        .map_err(|e| Fatal(format!("cannot write the JSON output: {e}")))?;
    say(line)
}

/// The usage, selector and matching type of a verdict's record, as numbers.
fn usm(v: Option<&Verified>) -> [Option<u8>; 3] {
    [
        v.map(|v| u8::from(v.usage())),
        v.map(|v| u8::from(v.record().selector())),
        v.map(|v| u8::from(v.record().matching())),
    ]
}

/// `verify --json`.
#[derive(Serialize)]
pub struct VerifyLine<'a> {
    verified: bool,
    usage: Option<u8>,
    selector: Option<u8>,
    matching: Option<u8>,
    record_index: Option<usize>,
    depth: Option<usize>,
    error: Option<&'static str>,
    name: Option<&'a str>,
    tls_rpt: Option<&'static str>,
}

impl<'a> VerifyLine<'a> {
    pub fn new(result: &'a Result<Verified, dane::Error>) -> Self {
        let v = result.as_ref().ok();
        let e = result.as_ref().err();
        let [usage, selector, matching] = usm(v);
        Self {
            verified: v.is_some(),
            usage,
            selector,
            matching,
            record_index: v.map(Verified::record_index),
            depth: v.map(Verified::depth),
            error: e.map(dane::Error::category),
            name: v.and_then(Verified::name).map(ReferenceName::as_str),
            tls_rpt: e.map(|e| e.tls_rpt_result().as_str()),
        }
    }
}

/// `generate --json`.
#[derive(Serialize)]
pub struct GenerateLine {
    pub record: String,
    pub owner: Option<String>,
}

/// `https --json` and `smtp-connect --json`: one object per address.
#[derive(Serialize)]
pub struct ConnectLine<'a> {
    address: &'a str,
    verified: bool,
    usage: Option<u8>,
    selector: Option<u8>,
    matching: Option<u8>,
    record_index: Option<usize>,
    depth: Option<usize>,
    error: Option<&'static str>,
    tls_rpt: Option<&'static str>,
    name: Option<&'a str>,
    message: Option<&'a str>,
}

impl<'a> ConnectLine<'a> {
    pub fn new(address: &'a str, result: &'a Result<Outcome, Failure>) -> Self {
        let v = match result {
            Ok(Outcome::Dane(v)) => Some(v),
            _ => None,
        };
        let failure = result.as_ref().err();
        let [usage, selector, matching] = usm(v);
        Self {
            address,
            verified: result.is_ok(),
            usage,
            selector,
            matching,
            record_index: v.map(Verified::record_index),
            depth: v.map(Verified::depth),
            error: failure.map(|f| f.error),
            tls_rpt: failure.and_then(|f| f.tls_rpt).map(TlsRptResult::as_str),
            name: v.and_then(Verified::name).map(ReferenceName::as_str),
            message: failure.map(|f| f.message.as_str()),
        }
    }
}

/// `tlsa --json`.
#[derive(Serialize)]
pub struct TlsaLine<'a> {
    pub status: &'static str,
    pub base: &'a str,
    pub records: Vec<String>,
    pub ttl: Option<u32>,
    pub error: Option<&'static str>,
    pub message: Option<String>,
    pub usable: Option<bool>,
}

/// `smtp --json`: one object per host address.
#[derive(Serialize)]
pub struct SmtpLine<'a> {
    host: &'a str,
    address: Option<String>,
    preference: Option<u16>,
    status: &'static str,
    verified: Option<bool>,
    usage: Option<u8>,
    selector: Option<u8>,
    matching: Option<u8>,
    depth: Option<usize>,
    error: Option<&'static str>,
    message: Option<String>,
}

impl<'a> SmtpLine<'a> {
    /// The line of one address (or host) of `smtp`, before any result.
    pub fn new(
        host: &'a str,
        address: Option<String>,
        preference: Option<u16>,
        status: &'static str,
    ) -> Self {
        Self {
            host,
            address,
            preference,
            status,
            verified: None,
            usage: None,
            selector: None,
            matching: None,
            depth: None,
            error: None,
            message: None,
        }
    }

    /// With what was found: `verified` is null unless a connection was made; `dane` is the
    /// verdict when DANE authenticated the server; `error` a category, `message` in words.
    pub fn with_result(
        self,
        verified: Option<bool>,
        dane: Option<&Verified>,
        error: Option<&'static str>,
        message: Option<String>,
    ) -> Self {
        let [usage, selector, matching] = usm(dane);
        Self {
            verified,
            usage,
            selector,
            matching,
            depth: dane.map(Verified::depth),
            error,
            message,
            ..self
        }
    }
}
