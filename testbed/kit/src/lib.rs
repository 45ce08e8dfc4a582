//! The workspace's test kit (not published): what the tests and benches of sam-proto and the
//! three adapters share, kept once.
//!
//! * [`hostile`]: the scripted SAM bridge (plain `std` threads, so it serves async and
//!   blocking adapters alike) and the hostile-bridge scenario suite
//!   ([`hostile_suite!`](crate::hostile_suite));
//! * [`e2e`]: the end-to-end suite against a real bridge ([`sam_e2e_suite!`]);
//! * [`matrix`]: what an end-to-end scenario saw, written down for the interop matrix;
//! * [`bench`](mod@bench): the loopback fake bridge, counting sink and splice of the throughput benches,
//!   their statistics and the strace helpers;
//! * [`keys`]: the constructed keys of the SAM reference (sam-proto/PROTOCOL.md §11.6);
//! * [`data`]: reproducible pseudo-random test data;
//! * [`recovery`]: the supervised-service suite under router restarts
//!   ([`sam_recovery_suite!`]);
//! * [`testbed`](mod@testbed): a private testbed for tests that kill or freeze the router.
//!
//! The adapter suites live in this package's `tests/` (`e2e_tokio.rs`, `hostile_blocking.rs`,
//! ...): the published crates' tests include no file from outside their package.
#![forbid(unsafe_code)]

pub mod bench;
pub mod data;
pub mod e2e;
pub mod flood;
pub mod hostile;
pub mod keys;
pub mod matrix;
pub mod recovery;
pub mod testbed;
