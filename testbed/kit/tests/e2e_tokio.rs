//! End-to-end tests against a real SAM bridge (the offline i2pd testbed): the suite shared by
//! every adapter (`sam_testkit::e2e`), run over tokio.
//!
//! They need `SAM_ADDR` (and, if the UDP port is not TCP port − 1, `SAM_UDP_ADDR`); start the
//! bridge with `./scripts/test.sh` or `testbed/testbed.sh start DIR PORT`.

#[macro_use]
#[path = "support/tokio_glue.rs"]
mod tokio_glue;
use tokio_glue::glue;

sam_testkit::sam_e2e_suite!(sam_tokio, glue, async);
