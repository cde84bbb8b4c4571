//! The yearly operator-cloud deployment check (ALI-R art.28(5) "服务商在一个年度内，部署在云市场
//! 运营方云资源上的已售商品数低于全部已售商品数的80%", JD art.24(5) "一个自然年度内 … 京东云云资源
//! … 80%"; SPEC §9 "Other expulsion grounds").
//!
//! - The provider **declares** per product, for the current deployment year (the rulebook's
//!   `deployment_year_start`: ALI 04-01, JD 01-01), how many of its sold instances run on
//!   the operator's cloud and how many there are in all ([`DeploymentDeclaration`]). A
//!   declaration may be corrected during the year; the year's figures close when it ends
//!   (a later declaration is for the next year).
//! - At the end of each year a stored deadline ([`YEAR_END_CHECK`], dedupe key
//!   [`check_key`]) sums the provider's declarations for that year: share = on-cloud ÷ all.
//!   Below `min_operator_cloud_deployment` (strictly; exactly 80% meets it) → an
//!   expulsion-ground finding on the provider's [`DeploymentStanding`] and the event
//!   `visibility.deployment_below_threshold`. Expulsion itself stays a compliance decision
//!   (a violation case): the rule only finds the ground.
//! - No declarations for the year → no sold instances → nothing below (SPEC: not below).

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::calendar::{RuleYear, YearStart};
use crate::decision::{DomainRefusal, Outcome, RefusalClass};
use crate::ids::{ProductId, ProviderId};
use crate::rate::Rate;
use crate::time::start_of_day;

/// Most sold instances one declaration may state, so that a provider's sum stays far from
/// `u64` overflow.
pub const MAX_INSTANCES: u64 = 1_000_000_000_000;

/// Deadline kind of the check at the end of a deployment year.
pub const YEAR_END_CHECK: &str = "visibility.deployment_year_end";

/// The dedupe key of the check of the year that started on `year_start`.
pub fn check_key(year_start: Date) -> String {
    format!("visibility:deployment_check:{year_start}")
}

/// The deployment year containing `date`.
pub fn year_of(date: Date, start: YearStart) -> Result<RuleYear, DeploymentError> {
    RuleYear::containing(date, start).map_err(|_| DeploymentError::DateOutOfRange)
}

/// When the check of `year` is due: 00:00 Beijing on the first day after it.
pub fn check_due(year: RuleYear) -> Option<Timestamp> {
    start_of_day(year.end).ok()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeploymentError {
    #[error(
        "已部署在运营方云上的实例数 {on_operator_cloud} 多于已售实例总数 {total} — \
         {on_operator_cloud} instances on the operator's cloud exceed the {total} sold in all"
    )]
    MoreOnCloudThanSold { on_operator_cloud: u64, total: u64 },
    #[error(
        "现行规则没有运营方云部署比例要求 — the rulebook in force has no operator-cloud \
         deployment check (ALI-R art.28(5), JD art.24(5))"
    )]
    NotInForce,
    #[error("实例数不得超过 {max} — at most {max} instances per declaration")]
    TooMany { max: u64 },
    #[error("日期超出范围 — date out of range")]
    DateOutOfRange,
    #[error("实例数合计溢出 — the instance counts overflow")]
    Overflow,
}

impl DomainRefusal for DeploymentError {
    fn code(&self) -> &'static str {
        match self {
            DeploymentError::MoreOnCloudThanSold { .. } => "deployment_more_on_cloud_than_sold",
            DeploymentError::NotInForce => "deployment_check_not_in_force",
            DeploymentError::TooMany { .. } => "deployment_count_too_large",
            DeploymentError::DateOutOfRange => "date_out_of_range",
            DeploymentError::Overflow => "amount_overflow",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            DeploymentError::NotInForce => RefusalClass::Conflict,
            _ => RefusalClass::Invalid,
        }
    }
}

/// Sold instances: on the operator's cloud, and in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instances {
    pub on_operator_cloud: u64,
    pub total: u64,
}

