//! What of an order is settleable by a cut-off, and so what each period's statement lists.
//!
//! `recognised(order, T)` is what of the order counts toward settlement by the instant `T`:
//! the net of its items before `T` (release, minus refunds after release); for an order with a service period under a rulebook that amortises (ALI-A
//! 4.3.2), only the part of that net allocated by day (largest remainder over the settlement
//! periods it spans) to periods ending by `T`. A period's line is `recognised(cut-off) −
//! recognised(opening)`: the lines of all periods telescope to the order's net, to the fen,
//! and a refund after settlement shows as a negative line — the clawback, with its fee share.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::SettlementError;
use super::item::{ItemKind, SettlementItem};
use super::period::Period;
use crate::allocation::allocate_by_days;
use crate::ids::{OrderId, ProductId};
use crate::money::Fen;
use crate::rulebook::Settlement;
use crate::time::beijing_date;

/// Gross amount and fee counted toward settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Recognised {
    pub amount: Fen,
    pub fee: Fen,
}

impl Recognised {
    fn minus(self, other: Recognised) -> Result<Recognised, SettlementError> {
        Ok(Recognised {
            amount: self.amount.checked_sub(other.amount)?,
            fee: self.fee.checked_sub(other.fee)?,
        })
    }
}

/// What of one order's `items` is settleable by `until`.
pub fn recognised(
    items: &[&SettlementItem],
    until: Timestamp,
    rule: &Settlement,
) -> Result<Recognised, SettlementError> {
    // Items exist only from the release on, so anything before `until` counts. (A period's
    // query may leave out an order's earlier items when they cannot change its line: then
    // both ends of the difference lack them alike.)
    let before: Vec<&&SettlementItem> = items.iter().filter(|i| i.at < until).collect();
    let net = Recognised {
        amount: Fen::checked_sum(before.iter().map(|i| i.amount))?,
        fee: Fen::checked_sum(before.iter().map(|i| i.fee))?,
    };
    let service = before.iter().find_map(|i| i.service);
    let Some(service) = service.filter(|s| rule.amortise_over_service_period && s.end > s.start)
    else {
        return Ok(net);
    };
    let buckets = Period::buckets(rule, service.start, service.end)?;
    let by = beijing_date(until);
    let due = buckets.iter().take_while(|(_, end)| *end <= by).count();
    let part = |total: Fen| -> Result<Fen, SettlementError> {
        let parts = allocate_by_days(total, &buckets)?;
        Ok(Fen::checked_sum(parts.into_iter().take(due))?)
    };
    Ok(Recognised {
        amount: part(net.amount)?,
        fee: part(net.fee)?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// First counted in this period.
    Sale,
    /// A further part of an order amortised over its service period.
    Amortisation,
    /// A refund after release: clawed back (a negative line).
    Refund,
}

/// One order's line in a period's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub order_id: OrderId,
    pub product_id: ProductId,
    pub kind: LineKind,
    pub amount: Fen,
    pub fee: Fen,
    /// What the provider gets: amount − fee.
    pub net: Fen,
    /// Sold by the operator: the provider invoices the operator for `net`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub consignment: bool,
}

/// The order lines of `period` from the items of one provider, grouped by order in the
/// order given (the store returns them by order). Orders with nothing in the period have no
/// line.
pub fn order_lines(
    items: &[SettlementItem],
    period: Period,
    rule: &Settlement,
) -> Result<Vec<OrderLine>, SettlementError> {
    let opens = period.opens_at()?;
    let cutoff = period.cutoff()?;
    let mut lines = Vec::new();
    let mut rest = items;
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|i| i.order == first.order).count();
        let (group, tail) = rest.split_at(n);
        rest = tail;
        let line = if group.iter().all(|i| i.service.is_none()) {
            // Nothing to amortise: the line is what happened in the period.
            let mut line = Recognised::default();
            for i in group.iter().filter(|i| opens <= i.at && i.at < cutoff) {
                line.amount = line.amount.checked_add(i.amount)?;
                line.fee = line.fee.checked_add(i.fee)?;
            }
            line
        } else {
            let group: Vec<&SettlementItem> = group.iter().collect();
            recognised(&group, cutoff, rule)?.minus(recognised(&group, opens, rule)?)?
        };
        if line.amount.is_zero() && line.fee.is_zero() {
            continue;
        }
        let kind = if line.amount.is_negative() {
            LineKind::Refund
        } else if group
            .iter()
            .any(|i| i.kind == ItemKind::Release && i.at < opens)
        {
            LineKind::Amortisation
        } else {
            LineKind::Sale
        };
        lines.push(OrderLine {
            order_id: first.order,
            product_id: first.product,
            kind,
            amount: line.amount,
            fee: line.fee,
            net: line.amount.checked_sub(line.fee)?,
            consignment: first.consignment,
        });
    }
    Ok(lines)
}
