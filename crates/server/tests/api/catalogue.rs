//! Products, listing review and the catalogue over real HTTP (issue 3 item 4): automatic
//! checks, deposit rule, review of updates while the live version stays, tenancy, roles,
//! search, and bad input.
//!
//! Provider onboarding is built in parallel, so a test route writes the `provider` and
//! `store` aggregates straight through the store, the way onboarding will.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use yunshi_server::{ApiJson, AppState};
use yunshi_store::{AggregateWrite, UniqueKey, WriteBatch};

use crate::helpers::{ADMIN_TOKEN, TestServer, assert_problem, call, json_of, on_postgres};

/// Test-only: writes an onboarded provider (active = deposit fully paid, or still applying)
/// and one open store of it.
async fn seed_provider(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Value>,
) -> &'static str {
    let provider = req["provider"].as_str().unwrap().to_owned();
    let store = req["store"].as_str().unwrap().to_owned();
    let active = req["active"].as_bool().unwrap();
    let now = state.clock.now();
    let status = if active {
        json!({"status": "active", "since": now})
    } else {
        json!({"status": "applying", "application": null})
    };
    let provider_state = json!({
        "id": provider, "member": Uuid::now_v7(), "entity": "enterprise", "status": status,
        "verification": {"status": "unverified"}, "materials": [],
        "pending_redeclarations": [], "material_requests": [], "registered_at": now
    });
    let store_state = json!({
        "id": store, "provider": provider, "name": "测试店铺", "category": null,
        "opened_at": now, "freeze": null, "block": null, "deposit_closure": null,
        "hidden": null, "closed": null, "pending_transfer": null, "transfers": []
    });
    let write = |kind: &str, id: &str, status: &str, state: Value| AggregateWrite {
        kind: kind.into(),
        id: Uuid::parse_str(id).unwrap(),
        expected_version: None,
        owner: provider.clone(),
        status: status.into(),
        state,
        at: now,
    };
    let unique_keys = match req["member"].as_str() {
        Some(member) => vec![UniqueKey {
            scope: "provider.member".into(),
            key: member.to_owned(),
            id: Uuid::parse_str(&provider).unwrap(),
        }],
        None => vec![],
    };
    let batch = WriteBatch {
        unique_keys,
        aggregates: vec![
            write(
                "provider",
                &provider,
                if active { "active" } else { "applying" },
                provider_state,
            ),
            write("store", &store, "open", store_state),
        ],
        ..WriteBatch::default()
    };
    state.store.commit(batch).await.unwrap();
    "ok"
}

/// Test-only: hides a store (ALI-A 3.8.4: provider unreachable), as onboarding's operator
/// measures will.
async fn hide_store(State(state): State<AppState>, ApiJson(req): ApiJson<Value>) -> &'static str {
    let id = Uuid::parse_str(req["store"].as_str().unwrap()).unwrap();
    let row = state.store.aggregate("store", id).await.unwrap().unwrap();
    let now = state.clock.now();
    let mut store_state = row.state.clone();
    store_state["hidden"] = json!({"since": now, "reason": "服务商失联"});
    let batch = WriteBatch {
        aggregates: vec![AggregateWrite {
            kind: "store".into(),
            id,
            expected_version: Some(row.version),
            owner: row.owner,
            status: "hidden".into(),
            state: store_state,
            at: now,
        }],
        ..WriteBatch::default()
    };
    state.store.commit(batch).await.unwrap();
    "ok"
}

/// Test-only: what orders will feed back — a product's paid-order count (on the product
/// record) and its rating accumulator (the `product_rating` aggregate).
async fn seed_stats(State(state): State<AppState>, ApiJson(req): ApiJson<Value>) -> &'static str {
    let id = Uuid::parse_str(req["product"].as_str().unwrap()).unwrap();
    let now = state.clock.now();
    let row = state.store.aggregate("product", id).await.unwrap().unwrap();
    // Sales are orders' `product_sales` count (paid orders not refunded in full).
    let mut aggregates = vec![AggregateWrite {
        kind: "product_sales".into(),
        id,
        expected_version: None,
        owner: row.owner.clone(),
        status: String::new(),
        state: json!({"paid": req["sales"], "refunded": 0}),
        at: now,
    }];
    if let Some(scores) = req["ratings"].as_array() {
        let sum: u64 = scores.iter().map(|s| s.as_u64().unwrap() * 100).sum();
        aggregates.push(AggregateWrite {
            kind: "product_rating".into(),
            id,
            expected_version: None,
            owner: row.owner,
            status: "rated".into(),
            state: json!({"count": scores.len(), "sum": sum}),
            at: now,
        });
    }
    let batch = WriteBatch {
        aggregates,
        ..WriteBatch::default()
    };
    state.store.commit(batch).await.unwrap();
    "ok"
}

fn seed_routes() -> Router<AppState> {
    Router::new()
        .route("/test/seed-provider", post(seed_provider))
        .route("/test/hide-store", post(hide_store))
        .route("/test/stats", post(seed_stats))
}

pub async fn start() -> TestServer {
    TestServer::start_with(|c| c.admin_token = Some(ADMIN_TOKEN.into()), seed_routes()).await
}

/// A user made by the bootstrap admin, with an API token.
async fn user(server: &TestServer, kind: Value) -> String {
    user_with_kind(server, kind).await.1
}