impl Instances {
    /// Strictly below `threshold`: on-cloud ÷ total < threshold, compared as
    /// on × 1 000 000 < ppm × total in 128-bit integers. No sold instances → not below.
    pub fn below(&self, threshold: Rate) -> bool {
        u128::from(self.on_operator_cloud) * u128::from(Rate::WHOLE.ppm())
            < u128::from(threshold.ppm()) * u128::from(self.total)
    }

    /// The share in parts per million rounded down, for display (the comparison is exact);
    /// `None` without sold instances.
    pub fn share(&self) -> Option<Rate> {
        if self.total == 0 {
            return None;
        }
        let ppm = u128::from(self.on_operator_cloud.min(self.total))
            * u128::from(Rate::WHOLE.ppm())
            / u128::from(self.total);
        u32::try_from(ppm).ok().and_then(|p| Rate::from_ppm(p).ok())
    }

    fn plus(self, other: Instances) -> Result<Instances, DeploymentError> {
        Ok(Instances {
            on_operator_cloud: self
                .on_operator_cloud
                .checked_add(other.on_operator_cloud)
                .ok_or(DeploymentError::Overflow)?,
            total: self
                .total
                .checked_add(other.total)
                .ok_or(DeploymentError::Overflow)?,
        })
    }
}

/// One year's declared figures for a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearFigures {
    /// The first day of the deployment year.
    pub year_start: Date,
    #[serde(flatten)]
    pub instances: Instances,
    pub declared_at: Timestamp,
}

/// What a provider declared for one product, year by year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentDeclaration {
    pub product: ProductId,
    pub provider: ProviderId,
    pub years: Vec<YearFigures>,
}

impl DeploymentDeclaration {
    pub fn new(product: ProductId, provider: ProviderId) -> Self {
        DeploymentDeclaration {
            product,
            provider,
            years: Vec::new(),
        }
    }

    /// The figures for the year that started on `year_start`.
    pub fn for_year(&self, year_start: Date) -> Option<Instances> {
        self.years
            .iter()
            .find(|y| y.year_start == year_start)
            .map(|y| y.instances)
    }

    /// Declares `instances` for the deployment year in force at `now` (replacing an earlier
    /// declaration for the same year; earlier years stay as they closed).
    pub fn declare(
        &self,
        instances: Instances,
        start: Option<YearStart>,
        now: Timestamp,
    ) -> Result<(DeploymentDeclaration, Outcome), DeploymentError> {
        let start = start.ok_or(DeploymentError::NotInForce)?;
        if instances.total > MAX_INSTANCES {
            return Err(DeploymentError::TooMany { max: MAX_INSTANCES });
        }
        if instances.on_operator_cloud > instances.total {
            return Err(DeploymentError::MoreOnCloudThanSold {
                on_operator_cloud: instances.on_operator_cloud,
                total: instances.total,
            });
        }
        let year = year_of(crate::time::beijing_date(now), start)?;
        let mut next = self.clone();
        next.years.retain(|y| y.year_start != year.start);
        next.years.push(YearFigures {
            year_start: year.start,
            instances,
            declared_at: now,
        });
        next.years.sort_by_key(|y| y.year_start);
        let outcome = Outcome::default().event(
            "visibility.deployment_declared",
            format!("product:{}", self.product),
            json!({
                "product": self.product, "provider": self.provider,
                "year": year.to_string(), "year_start": year.start,
                "on_operator_cloud": instances.on_operator_cloud, "total": instances.total,
            }),
        );
        Ok((next, outcome))
    }
}

/// The provider's total over `declarations` for the year that started on `year_start`.
pub fn year_total<'a>(
    declarations: impl IntoIterator<Item = &'a DeploymentDeclaration>,
    year_start: Date,
) -> Result<Instances, DeploymentError> {
    declarations
        .into_iter()
        .filter_map(|d| d.for_year(year_start))
        .try_fold(Instances::default(), Instances::plus)
}

