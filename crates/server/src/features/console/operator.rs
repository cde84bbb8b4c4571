//! The operator console: dashboard, onboarding and listing review, the complaint and case
//! desks, deposits, settlement and reconciliation, notices, the rulebook, staff and the
//! simulated clock.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use yunshi_core::account::OperatorRole;

use super::blocks::{Block, Cell, Chart, Field, FieldKind};
use super::i18n::Lang;
use super::provider::due_cell;
use super::public::label;
use super::session::account_fields;
use super::{
    Console, OPEN_CASES, OPEN_COMPLAINTS, Page, Subnav, Visit, action, case_rule, idempotency_key,
    items, open_first, table, text, when, yuan,
};

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/operator", get(dashboard))
        .route("/operator/onboarding", get(onboarding))
        .route("/operator/listings", get(listings))
        .route("/operator/complaints", get(complaints))
        .route("/operator/cases", get(cases))
        .route("/operator/deposits", get(deposits))
        .route("/operator/settlement", get(settlement))
        .route("/operator/notices", get(notices))
        .route("/operator/rulebook", get(rulebook))
        .route("/operator/staff", get(staff))
        .route("/operator/clock", get(clock))
}

/// The operator's desks: page, title key, and the role that works there (`None`: every
/// operator staff member; the administrator works at all of them). The navigation shows a
/// staff member its desks only, and another desk answers 403; a role's first desk is where
/// it lands after logging in.
pub const DESKS: [(&str, &str, Option<OperatorRole>); 11] = [
    ("operator.dashboard", "/operator", None),
    (
        "operator.onboarding",
        "/operator/onboarding",
        Some(OperatorRole::Reviewer),
    ),
    (
        "operator.listings",
        "/operator/listings",
        Some(OperatorRole::Reviewer),
    ),
    (
        "operator.complaints",
        "/operator/complaints",
        Some(OperatorRole::CustomerService),
    ),
    (
        "operator.cases",
        "/operator/cases",
        Some(OperatorRole::Compliance),
    ),
    (
        "operator.settlement",
        "/operator/settlement",
        Some(OperatorRole::Finance),
    ),
    (
        "operator.deposits",
        "/operator/deposits",
        Some(OperatorRole::Finance),
    ),
    ("operator.notices", "/operator/notices", None),
    ("operator.rulebook", "/operator/rulebook", None),
    (
        "operator.staff",
        "/operator/staff",
        Some(OperatorRole::Admin),
    ),
    (
        "operator.clock",
        "/operator/clock",
        Some(OperatorRole::Admin),
    ),
];

/// Operator staff at one of their desks only; anyone else sees the refusal.
async fn operator(c: &Console, headers: &HeaderMap, uri: &Uri) -> Result<Visit, Response> {
    let visit = c.visit(headers, uri).await;
    c.require(&visit)?;
    if visit
        .me
        .as_ref()
        .is_some_and(|m| m.is_operator() && m.works_at(uri.path()))
    {
        Ok(visit)
    } else {
        let failure = super::api::Failure {
            status: axum::http::StatusCode::FORBIDDEN,
            code: "forbidden".into(),
            message: visit.lang.t("error.forbidden"),
            detail: String::new(),
        };
        Err(c.problem_page(&visit, &failure))
    }
}

/// Fen from the API's decimal string (exact: no floats).
fn fen(amount: &str) -> i64 {
    let (neg, digits) = match amount.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, amount),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let frac: String = frac.chars().chain("00".chars()).take(2).collect();
    let v = int.parse::<i64>().unwrap_or(0) * 100 + frac.parse::<i64>().unwrap_or(0);
    if neg { -v } else { v }
}

fn from_fen(f: i64) -> String {
    let sign = if f < 0 { "-" } else { "" };
    yuan(&format!("{sign}{}.{:02}", f.abs() / 100, f.abs() % 100))
}

/// How many orders the dashboard reads to draw its figures. The order list runs oldest
/// first, so past this a marketplace's latest weeks are missing: the figures want an
/// aggregate endpoint of their own (noted in ARCHITECTURE).
const DASHBOARD_ORDERS: usize = 5_000;

