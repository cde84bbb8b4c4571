//! The web console over real HTTP: languages, sessions, form tokens, refusals beside their
//! fields, and pages that ask nothing of other hosts. (The whole journey in a browser is in
//! `console-tests/`.)

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, TestServer, json_of};

/// A browser-like client: no automatic redirects, cookies kept by hand.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(server: &TestServer) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: server.url(""),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all(SET_COOKIE) {
            let raw = v.to_str().unwrap();
            let pair = raw.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !val.is_empty() && !raw.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), val.to_owned()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> reqwest::Response {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&res);
        res
    }

    async fn page(&mut self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.unwrap()
    }

    /// Posts a form as a same-origin browser would.
    async fn post(&mut self, path: &str, form: &[(&str, &str)], site: &str) -> reqwest::Response {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("sec-fetch-site", site)
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&res);
        res
    }

    /// The form token on a page.
    async fn csrf(&mut self, path: &str) -> String {
        let html = self.page(path).await;
        let at = html.find("name=\"csrf\" value=\"").expect("a form token") + 19;
        html[at..at + 32].to_owned()
    }

    async fn login_with_token(&mut self, token: &str) {
        let csrf = self.csrf("/login").await;
        let res = self
            .post(
                "/login/token",
                &[("csrf", &csrf), ("token", token), ("next", "/")],
                "same-origin",
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()[LOCATION], "/operator");
    }
}

#[tokio::test]
async fn the_console_speaks_zh_cn_by_default_and_en_after_the_switch() {
    let server = TestServer::start().await;
    let mut b = Browser::new(&server);
    let html = b.page("/").await;
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("云市场商品目录"));
    let res = b.get("/lang/en?back=/login").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/login");
    let html = b.page("/").await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Marketplace catalogue"));
    assert!(!html.contains("云市场商品目录"));
    server.stop().await;
}

#[tokio::test]
async fn pages_need_a_login_and_operator_pages_an_operator() {
    let server = TestServer::start().await;
    let mut b = Browser::new(&server);
    let res = b.get("/operator/cases").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/login?next=%2Foperator%2Fcases");

    // A member signs up and logs in: the operator console refuses it.
    let made = server
        .client
        .post(server.url("/api/v1/members"))
        .json(
            &json!({"email": "li@buyer.test", "password": "a-long-password-1",
                      "display_name": "小李", "kind": "personal"}),
        )
        .send()
        .await
        .unwrap();
    json_of(made, 201).await;
    let csrf = b.csrf("/login").await;
    let res = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "li@buyer.test"),
                ("password", "a-long-password-1"),
                ("next", ""),
            ],
            "same-origin",
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/");
    let res = b.get("/operator/cases").await;
    assert_eq!(res.status(), 403);
    assert!(b.page("/orders").await.contains("小李"));
    server.stop().await;
}

/// The staff form as the operator console posts it.
fn staff_form<'a>(email: &'a str, csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("_to", "/api/v1/admin/users"),
        ("_back", "/operator/staff"),
        ("_form", "new-staff"),
        ("kind.type", "operator_staff"),
        ("kind.roles:list", "reviewer"),
        ("display_name", "审核员"),
        ("email", email),
        ("password", "a-long-password-1"),
    ]
}

#[tokio::test]
async fn a_form_with_a_wrong_token_or_from_another_site_changes_nothing() {
    let server = TestServer::start().await;
    let mut b = Browser::new(&server);
    b.login_with_token(ADMIN_TOKEN).await;
    let csrf = b.csrf("/operator/staff").await;
    let forged = staff_form("forged@operator.test", "0123456789abcdef0123456789abcdef");
    let res = b.post("/console/act", &forged, "same-origin").await;
    assert_eq!(res.status(), 303);
    let cross = staff_form("cross@operator.test", &csrf);
    let res = b.post("/console/act", &cross, "cross-site").await;
    assert_eq!(res.status(), 303);
    // Neither made a user: both e-mails are still free.
    for email in ["forged@operator.test", "cross@operator.test"] {
        let res = server
            .client
            .post(server.url("/api/v1/admin/users"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"email": email, "display_name": "x",
                          "kind": {"type": "operator_staff", "roles": ["reviewer"]}}))
            .send()
            .await
            .unwrap();
        json_of(res, 201).await;
    }
    // The refusal is shown on the page the form came from.
    let html = b.page("/operator/staff").await;
    assert!(html.contains("表单已过期或来源不可信"), "{html}");

    // The genuine form works.
    let genuine = staff_form("real@operator.test", &csrf);
    let res = b.post("/console/act", &genuine, "same-origin").await;
    assert_eq!(res.status(), 303);
    assert!(b.page("/operator/staff").await.contains("banner-ok"));
    server.stop().await;
}

