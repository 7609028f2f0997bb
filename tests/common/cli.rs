//! Running the `danecheck` binary (feature `cli`; cargo builds it before the integration
//! tests that need it) and looking at what it printed, for the tests that run it
//! (`tests/danecheck*.rs`).
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use dane::Tlsa;
use serde_json::Value;

use super::pki::Cert;

/// The outcome of one run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The single JSON object printed on stdout.
    pub fn json(&self) -> Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one JSON line expected: {self:?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("bad JSON ({e}): {self:?}"))
    }

    /// Asserts bad usage or input (`what`): exit status 2, nothing on stdout, exactly one
    /// line on stderr, starting `danecheck: `.
    pub fn assert_input_error(&self, what: &str) {
        assert_eq!(self.code, 2, "{what}: {self:?}");
        assert!(self.stdout.is_empty(), "{what}: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{what}: one stderr line expected: {self:?}");
        assert!(lines[0].starts_with("danecheck: "), "{what}: {self:?}");
    }
}

/// Runs the `danecheck` binary with `args`.
pub fn run<S: AsRef<str>>(args: &[S]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_danecheck"))
        .args(args.iter().map(AsRef::as_ref))
        .output()
        .expect("run danecheck");
    Run {
        code: out.status.code().expect("danecheck exited by a signal"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

/// A fresh directory under the system temp directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `<test binary>-test-<pid>-<test>-<n>`.
    pub fn new(test: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "{}-test-{}-{test}-{n}",
            env!("CARGO_CRATE_NAME"),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    /// Writes `contents` to `name` in the directory and returns its path as a string.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path.to_str().expect("UTF-8 temp path").to_owned()
    }

    /// The path of `name` in the directory, whether or not it exists.
    pub fn path(&self, name: &str) -> String {
        self.0
            .join(name)
            .to_str()
            .expect("UTF-8 temp path")
            .to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A generated certificate is its DER, for [`rec`] and [`wrong`].
impl AsRef<[u8]> for Cert {
    fn as_ref(&self) -> &[u8] {
        &self.der
    }
}

/// The presentation form of the `u s m` record for `cert` (a [`Cert`] or DER), as the
/// library computes it.
pub fn rec(cert: &(impl AsRef<[u8]> + ?Sized), u: u8, s: u8, m: u8) -> String {
    Tlsa::from_certificate(cert.as_ref(), u.into(), s.into(), m.into())
        .unwrap()
        .to_string()
}

/// `rec` with the first octet of the association data flipped: a record that never matches.
pub fn wrong(cert: &(impl AsRef<[u8]> + ?Sized), u: u8, s: u8, m: u8) -> String {
    let t = Tlsa::from_certificate(cert.as_ref(), u.into(), s.into(), m.into()).unwrap();
    let mut data = t.data().to_vec();
    data[0] ^= 1;
    Tlsa::new(t.usage(), t.selector(), t.matching(), data).to_string()
}
