//! Statements as files for a provider's finance people: CSV (UTF-8 with BOM, so spreadsheet
//! programs read the Chinese headers) and XLSX. Amounts are written as decimal text
//! ("1234.56"): they come from integer fen and never pass through a float.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use yunshi_core::money::Fen;
use yunshi_core::settlement::{AdjustmentKind, LineKind, Statement};

use super::{statement_lines, visible_statement};
use crate::kernel::auth::Principal;
use crate::kernel::problem::Problem;
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

/// Every row of the statement file: the order lines, then the adjustments and the totals.
async fn rows(state: &AppState, s: &Statement) -> Result<Vec<[String; 7]>, Problem> {
    let mut rows = vec![HEADER.map(String::from)];
    for l in statement_lines(state, s).await? {
        rows.push([
            "订单 order".into(),
            l.order_id.to_string(),
            l.product_id.to_string(),
            line_kind(l.kind).into(),
            yuan(l.amount),
            yuan(l.fee),
            yuan(l.net),
        ]);
    }
    let total = |what: &str, net: Fen| {
        [
            what.into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            yuan(net),
        ]
    };
    rows.push([
        "合计 total".into(),
        String::new(),
        String::new(),
        format!("{} – {}", s.period.start, s.period.end),
        yuan(s.sales.checked_add(s.refunds).map_err(Problem::internal)?),
        yuan(s.fee),
        yuan(s.net),
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
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
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
    for (r, row) in rows(&state, &s).await?.iter().enumerate() {
        let r = u32::try_from(r).map_err(Problem::internal)?;
        for (c, value) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(Problem::internal)?;
            sheet.write_string(r, c, value).map_err(Problem::internal)?;
        }
    }
    let bytes = book.save_to_buffer().map_err(Problem::internal)?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        file_name(&s, "xlsx"),
        bytes,
    ))
}