#[tokio::test]
async fn a_refused_form_shows_the_error_beside_its_field_and_keeps_what_was_typed() {
    let server = TestServer::start().await;
    let mut b = Browser::new(&server);
    b.login_with_token(ADMIN_TOKEN).await;
    let csrf = b.csrf("/operator/staff").await;
    let form = [
        ("csrf", csrf.as_str()),
        ("_to", "/api/v1/admin/users"),
        ("_back", "/operator/staff"),
        ("_form", "new-staff"),
        ("_required", "display_name"),
        ("_required", "email"),
        ("kind.type", "operator_staff"),
        ("display_name", " "),
        ("email", "kept@operator.test"),
    ];
    let res = b.post("/console/act", &form, "same-origin").await;
    assert_eq!(res.status(), 303);
    let html = b.page("/operator/staff").await;
    let field = html.find("id=\"new-staff-display_name\"").unwrap();
    let error = html.find("id=\"new-staff-display_name-error\"").unwrap();
    assert!(error > field, "the error follows its field");
    assert!(
        html[error..].starts_with("id=\"new-staff-display_name-error\" role=\"alert\">请填写此项")
    );
    // The input points at its error and takes the focus.
    let input = &html[field..html[field..].find('>').unwrap() + field];
    assert!(input.contains("aria-invalid=\"true\" autofocus"), "{input}");
    assert!(
        input.contains("aria-describedby=\"new-staff-display_name-error\""),
        "{input}"
    );
    assert!(html.contains("value=\"kept@operator.test\""));
    // Shown once: the next visit is clean.
    assert!(!b.page("/operator/staff").await.contains("请填写此项"));
    server.stop().await;
}

#[tokio::test]
async fn console_pages_load_nothing_from_another_host() {
    let server = TestServer::start().await;
    let mut b = Browser::new(&server);
    b.login_with_token(ADMIN_TOKEN).await;
    for path in [
        "/",
        "/login",
        "/signup",
        "/operator",
        "/operator/onboarding",
        "/operator/listings",
        "/operator/complaints",
        "/operator/cases",
        "/operator/deposits",
        "/operator/settlement",
        "/operator/notices",
        "/operator/rulebook",
        "/operator/staff",
        "/operator/clock",
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        let html = res.text().await.unwrap();
        for attr in [
            "src=\"http",
            "src=\"//",
            "href=\"//",
            "stylesheet\" href=\"http",
        ] {
            assert!(!html.contains(attr), "{path} loads {attr}");
        }
    }
    for asset in ["htmx.min.js", "console.js", "console.css"] {
        let res = b.get(&format!("/assets/console/{asset}")).await;
        assert_eq!(res.status(), 200, "{asset}");
    }
    server.stop().await;
}

#[tokio::test]
async fn behind_tls_the_consoles_cookies_are_secure_and_host_prefixed() {
    let server =
        crate::helpers::TestServer::start_with(|c| c.secure_cookies = true, axum::Router::new())
            .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client.get(server.url("/lang/en")).send().await.unwrap();
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.starts_with("__Host-yunshi_lang=en;") && set.ends_with("; Secure"),
        "{set}"
    );
    // A cookie without the prefix (planted over plain http or by a sibling host) is not read.
    let page = client
        .get(server.url("/"))
        .header("cookie", "yunshi_lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("lang=\"zh-CN\""),
        "the default language, not the planted one"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_month_advanced_from_the_clock_page_keeps_the_administrator_in_and_says_what_fired() {
    let server = TestServer::start_with(
        |c| {
            c.clock = yunshi_server::ClockMode::Simulated;
            c.start = Some("2026-10-01T09:00:00+08:00".into());
            c.admin_token = Some(ADMIN_TOKEN.into());
        },
        axum::Router::new(),
    )
    .await;
    let password = "a-long-password-1";
    let res = server
        .client
        .post(server.url("/api/v1/admin/users"))
        .bearer_auth(ADMIN_TOKEN)
        .json(
            &json!({"email": "admin@operator.test", "display_name": "管理员",
                      "password": password,
                      "kind": {"type": "operator_staff", "roles": ["admin"]}}),
        )
        .send()
        .await
        .unwrap();
    json_of(res, 201).await;
    let mut b = Browser::new(&server);
    let csrf = b.csrf("/login").await;
    let res = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "admin@operator.test"),
                ("password", password),
                ("next", "/operator/clock"),
            ],
            "same-origin",
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = b.page("/operator/clock").await;
    assert!(page.contains("1d, 12h"), "durations as the CLI takes them");
    let csrf = b.csrf("/operator/clock").await;
    let res = b
        .post(
            "/console/act",
            &[
                ("csrf", &csrf),
                ("_to", "/api/v1/admin/clock"),
                ("_back", "/operator/clock"),
                ("_form", "advance"),
                ("_next", "/operator/clock?from={/from}&fired={/fired_total}"),
                ("by", "30d"),
                ("to", ""),
            ],
            "same-origin",
        )
        .await;
    assert_eq!(res.status(), 303);
    let next = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        next.starts_with("/operator/clock?from=2026-10-01T01:00:00Z&fired="),
        "{next}"
    );
    // Still signed in after a simulated month: the page, not the login form.
    let html = b.page(&next).await;
    assert!(
        html.contains("上次拨动") && html.contains("触发的到期事项"),
        "{html}"
    );
    assert!(html.contains("2026-10-31"), "the clock a month on: {html}");
    assert!(!html.contains("name=\"password\""), "{html}");
    server.stop().await;
}
