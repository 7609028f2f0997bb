//! Loopback test servers for the tests that run `danecheck` (feature `rustls`): a TLS
//! server helper and a small SMTP responder with STARTTLS (rustls), each connection in its
//! own thread.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use dane::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// How long a test server waits for a client before giving up on the connection.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// A rustls server configuration serving `chain` with `key`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

/// Listens on a fresh loopback port and runs `handle` on each connection in its own thread.
/// The threads end with the connections (or the test process).
pub fn serve(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = Arc::new(handle);
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let handle = handle.clone();
            let _ = tcp.set_read_timeout(Some(SERVER_TIMEOUT));
            let _ = tcp.set_write_timeout(Some(SERVER_TIMEOUT));
            thread::spawn(move || handle(tcp));
        }
    });
    addr
}

/// Runs the server side of a handshake on `tcp`.
pub fn accept_tls(
    config: &Arc<ServerConfig>,
    tcp: TcpStream,
) -> io::Result<StreamOwned<ServerConnection, TcpStream>> {
    let conn = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// A TLS server: handshake, then read until the client closes.
pub fn tls_server(config: Arc<ServerConfig>) -> SocketAddr {
    serve(move |tcp| {
        if let Ok(mut tls) = accept_tls(&config, tcp) {
            let _ = tls.read_to_end(&mut Vec::new());
        }
    })
}

/// How the SMTP responder behaves.
#[derive(Clone)]
pub struct Smtp {
    /// Sent on connection, with its CRLFs.
    pub greeting: &'static str,
    /// Whether the EHLO reply lists STARTTLS.
    pub offer_starttls: bool,
    /// The reply to STARTTLS; TLS starts when it is a 220.
    pub starttls_reply: &'static str,
    pub tls: Arc<ServerConfig>,
}

impl Smtp {
    pub fn new(tls: Arc<ServerConfig>) -> Self {
        Self {
            greeting: "220 mx.example.net ESMTP test\r\n",
            offer_starttls: true,
            starttls_reply: "220 ready\r\n",
            tls,
        }
    }
}

/// A running SMTP responder and the commands it received (`TLS ` before those read over
/// TLS), each logged before it is answered.
pub struct SmtpServer {
    pub addr: SocketAddr,
    transcript: Arc<Mutex<Vec<String>>>,
}

impl SmtpServer {
    pub fn start(behaviour: Smtp) -> Self {
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let log = transcript.clone();
        let addr = serve(move |tcp| {
            let _ = smtp_session(tcp, &behaviour, &log);
        });
        Self { addr, transcript }
    }

    pub fn transcript(&self) -> Vec<String> {
        self.transcript.lock().unwrap().clone()
    }
}

pub fn smtp_session(tcp: TcpStream, b: &Smtp, log: &Mutex<Vec<String>>) -> io::Result<()> {
    (&tcp).write_all(b.greeting.as_bytes())?;
    loop {
        let Some(line) = read_line(&mut &tcp)? else {
            return Ok(());
        };
        log.lock().unwrap().push(line.clone());
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                let starttls = if b.offer_starttls {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                let reply = format!(
                    "250-mx.example.net greets you\r\n250-PIPELINING\r\n{starttls}\
                     250-SIZE 10240000\r\n250 8BITMIME\r\n"
                );
                (&tcp).write_all(reply.as_bytes())?;
            }
            "STARTTLS" => {
                (&tcp).write_all(b.starttls_reply.as_bytes())?;
                if b.starttls_reply.starts_with("220") {
                    return smtp_over_tls(accept_tls(&b.tls, tcp)?, log);
                }
            }
            "QUIT" => return (&tcp).write_all(b"221 bye\r\n"),
            _ => (&tcp).write_all(b"502 5.5.2 unknown command\r\n")?,
        }
    }
}

pub fn smtp_over_tls(
    mut tls: StreamOwned<ServerConnection, TcpStream>,
    log: &Mutex<Vec<String>>,
) -> io::Result<()> {
    while let Some(line) = read_line(&mut tls)? {
        log.lock().unwrap().push(format!("TLS {line}"));
        if line.eq_ignore_ascii_case("QUIT") {
            tls.write_all(b"221 bye\r\n")?;
            tls.conn.send_close_notify();
            return tls.flush();
        }
        tls.write_all(b"503 5.5.1 not in this test\r\n")?;
    }
    Ok(())
}

/// Reads one CRLF-terminated line a byte at a time (so nothing after it is consumed);
/// `None` at end of stream.
pub fn read_line(r: &mut impl Read) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let mut byte = [0];
    loop {
        if r.read(&mut byte)? == 0 {
            return Ok(None);
        }
        if byte[0] == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
        line.push(byte[0]);
    }
}
