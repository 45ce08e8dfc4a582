//! Replays the committed fuzz corpora without libFuzzer.
//!
//! The logic of every fuzz target lives in `fuzz/src/lib.rs`; this test includes that file as
//! a module and runs each file of `fuzz/corpus/<target>/` through `targets::<target>`, so every
//! seed and every minimized crash found by fuzzing is a regression test of `cargo test`.
//! Fuzzing itself: `cd fuzz && cargo +nightly fuzz run <target>` (see fuzz/README.md).

#[path = "../../../fuzz/src/lib.rs"]
mod targets;

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The logic of one fuzz target.
type Target = fn(&[u8]);

/// Every fuzz target, with the function that holds its logic.
const TARGETS: &[(&str, Target)] = &[
    ("line", targets::line),
    ("reply", targets::reply),
    ("command", targets::command),
    ("exchange", targets::exchange),
    ("control", targets::control),
    ("datagram", targets::datagram),
    ("keys", targets::keys),
    ("roundtrip", targets::roundtrip),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The corpus files of `target`, sorted; dotfiles (libFuzzer scratch files) are skipped.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join("corpus").join(target);
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "the corpus {} is empty: the replay would pass vacuously",
        dir.display()
    );
    files
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic>".to_string())
}

/// Runs every corpus file of `target`; fails naming each file that panicked.
fn replay(target: &str) {
    let run = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, run)| *run)
        .expect("a known target");
    let files = corpus(target);
    let mut failures = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| run(&data))) {
            failures.push(format!(
                "  {}: {}",
                file.display(),
                panic_message(payload.as_ref())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz target `{target}` panicked on {} of {} corpus files \
         (reproduce: cd fuzz && cargo +nightly fuzz run {target} <file>):\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fuzz_target_is_replayed() {
    let mut on_disk: Vec<String> = fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "fuzz/fuzz_targets/ and the TARGETS table of this test differ"
    );
}

#[test]
fn line() {
    replay("line");
}

#[test]
fn reply() {
    replay("reply");
}

#[test]
fn command() {
    replay("command");
}

#[test]
fn exchange() {
    replay("exchange");
}

#[test]
fn control() {
    replay("control");
}

#[test]
fn datagram() {
    replay("datagram");
}

#[test]
fn keys() {
    replay("keys");
}

#[test]
fn roundtrip() {
    replay("roundtrip");
}
