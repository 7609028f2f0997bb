//! Delivers a short test message to a domain's MX hosts with mail-send, each connection
//! authenticated as its DANE status requires (RFC 7672).
//!
//! ```text
//! DANE_RESOLVER=127.0.0.1:53 cargo run -p dane-integrations --example mail_send_mx -- DOMAIN FROM TO
//! ```
//!
//! The code is in `src/mail_send_mx.rs`. Port 25 is blocked on many networks.

use dane_integrations::{BoxError, local_resolver, mail_send_mx};
use mail_send::smtp::message::Message;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [domain, from, to] = args.as_slice() else {
        return Err("usage: mail_send_mx DOMAIN FROM TO".into());
    };
    let body = format!("From: <{from}>\r\nTo: <{to}>\r\nSubject: DANE test\r\n\r\nHello.\r\n");
    let message = Message::new(from.as_str(), [to.as_str()], body.into_bytes());
    let report =
        mail_send_mx::deliver(&local_resolver()?, domain, 25, "client.invalid", &message).await?;
    for line in &report.log {
        println!("{line}");
    }
    if report.delivered.is_none() {
        return Err("not delivered (defer and retry later)".into());
    }
    Ok(())
}