async fn dashboard(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let mut orders = Vec::new();
    let mut after: Option<String> = None;
    while orders.len() < DASHBOARD_ORDERS {
        let path = match &after {
            Some(a) => format!("/api/v1/orders?limit=100&after={a}"),
            None => "/api/v1/orders?limit=100".to_owned(),
        };
        let page = c.read_soft(&visit, &path).await;
        if page.is_null() {
            break;
        }
        orders.extend(items(&page).cloned());
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    let (mut gmv, mut refunds, mut paid) = (0i64, 0i64, 0usize);
    let mut by_week: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
    for v in &orders {
        let o = &v["order"];
        if o["payment"].is_null() {
            continue;
        }
        let amount = fen(&text(o, "/payment/amount"));
        paid += 1;
        gmv += amount;
        refunds += fen(&text(v, "/refunded"));
        let week = o["purchased_on"]
            .as_str()
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            .map(|d| {
                let iso = d.iso_week_date();
                format!("{}-W{:02}", iso.year(), iso.week())
            })
            .unwrap_or_default();
        *by_week.entry(week).or_default() += amount;
        *by_category.entry(text(o, "/terms/category")).or_default() += amount;
    }
    let complaints = c
        .in_statuses(&visit, "/api/v1/complaints?limit=100", OPEN_COMPLAINTS)
        .await;
    let open_complaints = items(&complaints).count();
    let cases = c
        .in_statuses(&visit, "/api/v1/cases?limit=100", OPEN_CASES)
        .await;
    let violations = items(&cases).count();
    // The last period's payouts, for the staff who work on settlement.
    let last_period = last_period_start(&c);
    let finance = visit
        .me
        .as_ref()
        .is_some_and(|m| m.works_at("/operator/settlement"));
    let report = if finance {
        c.read_soft(
            &visit,
            &format!("/api/v1/admin/settlement/periods/{last_period}"),
        )
        .await
    } else {
        Value::Null
    };
    let weeks: Vec<(String, i64, String)> = by_week
        .into_iter()
        .rev()
        .take(12)
        .rev()
        .map(|(w, f)| (w, f, from_fen(f)))
        .collect();
    let categories = by_category
        .into_iter()
        .map(|(k, f)| (label(lang, "category", &k), f, from_fen(f)))
        .collect();
    let mut stats = vec![
        (lang.t("operator.gmv"), from_fen(gmv)),
        (lang.t("operator.orders"), paid.to_string()),
        (lang.t("operator.refunds"), from_fen(refunds)),
        (
            lang.t("operator.open_complaints"),
            open_complaints.to_string(),
        ),
        (lang.t("operator.violations"), violations.to_string()),
    ];
    if finance {
        stats.push((
            format!("{} ({last_period})", lang.t("operator.payouts")),
            yuan(&text(&report, "/paid_out")),
        ));
    }
    let blocks = vec![
        Block::Stats(stats),
        Block::Text(format!(
            "{} {}",
            lang.t("operator.dashboard_basis"),
            orders.len()
        )),
        Block::Chart(Chart {
            title: lang.t("operator.by_week"),
            bars: weeks,
        }),
        Block::Chart(Chart {
            title: lang.t("operator.by_category"),
            bars: categories,
        }),
    ];
    Ok(c.page(
        &visit,
        lang.t("operator.dashboard"),
        Subnav::Operator,
        blocks,
    ))
}

async fn onboarding(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let back = visit.path.clone();
    let list = c
        .read_soft(&visit, "/api/v1/admin/onboarding/applications?limit=100")
        .await;
    let mut rows = Vec::new();
    for v in items(&list) {
        let a = &v["application"];
        let id = text(a, "/id");
        let status = text(a, "/status/status");
        let review = |s: &str| format!("/api/v1/admin/onboarding/applications/{id}/{s}");
        let mut actions = Vec::new();
        if matches!(status.as_str(), "submitted" | "resubmitted") {
            actions.push(
                action(
                    &format!("review-{id}"),
                    &review("review"),
                    &back,
                    lang.t("operator.start_review"),
                )
                .compact(),
            );
        }
        if status == "under_review" {
            actions.push(
                action(
                    &format!("verify-{id}"),
                    &review("verification"),
                    &back,
                    lang.t("operator.verify"),
                )
                .field(Field::hidden("decision", "verified"))
                .compact(),
            );
            actions.push(
                action(
                    &format!("approve-{id}"),
                    &review("approve"),
                    &back,
                    lang.t("operator.approve"),
                )
                .field(Field::new(
                    "partner_member:bool",
                    lang.t("operator.partner_member"),
                    FieldKind::Checkbox,
                ))
                .compact(),
            );
            let kinds = [
                "business_licence",
                "legal_representative_id",
                "contact_details",
                "service_info",
                "bank_account_certificate",
            ]
            .iter()
            .map(|k| ((*k).to_owned(), label(lang, "material", k)))
            .collect();
            actions.push(
                action(
                    &format!("more-{id}"),
                    &review("more-material"),
                    &back,
                    lang.t("operator.more_material"),
                )
                .field(Field::new(
                    "kinds:list",
                    lang.t("provider.material_kind"),
                    FieldKind::Select(kinds),
                ))
                .field(Field::new("note", lang.t("common.note"), FieldKind::Text).required())
                .compact(),
            );
            actions.push(
                action(
                    &format!("reject-{id}"),
                    &review("reject"),
                    &back,
                    lang.t("operator.reject"),
                )
                .field(Field::new("reason", lang.t("common.reason"), FieldKind::Text).required())
                .compact(),
            );
        }
        let materials = a["materials"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let file = text(m, "/file_id");
                let href = format!("/console/file?path=/api/v1/onboarding/files/{file}");
                (label(lang, "material", &text(m, "/kind")), href)
            })
            .collect();
        rows.push(vec![
            Cell::Link {
                text: text(v, "/store_name"),
                href: format!("/operator/settlement?provider={}", text(a, "/provider")),
            },
            Cell::Badge(label(lang, "application", &status)),
            Cell::Text(when(&text(a, "/created_at"))),
            Cell::Links(materials),
            Cell::Actions(actions),
        ]);
    }
    let blocks = vec![table(
        "applications",
        lang.t("operator.onboarding"),
        vec![
            lang.t("provider.store_name"),
            lang.t("common.status"),
            lang.t("common.created"),
            lang.t("provider.materials"),
            lang.t("common.actions"),
        ],
        rows,
        lang.t("operator.queue_empty"),
    )];
    Ok(c.page(
        &visit,
        lang.t("operator.onboarding"),
        Subnav::Operator,
        blocks,
    ))
}

