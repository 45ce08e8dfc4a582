//! The datagram flood test (`sam_testkit::flood`) against sam-async-std: its own binary, so
//! that the peak RSS it measures is the flood's.

#[macro_use]
#[path = "support/async_std_glue.rs"]
mod async_std_glue;
use async_std_glue::glue;

sam_testkit::flood_suite!(sam_async_std, glue, async);
