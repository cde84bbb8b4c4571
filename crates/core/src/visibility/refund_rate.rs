//! The refund-rate check (TC 5.8 服务商关于用户退款的考评机制; SPEC §7 item 7): "对产品/服务原因
//! （退款理由为：服务/产品不符合预期、服务商服务不及时/服务态度差、未收到商品/服务）导致用户退款，且退款
//! 订单率超过1%的服务商，将取消其参加云市场营销活动资格，并需要服务商限期（三十日）提升产品服务质量。"
//!
//! - **Rate** ([`RefundRate`]): of the provider's orders paid in the rolling window
//!   `(now − window_days, now]`, those refunded (in full or in part) for one of the rulebook's
//!   product reasons ÷ all of them. **[design assumption]** The cohort is the orders *paid*
//!   in the window, so the rate stays within 0–100% and a provider without recent sales has
//!   no rate to fail (0 ÷ 0 is not above). Compared exactly in integers; "above" is strict,
//!   so exactly the threshold passes.
//! - **Check** ([`RefundRateStanding::check`]) at the periodic check: an eligible provider
//!   above the threshold loses campaign eligibility and gets an improvement deadline
//!   ([`IMPROVEMENT_DEADLINE`], `improve_within_days` calendar days).
//! - **At the deadline** ([`RefundRateStanding::at_deadline`]): at or below the threshold →
//!   eligible again; above → eligibility stays lost and `visibility.refund_rate_not_improved`
//!   is recorded for compliance.
//! - **[design assumption]** After a missed deadline a later periodic check that finds the
//!   rate at or below the threshold restores eligibility: TC 5.8 removes eligibility for the
//!   bad rate and asks for improvement; it names no permanent loss. Compliance acts on the
//!   event (a violation case) if it wants more.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::decision::{DeadlineRequest, Outcome};
use crate::ids::ProviderId;
use crate::order::{Order, RefundStatus};
use crate::rate::Rate;
use crate::rulebook::RefundRateCheck;

/// Deadline kind of the periodic (daily) check of every provider.
pub const CHECK_DEADLINE: &str = "visibility.refund_rate_check";
/// Deadline kind of a provider's improvement deadline.
pub const IMPROVEMENT_DEADLINE: &str = "visibility.refund_rate_deadline";

/// The dedupe key of the periodic check on `day` (a Beijing date).
pub fn check_key(day: jiff::civil::Date) -> String {
    format!("visibility:refund_rate_check:{day}")
}

/// The payload of an [`IMPROVEMENT_DEADLINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImprovementPayload {
    pub provider: ProviderId,
    /// When the eligibility was lost (names the improvement period).
    pub since: Timestamp,
}

/// Product-reason refunded orders out of the orders paid in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRate {
    /// Orders paid in the window.
    pub paid: u64,
    /// Of them, refunded (in full or in part) for a product reason.
    pub refunded: u64,
}

impl RefundRate {
    /// Measures `orders` (one provider's) at `now` under `rule`.
    pub fn measure<'a>(
        orders: impl IntoIterator<Item = &'a Order>,
        rule: &RefundRateCheck,
        now: Timestamp,
    ) -> RefundRate {
        let from = window_start(now, rule.window_days);
        let mut rate = RefundRate::default();
        for order in orders {
            let Some(paid_at) = order.payment.as_ref().map(|p| p.at) else {
                continue;
            };
            if paid_at > now || from.is_some_and(|f| paid_at <= f) {
                continue;
            }
            rate.paid = rate.paid.saturating_add(1);
            let product_reason = order.refunds.iter().any(|r| {
                r.status == RefundStatus::Refunded
                    && r.payment.as_ref().is_some_and(|p| p.at <= now)
                    && r.reason
                        .is_some_and(|reason| rule.product_reasons.contains(&reason))
            });
            if product_reason {
                rate.refunded = rate.refunded.saturating_add(1);
            }
        }
        rate
    }

    /// Strictly above `threshold` (exactly the threshold is not): refunded ÷ paid > threshold,
    /// compared as refunded × 1 000 000 > ppm × paid in 128-bit integers. No paid orders →
    /// not above.
    pub fn above(&self, threshold: Rate) -> bool {
        u128::from(self.refunded) * u128::from(Rate::WHOLE.ppm())
            > u128::from(threshold.ppm()) * u128::from(self.paid)
    }

    /// The rate in parts per million rounded down, for display (the comparison is exact).
    pub fn rate(&self) -> Rate {
        if self.paid == 0 {
            return Rate::ZERO;
        }
        let ppm = u128::from(self.refunded.min(self.paid)) * u128::from(Rate::WHOLE.ppm())
            / u128::from(self.paid);
        u32::try_from(ppm)
            .ok()
            .and_then(|p| Rate::from_ppm(p).ok())
            .unwrap_or(Rate::WHOLE)
    }
}

