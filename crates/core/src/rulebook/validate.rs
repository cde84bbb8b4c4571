//! Validation after parsing: impossible values and dangling references, each reported at the
//! file, line and key it is about. Shape errors (unknown key, missing field, wrong type,
//! negative number in an unsigned field, a bad MM-DD, a rate above 100%) are already caught
//! by serde while parsing; everything here needs more than one value or domain knowledge.
//! All problems of a file are collected, not just the first.

use std::collections::BTreeSet;
use std::fmt::Debug;

use super::Identity;
use super::common::{Procedure, RatingScale};
use super::marketplace::{ExpulsionGround, MarketplaceRulebook, ProductCategory, RefundWindow};
use super::partner::{Escalation, PartnerRulebook, Tier};
use super::violation::{Action, DepositDeduction};
use crate::money::Fen;
use crate::rate::Rate;
use crate::source::{KeyPath, SourceError, TomlSource};

struct Check<'a, 'src> {
    source: &'a TomlSource<'src>,
    errors: Vec<SourceError>,
}

fn path(keys: &[&str]) -> KeyPath {
    keys.iter().fold(KeyPath::root(), |p, k| p.key(k))
}

impl Check<'_, '_> {
    fn fail(&mut self, at: &KeyPath, message: impl Into<String>) {
        self.errors.push(self.source.error_at(at, message));
    }

    fn at_least_one(&mut self, at: &KeyPath, value: u32) {
        if value == 0 {
            self.fail(at, "must be at least 1, got 0");
        }
    }

    fn opt_at_least_one(&mut self, at: &KeyPath, value: Option<u32>) {
        if let Some(v) = value {
            self.at_least_one(at, v);
        }
    }

    fn positive_fen(&mut self, at: &KeyPath, value: Fen) {
        if value <= Fen::ZERO {
            self.fail(at, format!("must be a positive amount, got {value}"));
        }
    }

    fn non_negative_fen(&mut self, at: &KeyPath, value: Fen) {
        if value.is_negative() {
            self.fail(at, format!("must not be negative, got {value}"));
        }
    }

    fn positive_rate(&mut self, at: &KeyPath, value: Rate) {
        if value.ppm() == 0 {
            self.fail(at, "must be above 0%");
        }
    }

    fn non_empty<T>(&mut self, at: &KeyPath, items: &[T]) {
        if items.is_empty() {
            self.fail(at, "must not be empty");
        }
    }

    fn non_blank(&mut self, at: &KeyPath, text: &str) {
        if text.trim().is_empty() {
            self.fail(at, "must not be blank");
        }
    }

    /// Each later duplicate is reported at its own index.
    fn unique<T: PartialEq + Debug>(&mut self, at: &KeyPath, items: &[T]) {
        for (i, item) in items.iter().enumerate() {
            if items[..i].contains(item) {
                self.fail(&at.index(i), format!("{item:?} is listed twice"));
            }
        }
    }

    /// `present` and `companion` come as a pair: both or neither.
    fn paired(&mut self, at: &KeyPath, present: bool, companion: &str, companion_present: bool) {
        if present && !companion_present {
            self.fail(at, format!("needs {companion} as well"));
        }
    }
}

fn identity(c: &mut Check, id: &Identity) {
    let at = |k: &str| path(&["rulebook", k]);
    let lower = |s: &str, dash: bool| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || (dash && b == b'-'))
    };
    if !lower(&id.family, false) {
        c.fail(
            &at("family"),
            "must be lowercase letters and digits, e.g. \"ali\"",
        );
    }
    let version_part = id.id.strip_prefix(&format!("{}-", id.family));
    if !lower(&id.id, true) || version_part.is_none_or(str::is_empty) {
        c.fail(
            &at("id"),
            format!(
                "must be \"{}-<version>\" in lowercase, got {:?}",
                id.family, id.id
            ),
        );
    }
    let prefix_ok = !id.code_prefix.is_empty()
        && id
            .code_prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !prefix_ok {
        c.fail(
            &at("code_prefix"),
            "must be uppercase letters and digits, e.g. \"ALI\"",
        );
    }
    for key in [
        "operator_zh",
        "operator_en",
        "name_zh",
        "name_en",
        "version",
    ] {
        let value = match key {
            "operator_zh" => &id.operator_zh,
            "operator_en" => &id.operator_en,
            "name_zh" => &id.name_zh,
            "name_en" => &id.name_en,
            _ => &id.version,
        };
        c.non_blank(&at(key), value);
    }
    c.opt_at_least_one(&at("revision_notice_months"), id.revision_notice_months);
    c.non_empty(&at("sources"), &id.sources);
    let shorts: Vec<&str> = id.sources.iter().map(|s| s.short.as_str()).collect();
    c.unique(&at("sources"), &shorts);
}

fn procedure(c: &mut Check, p: &Procedure) {
    let at = |k: &str| path(&["procedure", k]);
    c.non_empty(&at("notice_channels"), &p.notice_channels);
    c.unique(&at("notice_channels"), &p.notice_channels);
    c.at_least_one(&at("reply_working_days"), p.reply_working_days);
    c.opt_at_least_one(&at("objection_working_days"), p.objection_working_days);
}

