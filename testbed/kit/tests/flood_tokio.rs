//! The datagram flood test (`sam_testkit::flood`) against sam-tokio: its own binary, so
//! that the peak RSS it measures is the flood's.

#[macro_use]
#[path = "support/tokio_glue.rs"]
mod tokio_glue;
use tokio_glue::glue;

sam_testkit::flood_suite!(sam_tokio, glue, async);