async fn listings(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let back = visit.path.clone();
    let queue = c
        .read_soft(&visit, "/api/v1/review/listings?limit=100")
        .await;
    let mut blocks = Vec::new();
    let mut rows = Vec::new();
    for v in items(&queue) {
        let id = text(v, "/product/id");
        let id = if id.is_empty() {
            text(v, "/product")
        } else {
            id
        };
        let version = &v["version"];
        let findings: Vec<&Value> = version["submission"]["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let summary: Vec<String> = findings
            .iter()
            .map(|f| {
                format!(
                    "⚠ #{} {} {}",
                    text(f, "/id"),
                    text(f, "/rule"),
                    text(f, "/excerpt")
                )
            })
            .collect();
        let ids: Vec<String> = findings.iter().map(|f| text(f, "/id")).collect();
        let ack = findings
            .iter()
            .map(|f| serde_json::json!({"finding": f["id"], "note": "已核实"}))
            .collect::<Vec<_>>();
        let actions = vec![
            action(
                &format!("approve-{id}"),
                &format!("/api/v1/review/listings/{id}/approve"),
                &back,
                lang.t("operator.approve"),
            )
            .field(Field::hidden(
                "acknowledged:json",
                Value::Array(ack).to_string(),
            ))
            .compact(),
            action(
                &format!("reject-{id}"),
                &format!("/api/v1/review/listings/{id}/reject"),
                &back,
                lang.t("operator.reject"),
            )
            .field(Field::hidden(
                "findings:json",
                format!("[{}]", ids.join(",")),
            ))
            .field(Field::new("note", lang.t("common.reason"), FieldKind::Text).required())
            .compact(),
        ];
        rows.push(vec![
            Cell::Text(text(version, "/content/title")),
            Cell::Text(text(version, "/content/description")),
            Cell::Text(format!(
                "{} {}",
                yuan(&text(version, "/terms/price")),
                label(lang, "pricing", &text(version, "/terms/pricing"))
            )),
            Cell::Badge(if summary.is_empty() {
                lang.t("provider.no_findings")
            } else {
                summary.join("；")
            }),
            Cell::Actions(actions),
        ]);
    }
    blocks.push(table(
        "listings",
        lang.t("operator.listings"),
        vec![
            lang.t("common.title"),
            lang.t("common.description"),
            lang.t("common.price"),
            lang.t("provider.findings"),
            lang.t("common.actions"),
        ],
        rows,
        lang.t("operator.queue_empty"),
    ));
    Ok(c.page(
        &visit,
        lang.t("operator.listings"),
        Subnav::Operator,
        blocks,
    ))
}

async fn complaints(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let codes = violation_codes(&c, &visit).await;
    let list = c
        .in_statuses(&visit, "/api/v1/complaints?limit=100", OPEN_COMPLAINTS)
        .await;
    let rows = open_first(&list, "/complaint/decision")
        .into_iter()
        .map(|v| {
            let id = text(v, "/complaint/id");
            let mut actions = Vec::new();
            if v["complaint"]["decision"].is_null() {
                actions.push(
                    action(
                        &format!("dismiss-{id}"),
                        &format!("/api/v1/admin/complaints/{id}/decision"),
                        &visit.path,
                        lang.t("operator.dismiss"),
                    )
                    .field(Field::hidden("_idem", idempotency_key()))
                    .field(Field::hidden("decision", "dismiss"))
                    .field(Field::new("note", lang.t("common.note"), FieldKind::Text).required())
                    .compact(),
                );
                let decide = format!("/api/v1/admin/complaints/{id}/decision");
                let grounds = GROUNDS
                    .iter()
                    .map(|g| ((*g).to_owned(), label(lang, "refund_reason", g)))
                    .collect();
                actions.push(
                    action(
                        &format!("refund-{id}"),
                        &decide,
                        &visit.path,
                        lang.t("operator.refund_in_full"),
                    )
                    .field(Field::hidden("_idem", idempotency_key()))
                    .field(Field::hidden("decision", "refund"))
                    .field(Field::hidden("award.kind", "full"))
                    .field(Field::new(
                        "ground",
                        lang.t("orders.refund_reason"),
                        FieldKind::Select(grounds),
                    ))
                    .field(Field::new("note", lang.t("common.note"), FieldKind::Text).required())
                    .compact(),
                );
                actions.push(
                    action(
                        &format!("case-{id}"),
                        &decide,
                        &visit.path,
                        lang.t("operator.open_case"),
                    )
                    .field(Field::hidden("_idem", idempotency_key()))
                    .field(Field::hidden("decision", "open_case"))
                    .field(Field::new(
                        "code",
                        lang.t("operator.violation_code"),
                        FieldKind::Select(codes.clone()),
                    ))
                    .field(Field::new("note", lang.t("common.note"), FieldKind::Text).required())
                    .compact(),
                );
            }
            vec![
                Cell::Text(label(
                    lang,
                    "complaint_reason",
                    &text(v, "/complaint/reason"),
                )),
                Cell::Text(text(v, "/complaint/text")),
                Cell::Badge(label(lang, "complaint", &text(v, "/status"))),
                due_cell(lang, v),
                Cell::Actions(actions),
            ]
        })
        .collect();
    let blocks = vec![table(
        "complaints",
        lang.t("operator.complaints"),
        vec![
            lang.t("orders.complaint_subject"),
            lang.t("common.description"),
            lang.t("common.status"),
            lang.t("common.due"),
            lang.t("common.actions"),
        ],
        rows,
        lang.t("operator.queue_empty"),
    )];
    Ok(c.page(
        &visit,
        lang.t("operator.complaints"),
        Subnav::Operator,
        blocks,
    ))
}

async fn cases(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let back = visit.path.clone();
    let list = c
        .in_statuses(&visit, "/api/v1/cases?limit=100", OPEN_CASES)
        .await;
    let rows = open_first(&list, "/case/decision")
        .into_iter()
        .map(|v| {
            let id = text(v, "/case/id");
            let mut actions = Vec::new();
            if v["case"]["finding"].is_null() {
                actions.push(
                    action(
                        &format!("finding-{id}"),
                        &format!("/api/v1/admin/cases/{id}/finding"),
                        &back,
                        lang.t("operator.finding"),
                    )
                    .field(
                        // A finding is chosen, never pre-set: no default either way.
                        Field::new(
                            "established:bool",
                            lang.t("operator.established"),
                            FieldKind::Select(vec![
                                (String::new(), lang.t("common.choose")),
                                ("true".into(), lang.t("operator.established_yes")),
                                ("false".into(), lang.t("operator.established_no")),
                            ]),
                        )
                        .required(),
                    )
                    .field(
                        Field::new("reason", lang.t("common.reason"), FieldKind::Text).required(),
                    )
                    .compact(),
                );
            }
            if text(v, "/status") == "objected" {
                actions.push(
                    action(
                        &format!("objection-{id}"),
                        &format!("/api/v1/admin/cases/{id}/objection-decision"),
                        &back,
                        lang.t("operator.decide_objection"),
                    )
                    .field(Field::new(
                        "objection_upheld:bool",
                        lang.t("operator.objection_upheld"),
                        FieldKind::Checkbox,
                    ))
                    .field(Field::new("note", lang.t("common.note"), FieldKind::Text).required())
                    .compact(),
                );
            }
            vec![
                Cell::Text(case_rule(lang, v)),
                Cell::Text(text(v, "/case/row/points")),
                Cell::Badge(label(lang, "case", &text(v, "/status"))),
                Cell::Text(text(v, "/case/summary")),
                due_cell(lang, v),
                Cell::Actions(actions),
            ]
        })
        .collect();
    let codes = violation_codes(&c, &visit).await;
    let sources = ["spot_check", "complaint", "detector"]
        .iter()
        .map(|s| ((*s).to_owned(), label(lang, "case_source", s)))
        .collect();
    let today = yunshi_core::time::beijing_date(c.app.clock.now()).to_string();
    let blocks = vec![
        table(
            "cases",
            lang.t("operator.cases"),
            vec![
                lang.t("operator.violation_code"),
                lang.t("common.points"),
                lang.t("common.status"),
                lang.t("common.note"),
                lang.t("common.due"),
                lang.t("common.actions"),
            ],
            rows,
            lang.t("operator.queue_empty"),
        ),
        Block::Heading(lang.t("operator.open_case")),
        Block::Form(
            action(
                "open-case",
                "/api/v1/admin/cases",
                &back,
                lang.t("operator.open_case"),
            )
            .field(
                Field::new(
                    "provider_id",
                    lang.t("operator.provider_id"),
                    FieldKind::Text,
                )
                .required(),
            )
            .field(Field::new(
                "code",
                lang.t("operator.violation_code"),
                FieldKind::Select(codes),
            ))
            .field(Field::new(
                "source",
                lang.t("operator.case_source"),
                FieldKind::Select(sources),
            ))
            .field(
                Field::new("act_on", lang.t("operator.act_on"), FieldKind::Text)
                    .value(today)
                    .required(),
            )
            .field(
                Field::new("summary", lang.t("common.description"), FieldKind::Textarea).required(),
            ),
        ),
    ];
    Ok(c.page(&visit, lang.t("operator.cases"), Subnav::Operator, blocks))
}

/// The first day of last month: the period settled most recently (monthly rulebooks).
fn last_period_start(c: &Console) -> jiff::civil::Date {
    let today = yunshi_core::time::beijing_date(c.app.clock.now());
    today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(1))
        .unwrap_or(today)
}