fn rating_scale(c: &mut Check, at: &KeyPath, s: &RatingScale) {
    if s.min >= s.max {
        c.fail(
            &at.key("max"),
            format!("must be above min ({}), got {}", s.min, s.max),
        );
    }
}

// ---------------------------------------------------------------------------------------------

pub(super) fn marketplace(m: &MarketplaceRulebook, source: &TomlSource<'_>) -> Vec<SourceError> {
    let mut c = Check {
        source,
        errors: Vec::new(),
    };
    identity(&mut c, &m.rulebook);
    let codes = violation_table(&mut c, m);
    let refer = |c: &mut Check, at: KeyPath, code: Option<&str>| {
        if let Some(code) = code
            && !codes.contains(code)
        {
            c.fail(
                &at,
                format!("{code:?} is not a code of this rulebook's violation table"),
            );
        }
    };

    // Onboarding.
    let ob = &m.onboarding;
    c.non_empty(&path(&["onboarding", "materials"]), &ob.materials);
    c.unique(&path(&["onboarding", "materials"]), &ob.materials);
    c.at_least_one(
        &path(&["onboarding", "material_change_report_days"]),
        ob.material_change_report_days,
    );

    // Support.
    let s = &m.support;
    let sp = |k: &str| path(&["support", k]);
    if s.hours.open >= s.hours.close {
        c.fail(&path(&["support", "hours", "close"]), "must be after open");
    }
    c.opt_at_least_one(&sp("first_reply_seconds"), s.first_reply_seconds);
    c.opt_at_least_one(&sp("max_silence_minutes"), s.max_silence_minutes);
    c.opt_at_least_one(
        &sp("complaint_response_minutes"),
        s.complaint_response_minutes,
    );
    c.opt_at_least_one(
        &sp("workaround_hours_not_running"),
        s.workaround_hours_not_running,
    );
    c.opt_at_least_one(
        &sp("workaround_hours_degraded"),
        s.workaround_hours_degraded,
    );
    c.opt_at_least_one(
        &sp("start_work_within_working_days"),
        s.start_work_within_working_days,
    );
    for (code_key, code, needs_key, needs) in [
        (
            "max_silence_violation",
            &s.max_silence_violation,
            "max_silence_minutes",
            s.max_silence_minutes.is_some(),
        ),
        (
            "complaint_breach_violation",
            &s.complaint_breach_violation,
            "complaint_response_minutes",
            s.complaint_response_minutes.is_some(),
        ),
        (
            "start_work_violation",
            &s.start_work_violation,
            "start_work_within_working_days",
            s.start_work_within_working_days.is_some(),
        ),
    ] {
        refer(&mut c, sp(code_key), code.as_deref());
        c.paired(
            &sp(code_key),
            code.is_some(),
            &format!("support.{needs_key}"),
            needs,
        );
    }
    if let Some(u) = &s.unreachable {
        let up = |k: &str| path(&["support", "unreachable", k]);
        c.opt_at_least_one(&up("operator_contact_hours"), u.operator_contact_hours);
        c.opt_at_least_one(&up("buyer_evidence_hours"), u.buyer_evidence_hours);
        c.opt_at_least_one(&up("failed_operator_contacts"), u.failed_operator_contacts);
        refer(&mut c, up("violation"), u.violation.as_deref());
    }

    // Refunds.
    let r = &m.refunds;
    let cats = path(&["refunds", "category"]);
    let mut seen = BTreeSet::new();
    for (i, cat) in r.category.iter().enumerate() {
        let at = cats.index(i);
        if !seen.insert(cat.category) {
            c.fail(
                &at.key("category"),
                format!("{:?} is listed twice", cat.category),
            );
        }
        if let RefundWindow::DaysFromPurchase(days) = cat.window {
            c.at_least_one(&at.key("window").key("days_from_purchase"), days);
        }
        let no_window = cat.window == RefundWindow::NoWindow;
        if no_window == cat.refundable {
            let msg = if cat.refundable {
                "a refundable category needs a window (days_from_purchase or until_acceptance)"
            } else {
                "a category that cannot be refunded has window = \"none\""
            };
            c.fail(&at.key("window"), msg);
        }
        c.non_blank(&at.key("source"), &cat.source);
    }
    for category in ProductCategory::ALL {
        if !seen.contains(&category) {
            c.fail(&cats, format!("no entry for category {category:?}"));
        }
    }
    c.non_empty(&path(&["refunds", "dispute_grounds"]), &r.dispute_grounds);
    c.unique(
        &path(&["refunds", "operator_direct_reasons"]),
        &r.operator_direct_reasons,
    );
    c.unique(&path(&["refunds", "buyer_reasons"]), &r.buyer_reasons);
    c.non_empty(
        &path(&["refunds", "on_behalf_paid_from"]),
        &r.on_behalf_paid_from,
    );
    c.unique(
        &path(&["refunds", "on_behalf_paid_from"]),
        &r.on_behalf_paid_from,
    );
    if let Some(rc) = &r.rate_check {
        let at = |k: &str| path(&["refunds", "rate_check", k]);
        c.positive_rate(&at("threshold"), rc.threshold);
        c.at_least_one(&at("window_days"), rc.window_days);
        c.at_least_one(&at("improve_within_days"), rc.improve_within_days);
        c.non_empty(&at("product_reasons"), &rc.product_reasons);
        c.unique(&at("product_reasons"), &rc.product_reasons);
    }

    // Deposit.
    let d = &m.deposit;
    let dp = |k: &str| path(&["deposit", k]);
    c.positive_fen(&dp("required_amount"), d.required_amount);
    c.at_least_one(&dp("top_up_working_days"), d.top_up_working_days);
    c.non_empty(&dp("on_not_topped_up"), &d.on_not_topped_up);
    c.unique(&dp("on_not_topped_up"), &d.on_not_topped_up);
    c.opt_at_least_one(&dp("refund_working_days"), d.refund_working_days);
    if let Some(sur) = &d.surcharge {
        let at = |k: &str| path(&["deposit", "surcharge", k]);
        c.at_least_one(&at("window_months"), sur.window_months);
        c.positive_fen(&at("amount"), sur.amount);
        c.at_least_one(&at("for_months"), sur.for_months);
    }

    // Points.
    if let Some(p) = &m.points {
        c.at_least_one(
            &path(&["points", "expulsion_threshold"]),
            p.expulsion_threshold,
        );
    }

    // Penalties.
    c.unique(
        &path(&["penalties", "extra_measures"]),
        &m.penalties.extra_measures,
    );

    // Visibility.
    let v = &m.visibility;
    let vp = |k: &str| path(&["visibility", k]);
    c.opt_at_least_one(&vp("zero_sales_months"), v.zero_sales_months);
    c.paired(
        &vp("zero_sales_months"),
        v.zero_sales_months.is_some(),
        "visibility.zero_sales_action",
        v.zero_sales_action.is_some(),
    );
    c.paired(
        &vp("zero_sales_action"),
        v.zero_sales_action.is_some(),
        "visibility.zero_sales_months",
        v.zero_sales_months.is_some(),
    );
    rating_scale(&mut c, &vp("rating_scale"), &v.rating_scale);
    if let Some(min) = v.min_average_rating
        && (min <= v.rating_scale.min || min > v.rating_scale.max)
    {
        c.fail(
            &vp("min_average_rating"),
            format!(
                "must lie above the scale's minimum {} and at most its maximum {}, got {min}",
                v.rating_scale.min, v.rating_scale.max
            ),
        );
    }
    c.opt_at_least_one(&vp("min_ratings_for_average"), v.min_ratings_for_average);
    let rated = v.min_average_rating.is_some();
    c.paired(
        &vp("min_average_rating"),
        rated,
        "visibility.min_ratings_for_average and visibility.low_rating_action",
        v.min_ratings_for_average.is_some() && v.low_rating_action.is_some(),
    );
    if let Some(saas) = &v.saas_delivery_failure {
        let at = |k: &str| path(&["visibility", "saas_delivery_failure", k]);
        c.at_least_one(
            &at("hide_all_saas_after_days"),
            saas.hide_all_saas_after_days,
        );
        if saas.delist_all_saas_after_days <= saas.hide_all_saas_after_days {
            c.fail(
                &at("delist_all_saas_after_days"),
                format!(
                    "must be later than hide_all_saas_after_days ({}), got {}",
                    saas.hide_all_saas_after_days, saas.delist_all_saas_after_days
                ),
            );
        }
    }

    // Listing.
    let l = &m.listing;
    let lp = |k: &str| path(&["listing", k]);
    c.non_empty(&lp("required_fields"), &l.required_fields);
    c.unique(&lp("required_fields"), &l.required_fields);
    c.non_empty(&lp("brand"), &l.brand);
    for (i, b) in l.brand.iter().enumerate() {
        c.non_blank(&lp("brand").index(i).key("name"), &b.name);
        for (j, variant) in b.variants.iter().enumerate() {
            c.non_blank(&lp("brand").index(i).key("variants").index(j), variant);
        }
    }
    refer(&mut c, lp("brand_violation"), Some(&l.brand_violation));
    for (key, words) in [
        ("absolute_claim_words", &l.absolute_claim_words),
        ("affiliation_phrases", &l.affiliation_phrases),
    ] {
        for (i, w) in words.iter().enumerate() {
            c.non_blank(&lp(key).index(i), w);
        }
        c.unique(&lp(key), words);
    }
    c.non_empty(&lp("prohibited_content"), &l.prohibited_content);
    c.unique(&lp("prohibited_content"), &l.prohibited_content);

    // Invoices, settlement.
    c.opt_at_least_one(
        &path(&["invoices", "issue_within_days"]),
        m.invoices.issue_within_days,
    );
    if let Some(above) = m.invoices.free_postage_above {
        c.positive_fen(&path(&["invoices", "free_postage_above"]), above);
    }
    c.non_empty(
        &path(&["settlement", "fee_models"]),
        &m.settlement.fee_models,
    );
    c.unique(
        &path(&["settlement", "fee_models"]),
        &m.settlement.fee_models,
    );
    if !(1..=28).contains(&m.settlement.period_start_day) {
        c.fail(
            &path(&["settlement", "period_start_day"]),
            "must be a day between 1 and 28, so that every month has it",
        );
    }

    procedure(&mut c, &m.procedure);

    // Expulsion.
    let e = &m.expulsion;
    let ep = |k: &str| path(&["expulsion", k]);
    c.non_empty(&ep("grounds"), &e.grounds);
    c.unique(&ep("grounds"), &e.grounds);
    let low_deployment = e
        .grounds
        .contains(&ExpulsionGround::LowOperatorCloudDeployment);
    if let Some(rate) = e.min_operator_cloud_deployment {
        c.positive_rate(&ep("min_operator_cloud_deployment"), rate);
    }
    c.paired(
        &ep("grounds"),
        low_deployment,
        "expulsion.min_operator_cloud_deployment and expulsion.deployment_year_start",
        e.min_operator_cloud_deployment.is_some() && e.deployment_year_start.is_some(),
    );
    c.paired(
        &ep("min_operator_cloud_deployment"),
        e.min_operator_cloud_deployment.is_some(),
        "the low_operator_cloud_deployment ground in expulsion.grounds",
        low_deployment,
    );
    if e.grounds.contains(&ExpulsionGround::PointsThreshold) && m.points.is_none() {
        c.fail(&ep("grounds"), "points_threshold needs a [points] section");
    }

    // Exit, data protection.
    let x = &m.exit;
    let xp = |k: &str| path(&["exit", k]);
    c.opt_at_least_one(
        &xp("voluntary_closure_notice_days"),
        x.voluntary_closure_notice_days,
    );
    c.opt_at_least_one(
        &xp("operator_termination_notice_days"),
        x.operator_termination_notice_days,
    );
    c.opt_at_least_one(
        &xp("unsigned_renewal_extension_months"),
        x.unsigned_renewal_extension_months,
    );
    c.opt_at_least_one(
        &xp("store_transfer_liability_years"),
        x.store_transfer_liability_years,
    );
    if let Some(damages) = m.data_protection.confidentiality_damages {
        c.positive_fen(
            &path(&["data_protection", "confidentiality_damages"]),
            damages,
        );
    }

    c.errors
}

