//! The datagram flood test (`sam_testkit::flood`) against sam-blocking: its own binary, so
//! that the peak RSS it measures is the flood's.

#[macro_use]
#[path = "support/blocking_glue.rs"]
mod blocking_glue;
use blocking_glue::glue;

sam_testkit::flood_suite!(sam_blocking, glue);