/// Refund grounds customer service picks from when a complaint ends in a refund.
const GROUNDS: &[&str] = &[
    "not_delivered_as_agreed",
    "service_quality_loss",
    "mismatch",
    "late_or_dragging",
];

/// The violation table of the rulebook in force, as select options (code · title (points)).
async fn violation_codes(c: &Console, visit: &Visit) -> Vec<(String, String)> {
    let lang = visit.lang;
    let book = c.read_soft(visit, "/api/v1/rulebook").await;
    book["marketplace"]["violation"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let title = lang
                .pick(&text(r, "/title_zh"), &text(r, "/title_en"))
                .to_owned();
            let shown = format!("{} · {title} ({})", text(r, "/code"), text(r, "/points"));
            (text(r, "/code"), shown)
        })
        .collect()
}

async fn deposits(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let list = c
        .read_soft(&visit, "/api/v1/admin/deposits?limit=200")
        .await;
    let rows = items(&list)
        .map(|d| {
            vec![
                Cell::Text(text(d, "/provider_id")),
                Cell::Badge(label(lang, "deposit", &text(d, "/status"))),
                Cell::Text(yuan(&text(d, "/held"))),
                Cell::Text(yuan(&text(d, "/required"))),
                Cell::Text(yuan(&text(d, "/shortfall"))),
            ]
        })
        .collect();
    let blocks = vec![table(
        "deposits",
        lang.t("operator.deposits"),
        vec![
            lang.t("common.provider"),
            lang.t("common.status"),
            lang.t("provider.deposit_balance"),
            lang.t("provider.deposit_required"),
            lang.t("provider.deposit_outstanding"),
        ],
        rows,
        lang.t("operator.queue_empty"),
    )];
    Ok(c.page(
        &visit,
        lang.t("operator.deposits"),
        Subnav::Operator,
        blocks,
    ))
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
    /// An order to trace from payment to payout.
    order: Option<uuid::Uuid>,
    /// A provider whose receiving account to look at.
    provider: Option<uuid::Uuid>,
}

