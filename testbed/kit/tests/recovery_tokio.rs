//! The recovery suite (`sam_testkit::recovery`) over sam-tokio's `Service`: router restarts
//! and a frozen router on private testbeds (`SAM_RECOVERY_BRIDGES`, default `i2pd-2.59`).

#[macro_use]
#[path = "support/tokio_glue.rs"]
mod tokio_glue;
use tokio_glue::glue;

sam_testkit::sam_recovery_suite!(sam_tokio, glue, 0, async);
