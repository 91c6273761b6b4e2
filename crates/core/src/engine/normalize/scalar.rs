//! Equality and canonical forms of scalars: numbers by value, quantities by amount, port
//! int-or-strings by port number.

use serde_json::{Number, Value};

use super::quantity::Quantity;
use crate::engine::schema::Scalar;

/// Whether two scalars mean the same thing as a field of kind `scalar`.
pub fn scalar_eq(scalar: Scalar, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if x == y => true,
        (Value::Number(x), Value::Number(y)) => numbers_eq(x, y) || (scalar == Scalar::Quantity && quantity_eq(a, b)),
        _ => match scalar {
            Scalar::Plain => a == b,
            Scalar::Quantity => quantity_eq(a, b),
            Scalar::PortNumberOrName => match (port_number(a), port_number(b)) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            },
        },
    }
}

/// Whether two JSON numbers are the same number: `1` equals `1.0`, exactly (integers are
/// never compared through a lossy float).
pub fn numbers_eq(a: &Number, b: &Number) -> bool {
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.as_f64() == b.as_f64(),
        // One is a whole number, the other has a fraction.
        _ => false,
    }
}

/// The value of a number when it is whole.
fn integer(number: &Number) -> Option<i128> {
    if let Some(value) = number.as_i64() {
        return Some(i128::from(value));
    }
    if let Some(value) = number.as_u64() {
        return Some(i128::from(value));
    }
    let float = number.as_f64()?;
    // 1e38 is below i128::MAX, so the cast is exact for whole floats in range.
    (float.fract() == 0.0 && float.abs() < 1e38).then_some(float as i128)
}

/// A quantity written as a string or a JSON number.
pub fn quantity(value: &Value) -> Option<Quantity> {
    match value {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => Quantity::from_number(number),
        _ => None,
    }
}

fn quantity_eq(a: &Value, b: &Value) -> bool {
    match (quantity(a), quantity(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The port number of a port int-or-string: a whole number, or a string of digits (a
/// port name must contain a letter, so digits can only mean the number).
pub fn port_number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => integer(number).and_then(|value| i64::try_from(value).ok()),
        Value::String(text) if !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().ok()
        }
        _ => None,
    }
}

/// The canonical form of a scalar of kind `scalar`: whole numbers as integers, quantities
/// in Kubernetes' canonical string form, port numbers as numbers. Values that are not
/// valid for their kind are left alone.
pub fn canonical_scalar(scalar: Scalar, value: &Value) -> Option<Value> {
    match (scalar, value) {
        (Scalar::Quantity, Value::String(_) | Value::Number(_)) => {
            let canonical = quantity(value)?.canonical();
            (value.as_str() != Some(canonical.as_str())).then_some(Value::String(canonical))
        }
        (Scalar::PortNumberOrName, Value::String(_)) => port_number(value).map(Value::from),
        (_, Value::Number(number)) if !number.is_i64() && !number.is_u64() => {
            let whole = integer(number)?;
            i64::try_from(whole).map(Value::from).ok().or_else(|| u64::try_from(whole).ok().map(Value::from))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value() {
        assert!(scalar_eq(Scalar::Plain, &json!(1), &json!(1.0)));
        assert!(scalar_eq(Scalar::Plain, &json!(0.5), &json!(0.5)));
        assert!(!scalar_eq(Scalar::Plain, &json!(1), &json!(1.5)));
        assert!(!scalar_eq(Scalar::Plain, &json!(1), &json!("1")));
        assert!(scalar_eq(Scalar::Plain, &json!(u64::MAX), &json!(u64::MAX)));
        assert!(!scalar_eq(Scalar::Plain, &json!(9_007_199_254_740_993_u64), &json!(9_007_199_254_740_992_u64)));
    }

    #[test]
    fn quantities_compare_by_amount() {
        assert!(scalar_eq(Scalar::Quantity, &json!("500m"), &json!("0.5")));
        assert!(scalar_eq(Scalar::Quantity, &json!(0.5), &json!("500m")));
        assert!(scalar_eq(Scalar::Quantity, &json!(1), &json!("1000m")));
        assert!(scalar_eq(Scalar::Quantity, &json!("1Gi"), &json!(1_073_741_824)));
        assert!(!scalar_eq(Scalar::Quantity, &json!("1G"), &json!("1Gi")));
        assert!(!scalar_eq(Scalar::Plain, &json!("500m"), &json!("0.5")));
        assert!(scalar_eq(Scalar::Quantity, &json!("not a quantity"), &json!("not a quantity")));
    }

    #[test]
    fn port_int_or_strings_compare_by_port_number() {
        assert!(scalar_eq(Scalar::PortNumberOrName, &json!("80"), &json!(80)));
        assert!(scalar_eq(Scalar::PortNumberOrName, &json!("http"), &json!("http")));
        assert!(!scalar_eq(Scalar::PortNumberOrName, &json!("http"), &json!(80)));
        assert!(!scalar_eq(Scalar::PortNumberOrName, &json!("8080"), &json!(80)));
        assert!(!scalar_eq(Scalar::Plain, &json!("80"), &json!(80)));
        assert_eq!(port_number(&json!("")), None);
        assert_eq!(port_number(&json!("-1")), None);
    }

    #[test]
    fn canonical_scalars() {
        assert_eq!(canonical_scalar(Scalar::Quantity, &json!("0.5")), Some(json!("500m")));
        assert_eq!(canonical_scalar(Scalar::Quantity, &json!(2)), Some(json!("2")));
        assert_eq!(canonical_scalar(Scalar::Quantity, &json!("500m")), None);
        assert_eq!(canonical_scalar(Scalar::PortNumberOrName, &json!("80")), Some(json!(80)));
        assert_eq!(canonical_scalar(Scalar::PortNumberOrName, &json!("http")), None);
        assert_eq!(canonical_scalar(Scalar::Plain, &json!(3.0)), Some(json!(3)));
        assert_eq!(canonical_scalar(Scalar::Plain, &json!(3.5)), None);
        assert_eq!(canonical_scalar(Scalar::Plain, &json!("3.0")), None);
    }
}