async fn settlement(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<PeriodQuery>,
) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let last = last_period_start(&c);
    let period = q
        .period
        .filter(|p| p.parse::<jiff::civil::Date>().is_ok())
        .unwrap_or_else(|| last.to_string());
    let report = c
        .read(
            &visit,
            &format!("/api/v1/admin/settlement/periods/{period}"),
        )
        .await;
    let mut blocks = vec![Block::Form(
        super::blocks::Form::get("period", "/operator/settlement", lang.t("common.view")).field(
            Field::new("period", lang.t("common.period"), FieldKind::Text).value(period.clone()),
        ),
    )];
    match report {
        Ok(r) => {
            let stats: Vec<(String, String)> = r
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| v.is_string() && v.as_str().is_some_and(|s| s.contains('.')))
                .map(|(k, v)| (label(lang, "settlement", k), yuan(v.as_str().unwrap_or(""))))
                .collect();
            blocks.push(Block::Stats(stats));
            blocks.push(Block::Details(vec![
                (
                    lang.t("operator.statements"),
                    Cell::Text(text(&r, "/statements")),
                ),
                (
                    lang.t("operator.trial_balance"),
                    Cell::Text(text(&r, "/trial_balance")),
                ),
                (
                    lang.t("operator.balanced"),
                    Cell::Badge(label(lang, "bool", &text(&r, "/balanced"))),
                ),
            ]));
            let rows = r["providers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    vec![
                        Cell::Text(text(s, "/provider")),
                        Cell::Text(yuan(&text(s, "/settlement_ledger"))),
                        Cell::Text(yuan(&text(s, "/settlement_expected"))),
                        Cell::Badge(label(lang, "bool", &text(s, "/balanced"))),
                    ]
                })
                .collect();
            blocks.push(table(
                "statements",
                lang.t("operator.reconcile"),
                vec![
                    lang.t("common.provider"),
                    lang.t("operator.settlement_ledger"),
                    lang.t("operator.settlement_expected"),
                    lang.t("operator.balanced"),
                ],
                rows,
                lang.t("operator.queue_empty"),
            ));
        }
        Err(f) => blocks.push(Block::Banner {
            tone: "error",
            text: f.message,
        }),
    }
    blocks.push(Block::Heading(lang.t("operator.trace_order")));
    blocks.push(Block::Form(
        super::blocks::Form::get("trace", "/operator/settlement", lang.t("common.view")).field(
            Field::new("order", lang.t("operator.order_id"), FieldKind::Text)
                .value(q.order.map(|o| o.to_string()).unwrap_or_default()),
        ),
    ));
    if let Some(order) = q.order {
        match c
            .read(
                &visit,
                &format!("/api/v1/admin/reconciliation/orders/{order}"),
            )
            .await
        {
            Ok(chain) => blocks.extend(order_chain(lang, &chain)),
            Err(f) => blocks.push(Block::Banner {
                tone: "error",
                text: f.message,
            }),
        }
    }
    blocks.push(Block::Heading(lang.t("operator.payee_review")));
    blocks.push(Block::Form(
        super::blocks::Form::get("payee", "/operator/settlement", lang.t("common.view")).field(
            Field::new("provider", lang.t("operator.provider_id"), FieldKind::Text)
                .value(q.provider.map(|p| p.to_string()).unwrap_or_default()),
        ),
    ));
    if let Some(provider) = q.provider {
        let payee = c
            .read(
                &visit,
                // Finance reviews the full numbers (a recorded read).
                &format!("/api/v1/providers/{provider}/payee-account?reveal=true"),
            )
            .await;
        match payee {
            Ok(p) => blocks.extend(payee_review(lang, &visit.path, provider, &p)),
            Err(f) => blocks.push(Block::Banner {
                tone: "error",
                text: f.message,
            }),
        }
    }
    blocks.push(Block::Heading(lang.t("operator.start_run")));
    blocks.push(Block::Form(
        action(
            "run",
            "/api/v1/admin/settlement/runs",
            &visit.path,
            lang.t("operator.start_run"),
        )
        .field(Field::new("period", lang.t("common.period"), FieldKind::Text).value(period)),
    ));
    Ok(c.page(
        &visit,
        lang.t("operator.settlement"),
        Subnav::Operator,
        blocks,
    ))
}