/// Checks the rows and returns the set of codes they define.
fn violation_table(c: &mut Check, m: &MarketplaceRulebook) -> BTreeSet<String> {
    let prefix = format!("{}-", m.rulebook.code_prefix);
    let table = path(&["violation"]);
    c.non_empty(&table, &m.violation);
    let mut codes = BTreeSet::new();
    let with_level = m.violation.iter().filter(|r| r.level.is_some()).count();
    for (i, row) in m.violation.iter().enumerate() {
        let at = table.index(i);
        let well_formed = row.code.strip_prefix(&prefix).is_some_and(|rest| {
            let mut chars = rest.chars();
            let group = chars.next().is_some_and(|g| g.is_ascii_uppercase());
            let number = chars.as_str();
            group
                && !number.is_empty()
                && !number.starts_with('0')
                && number.bytes().all(|b| b.is_ascii_digit())
        });
        if !well_formed {
            c.fail(
                &at.key("code"),
                format!("must look like {prefix}B1 (this rulebook's prefix, a group letter, a number), got {:?}", row.code),
            );
        }
        if !codes.insert(row.code.clone()) {
            c.fail(
                &at.key("code"),
                format!("{:?} is used by an earlier row", row.code),
            );
        }
        c.non_blank(&at.key("title_zh"), &row.title_zh);
        c.non_blank(&at.key("title_en"), &row.title_en);
        c.non_blank(&at.key("source"), &row.source);
        match (&m.points, row.points) {
            // A zero threshold is reported once, at the threshold, not again on every row.
            (Some(p), Some(points)) if p.expulsion_threshold > 0 => {
                if points == 0 || points > p.expulsion_threshold {
                    c.fail(
                        &at.key("points"),
                        format!(
                            "must be between 1 and the expulsion threshold {}, got {points}",
                            p.expulsion_threshold
                        ),
                    );
                }
            }
            (Some(_), Some(_)) => {}
            (Some(_), None) => c.fail(&at, "needs points: this rulebook has a [points] section"),
            (None, Some(_)) => c.fail(
                &at.key("points"),
                "this rulebook has no [points] section, so rows carry no points",
            ),
            (None, None) => {}
        }
        match row.action {
            Action::Freeze(days) => {
                c.at_least_one(&at.key("action").key("freeze_days"), days);
                if m.penalties.freeze_scope.is_none() {
                    c.fail(&at.key("action"), "a freeze needs penalties.freeze_scope");
                }
            }
            Action::BlockAndRestrict(days) => {
                c.at_least_one(&at.key("action").key("block_and_restrict_days"), days)
            }
            Action::NoAction | Action::HideAndDelist | Action::Expel | Action::PermanentBan => {}
        }
        if let DepositDeduction::Fixed(amount) = row.deposit {
            c.positive_fen(&at.key("deposit"), amount);
        }
        if with_level > 0 && row.level.is_none() {
            c.fail(&at, "needs a level: other rows of this table have one");
        }
    }
    codes
}

