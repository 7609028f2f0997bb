pub mod cli;
#[cfg(feature = "resolver")]
pub mod dns;
pub mod example;
pub mod pki;
#[cfg(feature = "rustls")]
pub mod smtp;
