//! Provider onboarding and stores over real HTTP (issue 3 items 2, 3): the whole walk from
//! application to open store, tenancy and roles, upload limits, deposit idempotency.

use axum::Router;
use reqwest::Method;
use serde_json::{Value, json};
use yunshi_core::Fen;
use yunshi_core::ledger::{Account, AccountKind};
use yunshi_server::kernel::sha256::sha256_hex;
use yunshi_store::Store;

use crate::helpers::{ADMIN_TOKEN, TestServer, assert_problem, json_of, on_postgres};

const PASSWORD: &str = "云市场 Passw0rd";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";

struct Api<'a> {
    server: &'a TestServer,
}

impl Api<'_> {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        self.server.call(method, path, token, None, body).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    async fn upload(
        &self,
        app: &str,
        token: &str,
        kind: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let path = format!("/api/v1/onboarding/applications/{app}/materials?kind={kind}");
        self.server
            .request(Method::POST, &path, Some(token), None)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    async fn deposit(
        &self,
        app: &str,
        token: &str,
        key: Option<&str>,
        body: Value,
    ) -> reqwest::Response {
        let path = format!("/api/v1/onboarding/applications/{app}/deposit-payments");
        self.server
            .request(Method::POST, &path, Some(token), key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// An enterprise member registered and logged in: (member id, user id, session token).
    async fn member(&self, email: &str) -> (String, String, String) {
        let res = self
            .call(
                Method::POST,
                "/api/v1/members",
                None,
                Some(json!({
                    "email": email, "password": PASSWORD, "display_name": "云帆科技",
                    "kind": "enterprise"
                })),
            )
            .await;
        let member = json_of(res, 201).await;
        let res = self
            .call(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        let session = json_of(res, 201).await;
        (
            member["id"].as_str().unwrap().to_owned(),
            session["user"]["id"].as_str().unwrap().to_owned(),
            session["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Operator staff with `roles` and an API token.
    async fn staff(&self, email: &str, roles: &[&str]) -> String {
        let res = self
            .post(
                "/api/v1/admin/users",
                ADMIN_TOKEN,
                json!({"email": email, "display_name": "员工",
                       "kind": {"type": "operator_staff", "roles": roles}}),
            )
            .await;
        let id = json_of(res, 201).await["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = self
            .post(
                &format!("/api/v1/admin/users/{id}/tokens"),
                ADMIN_TOKEN,
                json!({"label": "automation"}),
            )
            .await;
        json_of(res, 201).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn status_of(app: &Value) -> &str {
    app["application"]["status"]["status"].as_str().unwrap()
}

/// A draft application with every required upload: (application id, view).
async fn applied_with_materials(api: &Api<'_>, token: &str) -> (String, Value) {
    let res = api
        .post(
            "/api/v1/onboarding/applications",
            token,
            json!({"store_name": "云帆科技官方店"}),
        )
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let app = json_of(res, 201).await;
    let id = app["application"]["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/onboarding/applications/{id}"));
    assert_eq!(status_of(&app), "draft");
    let missing: Vec<String> = serde_json::from_value(app["missing_materials"].clone()).unwrap();
    assert_eq!(
        missing,
        [
            "business_licence",
            "legal_representative_id",
            "contact_details",
            "service_info"
        ]
    );
    let mut last = app;
    for kind in &missing {
        let (ct, bytes) = if kind == "legal_representative_id" {
            ("image/png", PNG)
        } else {
            ("application/pdf", PDF)
        };
        last = json_of(api.upload(&id, token, kind, ct, bytes.to_vec()).await, 201).await;
    }
    assert_eq!(last["missing_materials"], json!([]));
    (id, last)
}

/// Provider registers and applies → reviewer asks for more material → resubmits → approved
/// → agreement → deposit (replays answer the same, no double posting) → store open; the
/// trial balance stays zero. Returns the provider id.
async fn the_full_onboarding_walk(server: &TestServer, db: &Store) -> String {
    let api = Api { server };
    let reviewer = api.staff("reviewer@yunshi.example", &["reviewer"]).await;
    let finance = api.staff("finance@yunshi.example", &["finance"]).await;
    let (_, user_id, token) = api.member("acme@example.com").await;
    let (app_id, app) = applied_with_materials(&api, &token).await;
    let provider_id = app["application"]["provider"].as_str().unwrap().to_owned();

    // The stored file is the upload, byte for byte, with its SHA-256 recorded.
    let licence = app["application"]["materials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "business_licence")
        .unwrap()
        .clone();
    assert_eq!(licence["sha256"], sha256_hex(PDF));
    assert_eq!(licence["size_bytes"], PDF.len());
    assert_eq!(licence["content_type"], "application/pdf");
    let file = api
        .get(
            &format!(
                "/api/v1/onboarding/files/{}",
                licence["file_id"].as_str().unwrap()
            ),
            &reviewer,
        )
        .await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(file.bytes().await.unwrap().as_ref(), PDF);

    let submitted = json_of(
        api.post(
            &format!("/api/v1/onboarding/applications/{app_id}/submit"),
            &token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(status_of(&submitted), "submitted");

    // The reviewer finds it in the queue and asks for more material.
    let page = json_of(
        api.get(
            "/api/v1/admin/onboarding/applications?status=submitted&limit=10",
            &reviewer,
        )
        .await,
        200,
    )
    .await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["application"]["id"] == app_id.as_str()),
        "{page}"
    );
    let admin = |step: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{step}");
    let review = json_of(api.post(&admin("review"), &reviewer, json!({})).await, 200).await;
    assert_eq!(status_of(&review), "under_review");
    let more = json_of(
        api.post(
            &admin("more-material"),
            &reviewer,
            json!({"kinds": ["business_licence"], "note": "营业执照副本不清晰，请重新上传"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(status_of(&more), "needs_more_material");
    assert_eq!(
        more["application"]["status"]["kinds"],
        json!(["business_licence"])
    );

    // Resubmitting without the new licence is refused; with it, accepted.
    let resubmit = format!("/api/v1/onboarding/applications/{app_id}/resubmit");
    assert_problem(
        api.post(&resubmit, &token, json!({})).await,
        422,
        "materials_missing",
    )
    .await;
    let sharper = [PDF, b"% sharper scan\n"].concat();
    json_of(
        api.upload(
            &app_id,
            &token,
            "business_licence",
            "application/pdf",
            sharper.clone(),
        )
        .await,
        201,
    )
    .await;
    let again = json_of(api.post(&resubmit, &token, json!({})).await, 200).await;
    assert_eq!(status_of(&again), "resubmitted");

    // Under review again: approval needs the verification; finance staff cannot approve.
    json_of(api.post(&admin("review"), &reviewer, json!({})).await, 200).await;
    assert_problem(
        api.post(
            &admin("approve"),
            &reviewer,
            json!({"partner_member": true}),
        )
        .await,
        409,
        "verification_missing",
    )
    .await;
    json_of(
        api.post(
            &admin("verification"),
            &reviewer,
            json!({"decision": "verified"}),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        api.post(&admin("approve"), &finance, json!({"partner_member": true}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let approved = json_of(
        api.post(
            &admin("approve"),
            &reviewer,
            json!({"partner_member": true}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(status_of(&approved), "approved");

    // The agreement in force, accepted by id: signer the user, time the clock's.
    let agreement = json_of(
        api.call(Method::GET, "/api/v1/onboarding/agreement", None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(
        agreement["sha256"],
        sha256_hex(agreement["text"].as_str().unwrap().as_bytes())
    );
    let accept = format!("/api/v1/onboarding/applications/{app_id}/agreement");
    assert_problem(
        api.post(
            &accept,
            &token,
            json!({"agreement_id": "provider-agreement-1999"}),
        )
        .await,
        409,
        "agreement_outdated",
    )
    .await;
    let accepted = json_of(
        api.post(&accept, &token, json!({"agreement_id": agreement["id"]}))
            .await,
        200,
    )
    .await;
    assert_eq!(status_of(&accepted), "agreement_accepted");
    assert_eq!(
        accepted["application"]["agreement"]["version"],
        agreement["id"]
    );
    assert_eq!(
        accepted["application"]["agreement"]["signer"],
        user_id.as_str()
    );
    assert_eq!(accepted["deposit_outstanding"], "10000.00");

    // The deposit in two parts; each key is one effect.
    let part = json_of(
        api.deposit(&app_id, &token, Some("dep-1"), json!({"amount": "4000.00"}))
            .await,
        201,
    )
    .await;
    assert_eq!(part["application"]["deposit_outstanding"], "6000.00");
    assert_eq!(part["provider_status"], "applying");
    assert!(part["store"].is_null());
    let replay = json_of(
        api.deposit(&app_id, &token, Some("dep-1"), json!({"amount": "4000.00"}))
            .await,
        201,
    )
    .await;
    assert_eq!(replay, part);
    assert_problem(
        api.deposit(&app_id, &token, Some("dep-1"), json!({"amount": "5000.00"}))
            .await,
        422,
        "idempotency_key_reused",
    )
    .await;
    assert_problem(
        api.deposit(&app_id, &token, Some("dep-x"), json!({"amount": "6000.01"}))
            .await,
        422,
        "deposit_exceeds_outstanding",
    )
    .await;
    let whole = json_of(
        api.deposit(&app_id, &token, Some("dep-2"), json!({"amount": "6000.00"}))
            .await,
        201,
    )
    .await;
    assert_eq!(status_of(&whole["application"]), "admitted");
    assert_eq!(whole["provider_status"], "active");
    assert_eq!(whole["store"]["state"]["state"], "open");
    assert_eq!(whole["store"]["store"]["name"], "云帆科技官方店");
    let replay = json_of(
        api.deposit(&app_id, &token, Some("dep-2"), json!({"amount": "6000.00"}))
            .await,
        201,
    )
    .await;
    assert_eq!(replay, whole);
    // Paying again under a new key is refused: the application is admitted.
    assert_problem(
        api.deposit(&app_id, &token, Some("dep-3"), json!({"amount": "1.00"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;

    // Exactly the deposit is held, once; the ledger balances.
    let held = db
        .balance(&Account::new(
            AccountKind::DepositsHeld,
            provider_id.as_str(),
        ))
        .await
        .unwrap();
    assert_eq!(held.fen().abs(), "10000.00".parse::<Fen>().unwrap().fen());
    assert_eq!(db.trial_balance().await.unwrap(), 0);

    // The provider's own reads: provider active, store open and shown.
    let own = json_of(api.get("/api/v1/onboarding/provider", &token).await, 200).await;
    assert_eq!(own["provider"]["status"]["status"], "active");
    assert_eq!(own["stores"].as_array().unwrap().len(), 1);
    let stores = json_of(api.get("/api/v1/stores", &token).await, 200).await;
    let store = &stores["items"][0];
    assert_eq!(store["state"]["state"], "open");
    assert_eq!(
        store["visibility"],
        json!({"store_shown": true, "products_shown": true, "may_publish": true})
    );
    let store_id = store["store"]["id"].as_str().unwrap();
    json_of(
        api.get(&format!("/api/v1/stores/{store_id}"), &token).await,
        200,
    )
    .await;

    // Another provider sees none of it.
    let (_, _, other) = api.member("rival@example.com").await;
    json_of(
        api.post("/api/v1/onboarding/applications", &other, json!({}))
            .await,
        201,
    )
    .await;
    for path in [
        format!("/api/v1/onboarding/applications/{app_id}"),
        format!("/api/v1/stores/{store_id}"),
        format!(
            "/api/v1/onboarding/files/{}",
            licence["file_id"].as_str().unwrap()
        ),
    ] {
        assert_problem(api.get(&path, &other).await, 404, "not_found").await;
    }
    assert_problem(
        api.post(
            &format!("/api/v1/onboarding/applications/{app_id}/submit"),
            &other,
            json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let theirs = json_of(api.get("/api/v1/stores", &other).await, 200).await;
    assert_eq!(theirs["items"], json!([]));
    assert_eq!(db.trial_balance().await.unwrap(), 0);
    provider_id
}

fn db_path(server: &TestServer) -> String {
    server
        .dir
        .path()
        .join("data")
        .join("yunshi.db")
        .display()
        .to_string()
}

#[tokio::test]
async fn the_full_onboarding_walk_ends_with_an_open_store_and_a_balanced_ledger() {
    let server = TestServer::start().await;
    let db = Store::open(&db_path(&server)).await.unwrap();
    the_full_onboarding_walk(&server, &db).await;
    db.close().await;
    server.stop().await;
}

#[tokio::test]
async fn deposit_needs_an_idempotency_key_and_known_fields_only() {
    let server = TestServer::start().await;
    let api = Api { server: &server };
    let (_, _, token) = api.member("acme@example.com").await;
    let (app_id, _) = applied_with_materials(&api, &token).await;
    assert_problem(
        api.deposit(&app_id, &token, None, json!({"amount": "10000.00"}))
            .await,
        400,
        "idempotency_key_required",
    )
    .await;
    assert_problem(
        api.deposit(
            &app_id,
            &token,
            Some("k"),
            json!({"amount": "10000.00", "tip": 1}),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        api.deposit(&app_id, &token, Some("k"), json!({"amount": "-5.00"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;
    // Unknown members are refused everywhere.
    assert_problem(
        api.post(
            "/api/v1/onboarding/applications",
            &token,
            json!({"store": "x"}),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_and_wrongly_typed_uploads_are_refused_with_problems() {
    // The default configuration: its 1 MiB general body limit must not cap uploads.
    let server =
        TestServer::start_with(|c| c.admin_token = Some(ADMIN_TOKEN.into()), Router::new()).await;
    let api = Api { server: &server };
    let (_, _, token) = api.member("acme@example.com").await;
    let res = api
        .post("/api/v1/onboarding/applications", &token, json!({}))
        .await;
    let app = json_of(res, 201).await;
    let id = app["application"]["id"].as_str().unwrap();

    // A 3 MiB scan, above the general JSON limit, is a normal upload.
    let mut scan = PDF.to_vec();
    scan.resize(3 * 1024 * 1024, b' ');
    json_of(
        api.upload(id, &token, "business_licence", "application/pdf", scan)
            .await,
        201,
    )
    .await;

    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    assert_problem(
        api.upload(id, &token, "business_licence", "application/pdf", big)
            .await,
        413,
        "material_too_large",
    )
    .await;
    for (ct, bytes) in [
        ("text/plain", b"hello".to_vec()),
        ("application/zip", b"PK\x03\x04".to_vec()),
        ("application/pdf", PNG.to_vec()),
        ("image/jpeg", PDF.to_vec()),
    ] {
        assert_problem(
            api.upload(id, &token, "business_licence", ct, bytes).await,
            415,
            "unsupported_material_type",
        )
        .await;
    }
    assert_problem(
        api.upload(
            id,
            &token,
            "business_licence",
            "application/pdf",
            Vec::new(),
        )
        .await,
        422,
        "invalid_material",
    )
    .await;
    assert_problem(
        api.upload(id, &token, "deposit_paid", "application/pdf", PDF.to_vec())
            .await,
        422,
        "material_not_uploadable",
    )
    .await;
    assert_problem(
        api.upload(id, &token, "no_such_kind", "application/pdf", PDF.to_vec())
            .await,
        400,
        "invalid_request",
    )
    .await;
    // Nothing was attached by any of the refusals: only the 3 MiB scan is there.
    let now = json_of(
        api.get(&format!("/api/v1/onboarding/applications/{id}"), &token)
            .await,
        200,
    )
    .await;
    let materials = now["application"]["materials"].as_array().unwrap();
    assert_eq!(materials.len(), 1);
    assert_eq!(materials[0]["size_bytes"], json!(3 * 1024 * 1024));
    server.stop().await;
}

#[tokio::test]
async fn only_members_apply_and_only_reviewers_review() {
    let server = TestServer::start().await;
    let api = Api { server: &server };
    let finance = api.staff("finance@yunshi.example", &["finance"]).await;
    assert_problem(
        api.post("/api/v1/onboarding/applications", &finance, json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        api.call(
            Method::POST,
            "/api/v1/onboarding/applications",
            None,
            Some(json!({})),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;
    let (_, _, token) = api.member("acme@example.com").await;
    let (app_id, _) = applied_with_materials(&api, &token).await;
    // One open application at a time.
    assert_problem(
        api.post("/api/v1/onboarding/applications", &token, json!({}))
            .await,
        409,
        "application_open",
    )
    .await;
    assert_problem(
        api.get("/api/v1/admin/onboarding/applications", &finance)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        api.get("/api/v1/admin/onboarding/applications", &token)
            .await,
        403,
        "forbidden",
    )
    .await;
    // The applicant cannot review its own application.
    assert_problem(
        api.post(
            &format!("/api/v1/admin/onboarding/applications/{app_id}/review"),
            &token,
            json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Operator staff see the application but do not act as the applicant.
    json_of(
        api.get(
            &format!("/api/v1/onboarding/applications/{app_id}"),
            &finance,
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        api.post(
            &format!("/api/v1/onboarding/applications/{app_id}/submit"),
            &finance,
            json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Paging: limit and after.
    let reviewer = api.staff("reviewer@yunshi.example", &["reviewer"]).await;
    let (_, _, second) = api.member("second@example.com").await;
    applied_with_materials(&api, &second).await;
    let first = json_of(
        api.get(
            "/api/v1/admin/onboarding/applications?status=draft&limit=1",
            &reviewer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let after = first["next_after"].as_str().unwrap();
    let next = json_of(
        api.get(
            &format!("/api/v1/admin/onboarding/applications?status=draft&limit=1&after={after}"),
            &reviewer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert!(next["next_after"].is_null());
    assert_ne!(
        next["items"][0]["application"]["id"],
        first["items"][0]["application"]["id"]
    );
    server.stop().await;
}

#[tokio::test]
async fn onboarding_works_on_postgres() {
    on_postgres(|db| async move {
        let server = TestServer::start_on(&db, Router::new()).await;
        let store = Store::open(&db.url()).await.unwrap();
        the_full_onboarding_walk(&server, &store).await;
        store.close().await;
        server.stop().await;
    })
    .await;
}

/// A member taken through onboarding without detours: (session token, provider id, store id).
async fn active_provider(api: &Api<'_>, email: &str, reviewer: &str) -> (String, String, String) {
    let (_, _, token) = api.member(email).await;
    let (app_id, app) = applied_with_materials(api, &token).await;
    let provider = app["application"]["provider"].as_str().unwrap().to_owned();
    let step = |s: &str| format!("/api/v1/onboarding/applications/{app_id}/{s}");
    let admin = |s: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{s}");
    json_of(api.post(&step("submit"), &token, json!({})).await, 200).await;
    json_of(api.post(&admin("review"), reviewer, json!({})).await, 200).await;
    json_of(
        api.post(
            &admin("verification"),
            reviewer,
            json!({"decision": "verified"}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        api.post(&admin("approve"), reviewer, json!({"partner_member": true}))
            .await,
        200,
    )
    .await;
    json_of(
        api.post(
            &step("agreement"),
            &token,
            json!({"agreement_id": "provider-agreement-2021-v1"}),
        )
        .await,
        200,
    )
    .await;
    let paid = json_of(
        api.deposit(&app_id, &token, Some("d"), json!({"amount": "10000.00"}))
            .await,
        201,
    )
    .await;
    let store = paid["store"]["store"]["id"].as_str().unwrap().to_owned();
    (token, provider, store)
}

#[tokio::test]
async fn a_store_changes_hands_only_with_operator_consent() {
    let server = TestServer::start().await;
    let api = Api { server: &server };
    let reviewer = api.staff("reviewer@yunshi.example", &["reviewer"]).await;
    let finance = api.staff("finance@yunshi.example", &["finance"]).await;
    let (a, _, store) = active_provider(&api, "a@example.com", &reviewer).await;
    let (b, b_id, _) = active_provider(&api, "b@example.com", &reviewer).await;
    let request = format!("/api/v1/stores/{store}/transfer");
    // B cannot give away A's store: to B it does not exist.
    assert_problem(
        api.post(&request, &b, json!({"to_provider": b_id})).await,
        404,
        "not_found",
    )
    .await;
    let pending = json_of(
        api.post(&request, &a, json!({"to_provider": b_id})).await,
        200,
    )
    .await;
    assert_eq!(pending["store"]["pending_transfer"]["to"], b_id.as_str());
    let approve = format!("/api/v1/admin/stores/{store}/transfer/approve");
    assert_problem(
        api.post(&approve, &finance, json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(api.post(&approve, &a, json!({})).await, 403, "forbidden").await;
    let moved = json_of(api.post(&approve, &reviewer, json!({})).await, 200).await;
    assert_eq!(moved["store"]["provider"], b_id.as_str());
    assert!(moved["store"]["transfers"][0]["joint_liability_until"].is_string());
    assert_problem(
        api.get(&format!("/api/v1/stores/{store}"), &a).await,
        404,
        "not_found",
    )
    .await;
    let theirs = json_of(api.get("/api/v1/stores", &b).await, 200).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 2);
    // A refused transfer leaves the store where it is.
    json_of(
        api.post(
            &request,
            &b,
            json!({"to_provider": "00000000-0000-0000-0000-000000000000"}),
        )
        .await,
        404,
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_changed_material_not_redeclared_in_time_becomes_overdue() {
    use axum::extract::{Query, State};
    use axum::routing::post;
    use std::collections::HashMap;
    use yunshi_server::AppState;

    // A test-only route that fires due deadlines as of `?at=`.
    async fn fire(
        State(state): State<AppState>,
        Query(q): Query<HashMap<String, String>>,
    ) -> axum::Json<Value> {
        let at = q["at"].parse().unwrap();
        let report = yunshi_server::kernel::deadlines::fire_due(&state, at, 100)
            .await
            .unwrap();
        axum::Json(serde_json::to_value(report).unwrap())
    }
    let server = TestServer::start_with(
        |c| c.admin_token = Some(ADMIN_TOKEN.into()),
        Router::new().route("/test/fire", post(fire)),
    )
    .await;
    let api = Api { server: &server };
    let reviewer = api.staff("reviewer@yunshi.example", &["reviewer"]).await;
    let (token, _, _) = active_provider(&api, "a@example.com", &reviewer).await;
    let today = yunshi_core::time::beijing_date(jiff::Timestamp::now());
    let reported = json_of(
        api.post(
            "/api/v1/onboarding/provider/material-changes",
            &token,
            json!({"kind": "business_licence", "change": "expired", "effective_on": today}),
        )
        .await,
        200,
    )
    .await;
    let pending = &reported["pending_redeclarations"][0];
    assert_eq!(pending["overdue"], false);
    let due: jiff::Timestamp = pending["due_at"].as_str().unwrap().parse().unwrap();
    assert!(due > jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 29));
    // Nothing fires before it is due; at the due time it fires once.
    let early = due - jiff::SignedDuration::from_secs(1);
    let report = json_of(
        api.call(Method::POST, &format!("/test/fire?at={early}"), None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(report["fired"], 0);
    let report = json_of(
        api.call(Method::POST, &format!("/test/fire?at={due}"), None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(report["fired"], 1, "{report}");
    let own = json_of(api.get("/api/v1/onboarding/provider", &token).await, 200).await;
    assert_eq!(
        own["provider"]["pending_redeclarations"][0]["overdue"],
        true
    );
    // Re-declared late: settled.
    let path = "/api/v1/onboarding/provider/materials?kind=business_licence";
    let res = api
        .server
        .request(Method::POST, path, Some(&token), None)
        .header("content-type", "application/pdf")
        .body(PDF.to_vec())
        .send()
        .await
        .unwrap();
    let settled = json_of(res, 201).await;
    assert_eq!(settled["pending_redeclarations"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn every_onboarding_endpoint_is_in_the_openapi_document_with_examples() {
    let server = TestServer::start().await;
    let doc: Value = server
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/onboarding/applications", "post"),
        ("/api/v1/onboarding/applications/{id}", "get"),
        ("/api/v1/onboarding/applications/{id}/materials", "post"),
        ("/api/v1/onboarding/applications/{id}/submit", "post"),
        ("/api/v1/onboarding/applications/{id}/resubmit", "post"),
        ("/api/v1/onboarding/applications/{id}/withdraw", "post"),
        ("/api/v1/onboarding/applications/{id}/agreement", "post"),
        (
            "/api/v1/onboarding/applications/{id}/deposit-payments",
            "post",
        ),
        ("/api/v1/onboarding/files/{id}", "get"),
        ("/api/v1/onboarding/provider", "get"),
        ("/api/v1/onboarding/provider/material-changes", "post"),
        ("/api/v1/onboarding/provider/materials", "post"),
        ("/api/v1/onboarding/agreement", "get"),
        ("/api/v1/admin/onboarding/applications", "get"),
        ("/api/v1/admin/onboarding/applications/{id}/review", "post"),
        (
            "/api/v1/admin/onboarding/applications/{id}/more-material",
            "post",
        ),
        ("/api/v1/admin/onboarding/applications/{id}/approve", "post"),
        ("/api/v1/admin/onboarding/applications/{id}/reject", "post"),
        (
            "/api/v1/admin/onboarding/applications/{id}/verification",
            "post",
        ),
        ("/api/v1/stores", "get"),
        ("/api/v1/stores/{id}", "get"),
        ("/api/v1/stores/{id}/transfer", "post"),
        ("/api/v1/admin/stores/{id}/transfer/approve", "post"),
        ("/api/v1/admin/stores/{id}/transfer/reject", "post"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} not documented"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "StartApplication",
        "ApplicationView",
        "DepositPayment",
        "DepositPaymentView",
        "MoreMaterialRequest",
        "AgreementView",
        "StoreView",
    ] {
        assert!(
            schemas[name]["example"].is_object(),
            "{name} has no example"
        );
    }
    let deposit = &paths["/api/v1/onboarding/applications/{id}/deposit-payments"]["post"];
    assert!(
        deposit["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key"),
        "{deposit}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_freeze_ends_when_its_stored_deadline_fires() {
    use axum::extract::{Path, Query, State};
    use axum::routing::post;
    use std::collections::HashMap;
    use yunshi_core::decision::Context;
    use yunshi_server::AppState;
    use yunshi_server::kernel::pipeline::{NewIds, add_outcome, aggregate_write};
    use yunshi_store::WriteBatch;

    /// Governance stand-in: freezes the store for a day (the freeze itself is issue 4's).
    async fn freeze(
        State(state): State<AppState>,
        Path(id): Path<uuid::Uuid>,
    ) -> axum::Json<Value> {
        let loaded = yunshi_server::kernel::repo::providers::load_store(&state, id)
            .await
            .unwrap()
            .unwrap();
        let now = jiff::Timestamp::now();
        let rulebook = state
            .rulebooks
            .marketplace_at(yunshi_core::time::beijing_date(now))
            .unwrap()
            .as_marketplace()
            .unwrap();
        let until = now + jiff::SignedDuration::from_hours(24);
        let (frozen, outcome) = {
            let mut ids = NewIds;
            let mut ctx = Context {
                now,
                rulebook,
                calendar: &state.calendar,
                ids: &mut ids,
            };
            loaded.state.freeze(until, "case ALI-1", &mut ctx).unwrap()
        };
        let mut batch = WriteBatch::default();
        batch.aggregates.push(
            aggregate_write(
                "store",
                id,
                Some(loaded.version),
                frozen.provider.to_string(),
                frozen.status_label(now),
                &frozen,
                now,
            )
            .unwrap(),
        );
        add_outcome(&mut batch, outcome, now);
        state.store.commit(batch).await.unwrap();
        axum::Json(json!({ "until": until }))
    }
    async fn fire(
        State(state): State<AppState>,
        Query(q): Query<HashMap<String, String>>,
    ) -> axum::Json<Value> {
        let at = q["at"].parse().unwrap();
        let report = yunshi_server::kernel::deadlines::fire_due(&state, at, 100)
            .await
            .unwrap();
        axum::Json(serde_json::to_value(report).unwrap())
    }
    let server = TestServer::start_with(
        |c| c.admin_token = Some(ADMIN_TOKEN.into()),
        Router::new()
            .route("/test/freeze/{id}", post(freeze))
            .route("/test/fire", post(fire)),
    )
    .await;
    let api = Api { server: &server };
    let reviewer = api.staff("reviewer@yunshi.example", &["reviewer"]).await;
    let (token, _, store) = active_provider(&api, "a@example.com", &reviewer).await;
    let frozen = json_of(
        api.call(Method::POST, &format!("/test/freeze/{store}"), None, None)
            .await,
        200,
    )
    .await;
    let view = json_of(
        api.get(&format!("/api/v1/stores/{store}"), &token).await,
        200,
    )
    .await;
    assert_eq!(view["state"]["state"], "frozen");
    assert_eq!(view["visibility"]["products_shown"], false);
    let until = frozen["until"].as_str().unwrap();
    let report = json_of(
        api.call(Method::POST, &format!("/test/fire?at={until}"), None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(report["fired"], 1, "{report}");
    let view = json_of(
        api.get(&format!("/api/v1/stores/{store}"), &token).await,
        200,
    )
    .await;
    assert!(view["store"]["freeze"].is_null(), "{view}");
    assert_eq!(view["state"]["state"], "open");
    // Firing again finds nothing due.
    let report = json_of(
        api.call(Method::POST, &format!("/test/fire?at={until}"), None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(report["claimed"], 0, "{report}");
    server.stop().await;
}

#[tokio::test]
async fn concurrent_replays_of_one_deposit_payment_move_money_once() {
    let server = TestServer::start().await;
    let db = Store::open(&db_path(&server)).await.unwrap();
    let api = Api { server: &server };
    let reviewer = api.staff("reviewer@yunshi.example", &["reviewer"]).await;
    let (_, _, token) = api.member("acme@example.com").await;
    let (app_id, app) = applied_with_materials(&api, &token).await;
    let provider = app["application"]["provider"].as_str().unwrap().to_owned();
    let step = |s: &str| format!("/api/v1/onboarding/applications/{app_id}/{s}");
    let admin = |s: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{s}");
    json_of(api.post(&step("submit"), &token, json!({})).await, 200).await;
    json_of(api.post(&admin("review"), &reviewer, json!({})).await, 200).await;
    json_of(
        api.post(
            &admin("verification"),
            &reviewer,
            json!({"decision": "verified"}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        api.post(
            &admin("approve"),
            &reviewer,
            json!({"partner_member": true}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        api.post(
            &step("agreement"),
            &token,
            json!({"agreement_id": "provider-agreement-2021-v1"}),
        )
        .await,
        200,
    )
    .await;
    let replies = futures_join(20, || {
        api.deposit(
            &app_id,
            &token,
            Some("same-key"),
            json!({"amount": "10000.00"}),
        )
    })
    .await;
    let mut bodies = Vec::new();
    for res in replies {
        bodies.push(json_of(res, 201).await);
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "answers differ");
    assert_eq!(bodies[0]["provider_status"], "active");
    let held = db
        .balance(&Account::new(AccountKind::DepositsHeld, provider.as_str()))
        .await
        .unwrap();
    assert_eq!(held.fen().abs(), 1_000_000);
    assert_eq!(db.trial_balance().await.unwrap(), 0);
    let stores = json_of(api.get("/api/v1/stores", &token).await, 200).await;
    assert_eq!(
        stores["items"].as_array().unwrap().len(),
        1,
        "one store opened"
    );
    db.close().await;
    server.stop().await;
}

/// Runs `n` requests at once.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<reqwest::Response>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let mut set = Vec::with_capacity(n);
    for _ in 0..n {
        set.push(make());
    }
    let mut out = Vec::with_capacity(n);
    let mut pinned: Vec<_> = set.into_iter().map(Box::pin).collect();
    // Poll all together.
    loop {
        if pinned.is_empty() {
            break;
        }
        let (res, _idx, rest) = select_all(pinned).await;
        out.push(res);
        pinned = rest;
    }
    out
}

async fn select_all<Fut>(
    futures: Vec<std::pin::Pin<Box<Fut>>>,
) -> (Fut::Output, usize, Vec<std::pin::Pin<Box<Fut>>>)
where
    Fut: std::future::Future,
{
    let mut futures = futures;
    std::future::poll_fn(move |cx| {
        for i in 0..futures.len() {
            if let std::task::Poll::Ready(v) = futures[i].as_mut().poll(cx) {
                drop(futures.remove(i));
                let rest = std::mem::take(&mut futures);
                return std::task::Poll::Ready((v, i, rest));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

#[tokio::test]
async fn a_rejected_applicant_may_apply_again_with_a_reason_given() {
    let server = TestServer::start().await;
    let api = Api { server: &server };
    let reviewer = api.staff("reviewer@yunshi.example", &["reviewer"]).await;
    let (_, _, token) = api.member("acme@example.com").await;
    let (app_id, app) = applied_with_materials(&api, &token).await;
    let provider = app["application"]["provider"].clone();
    let admin = |s: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{s}");
    json_of(
        api.post(
            &format!("/api/v1/onboarding/applications/{app_id}/submit"),
            &token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    json_of(api.post(&admin("review"), &reviewer, json!({})).await, 200).await;
    assert_problem(
        api.post(&admin("reject"), &reviewer, json!({"reason": "  "}))
            .await,
        422,
        "reason_required",
    )
    .await;
    let rejected = json_of(
        api.post(
            &admin("reject"),
            &reviewer,
            json!({"reason": "营业执照与认证主体不一致"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(status_of(&rejected), "rejected");
    assert_eq!(
        rejected["application"]["status"]["reason"],
        "营业执照与认证主体不一致"
    );
    // The same provider applies again.
    let again = json_of(
        api.post("/api/v1/onboarding/applications", &token, json!({}))
            .await,
        201,
    )
    .await;
    assert_eq!(again["application"]["provider"], provider);
    assert_ne!(again["application"]["id"], app_id.as_str());
    server.stop().await;
}
