//! `GET /api/schema/`: the OpenAPI 3.1 document of every route, generated from the routes
//! themselves, never written by hand. Each handler carries a `#[utoipa::path]` attribute (its
//! path, method, body, the answers that are its own) and is registered with
//! [`super::ApiRouter`], so a route cannot exist without its documentation.
//!
//! What every endpoint shares is added here once, from the code that causes it: the three body
//! encodings [`super::body::FormData`] reads, with its 400/413/415; the 401 (and its
//! `WWW-Authenticate`) of every operation that takes a bearer token; the 406 of the endpoint
//! layer; `Retry-After` on every 429 and 503, as [`ApiError`] sends it. Django users know the
//! path from drf-spectacular.
//!
//! A request the schema admits can still be refused for what JSON Schema cannot say: what the
//! server holds (a link already used, an old password that is wrong) or a rule across fields
//! (a report's `solved` at most its `total`). Such an operation lists those statuses in
//! `x-refused-beyond-schema`, so that a fuzzer knows them (`scripts/fuzz-api` reads it) and a
//! reader sees them beside the responses.
//!
//! What the document leaves out, on purpose: `HEAD` and `OPTIONS` (answered where the `Allow`
//! header lists them, and implicit in OpenAPI tooling), and the slashless twin of each
//! path ending in `/`, which only redirects (Django's `APPEND_SLASH`; see
//! [`is_slash_redirect`]).

use std::sync::{Arc, OnceLock};

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::Paths;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::routes;

use super::{ApiRouter, endpoint, method_not_allowed};
use crate::error::ApiError;

/// Where the document is served.
pub const SCHEMA_PATH: &str = "/api/schema/";

/// The security scheme of `Authorization: Bearer <access token>` (drf-spectacular's name).
pub const BEARER: &str = "jwtAuth";

/// The serialized document, set once when the router is built (the handler is registered, and
/// documented, before the document it serves exists).
#[derive(Debug, Clone, Default)]
pub struct SchemaDocument(Arc<OnceLock<Bytes>>);

impl SchemaDocument {
    pub(crate) fn publish(&self, document: Value) {
        let bytes = serde_json::to_vec(&document).expect("a JSON value serializes");
        // A second router built from the same registration would publish the same bytes.
        let _ = self.0.set(Bytes::from(bytes));
    }
}

pub(crate) fn router(document: SchemaDocument) -> ApiRouter {
    ApiRouter::new().slashed(routes!(schema), move |methods| {
        endpoint(
            methods
                .fallback(method_not_allowed)
                .layer(Extension(document)),
            "GET, HEAD",
        )
    })
}

/// The OpenAPI document of this server: every operation, its bodies, answers and security.
#[utoipa::path(
    get,
    path = "/api/schema/",
    operation_id = "schema_retrieve",
    tag = "schema",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document, as JSON.", body = Object),
    ),
)]
async fn schema(Extension(document): Extension<SchemaDocument>) -> Response {
    match document.0.get() {
        Some(bytes) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes.clone(),
        )
            .into_response(),
        None => ApiError::Internal("the OpenAPI document was not published".into()).into_response(),
    }
}

/// The whole document, as `/api/schema/` serves it: for tests and for the book.
pub fn document() -> Value {
    let (_, openapi, _) = super::api_routes(SchemaDocument::default()).into_parts();
    finish(openapi)
}

/// Every path the router answers, read from the router built by the same registration as the
/// document. axum has no way to list a router's routes but its `Debug` form, which maps each
/// route id to its path (`RouteId(3): "/api/token/"`); a change of that form gives an empty
/// set, which the tests refuse.
pub fn routed_paths() -> std::collections::BTreeSet<String> {
    let (router, _, _) = super::api_routes(SchemaDocument::default()).into_parts();
    let debug = format!("{router:?}");
    // Only the routes: the fallback router keeps paths of its own.
    let routes = debug.split("fallback_router").next().unwrap_or_default();
    routes
        .split("RouteId(")
        .skip(1)
        .filter_map(|entry| {
            let (_, rest) = entry.split_once("): \"")?;
            let (path, _) = rest.split_once('"')?;
            Some(path.to_owned())
        })
        .collect()
}

/// Whether `path` is the derived `APPEND_SLASH` redirect of a documented path, the only kind of
/// route the document leaves out.
pub fn is_slash_redirect(document: &Value, path: &str) -> bool {
    !path.ends_with('/') && document["paths"].get(format!("{path}/")).is_some()
}

