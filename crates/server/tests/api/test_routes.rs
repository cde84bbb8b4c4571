//! The marketplace's test-only routes, beside the API of every [`crate::helpers::Market`]
//! (the public API does not expose these, by design):
//! - `/test/fire-due` runs the deadline runner (`deadlines::fire_due`) at the simulated
//!   clock's time — in simulated-clock mode nothing fires by itself.
//! - `/test/books` reads the trial balance, balances by account kind and the orders' escrow.
//! - `/test/events` reads the event log (no public endpoint lists events yet).
//! - `/test/products` writes a live product through the store.
//! - `/test/drop-a-fen/{order}`, `/test/tamper/{fixture}` break an invariant on purpose.
//! - `/test/invoice-breaches/{provider}` reads a provider's invoice requests in breach.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;
use yunshi_core::catalog::{DeclaredRefundPolicy, Pricing, ProductCategory, SalesMode};
use yunshi_core::decision::Context;
use yunshi_core::ids::{ProviderId, StoreId, UserId};
use yunshi_core::ledger::AccountKind;
use yunshi_core::listing::{
    Approve, ListingContent, ListingTerms, NewProduct, OpenSourceComponent, OperatorDomains,
    Product, ProviderStanding,
};
use yunshi_core::money::Fen;
use yunshi_core::time::beijing_date;
use yunshi_server::AppState;
use yunshi_server::kernel::pipeline::{NewIds, aggregate_write};
use yunshi_store::{AggregateQuery, WriteBatch};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/test/fire-due", post(fire_due))
        .route("/test/books", get(books))
        .route("/test/events", get(events))
        .route("/test/products", post(live_product))
        .route("/test/drop-a-fen/{order}", post(drop_a_fen))
        .route("/test/tamper/{fixture}", post(crate::audit::tamper))
        .route("/test/invoice-breaches/{provider}", get(invoice_breaches))
}

/// The deadline runner at the simulated clock's time.
async fn fire_due(State(state): State<AppState>) -> Json<Value> {
    let report = yunshi_server::kernel::deadlines::fire_due(&state, state.clock.now(), 1000)
        .await
        .unwrap();
    Json(serde_json::to_value(report).unwrap())
}

