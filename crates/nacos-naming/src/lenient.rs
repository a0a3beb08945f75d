//! Tolerant field decoders for the shapes different servers send.
//!
//! Official Nacos 1.4, 2.x and rnacos disagree on types (a checksum is a string on one and a
//! number on another, metadata values are sometimes numbers), so every field that has been seen
//! to vary is decoded through one of these. They read the token as it comes (a [`Scalar`])
//! instead of building a `serde_json::Value` first: list answers are decoded on every poll and
//! every call, and that intermediate tree was a large part of their cost.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// One JSON token where a scalar is expected; objects and arrays are kept as JSON values so
/// that metadata can carry them as text.
enum Scalar<'de> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'de, str>),
    Nested(Value),
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        Scalar::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Uint(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Scalar::Nested)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar<'de>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Scalar::Nested)
    }
}

impl Scalar<'_> {
    fn describe(&self) -> String {
        match self {
            Scalar::Null => "null".to_owned(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Uint(n) => n.to_string(),
            Scalar::Float(n) => n.to_string(),
            Scalar::Str(s) => format!("{s:?}"),
            Scalar::Nested(v) => v.to_string(),
        }
    }

    /// Any scalar as text; `None` for `null`, objects and arrays.
    fn into_text(self) -> Option<String> {
        Some(match self {
            Scalar::Null | Scalar::Nested(_) => return None,
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Uint(n) => n.to_string(),
            Scalar::Float(n) => Value::from(n).to_string(),
            Scalar::Str(s) => s.into_owned(),
        })
    }
}

/// A string, a number or a boolean as a string; `null` as the empty string.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let token = Scalar::deserialize(d)?;
    match token {
        Scalar::Null => Ok(String::new()),
        Scalar::Nested(v) => Err(D::Error::custom(format!("expected a string, got {v}"))),
        other => Ok(other.into_text().unwrap_or_default()),
    }
}

/// Like [`string`], but `null` and the empty string become `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = string(d)?;
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// A number or a numeric string as `f64`; `null` as `default`.
fn number<'de, D: Deserializer<'de>>(d: D, default: f64) -> Result<f64, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Null => Ok(default),
        Scalar::Int(n) => Ok(n as f64),
        Scalar::Uint(n) => Ok(n as f64),
        Scalar::Float(n) => Ok(n),
        Scalar::Str(s) if s.trim().is_empty() => Ok(default),
        Scalar::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("expected a number, got {s:?}"))),
        other => Err(D::Error::custom(format!(
            "expected a number, got {}",
            other.describe()
        ))),
    }
}

/// An instance weight: a number or numeric string, `null` as 1.0.
pub(crate) fn weight<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    number(d, 1.0)
}

/// A whole number of milliseconds (or a count) that may arrive as a float or a string.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = number(d, 0.0)?;
    if n.is_finite() {
        // `as` saturates, which is what an out-of-range timestamp deserves.
        Ok(n as i64)
    } else {
        Err(D::Error::custom("expected a finite number"))
    }
}

/// Like [`int`], but negative values become 0.
pub(crate) fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(int(d)?.max(0) as u64)
}

/// A TCP port: a number or a numeric string in `0..=65535`.
pub(crate) fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let n = number(d, 0.0)?;
    if n.fract() == 0.0 && (0.0..=65535.0).contains(&n) {
        Ok(n as u16)
    } else {
        Err(D::Error::custom(format!("port out of range: {n}")))
    }
}

/// A boolean, or the strings `"true"`/`"false"` in any case; `null` as `default`.
fn boolean<'de, D: Deserializer<'de>>(d: D, default: bool) -> Result<bool, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Null => Ok(default),
        Scalar::Bool(b) => Ok(b),
        Scalar::Str(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Scalar::Str(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        Scalar::Int(n) => Ok(n != 0),
        Scalar::Uint(n) => Ok(n != 0),
        Scalar::Float(n) => Ok(n != 0.0),
        other => Err(D::Error::custom(format!(
            "expected a boolean, got {}",
            other.describe()
        ))),
    }
}

/// A boolean that defaults to `true` when `null`.
pub(crate) fn bool_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    boolean(d, true)
}

/// A boolean that defaults to `false` when `null`.
pub(crate) fn bool_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    boolean(d, false)
}

/// A metadata map: a JSON object whose values may be strings, numbers, booleans or nested
/// JSON (kept as its text), a JSON object encoded as a string, or `null` (empty).
pub(crate) fn metadata<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    d.deserialize_any(MetadataVisitor)
}

struct MetadataVisitor;

impl<'de> Visitor<'de> for MetadataVisitor {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a metadata object")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        metadata(d)
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
        if s.trim().is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut de = serde_json::Deserializer::from_str(s);
        metadata(&mut de).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Scalar<'de>>()? {
            let value = match value {
                Scalar::Nested(v) => v.to_string(),
                other => other.into_text().unwrap_or_default(),
            };
            out.insert(key, value);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "string")]
        s: String,
        #[serde(default, deserialize_with = "int")]
        n: i64,
        #[serde(default, deserialize_with = "bool_false")]
        b: bool,
        #[serde(default, deserialize_with = "metadata")]
        m: BTreeMap<String, String>,
    }

    fn probe(json: &str) -> Result<Probe, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn reads_scalars_of_any_type() {
        let p = probe(r#"{"s":12,"n":"34","b":"TRUE"}"#).unwrap();
        assert_eq!((p.s.as_str(), p.n, p.b), ("12", 34, true));
        let p = probe(r#"{"s":"a\"b","n":1.9e3,"b":0}"#).unwrap();
        assert_eq!((p.s.as_str(), p.n, p.b), ("a\"b", 1900, false));
        let p = probe(r#"{"s":null,"n":null,"b":null,"m":null}"#).unwrap();
        assert_eq!((p.s.as_str(), p.n, p.b), ("", 0, false));
        assert!(p.m.is_empty());
    }

    #[test]
    fn refuses_what_cannot_be_read_with_an_error() {
        assert!(probe(r#"{"s":{"x":1}}"#).is_err());
        assert!(probe(r#"{"n":"ten"}"#).is_err());
        assert!(probe(r#"{"n":[1]}"#).is_err());
        assert!(probe(r#"{"b":"maybe"}"#).is_err());
        assert!(probe(r#"{"m":[1,2]}"#).is_err());
        assert!(probe(r#"{"m":"not json"}"#).is_err());
        assert!(probe(r#"{"n":1e400}"#).is_err());
    }

    #[test]
    fn keeps_nested_metadata_values_as_json_text() {
        let p = probe(r#"{"m":{"a":{"x":[1,2]},"f":1.5,"t":true}}"#).unwrap();
        assert_eq!(p.m["a"], r#"{"x":[1,2]}"#);
        assert_eq!(p.m["f"], "1.5");
        assert_eq!(p.m["t"], "true");
        let p = probe(r#"{"m":"{\"k\":2}"}"#).unwrap();
        assert_eq!(p.m["k"], "2");
        let p = probe(r#"{"m":"  "}"#).unwrap();
        assert!(p.m.is_empty());
    }
}
