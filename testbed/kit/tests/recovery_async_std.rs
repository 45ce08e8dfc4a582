//! The recovery suite (`sam_testkit::recovery`) over sam-async-std's `Service`: router
//! restarts and a frozen router on private testbeds (`SAM_RECOVERY_BRIDGES`, default
//! `i2pd-2.59`).

#[macro_use]
#[path = "support/async_std_glue.rs"]
mod async_std_glue;
use async_std_glue::glue;

sam_testkit::sam_recovery_suite!(sam_async_std, glue, 1, async);
