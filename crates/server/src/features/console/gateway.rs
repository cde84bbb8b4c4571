//! The action gateway: every console form posts here, naming the API call in hidden fields;
//! the gateway checks the form token, builds the JSON body from the other fields, calls the
//! API as the signed-in user and goes back to the page with the outcome.
//!
//! Hidden fields: `_to` (the API path), `_method` (POST, PUT or DELETE; POST by default),
//! `_back` (the page to return to), `_next` (where to go on success; `{/pointer}` is replaced
//! by that part of the answer, e.g. `/orders/{/id}/pay`), `_form` (the form's id, for
//! errors), `_ok` (the success message's key), `_idem` (an idempotency key: a resubmission
//! replays the first answer), `_required` (fields that may not be empty), `_query` (fields
//! sent in the query string). A field's name may end in `:bool`, `:int`, `:list` (lines or
//! commas → array), `:pairs` (`name=value` lines → `[{name, value}]`) or `:json`; dots nest objects (`content.title`). Empty optional fields
//! are left out. A `file` part of a multipart form is sent as the raw body.

use axum::Form as AxumForm;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Console;
use super::api::Payload;
use super::session::{Flash, checked, echoable, local_path, redirect_with};

/// The fields a form posted, in order, and its file if any.
struct Posted {
    fields: Vec<(String, String)>,
    file: Option<(Bytes, String)>,
}

impl Posted {
    fn one(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

async fn read_form(req: Request) -> Option<Posted> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let AxumForm(fields) = AxumForm::<Vec<(String, String)>>::from_request(req, &())
            .await
            .ok()?;
        return Some(Posted { fields, file: None });
    }
    let mut parts = Multipart::from_request(req, &()).await.ok()?;
    let mut posted = Posted {
        fields: Vec::new(),
        file: None,
    };
    while let Ok(Some(part)) = parts.next_field().await {
        let name = part.name().unwrap_or("").to_owned();
        if name == "file" {
            let content_type = part
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let bytes = part.bytes().await.ok()?;
            if !bytes.is_empty() {
                posted.file = Some((bytes, content_type));
            }
        } else {
            let text = part.text().await.ok()?;
            posted.fields.push((name, text));
        }
    }
    Some(posted)
}

const RESERVED: &[&str] = &[
    "csrf",
    "_to",
    "_method",
    "_back",
    "_next",
    "_form",
    "_ok",
    "_idem",
    "_required",
    "_query",
];

/// Builds the JSON body from the posted fields.
fn body(posted: &Posted, required: &[&str], query: &[&str]) -> Result<Value, (String, String)> {
    let mut root = Map::new();
    for (raw, value) in &posted.fields {
        if RESERVED.contains(&raw.as_str()) || query.contains(&raw.as_str()) {
            continue;
        }
        let (name, kind) = raw.split_once(':').unwrap_or((raw.as_str(), "text"));
        let trimmed = value.trim();
        if trimmed.is_empty() && kind != "bool" {
            if required.contains(&raw.as_str()) {
                return Err((raw.clone(), String::new()));
            }
            continue;
        }
        let v = match kind {
            "bool" => Value::Bool(trimmed == "true" || trimmed == "on"),
            "int" => match trimmed.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => return Err((raw.clone(), trimmed.to_owned())),
            },
            "list" => Value::Array(
                trimmed
                    .split(['\n', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
            "pairs" => Value::Array(
                trimmed
                    .lines()
                    .filter_map(|l| l.split_once(['=', '：', ':']))
                    .map(|(k, v)| serde_json::json!({"name": k.trim(), "value": v.trim()}))
                    .collect(),
            ),
            "json" => match serde_json::from_str(trimmed) {
                Ok(v) => v,
                Err(_) => return Err((raw.clone(), trimmed.to_owned())),
            },
            _ => Value::String(trimmed.to_owned()),
        };
        insert(&mut root, name, v);
    }
    Ok(Value::Object(root))
}

/// Puts `v` at a dotted path, merging into objects already there (and appending to arrays,
/// for repeated `:list` fields).
fn insert(root: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        Some((head, rest)) => {
            let entry = root
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                insert(m, rest, v);
            }
        }
        None => match (root.get_mut(path), v) {
            (Some(Value::Array(a)), Value::Array(more)) => a.extend(more),
            (_, v) => {
                root.insert(path.to_owned(), v);
            }
        },
    }
}

