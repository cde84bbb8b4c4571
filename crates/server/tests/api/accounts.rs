//! Accounts, roles and isolation over real HTTP (issue 3 item 1): registration, login
//! sessions, API tokens, operator roles, tenant isolation and bad input.

use axum::Router;
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_TOKEN, TestServer, assert_problem, call, json_of, on_postgres, test_config,
};

const PASSWORD: &str = "云市场 Passw0rd";

async fn call_at(
    client: &reqwest::Client,
    url: &str,
    method: Method,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = client.request(method, url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn register(server: &TestServer, email: &str) -> Value {
    let res = call(
        server,
        Method::POST,
        "/api/v1/members",
        None,
        Some(json!({
            "email": email, "password": PASSWORD, "display_name": "王芳", "kind": "personal"
        })),
    )
    .await;
    json_of(res, 201).await
}

async fn login(server: &TestServer, email: &str, password: &str) -> reqwest::Response {
    call(
        server,
        Method::POST,
        "/api/v1/sessions",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

async fn session(server: &TestServer, email: &str) -> String {
    let body = json_of(login(server, email, PASSWORD).await, 201).await;
    body["token"].as_str().unwrap().to_owned()
}

/// A member registered and logged in: (member id, session token).
async fn member(server: &TestServer, email: &str) -> (String, String) {
    let m = register(server, email).await;
    (
        m["id"].as_str().unwrap().to_owned(),
        session(server, email).await,
    )
}

/// A user made by the bootstrap admin, with an API token: (user id, token).
async fn staff(server: &TestServer, email: &str, kind: Value) -> (String, String) {
    let res = call(
        server,
        Method::POST,
        "/api/v1/admin/users",
        Some(ADMIN_TOKEN),
        Some(json!({"email": email, "display_name": "员工", "kind": kind})),
    )
    .await;
    let body = json_of(res, 201).await;
    let id = body["user"]["id"].as_str().unwrap().to_owned();
    let res = call(
        server,
        Method::POST,
        &format!("/api/v1/admin/users/{id}/tokens"),
        Some(ADMIN_TOKEN),
        Some(json!({"label": "automation"})),
    )
    .await;
    let token = json_of(res, 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, token)
}

fn personal_details() -> Value {
    json!({
        "type": "personal", "real_name": "王芳", "id_document": "resident_id",
        "id_number": "11010519491231002x"
    })
}

/// Register → login → me → create token → use token → logout → session refused.
async fn member_lifecycle(server: &TestServer) {
    let member = register(server, "  Wang.Fang@Example.com ").await;
    assert_eq!(member["email"], "wang.fang@example.com");
    assert_eq!(member["kind"], "personal");
    assert_eq!(member["verification"]["status"], "unverified");
    assert!(member.get("password").is_none() && member.get("password_hash").is_none());
    let member_id = member["id"].as_str().unwrap();

    let res = login(server, "WANG.FANG@example.com", PASSWORD).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json_of(res, 201).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user"]["kind"]["member_id"], member_id);
    let session = body["token"].as_str().unwrap().to_owned();

    let me = json_of(
        call(server, Method::GET, "/api/v1/me", Some(&session), None).await,
        200,
    )
    .await;
    assert_eq!(me["credential"], "session");
    assert_eq!(me["role"], "member");
    assert_eq!(me["actor"]["kind"]["type"], "member");
    assert_eq!(me["actor"]["kind"]["member_id"], member_id);
    assert_eq!(me["member"]["id"], member_id);
    assert_eq!(me["user"]["email"], "wang.fang@example.com");
    assert!(!me.to_string().contains("argon2"), "{me}");

    let issued = json_of(
        call(
            server,
            Method::POST,
            "/api/v1/tokens",
            Some(&session),
            Some(json!({"label": "订单同步"})),
        )
        .await,
        201,
    )
    .await;
    let api_token = issued["token"].as_str().unwrap().to_owned();
    let token_id = issued["id"].as_str().unwrap().to_owned();
    assert_eq!(issued["label"], "订单同步");
    assert!(issued["expires_at"].is_null());

    let me = json_of(
        call(server, Method::GET, "/api/v1/me", Some(&api_token), None).await,
        200,
    )
    .await;
    assert_eq!(me["credential"], "api_token");
    assert_eq!(me["actor"]["kind"]["member_id"], member_id);

    let list = json_of(
        call(server, Method::GET, "/api/v1/tokens", Some(&session), None).await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["id"], token_id.as_str());
    assert!(
        !list.to_string().contains(&api_token),
        "the secret is shown once"
    );

    let res = call(
        server,
        Method::DELETE,
        "/api/v1/sessions/current",
        Some(&session),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_problem(
        call(server, Method::GET, "/api/v1/me", Some(&session), None).await,
        401,
        "unauthorized",
    )
    .await;
    // The API token outlives the session, until it is revoked.
    let res = call(server, Method::GET, "/api/v1/me", Some(&api_token), None).await;
    assert_eq!(res.status(), 200);
    let res = call(
        server,
        Method::DELETE,
        &format!("/api/v1/tokens/{token_id}"),
        Some(&api_token),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_problem(
        call(server, Method::GET, "/api/v1/me", Some(&api_token), None).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn a_member_registers_logs_in_uses_a_token_and_logs_out() {
    let server = TestServer::start().await;
    member_lifecycle(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn an_email_registers_once_whatever_its_case() {
    let server = TestServer::start().await;
    register(&server, "li.lei@example.com").await;
    let res = call(
        &server,
        Method::POST,
        "/api/v1/members",
        None,
        Some(json!({
            "email": "LI.LEI@EXAMPLE.COM", "password": "another Passw0rd",
            "display_name": "李雷", "kind": "enterprise"
        })),
    )
    .await;
    // Sign-up answers as if new (it does not tell that the e-mail exists) and creates nothing.
    assert_eq!(res.status(), 201);
    assert_problem(
        login(&server, "li.lei@example.com", "another Passw0rd").await,
        401,
        "invalid_credentials",
    )
    .await;
    // Operator administrators are told: it cannot be reused.
    let res = call(
        &server,
        Method::POST,
        "/api/v1/admin/users",
        Some(ADMIN_TOKEN),
        Some(json!({
            "email": "li.lei@example.com", "display_name": "x",
            "kind": {"type": "operator_staff", "roles": ["finance"]}
        })),
    )
    .await;
    assert_problem(res, 409, "email_taken").await;
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let server = TestServer::start().await;
    register(&server, "han.meimei@example.com").await;
    let wrong_password = assert_problem(
        login(&server, "han.meimei@example.com", "not the Passw0rd").await,
        401,
        "invalid_credentials",
    )
    .await;
    let unknown_email = assert_problem(
        login(&server, "nobody@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    let malformed_email = assert_problem(
        login(&server, "not-an-email", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    for body in [&unknown_email, &malformed_email] {
        assert_eq!(body["detail"], wrong_password["detail"]);
        assert_eq!(body["type"], "urn:yunshi:problem:invalid_credentials");
    }
    // The right password still works afterwards (no lockout).
    session(&server, "han.meimei@example.com").await;
    server.stop().await;
}

#[tokio::test]
async fn only_a_reviewer_decides_a_verification() {
    let server = TestServer::start().await;
    let (member_id, member_session) = member(&server, "zhao@example.com").await;
    let (_, finance) = staff(
        &server,
        "finance@yunshi.example",
        json!({"type": "operator_staff", "roles": ["finance"]}),
    )
    .await;
    let (reviewer_id, reviewer) = staff(
        &server,
        "reviewer@yunshi.example",
        json!({"type": "operator_staff", "roles": ["reviewer"]}),
    )
    .await;
    let submit = format!("/api/v1/members/{member_id}/verification");
    let decide = format!("/api/v1/admin/members/{member_id}/verification");

    // Nothing to decide before the member submits.
    assert_problem(
        call(
            &server,
            Method::POST,
            &decide,
            Some(&reviewer),
            Some(json!({"decision": "verified"})),
        )
        .await,
        409,
        "verification_not_pending",
    )
    .await;
    let pending = json_of(
        call(
            &server,
            Method::POST,
            &submit,
            Some(&member_session),
            Some(personal_details()),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(pending["verification"]["status"], "pending");
    assert_eq!(
        pending["verification"]["details"]["id_number"],
        "11010519491231002X"
    );
    // Staff see the member; a finance clerk only with the identity number masked.
    let seen = json_of(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/members/{member_id}"),
            Some(&finance),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(seen["verification"]["details"]["id_number"], "••••002X");
    // Operator staff do not submit for a member.
    assert_problem(
        call(
            &server,
            Method::POST,
            &submit,
            Some(&reviewer),
            Some(personal_details()),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    let verdict = json!({"decision": "verified"});
    assert_problem(
        call(
            &server,
            Method::POST,
            &decide,
            Some(&finance),
            Some(verdict.clone()),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            &decide,
            Some(&member_session),
            Some(verdict.clone()),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let decided = json_of(
        call(
            &server,
            Method::POST,
            &decide,
            Some(&reviewer),
            Some(verdict.clone()),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(decided["verification"]["status"], "verified");
    assert_eq!(decided["verification"]["decided_by"], reviewer_id.as_str());
    assert_problem(
        call(
            &server,
            Method::POST,
            &decide,
            Some(&reviewer),
            Some(verdict),
        )
        .await,
        409,
        "verification_not_pending",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            &submit,
            Some(&member_session),
            Some(personal_details()),
        )
        .await,
        409,
        "already_verified",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_the_member_may_resubmit() {
    let server = TestServer::start().await;
    let (member_id, session) = member(&server, "qian@example.com").await;
    let submit = format!("/api/v1/members/{member_id}/verification");
    let decide = format!("/api/v1/admin/members/{member_id}/verification");
    // Enterprise details for a personal member.
    assert_problem(
        call(
            &server,
            Method::POST,
            &submit,
            Some(&session),
            Some(json!({
                "type": "enterprise", "company_name": "云市科技", "credit_code": "91350100M000100Y43",
                "legal_representative": "林海"
            })),
        )
        .await,
        422,
        "verification_kind_mismatch",
    )
    .await;
    let mut bad = personal_details();
    bad["id_number"] = json!("110105194912310021");
    assert_problem(
        call(&server, Method::POST, &submit, Some(&session), Some(bad)).await,
        422,
        "invalid_verification_details",
    )
    .await;
    json_of(
        call(
            &server,
            Method::POST,
            &submit,
            Some(&session),
            Some(personal_details()),
        )
        .await,
        200,
    )
    .await;
    // The bootstrap administrator reviews too.
    assert_problem(
        call(
            &server,
            Method::POST,
            &decide,
            Some(ADMIN_TOKEN),
            Some(json!({"decision": "rejected", "reason": " "})),
        )
        .await,
        422,
        "reason_required",
    )
    .await;
    let rejected = json_of(
        call(
            &server,
            Method::POST,
            &decide,
            Some(ADMIN_TOKEN),
            Some(json!({"decision": "rejected", "reason": "证件照片不清晰"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rejected["verification"]["status"], "rejected");
    assert_eq!(rejected["verification"]["reason"], "证件照片不清晰");
    let again = json_of(
        call(
            &server,
            Method::POST,
            &submit,
            Some(&session),
            Some(personal_details()),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["verification"]["status"], "pending");
    server.stop().await;
}

#[tokio::test]
async fn racing_reviewers_decide_a_verification_once() {
    let server = TestServer::start().await;
    let (member_id, session) = member(&server, "sun@example.com").await;
    json_of(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/members/{member_id}/verification"),
            Some(&session),
            Some(personal_details()),
        )
        .await,
        200,
    )
    .await;
    let url = server.url(&format!("/api/v1/admin/members/{member_id}/verification"));
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (client, url) = (server.client.clone(), url.clone());
            tokio::spawn(async move {
                let body = if i % 2 == 0 {
                    json!({"decision": "verified"})
                } else {
                    json!({"decision": "rejected", "reason": format!("reason {i}")})
                };
                let res = call_at(&client, &url, Method::POST, Some(ADMIN_TOKEN), Some(body)).await;
                res.status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 409),
        "{statuses:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_member_cannot_see_another_member() {
    let server = TestServer::start().await;
    let (a, a_session) = member(&server, "a@example.com").await;
    let (b, _) = member(&server, "b@example.com").await;
    let (_, provider) = staff(
        &server,
        "staff@isv.example",
        json!({"type": "provider_staff", "provider_id": "0193c0de-0000-7000-8000-000000000001", "role": "owner"}),
    )
    .await;
    let own = call(
        &server,
        Method::GET,
        &format!("/api/v1/members/{a}"),
        Some(&a_session),
        None,
    )
    .await;
    assert_eq!(own.status(), 200);
    let other = assert_problem(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/members/{b}"),
            Some(&a_session),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let missing = assert_problem(
        call(
            &server,
            Method::GET,
            "/api/v1/members/0193c0de-0000-7000-8000-0000000000ff",
            Some(&a_session),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(other["title"], missing["title"]);
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/members/{b}/verification"),
            Some(&a_session),
            Some(personal_details()),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // Provider staff see no member outside an order.
    assert_problem(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/members/{a}"),
            Some(&provider),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::GET,
            "/api/v1/members/not-a-uuid",
            Some(&a_session),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_admin_creates_provider_staff_and_a_token_for_it() {
    let server = TestServer::start().await;
    let provider_id = "0193c0de-0000-7000-8000-00000000abcd";
    let res = call(
        &server,
        Method::POST,
        "/api/v1/admin/users",
        Some(ADMIN_TOKEN),
        Some(json!({
            "email": "Owner@ISV.example", "display_name": "服务商负责人",
            "password": "Provider-0wner!",
            "kind": {"type": "provider_staff", "provider_id": provider_id, "role": "owner"}
        })),
    )
    .await;
    let created = json_of(res, 201).await;
    assert_eq!(created["user"]["email"], "owner@isv.example");
    assert_eq!(created["user"]["kind"]["type"], "provider_staff");
    assert!(created.get("member").is_none());
    let user_id = created["user"]["id"].as_str().unwrap();

    let issued = json_of(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/admin/users/{user_id}/tokens"),
            Some(ADMIN_TOKEN),
            Some(json!({"label": "CI", "expires_at": "2999-01-01T00:00:00Z"})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(issued["principal"], format!("user:{user_id}"));
    assert_eq!(issued["expires_at"], "2999-01-01T00:00:00Z");
    let token = issued["token"].as_str().unwrap();
    let me = json_of(
        call(&server, Method::GET, "/api/v1/me", Some(token), None).await,
        200,
    )
    .await;
    assert_eq!(me["role"], "provider_owner");
    assert_eq!(me["actor"]["user_id"], user_id);
    assert_eq!(me["actor"]["kind"]["provider_id"], provider_id);
    assert_eq!(me["actor"]["kind"]["role"], "owner");
    // The same user logs in with its password.
    let res = login(&server, "owner@isv.example", "Provider-0wner!").await;
    assert_eq!(json_of(res, 201).await["user"]["id"], user_id);

    // Provider staff administer nobody.
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/admin/users",
            Some(token),
            Some(json!({
                "email": "x@isv.example", "display_name": "x",
                "kind": {"type": "operator_staff", "roles": ["admin"]}
            })),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/admin/users/{user_id}/tokens"),
            Some(token),
            Some(json!({"label": "more"})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/admin/users/0193c0de-0000-7000-8000-0000000000ff/tokens",
            Some(ADMIN_TOKEN),
            Some(json!({"label": "x"})),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // An administrator may also create a member (account and login at once).
    let created = json_of(
        call(
            &server,
            Method::POST,
            "/api/v1/admin/users",
            Some(ADMIN_TOKEN),
            Some(json!({
                "email": "buyer@example.com", "display_name": "买家",
                "kind": {"type": "member", "member_kind": "enterprise"}
            })),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["member"]["kind"], "enterprise");
    assert_eq!(
        created["user"]["kind"]["member_id"],
        created["member"]["id"]
    );
    // Without a password it cannot log in.
    assert_problem(
        login(&server, "buyer@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn each_operator_role_is_kept_to_its_own_work() {
    let server = TestServer::start().await;
    for role in ["reviewer", "compliance", "customer_service", "finance"] {
        let (_, token) = staff(
            &server,
            &format!("{role}@yunshi.example"),
            json!({"type": "operator_staff", "roles": [role]}),
        )
        .await;
        let me = json_of(
            call(&server, Method::GET, "/api/v1/me", Some(&token), None).await,
            200,
        )
        .await;
        assert_eq!(me["role"], "operator_staff");
        assert_eq!(me["actor"]["kind"]["roles"], json!([role]));
        assert_problem(
            call(
                &server,
                Method::POST,
                "/api/v1/admin/users",
                Some(&token),
                Some(json!({
                    "email": "new@yunshi.example", "display_name": "x",
                    "kind": {"type": "operator_staff", "roles": ["admin"]}
                })),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    // An admin user can administer.
    let (_, admin) = staff(
        &server,
        "admin@yunshi.example",
        json!({"type": "operator_staff", "roles": ["admin"]}),
    )
    .await;
    let me = json_of(
        call(&server, Method::GET, "/api/v1/me", Some(&admin), None).await,
        200,
    )
    .await;
    assert_eq!(me["role"], "operator_admin");
    let res = call(
        &server,
        Method::POST,
        "/api/v1/admin/users",
        Some(&admin),
        Some(json!({
            "email": "new@yunshi.example", "display_name": "x",
            "kind": {"type": "operator_staff", "roles": ["finance", "reviewer"]}
        })),
    )
    .await;
    assert_eq!(res.status(), 201);
    // Staff need at least one role.
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/admin/users",
            Some(&admin),
            Some(json!({
                "email": "none@yunshi.example", "display_name": "x",
                "kind": {"type": "operator_staff", "roles": []}
            })),
        )
        .await,
        422,
        "no_operator_roles",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_token_list_shows_only_the_callers_tokens() {
    let server = TestServer::start().await;
    let (_, a) = member(&server, "a@example.com").await;
    let (_, b) = member(&server, "b@example.com").await;
    let mut a_ids = Vec::new();
    for label in ["one", "two", "three"] {
        let t = json_of(
            call(
                &server,
                Method::POST,
                "/api/v1/tokens",
                Some(&a),
                Some(json!({"label": label})),
            )
            .await,
            201,
        )
        .await;
        a_ids.push(t["id"].as_str().unwrap().to_owned());
    }
    let b_token = json_of(
        call(
            &server,
            Method::POST,
            "/api/v1/tokens",
            Some(&b),
            Some(json!({"label": "b"})),
        )
        .await,
        201,
    )
    .await;
    let b_id = b_token["id"].as_str().unwrap();

    let page = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/tokens?limit=2",
            Some(&a),
            None,
        )
        .await,
        200,
    )
    .await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a_ids[0].as_str(), a_ids[1].as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = json_of(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/tokens?limit=2&after={cursor}"),
            Some(&a),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rest["items"][0]["id"], a_ids[2].as_str());
    assert!(rest.get("next_cursor").is_none());
    let b_list = json_of(
        call(&server, Method::GET, "/api/v1/tokens", Some(&b), None).await,
        200,
    )
    .await;
    assert_eq!(b_list["items"].as_array().unwrap().len(), 1);
    assert_eq!(b_list["items"][0]["id"], b_id);

    // Another's token is not there to revoke.
    assert_problem(
        call(
            &server,
            Method::DELETE,
            &format!("/api/v1/tokens/{b_id}"),
            Some(&a),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let b_secret = b_token["token"].as_str().unwrap();
    let res = call(&server, Method::GET, "/api/v1/me", Some(b_secret), None).await;
    assert_eq!(res.status(), 200);
    // Revoked tokens leave the list.
    let res = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/tokens/{}", a_ids[1]),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let list = json_of(
        call(&server, Method::GET, "/api/v1/tokens", Some(&a), None).await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_problem(
        call(
            &server,
            Method::GET,
            "/api/v1/tokens?limit=0",
            Some(&a),
            None,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_api_token_neither_mints_tokens_nor_logs_out() {
    let server = TestServer::start().await;
    let (_, session) = member(&server, "c@example.com").await;
    let issued = json_of(
        call(
            &server,
            Method::POST,
            "/api/v1/tokens",
            Some(&session),
            Some(json!({"label": "x"})),
        )
        .await,
        201,
    )
    .await;
    let token = issued["token"].as_str().unwrap();
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/tokens",
            Some(token),
            Some(json!({"label": "y"})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::DELETE,
            "/api/v1/sessions/current",
            Some(token),
            None,
        )
        .await,
        409,
        "not_a_session",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/tokens",
            Some(&session),
            Some(json!({"label": "past", "expires_at": "2001-01-01T00:00:00Z"})),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/tokens",
            Some(&session),
            Some(json!({"label": " "})),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn the_bootstrap_admin_acts_as_operator_admin_without_a_user() {
    let server = TestServer::start().await;
    let me = json_of(
        call(&server, Method::GET, "/api/v1/me", Some(ADMIN_TOKEN), None).await,
        200,
    )
    .await;
    assert_eq!(me["principal"], "bootstrap-admin");
    assert_eq!(me["role"], "operator_admin");
    assert_eq!(me["credential"], "admin_token");
    assert!(me["actor"]["user_id"].is_null());
    assert_eq!(me["actor"]["kind"]["roles"], json!(["admin"]));
    assert!(me.get("user").is_none());
    // It may mint further administrator tokens, listed as its own.
    let issued = json_of(
        call(
            &server,
            Method::POST,
            "/api/v1/tokens",
            Some(ADMIN_TOKEN),
            Some(json!({"label": "ops"})),
        )
        .await,
        201,
    )
    .await;
    let me = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/me",
            Some(issued["token"].as_str().unwrap()),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(me["role"], "operator_admin");
    server.stop().await;
}

#[tokio::test]
async fn missing_or_bad_tokens_are_401_on_every_account_endpoint() {
    let server = TestServer::start().await;
    let id = "0193c0de-0000-7000-8000-000000000001";
    let endpoints = [
        (Method::GET, "/api/v1/me".to_owned(), None),
        (Method::DELETE, "/api/v1/sessions/current".to_owned(), None),
        (
            Method::POST,
            "/api/v1/tokens".to_owned(),
            Some(json!({"label": "x"})),
        ),
        (Method::GET, "/api/v1/tokens".to_owned(), None),
        (Method::DELETE, format!("/api/v1/tokens/{id}"), None),
        (Method::GET, format!("/api/v1/members/{id}"), None),
        (
            Method::POST,
            format!("/api/v1/members/{id}/verification"),
            Some(personal_details()),
        ),
        (
            Method::POST,
            format!("/api/v1/admin/members/{id}/verification"),
            Some(json!({"decision": "verified"})),
        ),
        (
            Method::POST,
            "/api/v1/admin/users".to_owned(),
            Some(
                json!({"email": "a@b.cn", "display_name": "x", "kind": {"type": "member", "member_kind": "personal"}}),
            ),
        ),
        (
            Method::POST,
            format!("/api/v1/admin/users/{id}/tokens"),
            Some(json!({"label": "x"})),
        ),
    ];
    for (method, path, body) in endpoints {
        for token in [None, Some("not-a-token")] {
            let res = call(&server, method.clone(), &path, token, body.clone()).await;
            assert_problem(res, 401, "unauthorized").await;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn bad_account_input_is_a_4xx_problem_and_writes_nothing() {
    let server = TestServer::start().await;
    let url = server.url("/api/v1/members");
    let raw = |body: &'static str| {
        server
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_problem(raw("{\"email\": ").await.unwrap(), 400, "invalid_request").await;
    assert_problem(
        raw(r#"{"email": 5, "password": "x", "display_name": "x", "kind": "personal"}"#)
            .await
            .unwrap(),
        422,
        "invalid_request",
    )
    .await;
    let form = server
        .client
        .post(&url)
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_problem(form, 415, "unsupported_media_type").await;

    let attempt = |body: Value| call(&server, Method::POST, "/api/v1/members", None, Some(body));
    let good = json!({
        "email": "zhou@example.com", "password": PASSWORD, "display_name": "周", "kind": "personal"
    });
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    let mut unknown = good.clone();
    unknown["is_admin"] = json!(true);
    assert_problem(attempt(unknown).await, 422, "invalid_request").await;
    assert_problem(
        attempt(with("kind", json!("robot"))).await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        attempt(with("password", json!("Short1"))).await,
        422,
        "weak_password",
    )
    .await;
    assert_problem(
        attempt(with("password", json!("alllowercaseletters"))).await,
        422,
        "weak_password",
    )
    .await;
    assert_problem(
        attempt(with("email", json!("zhou@"))).await,
        422,
        "invalid_email",
    )
    .await;
    assert_problem(
        attempt(with("email", json!("zhou.example.com"))).await,
        422,
        "invalid_email",
    )
    .await;
    assert_problem(
        attempt(with("display_name", json!("  "))).await,
        422,
        "invalid_display_name",
    )
    .await;

    // None of the refused attempts wrote anything: the e-mail is still free.
    let created = json_of(attempt(good).await, 201).await;
    let (_, session) = (created, session(&server, "zhou@example.com").await);

    // Unknown members are refused in every account body.
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": "zhou@example.com", "password": PASSWORD, "remember": true})),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/tokens",
            Some(&session),
            Some(json!({"label": "x", "scope": "all"})),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/admin/users",
            Some(ADMIN_TOKEN),
            Some(json!({
                "email": "q@example.com", "display_name": "x",
                "kind": {"type": "operator_staff", "roles": ["root"]}
            })),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/admin/users",
            Some(ADMIN_TOKEN),
            Some(json!({
                "email": "q@example.com", "display_name": "x",
                "kind": {"type": "provider_staff", "provider_id": "nope", "role": "owner"}
            })),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn sessions_end_twelve_wall_clock_hours_after_login_and_tokens_at_their_expiry() {
    let s = TestServer::start_at("2026-04-01T01:00:00Z").await;
    let client = reqwest::Client::new();
    let url = |p: &str| s.url(p);
    let res = call_at(
        &client,
        &url("/api/v1/members"),
        Method::POST,
        None,
        Some(json!({"email": "w@example.com", "password": PASSWORD, "display_name": "w", "kind": "personal"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let login = call_at(
        &client,
        &url("/api/v1/sessions"),
        Method::POST,
        None,
        Some(json!({"email": "w@example.com", "password": PASSWORD})),
    )
    .await;
    let login = json_of(login, 201).await;
    // Twelve hours of wall time, whatever the server's clock says.
    let expires: jiff::Timestamp = login["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires.duration_since(jiff::Timestamp::now());
    assert!(
        left > SignedDuration::from_hours(11) && left <= SignedDuration::from_hours(12),
        "{login}"
    );
    let session = login["token"].as_str().unwrap().to_owned();
    let issued = json_of(
        call_at(
            &client,
            &url("/api/v1/tokens"),
            Method::POST,
            Some(&session),
            Some(json!({"label": "day", "expires_at": "2026-04-02T01:00:00Z"})),
        )
        .await,
        201,
    )
    .await;
    let token = issued["token"].as_str().unwrap().to_owned();
    let me = |t: String| {
        let (client, u) = (client.clone(), url("/api/v1/me"));
        async move { call_at(&client, &u, Method::GET, Some(&t), None).await }
    };

    // The API token ends at its expiry on the server's clock; the session goes on.
    s.clock()
        .advance(SignedDuration::from_hours(24) - SignedDuration::from_secs(1))
        .unwrap();
    assert_eq!(me(token.clone()).await.status(), 200);
    s.clock().advance(SignedDuration::from_secs(1)).unwrap();
    assert_problem(me(token).await, 401, "unauthorized").await;
    assert_eq!(me(session.clone()).await.status(), 200);

    s.stop().await;
}

#[tokio::test]
async fn accounts_work_on_postgres() {
    on_postgres(|db| async move {
        let server = TestServer::start_on(&db, Router::new()).await;
        member_lifecycle(&server).await;
        let res = call(
            &server,
            Method::POST,
            "/api/v1/admin/users",
            Some(ADMIN_TOKEN),
            Some(json!({
                "email": "wang.fang@example.com", "display_name": "x",
                "kind": {"type": "operator_staff", "roles": ["finance"]}
            })),
        )
        .await;
        assert_problem(res, 409, "email_taken").await;
        lifecycle_on(&server).await;
        server.stop().await;
    })
    .await;
}

// ---- issue 17: throttling, password policy, cutting off a person or a key, sign-up ----

async fn post_at(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> reqwest::Response {
    call_at(client, &url, Method::POST, token, Some(body)).await
}

/// The kinds and subjects of every event in the database of a stopped server.
async fn events_in(dir: &tempfile::TempDir) -> Vec<(String, String, Value)> {
    let store = yunshi_store::Store::open(&dir.path().join("data/yunshi.db").to_string_lossy())
        .await
        .unwrap();
    let events = store.events_after(0, 10_000).await.unwrap();
    store.close().await;
    events
        .into_iter()
        .map(|e| (e.kind, e.subject, e.payload))
        .collect()
}

#[tokio::test]
async fn thirty_wrong_passwords_answer_429_with_retry_after_and_the_right_one_waits_too() {
    let s = TestServer::start_at("2026-04-01T01:00:00Z").await;
    let client = reqwest::Client::new();
    let url = |p: &str| s.url(p);
    let res = post_at(
        &client,
        url("/api/v1/members"),
        None,
        json!({"email": "t@example.com", "password": PASSWORD, "display_name": "t", "kind": "personal"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let attempt = |email: &'static str, password: &'static str| {
        let (client, u) = (client.clone(), url("/api/v1/sessions"));
        async move {
            post_at(
                &client,
                u,
                None,
                json!({"email": email, "password": password}),
            )
            .await
        }
    };
    // Thirty wrong passwords within a minute (the clock stands still): five free failures,
    // the sixth closes the door, the rest are 429 without a password check.
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let res = attempt("t@example.com", "wrong Passw0rd 1").await;
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            assert_eq!(res.headers()["retry-after"], "1");
            let body = assert_problem(res, 429, "too_many_attempts").await;
            assert_eq!(body["retry_after"], 1);
        }
    }
    assert_eq!(statuses[..6], [401; 6]);
    assert!(statuses[6..].iter().all(|&s| s == 429), "{statuses:?}");
    // The right password is refused while the back-off is in force …
    let res = attempt("t@example.com", PASSWORD).await;
    assert_eq!(res.headers()["retry-after"], "1");
    assert_problem(res, 429, "too_many_attempts").await;
    // … and each further failure doubles the wait.
    s.clock().advance(SignedDuration::from_secs(1)).unwrap();
    assert_eq!(
        attempt("t@example.com", "wrong Passw0rd 2").await.status(),
        401
    );
    let res = attempt("t@example.com", PASSWORD).await;
    assert_eq!(res.headers()["retry-after"], "2");
    s.clock().advance(SignedDuration::from_secs(2)).unwrap();
    // Once it ends, the right password works, and forgets the failures.
    json_of(attempt("t@example.com", PASSWORD).await, 201).await;
    assert_eq!(
        attempt("t@example.com", "wrong Passw0rd 3").await.status(),
        401
    );
    // An e-mail nobody has is throttled the same way, so a 429 tells no one it exists.
    for _ in 0..6 {
        assert_eq!(attempt("ghost@example.com", PASSWORD).await.status(), 401);
    }
    assert_problem(
        attempt("ghost@example.com", PASSWORD).await,
        429,
        "too_many_attempts",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn common_passwords_are_refused_when_chosen() {
    let server = TestServer::start().await;
    for weak in ["password123", "Password12", "qwerty123456", "Iloveyou!!"] {
        let res = call(
            &server,
            Method::POST,
            "/api/v1/members",
            None,
            Some(json!({"email": "c@example.com", "password": weak, "display_name": "c", "kind": "personal"})),
        )
        .await;
        let body = assert_problem(res, 422, "weak_password").await;
        assert!(
            body["detail"].as_str().unwrap().contains("common"),
            "{weak}: {body}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn signup_does_not_tell_whether_an_email_exists() {
    let server = TestServer::start().await;
    let signup = |email: &'static str, password: &'static str| {
        call(
            &server,
            Method::POST,
            "/api/v1/members",
            None,
            Some(
                json!({"email": email, "password": password, "display_name": "李雷", "kind": "personal"}),
            ),
        )
    };
    let first = signup("li.lei@example.com", PASSWORD).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().contains_key("location"));
    let first: Value = first.json().await.unwrap();
    let again = signup("LI.LEI@EXAMPLE.COM", "another Passw0rd").await;
    assert_eq!(again.status(), 201, "a taken e-mail gets the same answer");
    assert!(again.headers().contains_key("location"));
    let again: Value = again.json().await.unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&first), keys(&again));
    assert_eq!(first["email"], again["email"]);
    assert_ne!(first["id"], again["id"]);
    // Nothing was created or changed: the owner's password still works, the other does not.
    session(&server, "li.lei@example.com").await;
    assert_problem(
        login(&server, "li.lei@example.com", "another Passw0rd").await,
        401,
        "invalid_credentials",
    )
    .await;
    let dir = server.stop().await;
    let events = events_in(&dir).await;
    let registered = events.iter().filter(|e| e.0 == "member.registered").count();
    assert_eq!(registered, 1, "{events:?}");
    assert!(events.iter().any(|e| e.0 == "user.signup_with_taken_email"));
}

/// A member user made by the administrator, with a password, logged in, with an API token:
/// (user id, session, token).
async fn person(server: &TestServer, email: &str) -> (String, String, String) {
    let res = call(
        server,
        Method::POST,
        "/api/v1/admin/users",
        Some(ADMIN_TOKEN),
        Some(
            json!({"email": email, "display_name": "张三", "password": PASSWORD,
                    "kind": {"type": "member", "member_kind": "personal"}}),
        ),
    )
    .await;
    let id = json_of(res, 201).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = session(server, email).await;
    let res = call(
        server,
        Method::POST,
        "/api/v1/tokens",
        Some(&session),
        Some(json!({"label": "ci"})),
    )
    .await;
    let token = json_of(res, 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, session, token)
}

async fn me_status(server: &TestServer, token: &str) -> u16 {
    call(server, Method::GET, "/api/v1/me", Some(token), None)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_disabled_users_sessions_and_tokens_are_refused_at_once_and_enabling_restores_its_tokens()
{
    let server = TestServer::start().await;
    let (id, session, token) = person(&server, "zhang@example.com").await;
    assert_eq!(
        (
            me_status(&server, &session).await,
            me_status(&server, &token).await
        ),
        (200, 200)
    );
    // Only an operator administrator may.
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/admin/users/{id}/disable"),
            Some(&token),
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let res = call(
        &server,
        Method::POST,
        &format!("/api/v1/admin/users/{id}/disable"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(json_of(res, 200).await["status"], "disabled");
    // At once, although both were just authenticated (and cached).
    assert_problem(
        call(&server, Method::GET, "/api/v1/me", Some(&session), None).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        call(&server, Method::GET, "/api/v1/me", Some(&token), None).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        login(&server, "zhang@example.com", PASSWORD).await,
        403,
        "user_disabled",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/admin/users/{id}/disable"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await,
        409,
        "already_disabled",
    )
    .await;
    let res = call(
        &server,
        Method::POST,
        &format!("/api/v1/admin/users/{id}/enable"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(json_of(res, 200).await["status"], "active");
    assert_eq!(
        me_status(&server, &token).await,
        200,
        "API tokens come back"
    );
    assert_eq!(
        me_status(&server, &session).await,
        401,
        "sessions were ended"
    );
    session_of(&server, "zhang@example.com", PASSWORD).await;
    let dir = server.stop().await;
    let kinds: Vec<String> = events_in(&dir).await.into_iter().map(|e| e.0).collect();
    assert!(
        kinds.contains(&"user.disabled".into()) && kinds.contains(&"user.enabled".into()),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_user_disabled_through_another_server_process_is_refused_within_the_cache_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.admin_token = Some(ADMIN_TOKEN.into());
    let data = config.data_dir.clone();
    let a = TestServer::start_in(dir, config, Router::new()).await;
    let other = tempfile::tempdir().unwrap();
    let mut config = test_config(&other);
    config.data_dir = data;
    config.admin_token = Some(ADMIN_TOKEN.into());
    config.listen = "127.0.0.1:0".into();
    let b = TestServer::start_in(other, config, Router::new()).await;
    let (id, _, token) = person(&a, "li.si@example.com").await;
    assert_eq!(me_status(&b, &token).await, 200, "B has it cached now");
    let res = call(
        &a,
        Method::POST,
        &format!("/api/v1/admin/users/{id}/disable"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    json_of(res, 200).await;
    tokio::time::sleep(
        yunshi_server::kernel::principal_cache::TTL + std::time::Duration::from_millis(200),
    )
    .await;
    assert_eq!(
        me_status(&b, &token).await,
        401,
        "B refuses it within the TTL"
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_user_changes_its_password_with_the_current_one_and_its_other_sessions_end() {
    let server = TestServer::start().await;
    let (_, session, token) = person(&server, "wang.wu@example.com").await;
    let other = session_of(&server, "wang.wu@example.com", PASSWORD).await;
    let change = |current: &'static str, new: &'static str, bearer: String| {
        let server = &server;
        async move {
            call(
                server,
                Method::POST,
                "/api/v1/me/password",
                Some(&bearer),
                Some(json!({"current_password": current, "new_password": new})),
            )
            .await
        }
    };
    assert_problem(
        change("wrong Passw0rd 9", "新的 Passw0rd 2026", session.clone()).await,
        403,
        "wrong_password",
    )
    .await;
    assert_problem(
        change(PASSWORD, "Password12", session.clone()).await,
        422,
        "weak_password",
    )
    .await;
    assert_problem(
        change(PASSWORD, "新的 Passw0rd 2026", token.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        change(PASSWORD, "新的 Passw0rd 2026", session.clone())
            .await
            .status(),
        204
    );
    assert_eq!(
        me_status(&server, &session).await,
        200,
        "this session stays"
    );
    assert_eq!(me_status(&server, &other).await, 401, "the others end");
    assert_eq!(me_status(&server, &token).await, 200, "API tokens stay");
    assert_problem(
        login(&server, "wang.wu@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    session_of(&server, "wang.wu@example.com", "新的 Passw0rd 2026").await;
    let dir = server.stop().await;
    assert!(
        events_in(&dir)
            .await
            .iter()
            .any(|e| e.0 == "user.password_changed")
    );
}

async fn session_of(server: &TestServer, email: &str, password: &str) -> String {
    let body = json_of(login(server, email, password).await, 201).await;
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_operator_reset_token_sets_a_password_once_and_expires_after_a_day() {
    let s = TestServer::start_at("2026-04-01T01:00:00Z").await;
    let client = reqwest::Client::new();
    let url = |p: &str| s.url(p);
    let res = post_at(
        &client,
        url("/api/v1/admin/users"),
        Some(ADMIN_TOKEN),
        json!({"email": "r@example.com", "display_name": "r", "password": PASSWORD,
               "kind": {"type": "operator_staff", "roles": ["finance"]}}),
    )
    .await;
    let id = json_of(res, 201).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = json_of(
        post_at(
            &client,
            url("/api/v1/sessions"),
            None,
            json!({"email": "r@example.com", "password": PASSWORD}),
        )
        .await,
        201,
    )
    .await;
    let old = old["token"].as_str().unwrap().to_owned();
    let issue = || {
        let (client, u) = (
            client.clone(),
            url(&format!("/api/v1/admin/users/{id}/password-reset")),
        );
        async move { post_at(&client, u, Some(ADMIN_TOKEN), json!({})).await }
    };
    let first = json_of(issue().await, 201).await;
    assert_eq!(first["expires_at"], "2026-04-02T01:00:00Z");
    let second = json_of(issue().await, 201).await;
    let reset = |token: Value, new: &'static str| {
        let (client, u) = (client.clone(), url("/api/v1/password-resets"));
        async move {
            post_at(
                &client,
                u,
                None,
                json!({"token": token, "new_password": new}),
            )
            .await
        }
    };
    // A reset token is no bearer credential.
    let me = call_at(
        &client,
        &url("/api/v1/me"),
        Method::GET,
        second["token"].as_str(),
        None,
    )
    .await;
    assert_problem(me, 401, "unauthorized").await;
    assert_problem(
        reset(first["token"].clone(), "重置后的 Passw0rd").await,
        403,
        "reset_token_invalid",
    )
    .await;
    assert_problem(
        reset(second["token"].clone(), "password123").await,
        422,
        "weak_password",
    )
    .await;
    assert_eq!(
        reset(second["token"].clone(), "重置后的 Passw0rd")
            .await
            .status(),
        204
    );
    assert_problem(
        reset(second["token"].clone(), "再次 Passw0rd 1").await,
        403,
        "reset_token_invalid",
    )
    .await;
    let me = call_at(&client, &url("/api/v1/me"), Method::GET, Some(&old), None).await;
    assert_problem(me, 401, "unauthorized").await;
    json_of(
        post_at(
            &client,
            url("/api/v1/sessions"),
            None,
            json!({"email": "r@example.com", "password": "重置后的 Passw0rd"}),
        )
        .await,
        201,
    )
    .await;
    // A token not used within 24 hours stops working.
    let third = json_of(issue().await, 201).await;
    s.clock().advance(SignedDuration::from_hours(24)).unwrap();
    assert_problem(
        reset(third["token"].clone(), "太迟了 Passw0rd 1").await,
        403,
        "reset_token_invalid",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn an_administrator_lists_and_revokes_a_users_sessions_and_tokens_and_a_user_its_own_sessions()
 {
    let server = TestServer::start().await;
    let (id, session, token) = person(&server, "zhao@example.com").await;
    let second = session_of(&server, "zhao@example.com", PASSWORD).await;
    let path = format!("/api/v1/admin/users/{id}/tokens");
    let list = json_of(
        call(&server, Method::GET, &path, Some(ADMIN_TOKEN), None).await,
        200,
    )
    .await;
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["session", "api", "session"]);
    assert!(!list.to_string().contains(&token), "never a secret");
    // Only an administrator sees another user's.
    assert_problem(
        call(&server, Method::GET, &path, Some(&token), None).await,
        403,
        "forbidden",
    )
    .await;
    let api_id = list["items"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(
            &server,
            Method::DELETE,
            &format!("{path}/{api_id}"),
            Some(ADMIN_TOKEN),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(me_status(&server, &token).await, 401);
    assert_problem(
        call(
            &server,
            Method::DELETE,
            &format!("{path}/{api_id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // The user sees its own sessions, marks the current one and ends the other.
    let own = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/sessions",
            Some(&session),
            None,
        )
        .await,
        200,
    )
    .await;
    let items = own["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0]["current"].as_bool(), items[1]["current"].as_bool()),
        (Some(true), Some(false))
    );
    let other_id = items[1]["id"].as_str().unwrap();
    assert_eq!(
        call(
            &server,
            Method::DELETE,
            &format!("/api/v1/sessions/{other_id}"),
            Some(&session),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(me_status(&server, &second).await, 401);
    assert_eq!(me_status(&server, &session).await, 200);
    // Another user's session id is not found among one's own.
    let (_, stranger, _) = person(&server, "qian@example.com").await;
    let mine = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/sessions",
            Some(&session),
            None,
        )
        .await,
        200,
    )
    .await;
    let mine = mine["items"][0]["id"].as_str().unwrap().to_owned();
    assert_problem(
        call(
            &server,
            Method::DELETE,
            &format!("/api/v1/sessions/{mine}"),
            Some(&stranger),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let dir = server.stop().await;
    let kinds: Vec<String> = events_in(&dir).await.into_iter().map(|e| e.0).collect();
    assert!(
        kinds.contains(&"user.token_revoked".into())
            && kinds.contains(&"user.session_revoked".into()),
        "{kinds:?}"
    );
}

/// Disable, enable and password reset, on whichever backend the server has.
async fn lifecycle_on(server: &TestServer) {
    let (id, session, token) = person(server, "pg.person@example.com").await;
    let disable = format!("/api/v1/admin/users/{id}/disable");
    json_of(
        call(server, Method::POST, &disable, Some(ADMIN_TOKEN), None).await,
        200,
    )
    .await;
    assert_eq!(me_status(server, &session).await, 401);
    assert_eq!(me_status(server, &token).await, 401);
    let enable = format!("/api/v1/admin/users/{id}/enable");
    json_of(
        call(server, Method::POST, &enable, Some(ADMIN_TOKEN), None).await,
        200,
    )
    .await;
    assert_eq!(me_status(server, &token).await, 200);
    let reset = format!("/api/v1/admin/users/{id}/password-reset");
    let issued = json_of(
        call(server, Method::POST, &reset, Some(ADMIN_TOKEN), None).await,
        201,
    )
    .await;
    let res = call(
        server,
        Method::POST,
        "/api/v1/password-resets",
        None,
        Some(json!({"token": issued["token"], "new_password": "重置后的 Passw0rd"})),
    )
    .await;
    assert_eq!(res.status(), 204);
    session_of(server, "pg.person@example.com", "重置后的 Passw0rd").await;
}
