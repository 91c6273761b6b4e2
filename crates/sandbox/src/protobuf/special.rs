//! The message types whose JSON form is not an object of their fields: `Time` and
//! `MicroTime` (RFC 3339 strings), `IntOrString` (a number or a string), `Quantity` (its
//! string) and `FieldsV1` (the JSON document it carries).

use jiff::Timestamp;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{FieldsV1, MicroTime, Time};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::json::{MappingError, ToJson};

/// `IntOrString.type` for an integer.
const INT_TYPE: i64 = 0;
/// `IntOrString.type` for a string.
const STRING_TYPE: i64 = 1;

fn timestamp(seconds: i64, nanos: i32) -> Result<Timestamp, MappingError> {
    Timestamp::new(seconds, nanos).map_err(|e| MappingError::new(format!("time out of range: {e}")))
}

/// A `Time` travels as seconds (its nanoseconds are dropped, as the API server drops them);
/// the zero time, an empty message, is JSON `null`.
impl ToJson for Time {
    fn to_json(&self) -> Result<Value, MappingError> {
        if self.is_zero() {
            return Ok(Value::Null);
        }
        let seconds = self.seconds.unwrap_or_default();
        Ok(Value::String(timestamp(seconds, 0)?.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()))
    }

    fn is_zero(&self) -> bool {
        self.seconds.unwrap_or_default() == 0 && self.nanos.unwrap_or_default() == 0
    }
}

/// A `MicroTime` keeps microseconds: `2006-01-02T15:04:05.000000Z`.
impl ToJson for MicroTime {
    fn to_json(&self) -> Result<Value, MappingError> {
        if self.is_zero() {
            return Ok(Value::Null);
        }
        let (seconds, nanos) = (self.seconds.unwrap_or_default(), self.nanos.unwrap_or_default());
        Ok(Value::String(timestamp(seconds, nanos)?.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()))
    }

    fn is_zero(&self) -> bool {
        self.seconds.unwrap_or_default() == 0 && self.nanos.unwrap_or_default() == 0
    }
}

impl ToJson for IntOrString {
    fn to_json(&self) -> Result<Value, MappingError> {
        match self.r#type.unwrap_or(INT_TYPE) {
            INT_TYPE => Ok(Value::from(self.int_val.unwrap_or_default())),
            STRING_TYPE => Ok(Value::String(self.str_val.clone().unwrap_or_default())),
            other => Err(MappingError::new(format!(
                "IntOrString has type {other}; only 0 (an integer) and 1 (a string) exist"
            ))),
        }
    }
}

/// A `Quantity` is its string; an empty one is the zero quantity, `"0"`.
impl ToJson for Quantity {
    fn to_json(&self) -> Result<Value, MappingError> {
        Ok(Value::String(self.string.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "0".to_string())))
    }
}

/// `FieldsV1` carries a JSON document (a managed-fields set) as bytes.
impl ToJson for FieldsV1 {
    fn to_json(&self) -> Result<Value, MappingError> {
        match &self.raw {
            None => Ok(Value::Null),
            Some(raw) => serde_json::from_slice(raw)
                .map_err(|e| MappingError::new(format!("FieldsV1 does not hold a JSON document: {e}"))),
        }
    }
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::protobuf::sample::Sample;

    impl Sample for Time {
        fn sample() -> Self {
            Time { seconds: Some(1_700_000_000), nanos: Some(0) }
        }
    }

    impl Sample for MicroTime {
        fn sample() -> Self {
            MicroTime { seconds: Some(1_700_000_000), nanos: Some(123_456_000) }
        }
    }

    impl Sample for IntOrString {
        fn sample() -> Self {
            IntOrString { r#type: Some(STRING_TYPE), int_val: None, str_val: Some("http".to_string()) }
        }
    }

    impl Sample for Quantity {
        fn sample() -> Self {
            Quantity { string: Some("250m".to_string()) }
        }
    }

    impl Sample for FieldsV1 {
        fn sample() -> Self {
            FieldsV1 { raw: Some(br#"{"f:data":{"f:a":{}}}"#.to_vec()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_rfc3339_seconds_and_the_zero_time_is_null() {
        let time = Time { seconds: Some(1_700_000_000), nanos: Some(999) };
        assert_eq!(time.to_json(), Ok(json!("2023-11-14T22:13:20Z")));
        assert_eq!(Time::default().to_json(), Ok(Value::Null));
        let micro = MicroTime { seconds: Some(1_700_000_000), nanos: Some(123_456_789) };
        assert_eq!(micro.to_json(), Ok(json!("2023-11-14T22:13:20.123456Z")));
        let far = Time { seconds: Some(i64::MAX), nanos: None };
        assert!(far.to_json().is_err_and(|e| e.to_string().contains("time out of range")));
    }

    #[test]
    fn int_or_string_is_a_number_or_a_string() {
        let number = IntOrString { r#type: Some(INT_TYPE), int_val: Some(8080), str_val: None };
        assert_eq!(number.to_json(), Ok(json!(8080)));
        let name = IntOrString { r#type: Some(STRING_TYPE), int_val: None, str_val: Some("http".into()) };
        assert_eq!(name.to_json(), Ok(json!("http")));
        let bad = IntOrString { r#type: Some(5), int_val: None, str_val: None };
        assert!(bad.to_json().is_err_and(|e| e.to_string().contains("type 5")));
    }

    #[test]
    fn quantities_are_strings_and_fields_v1_is_its_document() {
        assert_eq!(Quantity { string: Some("1Gi".into()) }.to_json(), Ok(json!("1Gi")));
        assert_eq!(Quantity { string: None }.to_json(), Ok(json!("0")));
        let fields = FieldsV1 { raw: Some(br#"{"f:data":{}}"#.to_vec()) };
        assert_eq!(fields.to_json(), Ok(json!({"f:data": {}})));
        let broken = FieldsV1 { raw: Some(b"{".to_vec()) };
        assert!(broken.to_json().is_err_and(|e| e.to_string().contains("FieldsV1")));
    }
}