/// The start of the window (exclusive) ending at `now`.
pub fn window_start(now: Timestamp, days: u32) -> Option<Timestamp> {
    now.checked_sub(SignedDuration::from_hours(24 * i64::from(days)))
        .ok()
}

fn after_days(at: Timestamp, days: u32) -> Option<Timestamp> {
    at.checked_add(SignedDuration::from_hours(24 * i64::from(days)))
        .ok()
}

/// What a measurement found, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub at: Timestamp,
    pub paid: u64,
    pub refunded: u64,
    pub rate: Rate,
    pub threshold: Rate,
}

impl Measured {
    fn of(rate: RefundRate, rule: &RefundRateCheck, at: Timestamp) -> Self {
        Measured {
            at,
            paid: rate.paid,
            refunded: rate.refunded,
            rate: rate.rate(),
            threshold: rule.threshold,
        }
    }
}

/// An open improvement period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Improvement {
    /// When the check failed and eligibility was lost.
    pub since: Timestamp,
    /// When the rate is judged again (限期三十日).
    pub due_at: Timestamp,
    /// What the failing check measured.
    pub measured: Measured,
}

/// Where the provider stands under the refund-rate check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundRateStatus {
    /// Eligible for marketing campaigns.
    Eligible,
    /// Above the threshold; the improvement deadline runs.
    Improving,
    /// The deadline passed with the rate still above the threshold.
    NotImproved,
}

impl RefundRateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundRateStatus::Eligible => "eligible",
            RefundRateStatus::Improving => "improving",
            RefundRateStatus::NotImproved => "not_improved",
        }
    }
}

/// The provider's refund-rate standing (stored only once the check first fails).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRateStanding {
    pub provider: ProviderId,
    pub status: RefundRateStatus,
    /// Eligible for the operator's marketing campaigns (TC 5.8 营销活动资格).
    pub campaign_eligible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub improvement: Option<Improvement>,
    /// The last measurement that changed the standing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decisive: Option<Measured>,
    /// How many improvement deadlines were missed, ever.
    #[serde(default)]
    pub missed_deadlines: u32,
}

/// A change of standing: the new standing and its events and deadlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRateDecision {
    pub standing: RefundRateStanding,
    pub outcome: Outcome,
}

impl RefundRateStanding {
    pub fn new(provider: ProviderId) -> Self {
        RefundRateStanding {
            provider,
            status: RefundRateStatus::Eligible,
            campaign_eligible: true,
            improvement: None,
            last_decisive: None,
            missed_deadlines: 0,
        }
    }

    pub fn subject(&self) -> String {
        format!("provider:{}", self.provider)
    }

    /// The dedupe key of the improvement deadline of the period that started at `since`.
    pub fn deadline_key(provider: ProviderId, since: Timestamp) -> String {
        format!(
            "visibility:refund_rate_deadline:{provider}:{}",
            since.as_microsecond()
        )
    }