// ---------------------------------------------------------------------------------------------

pub(super) fn partner(p: &PartnerRulebook, source: &TomlSource<'_>) -> Vec<SourceError> {
    let mut c = Check {
        source,
        errors: Vec::new(),
    };
    identity(&mut c, &p.rulebook);
    c.unique(&path(&["categories"]), &p.categories);

    // Tiers.
    let tiers = path(&["tier"]);
    c.non_empty(&tiers, &p.tier);
    let listed: Vec<Tier> = p.tier.iter().map(|t| t.tier).collect();
    c.unique(&tiers, &listed);
    for (i, t) in p.tier.iter().enumerate() {
        let at = tiers.index(i);
        c.non_negative_fen(
            &at.key("rebate_monthly_threshold"),
            t.rebate_monthly_threshold,
        );
        if t.rebate_only != (t.tier == Tier::Marketplace) {
            c.fail(
                &at.key("rebate_only"),
                "only the marketplace tier is a rebate-only tier (PA-17 5.1.1)",
            );
        }
    }

    // Entry criteria and deposit.
    let e = &p.entry;
    let en = |k: &str| path(&["entry", k]);
    c.positive_fen(&en("registered_capital_min"), e.registered_capital_min);
    c.at_least_one(&en("staff_min"), e.staff_min);
    if e.technical_staff_min > e.staff_min {
        c.fail(
            &en("technical_staff_min"),
            format!("cannot exceed staff_min ({})", e.staff_min),
        );
    }
    c.positive_fen(&en("credit_deposit_min"), e.credit_deposit_min);
    c.non_empty(&en("business_types"), &e.business_types);
    c.unique(&en("business_types"), &e.business_types);
    c.at_least_one(
        &en("contact_within_working_days"),
        e.contact_within_working_days,
    );
    let d = &p.deposit;
    let dp = |k: &str| path(&["deposit", k]);
    c.positive_fen(&dp("amount"), d.amount);
    if d.amount < e.credit_deposit_min {
        c.fail(
            &dp("amount"),
            format!(
                "is below entry.credit_deposit_min ({})",
                e.credit_deposit_min
            ),
        );
    }
    c.at_least_one(&dp("pay_within_working_days"), d.pay_within_working_days);
    c.at_least_one(&dp("top_up_working_days"), d.top_up_working_days);
    c.at_least_one(&dp("refund_within_days"), d.refund_within_days);

    // Accounts, unlinking.
    c.non_empty(
        &path(&["accounts", "account_types"]),
        &p.accounts.account_types,
    );
    c.unique(
        &path(&["accounts", "account_types"]),
        &p.accounts.account_types,
    );
    c.opt_at_least_one(
        &path(&["accounts", "order_submission_days"]),
        p.accounts.order_submission_days,
    );
    c.at_least_one(
        &path(&["unlinking", "resolve_within_working_days"]),
        p.unlinking.resolve_within_working_days,
    );

    // Assessment.
    let a = &p.assessment;
    let ap = |k: &str| path(&["assessment", k]);
    for (i, month) in a.quarterly_months.iter().enumerate() {
        if !(1..=12).contains(month) {
            c.fail(
                &ap("quarterly_months").index(i),
                format!("not a month: {month}"),
            );
        }
    }
    c.unique(&ap("quarterly_months"), &a.quarterly_months);
    c.non_empty(&ap("quarterly_months"), &a.quarterly_months);
    if !(1..=12).contains(&a.annual_month) {
        c.fail(
            &ap("annual_month"),
            format!("not a month: {}", a.annual_month),
        );
    }
    if let Some(cats) = &a.quarterly_for {
        c.non_empty(&ap("quarterly_for"), cats);
        for (i, cat) in cats.iter().enumerate() {
            if !p.categories.contains(cat) {
                c.fail(
                    &ap("quarterly_for").index(i),
                    format!("{cat:?} is not in this rulebook's categories"),
                );
            }
        }
    }
    c.opt_at_least_one(
        &ap("consecutive_failed_quarters_to_remove"),
        a.consecutive_failed_quarters_to_remove,
    );
    c.opt_at_least_one(
        &ap("certification_review_months"),
        a.certification_review_months,
    );

    // Rebate cycle.
    let r = &p.rebate;
    let rp = |k: &str| path(&["rebate", k]);
    for (key, day) in [
        ("compute_day", r.compute_day),
        ("notify_by_day", r.notify_by_day),
        ("pay_by_day", r.pay_by_day),
    ] {
        if !(1..=28).contains(&day) {
            c.fail(
                &rp(key),
                format!("must be a day 1–28 that every month has, got {day}"),
            );
        }
    }
    if r.notify_by_day <= r.compute_day {
        c.fail(&rp("notify_by_day"), "must come after compute_day");
    }
    if r.pay_by_day <= r.notify_by_day {
        c.fail(&rp("pay_by_day"), "must come after notify_by_day");
    }
    c.at_least_one(
        &rp("invoice_within_working_days"),
        r.invoice_within_working_days,
    );

    if let Some(city) = &p.city_providers {
        let at = |k: &str| path(&["city_providers", k]);
        c.at_least_one(
            &at("own_unlink_notice_months"),
            city.own_unlink_notice_months,
        );
        c.non_empty(&at("unlink_grounds"), &city.unlink_grounds);
        c.unique(&at("unlink_grounds"), &city.unlink_grounds);
    }

    procedure(&mut c, &p.procedure);
    classes(&mut c, p);

    // Fines.
    let f = &p.fines;
    c.non_empty(&path(&["fines", "deduction_order"]), &f.deduction_order);
    c.unique(&path(&["fines", "deduction_order"]), &f.deduction_order);
    if let Some(late) = &f.late_fee {
        let at = |k: &str| path(&["fines", "late_fee", k]);
        c.at_least_one(&at("after_months"), late.after_months);
        c.positive_rate(&at("daily_rate"), late.daily_rate);
        c.unique(&at("measures"), &late.measures);
    }

    // Exit, integrity.
    c.at_least_one(
        &path(&["exit", "voluntary_notice_months"]),
        p.exit.voluntary_notice_months,
    );
    c.opt_at_least_one(
        &path(&["exit", "early_termination_notice_days"]),
        p.exit.early_termination_notice_days,
    );
    if let Some(i) = &p.integrity {
        c.positive_rate(
            &path(&["integrity", "bribery_damages_share"]),
            i.bribery_damages_share,
        );
    }

    behaviours(&mut c, p);
    c.errors
}