/// A static page or asset compiled into the binary.
pub struct StaticFile {
    pub content_type: &'static str,
    pub summary: &'static str,
    /// Served only in classroom mode; a 404 otherwise.
    pub classroom_only: bool,
}

/// The documentation of a static file: `GET` answers it with its media type.
pub(crate) fn static_file(path: &str, file: &StaticFile) -> Paths {
    let media_type = file
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let mut responses = json!({
        "200": {
            "description": file.summary,
            "content": { media_type: { "schema": { "type": "string" } } },
        },
    });
    if file.classroom_only {
        responses["404"] = json!({
            "description": "Not in classroom mode.",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorDetail" } } },
        });
    }
    let operation_id = format!(
        "page_{}",
        path.trim_matches('/').replace(['/', '.', '-'], "_")
    );
    let item = json!({
        "get": {
            "tags": ["pages"],
            "summary": file.summary,
            "operationId": operation_id,
            "responses": responses,
        }
    });
    serde_json::from_value(json!({ path: item })).expect("a path item in OpenAPI's shape")
}

/// Any DRF error that is a sentence: `{"detail"}`, with simplejwt's `code` and, from a
/// protected route, one message per token class tried.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    #[schema(example = "Given token not valid for any token type")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "token_not_valid")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub messages: Option<Vec<TokenMessage>>,
}

/// Why one token class refused the token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenMessage {
    #[schema(example = "AccessToken")]
    pub token_class: String,
    #[schema(example = "access")]
    pub token_type: String,
    #[schema(example = "Token is expired")]
    pub message: String,
}

/// DRF's validation errors: a list of messages per field (`non_field_errors` for the body as a
/// whole).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"password": ["This field is required."]}))]
pub struct FieldErrors(pub std::collections::BTreeMap<String, Vec<String>>);

/// A 400: field errors, or a body that could not be read at all.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BadRequest {
    Fields(FieldErrors),
    Unreadable(ErrorDetail),
}

/// `{}`: what DRF answers when there is nothing to say.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// A field as DRF's `CharField` reads it: a string that is not blank (a number is taken as its
/// text). Surrounding whitespace is trimmed.
pub(crate) fn char_field() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(vec![Type::String, Type::Number]))
        .min_length(Some(1))
        .pattern(Some(r"\S"))
        .build()
}

/// Adds what every operation shares (see the module's documentation) and the document's own
/// fields, and returns it as served.
pub(crate) fn finish(openapi: OpenApi) -> Value {
    let mut document = serde_json::to_value(openapi).expect("the document serializes");
    document["info"] = json!({
        "title": "jwt-workbook API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": DESCRIPTION,
        "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
    });
    let components = document
        .as_object_mut()
        .expect("an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    let schemas = components
        .as_object_mut()
        .expect("an object")
        .entry("schemas")
        .or_insert_with(|| json!({}));
    for (name, schema) in [
        ("ErrorDetail", ErrorDetail::schema()),
        ("TokenMessage", TokenMessage::schema()),
        ("FieldErrors", FieldErrors::schema()),
        ("BadRequest", BadRequest::schema()),
        ("Empty", Empty::schema()),
    ] {
        schemas[name] = serde_json::to_value(schema).expect("a schema serializes");
    }
    components["securitySchemes"] = json!({
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from `POST /api/token/` (or a sliding token, when they are on).",
        },
        "refreshCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": super::cookies::REFRESH_COOKIE,
            "description": "Cookie mode (`--refresh-cookie`): the refresh token, HttpOnly, set by the token endpoints. Spending it takes `csrfHeader` too.",
        },
        "csrfCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": super::cookies::CSRF_COOKIE,
            "description": "Cookie mode: readable by the page, set beside the refresh cookie; its value goes in `csrfHeader`.",
        },
        "csrfHeader": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRFToken",
            "description": "Cookie mode: the value of the readable `csrftoken` cookie, repeated. Another site can neither read nor set it.",
        },
    });
    components["responses"] = json!({
        "MethodNotAllowed": response(
            "Any method the path does not answer (its `Allow` header lists those it does). A protected path answers 401 first.",
            json!({"detail": "Method \"PUT\" not allowed."}),
        ),
    });
    let mut encodings = Map::new();
    let schemas = document["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some(paths) = document["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for operation in item
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
            {
                add_shared_answers(operation, &schemas, &mut encodings);
            }
        }
    }
    if let Some(schemas) = document["components"]["schemas"].as_object_mut() {
        schemas.extend(encodings);
    }
    document
}

