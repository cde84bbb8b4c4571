//! SaaS delivery failure (TC 4.2 服务商关于发货失败订单的考评机制; SPEC §5): "服务商名下 SaaS
//! 交付商品产生发货失败订单后 … 相关商品将被隐藏（不可被搜索）。若七日后未能成功修复发货问题，则
//! 服务商名下所有SaaS交付商品将被隐藏。若三十日后仍未能成功修复发货问题，则对该服务商名下所有
//! SaaS 交付商品进行下架处理。"
//!
//! The provider's [`SaasFailureStanding`] lists its unrepaired failures (a dead-lettered
//! `create` delivery is one failure). For each failure:
//!
//! 1. at once — the failing product gets the hold [`PRODUCT_HOLD`] (hidden from search);
//! 2. after `hide_all_saas_after_days` — a stored deadline ([`STEP_DEADLINE`], dedupe key
//!    [`SaasFailureStanding::step_key`]) puts [`ALL_HIDDEN_HOLD`] on every SaaS product of the
//!    provider;
//! 3. after `delist_all_saas_after_days` — another one puts [`ALL_DELISTED_HOLD`] (delisted by
//!    the operator) on every SaaS product.
//!
//! A repair (the failed `create` delivered after all: 成功修复发货问题) cancels the steps of that
//! failure still pending, lifts the product's hold once no other open failure concerns the
//! product, and lifts the provider-wide hide once no open failure has reached its hide step.
//! **[design assumption]** A delisting that already happened stays after a repair: 下架处理 is
//! a measure the operator lifts, not one the provider undoes by repairing late.
//!
//! Days are calendar days of 24 hours from the failure (七日后, 三十日后), not working days.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::decision::{DeadlineRequest, Outcome};
use crate::ids::{OrderId, ProductId, ProviderId};
use crate::listing::HoldKind;
use crate::rulebook::SaasDeliveryFailure;

/// Deadline kind of an escalation step.
pub const STEP_DEADLINE: &str = "visibility.saas_step";
/// Hold key on the product whose delivery failed.
pub const PRODUCT_HOLD: &str = "saas_delivery_failure";
/// Hold key on every SaaS product of a provider whose failure was not repaired in time.
pub const ALL_HIDDEN_HOLD: &str = "saas_delivery_failure:all_hidden";
/// Hold key on every SaaS product of a provider whose failure was not repaired at all.
pub const ALL_DELISTED_HOLD: &str = "saas_delivery_failure:all_delisted";

/// An escalation step after the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// All the provider's SaaS products hidden (七日后).
    HideAll,
    /// All the provider's SaaS products delisted (三十日后).
    DelistAll,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::HideAll => "hide_all",
            Step::DelistAll => "delist_all",
        }
    }

    fn days(self, rule: &SaasDeliveryFailure) -> u32 {
        match self {
            Step::HideAll => rule.hide_all_saas_after_days,
            Step::DelistAll => rule.delist_all_saas_after_days,
        }
    }
}

/// The payload of a [`STEP_DEADLINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepPayload {
    pub provider: ProviderId,
    pub delivery: Uuid,
    pub step: Step,
}

/// One unrepaired delivery failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The dead-lettered `create` delivery.
    pub delivery: Uuid,
    pub order: OrderId,
    /// The product the order bought (absent if the delivery did not name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductId>,
    pub failed_at: Timestamp,
    /// When its steps fall due, while not repaired.
    pub hide_all_at: Timestamp,
    pub delist_all_at: Timestamp,
    /// When its hide step fired (all the provider's SaaS products hidden).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hid_all_at: Option<Timestamp>,
    /// When its delist step fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delisted_all_at: Option<Timestamp>,
}

/// What the rule holds against a provider: its open failures and what they did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaasFailureStanding {
    pub provider: ProviderId,
    pub open: Vec<Failure>,
    /// Failures repaired so far (deliveries), for the record.
    #[serde(default)]
    pub repaired: Vec<Uuid>,
    /// When all the provider's SaaS products were delisted under this rule (stays after a
    /// repair — see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delisted_at: Option<Timestamp>,
}

/// Whom a hold change is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldTarget {
    /// One product (of this provider).
    Product(ProductId),
    /// Every SaaS product of the provider.
    AllSaas,
}

/// A hold to place or lift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldChange {
    Place {
        key: &'static str,
        kind: HoldKind,
        reason: String,
    },
    /// Lift the hold under `key` where there is one.
    Lift { key: &'static str },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldPlan {
    pub target: HoldTarget,
    pub change: HoldChange,
}

