//! Request bodies the way DRF reads them: JSON, form-encoded and multipart all give the same
//! field map; a missing or unknown media type is a 415, unreadable JSON a 400 that says why.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The request's fields, in the order the client sent them.
#[derive(Debug, Default)]
pub struct FormData(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media_type == "multipart/form-data" {
            let multipart = Multipart::from_request(request, state)
                .await
                .map_err(|e| ApiError::Unreadable(format!("Multipart form parse error - {e}")))?;
            return read_multipart(multipart).await.map(FormData);
        }
        let body = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::Unreadable(format!("Could not read the request body - {e}"))
            }
        })?;
        match media_type.as_str() {
            "application/json" => parse_json(&body).map(FormData),
            "application/x-www-form-urlencoded" => parse_form(&body).map(FormData),
            // DRF treats an empty body with no media type as no data at all.
            "" if body.is_empty() => Ok(FormData::default()),
            _ => Err(ApiError::UnsupportedMediaType(content_type)),
        }
    }
}

fn parse_json(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(other) => Err(ApiError::NonField(format!(
            "Invalid data. Expected a dictionary, but got {}.",
            python_type_name(&other)
        ))),
        Err(e) => Err(ApiError::Unreadable(format!("JSON parse error - {e}"))),
    }
}

/// DRF names the type it got in Python's words.
fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn parse_form(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::Unreadable(format!("Form parse error - {e}")))?;
    // Like Django's QueryDict.get, the last value of a repeated field wins.
    Ok(pairs
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect())
}

async fn read_multipart(mut multipart: Multipart) -> Result<Map<String, Value>, ApiError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ApiError::Unreadable(format!("Multipart form parse error - {}", e.body_text()))
    };
    let mut fields = Map::new();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        // A file is not a string: leave its field to fail validation as "Not a valid string.".
        let value = if field.file_name().is_some() {
            field.bytes().await.map_err(unreadable)?;
            Value::Object(Map::new())
        } else {
            Value::String(field.text().await.map_err(unreadable)?)
        };
        fields.insert(name, value);
    }
    Ok(fields)
}

// ANCHOR: required_strings
/// Reads the named fields as DRF's `CharField` would: required, not null, trimmed, not blank,
/// a string (numbers are turned into strings). Every field's errors are reported at once, in
/// the order the fields are named.
pub fn required_strings<const N: usize>(
    data: &Map<String, Value>,
    names: [&str; N],
) -> Result<[String; N], ApiError> {
    let mut errors = Map::new();
    let values = names.map(|name| {
        let problem = match data.get(name) {
            None => "This field is required.",
            Some(Value::Null) => "This field may not be null.",
            Some(Value::String(s)) if s.trim().is_empty() => "This field may not be blank.",
            Some(Value::String(s)) => return s.trim().to_owned(),
            Some(Value::Number(n)) => return n.to_string(),
            Some(_) => "Not a valid string.",
        };
        errors.insert(name.to_owned(), Value::from(vec![problem]));
        String::new()
    });
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Fields(errors))
    }
}
// ANCHOR_END: required_strings

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn numbers_become_strings_and_whitespace_is_trimmed() {
        let data = map(json!({"username": "  vitor ", "password": 123}));
        let [username, password] = required_strings(&data, ["username", "password"]).unwrap();
        assert_eq!((username.as_str(), password.as_str()), ("vitor", "123"));
    }

    #[test]
    fn every_field_error_is_reported_in_field_order() {
        let data = map(json!({"password": null, "username": {"a": 1}}));
        let Err(ApiError::Fields(errors)) = required_strings(&data, ["username", "password"])
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            serde_json::to_string(&errors).unwrap(),
            r#"{"username":["Not a valid string."],"password":["This field may not be null."]}"#
        );
    }

    #[test]
    fn json_that_is_not_an_object_names_its_python_type() {
        for (body, name) in [
            ("[1]", "list"),
            ("\"x\"", "str"),
            ("1.5", "float"),
            ("null", "NoneType"),
        ] {
            let Err(ApiError::NonField(message)) = parse_json(body.as_bytes()) else {
                panic!("{body} should be refused");
            };
            assert!(message.ends_with(&format!("but got {name}.")), "{message}");
        }
    }

    #[test]
    fn invalid_json_says_so() {
        let Err(ApiError::Unreadable(detail)) = parse_json(b"{not json") else {
            panic!("expected a parse error");
        };
        assert!(detail.starts_with("JSON parse error - "), "{detail}");
    }

    #[test]
    fn repeated_form_fields_keep_the_last_value() {
        let data = parse_form(b"refresh=a&refresh=b").unwrap();
        assert_eq!(data["refresh"], "b");
    }
}
