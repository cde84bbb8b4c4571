//! The provider centre: the onboarding wizard (apply, upload, submit, sign, pay the deposit),
//! products with the automatic findings shown before submitting, orders and refund
//! negotiation, complaints with their reply countdown, points and cases with the rule behind
//! each, the deposit, statements (CSV/XLSX), invoices to issue, and the delivery endpoint
//! with its log and retry.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::Value;
use uuid::Uuid;

use super::blocks::{Block, Cell, Field, FieldKind, Table};
use super::buyer::{OrderListQuery, order_number, window_cell};
use super::i18n::Lang;
use super::public::{category_options, label};
use super::{
    Console, OPEN_COMPLAINTS, Page, Subnav, Visit, action, case_rule, idempotency_key, items,
    table, text, when, yuan,
};

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/provider", get(overview))
        .route("/provider/products", get(products))
        .route("/provider/products/{id}", get(product))
        .route("/provider/orders", get(orders))
        .route("/provider/complaints", get(complaints))
        .route("/provider/standing", get(standing))
        .route("/provider/deposit", get(deposit))
        .route("/provider/statements", get(statements))
        .route("/provider/statements/{id}", get(statement))
        .route("/provider/invoices", get(invoices))
        .route("/provider/webhooks", get(webhooks))
}

/// The visitor's provider, or the response that sends them elsewhere.
async fn provider_of(
    c: &Console,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(Visit, Uuid), Response> {
    let visit = c.visit(headers, uri).await;
    c.require(&visit)?;
    match visit.me.as_ref().and_then(|m| m.provider()) {
        Some(p) => Ok((visit, p)),
        None => Err(Redirect::to("/provider").into_response()),
    }
}

const MATERIALS: &[&str] = &[
    "business_licence",
    "legal_representative_id",
    "personal_id",
    "bank_account_certificate",
    "contact_details",
    "contact_qq",
    "service_info",
];

async fn overview(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = c.visit(&headers, &uri).await;
    c.require(&visit)?;
    let lang = visit.lang;
    let back = visit.path.clone();
    let own = Some(c.read_soft(&visit, "/api/v1/onboarding/provider").await);
    let Some(own) = own.filter(|o| !o["provider"].is_null()) else {
        let mut blocks = vec![Block::Text(lang.t("provider.not_yet"))];
        if visit.me.as_ref().is_some_and(|m| m.is_member()) {
            blocks.push(Block::Form(
                action(
                    "apply",
                    "/api/v1/onboarding/applications",
                    &back,
                    lang.t("provider.apply"),
                )
                .field(
                    Field::new("store_name", lang.t("provider.store_name"), FieldKind::Text)
                        .required(),
                ),
            ));
        }
        return Ok(c.page(&visit, lang.t("provider.title"), Subnav::None, blocks));
    };
    let app = &own["application"];
    let app_id = text(app, "/application/id");
    let status = text(app, "/application/status/status");
    let provider_status = text(&own, "/provider/status/status");
    let mut blocks = vec![Block::Details(vec![
        (
            lang.t("provider.application"),
            Cell::Badge(label(lang, "application", &status)),
        ),
        (
            lang.t("common.provider"),
            Cell::Badge(label(lang, "provider_status", &provider_status)),
        ),
        (
            lang.t("provider.store_name"),
            Cell::Text(text(app, "/store_name")),
        ),
        (
            lang.t("provider.deposit_outstanding"),
            Cell::Text(yuan(&text(app, "/deposit_outstanding"))),
        ),
    ])];
    let step = |s: &str| format!("/api/v1/onboarding/applications/{app_id}/{s}");
    let missing: Vec<String> = app["missing_materials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    if matches!(status.as_str(), "draft" | "needs_more_material") {
        if let Some(note) = app
            .pointer("/application/status/note")
            .and_then(|n| n.as_str())
        {
            blocks.push(Block::Banner {
                tone: "error",
                text: note.to_owned(),
            });
        }
        let uploaded: Vec<Vec<Cell>> = app["application"]["materials"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                vec![
                    Cell::Text(label(lang, "material", &text(m, "/kind"))),
                    Cell::Link {
                        text: lang.t("common.view"),
                        href: format!(
                            "/console/file?path=/api/v1/onboarding/files/{}",
                            text(m, "/file_id")
                        ),
                    },
                ]
            })
            .collect();
        blocks.push(table(
            "materials",
            lang.t("provider.materials"),
            vec![lang.t("provider.material_kind"), lang.t("common.view")],
            uploaded,
            lang.t("common.none"),
        ));
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|m| label(lang, "material", m)).collect();
            blocks.push(Block::Text(format!(
                "{}: {}",
                lang.t("provider.missing"),
                names.join("、")
            )));
        }
        let mut kinds: Vec<(String, String)> = missing
            .iter()
            .map(|m| (m.clone(), label(lang, "material", m)))
            .collect();
        for m in MATERIALS {
            if !missing.iter().any(|x| x == m) {
                kinds.push(((*m).to_owned(), label(lang, "material", m)));
            }
        }
        blocks.push(Block::Form(
            action(
                "upload",
                &step("materials"),
                &back,
                lang.t("provider.upload"),
            )
            .multipart()
            .field(Field::hidden("_query", "kind"))
            .field(Field::new(
                "kind",
                lang.t("provider.material_kind"),
                FieldKind::Select(kinds),
            ))
            .field(Field::new("file", lang.t("provider.file"), FieldKind::File).required()),
        ));
        let (path, key) = if status == "draft" {
            ("submit", "provider.submit_application")
        } else {
            ("resubmit", "provider.resubmit")
        };
        blocks.push(Block::Form(action(
            "submit-application",
            &step(path),
            &back,
            lang.t(key),
        )));
    }
    if status == "approved" {
        let agreement = c.read_soft(&visit, "/api/v1/onboarding/agreement").await;
        blocks.push(Block::Heading(lang.t("provider.agreement")));
        blocks.push(Block::Text(format!(
            "{} {}",
            text(&agreement, "/title"),
            text(&agreement, "/version")
        )));
        blocks.push(Block::Form(
            action(
                "agreement",
                &step("agreement"),
                &back,
                lang.t("provider.accept_agreement"),
            )
            .field(Field::hidden("agreement_id", text(&agreement, "/id"))),
        ));
    }
    if status == "agreement_accepted" {
        blocks.push(Block::Heading(lang.t("provider.pay_deposit")));
        blocks.push(Block::Form(
            action(
                "deposit",
                &step("deposit-payments"),
                &back,
                lang.t("provider.pay_deposit"),
            )
            .field(Field::hidden("_idem", idempotency_key()))
            .field(
                Field::new("amount", lang.t("common.amount"), FieldKind::Number)
                    .value(text(app, "/deposit_outstanding"))
                    .required(),
            ),
        ));
    }
    let stores: Vec<Vec<Cell>> = own["stores"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            vec![
                Cell::Text(text(s, "/store/name")),
                Cell::Badge(label(lang, "store", &text(s, "/state/state"))),
            ]
        })
        .collect();
    if !stores.is_empty() {
        blocks.push(table(
            "stores",
            lang.t("provider.store"),
            vec![lang.t("provider.store_name"), lang.t("common.status")],
            stores,
            lang.t("common.none"),
        ));
        blocks.push(Block::Links(vec![(
            lang.t("provider.new_product"),
            "/provider/products".into(),
        )]));
    }
    Ok(c.page(&visit, lang.t("provider.title"), Subnav::Provider, blocks))
}

