//! A buyer's pages: my orders with the guarantee-window countdown, an order with what can be
//! done with it now (pay, confirm a milestone, accept, refund, complain, rate, invoice), and
//! the sandbox checkout.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::blocks::{Block, Cell, Field, FieldKind, Table};
use super::i18n::Lang;
use super::public::label;
use super::{Console, Page, Subnav, action, idempotency_key, text, when, yuan};

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/orders", get(my_orders))
        .route("/orders/{id}", get(order_page))
        .route("/orders/{id}/pay", get(checkout))
}

/// The guarantee window as a live countdown (or its state in words).
pub fn window_cell(lang: Lang, view: &Value) -> Cell {
    let countdown = &view["countdown"];
    match countdown["state"].as_str() {
        Some("running") => Cell::Countdown {
            until: text(countdown, "/ends_at"),
            text: when(&text(countdown, "/ends_at")),
        },
        Some(state) => Cell::Text(label(lang, "window", state)),
        None => Cell::Text(String::new()),
    }
}

/// The product's title for an order row (the order keeps only the product id).
async fn product_title(c: &Console, token: Option<&str>, lang: Lang, product: &str) -> String {
    c.api
        .get(&format!("/api/v1/catalogue/{product}"), token, lang)
        .await
        .map(|p| text(&p, "/content/title"))
        .unwrap_or_else(|_| product.chars().take(8).collect())
}

/// An order list's filter and page, as the page's query and as the API's.
#[derive(Deserialize, Default)]
pub struct OrderListQuery {
    status: Option<String>,
    after: Option<Uuid>,
}

/// The statuses an order list filters by.
const ORDER_FILTERS: &[&str] = &[
    "held",
    "awaiting_payment",
    "released",
    "refunded",
    "cancelled",
];

impl OrderListQuery {
    fn status(&self) -> Option<&str> {
        self.status.as_deref().filter(|s| ORDER_FILTERS.contains(s))
    }

    /// The API's list for `side` (`buyer` or `provider`), 50 at a time.
    pub fn api_path(&self, side: &str) -> String {
        let mut path = format!("/api/v1/orders?as={side}&limit=50");
        if let Some(s) = self.status() {
            path.push_str(&format!("&status={s}"));
        }
        if let Some(a) = self.after {
            path.push_str(&format!("&after={a}"));
        }
        path
    }

    /// Links to the list by status.
    pub fn filters(&self, lang: Lang, page: &str) -> Vec<(String, String)> {
        let mut links = vec![(lang.t("orders.all"), page.to_owned())];
        links.extend(
            ORDER_FILTERS
                .iter()
                .map(|s| (label(lang, "order", s), format!("{page}?status={s}"))),
        );
        links
    }

    /// The link to the next page, when there is one.
    pub fn next_page(&self, list: &Value, lang: Lang, page: &str) -> Vec<(String, String)> {
        let Some(next) = list["next"].as_str() else {
            return Vec::new();
        };
        let status = self
            .status()
            .map(|s| format!("status={s}&"))
            .unwrap_or_default();
        vec![(
            lang.t("common.next_page"),
            format!("{page}?{status}after={next}"),
        )]
    }
}

pub use yunshi_core::ids::order_number;

async fn my_orders(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<OrderListQuery>,
) -> Page {
    let visit = c.visit(&headers, &uri).await;
    c.require(&visit)?;
    let lang = visit.lang;
    let page = c.page_data(&visit, &q.api_path("buyer")).await?;
    let mut rows = Vec::new();
    for v in page["items"].as_array().into_iter().flatten() {
        let o = &v["order"];
        let title =
            product_title(&c, visit.token.as_deref(), lang, &text(o, "/terms/product")).await;
        rows.push(vec![
            Cell::Link {
                text: title,
                href: format!("/orders/{}", text(o, "/id")),
            },
            Cell::Text(yuan(&text(o, "/total"))),
            Cell::Badge(label(lang, "order", &text(o, "/status"))),
            window_cell(lang, v),
            Cell::Text(when(&text(o, "/placed_at"))),
        ]);
    }
    let table = Table {
        id: "orders".into(),
        caption: lang.t("orders.title"),
        columns: vec![
            lang.t("common.product"),
            lang.t("orders.total"),
            lang.t("common.status"),
            lang.t("orders.window_ends"),
            lang.t("common.created"),
        ],
        rows,
        empty: lang.t("orders.empty"),
    };
    Ok(c.page(
        &visit,
        lang.t("orders.title"),
        Subnav::None,
        vec![
            Block::Links(q.filters(lang, "/orders")),
            Block::Table(table),
            Block::Links(q.next_page(&page, lang, "/orders")),
        ],
    ))
}

