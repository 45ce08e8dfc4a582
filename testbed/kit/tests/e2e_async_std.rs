//! End-to-end tests against a real SAM bridge (the offline i2pd testbed): the suite shared by
//! every adapter (`sam_testkit::e2e`), run on async-std.
//!
//! They need `SAM_ADDR` (and, if the UDP port is not TCP port − 1, `SAM_UDP_ADDR`); start the
//! bridge with `./scripts/test.sh` or `testbed/testbed.sh start DIR PORT`.

#[macro_use]
#[path = "support/async_std_glue.rs"]
mod async_std_glue;
use async_std_glue::glue;

sam_testkit::sam_e2e_suite!(sam_async_std, glue, async);
