//! Statements as files for a provider's finance people: CSV (UTF-8 with BOM, so spreadsheet
//! programs read the Chinese headers) and XLSX. Orders by their number and products by
//! their title. In CSV an amount is decimal text ("1234.56"); in XLSX a number cell formatted
//! `¥#,##0.00`, so a column sums — the decimal read as the nearest double, exact to the fen
//! for every amount below 2⁵³ fen (the deployment's `max_amount` is at most 10¹⁴ fen).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use yunshi_core::money::Fen;
use yunshi_core::settlement::{AdjustmentKind, LineKind, Statement};

use super::{statement_lines, visible_statement};
use crate::kernel::auth::Principal;
use crate::kernel::pipeline::load_many;
use crate::kernel::problem::Problem;
use crate::kernel::repo::products::{PRODUCT, ProductRecord};
use crate::kernel::state::AppState;

const HEADER: [&str; 7] = [
    "类型 Type",
    "订单 Order",
    "商品 Product",
    "明细 Kind",
    "金额 Amount",
    "平台费 Fee",
    "结算 Net",
];

fn yuan(f: Fen) -> String {
    let sign = if f.is_negative() { "-" } else { "" };
    let abs = f.fen().unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn line_kind(k: LineKind) -> &'static str {
    match k {
        LineKind::Sale => "销售 sale",
        LineKind::Amortisation => "分摊 amortisation",
        LineKind::Refund => "退款追回 refund",
    }
}

fn adjustment_kind(k: AdjustmentKind) -> &'static str {
    match k {
        AdjustmentKind::BroughtForward => "上期结转 brought forward",
        AdjustmentKind::DebtCollected => "欠款扣回 debt collected",
        AdjustmentKind::PenaltyCollected => "罚款扣收 penalty collected",
        AdjustmentKind::DepositTopUp => "保证金补足 deposit top-up",
        AdjustmentKind::DebtCarried => "结转欠款 debt carried",
        AdjustmentKind::Held => "暂停结算 held",
        AdjustmentKind::Payout => "打款 payout",
    }
}

/// A cell of the statement file.
enum Cell {
    Text(String),
    Money(Fen),
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The cell as CSV text.
    fn csv(&self) -> String {
        match self {
            Cell::Text(t) => csv_field(t),
            Cell::Money(f) => yuan(*f),
        }
    }
}

/// Every row of the statement file: the order lines, then the totals and adjustments.
async fn rows(state: &AppState, s: &Statement) -> Result<Vec<Vec<Cell>>, Problem> {
    let lines = statement_lines(state, s).await?;
    let mut ids: Vec<uuid::Uuid> = lines.iter().map(|l| l.product_id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let titles: std::collections::HashMap<uuid::Uuid, String> =
        load_many::<ProductRecord>(&state.store, PRODUCT, ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p.state.product.title().to_owned()))
            .collect();
    let mut rows = vec![HEADER.iter().map(|h| Cell::text(*h)).collect()];
    for l in lines {
        let product = titles
            .get(&l.product_id.0)
            .cloned()
            .unwrap_or_else(|| l.product_id.to_string());
        rows.push(vec![
            Cell::text("订单 order"),
            Cell::Text(l.order_id.number()),
            Cell::Text(product),
            Cell::text(line_kind(l.kind)),
            Cell::Money(l.amount),
            Cell::Money(l.fee),
            Cell::Money(l.net),
        ]);
    }
    let total = |what: &str, net: Fen| {
        let mut row: Vec<Cell> = std::iter::once(Cell::text(what))
            .chain((0..5).map(|_| Cell::text("")))
            .collect();
        row.push(Cell::Money(net));
        row
    };
    rows.push(vec![
        Cell::text("合计 total"),
        Cell::text(""),
        Cell::text(""),
        Cell::Text(format!("{} – {}", s.period.start, s.period.end)),
        Cell::Money(s.sales.checked_add(s.refunds).map_err(Problem::internal)?),
        Cell::Money(s.fee),
        Cell::Money(s.net),
    ]);
    for a in &s.adjustments {
        rows.push(total(adjustment_kind(a.kind), a.amount));
    }
    rows.push(total("本期打款 payout", s.payout));
    Ok(rows)
}

fn file_name(s: &Statement, ext: &str) -> String {
    format!("statement-{}-{}.{ext}", s.provider, s.period.label())
}

/// `body` as a download named `name`.
fn attachment(content_type: &str, name: String, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

/// The statement as CSV.
#[utoipa::path(
    get, path = "/api/v1/statements/{id}/csv", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Statement id")),
    responses(
        (status = 200, description = "The statement", content_type = "text/csv"),
        (status = 404, description = "No such statement the caller may see"),
    )
)]
pub async fn csv(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let s = visible_statement(&state, &principal, &id).await?;
    let mut out = String::from("\u{feff}");
    for row in rows(&state, &s).await? {
        let fields: Vec<String> = row.iter().map(Cell::csv).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    Ok(attachment(
        "text/csv; charset=utf-8",
        file_name(&s, "csv"),
        out,
    ))
}

/// The statement as an XLSX workbook.
#[utoipa::path(
    get, path = "/api/v1/statements/{id}/xlsx", tag = "settlement", security(("bearer" = [])),
    params(("id" = String, Path, description = "Statement id")),
    responses(
        (status = 200, description = "The statement", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 404, description = "No such statement the caller may see"),
    )
)]
pub async fn xlsx(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let s = visible_statement(&state, &principal, &id).await?;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .set_name(format!("对账单 {}", s.period.label()))
        .map_err(Problem::internal)?;
    let money = rust_xlsxwriter::Format::new().set_num_format("¥#,##0.00");
    for (r, row) in rows(&state, &s).await?.iter().enumerate() {
        let r = u32::try_from(r).map_err(Problem::internal)?;
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(Problem::internal)?;
            match cell {
                Cell::Text(t) => sheet.write_string(r, c, t),
                Cell::Money(f) => {
                    let value: f64 = yuan(*f).parse().map_err(Problem::internal)?;
                    sheet.write_number_with_format(r, c, value, &money)
                }
            }
            .map_err(Problem::internal)?;
        }
    }
    sheet.set_column_width(1, 14).map_err(Problem::internal)?;
    sheet.set_column_width(2, 28).map_err(Problem::internal)?;
    sheet.set_column_width(3, 22).map_err(Problem::internal)?;
    let bytes = book.save_to_buffer().map_err(Problem::internal)?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        file_name(&s, "xlsx"),
        bytes,
    ))
}