async fn products(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    // The API lists the caller's own provider's products.
    let (visit, _) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let own = c.read_soft(&visit, "/api/v1/onboarding/provider").await;
    let list = c.read_soft(&visit, "/api/v1/products?limit=100").await;
    let rows = items(&list)
        .map(|p| {
            let title = ["/pending/content/title", "/live/content/title"]
                .iter()
                .map(|ptr| text(p, ptr))
                .find(|t| !t.is_empty())
                .unwrap_or_else(|| text(p, "/id"));
            vec![
                Cell::Link {
                    text: title,
                    href: format!("/provider/products/{}", text(p, "/id")),
                },
                Cell::Text(label(lang, "category", &text(p, "/category"))),
                Cell::Badge(label(lang, "product", &text(p, "/status"))),
            ]
        })
        .collect();
    let mut blocks = vec![table(
        "products",
        lang.t("provider.products"),
        vec![
            lang.t("common.product"),
            lang.t("common.category"),
            lang.t("common.status"),
        ],
        rows,
        lang.t("common.none"),
    )];
    let store = own["stores"]
        .as_array()
        .and_then(|s| s.first())
        .map(|s| text(s, "/store/id"));
    if let Some(store) = store {
        let pricings = ["one_off", "monthly", "yearly"]
            .iter()
            .map(|p| ((*p).to_owned(), label(lang, "pricing", p)))
            .collect();
        let policies = ["no_refund", "refundable"]
            .iter()
            .map(|p| ((*p).to_owned(), label(lang, "refund_policy", p)))
            .collect();
        blocks.push(Block::Heading(lang.t("provider.new_product")));
        blocks.push(Block::Form(
            action(
                "new-product",
                "/api/v1/products",
                &visit.path,
                lang.t("provider.create_draft"),
            )
            .field(Field::hidden("_next", "/provider/products/{/id}"))
            .field(Field::hidden("store", store))
            .field(Field::hidden("sales_mode", "self_sold"))
            .field(Field::hidden("content.images:list", "upload:cover"))
            .field(Field::new("content.title", lang.t("common.title"), FieldKind::Text).required())
            .field(
                Field::new(
                    "category",
                    lang.t("common.category"),
                    FieldKind::Select(category_options(lang, false)),
                )
                .value("image"),
            )
            .field(Field::new(
                "pricing",
                lang.t("product.pricing"),
                FieldKind::Select(pricings),
            ))
            .field(Field::new("price", lang.t("provider.price_yuan"), FieldKind::Number).required())
            .field(Field::new(
                "refund_policy",
                lang.t("product.refund_policy"),
                FieldKind::Select(policies),
            ))
            .field(
                Field::new(
                    "content.description",
                    lang.t("common.description"),
                    FieldKind::Textarea,
                )
                .required(),
            )
            .field(Field::new(
                "content.terms",
                lang.t("product.terms"),
                FieldKind::Textarea,
            ))
            .field(Field::new(
                "content.refund_terms",
                lang.t("product.refund_terms"),
                FieldKind::Textarea,
            ))
            .field(Field::new(
                "content.delisting_strategy",
                lang.t("provider.delisting_strategy"),
                FieldKind::Textarea,
            ))
            .field(
                Field::new(
                    "content.attributes:pairs",
                    lang.t("provider.attributes"),
                    FieldKind::Textarea,
                )
                .hint(lang.t("provider.attributes_hint")),
            )
            .field(Field::new(
                "content.own_product_page",
                lang.t("provider.own_page"),
                FieldKind::Text,
            ))
            .field(
                Field::new(
                    "content.open_source:json",
                    lang.t("provider.open_source"),
                    FieldKind::Text,
                )
                .value("[]")
                .hint(lang.t("provider.open_source_hint")),
            ),
        ));
    }
    Ok(c.page(
        &visit,
        lang.t("provider.products"),
        Subnav::Provider,
        blocks,
    ))
}

