//! Instance metadata on the command line: read from repeated `--metadata KEY=VALUE` flags or
//! one `--metadata-json` object, and shown as a JSON object that `--metadata-json` reads back.
//!
//! A comma-separated list would be ambiguous (values often hold commas), and so would a table
//! cell of `k=v,k2=v2`: one flag per entry and JSON on output leave no doubt.

use std::collections::BTreeMap;

/// Metadata by key, in key order.
pub(crate) type Metadata = BTreeMap<String, String>;

/// One `KEY=VALUE` argument. The value may hold `=` and `,`, and may be empty; a value that
/// looks like more entries (`a=1,b=2`) is refused, since it would be stored as one.
pub(crate) fn parse_entry(s: &str) -> Result<(String, String), String> {
    let Some((key, value)) = s.split_once('=') else {
        return Err(format!("expected KEY=VALUE, got {s:?}"));
    };
    if key.trim().is_empty() {
        return Err(format!("the key is empty in {s:?}"));
    }
    if key.contains(',') {
        return Err(format!(
            "{s:?} has a comma in its key: one --metadata per entry"
        ));
    }
    let looks_like_more = value.split(',').skip(1).any(|part| {
        part.split_once('=')
            .is_some_and(|(k, _)| is_plain_key(k.trim()))
    });
    if looks_like_more {
        return Err(format!(
            "{s:?} looks like several entries: pass one --metadata per entry \
             (--metadata a=1 --metadata b=2), or --metadata-json '{{\"{key}\":\"...\"}}' \
             for a value that holds \",k=\""
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// A word that reads as a metadata key: letters, digits, `.`, `-`, `_`.
fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A `--metadata-json` argument: one JSON object whose values are strings.
pub(crate) fn parse_json(s: &str) -> Result<Metadata, String> {
    serde_json::from_str(s).map_err(|e| {
        format!("expected a JSON object of strings such as '{{\"version\":\"1.0\"}}': {e}")
    })
}

/// The entries of repeated `--metadata` flags; a key given twice is refused.
pub(crate) fn from_entries(entries: &[(String, String)]) -> Result<Metadata, String> {
    let mut metadata = Metadata::new();
    for (key, value) in entries {
        if metadata.insert(key.clone(), value.clone()).is_some() {
            return Err(format!("--metadata names the key {key:?} twice"));
        }
    }
    Ok(metadata)
}

/// `{"version":"1.0","zones":"a,b"}`, or `-` for none: what tables and event lines show,
/// and what `--metadata-json` reads back.
pub(crate) fn render<'a>(metadata: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let map: BTreeMap<&String, &String> = metadata.into_iter().collect();
    if map.is_empty() {
        return "-".to_owned();
    }
    // Maps of strings always serialize.
    serde_json::to_string(&map).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_keeps_commas_and_equals_in_its_value() {
        assert_eq!(parse_entry("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_entry("a="), Ok(("a".into(), String::new())));
        assert_eq!(parse_entry("zones=a,b"), Ok(("zones".into(), "a,b".into())));
        assert_eq!(parse_entry("q=x,=y"), Ok(("q".into(), "x,=y".into())));
    }

    #[test]
    fn what_is_ambiguous_is_refused() {
        for bad in ["novalue", "=v", "a=1,b=2", "a,b=1", "a=1, zone=x"] {
            assert!(parse_entry(bad).is_err(), "{bad}");
        }
        let twice = [
            ("a".to_owned(), "1".to_owned()),
            ("a".to_owned(), "2".to_owned()),
        ];
        assert!(from_entries(&twice).is_err());
    }

    #[test]
    fn what_is_shown_reads_back() {
        let entries = [
            ("zones".to_owned(), "a,b".to_owned()),
            ("v".to_owned(), "x=\"1\"".to_owned()),
        ];
        let metadata = from_entries(&entries).unwrap();
        let shown = render(&metadata);
        assert_eq!(shown, r#"{"v":"x=\"1\"","zones":"a,b"}"#);
        assert_eq!(parse_json(&shown), Ok(metadata));
        assert_eq!(render(&Metadata::new()), "-");
        assert!(parse_json(r#"{"a":1}"#).is_err());
    }
}
