//! The cleartext SMTP dialogue up to TLS: greeting, `EHLO`, `STARTTLS` (RFC 3207).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;

use dane::TlsRptResult;

use crate::connect::Failure;

/// The longest reply line and the most reply lines accepted (RFC 5321 §4.5.3.1.5 allows
/// 512 octets per line).
const MAX_LINE: usize = 4096;
const MAX_LINES: usize = 100;

/// Greeting, `EHLO`, `STARTTLS`: on success the connection is ready for the TLS handshake.
pub fn starttls(tcp: &TcpStream, ehlo: &str) -> Result<(), Failure> {
    let mut smtp = Smtp {
        sock: tcp,
        buf: Vec::new(),
    };
    let greeting = smtp.reply("the greeting")?;
    if greeting.code != 220 {
        smtp.quit();
        return Err(Failure::new(
            "smtp-error",
            format_args!("greeting: {greeting}"),
        ));
    }
    smtp.send(&format!("EHLO {ehlo}"))?;
    let reply = smtp.reply("the EHLO reply")?;
    if reply.code != 250 {
        smtp.quit();
        return Err(Failure::new(
            "smtp-error",
            format_args!("EHLO refused: {reply}"),
        ));
    }
    // The first line is the server's name; each further line starts with an extension.
    let offers_starttls = reply.lines.iter().skip(1).any(|line| {
        line.split_ascii_whitespace()
            .next()
            .is_some_and(|keyword| keyword.eq_ignore_ascii_case("STARTTLS"))
    });
    if !offers_starttls {
        smtp.quit();
        return Err(Failure {
            error: "starttls-not-supported",
            tls_rpt: Some(TlsRptResult::StarttlsNotSupported),
            message: "the server does not offer STARTTLS".to_owned(),
            report: Some(Box::new(dane::tlsrpt::Failure::starttls_not_supported())),
        });
    }
    smtp.send("STARTTLS")?;
    let reply = smtp.reply("the STARTTLS reply")?;
    if reply.code != 220 {
        smtp.quit();
        return Err(Failure::new(
            "starttls-refused",
            format_args!("STARTTLS refused: {reply}"),
        ));
    }
    // Cleartext sent after the 220 would be read as if it came over TLS (CVE-2011-0411's
    // mirror image): refuse it.
    if !smtp.buf.is_empty() {
        return Err(Failure::new(
            "smtp-error",
            "the server sent data after its STARTTLS reply",
        ));
    }
    Ok(())
}

/// The cleartext side of an SMTP connection. Reads only what it needs, so nothing after
/// the STARTTLS reply is consumed.
struct Smtp<'a> {
    sock: &'a TcpStream,
    /// Read and not yet consumed.
    buf: Vec<u8>,
}

/// An SMTP reply: its code and the text of each line.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.lines.join(" / "))
    }
}

impl Smtp<'_> {
    fn send(&mut self, command: &str) -> Result<(), Failure> {
        let verb = command.split(' ').next().unwrap_or(command);
        let mut sock = self.sock;
        sock.write_all(format!("{command}\r\n").as_bytes())
            .map_err(|e| Failure::io(&e, "smtp-error", format_args!("sending {verb}")))
    }

    /// Sends `QUIT` without waiting for the reply, ignoring errors.
    fn quit(&mut self) {
        let _ = self.send("QUIT");
    }

    /// Reads one reply, single- or multi-line (`250-…` lines, then `250 …`).
    fn reply(&mut self, what: &str) -> Result<Reply, Failure> {
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            let line = self.line(what)?;
            let malformed = || {
                Failure::new(
                    "smtp-error",
                    format_args!("malformed line in {what}: {line:?}"),
                )
            };
            let this = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(malformed)?;
            let more = match line.as_bytes().get(3) {
                Some(b'-') => true,
                Some(b' ') | None => false,
                Some(_) => return Err(malformed()),
            };
            if code.is_some_and(|c| c != this) {
                return Err(malformed());
            }
            code = Some(this);
            lines.push(line.get(4..).unwrap_or_default().to_owned());
            if !more {
                return Ok(Reply { code: this, lines });
            }
            if lines.len() >= MAX_LINES {
                return Err(Failure::new(
                    "smtp-error",
                    format_args!("{what} has more than {MAX_LINES} lines"),
                ));
            }
        }
    }

    /// Reads one line, without its CRLF (a bare LF is accepted).
    fn line(&mut self, what: &str) -> Result<String, Failure> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > MAX_LINE {
                return Err(Failure::new(
                    "smtp-error",
                    format_args!("a line of {what} is longer than {MAX_LINE} octets"),
                ));
            }
            let mut chunk = [0; 1024];
            let mut sock = self.sock;
            match sock.read(&mut chunk) {
                Ok(0) => {
                    return Err(Failure::new(
                        "smtp-error",
                        format_args!("the server closed the connection before {what}"),
                    ));
                }
                Ok(n) => self
                    .buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Failure::io(
                        &e,
                        "smtp-error",
                        format_args!("waiting for {what}"),
                    ));
                }
            }
        }
    }
}
