//! The recovery suite (`sam_testkit::recovery`) over sam-blocking's `Service`: router
//! restarts and a frozen router on private testbeds (`SAM_RECOVERY_BRIDGES`, default
//! `i2pd-2.59`).

#[macro_use]
#[path = "support/blocking_glue.rs"]
mod blocking_glue;
use blocking_glue::glue;

sam_testkit::sam_recovery_suite!(sam_blocking, glue, 2);
