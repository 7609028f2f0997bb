//! Finding the `danecheck` example binary for the tests that run it (`tests/danecheck*.rs`).
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `target/<profile>/examples/danecheck`, next to the `deps` directory this test runs from.
///
/// Plain `cargo test` builds the examples before running integration tests;
/// `cargo test --test <name>` does not, so a missing binary, or one older than its sources,
/// fails with a message saying how to build it (`build`: the command to give) rather than
/// testing old code.
pub fn danecheck(build: &str) -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("path of the test binary");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary is in target/<profile>/deps");
        let bin = profile_dir
            .join("examples")
            .join(format!("danecheck{}", std::env::consts::EXE_SUFFIX));
        let built = std::fs::metadata(&bin)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| {
                panic!(
                    "the danecheck example is not built at {}: {build}",
                    bin.display()
                )
            });
        let sources = compiled_sources(&bin).unwrap_or_else(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let mut sources = vec![root.join("examples").join("danecheck.rs")];
            collect_rust_files(&root.join("src"), &mut sources);
            sources
        });
        if let Some(newer) = sources.iter().find(|s| {
            std::fs::metadata(s)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built)
        }) {
            panic!(
                "the danecheck example at {} is older than {}: {build}",
                bin.display(),
                newer.display()
            );
        }
        bin
    })
}

/// The sources cargo compiled into `bin`, from the dep-info file it writes beside it
/// (`danecheck.d`: `<bin>: <source> <source>…`, a space in a path escaped as `\ `). Only
/// these count: a file of a feature the build left out (such as `src/resolver/`) does not
/// make the binary stale, and cargo would not rebuild it for one.
fn compiled_sources(bin: &Path) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(bin.with_extension("d")).ok()?;
    let (_, deps) = text.lines().next()?.split_once(": ")?;
    let mut sources = Vec::new();
    let mut path = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                path.push(' ');
                chars.next();
            }
            ' ' => {
                if !path.is_empty() {
                    sources.push(PathBuf::from(std::mem::take(&mut path)));
                }
            }
            c => path.push(c),
        }
    }
    if !path.is_empty() {
        sources.push(PathBuf::from(path));
    }
    (!sources.is_empty()).then_some(sources)
}

/// Every `.rs` file under `dir`: the sources to compare against when there is no dep-info.
fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
