//! CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.

/// CRC-32C of `bytes`, hardware-accelerated where the CPU has it (SSE 4.2, ARMv8 CRC).
///
/// ```
/// assert_eq!(brooklet::format::crc::crc32c(b"123456789"), 0xE306_9283);
/// ```
#[inline]
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        // The standard check value of CRC-32C (RFC 3720, appendix B.4).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }
}