    /// The periodic check at `now` with `rate` measured. `None`: nothing changes.
    pub fn check(
        &self,
        rate: RefundRate,
        rule: &RefundRateCheck,
        now: Timestamp,
    ) -> Option<RefundRateDecision> {
        let above = rate.above(rule.threshold);
        let measured = Measured::of(rate, rule, now);
        match (self.status, above) {
            (RefundRateStatus::Eligible, true) => {
                let due_at = after_days(now, rule.improve_within_days)?;
                let mut next = self.clone();
                next.status = RefundRateStatus::Improving;
                next.campaign_eligible = !rule.loses_campaign_eligibility;
                next.improvement = Some(Improvement {
                    since: now,
                    due_at,
                    measured,
                });
                next.last_decisive = Some(measured);
                let mut outcome = Outcome::default().event(
                    "visibility.campaign_eligibility_lost",
                    self.subject(),
                    json!({
                        "provider": self.provider, "paid": rate.paid, "refunded": rate.refunded,
                        "rate": measured.rate, "threshold": rule.threshold,
                        "window_days": rule.window_days,
                        "campaign_eligible": next.campaign_eligible,
                        "improve_by": due_at,
                        "reason": format!(
                            "产品/服务原因退款订单率 {} 超过 {}，取消营销活动资格，限期{}日提升 — \
                             product-reason refund rate {} ({}/{}) above {}: campaign \
                             eligibility lost, {} days to improve (TC 5.8)",
                            measured.rate, rule.threshold, rule.improve_within_days,
                            measured.rate, rate.refunded, rate.paid, rule.threshold,
                            rule.improve_within_days
                        ),
                    }),
                );
                outcome.schedule.push(DeadlineRequest {
                    kind: IMPROVEMENT_DEADLINE.into(),
                    subject: self.subject(),
                    due_at,
                    payload: json!(ImprovementPayload {
                        provider: self.provider,
                        since: now,
                    }),
                    dedupe_key: Self::deadline_key(self.provider, now),
                });
                Some(RefundRateDecision {
                    standing: next,
                    outcome,
                })
            }
            (RefundRateStatus::NotImproved, false) => Some(self.restore(
                measured,
                "visibility.campaign_eligibility_restored",
                "improved_after_deadline",
            )),
            // Improving: judged at its deadline; eligible and fine, or still above: no change.
            _ => None,
        }
    }

    /// The improvement deadline of the period that started at `since` fires at `now` with
    /// `rate` measured. `None`: not this standing's open period (moot).
    pub fn at_deadline(
        &self,
        since: Timestamp,
        rate: RefundRate,
        rule: &RefundRateCheck,
        now: Timestamp,
    ) -> Option<RefundRateDecision> {
        let period = self.improvement.filter(|i| i.since == since)?;
        if self.status != RefundRateStatus::Improving {
            return None;
        }
        let measured = Measured::of(rate, rule, now);
        if !rate.above(rule.threshold) {
            return Some(self.restore(
                measured,
                "visibility.campaign_eligibility_restored",
                "improved_by_deadline",
            ));
        }
        let mut next = self.clone();
        next.status = RefundRateStatus::NotImproved;
        next.improvement = None;
        next.last_decisive = Some(measured);
        next.missed_deadlines = self.missed_deadlines.saturating_add(1);
        let outcome = Outcome::default().event(
            "visibility.refund_rate_not_improved",
            self.subject(),
            json!({
                "provider": self.provider, "since": period.since, "due_at": period.due_at,
                "paid": rate.paid, "refunded": rate.refunded, "rate": measured.rate,
                "threshold": rule.threshold, "campaign_eligible": next.campaign_eligible,
                "reason": format!(
                    "限期未提升：退款订单率 {} 仍超过 {} — not improved by the deadline: \
                     product-reason refund rate {} ({}/{}) still above {} (TC 5.8)",
                    measured.rate, rule.threshold, measured.rate, rate.refunded, rate.paid,
                    rule.threshold
                ),
            }),
        );
        Some(RefundRateDecision {
            standing: next,
            outcome,
        })
    }

