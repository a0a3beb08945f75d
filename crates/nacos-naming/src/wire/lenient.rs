//! Tolerant field decoders for the shapes different servers send.
//!
//! Official Nacos 1.4, 2.x and rnacos disagree on types (a checksum is a string on one and a
//! number on another, metadata values are sometimes numbers), so every field that has been seen
//! to vary is decoded through one of these. Each is a visitor that takes the token as it comes:
//! list answers are decoded on every poll and every call, so no field builds an intermediate
//! value (a `serde_json::Value` or an enum of token kinds) on its way to the struct.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserializer, Error as _, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// A string, a number or a boolean as text; `null` as the empty string. Objects and arrays are
/// refused, or kept as their JSON text when `nested_as_json` (metadata values).
#[derive(Clone, Copy)]
struct TextVisitor {
    nested_as_json: bool,
}

impl<'de> Visitor<'de> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number or a boolean")
    }

    fn visit_unit<E>(self) -> Result<String, E> {
        Ok(String::new())
    }

    fn visit_none<E>(self) -> Result<String, E> {
        Ok(String::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E>(self, v: f64) -> Result<String, E> {
        // As JSON writes it: `1.0` stays `1.0`, where `f64`'s `Display` would print `1`.
        Ok(Value::from(v).to_string())
    }

    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        if !self.nested_as_json {
            return Err(A::Error::invalid_type(Unexpected::Map, &self));
        }
        Ok(Value::deserialize(MapAccessDeserializer::new(map))?.to_string())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
        if !self.nested_as_json {
            return Err(A::Error::invalid_type(Unexpected::Seq, &self));
        }
        Ok(Value::deserialize(SeqAccessDeserializer::new(seq))?.to_string())
    }
}

/// A string, a number or a boolean as a string; `null` as the empty string.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(TextVisitor {
        nested_as_json: false,
    })
}

/// Like [`string`], but `null` and the empty string become `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = string(d)?;
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// A number or a numeric string as `f64`; `null` and a blank string as `default`.
#[derive(Clone, Copy)]
struct NumberVisitor {
    default: f64,
}

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a numeric string")
    }

    fn visit_unit<E>(self) -> Result<f64, E> {
        Ok(self.default)
    }

    fn visit_none<E>(self) -> Result<f64, E> {
        Ok(self.default)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_i64<E>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_f64<E>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<f64, E> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(self.default);
        }
        v.parse()
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }
}

fn number<'de, D: Deserializer<'de>>(d: D, default: f64) -> Result<f64, D::Error> {
    d.deserialize_any(NumberVisitor { default })
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

/// A boolean, the strings `"true"`/`"false"` in any case, or a number (non-zero is true);
/// `null` as `default`.
#[derive(Clone, Copy)]
struct BoolVisitor {
    default: bool,
}

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(self.default)
    }

    fn visit_none<E>(self) -> Result<bool, E> {
        Ok(self.default)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_i64<E>(self, v: i64) -> Result<bool, E> {
        Ok(v != 0)
    }

    fn visit_u64<E>(self, v: u64) -> Result<bool, E> {
        Ok(v != 0)
    }

    fn visit_f64<E>(self, v: f64) -> Result<bool, E> {
        Ok(v != 0.0)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        if v.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if v.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(E::invalid_value(Unexpected::Str(v), &self))
        }
    }
}

/// A boolean that defaults to `true` when `null`.
pub(crate) fn bool_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(BoolVisitor { default: true })
}

/// A boolean that defaults to `false` when `null`.
pub(crate) fn bool_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(BoolVisitor { default: false })
}

/// A metadata map: a JSON object whose values may be strings, numbers, booleans or nested
/// JSON (kept as its text), a JSON object encoded as a string, or `null` (empty).
pub(crate) fn metadata<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    d.deserialize_any(MetadataVisitor)
}

/// One metadata value, through [`TextVisitor`] with nested JSON kept as text.
struct MetadataValue(String);

impl<'de> Deserialize<'de> for MetadataValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor {
            nested_as_json: true,
        })
        .map(MetadataValue)
    }
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
        while let Some((key, MetadataValue(value))) = map.next_entry::<String, MetadataValue>()? {
            out.insert(key, value);
        }
        Ok(out)
    }
}

/// Takes only a JSON object. A derived struct also accepts an array of its fields in order,
/// so that `[]` would decode as a struct of defaults: an answer of `[]` would then read as a
/// list with no instances, and every subscriber would be told all instances are gone.
struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// Decodes `T` from a JSON object only (see [`ObjectVisitor`]).
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(ObjectVisitor(PhantomData))
}

/// A whole answer that must be one JSON object decoding as `T`.
pub(crate) fn object_from_str<'a, T: Deserialize<'a>>(body: &'a str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(body);
    let value = object(&mut de)?;
    de.end()?;
    Ok(value)
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
        let p = probe(r#"{"s":1.0,"n":" 7 ","b":2}"#).unwrap();
        assert_eq!((p.s.as_str(), p.n, p.b), ("1.0", 7, true));
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

    #[test]
    fn answers_must_be_objects() {
        #[derive(Deserialize, Debug)]
        struct Answer {
            #[serde(default)]
            _code: i64,
        }
        for bad in ["[]", "[1]", "7", "\"x\"", "null", "{} {}", ""] {
            assert!(object_from_str::<Answer>(bad).is_err(), "{bad}");
        }
        assert!(object_from_str::<Answer>(" {\"_code\":1} ").is_ok());
    }
}
