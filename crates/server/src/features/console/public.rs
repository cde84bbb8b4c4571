//! The catalogue with search and filters (live as one types, through htmx), and a product's
//! page with its rating, reviews, refund terms, provider and the order form.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use serde::Deserialize;
use uuid::Uuid;

use super::blocks::{Block, Cell, Field, FieldKind, Form, Table};
use super::i18n::Lang;
use super::{Console, Page, Subnav, action, table, text, when, yuan};

pub const CATEGORIES: &[&str] = &["application", "image", "service", "api", "tool", "saas"];

#[derive(Deserialize, Default)]
pub struct CatalogueQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    sort: String,
}

/// A status or enum value in the page's language (the value itself when not catalogued).
pub fn label(lang: Lang, group: &str, value: &str) -> String {
    let key = format!("{group}.{value}");
    if super::i18n::known(&key) {
        lang.t(&key)
    } else {
        value.to_owned()
    }
}

pub fn category_options(lang: Lang, all: bool) -> Vec<(String, String)> {
    let mut options = Vec::new();
    if all {
        options.push((String::new(), lang.t("catalogue.all_categories")));
    }
    options.extend(
        CATEGORIES
            .iter()
            .map(|c| ((*c).to_owned(), label(lang, "category", c))),
    );
    options
}