    fn restore(&self, measured: Measured, kind: &str, why: &str) -> RefundRateDecision {
        let mut next = self.clone();
        next.status = RefundRateStatus::Eligible;
        next.campaign_eligible = true;
        next.improvement = None;
        next.last_decisive = Some(measured);
        let outcome = Outcome::default().event(
            kind,
            self.subject(),
            json!({
                "provider": self.provider, "why": why, "paid": measured.paid,
                "refunded": measured.refunded, "rate": measured.rate,
                "threshold": measured.threshold,
                "reason": format!(
                    "退款订单率 {} 不超过 {}，恢复营销活动资格 — refund rate {} at or below {}: \
                     campaign eligibility restored (TC 5.8)",
                    measured.rate, measured.threshold, measured.rate, measured.threshold
                ),
            }),
        );
        RefundRateDecision {
            standing: next,
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulebook::RefundReason;

    fn rule() -> RefundRateCheck {
        RefundRateCheck {
            threshold: "1%".parse().unwrap(),
            window_days: 30,
            improve_within_days: 30,
            product_reasons: vec![
                RefundReason::NotAsExpected,
                RefundReason::SlowOrPoorService,
                RefundReason::NotReceived,
            ],
            loses_campaign_eligibility: true,
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn rate(refunded: u64, paid: u64) -> RefundRate {
        RefundRate { paid, refunded }
    }

    #[test]
    fn tc_refund_rate_exactly_one_percent_is_not_above() {
        let one = rule().threshold;
        assert!(!rate(1, 100).above(one), "exactly 1% is not above");
        assert!(rate(101, 10_000).above(one), "1.01% is above");
        assert!(rate(1, 50).above(one), "2% is above");
        assert!(!rate(0, 50).above(one));
        assert!(!rate(0, 0).above(one), "no paid orders: nothing to fail");
        assert_eq!(rate(2, 50).rate(), "4%".parse().unwrap());
        // No overflow at the extremes.
        assert!(rate(u64::MAX, u64::MAX).above(one));
        assert!(!rate(1, u64::MAX).above(one));
    }

    #[test]
    fn tc_refund_rate_above_one_percent_loses_campaign_eligibility_with_30_days_to_improve() {
        let r = rule();
        let p = ProviderId(uuid::Uuid::nil());
        let s = RefundRateStanding::new(p);
        let now = ts("2026-07-03T00:00:00+08:00");
        assert_eq!(s.check(rate(1, 100), &r, now), None, "exactly 1%: fine");
        let lost = s.check(rate(2, 50), &r, now).unwrap();
        assert_eq!(lost.standing.status, RefundRateStatus::Improving);
        assert!(!lost.standing.campaign_eligible);
        let due = ts("2026-08-02T00:00:00+08:00");
        assert_eq!(lost.standing.improvement.unwrap().due_at, due);
        assert_eq!(lost.outcome.schedule.len(), 1);
        assert_eq!(lost.outcome.schedule[0].kind, IMPROVEMENT_DEADLINE);
        assert_eq!(lost.outcome.schedule[0].due_at, due);
        assert_eq!(
            lost.outcome.events[0].kind,
            "visibility.campaign_eligibility_lost"
        );
        // While improving, periodic checks change nothing.
        assert_eq!(lost.standing.check(rate(5, 50), &r, due), None);
        assert_eq!(lost.standing.check(rate(0, 50), &r, due), None);

        // Improved by the deadline → eligible again.
        let back = lost
            .standing
            .at_deadline(now, rate(1, 100), &r, due)
            .unwrap();
        assert_eq!(back.standing.status, RefundRateStatus::Eligible);
        assert!(back.standing.campaign_eligible);
        // A deadline of another period is moot.
        assert_eq!(lost.standing.at_deadline(due, rate(0, 1), &r, due), None);
    }

    #[test]
    fn tc_refund_rate_not_improved_by_the_deadline_is_recorded_for_compliance() {
        let r = rule();
        let s = RefundRateStanding::new(ProviderId(uuid::Uuid::nil()));
        let now = ts("2026-07-03T00:00:00+08:00");
        let due = ts("2026-08-02T00:00:00+08:00");
        let lost = s.check(rate(2, 50), &r, now).unwrap().standing;
        let missed = lost.at_deadline(now, rate(2, 10), &r, due).unwrap();
        assert_eq!(missed.standing.status, RefundRateStatus::NotImproved);
        assert!(!missed.standing.campaign_eligible);
        assert_eq!(missed.standing.missed_deadlines, 1);
        assert_eq!(
            missed.outcome.events[0].kind,
            "visibility.refund_rate_not_improved"
        );
        // Still above: nothing; back at or below: restored at a later check.
        assert_eq!(missed.standing.check(rate(1, 10), &r, due), None);
        let later = missed.standing.check(rate(1, 100), &r, due).unwrap();
        assert!(later.standing.campaign_eligible);
    }
}