/// A provider's receiving account and, when one waits, the change finance approves or
/// rejects.
fn payee_review(lang: Lang, back: &str, provider: uuid::Uuid, p: &Value) -> Vec<Block> {
    let number = |a: &Value| format!("{} {}", text(a, "/bank"), text(a, "/account_number"));
    let mut blocks = vec![Block::Details(vec![(
        lang.t("provider.payee"),
        Cell::Text(number(&p["approved"])),
    )])];
    let pending = &p["pending"]["account"];
    if !pending.is_null() {
        let decide = format!("/api/v1/admin/providers/{provider}/payee-account/decision");
        let account = text(pending, "/account_number");
        blocks.push(Block::Details(vec![
            (
                lang.t("provider.payee_pending"),
                Cell::Text(number(pending)),
            ),
            (
                lang.t("provider.payee_holder"),
                Cell::Text(text(pending, "/holder")),
            ),
            (
                lang.t("common.actions"),
                Cell::Actions(vec![
                    action("payee-approve", &decide, back, lang.t("operator.approve"))
                        .field(Field::hidden("approve:bool", "true"))
                        .field(Field::hidden("account", account.clone()))
                        .compact(),
                    action("payee-reject", &decide, back, lang.t("operator.reject"))
                        .field(Field::hidden("approve:bool", "false"))
                        .field(Field::hidden("account", account))
                        .field(
                            Field::new("reason", lang.t("common.reason"), FieldKind::Text)
                                .required(),
                        )
                        .compact(),
                ]),
            ),
        ]));
    }
    blocks
}

