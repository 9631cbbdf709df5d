//! Serialisers between typed keys/values and record bytes (Kafka's `Serde`).

/// Converts `T` to and from bytes.
///
/// ```
/// use brooklet::streams::{I64, Serde, Utf8};
/// assert_eq!(I64.deserialize(&I64.serialize(&-5)), Ok(-5));
/// assert_eq!(Utf8.deserialize(b"hi").as_deref(), Ok("hi"));
/// ```
pub trait Serde<T>: Send + Sync + 'static {
    /// `value` as bytes.
    fn serialize(&self, value: &T) -> Vec<u8>;
    /// A value from bytes; a message saying what is wrong otherwise.
    ///
    /// # Errors
    /// Bytes that do not encode a `T`.
    fn deserialize(&self, bytes: &[u8]) -> Result<T, String>;
    /// The value of a null key or value. Default: an error (the record cannot be typed).
    ///
    /// # Errors
    /// By default always.
    fn deserialize_null(&self) -> Result<T, String> {
        Err("null key or value where a value is required".into())
    }
}

/// Raw bytes, unchanged; null is an empty vector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bytes;

impl Serde<Vec<u8>> for Bytes {
    fn serialize(&self, v: &Vec<u8>) -> Vec<u8> {
        v.clone()
    }
    fn deserialize(&self, b: &[u8]) -> Result<Vec<u8>, String> {
        Ok(b.to_vec())
    }
    fn deserialize_null(&self) -> Result<Vec<u8>, String> {
        Ok(Vec::new())
    }
}

/// UTF-8 strings (Kafka's `StringSerde`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Utf8;

impl Serde<String> for Utf8 {
    fn serialize(&self, v: &String) -> Vec<u8> {
        v.as_bytes().to_vec()
    }
    fn deserialize(&self, b: &[u8]) -> Result<String, String> {
        String::from_utf8(b.to_vec()).map_err(|e| format!("not UTF-8: {e}"))
    }
}

/// 64-bit signed integers, 8 bytes big-endian (Kafka's `LongSerde`).
#[derive(Debug, Clone, Copy, Default)]
pub struct I64;

impl Serde<i64> for I64 {
    fn serialize(&self, v: &i64) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }
    fn deserialize(&self, b: &[u8]) -> Result<i64, String> {
        let a: [u8; 8] = b
            .try_into()
            .map_err(|_| format!("a long needs 8 bytes, got {}", b.len()))?;
        Ok(i64::from_be_bytes(a))
    }
}

/// 32-bit signed integers, 4 bytes big-endian (Kafka's `IntegerSerde`).
#[derive(Debug, Clone, Copy, Default)]
pub struct I32;

impl Serde<i32> for I32 {
    fn serialize(&self, v: &i32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }
    fn deserialize(&self, b: &[u8]) -> Result<i32, String> {
        let a: [u8; 4] = b
            .try_into()
            .map_err(|_| format!("an int needs 4 bytes, got {}", b.len()))?;
        Ok(i32::from_be_bytes(a))
    }
}

type SerFn<T> = Box<dyn Fn(&T) -> Vec<u8> + Send + Sync>;
type DeFn<T> = Box<dyn Fn(&[u8]) -> Result<T, String> + Send + Sync>;

/// A serde built from two closures.
pub struct FnSerde<T> {
    ser: SerFn<T>,
    de: DeFn<T>,
}

impl<T> FnSerde<T> {
    /// From a serialiser and a deserialiser.
    pub fn new(
        ser: impl Fn(&T) -> Vec<u8> + Send + Sync + 'static,
        de: impl Fn(&[u8]) -> Result<T, String> + Send + Sync + 'static,
    ) -> Self {
        FnSerde {
            ser: Box::new(ser),
            de: Box::new(de),
        }
    }
}

impl<T: 'static> Serde<T> for FnSerde<T> {
    fn serialize(&self, v: &T) -> Vec<u8> {
        (self.ser)(v)
    }
    fn deserialize(&self, b: &[u8]) -> Result<T, String> {
        (self.de)(b)
    }
}
