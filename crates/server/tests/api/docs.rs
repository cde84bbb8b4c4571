use crate::helpers::{TestServer, assert_problem};

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_the_paths() {
    let server = TestServer::start().await;
    let res = server.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: serde_json::Value = res.json().await.unwrap();
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1"), "{version}");
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/docs",
        "/api/docs/assets/{file}",
        "/api/v1/clock",
        "/api/v1/whoami",
        "/api/v1/rulebook",
        "/api/v1/setup",
        "/setup",
    ] {
        assert!(paths.contains_key(path), "{path} not documented");
    }
    assert!(doc["paths"]["/setup"]["get"].is_object());
    assert!(doc["paths"]["/setup"]["post"].is_object());
    assert_eq!(
        doc["paths"]["/api/v1/whoami"]["get"]["security"][0]["bearer"],
        serde_json::json!([])
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    server.stop().await;
}

#[tokio::test]
async fn docs_page_loads_only_local_assets_and_they_are_served() {
    let server = TestServer::start().await;
    let res = server.get("/api/docs").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    assert!(!html.contains("//cdn") && !html.contains("unpkg"), "{html}");

    // Every src= and href= on the page is a path on this server, and is served.
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            refs.push(part.split('"').next().unwrap().to_owned());
        }
    }
    assert!(refs.len() >= 3, "{refs:?}");
    for r in &refs {
        assert!(r.starts_with("/api/docs/assets/"), "non-local asset {r}");
        let res = server.get(r).await;
        assert_eq!(res.status(), 200, "{r}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        let body = res.bytes().await.unwrap();
        assert!(!body.is_empty(), "{r}");
        if r.ends_with(".js") {
            assert!(ct.starts_with("text/javascript"), "{r}: {ct}");
        } else if r.ends_with(".css") {
            assert!(ct.starts_with("text/css"), "{r}: {ct}");
        }
    }
    let bundle = server
        .get("/api/docs/assets/swagger-ui-bundle.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(bundle.contains("SwaggerUIBundle"));
    let init = server
        .get("/api/docs/assets/init.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/v1/openapi.json"));
    assert!(!init.contains("http://") && !init.contains("https://"));

    assert_problem(
        server.get("/api/docs/assets/evil.js").await,
        404,
        "not_found",
    )
    .await;
    server.stop().await;
}

/// Every error answer of the API is an RFC 9457 problem document, and the served document
/// says so: each 4xx and 5xx response has exactly the `application/problem+json` content
/// with the `Problem` schema (an example beside it is fine), and no other response claims
/// that media type.
#[tokio::test]
async fn every_error_response_is_a_problem_document() {
    let server = TestServer::start().await;
    let res = server.get("/api/v1/openapi.json").await;
    let doc: serde_json::Value = res.json().await.unwrap();
    server.stop().await;
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    let mut errors = 0;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(responses) = op["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                let content = response["content"].as_object();
                let claims_problem =
                    content.is_some_and(|c| c.contains_key("application/problem+json"));
                if status.starts_with(['4', '5']) {
                    errors += 1;
                    let is_problem = content.is_some_and(|c| {
                        c.len() == 1
                            && c["application/problem+json"]["schema"]
                                == serde_json::json!({"$ref": "#/components/schemas/Problem"})
                    });
                    if !is_problem {
                        wrong.push(format!("{method} {path} {status}: {content:?}"));
                    }
                } else if claims_problem {
                    wrong.push(format!("{method} {path} {status}: a problem document"));
                }
            }
        }
    }
    assert!(errors > 500, "only {errors} error responses");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
