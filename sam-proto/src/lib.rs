//! Sans-IO SAM v3 for I2P.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod command;
pub mod control;
pub mod datagram;
pub mod error;
pub mod exchange;
pub mod keys;
pub mod line;
pub mod message;
pub mod reply;
pub mod result;
pub mod types;

pub use error::Error;
pub use message::Message;
pub use result::ResultCode;
pub use types::{Secret, SessionId, SessionStyle, Version};