async fn product(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<Uuid>,
) -> Page {
    let (visit, _) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let p = c
        .page_data(&visit, &format!("/api/v1/products/{id}"))
        .await?;
    let status = text(&p, "/status");
    let content = ["/pending/content", "/live/content"]
        .iter()
        .filter_map(|ptr| p.pointer(ptr))
        .find(|v| !v.is_null())
        .cloned()
        .unwrap_or_default();
    let mut blocks = vec![Block::Details(vec![
        (lang.t("common.title"), Cell::Text(text(&content, "/title"))),
        (
            lang.t("common.status"),
            Cell::Badge(label(lang, "product", &status)),
        ),
        (
            lang.t("common.category"),
            Cell::Text(label(lang, "category", &text(&p, "/category"))),
        ),
        (
            lang.t("common.description"),
            Cell::Text(text(&content, "/description")),
        ),
    ])];
    // The automatic checks, shown before the provider submits.
    let checks = c
        .read_soft(&visit, &format!("/api/v1/products/{id}/checks"))
        .await;
    let findings: Vec<Vec<Cell>> = checks["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            vec![
                Cell::Badge(text(f, "/severity")),
                Cell::Text(text(f, "/code")),
                Cell::Text(text(f, "/message")),
            ]
        })
        .collect();
    let found = !findings.is_empty();
    blocks.push(Block::Table(Table {
        id: "findings".into(),
        caption: lang.t("provider.findings"),
        columns: vec![
            lang.t("provider.severity"),
            lang.t("common.code"),
            lang.t("common.description"),
        ],
        rows: findings,
        empty: lang.t("provider.no_findings"),
    }));
    if found {
        blocks.push(Block::Form(
            action(
                "fix",
                &format!("/api/v1/products/{id}/draft"),
                &visit.path,
                lang.t("common.save"),
            )
            .field(Field::hidden("_method", "PUT"))
            .field(Field::hidden("pricing", text(&p, "/pending/terms/pricing")))
            .field(Field::hidden("price", text(&p, "/pending/terms/price")))
            .field(Field::hidden(
                "refund_policy",
                text(&p, "/pending/terms/refund_policy"),
            ))
            .field(Field::hidden("content.images:list", "upload:cover"))
            .field(
                Field::new("content.title", lang.t("common.title"), FieldKind::Text)
                    .value(text(&content, "/title"))
                    .required(),
            )
            .field(
                Field::new(
                    "content.description",
                    lang.t("common.description"),
                    FieldKind::Textarea,
                )
                .value(text(&content, "/description"))
                .required(),
            )
            .field(Field::hidden("content.terms", text(&content, "/terms")))
            .field(Field::hidden(
                "content.refund_terms",
                text(&content, "/refund_terms"),
            ))
            .field(Field::hidden(
                "content.delisting_strategy",
                text(&content, "/delisting_strategy"),
            ))
            .field(Field::hidden(
                "content.own_product_page",
                text(&content, "/own_product_page"),
            ))
            .field(Field::hidden(
                "content.attributes:json",
                content["attributes"].to_string(),
            ))
            .field(Field::hidden(
                "content.open_source:json",
                content["open_source"].to_string(),
            )),
        ));
    }
    if text(&p, "/pending/status") == "draft" {
        blocks.push(Block::Form(
            action(
                "submit-product",
                &format!("/api/v1/products/{id}/submit"),
                &visit.path,
                lang.t("provider.submit_product"),
            )
            .field(Field::hidden("_ok", "provider.submitted")),
        ));
    }
    Ok(c.page(&visit, lang.t("common.product"), Subnav::Provider, blocks))
}

