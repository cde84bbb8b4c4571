//! Sets up a marketplace to measure through the public API, as automation would: operator
//! staff, one provider admitted through onboarding (materials, review, agreement, deposit)
//! with an approved one-off image product, and buyers with API tokens.

use anyhow::{Context, Result};
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::wire::{Call, Conn};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";

/// The marketplace the load runs against.
pub struct Market {
    pub product: String,
    /// The provider's owner, who accepts refunds.
    pub seller: String,
    /// One API token per buyer.
    pub buyers: Vec<String>,
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Result<&'v str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .with_context(|| format!("no {pointer} in {v}"))
}

async fn post(conn: &mut Conn, path: &str, token: &str, body: Value, ok: u16) -> Result<Value> {
    let status = StatusCode::from_u16(ok)?;
    conn.expect(Call::json(Method::POST, path, Some(token), &body), status)
        .await
}

/// A user made by the operator admin, and an API token for it.
async fn user(conn: &mut Conn, admin: &str, email: &str, kind: Value) -> Result<(String, String)> {
    let made = post(
        conn,
        "/api/v1/admin/users",
        admin,
        json!({"email": email, "display_name": email, "kind": kind}),
        201,
    )
    .await?;
    let id = str_at(&made, "/user/id")?.to_owned();
    let token = post(
        conn,
        &format!("/api/v1/admin/users/{id}/tokens"),
        admin,
        json!({"label": "bench"}),
        201,
    )
    .await?;
    Ok((id, str_at(&token, "/token")?.to_owned()))
}

/// A provider admitted through onboarding with one approved image product at `price`:
/// (product, the token of the provider's owner).
async fn provider(
    conn: &mut Conn,
    admin: &str,
    reviewer: &str,
    price: &str,
) -> Result<(String, String)> {
    let (_, isv) = user(
        conn,
        admin,
        "owner@bench-isv.example",
        json!({"type": "member", "member_kind": "enterprise"}),
    )
    .await?;
    let app = post(
        conn,
        "/api/v1/onboarding/applications",
        &isv,
        json!({"store_name": "基准测试官方店"}),
        201,
    )
    .await?;
    let app_id = str_at(&app, "/application/id")?.to_owned();
    let missing: Vec<String> = serde_json::from_value(app["missing_materials"].clone())?;
    for kind in &missing {
        let (content_type, bytes) = if kind == "legal_representative_id" {
            ("image/png", PNG)
        } else {
            ("application/pdf", PDF)
        };
        let path = format!("/api/v1/onboarding/applications/{app_id}/materials?kind={kind}");
        let call = Call {
            method: Method::POST,
            path: &path,
            token: Some(&isv),
            key: None,
            body: Some((Bytes::from_static(bytes), content_type)),
        };
        conn.expect(call, StatusCode::CREATED).await?;
    }
    let step = |s: &str| format!("/api/v1/onboarding/applications/{app_id}/{s}");
    let review = |s: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{s}");
    post(conn, &step("submit"), &isv, json!({}), 200).await?;
    post(conn, &review("review"), reviewer, json!({}), 200).await?;
    let verified = json!({"decision": "verified"});
    post(conn, &review("verification"), reviewer, verified, 200).await?;
    let approve = json!({"partner_member": true});
    post(conn, &review("approve"), reviewer, approve, 200).await?;
    let agreement = conn
        .expect(
            Call {
                method: Method::GET,
                path: "/api/v1/onboarding/agreement",
                token: None,
                key: None,
                body: None,
            },
            StatusCode::OK,
        )
        .await?;
    let accept = json!({"agreement_id": agreement["id"]});
    let accepted = post(conn, &step("agreement"), &isv, accept, 200).await?;
    let deposit = str_at(&accepted, "/deposit_outstanding")?.to_owned();
    let path = step("deposit-payments");
    let mut call = Call::json(Method::POST, &path, Some(&isv), &json!({"amount": deposit}));
    call.key = Some("bench-deposit");
    let paid = conn.expect(call, StatusCode::CREATED).await?;
    let store = str_at(&paid, "/store/store/id")?.to_owned();
    let provider = str_at(&app, "/application/provider")?.to_owned();
    let owner = json!({"type": "provider_staff", "provider_id": provider, "role": "owner"});
    let (_, seller) = user(conn, admin, "ops@bench-isv.example", owner).await?;

    let listing = json!({
        "title": "基准测试数据备份镜像",
        "images": ["upload:cover"],
        "attributes": [{"name": "部署方式", "value": "镜像部署"}],
        "description": "稳定可靠的数据备份方案，支持增量备份。",
        "terms": "购买即表示同意本产品服务协议。",
        "delisting_strategy": "下架后已购用户可继续使用至服务期满，数据可随时导出。",
        "open_source": [],
        "own_product_page": "https://www.bench-isv.example/backup",
        "refund_terms": "担保期外不予退款。"
    });
    let product = post(
        conn,
        "/api/v1/products",
        &isv,
        json!({
            "store": store, "category": "image", "sales_mode": "self_sold",
            "pricing": "one_off", "price": price, "refund_policy": "no_refund",
            "content": listing
        }),
        201,
    )
    .await?;
    let product = str_at(&product, "/id")?.to_owned();
    post(
        conn,
        &format!("/api/v1/products/{product}/submit"),
        &isv,
        json!({}),
        200,
    )
    .await?;
    post(
        conn,
        &format!("/api/v1/review/listings/{product}/approve"),
        reviewer,
        json!({"acknowledged": []}),
        200,
    )
    .await?;
    Ok((product, seller))
}

/// Sets the marketplace up through `conn` with the operator admin's token.
pub async fn set_up(conn: &mut Conn, admin: &str, buyers: usize) -> Result<Market> {
    let (_, reviewer) = user(
        conn,
        admin,
        "reviewer@bench.example",
        json!({"type": "operator_staff", "roles": ["reviewer"]}),
    )
    .await?;
    let (product, seller) = provider(conn, admin, &reviewer, "100.00").await?;
    let mut tokens = Vec::with_capacity(buyers);
    for i in 0..buyers {
        let kind = json!({"type": "member", "member_kind": "personal"});
        let (_, token) = user(conn, admin, &format!("buyer{i}@bench.example"), kind).await?;
        tokens.push(token);
    }
    Ok(Market {
        product,
        seller,
        buyers: tokens,
    })
}