async fn order_page(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<Uuid>,
) -> Page {
    let visit = c.visit(&headers, &uri).await;
    c.require(&visit)?;
    let lang = visit.lang;
    let v = c.page_data(&visit, &format!("/api/v1/orders/{id}")).await?;
    let o = &v["order"];
    let status = text(o, "/status");
    let title = product_title(&c, visit.token.as_deref(), lang, &text(o, "/terms/product")).await;
    let back = visit.path.clone();
    let api = |s: &str| format!("/api/v1/orders/{id}{s}");
    let mut details = vec![
        (
            lang.t("common.product"),
            Cell::Link {
                text: title.clone(),
                href: format!("/products/{}", text(o, "/terms/product")),
            },
        ),
        (
            lang.t("common.status"),
            Cell::Badge(label(lang, "order", &status)),
        ),
        (lang.t("orders.total"), Cell::Text(yuan(&text(o, "/total")))),
        (
            lang.t("orders.refunded"),
            Cell::Text(yuan(&text(&v, "/refunded"))),
        ),
        (lang.t("orders.window_ends"), window_cell(lang, &v)),
        (
            lang.t("common.created"),
            Cell::Text(when(&text(o, "/placed_at"))),
        ),
    ];
    if let Some(refund) = o["refunds"].as_array().and_then(|r| r.last()) {
        details.push((
            lang.t("orders.refund_state"),
            Cell::Badge(label(lang, "refund", &text(refund, "/status"))),
        ));
    }
    let mut blocks = vec![Block::Details(details)];
    let open_refund = o["refunds"].as_array().into_iter().flatten().any(|r| {
        matches!(
            r["status"].as_str(),
            Some("requested" | "provider_declined" | "escalated")
        )
    });
    if status == "awaiting_payment" {
        blocks.push(Block::Links(vec![(
            lang.t("orders.pay"),
            format!("/orders/{id}/pay"),
        )]));
    }
    for (i, m) in o["milestones"].as_array().into_iter().flatten().enumerate() {
        if m["confirmed_at"].is_null() {
            blocks.push(Block::Form(action(
                &format!("milestone-{i}"),
                &api(&format!("/milestones/{i}/confirmation")),
                &back,
                format!(
                    "{}: {}",
                    lang.t("orders.confirm_milestone"),
                    text(m, "/title")
                ),
            )));
        }
    }
    if status == "held" && text(o, "/terms/category") == "service" && o["accepted_at"].is_null() {
        blocks.push(Block::Form(action(
            "accept",
            &api("/acceptance"),
            &back,
            lang.t("orders.accept"),
        )));
    }
    // A refund under way: the buyer may take it back, or ask the marketplace to decide once
    // the provider declined.
    let current = o["refunds"].as_array().and_then(|r| r.last());
    if let Some(r) = current.filter(|_| open_refund) {
        let state = text(r, "/status");
        blocks.push(Block::Form(action(
            "withdraw-refund",
            &api("/refunds/current/withdrawal"),
            &back,
            lang.t("orders.withdraw_refund"),
        )));
        if state == "provider_declined" {
            blocks.push(Block::Form(action(
                "escalate",
                &api("/refunds/current/escalation"),
                &back,
                lang.t("orders.escalate"),
            )));
        }
    }
    if matches!(status.as_str(), "held" | "released") && !open_refund {
        let reasons = [
            "",
            "service_quality_loss",
            "late_or_dragging",
            "mismatch",
            "not_delivered_as_agreed",
            "delivery_time_or_completeness",
            "program_quality",
            "unreachable",
        ]
        .iter()
        .map(|r| {
            (
                (*r).to_owned(),
                if r.is_empty() {
                    lang.t("orders.within_window")
                } else {
                    label(lang, "refund_reason", r)
                },
            )
        })
        .collect();
        blocks.push(Block::Heading(lang.t("orders.refund")));
        blocks.push(Block::Form(
            action("refund", &api("/refunds"), &back, lang.t("orders.refund"))
                .field(Field::hidden("_idem", idempotency_key()))
                .field(Field::hidden("_ok", "orders.refund_requested"))
                .field(Field::new(
                    "reason",
                    lang.t("orders.refund_reason"),
                    FieldKind::Select(reasons),
                ))
                .field(Field::new(
                    "note",
                    lang.t("common.note"),
                    FieldKind::Textarea,
                )),
        ));
    }
    if matches!(status.as_str(), "held" | "released" | "refunded") {
        let reasons = [
            "not_delivered",
            "service_quality",
            "late_or_dragging",
            "mismatch",
            "unresponsive",
            "attitude",
            "security",
            "other",
        ]
        .iter()
        .map(|r| ((*r).to_owned(), label(lang, "complaint_reason", r)))
        .collect();
        blocks.push(Block::Heading(lang.t("orders.complain")));
        blocks.push(Block::Form(
            action(
                "complain",
                "/api/v1/complaints",
                &back,
                lang.t("orders.complain"),
            )
            .field(Field::hidden("_ok", "orders.complaint_filed"))
            .field(Field::hidden("order_id", id.to_string()))
            .field(Field::new(
                "reason",
                lang.t("orders.complaint_subject"),
                FieldKind::Select(reasons),
            ))
            .field(
                Field::new("text", lang.t("common.description"), FieldKind::Textarea).required(),
            ),
        ));
    }
    if matches!(status.as_str(), "held" | "released") && o["rating"].is_null() {
        let stars = (1..=5)
            .rev()
            .map(|s| (s.to_string(), "★".repeat(s)))
            .collect();
        blocks.push(Block::Heading(lang.t("orders.rate")));
        blocks.push(Block::Form(
            action("rate", &api("/rating"), &back, lang.t("orders.rate"))
                .field(
                    Field::new(
                        "score:int",
                        lang.t("orders.stars"),
                        FieldKind::Select(stars),
                    )
                    .value("5"),
                )
                .field(Field::new(
                    "text",
                    lang.t("orders.review"),
                    FieldKind::Textarea,
                )),
        ));
    }
    if matches!(status.as_str(), "held" | "released") {
        let kinds = vec![
            ("personal".to_owned(), lang.t("signup.personal")),
            ("enterprise".to_owned(), lang.t("orders.enterprise_title")),
        ];
        let types = vec![
            ("ordinary".to_owned(), lang.t("orders.ordinary_invoice")),
            ("special_vat".to_owned(), lang.t("orders.special_vat")),
        ];
        blocks.push(Block::Heading(lang.t("orders.invoice")));
        blocks.push(Block::Form(
            action("invoice", &api("/invoice"), &back, lang.t("orders.invoice"))
                .field(Field::hidden("delivery.method", "email"))
                .field(
                    Field::new("title", lang.t("orders.invoice_title"), FieldKind::Text).required(),
                )
                .field(Field::new(
                    "title_kind",
                    lang.t("common.kind"),
                    FieldKind::Select(kinds),
                ))
                .field(Field::new(
                    "tax_number",
                    lang.t("orders.tax_id"),
                    FieldKind::Text,
                ))
                .field(Field::new(
                    "invoice_type",
                    lang.t("orders.invoice_type"),
                    FieldKind::Select(types),
                ))
                .field(
                    Field::new("delivery.email", lang.t("login.email"), FieldKind::Email)
                        .required(),
                ),
        ));
    }
    Ok(c.page(
        &visit,
        format!("{} · {title}", lang.t("orders.detail")),
        Subnav::None,
        blocks,
    ))
}