async fn orders(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<OrderListQuery>,
) -> Page {
    let (visit, _) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let list = c.read_soft(&visit, &q.api_path("provider")).await;
    let rows = items(&list)
        .map(|v| {
            let o = &v["order"];
            let id = text(o, "/id");
            let mut actions = Vec::new();
            let open = o["refunds"]
                .as_array()
                .and_then(|r| r.last())
                .filter(|r| r["status"] == "requested");
            if let Some(r) = open {
                actions.push(
                    action(
                        &format!("accept-{id}"),
                        &format!("/api/v1/orders/{id}/refunds/current/acceptance"),
                        &visit.path,
                        format!(
                            "{} {}",
                            lang.t("provider.accept_refund"),
                            yuan(&text(r, "/proposed"))
                        ),
                    )
                    .field(Field::hidden("_idem", idempotency_key()))
                    .compact(),
                );
                actions.push(
                    action(
                        &format!("decline-{id}"),
                        &format!("/api/v1/orders/{id}/refunds/current/decline"),
                        &visit.path,
                        lang.t("provider.decline_refund"),
                    )
                    .field(Field::new("note", lang.t("common.reason"), FieldKind::Text).required())
                    .compact(),
                );
            }
            if text(o, "/status") == "held" && text(o, "/terms/category") == "service" {
                actions.push(
                    action(
                        &format!("milestone-{id}"),
                        &format!("/api/v1/orders/{id}/milestones"),
                        &visit.path,
                        lang.t("provider.report_milestone"),
                    )
                    .field(Field::new("title", lang.t("common.title"), FieldKind::Text).required())
                    .compact(),
                );
            }
            let refund = o["refunds"]
                .as_array()
                .and_then(|r| r.last())
                .map(|r| label(lang, "refund", &text(r, "/status")))
                .unwrap_or_default();
            vec![
                Cell::Text(order_number(&id)),
                Cell::Text(when(&text(o, "/placed_at"))),
                Cell::Text(yuan(&text(o, "/total"))),
                Cell::Badge(label(lang, "order", &text(o, "/status"))),
                Cell::Text(refund),
                window_cell(lang, v),
                Cell::Actions(actions),
            ]
        })
        .collect();
    let blocks = vec![
        Block::Links(q.filters(lang, "/provider/orders")),
        table(
            "orders",
            lang.t("provider.orders"),
            vec![
                lang.t("common.order"),
                lang.t("common.created"),
                lang.t("orders.total"),
                lang.t("common.status"),
                lang.t("orders.refund_state"),
                lang.t("orders.window_ends"),
                lang.t("common.actions"),
            ],
            rows,
            lang.t("common.none"),
        ),
        Block::Links(q.next_page(&list, lang, "/provider/orders")),
    ];
    Ok(c.page(&visit, lang.t("provider.orders"), Subnav::Provider, blocks))
}