const DESCRIPTION: &str = "\
The API of the jwt-workbook server, compatible with Django REST framework and \
djangorestframework-simplejwt 5.5.1: the same paths, bodies, statuses and error shapes.

* Request bodies may be JSON, form-encoded or multipart, as DRF reads them.
* Errors are DRF's: `{\"detail\": …}` (with simplejwt's `code`, and `messages` from protected \
routes), or a list of messages per field.
* A path answers `HEAD` where it answers `GET`, and `OPTIONS` (DRF's description of the \
endpoint) where its `Allow` header lists it; any other method is a 405 whose `Allow` header \
lists those it answers.
* A path ending in `/` asked for without its slash is redirected to it (301), as Django's \
`APPEND_SLASH` does.
* Cookie mode (`--refresh-cookie`): the token endpoints put the refresh token in an HttpOnly \
`refresh_token` cookie instead of the body; refresh and logout spend it with the `csrftoken` \
cookie's value in an `X-CSRFToken` header.";

/// A DRF error answer with one example body.
fn response(description: &str, example: Value) -> Value {
    json!({
        "description": description,
        "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/ErrorDetail" },
            "example": example,
        } },
    })
}

/// The form-encoded and multipart forms of a JSON body, which [`super::body::FormData`] reads
/// as the same fields. Each is a schema of its own (`…Form`, `…Multipart`, added to
/// `encodings`) whose values are text, so that a generated client has one type per encoding
/// and can tell which one it was given. A body with nested fields (a list, an object) has no
/// form: it is JSON only.
fn add_form_encodings(
    content: &mut Value,
    schemas: &Map<String, Value>,
    encodings: &mut Map<String, Value>,
) {
    let Some(name) = content["application/json"]["schema"]["$ref"]
        .as_str()
        .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
    else {
        return;
    };
    let Some(json) = schemas.get(&name) else {
        return;
    };
    let flat = object_fields(json).all(|(_, field)| {
        let text_or_number = |kind: &Value| matches!(kind.as_str(), Some("string" | "number"));
        match &field["type"] {
            Value::Array(kinds) => kinds.iter().all(text_or_number),
            kind => text_or_number(kind),
        }
    });
    if !flat {
        return;
    }
    let as_text = |field: &Value| {
        let mut field = field.clone();
        field["type"] = json!("string");
        field
    };
    let properties: Map<String, Value> = object_fields(json)
        .map(|(field, schema)| (field.clone(), as_text(schema)))
        .collect();
    let text = |description: &str| {
        let mut schema = json!({
            "type": "object",
            "description": description,
            "properties": properties,
        });
        if let Some(required) = json.get("required") {
            schema["required"] = required.clone();
        }
        schema
    };
    let form = text("The same fields, form-encoded.");
    let mut multipart = text("The same fields, as multipart form data.");
    // A part's name travels in its Content-Disposition header, where no control character can
    // be (such a body is unreadable: a 400).
    multipart["propertyNames"] = json!({ "pattern": "^[^\\x00-\\x08\\x0a-\\x1f\\x7f]*$" });
    for (media_type, suffix, variant) in [
        ("application/x-www-form-urlencoded", "Form", form),
        ("multipart/form-data", "Multipart", multipart),
    ] {
        let component = format!("{name}{suffix}");
        content[media_type] =
            json!({ "schema": { "$ref": format!("#/components/schemas/{component}") } });
        encodings.insert(component, variant);
    }
}

fn object_fields(schema: &Value) -> impl Iterator<Item = (&String, &Value)> {
    schema["properties"].as_object().into_iter().flatten()
}

