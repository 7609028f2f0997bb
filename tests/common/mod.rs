#[cfg(feature = "resolver")]
pub mod dns;
pub mod pki;