/// The deadline the record's party faces now (complaint, invoice, case), as a live countdown;
/// none once it is closed.
pub fn due_cell(lang: Lang, v: &Value) -> Cell {
    match v["deadline"]["due_at"].as_str() {
        Some(until) => Cell::Countdown {
            text: when(until),
            until: until.to_owned(),
        },
        None => Cell::Text(lang.t("common.none")),
    }
}

async fn complaints(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let (visit, provider) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let list = c
        .in_statuses(
            &visit,
            &format!("/api/v1/complaints?provider={provider}&limit=100"),
            OPEN_COMPLAINTS,
        )
        .await;
    let rows = items(&list)
        .map(|v| {
            let id = text(v, "/complaint/id");
            vec![
                Cell::Text(label(
                    lang,
                    "complaint_reason",
                    &text(v, "/complaint/reason"),
                )),
                Cell::Text(text(v, "/complaint/text")),
                Cell::Badge(label(lang, "complaint", &text(v, "/status"))),
                due_cell(lang, v),
                Cell::Actions(vec![
                    action(
                        &format!("reply-{id}"),
                        &format!("/api/v1/complaints/{id}/messages"),
                        &visit.path,
                        lang.t("provider.reply"),
                    )
                    .field(Field::new("text", lang.t("provider.reply"), FieldKind::Text).required())
                    .compact(),
                ]),
            ]
        })
        .collect();
    let blocks = vec![table(
        "complaints",
        lang.t("provider.complaints"),
        vec![
            lang.t("orders.complaint_subject"),
            lang.t("common.description"),
            lang.t("common.status"),
            lang.t("common.due"),
            lang.t("common.actions"),
        ],
        rows,
        lang.t("common.none"),
    )];
    Ok(c.page(
        &visit,
        lang.t("provider.complaints"),
        Subnav::Provider,
        blocks,
    ))
}

async fn standing(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let (visit, provider) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let s = c
        .read_soft(&visit, &format!("/api/v1/providers/{provider}/standing"))
        .await;
    let cases = c.read_soft(&visit, "/api/v1/cases?limit=100").await;
    let mut blocks = vec![Block::Stats(vec![
        (lang.t("provider.points_total"), text(&s, "/points/points")),
        (
            lang.t("provider.points_threshold"),
            text(&s, "/points/expulsion_threshold"),
        ),
        (
            lang.t("common.status"),
            label(lang, "provider_status", &text(&s, "/provider_status")),
        ),
    ])];
    let rows = items(&cases)
        .map(|v| {
            let id = text(v, "/case/id");
            let mut actions = Vec::new();
            if text(v, "/status") == "awaiting_reply" {
                actions.push(
                    action(
                        &format!("reply-{id}"),
                        &format!("/api/v1/cases/{id}/reply"),
                        &visit.path,
                        lang.t("provider.reply"),
                    )
                    .field(Field::new("text", lang.t("provider.reply"), FieldKind::Text).required())
                    .compact(),
                );
            }
            vec![
                Cell::Text(case_rule(lang, v)),
                Cell::Text(text(v, "/case/row/points")),
                Cell::Badge(label(lang, "case", &text(v, "/status"))),
                Cell::Text(when(&text(v, "/case/opened_at"))),
                Cell::Actions(actions),
            ]
        })
        .collect();
    blocks.push(table(
        "cases",
        lang.t("provider.cases"),
        vec![
            lang.t("provider.rule"),
            lang.t("common.points"),
            lang.t("common.status"),
            lang.t("common.created"),
            lang.t("common.actions"),
        ],
        rows,
        lang.t("common.none"),
    ));
    let stores = s["stores"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            vec![
                Cell::Text(text(st, "/store/name")),
                Cell::Badge(label(lang, "store", &text(st, "/state/state"))),
                Cell::Text(text(st, "/state/reason")),
                Cell::Text(when(&text(st, "/state/until"))),
            ]
        })
        .collect();
    blocks.push(table(
        "measures",
        lang.t("provider.freezes"),
        vec![
            lang.t("provider.store"),
            lang.t("common.status"),
            lang.t("provider.rule"),
            lang.t("common.due"),
        ],
        stores,
        lang.t("common.none"),
    ));
    Ok(c.page(
        &visit,
        lang.t("provider.standing"),
        Subnav::Provider,
        blocks,
    ))
}

