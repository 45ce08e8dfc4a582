//! End-to-end tests against a real SAM bridge (the offline i2pd testbed): the suite shared by
//! every adapter (`testbed/e2e_suite.rs`), run with threads and blocking calls.
//!
//! They need `SAM_ADDR` (and, if the UDP port is not TCP port − 1, `SAM_UDP_ADDR`); start the
//! bridge with `./scripts/test.sh` or `testbed/testbed.sh start DIR PORT`.

#[path = "../../testbed/e2e_suite.rs"]
#[macro_use]
mod suite;

#[path = "../../testbed/matrix.rs"]
mod matrix;

#[macro_use]
mod support;
use support::glue;

sam_e2e_suite!(sam_blocking, glue);
