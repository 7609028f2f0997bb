//! Reading the input files: PEM certificates and TLSA record files.

use std::path::Path;

use dane::Tlsa;
use dane::pki_types::CertificateDer;
use dane::pki_types::pem::{self, PemObject};

use crate::{Fatal, Result};

/// Every certificate of a PEM file, in file order; other PEM sections are skipped.
pub fn read_certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let name = file.display();
    let pem = std::fs::read(file).map_err(|e| Fatal(format!("cannot read {name}: {e}")))?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Fatal(format!("{name}: malformed PEM: {}", describe_pem_error(&e))))
}

/// A PEM syntax error in words (rustls-pki-types shows the offending line as bytes).
fn describe_pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "no \"-----END {}-----\" line",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "bad BEGIN line {:?}",
            String::from_utf8_lossy(line).trim_end()
        ),
        other => other.to_string(),
    }
}

/// Parses one record: presentation format (`3 1 1 ab…`), or a zone-file line, of which
/// what follows the `TLSA` type is taken.
pub fn parse_record(text: &str) -> Result<Tlsa, dane::TlsaParseError> {
    let tokens: Vec<&str> = text.split_ascii_whitespace().collect();
    // The type is the last `TLSA` token: no parameter mnemonic or hex string looks like it.
    match tokens.iter().rposition(|t| t.eq_ignore_ascii_case("TLSA")) {
        Some(i) => tokens.get(i + 1..).unwrap_or_default().join(" ").parse(),
        None => text.parse(),
    }
}

/// Reads a `--tlsa-file`: one record per line (or wrapped in parentheses over several).
pub fn read_tlsa_file(file: &Path) -> Result<Vec<Tlsa>> {
    let name = file.display();
    let text =
        std::fs::read_to_string(file).map_err(|e| Fatal(format!("cannot read {name}: {e}")))?;
    let mut records = Vec::new();
    // A record wrapped over lines: its first line number and the text so far.
    let mut pending: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        // `;` starts a comment anywhere (zone-file syntax); `#` and `$` only at the start
        // (`\#` is the RFC 3597 generic form, `$TTL` and `$ORIGIN` are directives).
        let line = line.split(';').next().unwrap_or_default().trim();
        let (start, mut entry) = match pending.take() {
            Some((start, so_far)) => (start, so_far),
            None if line.is_empty() || line.starts_with(['#', '$']) => continue,
            None => (line_no, String::new()),
        };
        entry.push(' ');
        entry.push_str(line);
        if entry.matches('(').count() > entry.matches(')').count() {
            pending = Some((start, entry));
            continue;
        }
        records
            .push(parse_record(&entry).map_err(|e| Fatal(format!("{name}, line {start}: {e}")))?);
    }
    if let Some((start, _)) = pending {
        return Err(Fatal(format!(
            "{name}, line {start}: unbalanced parenthesis in TLSA record"
        )));
    }
    if records.is_empty() {
        return Err(Fatal(format!("{name}: no TLSA record")));
    }
    Ok(records)
}