/// A user made by the bootstrap admin: its kind as answered, and an API token.
async fn user_with_kind(server: &TestServer, kind: Value) -> (Value, String) {
    let email = format!("u{}@example.com", Uuid::now_v7().simple());
    let res = call(
        server,
        Method::POST,
        "/api/v1/admin/users",
        Some(ADMIN_TOKEN),
        Some(json!({"email": email, "display_name": "员工", "kind": kind})),
    )
    .await;
    let created = json_of(res, 201).await;
    let id = created["user"]["id"].as_str().unwrap().to_owned();
    let res = call(
        server,
        Method::POST,
        &format!("/api/v1/admin/users/{id}/tokens"),
        Some(ADMIN_TOKEN),
        Some(json!({"label": "test"})),
    )
    .await;
    let token = json_of(res, 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    (created["user"]["kind"].clone(), token)
}

/// A provider (deposit paid or not) with a store and a staff token.
pub struct Provider {
    pub id: String,
    pub store: String,
    pub token: String,
}

pub async fn provider(server: &TestServer, deposit_paid: bool) -> Provider {
    let id = Uuid::now_v7().to_string();
    let store = Uuid::now_v7().to_string();
    let res = call(
        server,
        Method::POST,
        "/test/seed-provider",
        None,
        Some(json!({"provider": id, "store": store, "active": deposit_paid})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let token = user(
        server,
        json!({"type": "provider_staff", "provider_id": id, "role": "staff"}),
    )
    .await;
    Provider { id, store, token }
}

pub async fn reviewer(server: &TestServer) -> String {
    user(
        server,
        json!({"type": "operator_staff", "roles": ["reviewer"]}),
    )
    .await
}

async fn member(server: &TestServer) -> String {
    user(server, json!({"type": "member", "member_kind": "personal"})).await
}

/// A listing every built-in rulebook accepts and no check flags.
fn content(title: &str, description: &str) -> Value {
    json!({
        "title": title,
        "images": ["upload:cover"],
        "attributes": [{"name": "部署方式", "value": "镜像部署"}],
        "description": description,
        "terms": "购买即表示同意本产品服务协议。",
        "delisting_strategy": "下架后已购用户可继续使用至服务期满，数据可随时导出。",
        "open_source": [{"name": "restic", "licence": "BSD-2-Clause"}],
        "own_product_page": "https://www.example-isv.cn/backup-pro",
        "refund_terms": "担保期外不予退款。"
    })
}

fn new_product(p: &Provider, category: &str, pricing: &str, price: &str, content: Value) -> Value {
    json!({
        "store": p.store, "category": category, "sales_mode": "self_sold",
        "pricing": pricing, "price": price, "refund_policy": "no_refund", "content": content
    })
}

async fn create(server: &TestServer, p: &Provider, body: Value) -> Value {
    json_of(
        call(
            server,
            Method::POST,
            "/api/v1/products",
            Some(&p.token),
            Some(body),
        )
        .await,
        201,
    )
    .await
}

async fn post_empty(server: &TestServer, path: &str, token: &str) -> reqwest::Response {
    call(server, Method::POST, path, Some(token), None).await
}

/// Creates, submits and approves (acknowledging any finding): a live product's id.
pub async fn live_product(
    server: &TestServer,
    p: &Provider,
    reviewer: &str,
    category: &str,
    price: &str,
    title: &str,
    description: &str,
) -> String {
    let pricing = if price == "0.00" { "free" } else { "one_off" };
    let created = create(
        server,
        p,
        new_product(p, category, pricing, price, content(title, description)),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let submitted = json_of(
        post_empty(server, &format!("/api/v1/products/{id}/submit"), &p.token).await,
        200,
    )
    .await;
    let acks: Vec<Value> = submitted["pending"]["submission"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| json!({"finding": f["id"]}))
        .collect();
    let approved = json_of(
        call(
            server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/approve"),
            Some(reviewer),
            Some(json!({"acknowledged": acks})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "listed", "{approved}");
    id
}

async fn search(server: &TestServer, query: &str) -> Value {
    json_of(server.get(&format!("/api/v1/catalogue?{query}")).await, 200).await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"].as_str().unwrap().to_owned())
        .collect()
}

/// The story of the acceptance test's listing step: a "最优" claim is flagged with its field
/// and offset, the reviewer rejects citing it, the provider fixes it, the fixed version is
/// approved, and a buyer without login finds it by a Chinese substring.
pub async fn absolute_claim_story(server: &TestServer) {
    let a = provider(server, true).await;
    let reviewer = reviewer(server).await;
    let description = "本工具是市场上最优的备份方案，支持增量备份。";
    let created = create(
        server,
        &a,
        new_product(
            &a,
            "image",
            "one_off",
            "1000.00",
            content("云数据备份工具 Backup Pro", description),
        ),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "unlisted");
    assert_eq!(created["pending"]["status"], "draft");
    assert_eq!(created["pending"]["terms"]["price"], "1000.00");

    // The checks before submitting: the claim, its field and char offsets, both languages.
    let checks = json_of(
        call(
            server,
            Method::GET,
            &format!("/api/v1/products/{id}/checks"),
            Some(&a.token),
            None,
        )
        .await,
        200,
    )
    .await;
    let findings = checks["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{checks}");
    let f = &findings[0];
    assert_eq!(f["kind"], "absolute_claim");
    assert_eq!(f["path"]["field"], "description");
    assert_eq!(f["matched"], "最优");
    let offset = description.chars().take_while(|c| *c != '最').count();
    assert_eq!(f["start"], offset);
    assert_eq!(f["end"], offset + 2);
    assert!(f["message"]["zh_cn"].as_str().unwrap().contains("最优"));
    assert!(!f["message"]["en"].as_str().unwrap().is_empty());
    assert_eq!(checks["missing_fields"], json!([]));
    assert_eq!(checks["deposit_fully_paid"], true);

    // Submitted: the finding is recorded on the version and shown in the reviewer's queue.
    let submitted = json_of(
        post_empty(server, &format!("/api/v1/products/{id}/submit"), &a.token).await,
        200,
    )
    .await;
    assert_eq!(submitted["pending"]["status"], "submitted");
    assert_eq!(
        submitted["pending"]["submission"]["findings"][0]["term"],
        "最优"
    );
    let queue = json_of(
        call(
            server,
            Method::GET,
            "/api/v1/review/listings",
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product"] == id.as_str())
        .expect("in the queue")
        .clone();
    assert_eq!(item["update_of_live"], false);
    assert_eq!(
        item["version"]["submission"]["findings"][0]["kind"],
        "absolute_claim"
    );

    // Approval needs every finding acknowledged.
    assert_problem(
        call(
            server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/approve"),
            Some(&reviewer),
            Some(json!({})),
        )
        .await,
        422,
        "findings_not_acknowledged",
    )
    .await;
    // The reviewer rejects, citing the finding.
    let rejected = json_of(
        call(
            server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/reject"),
            Some(&reviewer),
            Some(json!({"findings": [1], "note": "请删除绝对化用语"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rejected["pending"]["status"], "rejected");
    let queue = json_of(
        call(
            server,
            Method::GET,
            "/api/v1/review/listings",
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(!ids_of_queue(&queue).contains(&id));

    // The provider fixes the description: a new version, and the checks are clean.
    let fixed = json_of(
        call(
            server,
            Method::PUT,
            &format!("/api/v1/products/{id}/draft"),
            Some(&a.token),
            Some(json!({
                "pricing": "one_off", "price": "1000.00", "refund_policy": "no_refund",
                "content": content("云数据备份工具 Backup Pro", "稳定可靠的数据备份方案，支持增量备份。")
            })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(fixed["pending"]["number"], 2);
    assert_eq!(fixed["pending"]["status"], "draft");
    let checks = json_of(
        call(
            server,
            Method::GET,
            &format!("/api/v1/products/{id}/checks"),
            Some(&a.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(checks["findings"], json!([]), "{checks}");
    json_of(
        post_empty(server, &format!("/api/v1/products/{id}/submit"), &a.token).await,
        200,
    )
    .await;
    // Not in the catalogue before approval.
    assert!(!ids(&search(server, "q=%E5%A4%87%E4%BB%BD").await).contains(&id));
    assert_problem(
        server.get(&format!("/api/v1/catalogue/{id}")).await,
        404,
        "not_found",
    )
    .await;
    let approved = json_of(
        call(
            server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/approve"),
            Some(&reviewer),
            Some(json!({"acknowledged": []})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "listed");
    assert_eq!(approved["live"]["number"], 2);
    assert!(approved["pending"].is_null());

    // A buyer, not logged in, finds it by a Chinese substring of the description ("数据备份").
    let page = search(server, "q=%E6%95%B0%E6%8D%AE%E5%A4%87%E4%BB%BD").await; // 数据备份
    assert_eq!(ids(&page), [id.as_str()]);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["price"], "1000.00");
    assert_eq!(page["items"][0]["provider"], a.id.as_str());
    let detail = json_of(server.get(&format!("/api/v1/catalogue/{id}")).await, 200).await;
    assert_eq!(detail["price"], "1000.00");
    assert_eq!(detail["refund_policy"], "no_refund");
    assert_eq!(detail["content"]["refund_terms"], "担保期外不予退款。");
    assert_eq!(detail["refund_class"]["refundable"], true);
    assert_eq!(detail["provider"], a.id.as_str());
    assert_eq!(detail["sales"], 0);
    assert!(detail["rating"].is_null());
}

fn ids_of_queue(queue: &Value) -> Vec<String> {
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_absolute_claim_is_flagged_with_field_and_offset_fixed_approved_and_found_by_chinese_substring()
 {
    let server = start().await;
    absolute_claim_story(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_paid_product_submitted_without_deposit_is_refused_with_deposit_missing() {
    let server = start().await;
    let unpaid = provider(&server, false).await;
    let created = create(
        &server,
        &unpaid,
        new_product(
            &unpaid,
            "image",
            "one_off",
            "1000.00",
            content("镜像 A", "一个镜像。"),
        ),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let checks = json_of(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/products/{id}/checks"),
            Some(&unpaid.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(checks["deposit_fully_paid"], false);
    let body = assert_problem(
        post_empty(
            &server,
            &format!("/api/v1/products/{id}/submit"),
            &unpaid.token,
        )
        .await,
        409,
        "deposit_missing",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("deposit"));
    // Nothing was written: still a draft.
    let product = json_of(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/products/{id}"),
            Some(&unpaid.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(product["pending"]["status"], "draft");
    // A free product needs no deposit.
    let free = create(
        &server,
        &unpaid,
        new_product(
            &unpaid,
            "image",
            "free",
            "0.00",
            content("免费镜像", "一个免费镜像。"),
        ),
    )
    .await;
    let free_id = free["id"].as_str().unwrap();
    json_of(
        post_empty(
            &server,
            &format!("/api/v1/products/{free_id}/submit"),
            &unpaid.token,
        )
        .await,
        200,
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_update_to_a_live_product_keeps_the_old_version_in_the_catalogue_until_approved() {
    let server = start().await;
    let a = provider(&server, true).await;
    let reviewer = reviewer(&server).await;
    let id = live_product(
        &server,
        &a,
        &reviewer,
        "image",
        "1000.00",
        "旧标题镜像",
        "第一版描述。",
    )
    .await;

    let update = json!({
        "pricing": "one_off", "price": "1200.00", "refund_policy": "no_refund",
        "content": content("新标题镜像", "第二版描述。")
    });
    let edited = json_of(
        call(
            &server,
            Method::PUT,
            &format!("/api/v1/products/{id}/draft"),
            Some(&a.token),
            Some(update),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["status"], "listed");
    assert_eq!(edited["live"]["content"]["title"], "旧标题镜像");
    assert_eq!(edited["pending"]["content"]["title"], "新标题镜像");
    let submitted = json_of(
        post_empty(&server, &format!("/api/v1/products/{id}/submit"), &a.token).await,
        200,
    )
    .await;
    assert_eq!(submitted["pending"]["status"], "submitted");

    // Under review: the catalogue still shows the old version and its price.
    let detail = json_of(server.get(&format!("/api/v1/catalogue/{id}")).await, 200).await;
    assert_eq!(detail["content"]["title"], "旧标题镜像");
    assert_eq!(detail["price"], "1000.00");
    assert_eq!(detail["version"], 1);
    assert_eq!(
        ids(&search(&server, "q=%E6%97%A7%E6%A0%87%E9%A2%98").await),
        [id.as_str()]
    );
    assert!(ids(&search(&server, "q=%E6%96%B0%E6%A0%87%E9%A2%98").await).is_empty());
    let queue = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/review/listings",
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    let item = &queue["items"][0];
    assert_eq!(item["product"], id.as_str());
    assert_eq!(item["update_of_live"], true);
    assert_eq!(item["status"], "listed");

    // Approved: the new version replaces the old one.
    json_of(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/approve"),
            Some(&reviewer),
            Some(json!({"acknowledged": []})),
        )
        .await,
        200,
    )
    .await;
    let detail = json_of(server.get(&format!("/api/v1/catalogue/{id}")).await, 200).await;
    assert_eq!(detail["content"]["title"], "新标题镜像");
    assert_eq!(detail["price"], "1200.00");
    assert_eq!(detail["version"], 2);

    // An update can be dropped: the live version stays.
    let update = json!({
        "pricing": "one_off", "price": "1300.00", "refund_policy": "no_refund",
        "content": content("第三版", "第三版描述。")
    });
    json_of(
        call(
            &server,
            Method::PUT,
            &format!("/api/v1/products/{id}/draft"),
            Some(&a.token),
            Some(update),
        )
        .await,
        200,
    )
    .await;
    let dropped = json_of(
        call(
            &server,
            Method::DELETE,
            &format!("/api/v1/products/{id}/draft"),
            Some(&a.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(dropped["pending"].is_null());
    assert_eq!(dropped["live"]["content"]["title"], "新标题镜像");
    assert_problem(
        call(
            &server,
            Method::DELETE,
            &format!("/api/v1/products/{id}/draft"),
            Some(&a.token),
            None,
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;

    // Delisted by the provider: gone from search and the product page; relisted: back.
    json_of(
        post_empty(&server, &format!("/api/v1/products/{id}/delist"), &a.token).await,
        200,
    )
    .await;
    assert!(ids(&search(&server, "").await).is_empty());
    assert_problem(
        server.get(&format!("/api/v1/catalogue/{id}")).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        post_empty(&server, &format!("/api/v1/products/{id}/delist"), &a.token).await,
        409,
        "invalid_transition",
    )
    .await;
    json_of(
        post_empty(&server, &format!("/api/v1/products/{id}/relist"), &a.token).await,
        200,
    )
    .await;
    assert_eq!(ids(&search(&server, "").await), [id.as_str()]);
    server.stop().await;
}

#[tokio::test]
async fn provider_b_cannot_read_or_edit_provider_a_products() {
    let server = start().await;
    let a = provider(&server, true).await;
    let b = provider(&server, true).await;
    let created = create(
        &server,
        &a,
        new_product(
            &a,
            "image",
            "one_off",
            "10.00",
            content("A 的镜像", "A 的描述。"),
        ),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let draft = json!({
        "pricing": "one_off", "price": "1.00", "refund_policy": "no_refund",
        "content": content("B 改的", "B 改的。")
    });
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/products/{id}"), None),
        (Method::GET, format!("/api/v1/products/{id}/checks"), None),
        (
            Method::PUT,
            format!("/api/v1/products/{id}/draft"),
            Some(draft.clone()),
        ),
        (Method::POST, format!("/api/v1/products/{id}/submit"), None),
        (
            Method::POST,
            format!("/api/v1/products/{id}/withdraw"),
            None,
        ),
        (Method::POST, format!("/api/v1/products/{id}/delist"), None),
        (Method::POST, format!("/api/v1/products/{id}/relist"), None),
    ] {
        let res = call(&server, method.clone(), &path, Some(&b.token), body).await;
        assert_problem(res, 404, "not_found").await;
    }
    // B cannot create a product in A's store either.
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/products",
            Some(&b.token),
            Some(new_product(
                &a,
                "image",
                "one_off",
                "1.00",
                content("x", "y"),
            )),
        )
        .await,
        422,
        "unknown_store",
    )
    .await;
    // Each lists only its own.
    let list_a = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/products",
            Some(&a.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list_a["items"].as_array().unwrap().len(), 1);
    let list_b = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/products",
            Some(&b.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list_b["items"], json!([]));
    // A's product is untouched.
    let product = json_of(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/products/{id}"),
            Some(&a.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(product["pending"]["content"]["title"], "A 的镜像");
    // A's staff can read; no token is 401.
    assert_problem(
        server.get(&format!("/api/v1/products/{id}")).await,
        401,
        "unauthorized",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_member_cannot_approve_and_only_listing_reviewers_review() {
    let server = start().await;
    let a = provider(&server, true).await;
    let reviewer = reviewer(&server).await;
    let member = member(&server).await;
    let finance = user(
        &server,
        json!({"type": "operator_staff", "roles": ["finance"]}),
    )
    .await;
    let created = create(
        &server,
        &a,
        new_product(&a, "image", "one_off", "10.00", content("镜像", "描述。")),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    json_of(
        post_empty(&server, &format!("/api/v1/products/{id}/submit"), &a.token).await,
        200,
    )
    .await;
    for token in [&member, &finance, &a.token] {
        assert_problem(
            call(
                &server,
                Method::POST,
                &format!("/api/v1/review/listings/{id}/approve"),
                Some(token),
                Some(json!({"acknowledged": []})),
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
                &format!("/api/v1/review/listings/{id}/reject"),
                Some(token),
                Some(json!({"note": "no"})),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            call(
                &server,
                Method::GET,
                "/api/v1/review/listings",
                Some(token),
                None,
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    // Members have no products and cannot create any.
    assert_problem(
        call(
            &server,
            Method::GET,
            "/api/v1/products",
            Some(&member),
            None,
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
            "/api/v1/products",
            Some(&member),
            Some(new_product(
                &a,
                "image",
                "one_off",
                "1.00",
                content("x", "y"),
            )),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // A member cannot read a provider's product (404); the reviewer can, and cannot edit it.
    assert_problem(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/products/{id}"),
            Some(&member),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    json_of(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/products/{id}"),
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        post_empty(
            &server,
            &format!("/api/v1/products/{id}/withdraw"),
            &reviewer,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // The bootstrap admin has the capability but no user to record the decision against.
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/approve"),
            Some(ADMIN_TOKEN),
            Some(json!({"acknowledged": []})),
        )
        .await,
        403,
        "user_required",
    )
    .await;
    // Rejection reasons come from the rulebook; the reviewer approves a clean listing.
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/reject"),
            Some(&reviewer),
            Some(json!({})),
        )
        .await,
        422,
        "rejection_reason_required",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/reject"),
            Some(&reviewer),
            Some(json!({"reasons": ["too_ugly"]})),
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
            &format!("/api/v1/review/listings/{id}/approve"),
            Some(&reviewer),
            Some(json!({"acknowledged": [{"finding": 7}]})),
        )
        .await,
        422,
        "unknown_finding",
    )
    .await;
    let approved = json_of(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/approve"),
            Some(&reviewer),
            Some(json!({"acknowledged": []})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "listed");
    // Approving again: nothing is under review.
    assert_problem(
        call(
            &server,
            Method::POST,
            &format!("/api/v1/review/listings/{id}/approve"),
            Some(&reviewer),
            Some(json!({"acknowledged": []})),
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn withdrawing_takes_a_version_out_of_the_review_queue_and_back_to_draft() {
    let server = start().await;
    let a = provider(&server, true).await;
    let reviewer = reviewer(&server).await;
    let created = create(
        &server,
        &a,
        new_product(&a, "tool", "yearly", "99.00", content("工具", "描述。")),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    json_of(
        post_empty(&server, &format!("/api/v1/products/{id}/submit"), &a.token).await,
        200,
    )
    .await;
    // Under review the draft cannot be edited.
    assert_problem(
        call(
            &server,
            Method::PUT,
            &format!("/api/v1/products/{id}/draft"),
            Some(&a.token),
            Some(json!({"pricing": "yearly", "price": "98.00", "refund_policy": "no_refund", "content": content("工具", "描述。")})),
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;
    let queue = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/review/listings",
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids_of_queue(&queue), [id.as_str()]);
    let withdrawn = json_of(
        post_empty(
            &server,
            &format!("/api/v1/products/{id}/withdraw"),
            &a.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(withdrawn["pending"]["status"], "draft");
    let queue = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/review/listings",
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(ids_of_queue(&queue).is_empty());
    assert_problem(
        post_empty(
            &server,
            &format!("/api/v1/products/{id}/withdraw"),
            &a.token,
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;
    // Resubmitted: back in the queue.
    json_of(
        post_empty(&server, &format!("/api/v1/products/{id}/submit"), &a.token).await,
        200,
    )
    .await;
    let queue = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/review/listings",
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids_of_queue(&queue), [id.as_str()]);
    server.stop().await;
}

#[tokio::test]
async fn catalogue_search_filters_by_category_price_and_provider_and_sorts_by_price() {
    let server = start().await;
    let a = provider(&server, true).await;
    let b = provider(&server, true).await;
    let reviewer = reviewer(&server).await;
    let img_cheap = live_product(
        &server,
        &a,
        &reviewer,
        "image",
        "100.00",
        "备份镜像 基础版",
        "数据库备份。",
    )
    .await;
    let img_dear = live_product(
        &server,
        &a,
        &reviewer,
        "image",
        "3000.00",
        "备份镜像 企业版",
        "整机备份。",
    )
    .await;
    let service = live_product(
        &server,
        &b,
        &reviewer,
        "service",
        "1500.00",
        "运维服务",
        "提供数据库备份运维。",
    )
    .await;
    let free = live_product(
        &server,
        &b,
        &reviewer,
        "tool",
        "0.00",
        "日志工具",
        "免费的日志查看工具。",
    )
    .await;

    // Text: every word in the title or the description; title hits rank first.
    let page = search(&server, "q=%E5%A4%87%E4%BB%BD").await; // 备份
    assert_eq!(page["total"], 3);
    let got = ids(&page);
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[2], service,
        "a description-only hit ranks after title hits"
    );
    // Several words: each must appear.
    assert_eq!(
        ids(&search(&server, "q=%E6%97%A5%E5%BF%97%20%E5%B7%A5%E5%85%B7").await),
        [free.as_str()]
    );

    assert_eq!(
        ids(&search(&server, "category=service").await),
        [service.as_str()]
    );
    assert_eq!(
        ids(&search(&server, &format!("provider={}&sort=price_asc", a.id)).await),
        [img_cheap.clone(), img_dear.clone()]
    );
    assert_eq!(
        ids(&search(&server, "sort=price_asc").await),
        [
            free.clone(),
            img_cheap.clone(),
            service.clone(),
            img_dear.clone()
        ]
    );
    assert_eq!(
        ids(&search(&server, "sort=price_desc").await),
        [
            img_dear.clone(),
            service.clone(),
            img_cheap.clone(),
            free.clone()
        ]
    );
    assert_eq!(
        ids(&search(&server, "min_price=100&max_price=1500.00&sort=price_asc").await),
        [img_cheap.clone(), service.clone()]
    );
    // Sales and ratings are zero until orders report them: the order is by product id.
    let mut by_id = vec![
        img_cheap.clone(),
        img_dear.clone(),
        service.clone(),
        free.clone(),
    ];
    by_id.sort();
    assert_eq!(ids(&search(&server, "sort=sales").await), by_id);
    assert_eq!(ids(&search(&server, "sort=rating").await), by_id);
    // Paging.
    let p2 = search(&server, "sort=price_asc&page=2&page_size=3").await;
    assert_eq!(ids(&p2), [img_dear.as_str()]);
    assert_eq!(p2["total"], 4);
    assert_eq!(p2["page"], 2);

    for bad in [
        "sort=cheapest",
        "category=games",
        "min_price=abc",
        "min_price=-1",
        "min_price=10&max_price=5",
        "provider=nope",
        "page=0",
        "page=x",
        "page_size=1000",
    ] {
        let res = server.get(&format!("/api/v1/catalogue?{bad}")).await;
        assert_problem(res, 422, "invalid_query").await;
    }
    assert_problem(
        server.get("/api/v1/catalogue?colour=red").await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        server.get("/api/v1/catalogue/not-an-id").await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        server
            .get(&format!("/api/v1/catalogue/{}", Uuid::now_v7()))
            .await,
        404,
        "not_found",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn bad_product_input_is_a_4xx_problem_never_a_500() {
    let server = start().await;
    let a = provider(&server, true).await;
    let ok = new_product(&a, "image", "one_off", "1000.00", content("镜像", "描述。"));
    let with = |key: &str, value: Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    for (body, code) in [
        (with("price", json!("-1")), "price_out_of_range"),
        (with("price", json!("0.00")), "price_out_of_range"),
        (with("price", json!("100000000.01")), "price_out_of_range"),
        (with("price", json!("abc")), "invalid_request"),
        (
            with("price", json!("99999999999999999999")),
            "invalid_request",
        ),
        (with("price", json!("1.234")), "invalid_request"),
        (with("price", json!(1000)), "invalid_request"),
        (with("category", json!("games")), "invalid_request"),
        (with("colour", json!("red")), "invalid_request"),
        (with("store", json!("not-a-uuid")), "invalid_request"),
        (
            with("store", json!(Uuid::now_v7().to_string())),
            "unknown_store",
        ),
        (with("category", json!("api")).clone(), "created"),
    ] {
        let res = call(
            &server,
            Method::POST,
            "/api/v1/products",
            Some(&a.token),
            Some(body.clone()),
        )
        .await;
        if code == "created" {
            assert_eq!(res.status(), 201);
            continue;
        }
        assert_problem(res, 422, code).await;
    }
    // A non-refundable category cannot promise pro-rata refunds.
    let mut api = with("category", json!("api"));
    api["refund_policy"] = json!("pro_rata_unused_time");
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/products",
            Some(&a.token),
            Some(api),
        )
        .await,
        422,
        "refund_policy_not_allowed",
    )
    .await;
    let mut unknown_content = ok.clone();
    unknown_content["content"]["colour"] = json!("red");
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/products",
            Some(&a.token),
            Some(unknown_content),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    let mut long = ok.clone();
    long["content"]["title"] = json!("长".repeat(101));
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/products",
            Some(&a.token),
            Some(long),
        )
        .await,
        422,
        "invalid_listing",
    )
    .await;
    // Malformed JSON and a missing content type.
    let res = server
        .client
        .post(server.url("/api/v1/products"))
        .bearer_auth(&a.token)
        .header("content-type", "application/json")
        .body("{\"store\": ")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_request").await;
    let res = server
        .client
        .post(server.url("/api/v1/products"))
        .bearer_auth(&a.token)
        .body(ok.to_string())
        .send()
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;

    // Submitting an incomplete draft names the missing fields.
    let mut bare = ok.clone();
    bare["content"] = json!({"title": "只有标题", "description": "描述。"});
    let created = create(&server, &a, bare).await;
    let id = created["id"].as_str().unwrap();
    let body = assert_problem(
        post_empty(&server, &format!("/api/v1/products/{id}/submit"), &a.token).await,
        422,
        "missing_field",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("Images"),
        "{body}"
    );
    // Bad ids and pages.
    assert_problem(
        call(
            &server,
            Method::GET,
            "/api/v1/products/xyz",
            Some(&a.token),
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
            "/api/v1/products?limit=0",
            Some(&a.token),
            None,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        call(
            &server,
            Method::GET,
            "/api/v1/products?after=zz",
            Some(&a.token),
            None,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    // Only the api product and the bare one were written.
    let list = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/products",
            Some(&a.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn product_lists_page_with_limit_and_after() {
    let server = start().await;
    let a = provider(&server, true).await;
    let mut made = Vec::new();
    for n in 0..5 {
        let c = create(
            &server,
            &a,
            new_product(
                &a,
                "image",
                "one_off",
                "1.00",
                content(&format!("镜像{n}"), "描述。"),
            ),
        )
        .await;
        made.push(c["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/products?limit=2".to_owned();
    loop {
        let page = json_of(
            call(&server, Method::GET, &path, Some(&a.token), None).await,
            200,
        )
        .await;
        for p in page["items"].as_array().unwrap() {
            seen.push(p["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/products?limit=2&after={c}"),
            None => break,
        }
    }
    assert_eq!(seen, made);
    // Operator staff see every provider's products.
    let reviewer = reviewer(&server).await;
    let all = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/products",
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    server.stop().await;
}

#[tokio::test]
async fn every_catalogue_endpoint_is_in_the_openapi_document_with_examples() {
    let server = start().await;
    let doc: Value = server
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    for (path, method) in [
        ("/api/v1/products", "post"),
        ("/api/v1/products", "get"),
        ("/api/v1/products/{id}", "get"),
        ("/api/v1/products/{id}/draft", "put"),
        ("/api/v1/products/{id}/draft", "delete"),
        ("/api/v1/products/{id}/checks", "get"),
        ("/api/v1/products/{id}/submit", "post"),
        ("/api/v1/products/{id}/withdraw", "post"),
        ("/api/v1/products/{id}/delist", "post"),
        ("/api/v1/products/{id}/relist", "post"),
        ("/api/v1/review/listings", "get"),
        ("/api/v1/review/listings/{id}/approve", "post"),
        ("/api/v1/review/listings/{id}/reject", "post"),
        ("/api/v1/catalogue", "get"),
        ("/api/v1/catalogue/{id}", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} not documented"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "NewProductRequest",
        "DraftRequest",
        "ProductView",
        "ChecksView",
        "ApproveRequest",
        "RejectRequest",
        "CataloguePageView",
        "CatalogueProductView",
    ] {
        assert!(
            schemas[schema]["example"].is_object(),
            "{schema} has no example"
        );
    }
    assert_eq!(schemas["NewProductRequest"]["example"]["price"], "1000.00");
    let params = doc["paths"]["/api/v1/catalogue"]["get"]["parameters"]
        .as_array()
        .unwrap();
    for name in [
        "q",
        "category",
        "min_price",
        "max_price",
        "provider",
        "sort",
        "page",
        "page_size",
    ] {
        assert!(
            params
                .iter()
                .any(|p| p["name"] == name && p["in"] == "query"),
            "{name} is not a documented query parameter"
        );
    }
    assert!(doc["paths"]["/api/v1/catalogue"]["get"]["security"].is_null());
    server.stop().await;
}

#[tokio::test]
async fn the_listing_story_runs_on_postgres() {
    on_postgres(|db| async move {
        let server = TestServer::start_on(&db, seed_routes()).await;
        let ready: Value = server.get("/readyz").await.json().await.unwrap();
        assert_eq!(ready["database"], "postgres");
        absolute_claim_story(&server).await;
        let unpaid = provider(&server, false).await;
        let created = create(
            &server,
            &unpaid,
            new_product(
                &unpaid,
                "image",
                "one_off",
                "1000.00",
                content("镜像", "描述。"),
            ),
        )
        .await;
        let id = created["id"].as_str().unwrap();
        assert_problem(
            post_empty(
                &server,
                &format!("/api/v1/products/{id}/submit"),
                &unpaid.token,
            )
            .await,
            409,
            "deposit_missing",
        )
        .await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_submissions_of_one_draft_have_exactly_one_winner() {
    let server = start().await;
    let a = provider(&server, true).await;
    let reviewer = reviewer(&server).await;
    let created = create(
        &server,
        &a,
        new_product(&a, "image", "one_off", "10.00", content("镜像", "描述。")),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/products/{id}/submit");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (client, url, token) = (server.client.clone(), server.url(&path), a.token.clone());
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let queue = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/review/listings",
            Some(&reviewer),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids_of_queue(&queue), [id.as_str()]);
    server.stop().await;
}

#[tokio::test]
async fn products_of_a_hidden_store_leave_the_catalogue_and_it_may_not_publish() {
    let server = start().await;
    let a = provider(&server, true).await;
    let b = provider(&server, true).await;
    let reviewer = reviewer(&server).await;
    let id = live_product(&server, &a, &reviewer, "image", "10.00", "镜像甲", "描述。").await;
    let other = live_product(&server, &b, &reviewer, "image", "10.00", "镜像乙", "描述。").await;
    let draft = create(
        &server,
        &a,
        new_product(&a, "image", "one_off", "10.00", content("镜像丙", "描述。")),
    )
    .await;
    let draft = draft["id"].as_str().unwrap();
    let res = call(
        &server,
        Method::POST,
        "/test/hide-store",
        None,
        Some(json!({"store": a.store})),
    )
    .await;
    assert_eq!(res.status(), 200);

    assert_eq!(ids(&search(&server, "").await), [other.as_str()]);
    assert_problem(
        server.get(&format!("/api/v1/catalogue/{id}")).await,
        404,
        "not_found",
    )
    .await;
    json_of(server.get(&format!("/api/v1/catalogue/{other}")).await, 200).await;
    assert_problem(
        call(
            &server,
            Method::POST,
            "/api/v1/products",
            Some(&a.token),
            Some(new_product(
                &a,
                "image",
                "one_off",
                "1.00",
                content("x", "y"),
            )),
        )
        .await,
        409,
        "store_restricted",
    )
    .await;
    assert_problem(
        post_empty(
            &server,
            &format!("/api/v1/products/{draft}/submit"),
            &a.token,
        )
        .await,
        409,
        "store_restricted",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn catalogue_sorts_by_sales_and_rating_with_unrated_last() {
    let server = start().await;
    let a = provider(&server, true).await;
    let reviewer = reviewer(&server).await;
    let mut made = Vec::new();
    for n in 0..3 {
        made.push(
            live_product(
                &server,
                &a,
                &reviewer,
                "image",
                "10.00",
                &format!("镜像{n}"),
                "描述。",
            )
            .await,
        );
    }
    for (id, sales, ratings) in [
        (&made[0], 5, Some(json!([3, 4]))),
        (&made[1], 9, None),
        (&made[2], 1, Some(json!([5]))),
    ] {
        let mut body = json!({"product": id, "sales": sales});
        if let Some(r) = ratings {
            body["ratings"] = r;
        }
        let res = call(&server, Method::POST, "/test/stats", None, Some(body)).await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        ids(&search(&server, "sort=sales").await),
        [made[1].as_str(), made[0].as_str(), made[2].as_str()]
    );
    let by_rating = search(&server, "sort=rating").await;
    assert_eq!(
        ids(&by_rating),
        [made[2].as_str(), made[0].as_str(), made[1].as_str()]
    );
    assert_eq!(by_rating["items"][0]["rating"], "5");
    assert_eq!(by_rating["items"][1]["rating"], "3.5");
    assert!(by_rating["items"][2]["rating"].is_null());
    // Relevance ties (no words) go by sales.
    assert_eq!(ids(&search(&server, "").await)[0], made[1]);
    let detail = json_of(
        server.get(&format!("/api/v1/catalogue/{}", made[0])).await,
        200,
    )
    .await;
    assert_eq!(detail["sales"], 5);
    assert_eq!(detail["rating"], "3.5");
    assert_eq!(detail["rating_count"], 2);
    let own = json_of(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/products/{}", made[0]),
            Some(&a.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(own["sales"], 5);
    assert_eq!(own["rating"], "3.5");
    server.stop().await;
}

#[tokio::test]
async fn the_member_account_that_applied_acts_for_its_provider() {
    let server = start().await;
    let (kind, token) = user_with_kind(
        &server,
        json!({"type": "member", "member_kind": "enterprise"}),
    )
    .await;
    let member_id = kind["member_id"].as_str().unwrap().to_owned();
    let id = Uuid::now_v7().to_string();
    let store = Uuid::now_v7().to_string();
    let res = call(
        &server,
        Method::POST,
        "/test/seed-provider",
        None,
        Some(json!({"provider": id, "store": store, "active": true, "member": member_id})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let applicant = Provider {
        id: id.clone(),
        store,
        token,
    };
    let created = create(
        &server,
        &applicant,
        new_product(
            &applicant,
            "saas",
            "monthly",
            "99.00",
            content("SaaS 应用", "描述。"),
        ),
    )
    .await;
    assert_eq!(created["provider"], id.as_str());
    let pid = created["id"].as_str().unwrap();
    json_of(
        post_empty(
            &server,
            &format!("/api/v1/products/{pid}/submit"),
            &applicant.token,
        )
        .await,
        200,
    )
    .await;
    let list = json_of(
        call(
            &server,
            Method::GET,
            "/api/v1/products",
            Some(&applicant.token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Another member sees nothing of it.
    let other = member(&server).await;
    assert_problem(
        call(
            &server,
            Method::GET,
            &format!("/api/v1/products/{pid}"),
            Some(&other),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    server.stop().await;
}