fn restrictions<T: PartialEq + Debug>(
    c: &mut Check,
    at: &KeyPath,
    months: Option<u32>,
    list: &[T],
) {
    c.opt_at_least_one(&at.key("restriction_months"), months);
    c.unique(&at.key("restrictions"), list);
    if months.is_some() && list.is_empty() {
        c.fail(
            &at.key("restrictions"),
            "restriction_months is set, so list what is restricted",
        );
    }
    if months.is_none() && !list.is_empty() {
        c.fail(
            &at.key("restriction_months"),
            "restrictions are listed, so say for how many months",
        );
    }
}

fn classes(c: &mut Check, p: &PartnerRulebook) {
    let k = &p.classes;
    let c1p = path(&["classes", "class1"]);
    let c1 = &k.class1;
    if c1.fine_fixed.is_none()
        && c1.fine_share_of_fiscal_year_fees.is_none()
        && c1.fine_as_class2_through.is_none()
    {
        c.fail(
            &c1p,
            "needs a fine: fine_fixed, fine_share_of_fiscal_year_fees or fine_as_class2_through",
        );
    }
    if let Some(fixed) = c1.fine_fixed {
        c.positive_fen(&c1p.key("fine_fixed"), fixed);
    }
    if let Some(share) = c1.fine_share_of_fiscal_year_fees {
        c.positive_rate(&c1p.key("fine_share_of_fiscal_year_fees"), share);
    }
    if let Some(through) = c1.fine_as_class2_through {
        let max = k.class2.fines.len();
        if through == 0 || usize::try_from(through).map_or(true, |t| t > max) {
            c.fail(
                &c1p.key("fine_as_class2_through"),
                format!("must be between 1 and the number of class-2 fines ({max}), got {through}"),
            );
        }
    }
    restrictions(c, &c1p, c1.restriction_months, &c1.restrictions);

    let c2p = path(&["classes", "class2"]);
    let c2 = &k.class2;
    c.at_least_one(&c2p.key("validity_months"), c2.validity_months);
    c.non_empty(&c2p.key("fines"), &c2.fines);
    for (i, fine) in c2.fines.iter().enumerate() {
        let at = c2p.key("fines").index(i);
        c.positive_fen(&at, *fine);
        if let Some(before) = i.checked_sub(1).and_then(|j| c2.fines.get(j))
            && fine <= before
        {
            c.fail(
                &at,
                format!("fines must escalate: {fine} is not above the previous fine {before}"),
            );
        }
    }
    let expected = u32::try_from(c2.fines.len()).map_or(u32::MAX, |n| n.saturating_add(1));
    if c2.escalate_at_count != expected {
        c.fail(
            &c2p.key("escalate_at_count"),
            format!(
                "must be one more than the number of fines ({expected}), got {}",
                c2.escalate_at_count
            ),
        );
    }
    if c2.escalates_to == Escalation::Class2 {
        c.fail(
            &c2p.key("escalates_to"),
            "class 2 escalates to class1 or termination",
        );
    }
    restrictions(c, &c2p, c2.restriction_months, &c2.restrictions);

    if let Some(c3) = &k.class3 {
        let c3p = path(&["classes", "class3"]);
        c.at_least_one(&c3p.key("validity_months"), c3.validity_months);
        if c3.escalate_at_count < 2 {
            c.fail(&c3p.key("escalate_at_count"), "must be at least 2");
        }
        c.at_least_one(
            &c3p.key("escalation_window_months"),
            c3.escalation_window_months,
        );
        if c3.escalates_to != Escalation::Class2 {
            c.fail(&c3p.key("escalates_to"), "class 3 escalates to class2");
        }
        restrictions(c, &c3p, Some(c3.restriction_months), &c3.restrictions);
    }
}

