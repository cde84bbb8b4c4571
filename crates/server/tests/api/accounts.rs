//! Accounts, roles and isolation over real HTTP (issue 3 item 1): registration, login
//! sessions, API tokens, operator roles, tenant isolation and bad input.

use std::sync::Arc;

use axum::Router;
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};
use yunshi_core::time::SimulatedClock;
use yunshi_server::Server;

use crate::helpers::{ADMIN_TOKEN, TestServer, assert_problem, call, json_of, test_config};

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
    let body = assert_problem(res, 409, "email_taken").await;
    assert_eq!(body["title"], "Conflict with the current state");
    // Operator administrators cannot reuse it either.
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
    assert_eq!(
        seen["verification"]["details"]["id_number"],
        "110*************2X"
    );
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

/// A server on a simulated clock the test moves.
struct ClockedServer {
    addr: std::net::SocketAddr,
    clock: SimulatedClock,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), yunshi_server::ServeError>>,
    _dir: tempfile::TempDir,
}

async fn clocked_server() -> ClockedServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.admin_token = Some(ADMIN_TOKEN.into());
    let mut settings = config.resolve().unwrap();
    let clock = SimulatedClock::starting_at("2026-04-01T01:00:00Z".parse::<Timestamp>().unwrap());
    settings.clock = Arc::new(clock.clone());
    let server = Server::bind_with(settings, Router::new()).await.unwrap();
    let addr = server.local_addr();
    let (shutdown, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    ClockedServer {
        addr,
        clock,
        shutdown,
        task,
        _dir: dir,
    }
}

#[tokio::test]
async fn sessions_end_after_twelve_hours_and_tokens_at_their_expiry() {
    let s = clocked_server().await;
    let client = reqwest::Client::new();
    let url = |p: &str| format!("http://{}{}", s.addr, p);
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
    assert_eq!(login["expires_at"], "2026-04-01T13:00:00Z");
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

    s.clock
        .advance(SignedDuration::from_hours(12) - SignedDuration::from_secs(1))
        .unwrap();
    assert_eq!(me(session.clone()).await.status(), 200);
    s.clock.advance(SignedDuration::from_secs(1)).unwrap();
    assert_problem(me(session.clone()).await, 401, "unauthorized").await;
    assert_eq!(me(token.clone()).await.status(), 200);
    s.clock.advance(SignedDuration::from_hours(12)).unwrap();
    assert_problem(me(token).await, 401, "unauthorized").await;

    let _ = s.shutdown.send(());
    s.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn accounts_work_on_postgres() {
    let Ok(pg) = std::env::var("YUNSHI_TEST_PG") else {
        println!("SKIPPED: YUNSHI_TEST_PG not set");
        return;
    };
    let base = pg.trim().trim_end_matches('/').to_owned();
    let db = format!(
        "yunshi_acct_{}",
        &uuid::Uuid::now_v7().simple().to_string()[16..]
    );
    let (admin, conn) = tokio_postgres::connect(&format!("{base}/postgres"), tokio_postgres::NoTls)
        .await
        .expect("connect to YUNSHI_TEST_PG");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let url = format!("{base}/{db}");
    // In a task, so the database is dropped even when an assertion fails.
    let outcome = tokio::spawn(async move {
        let server = TestServer::start_with(
            |c| {
                c.database_url = Some(url);
                c.admin_token = Some(ADMIN_TOKEN.into());
            },
            Router::new(),
        )
        .await;
        member_lifecycle(&server).await;
        let res = call(
            &server,
            Method::POST,
            "/api/v1/members",
            None,
            Some(json!({
                "email": "wang.fang@example.com", "password": PASSWORD,
                "display_name": "x", "kind": "personal"
            })),
        )
        .await;
        assert_problem(res, 409, "email_taken").await;
        server.stop().await;
    })
    .await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