async fn deposit(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let (visit, provider) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let d = c
        .page_data(&visit, &format!("/api/v1/providers/{provider}/deposit"))
        .await?;
    let blocks = vec![
        Block::Stats(vec![
            (lang.t("provider.deposit_balance"), yuan(&text(&d, "/held"))),
            (
                lang.t("provider.deposit_required"),
                yuan(&text(&d, "/required")),
            ),
            (
                lang.t("provider.deposit_outstanding"),
                yuan(&text(&d, "/shortfall")),
            ),
        ]),
        Block::Form(
            action(
                "top-up",
                &format!("/api/v1/providers/{provider}/deposit/top-ups"),
                &visit.path,
                lang.t("provider.top_up"),
            )
            .field(Field::hidden("_idem", idempotency_key()))
            .field(
                Field::new("amount", lang.t("common.amount"), FieldKind::Number)
                    .value(text(&d, "/shortfall"))
                    .required(),
            ),
        ),
    ];
    Ok(c.page(&visit, lang.t("provider.deposit"), Subnav::Provider, blocks))
}

async fn statements(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let (visit, provider) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let list = c
        .read_soft(&visit, &format!("/api/v1/providers/{provider}/statements"))
        .await;
    let rows = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let id = text(s, "/id");
            vec![
                Cell::Link {
                    text: period(s),
                    href: format!("/provider/statements/{id}"),
                },
                Cell::Text(yuan(&text(s, "/sales"))),
                Cell::Text(yuan(&text(s, "/refunds"))),
                Cell::Text(yuan(&text(s, "/fee"))),
                Cell::Text(yuan(&text(s, "/held"))),
                Cell::Text(yuan(&text(s, "/payout"))),
                Cell::Link {
                    text: "CSV".into(),
                    href: format!("/console/file?path=/api/v1/statements/{id}/csv"),
                },
                Cell::Link {
                    text: "XLSX".into(),
                    href: format!("/console/file?path=/api/v1/statements/{id}/xlsx"),
                },
            ]
        })
        .collect();
    let blocks = vec![table(
        "statements",
        lang.t("provider.statements"),
        vec![
            lang.t("common.period"),
            lang.t("provider.gross"),
            lang.t("operator.refunds"),
            lang.t("provider.fee"),
            lang.t("provider.held"),
            lang.t("provider.payout"),
            lang.t("common.download_csv"),
            lang.t("common.download_xlsx"),
        ],
        rows,
        lang.t("common.none"),
    )];
    let payouts = c
        .read_soft(&visit, &format!("/api/v1/providers/{provider}/payouts"))
        .await;
    let rows = payouts
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            vec![
                Cell::Text(period(p)),
                Cell::Text(yuan(&text(p, "/amount"))),
                Cell::Text(format!(
                    "{} {}",
                    text(p, "/account/bank"),
                    text(p, "/account/account_number")
                )),
                Cell::Badge(label(lang, "payout", &text(p, "/status"))),
                Cell::Text(when(&text(p, "/settled_at"))),
            ]
        })
        .collect();
    let mut blocks = blocks;
    blocks.extend(payee_blocks(&c, &visit, provider).await);
    blocks.push(table(
        "payouts",
        lang.t("provider.payouts"),
        vec![
            lang.t("common.period"),
            lang.t("common.amount"),
            lang.t("provider.payee"),
            lang.t("common.status"),
            lang.t("provider.settled_at"),
        ],
        rows,
        lang.t("common.none"),
    ));
    Ok(c.page(
        &visit,
        lang.t("provider.statements"),
        Subnav::Provider,
        blocks,
    ))
}

