//! The hostile-bridge suite (`testbed/hostile_bridge.rs`) against sam-async-std: a scripted,
//! misbehaving SAM bridge on loopback, no router needed. It takes the glue of the e2e suite
//! (`tests/support/glue.rs`): `run` is async-std's `block_on`, and async-io's reactor and the
//! sessions' control threads keep going while a scenario body blocks its thread on the bridge.

#[macro_use]
#[path = "support/glue.rs"]
mod async_std_glue;
use async_std_glue::glue;

#[path = "../../testbed/hostile_bridge.rs"]
mod hostile;

hostile::hostile_suite!(sam_async_std, glue, async);
