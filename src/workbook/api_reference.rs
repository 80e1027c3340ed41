//! The book's API reference: the server's OpenAPI document ([`crate::http::schema::document`])
//! rendered into Markdown when the book is built, where a chapter says `{{#openapi}}`. The page
//! and the server read the same document, so they cannot disagree.

use serde_json::Value;

/// The whole reference: every operation, then every schema.
pub fn render(document: &Value) -> String {
    let mut page = String::new();
    page.push_str(&format!(
        "*Generated from `GET /api/schema/` (OpenAPI {}, {} {}).*\n\n",
        document["openapi"].as_str().unwrap_or_default(),
        document["info"]["title"].as_str().unwrap_or_default(),
        document["info"]["version"].as_str().unwrap_or_default(),
    ));
    if let Some(description) = document["info"]["description"].as_str() {
        page.push_str(description);
        page.push_str("\n\n");
    }
    page.push_str("## Authentication\n\n");
    for (name, scheme) in object(&document["components"]["securitySchemes"]) {
        let how = match scheme["type"].as_str() {
            Some("http") => format!(
                "`Authorization: {} <token>`",
                capitalized(scheme["scheme"].as_str().unwrap_or_default())
            ),
            _ => format!(
                "{} `{}`",
                scheme["in"].as_str().unwrap_or_default(),
                scheme["name"].as_str().unwrap_or_default()
            ),
        };
        page.push_str(&format!(
            "- **{name}**: {how}. {}\n",
            text(&scheme["description"])
        ));
    }
    page.push_str("\n## Operations\n");
    for (path, item) in object(&document["paths"]) {
        for (method, operation) in object(item) {
            render_operation(&mut page, path, method, operation);
        }
    }
    page.push_str("\n## Schemas\n");
    for (name, schema) in object(&document["components"]["schemas"]) {
        page.push_str(&format!("\n### {name}\n\n"));
        if let Some(description) = schema["description"].as_str() {
            page.push_str(&format!("{}\n\n", one_line(description)));
        }
        render_fields(&mut page, schema);
        if schema.get("properties").is_none() {
            page.push_str(&format!("```json\n{}\n```\n", pretty(schema)));
        }
    }
    page
}

fn render_operation(page: &mut String, path: &str, method: &str, operation: &Value) {
    let method = method.to_uppercase();
    page.push_str(&format!("\n### {method} {path}\n\n"));
    if let Some(summary) = operation["summary"].as_str() {
        page.push_str(&format!("**{}**\n\n", one_line(summary)));
    }
    if let Some(description) = operation["description"].as_str() {
        page.push_str(&format!("{description}\n\n"));
    }
    page.push_str(&format!(
        "Operation id: `{}`. {}\n\n",
        text(&operation["operationId"]),
        security(&operation["security"])
    ));
    if let Some(body) = operation.get("requestBody") {
        let encodings: Vec<_> = object(&body["content"])
            .map(|(media_type, _)| format!("`{media_type}`"))
            .collect();
        let schema = &body["content"]["application/json"]["schema"];
        page.push_str(&format!(
            "Request body ({}): {}.\n\n",
            encodings.join(", "),
            schema_name(schema)
        ));
    }
    if let Some(statuses) = operation.get("x-refused-beyond-schema") {
        page.push_str(&format!(
            "Input the schema admits may still be refused with {statuses}, for what the \
             server holds (a used link, a wrong password) or a rule across fields; the \
             responses say which.\n\n"
        ));
    }
    page.push_str("| status | meaning | body | headers |\n|---|---|---|---|\n");
    for (status, response) in object(&operation["responses"]) {
        let body = object(&response["content"])
            .map(|(media_type, content)| match media_type.as_str() {
                "application/json" => schema_name(&content["schema"]),
                other => format!("`{other}`"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let headers = object(&response["headers"])
            .map(|(name, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        page.push_str(&format!(
            "| {status} | {} | {body} | {headers} |\n",
            cell(&text(&response["description"]))
        ));
    }
    let examples: Vec<_> = object(&operation["responses"])
        .filter_map(|(status, response)| {
            let example = &response["content"]["application/json"]["example"];
            (!example.is_null()).then(|| format!("{status}: {example}"))
        })
        .collect();
    if !examples.is_empty() {
        page.push_str(&format!("\n```text\n{}\n```\n", examples.join("\n")));
    }
}

fn render_fields(page: &mut String, schema: &Value) {
    let properties: Vec<_> = object(&schema["properties"]).collect();
    if properties.is_empty() {
        return;
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    page.push_str("| field | type | required | description |\n|---|---|---|---|\n");
    for (name, field) in properties {
        page.push_str(&format!(
            "| `{name}` | {} | {} | {} |\n",
            schema_name(field),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                "no"
            },
            cell(&text(&field["description"]))
        ));
    }
    page.push('\n');
}

/// A schema in a few words: its component's name, or its type.
fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("[{name}](#{})", name.to_lowercase());
    }
    if let Some(all) = schema["allOf"].as_array().or(schema["oneOf"].as_array()) {
        return all.iter().map(schema_name).collect::<Vec<_>>().join(" or ");
    }
    match &schema["type"] {
        Value::String(kind) if kind == "array" => format!("{} list", schema_name(&schema["items"])),
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    }
}

fn security(requirements: &Value) -> String {
    let Some(requirements) = requirements.as_array() else {
        return "No authentication.".into();
    };
    let ways: Vec<String> = requirements
        .iter()
        .map(|requirement| {
            let names: Vec<_> = object(requirement)
                .map(|(name, _)| format!("**{name}**"))
                .collect();
            if names.is_empty() {
                "none".into()
            } else {
                names.join(" + ")
            }
        })
        .collect();
    format!("Authentication: {}.", ways.join(" or "))
}

fn object(value: &Value) -> impl Iterator<Item = (&String, &Value)> {
    value.as_object().into_iter().flatten()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text that fits in a table cell.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_and_schema_of_the_document_is_on_the_page() {
        let document = crate::http::schema::document();
        let page = render(&document);
        for (path, item) in object(&document["paths"]) {
            for (method, _) in object(item) {
                let heading = format!("### {} {path}\n", method.to_uppercase());
                assert!(page.contains(&heading), "{heading}");
            }
        }
        for (name, _) in object(&document["components"]["schemas"]) {
            assert!(page.contains(&format!("### {name}\n")), "{name}");
        }
        assert!(page.contains("| 429 |"));
        assert!(page.contains("`WWW-Authenticate`"));
    }
}