/// The receiving account payouts go to, a change waiting for finance, and the form to ask
/// for one.
async fn payee_blocks(c: &Console, visit: &Visit, provider: Uuid) -> Vec<Block> {
    let lang = visit.lang;
    let path = format!("/api/v1/providers/{provider}/payee-account");
    let payee = c.read_soft(visit, &path).await;
    let account = |a: &Value| {
        let shown = format!(
            "{} · {} {} · {}",
            text(a, "/holder"),
            text(a, "/bank"),
            text(a, "/branch"),
            text(a, "/account_number")
        );
        if text(a, "/account_number").is_empty() {
            lang.t("common.none")
        } else {
            shown
        }
    };
    let mut rows = vec![(
        lang.t("provider.payee"),
        Cell::Text(account(&payee["approved"])),
    )];
    if !payee["pending"].is_null() {
        rows.push((
            lang.t("provider.payee_pending"),
            Cell::Text(account(&payee["pending"]["account"])),
        ));
    }
    let staff = visit
        .me
        .as_ref()
        .is_some_and(|m| matches!(m.role, super::Role::Provider { .. }));
    if !staff {
        // The API lets only the provider's own staff change where its money goes.
        return vec![
            Block::Heading(lang.t("provider.payee")),
            Block::Details(rows),
            Block::Text(lang.t("provider.payee_staff_only")),
        ];
    }
    vec![
        Block::Heading(lang.t("provider.payee")),
        Block::Details(rows),
        Block::Form(
            action("payee", &path, &visit.path, lang.t("provider.payee_change"))
                .field(Field::hidden("_ok", "provider.payee_requested"))
                .field(Field::hidden("channel", "bank"))
                .field(
                    Field::new("holder", lang.t("provider.payee_holder"), FieldKind::Text)
                        .required(),
                )
                .field(
                    Field::new("bank", lang.t("provider.payee_bank"), FieldKind::Text).required(),
                )
                .field(
                    Field::new("branch", lang.t("provider.payee_branch"), FieldKind::Text)
                        .required(),
                )
                .field(
                    Field::new(
                        "account_number",
                        lang.t("provider.payee_number"),
                        FieldKind::Text,
                    )
                    .required(),
                ),
        ),
    ]
}

/// A settlement period as shown ("2026-10-01 – 2026-11-01").
fn period(v: &Value) -> String {
    format!("{} – {}", text(v, "/period/start"), text(v, "/period/end"))
}

/// One statement: its totals, adjustments and every order line, with the downloads.
async fn statement(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<Uuid>,
) -> Page {
    let (visit, _) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let s = c
        .page_data(&visit, &format!("/api/v1/statements/{id}"))
        .await?;
    let holds: Vec<String> = s["holds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| label(lang, "hold", &text(h, "/kind")))
        .collect();
    let adjustments = s["adjustments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            vec![
                Cell::Text(label(lang, "adjustment", &text(a, "/kind"))),
                Cell::Text(yuan(&text(a, "/amount"))),
            ]
        })
        .collect();
    let lines = s["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            vec![
                Cell::Text(order_number(&text(l, "/order_id"))),
                Cell::Text(label(lang, "line", &text(l, "/kind"))),
                Cell::Text(yuan(&text(l, "/amount"))),
                Cell::Text(yuan(&text(l, "/fee"))),
                Cell::Text(yuan(&text(l, "/net"))),
            ]
        })
        .collect();
    let blocks = vec![
        Block::Stats(vec![
            (lang.t("provider.gross"), yuan(&text(&s, "/sales"))),
            (lang.t("operator.refunds"), yuan(&text(&s, "/refunds"))),
            (lang.t("provider.fee"), yuan(&text(&s, "/fee"))),
            (lang.t("settlement.net"), yuan(&text(&s, "/net"))),
            (lang.t("provider.held"), yuan(&text(&s, "/held"))),
            (lang.t("provider.payout"), yuan(&text(&s, "/payout"))),
        ]),
        Block::Text(format!(
            "{}: {}",
            lang.t("provider.hold_reasons"),
            if holds.is_empty() {
                lang.t("common.none")
            } else {
                holds.join("、")
            }
        )),
        Block::Links(vec![
            (
                lang.t("common.download_csv"),
                format!("/console/file?path=/api/v1/statements/{id}/csv"),
            ),
            (
                lang.t("common.download_xlsx"),
                format!("/console/file?path=/api/v1/statements/{id}/xlsx"),
            ),
        ]),
        table(
            "adjustments",
            lang.t("provider.adjustments"),
            vec![lang.t("common.kind"), lang.t("common.amount")],
            adjustments,
            lang.t("common.none"),
        ),
        table(
            "lines",
            lang.t("provider.lines"),
            vec![
                lang.t("common.order"),
                lang.t("common.kind"),
                lang.t("common.amount"),
                lang.t("provider.fee"),
                lang.t("settlement.net"),
            ],
            lines,
            lang.t("common.none"),
        ),
    ];
    Ok(c.page(
        &visit,
        format!("{} {}", lang.t("provider.statement"), period(&s)),
        Subnav::Provider,
        blocks,
    ))
}

