//! The OpenAPI 3.1 document and the API docs page (Swagger UI, vendored: every asset is
//! compiled into the binary and served from `/api/docs/assets/`).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;
use crate::kernel::problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yunshi API",
        description = "云市 — cloud-marketplace operations platform. Errors are RFC 9457 \
            `application/problem+json` documents with a stable `code` member.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::features::system::healthz,
        crate::features::system::readyz,
        crate::features::system::metrics,
        crate::features::system::clock,
        crate::features::system::whoami,
        crate::features::system::rulebook,
        crate::features::system::rulebook_versions,
        crate::features::setup::page,
        crate::features::setup::submit_form,
        crate::features::setup::submit_json,
        crate::features::accounts::members::register_member,
        crate::features::accounts::members::get_member,
        crate::features::accounts::members::submit_verification,
        crate::features::accounts::members::decide_verification,
        crate::features::accounts::sessions::login,
        crate::features::accounts::sessions::logout,
        crate::features::accounts::sessions::me,
        crate::features::accounts::tokens::create_token,
        crate::features::accounts::tokens::list_tokens,
        crate::features::accounts::tokens::revoke_token,
        crate::features::accounts::admin::create_user,
        crate::features::accounts::admin::create_user_token,
        crate::features::accounts::lifecycle::disable_user,
        crate::features::accounts::lifecycle::enable_user,
        crate::features::accounts::lifecycle::list_user_credentials,
        crate::features::accounts::lifecycle::revoke_user_credential,
        crate::features::accounts::lifecycle::list_sessions,
        crate::features::accounts::lifecycle::revoke_session,
        crate::features::accounts::lifecycle::change_password,
        crate::features::accounts::lifecycle::issue_password_reset,
        crate::features::accounts::lifecycle::reset_password,
        openapi_json,
        docs_page,
        docs_asset,
    ),
    components(schemas(
        crate::kernel::problem::Problem,
        crate::kernel::problem::ErrorCode,
        crate::kernel::auth::Principal,
        crate::kernel::auth::Credential,
        crate::kernel::auth::ActorView,
        crate::kernel::auth::UserKindView,
        crate::kernel::auth::OperatorRoleDto,
        crate::kernel::auth::ProviderRoleDto,
        crate::features::accounts::views::MemberKindDto,
        crate::features::accounts::views::IdDocumentDto,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Liveness, readiness, metrics"),
        (name = "system", description = "Clock, rulebooks and identity"),
        (name = "setup", description = "First operator administrator"),
        (name = "accounts", description = "Members, users, sessions, API tokens, verification"),
        (name = "docs", description = "This API description"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document, serialized once.
pub fn openapi_bytes() -> Vec<u8> {
    document()
        .to_pretty_json()
        .map(String::into_bytes)
        .unwrap_or_default()
}

/// The whole document: the base above plus each feature module's own part.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        crate::features::onboarding::ApiDoc::openapi(),
        crate::features::catalogue::ApiDoc::openapi(),
        crate::features::visibility::ApiDoc::openapi(),
        crate::features::orders::ApiDoc::openapi(),
        crate::features::deliveries::ApiDoc::openapi(),
        crate::features::cases::ApiDoc::openapi(),
        crate::features::complaints::ApiDoc::openapi(),
        crate::features::deposits::ApiDoc::openapi(),
        crate::features::settlement::ApiDoc::openapi(),
        crate::features::evidence::ApiDoc::openapi(),
        crate::features::exits::ApiDoc::openapi(),
        crate::features::invoices::ApiDoc::openapi(),
        crate::features::admin_clock::ApiDoc::openapi(),
        crate::features::audit::ApiDoc::openapi(),
    ] {
        doc.merge(part);
    }
    document_generic_errors(&mut doc);
    document_problem_bodies(&mut doc);
    doc
}

/// Every operation of the document, whatever its method.
fn operations_mut(
    doc: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
            &mut item.query,
        ]
        .into_iter()
        .flatten()
        .chain(item.additional_operations.values_mut())
    })
}