pub async fn catalogue(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<CatalogueQuery>,
) -> Page {
    let visit = c.visit(&headers, &uri).await;
    let lang = visit.lang;
    let sorts = ["relevance", "sales", "rating", "price_asc", "price_desc"]
        .iter()
        .map(|s| ((*s).to_owned(), label(lang, "sort", s)))
        .collect();
    let mut search = Form::get("search", "/", lang.t("catalogue.search"))
        .field(Field::new("q", lang.t("catalogue.query"), FieldKind::Text).value(q.q.clone()))
        .field(
            Field::new(
                "category",
                lang.t("common.category"),
                FieldKind::Select(category_options(lang, true)),
            )
            .value(q.category.clone()),
        )
        .field(
            Field::new("sort", lang.t("catalogue.sort"), FieldKind::Select(sorts))
                .value(q.sort.clone()),
        );
    search.live_target = Some("results".into());
    let mut params = vec![("page_size", "50".to_owned())];
    if !q.q.trim().is_empty() {
        params.push(("q", q.q.trim().to_owned()));
    }
    if CATEGORIES.contains(&q.category.as_str()) {
        params.push(("category", q.category.clone()));
    }
    if !q.sort.is_empty() {
        params.push(("sort", q.sort.clone()));
    }
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let found = c
        .page_data(&visit, &format!("/api/v1/catalogue?{query}"))
        .await?;
    let rows = found["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|p| {
                    vec![
                        Cell::Link {
                            text: text(p, "/title"),
                            href: format!("/products/{}", text(p, "/product")),
                        },
                        Cell::Text(label(lang, "category", &text(p, "/category"))),
                        Cell::Text(format!(
                            "{} {}",
                            yuan(&text(p, "/price")),
                            label(lang, "pricing", &text(p, "/pricing"))
                        )),
                        Cell::Text(text(p, "/sales")),
                        Cell::Text(text(p, "/rating")),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let table = Table {
        id: "results".into(),
        caption: format!(
            "{} ({})",
            lang.t("catalogue.results"),
            text(&found, "/total")
        ),
        columns: vec![
            lang.t("common.product"),
            lang.t("common.category"),
            lang.t("common.price"),
            lang.t("catalogue.sales"),
            lang.t("catalogue.rating"),
        ],
        rows,
        empty: lang.t("catalogue.empty"),
    };
    let blocks = vec![Block::Form(search), Block::Table(table)];
    Ok(c.page(&visit, lang.t("catalogue.title"), Subnav::None, blocks))
}

pub async fn product(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<Uuid>,
) -> Page {
    let visit = c.visit(&headers, &uri).await;
    let lang = visit.lang;
    let p = c
        .page_data(&visit, &format!("/api/v1/catalogue/{id}"))
        .await?;
    let store = Some(
        c.read_soft(&visit, &format!("/api/v1/stores/{}", text(&p, "/store")))
            .await,
    )
    .filter(|s| !s.is_null());
    let store_name = store
        .as_ref()
        .map(|s| {
            let n = text(s, "/store/name");
            if n.is_empty() { text(s, "/name") } else { n }
        })
        .unwrap_or_default();
    let window = match p.pointer("/refund_class/window") {
        Some(w) if w.get("days_from_purchase").is_some() => format!(
            "{} {}",
            text(w, "/days_from_purchase"),
            lang.t("product.days_from_purchase")
        ),
        Some(w) if !w.is_null() => w.to_string(),
        _ => lang.t("product.no_window"),
    };
    let rating = if p["rating"].is_null() {
        lang.t("product.no_reviews")
    } else {
        format!(
            "{} ({} {})",
            text(&p, "/rating"),
            text(&p, "/rating_count"),
            lang.t("product.ratings_count")
        )
    };
    let mut blocks = vec![
        Block::Text(text(&p, "/content/description")),
        Block::Details(vec![
            (
                lang.t("common.price"),
                Cell::Text(yuan(&text(&p, "/price"))),
            ),
            (
                lang.t("product.pricing"),
                Cell::Text(label(lang, "pricing", &text(&p, "/pricing"))),
            ),
            (
                lang.t("common.category"),
                Cell::Text(label(lang, "category", &text(&p, "/category"))),
            ),
            (lang.t("catalogue.rating"), Cell::Text(rating)),
            (lang.t("catalogue.sales"), Cell::Text(text(&p, "/sales"))),
            (lang.t("orders.window"), Cell::Text(window)),
            (
                lang.t("product.refund_policy"),
                Cell::Text(label(lang, "refund_policy", &text(&p, "/refund_policy"))),
            ),
            (
                lang.t("product.refund_terms"),
                Cell::Text(text(&p, "/content/refund_terms")),
            ),
            (
                lang.t("product.terms"),
                Cell::Text(text(&p, "/content/terms")),
            ),
            (lang.t("product.store"), Cell::Text(store_name)),
        ]),
    ];
    let reviews = p["reviews"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            vec![
                Cell::Text(text(r, "/score")),
                Cell::Text(text(r, "/text")),
                Cell::Text(when(&text(r, "/at"))),
            ]
        })
        .collect();
    blocks.push(table(
        "reviews",
        lang.t("product.reviews"),
        vec![
            lang.t("catalogue.rating"),
            lang.t("orders.review"),
            lang.t("common.time"),
        ],
        reviews,
        lang.t("product.no_reviews"),
    ));
    blocks.push(Block::Heading(lang.t("product.buy_title")));
    match &visit.me {
        Some(me) if me.is_member() => {
            let form = action("buy", "/api/v1/orders", &visit.path, lang.t("product.buy"))
                .field(Field::hidden("_next", "/orders/{/order/id}/pay"))
                .field(Field::hidden("_ok", "checkout.placed"))
                .field(Field::hidden("product_id", id.to_string()))
                .field(
                    Field::new(
                        "quantity:int",
                        lang.t("product.quantity"),
                        FieldKind::Number,
                    )
                    .value("1")
                    .required(),
                );
            blocks.push(Block::Form(form));
        }
        Some(_) => blocks.push(Block::Text(lang.t("product.members_buy"))),
        None => blocks.push(Block::Links(vec![(
            lang.t("product.login_to_buy"),
            format!(
                "/login?{}",
                serde_urlencoded::to_string([("next", visit.path.as_str())]).unwrap_or_default()
            ),
        )])),
    }
    Ok(c.page(&visit, text(&p, "/content/title"), Subnav::None, blocks))
}
