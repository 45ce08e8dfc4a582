//! What an end-to-end scenario saw on the bridge under test, written down for the interop
//! matrix (`scripts/matrix.py` turns the files into the README table).
//!
//! Used by the shared e2e suite and the i2plib interop tests. A scenario calls [`pass`] when everything it
//! asserts held, or [`not_offered`] when the bridge itself said it does not do the feature (a
//! negotiated version too low, a typed refusal, no answer within a stated time), or
//! [`bridge_fault`] when the bridge broke the protocol in a way the scenario proved was not
//! this library's doing (for example: it took every byte and never delivered the last ones). A
//! failure is never written: the test panics, and the table shows the row as failed because
//! nothing was recorded for it.
//!
//! Records go to `$SAM_MATRIX_DIR/<adapter>.tsv`, one line each:
//! `feature<TAB>pass|skip|fault<TAB>detail`.
//! Without `SAM_MATRIX_DIR` nothing is written (a plain `cargo test`).

use std::io::Write;

/// The outcome of one feature on this bridge.
pub enum Outcome {
    /// Everything asserted held; `detail` says what was measured.
    Pass(String),
    /// The bridge does not offer it; `reason` is what the bridge said.
    NotOffered(String),
    /// The bridge misbehaved; `evidence` says how, and why it is not this library.
    BridgeFault(String),
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Appends one record for `adapter` (crate name) and `feature` (a row of the table).
pub fn record(adapter: &str, feature: &str, outcome: Outcome) {
    let (status, detail) = match &outcome {
        Outcome::Pass(detail) => ("pass", detail.as_str()),
        Outcome::NotOffered(reason) => ("skip", reason.as_str()),
        Outcome::BridgeFault(evidence) => ("fault", evidence.as_str()),
    };
    match &outcome {
        Outcome::NotOffered(reason) => {
            eprintln!("matrix: {feature}: not offered by this bridge: {reason}")
        }
        Outcome::BridgeFault(evidence) => eprintln!("matrix: {feature}: BRIDGE FAULT: {evidence}"),
        Outcome::Pass(_) => {}
    }
    let Some(dir) = std::env::var_os("SAM_MATRIX_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create SAM_MATRIX_DIR");
    let line = format!("{}\t{status}\t{}\n", clean(feature), clean(detail));
    // One write per record with O_APPEND: lines from concurrent tests do not interleave.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        // `sam_tokio` (a crate path) and `sam-tokio` (a package) are the same adapter.
        .open(dir.join(format!("{}.tsv", adapter.replace('_', "-"))))
        .expect("open the matrix file");
    file.write_all(line.as_bytes())
        .expect("write the matrix file");
}

/// Records a pass.
pub fn pass(adapter: &str, feature: &str, detail: impl Into<String>) {
    record(adapter, feature, Outcome::Pass(detail.into()));
}

/// Records that the bridge does not offer `feature`, with the bridge's own answer.
pub fn not_offered(adapter: &str, feature: &str, reason: impl Into<String>) {
    record(adapter, feature, Outcome::NotOffered(reason.into()));
}

/// Records a bridge fault, with the evidence that it is the bridge's.
pub fn bridge_fault(adapter: &str, feature: &str, evidence: impl Into<String>) {
    record(adapter, feature, Outcome::BridgeFault(evidence.into()));
}
