//! Settlement items: what of an order counts toward settlement, frozen when it happens — the
//! release of escrow with the fee charged then, and each refund after release with the fee
//! share it returned. They are written beside the order in the same batch, never changed,
//! and the statements of every period are computed from them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{OrderId, ProductId, ProviderId};
use crate::money::Fen;
use crate::order::{Order, ServicePeriod};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Escrow released: the order became settleable.
    Release,
    /// Refunded after release: clawed back, with the fee share returned where the rulebook
    /// says so.
    Refund,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Release => "release",
            ItemKind::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<ItemKind> {
        [ItemKind::Release, ItemKind::Refund]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementItem {
    /// The order for its release, the refund for a refund.
    pub id: Uuid,
    pub order: OrderId,
    pub provider: ProviderId,
    pub product: ProductId,
    pub kind: ItemKind,
    pub at: Timestamp,
    /// Gross: positive for a release, negative for a refund.
    pub amount: Fen,
    /// The platform fee in `amount`: charged (positive) or returned (negative).
    pub fee: Fen,
    /// The service the order covers, over which it is amortised (ALI-A 4.3.2).
    pub service: Option<ServicePeriod>,
    /// Sold by the operator (自营/代销): the provider invoices the operator for its share.
    #[serde(default)]
    pub consignment: bool,
}

impl SettlementItem {
    /// What the provider gets of it: amount − fee.
    pub fn share(&self) -> Result<Fen, crate::MoneyError> {
        self.amount.checked_sub(self.fee)
    }
}

/// The items a change of `before` into `after` creates: the release if it happened now, and
/// every refund after release paid now. Pay-later orders only reach release once paid
/// (ALI-A 4.3.3), so nothing unpaid ever becomes an item.
pub fn items_of_change(
    before: Option<&Order>,
    after: &Order,
) -> Result<Vec<SettlementItem>, crate::MoneyError> {
    let item = |id: Uuid, kind, at, amount, fee| SettlementItem {
        id,
        order: after.id,
        provider: after.terms.provider,
        product: after.terms.product,
        kind,
        at,
        amount,
        fee,
        service: after.service_period,
        consignment: after.terms.sales_mode == crate::catalog::SalesMode::Consignment,
    };
    let mut items = Vec::new();
    if let Some(r) = after.release
        && before.is_none_or(|b| b.release.is_none())
        && !r.amount.is_zero()
    {
        items.push(item(
            after.id.uuid(),
            ItemKind::Release,
            r.at,
            r.amount,
            r.fee,
        ));
    }
    for refund in &after.refunds {
        let Some(p) = refund.payment.as_ref().filter(|p| !p.from_escrow) else {
            continue;
        };
        let paid_before = before.is_some_and(|b| {
            b.refunds
                .iter()
                .any(|r| r.id == refund.id && r.payment.is_some())
        });
        let total = p.provider_part.checked_add(p.fee_part)?;
        if !paid_before && !total.is_zero() {
            items.push(item(
                refund.id.uuid(),
                ItemKind::Refund,
                p.at,
                total.checked_neg()?,
                p.fee_part.checked_neg()?,
            ));
        }
    }
    Ok(items)
}
