//! Ready-made single-message transforms (Kafka Connect's SMTs), as closures to pass to
//! [`ConnectorConfig::transform`](super::ConnectorConfig::transform). Any closure
//! `Fn(ConnectRecord) -> Result<Option<ConnectRecord>>` is a transform too.
//!
//! ```
//! use brooklet::connect::{ConnectRecord, transforms};
//!
//! let t = transforms::key_from_field("user");
//! let r = t(ConnectRecord::new("tweets").value(r#"{"user":"ada","text":"hi"}"#))?.unwrap();
//! assert_eq!(r.key.as_deref(), Some(&b"ada"[..]));
//!
//! let t = transforms::rename_topic("tweets", "tweets-raw");
//! assert_eq!(t(r)?.unwrap().topic, "tweets-raw");
//! # Ok::<(), brooklet::Error>(())
//! ```

use super::json::{self, Json};
use super::record::ConnectRecord;
use crate::{Error, Header, Result};

/// Renames topic `from` to `to` and leaves other topics alone (Kafka's `RegexRouter`
/// with a literal).
pub fn rename_topic(
    from: impl Into<String>,
    to: impl Into<String>,
) -> impl Fn(ConnectRecord) -> Result<Option<ConnectRecord>> + Send + Sync + 'static {
    let (from, to) = (from.into(), to.into());
    move |mut r| {
        if r.topic == from {
            r.topic.clone_from(&to);
        }
        Ok(Some(r))
    }
}

/// Sets every record's topic to `f(topic)` (Kafka's `RegexRouter` in general).
pub fn route(
    f: impl Fn(&str) -> String + Send + Sync + 'static,
) -> impl Fn(ConnectRecord) -> Result<Option<ConnectRecord>> + Send + Sync + 'static {
    move |mut r| {
        r.topic = f(&r.topic);
        Ok(Some(r))
    }
}

/// Keeps the records for which `keep` is true and drops the others (Kafka's `Filter`
/// with a predicate).
pub fn filter(
    keep: impl Fn(&ConnectRecord) -> bool + Send + Sync + 'static,
) -> impl Fn(ConnectRecord) -> Result<Option<ConnectRecord>> + Send + Sync + 'static {
    move |r| Ok(keep(&r).then_some(r))
}

/// Changes each record with `f` (any per-record change: value, headers, timestamp).
pub fn map(
    f: impl Fn(ConnectRecord) -> ConnectRecord + Send + Sync + 'static,
) -> impl Fn(ConnectRecord) -> Result<Option<ConnectRecord>> + Send + Sync + 'static {
    move |r| Ok(Some(f(r)))
}

/// Adds a header with a fixed value (Kafka's `InsertHeader`).
pub fn insert_header(
    key: impl Into<String>,
    value: impl Into<Vec<u8>>,
) -> impl Fn(ConnectRecord) -> Result<Option<ConnectRecord>> + Send + Sync + 'static {
    let h = Header::new(key, value);
    move |mut r| {
        r.headers.push(h.clone());
        Ok(Some(r))
    }
}

/// Sets the key to the top-level field `field` of the JSON object in the value
/// (Kafka's `ValueToKey` followed by `ExtractField$Key`): a string field gives its
/// text, a JSON `null` a null key, other values their compact JSON text.
///
/// # Errors
/// The transform fails (and the connector's error policy applies) when the value is
/// null, not a JSON object, or has no such field.
pub fn key_from_field(
    field: impl Into<String>,
) -> impl Fn(ConnectRecord) -> Result<Option<ConnectRecord>> + Send + Sync + 'static {
    let field = field.into();
    move |mut r| {
        let bad = |why: String| Error::InvalidRecord {
            topic: r.topic.clone(),
            reason: format!("key_from_field(`{field}`): {why}"),
        };
        let value = r
            .value
            .as_deref()
            .ok_or_else(|| bad("the value is null".into()))?;
        let doc = json::parse(value).map_err(|e| bad(format!("the value is not JSON ({e})")))?;
        if !matches!(doc, Json::Obj(_)) {
            return Err(bad("the value is not a JSON object".into()));
        }
        let key = match doc.get(&field) {
            None => return Err(bad("the object has no such field".into())),
            Some(Json::Null) => None,
            Some(Json::Str(s)) => Some(s.clone().into_bytes()),
            Some(v) => Some(v.to_text().into_bytes()),
        };
        r.key = key;
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(v: &str) -> ConnectRecord {
        ConnectRecord::new("t").value(v)
    }

    #[test]
    fn key_from_field_takes_strings_numbers_and_null() {
        let t = key_from_field("id");
        let k = |v: &str| t(rec(v)).map(|r| r.and_then(|r| r.key));
        assert_eq!(k(r#"{"id":"a"}"#).unwrap(), Some(b"a".to_vec()));
        assert_eq!(k(r#"{"id":12}"#).unwrap(), Some(b"12".to_vec()));
        assert_eq!(
            k(r#"{"id":{"x":[1]}}"#).unwrap(),
            Some(br#"{"x":[1]}"#.to_vec())
        );
        assert_eq!(k(r#"{"id":null}"#).unwrap(), None);
        for bad in ["not json", "[1]", r#"{"other":1}"#] {
            let e = k(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidRecord { .. }), "{bad}: {e}");
        }
        assert!(t(ConnectRecord::new("t")).is_err(), "null value");
    }

    #[test]
    fn filter_route_and_headers() {
        let f = filter(|r| r.value.as_deref() != Some(b"drop"));
        assert!(f(rec("drop")).unwrap().is_none());
        assert!(f(rec("keep")).unwrap().is_some());
        let r = route(|t| format!("{t}-copy"))(rec("x")).unwrap().unwrap();
        assert_eq!(r.topic, "t-copy");
        let r = rename_topic("other", "y")(r).unwrap().unwrap();
        assert_eq!(r.topic, "t-copy");
        let r = insert_header("h", "v")(r).unwrap().unwrap();
        assert_eq!(r.headers, vec![Header::new("h", "v")]);
        let r = map(|mut r| {
            r.timestamp = Some(5);
            r
        })(r)
        .unwrap()
        .unwrap();
        assert_eq!(r.timestamp, Some(5));
    }
}