fn behaviours(c: &mut Check, p: &PartnerRulebook) {
    let prefix = &p.rulebook.code_prefix;
    let list = path(&["behaviour"]);
    c.non_empty(&list, &p.behaviour);
    let mut codes = BTreeSet::new();
    for (i, b) in p.behaviour.iter().enumerate() {
        let at = list.index(i);
        let class_exists = match b.class {
            1 | 2 => true,
            3 => p.classes.class3.is_some(),
            _ => false,
        };
        if !class_exists {
            c.fail(
                &at.key("class"),
                format!("this rulebook has no class {}", b.class),
            );
        }
        let well_formed = b
            .code
            .strip_prefix(&format!("{prefix}-{}-", b.class))
            .is_some_and(|n| n.len() == 2 && n.bytes().all(|d| d.is_ascii_digit()) && n != "00");
        if !well_formed {
            c.fail(
                &at.key("code"),
                format!(
                    "must look like {prefix}-{}-01 (prefix, the class, a two-digit number), got {:?}",
                    b.class, b.code
                ),
            );
        }
        if !codes.insert(b.code.as_str()) {
            c.fail(
                &at.key("code"),
                format!("{:?} is used by an earlier entry", b.code),
            );
        }
        c.non_blank(&at.key("title_zh"), &b.title_zh);
        c.non_blank(&at.key("title_en"), &b.title_en);
        c.non_blank(&at.key("source"), &b.source);
    }
}