/// The result of one year's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearResult {
    pub year_start: Date,
    /// The first day after the year.
    pub year_end: Date,
    #[serde(flatten)]
    pub instances: Instances,
    /// On-cloud share rounded down to a ppm (absent without sold instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Rate>,
    pub threshold: Rate,
    /// Below the threshold: an expulsion ground (ALI-R art.28(5), JD art.24(5)) for
    /// compliance to decide on.
    pub below_threshold: bool,
    pub checked_at: Timestamp,
}

/// The provider's yearly results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentStanding {
    pub provider: ProviderId,
    pub years: Vec<YearResult>,
}

/// The year-end decision: the standing and its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentDecision {
    pub standing: DeploymentStanding,
    pub outcome: Outcome,
}

impl DeploymentStanding {
    pub fn new(provider: ProviderId) -> Self {
        DeploymentStanding {
            provider,
            years: Vec::new(),
        }
    }

    pub fn subject(&self) -> String {
        format!("provider:{}", self.provider)
    }

    /// The findings: years below the threshold.
    pub fn findings(&self) -> impl Iterator<Item = &YearResult> {
        self.years.iter().filter(|y| y.below_threshold)
    }

    /// For the stored status column: `finding` once any year was below, else `met`.
    pub fn status_label(&self) -> &'static str {
        if self.findings().next().is_some() {
            "finding"
        } else {
            "met"
        }
    }

    /// Judges `year` with the provider's `instances` for it. `None`: already judged.
    pub fn judge(
        &self,
        year: RuleYear,
        instances: Instances,
        threshold: Rate,
        now: Timestamp,
    ) -> Option<DeploymentDecision> {
        if self.years.iter().any(|y| y.year_start == year.start) {
            return None;
        }
        let below = instances.below(threshold);
        let result = YearResult {
            year_start: year.start,
            year_end: year.end,
            instances,
            share: instances.share(),
            threshold,
            below_threshold: below,
            checked_at: now,
        };
        let mut next = self.clone();
        next.years.push(result);
        let share = result.share.map(|s| s.to_string()).unwrap_or_default();
        let (kind, reason) = if below {
            (
                "visibility.deployment_below_threshold",
                format!(
                    "{year} 年度部署在运营方云资源上的已售商品数 {}/{}（{share}）低于 {threshold}，\
                     构成清退事由，待合规决定 — {} of {} sold instances ({share}) on the \
                     operator's cloud in {year}, below {threshold}: an expulsion ground \
                     for compliance to decide (ALI-R art.28(5), JD art.24(5))",
                    instances.on_operator_cloud,
                    instances.total,
                    instances.on_operator_cloud,
                    instances.total
                ),
            )
        } else {
            (
                "visibility.deployment_share_met",
                format!(
                    "{year} 年度运营方云部署比例 {}/{} 不低于 {threshold} — {} of {} sold \
                     instances on the operator's cloud in {year}, not below {threshold}",
                    instances.on_operator_cloud,
                    instances.total,
                    instances.on_operator_cloud,
                    instances.total
                ),
            )
        };
        let outcome = Outcome::default().event(
            kind,
            self.subject(),
            json!({
                "provider": self.provider, "year": year.to_string(),
                "year_start": year.start, "year_end": year.end,
                "on_operator_cloud": instances.on_operator_cloud, "total": instances.total,
                "share": result.share, "threshold": threshold, "reason": reason,
            }),
        );
        Some(DeploymentDecision {
            standing: next,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn n(on: u64, total: u64) -> Instances {
        Instances {
            on_operator_cloud: on,
            total,
        }
    }

    fn eighty() -> Rate {
        "80%".parse().unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ali() -> YearStart {
        "04-01".parse().unwrap()
    }

    #[test]
    fn deployment_share_79_99_percent_is_below_80_and_80_is_not() {
        assert!(n(7_999, 10_000).below(eighty()), "79.99% is below 80%");
        assert!(!n(8_000, 10_000).below(eighty()), "exactly 80% meets it");
        assert!(n(7, 10).below(eighty()));
        assert!(!n(8, 10).below(eighty()));
        assert!(!n(0, 0).below(eighty()), "no sold instances: not below");
        assert!(!n(u64::MAX, u64::MAX).below(eighty()));
        assert!(n(0, u64::MAX).below(eighty()));
        assert_eq!(n(7_999, 10_000).share(), Some("79.99%".parse().unwrap()));
    }

    #[test]
    fn ali_deployment_below_80_percent_in_the_fiscal_year_is_an_expulsion_ground() {
        let provider = ProviderId(Uuid::nil());
        let (a, b) = (
            ProductId(Uuid::from_u64_pair(0, 1)),
            ProductId(Uuid::from_u64_pair(0, 2)),
        );
        // Declared in March 2027: fiscal year 2026-04-01..2027-03-31.
        let at = ts("2027-03-10T09:00:00+08:00");
        let (da, _) = DeploymentDeclaration::new(a, provider)
            .declare(n(5, 6), Some(ali()), at)
            .unwrap();
        let (db, _) = DeploymentDeclaration::new(b, provider)
            .declare(n(2, 4), Some(ali()), at)
            .unwrap();
        let year = year_of(crate::time::beijing_date(at), ali()).unwrap();
        assert_eq!(year.start, "2026-04-01".parse::<Date>().unwrap());
        assert_eq!(
            check_due(year),
            Some(ts("2027-04-01T00:00:00+08:00")),
            "checked at 00:00 on 1 April"
        );
        let total = year_total([&da, &db], year.start).unwrap();
        assert_eq!(total, n(7, 10));
        let at_end = ts("2027-04-01T00:00:00+08:00");
        let decided = DeploymentStanding::new(provider)
            .judge(year, total, eighty(), at_end)
            .unwrap();
        assert_eq!(decided.standing.status_label(), "finding");
        assert_eq!(
            decided.outcome.events[0].kind,
            "visibility.deployment_below_threshold"
        );
        assert_eq!(
            decided.standing.judge(year, total, eighty(), at_end),
            None,
            "a year is judged once"
        );
        // 8 of 10: met, no finding.
        let met = DeploymentStanding::new(provider)
            .judge(year, n(8, 10), eighty(), at_end)
            .unwrap();
        assert_eq!(met.standing.status_label(), "met");
        assert_eq!(
            met.outcome.events[0].kind,
            "visibility.deployment_share_met"
        );
        // Another year's declaration does not count.
        let next_year = year_of("2027-04-01".parse().unwrap(), ali()).unwrap();
        assert_eq!(year_total([&da, &db], next_year.start).unwrap(), n(0, 0));
    }

    #[test]
    fn deployment_declaration_refuses_more_on_cloud_than_sold_and_no_rule() {
        let d = DeploymentDeclaration::new(ProductId(Uuid::nil()), ProviderId(Uuid::nil()));
        let at = ts("2026-07-01T09:00:00+08:00");
        let e = d.declare(n(11, 10), Some(ali()), at).unwrap_err();
        assert_eq!(e.code(), "deployment_more_on_cloud_than_sold");
        assert_eq!(e.class(), RefusalClass::Invalid);
        let e = d
            .declare(n(1, MAX_INSTANCES + 1), Some(ali()), at)
            .unwrap_err();
        assert_eq!(e.code(), "deployment_count_too_large");
        let e = d.declare(n(1, 10), None, at).unwrap_err();
        assert_eq!(e.code(), "deployment_check_not_in_force");
        // A correction in the same year replaces the figures.
        let (once, _) = d.declare(n(1, 10), Some(ali()), at).unwrap();
        let (twice, _) = once.declare(n(9, 10), Some(ali()), at).unwrap();
        assert_eq!(twice.years.len(), 1);
        assert_eq!(twice.years[0].instances, n(9, 10));
    }
}
