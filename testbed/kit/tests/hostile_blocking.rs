//! The hostile-bridge suite (`sam_testkit::hostile`) against sam-blocking: a scripted,
//! misbehaving SAM bridge on loopback, no router needed.

#[macro_use]
#[path = "support/blocking_glue.rs"]
mod blocking_glue;
use blocking_glue::glue;

sam_testkit::hostile_suite!(sam_blocking, glue);