/// `{/pointer}` in `template` replaced by the answer's values.
fn fill(template: &str, answer: &Value) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{/") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&super::text(answer, &after[..end]));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

pub async fn act(State(c): State<Console>, headers: HeaderMap, req: Request) -> Response {
    let uri = req.uri().clone();
    let visit = c.visit(&headers, &uri).await;
    let lang = visit.lang;
    let Some(posted) = read_form(req).await else {
        // Unreadable or over the upload limit: say so on a page, not in a bare answer.
        let failure = super::api::Failure {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "unreadable_form".into(),
            message: lang.t("error.form_unreadable"),
            detail: String::new(),
        };
        return c.problem_page(&visit, &failure);
    };
    let back = local_path(posted.one("_back").unwrap_or("/"));
    let form = posted.one("_form").unwrap_or("").to_owned();
    if let Err(res) = checked(
        &c,
        &visit,
        &headers,
        posted.one("csrf").unwrap_or(""),
        &back,
        &form,
    ) {
        return res;
    }
    let values = echoable(&posted.fields);
    let fail = |field: Option<String>, text: String| {
        redirect_with(
            &back,
            Some(Flash {
                form: form.clone(),
                tone: "error".into(),
                text,
                field,
                values,
            }),
        )
    };
    let Some(token) = visit.token.as_deref() else {
        return c
            .require(&visit)
            .err()
            .unwrap_or_else(|| redirect_with("/login", None));
    };
    let to = posted.one("_to").unwrap_or("");
    if !to.starts_with("/api/v1/") {
        return fail(None, lang.t("common.error"));
    }
    let required = posted.all("_required");
    let query = posted.all("_query");
    let body = match body(&posted, &required, &query) {
        Ok(b) => b,
        Err((field, _)) => return fail(Some(field), lang.t("common.field_required")),
    };
    let mut path = to.to_owned();
    for name in &query {
        if let Some(v) = posted.one(name) {
            let sep = if path.contains('?') { '&' } else { '?' };
            let pair = serde_urlencoded::to_string([(name, v)]).unwrap_or_default();
            path = format!("{path}{sep}{pair}");
        }
    }
    let method = match posted.one("_method") {
        Some("PUT") => Method::PUT,
        Some("DELETE") => Method::DELETE,
        _ => Method::POST,
    };
    let payload = match posted.file.clone() {
        Some((bytes, content_type)) => Payload::Raw(bytes, content_type),
        None => Payload::Json(body),
    };
    let idem = posted.one("_idem").filter(|k| !k.is_empty());
    let reply = c.api.call(method, &path, Some(token), payload, idem).await;
    match reply.into_result(lang) {
        Ok(answer) => {
            let next = posted
                .one("_next")
                .map(|n| local_path(&fill(n, &answer)))
                .unwrap_or(back.clone());
            let text = lang.t(posted.one("_ok").unwrap_or("common.done"));
            redirect_with(
                &next,
                Some(Flash {
                    form,
                    tone: "ok".into(),
                    text,
                    ..Flash::default()
                }),
            )
        }
        Err(failure) => {
            // The field the refusal is about, when its detail names one of the form's.
            let field = posted
                .fields
                .iter()
                .map(|(k, _)| k)
                .filter(|k| !RESERVED.contains(&k.as_str()))
                .find(|k| {
                    let name = k.split(':').next().unwrap_or(k);
                    let last = name.rsplit('.').next().unwrap_or(name);
                    failure.detail.contains(last)
                })
                .cloned();
            fail(field, failure.message)
        }
    }
}

#[derive(Deserialize)]
pub struct FileQuery {
    path: String,
}

/// Downloads through the console: statements (CSV, XLSX) and onboarding materials, as the
/// signed-in user.
pub async fn file(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<FileQuery>,
) -> Response {
    let uri = axum::http::Uri::from_static("/console/file");
    let visit = c.visit(&headers, &uri).await;
    let allowed = q.path.starts_with("/api/v1/statements/")
        && (q.path.ends_with("/csv") || q.path.ends_with("/xlsx"))
        || q.path.starts_with("/api/v1/onboarding/files/");
    if !allowed || q.path.contains("..") || q.path.contains('?') {
        return (StatusCode::NOT_FOUND, visit.lang.t("error.not_found")).into_response();
    }
    let reply = c
        .api
        .call(
            Method::GET,
            &q.path,
            visit.token.as_deref(),
            Payload::None,
            None,
        )
        .await;
    if !reply.ok() {
        let status = reply.status;
        let failure = reply.into_result(visit.lang).err();
        let text = failure.map(|f| f.message).unwrap_or_default();
        return (status, text).into_response();
    }
    let mut res = reply.bytes.into_response();
    let h = res.headers_mut();
    if let Some(ct) = reply.content_type {
        h.insert(header::CONTENT_TYPE, ct);
    }
    if let Some(d) = reply.disposition {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // An uploaded file is shown as what it says it is, never run as part of this site.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    if !h.contains_key(header::CONTENT_DISPOSITION) {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn posted(fields: &[(&str, &str)]) -> Posted {
        Posted {
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            file: None,
        }
    }

    #[test]
    fn form_fields_become_the_api_body() {
        let p = posted(&[
            ("csrf", "x"),
            ("_to", "/api/v1/products"),
            ("price", " 100.00 "),
            ("content.title", "备份"),
            ("content.images:list", "upload:cover\nupload:shot"),
            ("partner_member:bool", "true"),
            ("stars:int", "5"),
            ("content.attributes:pairs", "部署方式=镜像部署\n系统：Linux"),
            ("note", ""),
        ]);
        let b = body(&p, &[], &[]).expect("a body");
        assert_eq!(
            b,
            json!({"price": "100.00", "content": {"title": "备份",
                   "images": ["upload:cover", "upload:shot"],
                   "attributes": [{"name": "部署方式", "value": "镜像部署"},
                                  {"name": "系统", "value": "Linux"}]},
                   "partner_member": true, "stars": 5})
        );
    }

    #[test]
    fn an_empty_required_field_is_named() {
        let p = posted(&[("reason", " ")]);
        assert_eq!(
            body(&p, &["reason"], &[]).err().map(|e| e.0),
            Some("reason".into())
        );
        let p = posted(&[("stars:int", "five")]);
        assert!(body(&p, &[], &[]).is_err());
    }

    #[test]
    fn next_is_filled_from_the_answer() {
        let a = json!({"id": "abc", "order": {"id": "o1"}});
        assert_eq!(fill("/orders/{/id}/pay", &a), "/orders/abc/pay");
        assert_eq!(fill("/x/{/order/id}", &a), "/x/o1");
        assert_eq!(fill("/plain", &a), "/plain");
    }
}