/// The one place that says what an error answer's body is: every error answer of the API is
/// an RFC 9457 problem document (see [`crate::kernel::problem`]), so each response with a
/// status of 400 or above (`4XX` and `5XX` too) gets the `application/problem+json` content
/// with the `Problem` schema, and the `Problem` schema is among the components. The
/// annotations name only the status and the description of an error answer (an example
/// needs the content to stand on: such an annotation names the content itself, and what it
/// names is kept).
fn document_problem_bodies(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{Content, Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    use crate::kernel::problem::PROBLEM_JSON;

    for op in operations_mut(doc) {
        for (status, response) in &mut op.responses.responses {
            let RefOr::T(response) = response else {
                continue;
            };
            if !status.starts_with(['4', '5']) {
                continue;
            }
            let content = response
                .content
                .entry(PROBLEM_JSON.to_owned())
                .or_insert_with(|| RefOr::T(Content::default()));
            if let RefOr::T(content) = content {
                content
                    .schema
                    .get_or_insert_with(|| Ref::from_schema_name(Problem::name()).into());
            }
        }
    }
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .entry(Problem::name().into_owned())
        .or_insert_with(Problem::schema);
}

/// The error answers every operation of a kind can give, whatever its handler does: the
/// extractors' and the middleware's (see [`crate::kernel::problem::normalize`]), all problem
/// documents (the body is added by [`document_problem_bodies`]). Added where an operation's
/// own list leaves them out, so that the document names every status the server sends: 401
/// wherever a bearer token is checked; 400 (a malformed body, path value, query string or
/// header) wherever the request carries any; 415 (a body of another media type) wherever
/// there is a body; 422 (a body of the wrong shape) wherever the body is JSON or a form. The
/// `Idempotency-Key` header gets the limits its extractor checks.
fn document_generic_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{RefOr, ResponseBuilder};

    // The body, a problem document, is added with every other error answer's.
    let problem =
        |description: &str| RefOr::T(ResponseBuilder::new().description(description).build());
    // What `IdempotencyKey` accepts: 1 to 200 characters once trimmed (here: visible ASCII).
    let idempotency_key: RefOr<Schema> = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(200))
        .pattern(Some("^[!-~]+$"))
        .into();
    let add = |op: &mut Operation| {
        let secured = op
            .security
            .as_ref()
            .is_some_and(|s| s.iter().any(|r| *r != SecurityRequirement::default()));
        // A body the server parses (JSON, a form): of the wrong shape, 422.
        let parsed_body = op.request_body.as_ref().is_some_and(|b| match b {
            RefOr::T(body) => body
                .content
                .keys()
                .any(|c| c.contains("json") || c.contains("form")),
            RefOr::Ref(_) => true,
        });
        // Ids in the path name nothing when malformed (404); other path values (a period, an
        // index) are refused as malformed.
        let has_input = op.request_body.is_some()
            || op.parameters.iter().flatten().any(|p| match p {
                RefOr::T(p) => p.parameter_in != ParameterIn::Path || p.name != "id",
                RefOr::Ref(_) => true,
            });
        for param in op.parameters.iter_mut().flatten() {
            if let RefOr::T(p) = param
                && p.parameter_in == ParameterIn::Header
                && p.name
                    .eq_ignore_ascii_case(crate::kernel::idempotency::HEADER)
            {
                p.schema = Some(idempotency_key.clone());
            }
        }
        let responses = &mut op.responses.responses;
        if secured {
            responses
                .entry("401".to_owned())
                .or_insert_with(|| problem("No valid bearer token (`unauthorized`)"));
        }
        if has_input {
            responses.entry("400".to_owned()).or_insert_with(|| {
                problem("Malformed body, path, query string or header (`invalid_request`)")
            });
        }
        if op.request_body.is_some() {
            responses.entry("415".to_owned()).or_insert_with(|| {
                problem("The body is not of a media type named here (`unsupported_media_type`)")
            });
        }
        if parsed_body {
            responses.entry("422".to_owned()).or_insert_with(|| {
                problem("A body of the wrong shape or with unknown fields (`invalid_request`)")
            });
        }
    };
    operations_mut(doc).for_each(add);
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "docs",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn openapi_json(State(state): State<AppState>) -> Response {
    let mut res = state.openapi.clone().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>云市 API · Yunshi API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/assets/init.js"></script>
</body>
</html>
"#;

/// Nothing on the docs page may come from another host.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The API docs page (Swagger UI).
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "docs",
    responses((status = 200, description = "Swagger UI", content_type = "text/html"))
)]
pub async fn docs_page() -> Response {
    let mut res = Html(DOCS_HTML).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    res
}

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/swagger-ui/swagger-ui.css"),
    },
    Asset {
        name: "init.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/api-docs-init.js"),
    },
    Asset {
        name: "LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../assets/swagger-ui/LICENSE"),
    },
];