/// The answers one operation shares with others, added where its documentation does not give
/// them already.
fn add_shared_answers(
    operation: &mut Value,
    schemas: &Map<String, Value>,
    encodings: &mut Map<String, Value>,
) {
    let has_body = operation.get("requestBody").is_some();
    let secured = operation["security"].as_array().is_some_and(|all| {
        all.iter()
            .any(|requirement| requirement.get(BEARER).is_some())
    });
    let Some(operation) = operation.as_object_mut() else {
        return;
    };
    if has_body {
        add_form_encodings(&mut operation["requestBody"]["content"], schemas, encodings);
    }
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses are an object");
    let mut shared: Vec<(&str, Value)> = Vec::new();
    if has_body {
        shared.push(("400", json!({
            "description": "The body could not be read, or a field is missing, blank, null or not a string.",
            "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/BadRequest" },
                "example": {"detail": "JSON parse error - expected value at line 1 column 1"},
            } },
        })));
        shared.push((
            "413",
            response(
                "The body is larger than 64 KiB.",
                json!({"detail": "Request body is too large."}),
            ),
        ));
        shared.push((
            "415",
            response(
                "The body is neither JSON, form-encoded nor multipart.",
                json!({"detail": "Unsupported media type \"text/plain\" in request."}),
            ),
        ));
    }
    if secured {
        shared.push(("401", response(
            "No access token, a malformed `Authorization` header, or a token that is expired, revoked, of the wrong type or of an inactive user.",
            json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is expired"}],
            }),
        )));
    }
    shared.push((
        "406",
        response(
            "The `Accept` header accepts neither JSON nor HTML.",
            json!({"detail": "Could not satisfy the request Accept header."}),
        ),
    ));
    if has_body || secured {
        shared.push((
            "503",
            response(
                "The database cannot be reached or cannot write just now.",
                json!({"detail": "Service temporarily unavailable, try again later.", "code": "service_unavailable"}),
            ),
        ));
    }
    for (status, answer) in shared {
        responses.entry(status).or_insert(answer);
    }
    // In the order of their statuses, as a reader looks for them.
    let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|(a, _), (b, _)| a.cmp(b));
    responses.extend(sorted);
    for (status, answer) in responses.iter_mut() {
        let headers: &[(&str, &str, Value)] = match status.as_str() {
            "401" => &[(
                "WWW-Authenticate",
                "How to authenticate: a bearer token.",
                json!({"type": "string", "const": crate::error::WWW_AUTHENTICATE}),
            )],
            "429" | "503" => &[(
                "Retry-After",
                "Seconds to wait before trying again.",
                json!({"type": "integer", "minimum": 0}),
            )],
            _ => &[],
        };
        for (name, description, schema) in headers {
            // An operation that documents the header itself (the OpenID Connect endpoints'
            // own challenges) keeps its own words.
            answer
                .as_object_mut()
                .expect("a response is an object")
                .entry("headers")
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("headers are an object")
                .entry(*name)
                .or_insert_with(|| {
                    json!({
                        "description": description,
                        "required": true,
                        "schema": schema,
                    })
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::SessionError;
    use crate::tokens::{TokenError, TokenType};
    use axum::http::Method;

    /// Every error body [`ApiError`] sends has one of the documented shapes.
    #[test]
    fn every_error_body_has_a_documented_shape() {
        let errors = [
            ApiError::field("password", "This field is required."),
            ApiError::NonField("Token is blacklisted".into()),
            ApiError::Unreadable("JSON parse error - x".into()),
            ApiError::NotAuthenticated,
            ApiError::BadAuthorizationHeader,
            ApiError::Token(TokenError::Expired),
            ApiError::AccessToken(TokenError::Expired),
            ApiError::AuthTokens(vec![(TokenType::Access, TokenError::Expired)]),
            ApiError::NoUserIdentification,
            ApiError::UserNotFound,
            ApiError::UserInactive,
            ApiError::NoActiveAccount,
            ApiError::NoActiveAccountForToken,
            ApiError::NotFound,
            ApiError::MethodNotAllowed(Method::PUT),
            ApiError::NotAcceptable,
            ApiError::UnsupportedMediaType("text/plain".into()),
            ApiError::PayloadTooLarge,
            ApiError::Throttled(3),
            ApiError::Forbidden,
            ApiError::Csrf("CSRF token missing."),
            ApiError::Unavailable("down".into()),
            ApiError::from(SessionError::WrongPassword),
        ];
        for error in errors {
            let body = error.body();
            let parsed = match error.status().as_u16() {
                400 => serde_json::from_value::<BadRequest>(body.clone()).is_ok(),
                _ => serde_json::from_value::<ErrorDetail>(body.clone()).is_ok(),
            };
            assert!(parsed, "{error:?}: {body}");
        }
    }
}