#[cfg(test)]
mod tests {
    //! Broken copies of the builtin files must fail naming file, line and key.
    use crate::rulebook::{Rulebook, RulebookError};
    use crate::source::SourceError;

    const ALI: &str = include_str!("../../../../rulebooks/ali-2020.toml");
    const TC: &str = include_str!("../../../../rulebooks/tc-2017.toml");
    const PA22: &str = include_str!("../../../../rulebooks/partner-fy22.toml");

    fn errors(file: &str, text: &str) -> Vec<SourceError> {
        match Rulebook::parse(file, text) {
            Ok(_) => panic!("{file} should not load"),
            Err(RulebookError::Invalid(errors)) => errors,
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    /// Replaces `old` on the first line starting with it (after indentation) at or after the
    /// one line containing `anchor`; returns the new text and that line's 1-based number.
    fn edit(text: &str, anchor: &str, old: &str, new: &str) -> (String, usize) {
        let lines: Vec<&str> = text.lines().collect();
        let anchors: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains(anchor))
            .collect();
        assert_eq!(anchors.len(), 1, "{anchor:?} should be on exactly one line");
        let hit = (anchors[0]..lines.len())
            .find(|&i| lines[i].trim_start().starts_with(old))
            .unwrap_or_else(|| panic!("no line starting with {old:?} after {anchor:?}"));
        let out: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == hit {
                    l.replacen(old, new, 1)
                } else {
                    l.to_string()
                }
            })
            .collect();
        (out.join("\n"), hit + 1)
    }

    fn the_only(errors: Vec<SourceError>) -> SourceError {
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.into_iter().next().unwrap()
    }

    #[test]
    fn the_builtin_files_validate() {
        for (file, text) in [("ali-2020.toml", ALI), ("tc-2017.toml", TC), ("fy22", PA22)] {
            if let Err(e) = Rulebook::parse(file, text) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn a_misspelt_key_fails_naming_the_key_and_the_line() {
        let (text, line) = edit(ALI, "[deposit]", "refund_working_days =", "refund_windw =");
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(
            (err.file.as_str(), err.line),
            ("ali-2020.toml", line),
            "{err}"
        );
        assert!(err.key.starts_with("deposit"), "{err}");
        assert!(err.message.contains("refund_windw"), "{err}");
    }

    #[test]
    fn a_negative_refund_window_fails_naming_the_key_and_the_line() {
        let (text, line) = edit(
            ALI,
            "category = \"application\"",
            "window = { days_from_purchase = 5 }",
            "window = { days_from_purchase = -5 }",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(err.line, line, "{err}");
        assert_eq!(
            err.key, "refunds.category[0].window.days_from_purchase",
            "{err}"
        );
    }

    #[test]
    fn a_zero_refund_window_fails_naming_the_key_and_the_line() {
        let (text, line) = edit(
            ALI,
            "category = \"application\"",
            "window = { days_from_purchase = 5 }",
            "window = { days_from_purchase = 0 }",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(err.line, line, "{err}");
        assert_eq!(
            err.key, "refunds.category[0].window.days_from_purchase",
            "{err}"
        );
        assert!(err.message.contains("at least 1"), "{err}");
    }

    #[test]
    fn a_points_threshold_of_zero_fails() {
        let (text, line) = edit(
            ALI,
            "[points]",
            "expulsion_threshold = 24",
            "expulsion_threshold = 0",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("points.expulsion_threshold", line),
            "{err}"
        );
    }

    #[test]
    fn points_above_the_threshold_fail() {
        let (text, line) = edit(ALI, "code = \"ALI-B1\"", "points = 12", "points = 25");
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("violation[0].points", line),
            "{err}"
        );
    }

    #[test]
    fn class2_fines_out_of_order_fail() {
        let (text, line) = edit(
            PA22,
            "[classes.class2]",
            "fines = [\"5000.00\", \"10000.00\", \"50000.00\"]",
            "fines = [\"5000.00\", \"50000.00\", \"10000.00\"]",
        );
        let err = the_only(errors("partner-fy22.toml", &text));
        assert_eq!(err.key, "classes.class2.fines[2]", "{err}");
        assert_eq!(err.line, line, "{err}");
        assert!(err.message.contains("escalate"), "{err}");
    }

    #[test]
    fn an_unknown_violation_code_as_complaint_breach_code_fails() {
        let (text, line) = edit(
            ALI,
            "[support]",
            "complaint_breach_violation = \"ALI-S2\"",
            "complaint_breach_violation = \"ALI-S99\"",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("support.complaint_breach_violation", line),
            "{err}"
        );
        assert!(err.message.contains("ALI-S99"), "{err}");
    }

    #[test]
    fn duplicate_or_foreign_violation_codes_fail() {
        let (text, _) = edit(
            ALI,
            "code = \"ALI-B2\"",
            "code = \"ALI-B2\"",
            "code = \"ALI-B1\"",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(err.key, "violation[1].code", "{err}");
        let (text, _) = edit(
            ALI,
            "code = \"ALI-B2\"",
            "code = \"ALI-B2\"",
            "code = \"JD-B2\"",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert!(err.message.contains("ALI-B1"), "{err}");
    }

    #[test]
    fn a_missing_effective_date_fails() {
        let (text, _) = edit(
            ALI,
            "[rulebook]",
            "effective_from = 2020-04-01",
            "# no date",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(err.key, "rulebook", "{err}");
        assert!(err.message.contains("effective_from"), "{err}");
    }

    #[test]
    fn an_impossible_year_start_fails_at_parse() {
        let (text, line) = edit(
            ALI,
            "[points]",
            "year_start = \"04-01\"",
            "year_start = \"02-30\"",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("points.year_start", line),
            "{err}"
        );
    }

    #[test]
    fn a_rate_above_one_hundred_percent_fails_at_parse() {
        let (text, line) = edit(
            TC,
            "[refunds.rate_check]",
            "threshold = \"1%\"",
            "threshold = \"101%\"",
        );
        let err = the_only(errors("tc-2017.toml", &text));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("refunds.rate_check.threshold", line),
            "{err}"
        );
    }

    #[test]
    fn points_in_a_rulebook_without_points_fail() {
        let (text, line) = edit(
            TC,
            "code = \"TC-G1\"",
            "code = \"TC-G1\"",
            "code = \"TC-G1\"\npoints = 3",
        );
        let err = the_only(errors("tc-2017.toml", &text));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("violation[0].points", line + 1),
            "{err}"
        );
    }

    #[test]
    fn a_non_refundable_category_with_a_window_fails() {
        let (text, line) = edit(
            ALI,
            "category = \"api\"",
            "window = \"none\"",
            "window = { days_from_purchase = 5 }",
        );
        let err = the_only(errors("ali-2020.toml", &text));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("refunds.category[3].window", line),
            "{err}"
        );
    }

    #[test]
    fn several_problems_are_all_reported() {
        let (text, _) = edit(
            ALI,
            "[deposit]",
            "top_up_working_days = 3",
            "top_up_working_days = 0",
        );
        let (text, _) = edit(
            &text,
            "[onboarding]",
            "material_change_report_days = 30",
            "material_change_report_days = 0",
        );
        let errs = errors("ali-2020.toml", &text);
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "onboarding.material_change_report_days",
                "deposit.top_up_working_days"
            ],
            "{errs:#?}"
        );
    }

    #[test]
    fn a_behaviour_of_a_class_the_rulebook_lacks_fails() {
        const PA17: &str = include_str!("../../../../rulebooks/partner-2017.toml");
        let (text, line) = edit(
            PA17,
            "code = \"PA17-1-01\"",
            "code = \"PA17-1-01\"",
            "code = \"PA17-3-01\"",
        );
        let (text, _) = edit(&text, "code = \"PA17-3-01\"", "class = 1", "class = 3");
        let err = the_only(errors("partner-2017.toml", &text));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("behaviour[0].class", line + 1),
            "{err}"
        );
    }
}
