//! The hostile-bridge suite (`sam_testkit::hostile`) against sam-async-std: a scripted,
//! misbehaving SAM bridge on loopback, no router needed. It takes the glue of the e2e suite
//! (`tests/support/async_std_glue.rs`): `run` is async-std's `block_on`, and async-io's reactor and the
//! sessions' control threads keep going while a scenario body blocks its thread on the bridge.

#[macro_use]
#[path = "support/async_std_glue.rs"]
mod async_std_glue;
use async_std_glue::glue;

sam_testkit::hostile_suite!(sam_async_std, glue, async);
