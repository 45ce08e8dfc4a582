//! The hostile-bridge suite (`testbed/hostile_bridge.rs`) against sam-blocking: a scripted,
//! misbehaving SAM bridge on loopback, no router needed.

#[macro_use]
mod support;
use support::glue;

#[path = "../../testbed/hostile_bridge.rs"]
mod hostile;

hostile::hostile_suite!(sam_blocking, glue);
