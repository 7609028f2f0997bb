//! placeholder
#![forbid(unsafe_code)]

mod cert;
mod der;
mod error;
mod names;
mod pkix;
mod record;
mod rrset;
mod verify;

pub use error::{Error, TlsRptResult, TlsaParseError};
pub use names::{InvalidName, ReferenceName};
pub use pkix::PkixRoots;
pub use pki_types;
pub use record::{CertUsage, Matching, Selector, Tlsa};
pub use rrset::{DEFAULT_DIGEST_ORDER, RecordStatus, TlsaSet, Unusable};
pub use verify::{Policy, Profile, Verified, verify, verify_raw_public_key};