/// The trial balance, the escrow and deposit accounts' balances, and the escrow the orders
/// hold.
async fn books(State(state): State<AppState>) -> Json<Value> {
    let trial = state.store.trial_balance().await.unwrap();
    let kinds = state.store.balances_by_kind().await.unwrap();
    let of = |kind: AccountKind| {
        kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, f)| f.fen())
    };
    let mut held = 0i64;
    let mut orders = 0usize;
    let mut after = None;
    loop {
        let page = state
            .store
            .aggregates(&AggregateQuery {
                kind: "order".into(),
                owner: None,
                status: None,
                after,
                limit: 500,
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        for stored in page {
            after = Some(stored.id);
            orders += 1;
            let escrow: Fen =
                serde_json::from_value(stored.state["order"]["escrow"].clone()).unwrap();
            held += escrow.fen();
        }
    }
    Json(json!({
        "trial_balance": trial.to_string(),
        "escrow_balance": of(AccountKind::BuyerEscrow),
        "deposits_held": of(AccountKind::DepositsHeld),
        "held": held,
        "orders": orders,
    }))
}

/// A deliberately broken invariant — the order's escrow field loses one fen while
/// its escrow account keeps it (what a refund that dropped a fen would leave).
async fn drop_a_fen(State(state): State<AppState>, Path(order): Path<Uuid>) -> StatusCode {
    let stored = state
        .store
        .aggregate("order", order)
        .await
        .unwrap()
        .unwrap();
    let mut doc = stored.state.clone();
    let escrow: Fen = serde_json::from_value(doc["order"]["escrow"].clone()).unwrap();
    doc["order"]["escrow"] = serde_json::to_value(Fen::new(escrow.fen() - 1)).unwrap();
    let write = yunshi_store::AggregateWrite {
        kind: "order".into(),
        id: order,
        expected_version: Some(stored.version),
        owner: stored.owner,
        status: stored.status,
        state: doc,
        at: stored.updated_at,
    };
    // Recorded as a refund bug would record its refund: an event on the order.
    let event = yunshi_store::NewEvent {
        id: Uuid::now_v7(),
        kind: "test.fen_dropped".into(),
        subject: format!("order:{order}"),
        at: stored.updated_at,
        payload: json!({}),
    };
    let batch = WriteBatch {
        aggregates: vec![write],
        events: vec![event],
        ..Default::default()
    };
    state.store.commit(batch).await.unwrap();
    StatusCode::NO_CONTENT
}

/// The whole event log.
async fn events(State(state): State<AppState>) -> Json<Value> {
    let events = state.store.events_after(0, 10_000).await.unwrap();
    Json(serde_json::to_value(events).unwrap())
}

/// The provider's invoice requests in breach, as the settlement run reads them.
async fn invoice_breaches(
    State(state): State<AppState>,
    Path(provider): Path<Uuid>,
) -> Json<Value> {
    let provider = ProviderId(provider);
    let ids = yunshi_server::reactions::holds::provider_invoice_breaches(&state, provider)
        .await
        .unwrap();
    Json(json!(ids))
}

#[derive(serde::Deserialize)]
struct NewLiveProduct {
    provider: Uuid,
    category: ProductCategory,
    pricing: Pricing,
    price: Fen,
    refund_policy: DeclaredRefundPolicy,
}

/// What every live product lists.
fn content() -> ListingContent {
    ListingContent {
        title: "云数据备份镜像 Backup Pro".into(),
        images: vec!["upload:cover".into()],
        attributes: vec![yunshi_core::listing::Attribute {
            name: "部署方式".into(),
            value: "镜像部署".into(),
        }],
        description: "定时备份云服务器上的数据库与文件，支持增量备份与一键恢复。".into(),
        terms: "购买即表示同意本产品服务协议。".into(),
        delisting_strategy: "下架后已购用户可继续使用至服务期满，数据可随时导出。".into(),
        open_source: Some(vec![OpenSourceComponent {
            name: "restic".into(),
            licence: "BSD-2-Clause".into(),
        }]),
        own_product_page: "https://www.example-isv.cn/backup-pro".into(),
        refund_terms: "担保期外按产品退款说明处理。".into(),
    }
}

/// Creates, submits and approves a product with the core, and writes it as the `product`
/// aggregate: a product on sale without the review walk.
async fn live_product(
    State(state): State<AppState>,
    Json(req): Json<NewLiveProduct>,
) -> Json<Value> {
    let now = state.clock.now();
    let rulebook = state
        .rulebooks
        .marketplace_at(beijing_date(now))
        .unwrap()
        .as_marketplace()
        .unwrap()
        .clone();
    let product = {
        let mut ids = NewIds;
        let mut ctx = Context {
            now,
            rulebook: &rulebook,
            calendar: &state.calendar,
            ids: &mut ids,
        };
        let standing = ProviderStanding {
            deposit_fully_paid: true,
        };
        let (product, _) = Product::create(
            &mut ctx,
            NewProduct {
                provider: ProviderId(req.provider),
                store: StoreId(Uuid::now_v7()),
                category: req.category,
                sales_mode: SalesMode::SelfSold,
                terms: ListingTerms {
                    pricing: req.pricing,
                    price: req.price,
                    refund_policy: req.refund_policy,
                },
                content: content(),
            },
        )
        .unwrap();
        let (product, _) = product
            .submit(&mut ctx, standing, &OperatorDomains::new(["aliyun.com"]))
            .unwrap();
        let acknowledged = product
            .pending
            .as_ref()
            .unwrap()
            .findings()
            .iter()
            .enumerate()
            .map(|(i, _)| yunshi_core::listing::FindingAck {
                finding: i as u32,
                note: None,
            })
            .collect();
        let (product, _) = product
            .approve(
                &mut ctx,
                Approve {
                    reviewer: UserId(Uuid::now_v7()),
                    acknowledged,
                },
                standing,
            )
            .unwrap();
        product
    };
    assert!(product.is_on_sale());
    let write = aggregate_write(
        "product",
        product.id.0,
        None,
        product.provider.to_string(),
        product.status().as_str(),
        &json!({ "product": product, "sales": 0 }),
        now,
    )
    .unwrap();
    state
        .store
        .commit(WriteBatch {
            aggregates: vec![write],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    Json(json!({ "id": product.id }))
}
