//! Delivers a short test message with lettre's `SmtpConnection` to the first MX host of a
//! domain that DANE authenticates, checking the certificate chain after the handshake.
//!
//! ```text
//! DANE_RESOLVER=127.0.0.1:53 cargo run -p dane-integrations --example lettre_post_handshake -- DOMAIN FROM TO
//! ```
//!
//! Only `DaneStatus::Required` hosts are tried here (the others are handled as in the
//! mail-send example). The code is in `src/lettre_post_handshake.rs`.

use std::net::SocketAddr;

use dane::resolver::DaneStatus;
use dane_integrations::{BoxError, lettre_post_handshake, local_resolver};
use lettre::address::Envelope;
use lettre::transport::smtp::extension::ClientId;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [domain, from, to] = args.as_slice() else {
        return Err("usage: lettre_post_handshake DOMAIN FROM TO".into());
    };
    let envelope = Envelope::new(Some(from.parse()?), vec![to.parse()?])?;
    let email = format!("From: <{from}>\r\nTo: <{to}>\r\nSubject: DANE test\r\n\r\nHello.\r\n");
    let plan = local_resolver()?.smtp_targets(domain, 25).await?;
    for target in plan.targets {
        let DaneStatus::Required { tlsa, policy, sni } = target.status else {
            println!("{}: {}, not tried here", target.host, target.status.label());
            continue;
        };
        for ip in target.secure_addresses {
            let addr = SocketAddr::new(ip, 25);
            let (tlsa, policy, sni) = (tlsa.clone(), policy.clone(), sni.clone());
            let (envelope, email) = (envelope.clone(), email.clone());
            let helo = ClientId::Domain("client.invalid".to_owned());
            let result = tokio::task::spawn_blocking(move || {
                lettre_post_handshake::deliver(
                    addr,
                    sni.as_str(),
                    &tlsa,
                    &policy,
                    &helo,
                    &envelope,
                    email.as_bytes(),
                )
            })
            .await?;
            match result {
                Ok(verified) => {
                    println!("{}[{addr}]: delivered, {verified}", target.host);
                    return Ok(());
                }
                Err(e) => println!("{}[{addr}]: {e}", target.host),
            }
        }
    }
    Err("not delivered".into())
}