/// An order's way through settlement: what it paid, the settlement items its release and
/// refunds made, and the statement lines and payouts they ended in.
fn order_chain(lang: Lang, chain: &Value) -> Vec<Block> {
    let o = &chain["order"];
    let items = chain["settlement_items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            vec![
                Cell::Text(text(i, "/kind")),
                Cell::Text(when(&text(i, "/at"))),
                Cell::Text(yuan(&text(i, "/amount"))),
                Cell::Text(yuan(&text(i, "/fee"))),
            ]
        })
        .collect();
    let lines = chain["statement_lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            vec![
                Cell::Text(text(l, "/period")),
                Cell::Text(label(lang, "line", &text(l, "/line/kind"))),
                Cell::Text(yuan(&text(l, "/line/net"))),
                Cell::Badge(label(lang, "payout", &text(l, "/payout_status"))),
            ]
        })
        .collect();
    vec![
        Block::Details(vec![
            (
                lang.t("common.status"),
                Cell::Badge(label(lang, "order", &text(o, "/status"))),
            ),
            (lang.t("orders.total"), Cell::Text(yuan(&text(o, "/total")))),
            (
                lang.t("orders.paid_at"),
                Cell::Text(when(&text(o, "/payment/at"))),
            ),
            (
                lang.t("common.provider"),
                Cell::Text(text(o, "/terms/provider")),
            ),
        ]),
        table(
            "items",
            lang.t("operator.settlement_items"),
            vec![
                lang.t("common.kind"),
                lang.t("common.time"),
                lang.t("common.amount"),
                lang.t("provider.fee"),
            ],
            items,
            lang.t("common.none"),
        ),
        table(
            "lines",
            lang.t("provider.lines"),
            vec![
                lang.t("common.period"),
                lang.t("common.kind"),
                lang.t("settlement.net"),
                lang.t("provider.payout"),
            ],
            lines,
            lang.t("common.none"),
        ),
    ]
}

async fn notices(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let list = c.read_soft(&visit, "/api/v1/notices?limit=100").await;
    let rows = items(&list)
        .map(|n| {
            vec![
                Cell::Text(text(n, "/act_on")),
                Cell::Text(text(n, "/code")),
                Cell::Text(
                    lang.pick(&text(n, "/title_zh"), &text(n, "/title_en"))
                        .to_owned(),
                ),
            ]
        })
        .collect();
    let blocks = vec![table(
        "notices",
        lang.t("operator.notices"),
        vec![
            lang.t("common.time"),
            lang.t("common.code"),
            lang.t("common.title"),
        ],
        rows,
        lang.t("operator.queue_empty"),
    )];
    Ok(c.page(&visit, lang.t("operator.notices"), Subnav::Operator, blocks))
}

async fn rulebook(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let book = c.read_soft(&visit, "/api/v1/rulebook").await;
    let m = &book["marketplace"];
    let history = c.read_soft(&visit, "/api/v1/rulebook/versions").await;
    let versions = history
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let name = lang
                .pick(&text(v, "/name_zh"), &text(v, "/name_en"))
                .to_owned();
            let state = if v["in_force"] == true {
                lang.t("operator.in_force")
            } else {
                String::new()
            };
            vec![
                Cell::Text(text(v, "/id")),
                Cell::Text(name),
                Cell::Text(text(v, "/effective_from")),
                Cell::Badge(state),
            ]
        })
        .collect();
    let rows = m["violation"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            vec![
                Cell::Text(text(r, "/code")),
                Cell::Text(
                    lang.pick(&text(r, "/title_zh"), &text(r, "/title_en"))
                        .to_owned(),
                ),
                Cell::Text(text(r, "/points")),
                Cell::Text(text(r, "/action")),
                Cell::Text(text(r, "/source")),
            ]
        })
        .collect();
    let blocks = vec![
        Block::Details(vec![
            (
                lang.t("operator.rulebook"),
                Cell::Text(
                    lang.pick(&text(m, "/rulebook/name_zh"), &text(m, "/rulebook/name_en"))
                        .to_owned(),
                ),
            ),
            (
                lang.t("operator.version"),
                Cell::Text(text(m, "/rulebook/id")),
            ),
            (
                lang.t("operator.effective"),
                Cell::Text(text(m, "/rulebook/effective_from")),
            ),
            (lang.t("operator.now"), Cell::Text(text(&book, "/date"))),
            (
                lang.t("provider.deposit_required"),
                Cell::Text(yuan(&text(m, "/deposit/required_amount"))),
            ),
        ]),
        table(
            "violations",
            lang.t("operator.violation_table"),
            vec![
                lang.t("common.code"),
                lang.t("common.title"),
                lang.t("common.points"),
                lang.t("operator.measure"),
                lang.t("operator.source"),
            ],
            rows,
            lang.t("operator.queue_empty"),
        ),
        table(
            "versions",
            lang.t("operator.history"),
            vec![
                lang.t("operator.version"),
                lang.t("operator.rulebook"),
                lang.t("operator.effective"),
                lang.t("common.status"),
            ],
            versions,
            lang.t("common.none"),
        ),
    ];
    Ok(c.page(
        &visit,
        lang.t("operator.rulebook"),
        Subnav::Operator,
        blocks,
    ))
}

