//! A stable 64-bit FNV-1a hash, in hex: the same input gives the same name or config hash
//! across runs and Rust versions (std's hashers promise no such thing).

pub(crate) fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
