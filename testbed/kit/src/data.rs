//! Reproducible pseudo-random test data (xorshift64): different for every seed, cheap, and the
//! same on every run, so a failing transfer can be replayed.

/// `len` bytes of xorshift64 output, starting from state `seed` (which should not be 0).
pub fn xorshift_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// [`xorshift_bytes`] from a scrambled `seed` (any value, 0 included, gives a good start).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    xorshift_bytes(len, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
}
