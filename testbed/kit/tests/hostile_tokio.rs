//! The hostile-bridge suite (`sam_testkit::hostile`) against sam-tokio: a scripted,
//! misbehaving SAM bridge on loopback, no router needed.
//!
//! The glue follows the conventions of the shared e2e suite (`aw!`, `task!`, a `glue` module),
//! so the same items serve both.

#[macro_use]
#[path = "support/tokio_glue.rs"]
mod tokio_glue;
use tokio_glue::glue;

sam_testkit::hostile_suite!(sam_tokio, glue, async);