async fn checkout(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<Uuid>,
) -> Page {
    let visit = c.visit(&headers, &uri).await;
    c.require(&visit)?;
    let lang = visit.lang;
    let v = c.page_data(&visit, &format!("/api/v1/orders/{id}")).await?;
    let o = &v["order"];
    let title = product_title(&c, visit.token.as_deref(), lang, &text(o, "/terms/product")).await;
    let mut blocks = vec![
        Block::Details(vec![
            (lang.t("common.product"), Cell::Text(title)),
            (
                lang.t("product.quantity"),
                Cell::Text(text(o, "/terms/quantity")),
            ),
            (lang.t("orders.total"), Cell::Text(yuan(&text(o, "/total")))),
            (
                lang.t("common.status"),
                Cell::Badge(label(lang, "order", &text(o, "/status"))),
            ),
        ]),
        Block::Text(lang.t("checkout.sandbox")),
    ];
    if text(o, "/status") == "awaiting_payment" {
        let outcomes = vec![
            ("succeed".to_owned(), lang.t("checkout.succeed")),
            ("fail".to_owned(), lang.t("checkout.decline")),
        ];
        blocks.push(Block::Form(
            action(
                "pay",
                &format!("/api/v1/orders/{id}/payments"),
                &visit.path,
                lang.t("checkout.pay"),
            )
            .field(Field::hidden("_idem", idempotency_key()))
            .field(Field::hidden("_next", format!("/orders/{id}")))
            .field(Field::hidden("_ok", "checkout.paid"))
            .field(
                Field::new(
                    "sandbox",
                    lang.t("checkout.behaviour"),
                    FieldKind::Select(outcomes),
                )
                .value("succeed"),
            ),
        ));
    }
    Ok(c.page(&visit, lang.t("checkout.title"), Subnav::None, blocks))
}
