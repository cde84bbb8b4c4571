use axum::Router;

use crate::helpers::{ADMIN_TOKEN, TestServer, assert_problem, test_config};

async fn whoami(server: &TestServer, token: Option<&str>) -> reqwest::Response {
    let mut req = server.client.get(server.url("/api/v1/whoami"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn bootstrap_admin_token_acts_as_operator_admin() {
    let server = TestServer::start().await;
    assert!(
        server.setup_link.is_none(),
        "no setup link when YUNSHI_ADMIN_TOKEN is given"
    );
    let res = whoami(&server, Some(ADMIN_TOKEN)).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["role"], "operator_admin");
    assert_eq!(body["principal"], "bootstrap-admin");
    server.stop().await;
}

#[tokio::test]
async fn whoami_without_a_valid_token_is_401_problem() {
    let server = TestServer::start().await;
    let res = whoami(&server, None).await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"yunshi\"");
    assert_problem(res, 401, "unauthorized").await;
    assert_problem(
        whoami(&server, Some("not-the-token")).await,
        401,
        "unauthorized",
    )
    .await;
    let res = server
        .client
        .get(server.url("/api/v1/whoami"))
        .header("authorization", format!("Basic {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    server.stop().await;
}

fn token_from_html(html: &str) -> String {
    let start = html.find("<pre id=\"token\">").expect("token shown") + "<pre id=\"token\">".len();
    let end = start + html[start..].find("</pre>").unwrap();
    html[start..end].to_owned()
}

fn secret_of(link: &str) -> &str {
    link.split("token=").nth(1).unwrap()
}

#[tokio::test]
async fn setup_link_works_once_and_then_an_admin_exists() {
    let server = TestServer::start_with(|_| {}, Router::new()).await;
    let link = server
        .setup_link
        .clone()
        .expect("setup link on first start");
    assert!(
        link.url
            .starts_with(&format!("http://{}/setup?token=", server.addr)),
        "{}",
        link.url
    );
    let secret = secret_of(&link.url).to_owned();
    assert_eq!(secret.len(), 64);

    // The setup secret opens the page but is no API credential.
    let page = server.client.get(&link.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("运营管理员") && html.contains("operator"),
        "bilingual page"
    );
    assert!(html.contains("<form method=\"post\" action=\"/setup\">"));
    assert_problem(whoami(&server, Some(&secret)).await, 401, "unauthorized").await;

    // Redeem it through the form.
    let res = server
        .client
        .post(server.url("/setup"))
        .form(&[("token", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let admin = token_from_html(&res.text().await.unwrap());
    assert_eq!(admin.len(), 64);
    let me: serde_json::Value = whoami(&server, Some(&admin)).await.json().await.unwrap();
    assert_eq!(me["role"], "operator_admin");
    assert_eq!(me["principal"], "operator-admin");

    // A second use is refused, on every route.
    let again = server
        .client
        .post(server.url("/setup"))
        .form(&[("token", secret.as_str())])
        .send()
        .await
        .unwrap();
    let body = assert_problem(again, 403, "forbidden").await;
    assert!(
        body["detail"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    let json_again = server
        .client
        .post(server.url("/api/v1/setup"))
        .json(&serde_json::json!({ "token": secret }))
        .send()
        .await
        .unwrap();
    assert_problem(json_again, 403, "forbidden").await;
    assert_problem(
        server.client.get(&link.url).send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    // A browser is told so in a page, in both languages.
    let html = server
        .client
        .get(&link.url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 403);
    let html = html.text().await.unwrap();
    assert!(html.contains("设置链接不可用") && html.contains("Setup link unavailable"));

    // The next start finds the administrator and prints no link.
    let dir = server.stop().await;
    let config = test_config(&dir);
    let restarted = TestServer::start_in(dir, config, Router::new()).await;
    assert!(restarted.setup_link.is_none());
    let me = whoami(&restarted, Some(&admin)).await;
    assert_eq!(me.status(), 200);
    restarted.stop().await;
}

#[tokio::test]
async fn setup_over_json_issues_an_admin_token_once() {
    let server = TestServer::start_with(|_| {}, Router::new()).await;
    let link = server.setup_link.clone().unwrap();
    let secret = secret_of(&link.url);
    let res = server
        .client
        .post(server.url("/api/v1/setup"))
        .json(&serde_json::json!({ "token": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let issued: serde_json::Value = res.json().await.unwrap();
    assert_eq!(issued["role"], "operator_admin");
    let admin = issued["token"].as_str().unwrap();
    assert_eq!(whoami(&server, Some(admin)).await.status(), 200);

    let res = server
        .client
        .post(server.url("/api/v1/setup"))
        .json(&serde_json::json!({ "token": secret }))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = server
        .client
        .post(server.url("/api/v1/setup"))
        .json(&serde_json::json!({ "token": "made-up" }))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    server.stop().await;
}

#[tokio::test]
async fn setup_page_without_or_with_a_bad_token_is_refused() {
    let server = TestServer::start_with(|_| {}, Router::new()).await;
    assert_problem(server.get("/setup").await, 400, "invalid_request").await;
    assert_problem(server.get("/setup?token=nope").await, 403, "forbidden").await;
    server.stop().await;
}

#[tokio::test]
async fn only_the_newest_setup_link_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("y.db").display().to_string();
    let store = yunshi_store::Store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let now: jiff::Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
    let secret = |b| match b {
        yunshi_server::Bootstrap::SetupSecret { secret, .. } => secret,
        other => panic!("expected a setup secret, got {other:?}"),
    };
    let first = secret(
        yunshi_server::kernel::auth::bootstrap(&store, now, None)
            .await
            .unwrap(),
    );
    let second = secret(
        yunshi_server::kernel::auth::bootstrap(&store, now, None)
            .await
            .unwrap(),
    );
    let stored = |s: String| {
        let store = store.clone();
        async move {
            store
                .api_token(&yunshi_server::kernel::auth::hash_secret(&s))
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert!(
        !stored(first).await.is_active(now),
        "the earlier link is revoked"
    );
    assert!(stored(second).await.is_active(now));
    store.close().await;
}

#[tokio::test]
async fn an_old_bootstrap_token_is_refused_after_the_secret_changes_or_is_removed() {
    const NEW: &str = "the-new-admin-secret-0123456789abcdef";
    let server = TestServer::start().await;
    assert_eq!(whoami(&server, Some(ADMIN_TOKEN)).await.status(), 200);
    let dir = server.stop().await;

    let mut config = test_config(&dir);
    config.admin_token = Some(NEW.into());
    let changed = TestServer::start_in(dir, config, Router::new()).await;
    assert_problem(
        whoami(&changed, Some(ADMIN_TOKEN)).await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(whoami(&changed, Some(NEW)).await.status(), 200);
    let dir = changed.stop().await;

    // The configured secret is the one that works, whichever it is …
    let mut config = test_config(&dir);
    config.admin_token = Some(ADMIN_TOKEN.into());
    let back = TestServer::start_in(dir, config, Router::new()).await;
    assert_eq!(whoami(&back, Some(ADMIN_TOKEN)).await.status(), 200);
    assert_problem(whoami(&back, Some(NEW)).await, 401, "unauthorized").await;
    let dir = back.stop().await;

    // … and with none configured, none works (the setup link is the way in again).
    let config = test_config(&dir);
    let removed = TestServer::start_in(dir, config, Router::new()).await;
    assert_problem(
        whoami(&removed, Some(ADMIN_TOKEN)).await,
        401,
        "unauthorized",
    )
    .await;
    assert!(removed.setup_link.is_some());
    removed.stop().await;
}

#[tokio::test]
async fn bootstrap_tokens_get_an_expiry_once_a_real_administrator_exists() {
    let server = TestServer::start().await;
    let res = server
        .client
        .post(server.url("/api/v1/admin/users"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({
            "email": "boss@example.com", "display_name": "Boss", "password": "Boss-Passw0rd-2026",
            "kind": {"type": "operator_staff", "roles": ["admin"]}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Still good for the grace, then not: the grace is wall time (24 hours), so the stored
    // expiry is what this test can see.
    assert_eq!(whoami(&server, Some(ADMIN_TOKEN)).await.status(), 200);
    let dir = server.stop().await;
    let store = yunshi_store::Store::open(&dir.path().join("data/yunshi.db").to_string_lossy())
        .await
        .unwrap();
    let token = store
        .api_token(&yunshi_server::kernel::auth::hash_secret(ADMIN_TOKEN))
        .await
        .unwrap()
        .unwrap();
    let expires = token
        .expires_at
        .expect("an expiry once an administrator exists");
    let left = expires.duration_since(jiff::Timestamp::now());
    assert!(
        left > jiff::SignedDuration::from_hours(23)
            && left <= yunshi_server::kernel::auth::BOOTSTRAP_GRACE,
        "{left:?}"
    );
    store.close().await;
    // A restart with the same secret keeps that expiry (it is never extended).
    let mut config = test_config(&dir);
    config.admin_token = Some(ADMIN_TOKEN.into());
    let again = TestServer::start_in(dir, config, Router::new()).await;
    assert_eq!(whoami(&again, Some(ADMIN_TOKEN)).await.status(), 200);
    let dir = again.stop().await;
    let store = yunshi_store::Store::open(&dir.path().join("data/yunshi.db").to_string_lossy())
        .await
        .unwrap();
    let kept = store
        .api_token(&yunshi_server::kernel::auth::hash_secret(ADMIN_TOKEN))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.expires_at, Some(expires));
    store.close().await;
}
