//! I2P key formats (being written).