/// A static asset of the docs page.
#[utoipa::path(
    get,
    path = "/api/docs/assets/{file}",
    tag = "docs",
    params(("file" = String, Path, description = "`swagger-ui-bundle.js`, `swagger-ui.css`, `init.js` or `LICENSE`")),
    responses(
        (status = 200, description = "The asset"),
        (status = 404, description = "No such asset"),
    )
)]
pub async fn docs_asset(Path(file): Path<String>) -> Result<Response, Problem> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == file)
        .ok_or_else(|| Problem::not_found(format!("no docs asset named {file:?}")))?;
    let mut res = asset.bytes.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_is_3_1_and_lists_every_route() {
        let doc: serde_json::Value = serde_json::from_slice(&openapi_bytes()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/api/v1/clock",
            "/api/v1/whoami",
            "/api/v1/rulebook",
            "/api/v1/setup",
            "/setup",
            "/api/v1/openapi.json",
            "/api/docs",
            "/api/docs/assets/{file}",
            "/api/v1/members",
            "/api/v1/members/{id}",
            "/api/v1/members/{id}/verification",
            "/api/v1/admin/members/{id}/verification",
            "/api/v1/sessions",
            "/api/v1/sessions/current",
            "/api/v1/me",
            "/api/v1/tokens",
            "/api/v1/tokens/{id}",
            "/api/v1/admin/users",
            "/api/v1/admin/users/{id}/tokens",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn every_schema_reference_resolves() {
        fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match v {
                serde_json::Value::Object(map) => {
                    if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                        out.push(r);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc: serde_json::Value = serde_json::from_slice(&openapi_bytes()).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{r} does not resolve"
            );
        }
    }

    /// The statuses the extractors and the middleware answer with are documented on every
    /// operation they can answer, as problem documents (what schemathesis's
    /// `status_code_conformance` holds the server to); an operation's own description of
    /// one is kept.
    #[test]
    fn every_operation_documents_the_generic_error_answers() {
        let doc: serde_json::Value = serde_json::from_slice(&openapi_bytes()).unwrap();
        let mut secured = 0;
        let mut json_bodies = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = &op["responses"];
                let is_secured = op["security"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
                if is_secured {
                    secured += 1;
                    assert!(responses["401"].is_object(), "{method} {path}: no 401");
                }
                let json = op["requestBody"]["content"]
                    .as_object()
                    .is_some_and(|c| c.keys().any(|k| k.contains("json")));
                if json {
                    json_bodies += 1;
                    for status in ["400", "415", "422"] {
                        assert_eq!(
                            responses[status]["content"]["application/problem+json"]["schema"]["$ref"],
                            "#/components/schemas/Problem",
                            "{method} {path}: {status}"
                        );
                    }
                }
            }
        }
        assert!(secured > 50 && json_bodies > 50, "{secured} {json_bodies}");
        let pay = &doc["paths"]["/api/v1/orders/{id}/payments"]["post"];
        assert_eq!(
            pay["responses"]["400"]["description"],
            "Malformed JSON or no `Idempotency-Key` (`idempotency_key_required`)",
            "the handler's own description stays"
        );
        let key = pay["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Idempotency-Key")
            .unwrap();
        assert_eq!(key["in"], "header");
        assert_eq!(key["schema"]["minLength"], 1);
        assert_eq!(key["schema"]["maxLength"], 200);
    }

    #[test]
    fn docs_page_uses_only_local_assets() {
        assert!(!DOCS_HTML.contains("http://") && !DOCS_HTML.contains("https://"));
        for asset in ["swagger-ui.css", "swagger-ui-bundle.js", "init.js"] {
            assert!(DOCS_HTML.contains(&format!("/api/docs/assets/{asset}")));
            assert!(
                ASSETS
                    .iter()
                    .any(|a| a.name == asset && !a.bytes.is_empty())
            );
        }
    }
}
