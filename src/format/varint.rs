//! Zig-zag varints as Kafka's records use them (protobuf's encoding).

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The buffer ended inside the varint.
    Truncated,
    /// More bytes than the type allows (5 for 32-bit, 10 for 64-bit).
    TooLong,
}

/// Bytes needed for `v` as a zig-zag varint (1..=5).
#[inline]
pub fn varint_len(v: i32) -> usize {
    varlong_len(v as i64)
}

/// Bytes needed for `v` as a zig-zag varlong (1..=10).
#[inline]
pub fn varlong_len(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    // One byte per started 7 bits; `| 1` makes zero take one byte.
    let bits = 64 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Writes `v` as a zig-zag varint at `buf[pos..]`, returns the position after it.
///
/// The caller sized `buf` with [`varint_len`]; a short buffer panics, which is a bug in
/// the caller, never reachable from decoded input.
#[inline]
pub fn put_varint(buf: &mut [u8], pos: usize, v: i32) -> usize {
    put_varlong(buf, pos, v as i64)
}

/// Writes `v` as a zig-zag varlong at `buf[pos..]`, returns the position after it.
#[inline]
pub fn put_varlong(buf: &mut [u8], mut pos: usize, v: i64) -> usize {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf[pos] = (z as u8) | 0x80;
        z >>= 7;
        pos += 1;
    }
    buf[pos] = z as u8;
    pos + 1
}

/// Reads a zig-zag varint from `buf[pos..]`: `(value, position after it)`.
#[inline]
pub fn get_varint(buf: &[u8], pos: usize) -> Result<(i32, usize), VarintError> {
    let (raw, next) = get_raw(buf, pos, 5)?;
    if raw > u32::MAX as u64 {
        return Err(VarintError::TooLong);
    }
    let raw = raw as u32;
    Ok((((raw >> 1) as i32) ^ -((raw & 1) as i32), next))
}

/// Reads a zig-zag varlong from `buf[pos..]`: `(value, position after it)`.
#[inline]
pub fn get_varlong(buf: &[u8], pos: usize) -> Result<(i64, usize), VarintError> {
    let (raw, next) = get_raw(buf, pos, 10)?;
    Ok((((raw >> 1) as i64) ^ -((raw & 1) as i64), next))
}

#[inline]
fn get_raw(buf: &[u8], pos: usize, max_bytes: usize) -> Result<(u64, usize), VarintError> {
    let mut value: u64 = 0;
    for i in 0..max_bytes {
        let Some(&b) = buf.get(pos + i) else {
            return Err(VarintError::Truncated);
        };
        value |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, pos + i + 1));
        }
    }
    Err(VarintError::TooLong)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        // Zig-zag: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3 ...
        let mut buf = [0u8; 10];
        for (v, bytes) in [
            (0i64, &[0x00][..]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-2, &[0x03]),
            (63, &[0x7e]),
            (64, &[0x80, 0x01]),
            (-65, &[0x81, 0x01]),
        ] {
            let end = put_varlong(&mut buf, 0, v);
            assert_eq!(&buf[..end], bytes, "encoding of {v}");
            assert_eq!(varlong_len(v), bytes.len());
        }
    }

    #[test]
    fn rejects_overlong_and_truncated() {
        assert_eq!(get_varint(&[0x80], 0), Err(VarintError::Truncated));
        assert_eq!(get_varint(&[0xff; 6], 0), Err(VarintError::TooLong));
        // Five bytes whose value exceeds 32 bits.
        assert_eq!(
            get_varint(&[0xff, 0xff, 0xff, 0xff, 0x7f], 0),
            Err(VarintError::TooLong)
        );
        assert_eq!(get_varlong(&[0xff; 11], 0), Err(VarintError::TooLong));
    }

    proptest! {
        #[test]
        fn varlong_round_trips(v in any::<i64>()) {
            let mut buf = [0u8; 10];
            let end = put_varlong(&mut buf, 0, v);
            prop_assert_eq!(end, varlong_len(v));
            prop_assert_eq!(get_varlong(&buf, 0), Ok((v, end)));
        }

        #[test]
        fn varint_round_trips(v in any::<i32>()) {
            let mut buf = [0u8; 5];
            let end = put_varint(&mut buf, 0, v);
            prop_assert_eq!(end, varint_len(v));
            prop_assert_eq!(get_varint(&buf, 0), Ok((v, end)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = get_varint(&bytes, 0);
            let _ = get_varlong(&bytes, 0);
        }
    }
}
