//! How values are written on the wire, the same for every API generation.

use std::collections::BTreeMap;

/// A weight as servers parse it and as released clients write it: `1.0`, `1.5`, never `1`
/// and never an exponent.
pub(crate) fn weight_param(weight: f64) -> String {
    let s = weight.to_string();
    if s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

/// Metadata as the JSON object string servers expect.
pub(crate) fn metadata_param(metadata: &BTreeMap<String, String>) -> String {
    // A map of strings always serializes; the fallback only keeps this free of panics.
    serde_json::to_string(metadata).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_weights_as_floats() {
        assert_eq!(weight_param(1.0), "1.0");
        assert_eq!(weight_param(0.0), "0.0");
        assert_eq!(weight_param(1.5), "1.5");
        assert_eq!(weight_param(10_000.0), "10000.0");
        assert_eq!(weight_param(0.000_000_1), "0.0000001");
    }

    #[test]
    fn writes_metadata_as_a_json_object() {
        let metadata: BTreeMap<String, String> =
            [("b".into(), "2".into()), ("a".into(), "1".into())]
                .into_iter()
                .collect();
        assert_eq!(metadata_param(&metadata), r#"{"a":"1","b":"2"}"#);
        assert_eq!(metadata_param(&BTreeMap::new()), "{}");
    }
}