async fn invoices(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let (visit, provider) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let list = c
        .read_soft(
            &visit,
            &format!("/api/v1/invoices?provider={provider}&limit=100"),
        )
        .await;
    let rows = items(&list)
        .map(|v| {
            let id = text(v, "/invoice/id");
            let mut actions = Vec::new();
            if text(v, "/status") == "requested" && text(v, "/issuer") == "provider" {
                actions.push(
                    action(
                        &format!("issue-{id}"),
                        &format!("/api/v1/invoices/{id}/issue"),
                        &visit.path,
                        lang.t("provider.issue_invoice"),
                    )
                    .field(
                        Field::new("number", lang.t("provider.invoice_number"), FieldKind::Text)
                            .required(),
                    )
                    .compact(),
                );
            }
            vec![
                Cell::Text(text(v, "/invoice/title")),
                Cell::Text(yuan(&text(v, "/invoice/amount"))),
                Cell::Badge(label(lang, "invoice", &text(v, "/status"))),
                due_cell(lang, v),
                Cell::Actions(actions),
            ]
        })
        .collect();
    let blocks = vec![table(
        "invoices",
        lang.t("provider.invoices"),
        vec![
            lang.t("orders.invoice_title"),
            lang.t("common.amount"),
            lang.t("common.status"),
            lang.t("common.due"),
            lang.t("common.actions"),
        ],
        rows,
        lang.t("common.none"),
    )];
    Ok(c.page(
        &visit,
        lang.t("provider.invoices"),
        Subnav::Provider,
        blocks,
    ))
}

async fn webhooks(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let (visit, _) = provider_of(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let endpoint = c.read_soft(&visit, "/api/v1/webhooks/endpoint").await;
    let deliveries = c
        .read_soft(&visit, "/api/v1/webhooks/deliveries?limit=50")
        .await;
    let rows = items(&deliveries)
        .map(|d| {
            let id = text(d, "/id");
            let mut actions = Vec::new();
            if text(d, "/status") != "delivered" {
                actions.push(
                    action(
                        &format!("retry-{id}"),
                        &format!("/api/v1/webhooks/deliveries/{id}/retry"),
                        &visit.path,
                        lang.t("provider.retry"),
                    )
                    .compact(),
                );
            }
            vec![
                Cell::Text(text(d, "/event")),
                Cell::Badge(text(d, "/status")),
                Cell::Text(d["attempts"].as_array().map_or(0, Vec::len).to_string()),
                Cell::Text(when(&text(d, "/created_at"))),
                Cell::Actions(actions),
            ]
        })
        .collect();
    let blocks = vec![
        Block::Form(
            action(
                "endpoint",
                "/api/v1/webhooks/endpoint",
                &visit.path,
                lang.t("common.save"),
            )
            .field(Field::hidden("_method", "PUT"))
            .field(
                Field::new("url", lang.t("provider.endpoint_url"), FieldKind::Text)
                    .value(text(&endpoint, "/url"))
                    .required(),
            ),
        ),
        table(
            "deliveries",
            lang.t("provider.deliveries"),
            vec![
                lang.t("common.kind"),
                lang.t("common.status"),
                lang.t("provider.attempts"),
                lang.t("common.created"),
                lang.t("common.actions"),
            ],
            rows,
            lang.t("common.none"),
        ),
    ];
    Ok(c.page(
        &visit,
        lang.t("provider.webhooks"),
        Subnav::Provider,
        blocks,
    ))
}