async fn staff(State(c): State<Console>, headers: HeaderMap, uri: Uri) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let roles = [
        "reviewer",
        "compliance",
        "customer_service",
        "finance",
        "admin",
    ]
    .iter()
    .map(|r| ((*r).to_owned(), label(lang, "role", r)))
    .collect();
    let form = action(
        "new-staff",
        "/api/v1/admin/users",
        &visit.path,
        lang.t("operator.new_staff"),
    )
    .field(Field::hidden("kind.type", "operator_staff"));
    let blocks = vec![Block::Form(account_fields(form, lang).field(Field::new(
        "kind.roles:list",
        lang.t("operator.role"),
        FieldKind::Select(roles),
    )))];
    Ok(c.page(&visit, lang.t("operator.staff"), Subnav::Operator, blocks))
}

/// The last advance, as the clock form's answer sends the page back (`from`, `fired`).
#[derive(Debug, Default, Deserialize)]
struct AdvancedQuery {
    from: Option<String>,
    fired: Option<u32>,
}

/// Where an advance sends the page back: to the clock, saying what it did.
const AFTER_ADVANCE: &str = "/operator/clock?from={/from}&fired={/fired_total}";

async fn clock(
    State(c): State<Console>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<AdvancedQuery>,
) -> Page {
    let visit = operator(&c, &headers, &uri).await?;
    let lang = visit.lang;
    let now = c.read_soft(&visit, "/api/v1/admin/clock").await;
    let mut blocks = vec![Block::Details(vec![
        (
            lang.t("operator.clock_mode"),
            Cell::Text(text(&now, "/mode")),
        ),
        (lang.t("operator.now"), Cell::Text(text(&now, "/beijing"))),
        (
            lang.t("operator.next_deadline"),
            Cell::Text(when(&text(&now, "/next_deadline_due"))),
        ),
    ])];
    if let (Some(from), Some(fired)) = (&q.from, q.fired) {
        blocks.push(Block::Heading(lang.t("operator.last_advance")));
        blocks.push(Block::Details(vec![
            (lang.t("operator.advanced_from"), Cell::Text(when(from))),
            (lang.t("operator.fired"), Cell::Text(fired.to_string())),
        ]));
    }
    if text(&now, "/mode") == "simulated" {
        let quick = |id: &str, by: &str, key: &str| {
            Block::Form(
                action(id, "/api/v1/admin/clock", &visit.path, lang.t(key))
                    .field(Field::hidden("by", by))
                    .field(Field::hidden("_next", AFTER_ADVANCE)),
            )
        };
        blocks.push(quick("advance-hour", "1h", "operator.advance_hour"));
        blocks.push(quick("advance-day", "1d", "operator.advance_day"));
        blocks.push(Block::Form(
            action(
                "advance",
                "/api/v1/admin/clock",
                &visit.path,
                lang.t("operator.advance"),
            )
            .field(Field::hidden("_next", AFTER_ADVANCE))
            .field(
                Field::new("by", lang.t("operator.advance_by"), FieldKind::Text)
                    .value("1d")
                    .hint("1d, 12h, 30m, 30d"),
            )
            .field(
                Field::new("to", lang.t("operator.advance_to"), FieldKind::Text)
                    .hint("2027-02-01T09:00:00+08:00"),
            ),
        ));
    }
    Ok(c.page(&visit, lang.t("operator.clock"), Subnav::Operator, blocks))
}