/// The rule's decision: the provider's new standing, what happens to products (the shell
/// applies it with [`crate::listing::Product::place_hold`] / `lift_hold` in the same batch),
/// and the events and deadlines to store or cancel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaasDecision {
    pub standing: SaasFailureStanding,
    pub holds: Vec<HoldPlan>,
    pub outcome: Outcome,
}

fn after_days(at: Timestamp, days: u32) -> Option<Timestamp> {
    at.checked_add(SignedDuration::from_hours(24 * i64::from(days)))
        .ok()
}

impl SaasFailureStanding {
    pub fn new(provider: ProviderId) -> Self {
        SaasFailureStanding {
            provider,
            open: Vec::new(),
            repaired: Vec::new(),
            delisted_at: None,
        }
    }

    pub fn subject(&self) -> String {
        format!("provider:{}", self.provider)
    }

    /// The dedupe key of a failure's step deadline (one failure per delivery, ever).
    pub fn step_key(delivery: Uuid, step: Step) -> String {
        format!("saas_failure:{delivery}:{}", step.as_str())
    }

    /// Whether all the provider's SaaS products are hidden under this rule now.
    pub fn all_hidden(&self) -> bool {
        self.open.iter().any(|f| f.hid_all_at.is_some())
    }

    /// For the stored status column.
    pub fn status_label(&self) -> &'static str {
        if self.delisted_at.is_some() {
            "delisted"
        } else if self.all_hidden() {
            "all_hidden"
        } else if !self.open.is_empty() {
            "failing"
        } else {
            "clear"
        }
    }

    /// A `create` delivery of `order` (for `product`) was dead-lettered at `failed_at`: the
    /// product is hidden from search at once (if the rule says so) and both steps are
    /// scheduled. `None`: this delivery's failure is already on record.
    pub fn record_failure(
        &self,
        delivery: Uuid,
        order: OrderId,
        product: Option<ProductId>,
        failed_at: Timestamp,
        rule: &SaasDeliveryFailure,
    ) -> Option<SaasDecision> {
        if self.open.iter().any(|f| f.delivery == delivery) || self.repaired.contains(&delivery) {
            return None;
        }
        let hide_all_at = after_days(failed_at, rule.hide_all_saas_after_days)?;
        let delist_all_at = after_days(failed_at, rule.delist_all_saas_after_days)?;
        let failure = Failure {
            delivery,
            order,
            product,
            failed_at,
            hide_all_at,
            delist_all_at,
            hid_all_at: None,
            delisted_all_at: None,
        };
        let mut next = self.clone();
        next.open.push(failure);
        let mut holds = Vec::new();
        if let Some(product) = product.filter(|_| rule.hide_product_at_once) {
            holds.push(HoldPlan {
                target: HoldTarget::Product(product),
                change: HoldChange::Place {
                    key: PRODUCT_HOLD,
                    kind: HoldKind::HiddenFromSearch,
                    reason: format!(
                        "SaaS 发货失败，商品隐藏（不可被搜索）直至修复 — SaaS delivery failed \
                         (order {order}, delivery {delivery}); hidden from search until repaired \
                         (TC 4.2)"
                    ),
                },
            });
        }
        let mut outcome = Outcome::default().event(
            "visibility.saas_delivery_failure_recorded",
            self.subject(),
            json!({
                "delivery": delivery, "order": order, "product": product,
                "failed_at": failed_at, "product_hidden": !holds.is_empty(),
                "hide_all_at": hide_all_at, "delist_all_at": delist_all_at,
            }),
        );
        for (step, due_at) in [
            (Step::HideAll, hide_all_at),
            (Step::DelistAll, delist_all_at),
        ] {
            outcome.schedule.push(DeadlineRequest {
                kind: STEP_DEADLINE.into(),
                subject: self.subject(),
                due_at,
                payload: json!(StepPayload {
                    provider: self.provider,
                    delivery,
                    step
                }),
                dedupe_key: Self::step_key(delivery, step),
            });
        }
        Some(SaasDecision {
            standing: next,
            holds,
            outcome,
        })
    }

    /// A step of the failure of `delivery` falls due at `now`. `None`: the failure was
    /// repaired meanwhile (its deadline should have been cancelled) or the step already ran.
    pub fn escalate(
        &self,
        delivery: Uuid,
        step: Step,
        rule: &SaasDeliveryFailure,
        now: Timestamp,
    ) -> Option<SaasDecision> {
        let mut next = self.clone();
        let failure = next.open.iter_mut().find(|f| f.delivery == delivery)?;
        let days = step.days(rule);
        let (key, kind, reason, kind_event) = match step {
            Step::HideAll => {
                if failure.hid_all_at.is_some() {
                    return None;
                }
                failure.hid_all_at = Some(now);
                (
                    ALL_HIDDEN_HOLD,
                    HoldKind::HiddenFromSearch,
                    format!(
                        "SaaS 发货失败 {days} 日未修复，服务商名下所有 SaaS 商品隐藏 — a SaaS \
                         delivery failure (delivery {delivery}) not repaired after {days} days: \
                         all the provider's SaaS products hidden (TC 4.2)"
                    ),
                    "visibility.saas_all_hidden",
                )
            }
            Step::DelistAll => {
                if failure.delisted_all_at.is_some() {
                    return None;
                }
                failure.delisted_all_at = Some(now);
                next.delisted_at = next.delisted_at.or(Some(now));
                (
                    ALL_DELISTED_HOLD,
                    HoldKind::Delisted,
                    format!(
                        "SaaS 发货失败 {days} 日仍未修复，服务商名下所有 SaaS 商品下架 — a SaaS \
                         delivery failure (delivery {delivery}) not repaired after {days} days: \
                         all the provider's SaaS products delisted (TC 4.2)"
                    ),
                    "visibility.saas_all_delisted",
                )
            }
        };
        let outcome = Outcome::default().event(
            kind_event,
            self.subject(),
            json!({ "delivery": delivery, "step": step, "days": days, "at": now }),
        );
        Some(SaasDecision {
            standing: next,
            holds: vec![HoldPlan {
                target: HoldTarget::AllSaas,
                change: HoldChange::Place { key, kind, reason },
            }],
            outcome,
        })
    }

    /// The failed delivery was delivered after all at `now` (成功修复发货问题): its pending
    /// steps are cancelled, the product's hold lifted unless another open failure concerns it,
    /// the provider-wide hide lifted unless another open failure reached its hide step.
    /// `None`: no open failure of this delivery.
    pub fn repair(&self, delivery: Uuid, now: Timestamp) -> Option<SaasDecision> {
        let index = self.open.iter().position(|f| f.delivery == delivery)?;
        let mut next = self.clone();
        let failure = next.open.remove(index);
        next.repaired.push(delivery);
        let mut holds = Vec::new();
        let mut lifted = Vec::new();
        if let Some(product) = failure.product
            && !next.open.iter().any(|f| f.product == Some(product))
        {
            holds.push(HoldPlan {
                target: HoldTarget::Product(product),
                change: HoldChange::Lift { key: PRODUCT_HOLD },
            });
            lifted.push(PRODUCT_HOLD);
        }
        if self.all_hidden() && !next.all_hidden() {
            holds.push(HoldPlan {
                target: HoldTarget::AllSaas,
                change: HoldChange::Lift {
                    key: ALL_HIDDEN_HOLD,
                },
            });
            lifted.push(ALL_HIDDEN_HOLD);
        }
        let cancelled: Vec<String> = [Step::HideAll, Step::DelistAll]
            .into_iter()
            .filter(|s| match s {
                Step::HideAll => failure.hid_all_at.is_none(),
                Step::DelistAll => failure.delisted_all_at.is_none(),
            })
            .map(|s| Self::step_key(delivery, s))
            .collect();
        let mut outcome = Outcome::default().event(
            "visibility.saas_delivery_repaired",
            self.subject(),
            json!({
                "delivery": delivery, "order": failure.order, "product": failure.product,
                "failed_at": failure.failed_at, "repaired_at": now,
                "steps_cancelled": cancelled, "holds_lifted": lifted,
                "delisting_stays": next.delisted_at.is_some(),
            }),
        );
        outcome.cancel = cancelled;
        Some(SaasDecision {
            standing: next,
            holds,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> SaasDeliveryFailure {
        SaasDeliveryFailure {
            hide_product_at_once: true,
            hide_all_saas_after_days: 7,
            delist_all_saas_after_days: 30,
        }
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_failure_hides_the_product_at_once_and_schedules_day_7_and_day_30() {
        let s = SaasFailureStanding::new(ProviderId(id(1)));
        let at = t("2026-07-01T01:00:00Z");
        let d = s
            .record_failure(id(2), OrderId(id(3)), Some(ProductId(id(4))), at, &rule())
            .unwrap();
        assert_eq!(d.holds.len(), 1);
        assert_eq!(d.holds[0].target, HoldTarget::Product(ProductId(id(4))));
        let due: Vec<(Timestamp, &str)> = d
            .outcome
            .schedule
            .iter()
            .map(|r| (r.due_at, r.dedupe_key.as_str()))
            .collect();
        let hide = SaasFailureStanding::step_key(id(2), Step::HideAll);
        let delist = SaasFailureStanding::step_key(id(2), Step::DelistAll);
        assert_eq!(
            due,
            vec![
                (t("2026-07-08T01:00:00Z"), hide.as_str()),
                (t("2026-07-31T01:00:00Z"), delist.as_str())
            ]
        );
        assert_eq!(d.standing.status_label(), "failing");
        // The same failure again decides nothing.
        assert!(
            d.standing
                .record_failure(id(2), OrderId(id(3)), None, at, &rule())
                .is_none()
        );
    }

    #[test]
    fn a_repair_before_day_7_cancels_both_steps_and_lifts_the_product_hold() {
        let s = SaasFailureStanding::new(ProviderId(id(1)));
        let at = t("2026-07-01T01:00:00Z");
        let failed = s
            .record_failure(id(2), OrderId(id(3)), Some(ProductId(id(4))), at, &rule())
            .unwrap()
            .standing;
        let r = failed.repair(id(2), t("2026-07-06T01:00:00Z")).unwrap();
        assert_eq!(r.outcome.cancel.len(), 2);
        assert_eq!(
            r.holds,
            vec![HoldPlan {
                target: HoldTarget::Product(ProductId(id(4))),
                change: HoldChange::Lift { key: PRODUCT_HOLD },
            }]
        );
        assert_eq!(r.standing.status_label(), "clear");
        // A step that fires anyway (not cancelled in time) does nothing.
        assert!(
            r.standing
                .escalate(id(2), Step::HideAll, &rule(), t("2026-07-08T01:00:00Z"))
                .is_none()
        );
    }

    #[test]
    fn unrepaired_failure_hides_all_on_day_7_and_delists_all_on_day_30() {
        let s = SaasFailureStanding::new(ProviderId(id(1)));
        let at = t("2026-07-01T01:00:00Z");
        let failed = s
            .record_failure(id(2), OrderId(id(3)), Some(ProductId(id(4))), at, &rule())
            .unwrap()
            .standing;
        let hidden = failed
            .escalate(id(2), Step::HideAll, &rule(), t("2026-07-08T01:00:00Z"))
            .unwrap();
        assert_eq!(hidden.holds[0].target, HoldTarget::AllSaas);
        assert_eq!(hidden.standing.status_label(), "all_hidden");
        let delisted = hidden
            .standing
            .escalate(id(2), Step::DelistAll, &rule(), t("2026-07-31T01:00:00Z"))
            .unwrap();
        assert!(matches!(
            delisted.holds[0].change,
            HoldChange::Place {
                kind: HoldKind::Delisted,
                ..
            }
        ));
        assert_eq!(delisted.standing.status_label(), "delisted");
        // A late repair lifts the hides, not the delisting, and cancels nothing fired.
        let late = delisted
            .standing
            .repair(id(2), t("2026-08-05T01:00:00Z"))
            .unwrap();
        assert!(late.outcome.cancel.is_empty());
        assert_eq!(late.holds.len(), 2);
        assert!(
            late.holds
                .iter()
                .all(|h| matches!(h.change, HoldChange::Lift { .. }))
        );
        assert_eq!(late.standing.status_label(), "delisted");
    }

    #[test]
    fn another_open_failure_keeps_the_product_and_provider_hidden() {
        let s = SaasFailureStanding::new(ProviderId(id(1)));
        let p = Some(ProductId(id(4)));
        let a = s
            .record_failure(id(2), OrderId(id(3)), p, t("2026-07-01T01:00:00Z"), &rule())
            .unwrap()
            .standing;
        let b = a
            .record_failure(id(5), OrderId(id(6)), p, t("2026-07-02T01:00:00Z"), &rule())
            .unwrap()
            .standing;
        let hidden = b
            .escalate(id(5), Step::HideAll, &rule(), t("2026-07-09T01:00:00Z"))
            .unwrap()
            .standing;
        let r = hidden.repair(id(2), t("2026-07-10T01:00:00Z")).unwrap();
        assert!(r.holds.is_empty(), "{:?}", r.holds);
        assert!(r.standing.all_hidden());
    }
}
