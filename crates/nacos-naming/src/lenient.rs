//! Tolerant field decoders for the shapes different servers send.
//!
//! Official Nacos 1.4, 2.x and rnacos disagree on types (a checksum is a string on one and a
//! number on another, metadata values are sometimes numbers), so every field that has been seen
//! to vary is decoded through one of these.

use std::collections::BTreeMap;

use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

/// A string, a number or a boolean as a string; `null` as the empty string.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => String::new(),
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => return Err(D::Error::custom(format!("expected a string, got {other}"))),
    })
}

/// Like [`string`], but `null` and the empty string become `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = string(d)?;
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// A number or a numeric string as `f64`; `null` as `default`.
fn number<'de, D: Deserializer<'de>>(d: D, default: f64) -> Result<f64, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(default),
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| D::Error::custom("number out of range")),
        Value::String(s) if s.trim().is_empty() => Ok(default),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("expected a number, got {s:?}"))),
        other => Err(D::Error::custom(format!("expected a number, got {other}"))),
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
    match Value::deserialize(d)? {
        Value::Null => Ok(default),
        Value::Bool(b) => Ok(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        Value::Number(n) => Ok(n.as_f64() != Some(0.0)),
        other => Err(D::Error::custom(format!("expected a boolean, got {other}"))),
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

/// A metadata map: a JSON object whose values may be strings, numbers or booleans, a JSON object
/// encoded as a string, or `null` (empty).
pub(crate) fn metadata<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let value = match Value::deserialize(d)? {
        Value::String(s) if s.trim().is_empty() => return Ok(BTreeMap::new()),
        Value::String(s) => serde_json::from_str(&s).map_err(D::Error::custom)?,
        other => other,
    };
    match value {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => Ok(map
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect()),
        other => Err(D::Error::custom(format!(
            "expected a metadata object, got {other}"
        ))),
    }
}
