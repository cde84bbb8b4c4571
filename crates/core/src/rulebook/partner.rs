//! A partner-programme rulebook (合作伙伴框架协议 + 管理规范): PA 2017 and PA FY22. Field docs
//! cite the clause each parameter comes from; the values live in `rulebooks/partner-*.toml`.

use serde::{Deserialize, Serialize};

use super::Identity;
use super::common::{DeductionSource, Procedure};
use crate::money::Fen;
use crate::rate::{Rate, Rounding};

/// One version of the partner programme rules.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerRulebook {
    /// Identity, version and effective date.
    pub rulebook: Identity,
    /// Partner categories (PA-22 2.1); empty when the version has none (PA-17).
    #[serde(default)]
    pub categories: Vec<PartnerCategory>,
    /// Tiers (PA-17 2.1) and the rebate tier list (PA-17 5.1.1).
    pub tier: Vec<TierEntry>,
    /// Entry criteria (PA-17 2.1–2.2).
    pub entry: EntryCriteria,
    /// The credit deposit (PA-17 agreement 3.5).
    pub deposit: PartnerDeposit,
    /// Partner accounts, customer links and sales conduct (PA-17 agreement 3.4, 4.2; rules 3.5).
    pub accounts: Accounts,
    /// A customer unlinking from its partner (PA-17 agreement 4.3.1.6, 4.3.2).
    pub unlinking: Unlinking,
    /// Assessments and tier adjustment (PA-17 4.2, 7.1.1; PA-22 3.1).
    pub assessment: Assessment,
    /// The monthly service fee / rebate cycle (PA-17 5).
    pub rebate: Rebate,
    /// City service providers (PA-17 addendum); absent when the version has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city_providers: Option<CityProviders>,
    /// Steps of a violation case (PA-22 5.4–5.5; PA-17 6.4).
    pub procedure: Procedure,
    /// Violation classes and their fines (PA-22 5.3.2; PA-17 6.1–6.2).
    pub classes: ViolationClasses,
    /// How fines are collected (PA-22 5.4.4, 5.6; PA-17 6.3, 6.4.2).
    pub fines: Fines,
    /// Exit (PA-17 7; PA-22 6).
    pub exit: PartnerExit,
    /// The integrity pledge (PA-17 诚信特别约定); absent when the version has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<Integrity>,
    /// The behaviour catalogue: each violation the rules list, coded, with its class.
    pub behaviour: Vec<Behaviour>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerCategory {
    /// 咨询和销售伙伴 (PA-22 2.1.1).
    ConsultingSales,
    /// 产品和解决方案伙伴: ISV/OEM, SI, SaaS/PaaS (PA-22 2.1.2).
    ProductSolution,
    /// 服务伙伴: MSP (PA-22 2.1.3).
    Service,
    /// 云市场服务商 (PA-22 2.1, last paragraph).
    MarketplaceProvider,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 钻石合作伙伴.
    Diamond,
    /// 铂金合作伙伴.
    Platinum,
    /// 金牌合作伙伴.
    Gold,
    /// 银牌合作伙伴.
    Silver,
    /// 标准合作伙伴.
    Standard,
    /// 云市场 — a rebate tier only (PA-17 5.1.1).
    Marketplace,
}

/// One tier and its rebate threshold.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TierEntry {
    /// The tier (PA-17 2.1; 5.1.1 adds the marketplace rebate tier).
    pub tier: Tier,
    /// Name in Chinese (PA-17 2.1).
    pub name_zh: String,
    /// Name in English.
    pub name_en: String,
    /// A rebate tier only, not a programme tier (PA-17 5.1.1: 云市场).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rebate_only: bool,
    /// Paid cash consumption a month must reach for a fee to accrue (PA-17 5.1.1) —
    /// **[design assumption]**: the seeds give no figures (the level tables of PA-17 2.1 are
    /// missing; 5.1.2 defers to announcements).
    pub rebate_monthly_threshold: Fen,
    /// Service fee as a share of that month's paid cash consumption — **[design assumption]**,
    /// as above.
    pub rebate_rate: Rate,
}

/// Entry criteria (PA-17 2.1 申请加入的资格和条件, 2.2 申请加入的步骤).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EntryCriteria {
    /// Minimum registered capital (注册资本人民币50万元以上, "以上" includes the figure).
    pub registered_capital_min: Fen,
    /// Minimum staff (公司人数10人以上).
    pub staff_min: u32,
    /// Minimum technical staff (3人以上技术团队).
    pub technical_staff_min: u32,
    /// Minimum new cloud customers per quarter (每季度新增云用户数10个以上).
    pub new_customers_per_quarter_min: u32,
    /// Minimum credit deposit (信用保证金人民币5000元以上).
    pub credit_deposit_min: Fen,
    /// Business the applicant must be in.
    pub business_types: Vec<BusinessType>,
    /// A technical validation report is required (PA-17 2.2).
    pub technical_validation_report: bool,
    /// Working days within which the partner team contacts the applicant (PA-17 2.2: 3).
    pub contact_within_working_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessType {
    /// 互联网基础服务.
    InternetServices,
    /// 系统集成.
    SystemIntegration,
    /// 软件开发.
    SoftwareDevelopment,
    /// 企业IT服务.
    ItServices,
}

/// The credit deposit (PA-17 agreement 3.5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerDeposit {
    /// Amount (3.5.1: 5000 元).
    pub amount: Fen,
    /// Working days after signing to pay it in one sum (3.5.1: 5).
    pub pay_within_working_days: u32,
    /// Working days after a deduction notice to top up (3.5.3: 5).
    pub top_up_working_days: u32,
    /// Not topped up in time → taken from service fees and rebates due (3.5.3).
    pub shortfall_from_fees_and_rebates: bool,
    /// Days after the term ends to refund, without interest (3.5.4: 一周之内 → 7).
    pub refund_within_days: u32,
    /// Refunded only if there was no breach during the term (3.5.4).
    pub refund_requires_clean_record: bool,
}

/// Partner accounts and sales conduct (PA-17 agreement 3.4, 4.2.3–4.2.4; rules 3.5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// Types of linked partner-user accounts (3.4.3: 代理 agency, 代销 resale).
    pub account_types: Vec<AccountType>,
    /// All consumption of linked accounts counts toward the partner (agreement 2.1.6).
    pub linked_consumption_counts: bool,
    /// The operator's statistics are the only basis for tier, rebate and incentives
    /// (agreement 3.4.1.3, PA-22 7.1).
    pub operator_statistics_authoritative: bool,
    /// Second-tier distribution is allowed (3.4.1.4: no).
    pub second_tier_distribution_allowed: bool,
    /// Selling below the operator's list price is allowed (4.2.4.2, rules 3.5.3: no).
    pub below_list_price_allowed: bool,
    /// Days after payment or signing within which an order must be submitted (PA-17 6.2.5.1: 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_submission_days: Option<u32>,
    /// Tier discounts on some products apply only when bought through the partner account
    /// itself (PA-17 5.4).
    pub tier_discounts_partner_account_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// 代理: the customer's own member account; the customer pays or the partner pays for it;
    /// the customer is liable, the partner jointly (3.4.3.1, 3.4.4.1).
    Agency,
    /// 代销: depends on the partner account; money, invoices, contracts and purchases handled by
    /// the partner, who is solely liable (3.4.3.2, 3.4.4.2).
    Resale,
}

/// Customer unlinking (PA-17 agreement 4.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Unlinking {
    /// Working days the partner has to resolve a customer's written unlink request (4.3.1.6: 3).
    pub resolve_within_working_days: u32,
    /// Unresolved → the partner must dissolve the link and the operator may contract directly
    /// (4.3.2).
    pub unresolved_dissolves_link: bool,
    /// The operator may also contract directly when the partner exits with unexpired business on
    /// linked accounts, or is unreachable (4.3.1.3–4.3.1.4).
    pub direct_contract_on_exit_or_unreachable: bool,
}

/// Assessments (PA-17 4.2, 4.4, 7.1.1; PA-22 3.1.2–3.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// Months in which the quarterly assessment runs, each over the previous quarter
    /// (PA-17 4.2: 7, 10, 1; PA-22 3.1.2: 7, 10, 1, 4).
    pub quarterly_months: Vec<u8>,
    /// Month of the annual assessment (PA-17 4.2, PA-22 3.1.2: April).
    pub annual_month: u8,
    /// What the annual assessment covers (PA-17: the previous 12 months; PA-22: the previous
    /// fiscal year).
    pub annual_covers: AnnualScope,
    /// Categories assessed quarterly (PA-22 3.1.2: consulting & sales; the others annual only);
    /// absent = every partner (PA-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarterly_for: Option<Vec<PartnerCategory>>,
    /// The tier is adjusted after each assessment (PA-17 4.2, PA-22 3.1.3.1).
    pub tier_adjusted_after_each: bool,
    /// Consecutive quarters below the minimum that remove partner status (PA-17 7.1.1: 2);
    /// absent when left to the operator's discretion (PA-22 3.1.3.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failed_quarters_to_remove: Option<u32>,
    /// Months between counts of certified staff (PA-17 4.4: every half year → 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification_review_months: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnualScope {
    /// 汇总前12个月 (PA-17 4.2).
    #[serde(rename = "previous_12_months")]
    Previous12Months,
    /// 上一个财年 (PA-22 3.1.2).
    PreviousFiscalYear,
}

/// The monthly service fee / rebate cycle (PA-17 5.1–5.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rebate {
    /// Day of the month the previous calendar month's paid cash consumption is computed (5.2.1: 10).
    pub compute_day: u8,
    /// Day of the month by which the partner is notified of the amount (5.2.1: 15).
    pub notify_by_day: u8,
    /// Working days after the notice to post the invoice (5.2.2: 3).
    pub invoice_within_working_days: u32,
    /// Day of the month by which the operator pays, after a valid invoice (5.2.3: 25).
    pub pay_by_day: u8,
    /// Payment only after a valid invoice is received (5.2.3).
    pub requires_valid_invoice: bool,
    /// The 10th, 15th and 25th move to the next working day on holidays (5.2.1: 遇节假日顺延).
    pub holiday_postponement: bool,
    /// Nothing accrues after the agreement ends (5.1.5).
    pub stops_on_agreement_end: bool,
    /// Marketplace special products sold by resellers earn a commission on the same cycle
    /// (PA-17 3.4, 5.3).
    pub marketplace_commission_same_cycle: bool,
    /// Rounding of computed fees.
    pub rounding: Rounding,
}

/// City service providers (PA-17 城市服务商合作伙伴计划 addendum).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CityProviders {
    /// Exempt from the assessment clauses (1.3).
    pub exempt_from_assessment: bool,
    /// The operator pays the city provider no fee or rebate (1.3, 2.2.2–2.2.3).
    pub no_rebate: bool,
    /// Their consumption counts toward the first-level partner's performance (2.2.1).
    pub consumption_counts_for_parent: bool,
    /// The first-level partner manages them and is jointly liable (1.3, 1.4).
    pub parent_jointly_liable: bool,
    /// Months of written notice for a city provider's own unlink request (2.3.1②: 1).
    pub own_unlink_notice_months: u32,
    /// Grounds on which the link ends (2.3.1).
    pub unlink_grounds: Vec<CityUnlinkGround>,
    /// From the unlink date the city provider loses partner and city-provider status and its
    /// partner-user links are dissolved (2.3.2).
    pub unlink_ends_partner_status: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CityUnlinkGround {
    /// The first-level partner requests it and the city provider confirms (2.3.1①).
    ParentRequestConfirmed,
    /// The city provider's written notice, confirming no dispute (2.3.1②).
    OwnNotice,
    /// Either party loses partner status (2.3.1③).
    PartnerStatusLost,
    /// The operator decides so for another reasonable cause (2.3.1④).
    OperatorDecision,
}

/// Violation classes (PA-22 5.3.2 table; PA-17 6.1–6.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationClasses {
    /// Class 1, the most serious (PA-22 5.3.2.1; PA-17 6.1).
    pub class1: Class1,
    /// Class 2 (PA-22 5.3.2.2; PA-17 6.2).
    pub class2: Class2,
    /// Absent when the version has no class 3 (PA-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class3: Option<Class3>,
    /// How violations are counted — **[design assumption]** (SPEC §9 "Counting").
    pub counting: Counting,
}

/// Class 1 (一类违规): the most serious.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Class1 {
    /// Fixed fine (PA-22 5.3.2.2: 100000 元) — the higher of this and the fee share applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_fixed: Option<Fen>,
    /// Share of the service fees paid to the partner in the fiscal year (PA-22: 30%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_share_of_fiscal_year_fees: Option<Rate>,
    /// Damages on the scale of this many class-2 violations: the sum of the class-2 fines up to
    /// that count (PA-17 6.1: "参考3次及以上二类违规的违约金计算规则" → 3 → 14,000.00) —
    /// **[design assumption]** for how "on the scale of" is computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_as_class2_through: Option<u32>,
    /// Termination: immediate (PA-17 6.1) or at the operator's discretion (PA-22).
    pub termination: Termination,
    /// Notice to all partners (PA-22: 面向全体合作伙伴通报).
    pub notify_all_partners: bool,
    /// Months of restrictions from the day the penalty notice is delivered (PA-22 5.5.4–5.5.5: 1
    /// year); absent when none (PA-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction_months: Option<u32>,
    /// What is restricted (PA-22 5.5.5: no upgrade, no new onboarding, no new programme).
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
    /// Clause.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// The agreement ends when the operator's notice arrives (PA-17 6.1).
    Immediate,
    /// The operator may terminate depending on severity (PA-22 5.3.2.2).
    AtDiscretion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Restriction {
    /// 不予升级.
    NoUpgrade,
    /// 不予新入驻 (including adding partner management accounts).
    NoNewOnboarding,
    /// 不予批准加入新计划.
    NoNewProgramme,
}

/// Class 2 (二类违规).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Class2 {
    /// Months a class-2 violation stays valid, from the day the penalty announcement is issued
    /// (PA-22 5.3.2.2, PA-17 6.2: 12).
    pub validity_months: u32,
    /// Fines for the 1st, 2nd, 3rd … valid class-2 violation, strictly increasing
    /// (PA-22: 5000, 10000, 50000; PA-17: 2000, 4000, 8000).
    pub fines: Vec<Fen>,
    /// The valid class-2 count that escalates (PA-22: the 4th = one class 1; PA-17: more than 3
    /// → termination). Always one more than the number of fines.
    pub escalate_at_count: u32,
    /// What the escalation is.
    pub escalates_to: Escalation,
    /// Notice to all partners (PA-22).
    pub notify_all_partners: bool,
    /// Months of restrictions from the day the penalty notice is delivered (PA-22 5.5.6: 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction_months: Option<u32>,
    /// What is restricted (PA-22 5.5.6).
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
    /// Clause.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// Counts as one class-1 violation.
    Class1,
    /// Counts as one class-2 violation.
    Class2,
    /// The agreement is terminated (PA-17 6.2).
    Termination,
}

/// Class 3 (三类违规, PA-22 only).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Class3 {
    /// A warning (警告处分).
    pub warning: bool,
    /// Notice to all partners.
    pub notify_all_partners: bool,
    /// Months valid from the day the penalty announcement is issued (12).
    pub validity_months: u32,
    /// Class-3 violations within the window that escalate (连续12个月内累计3次 → 3).
    pub escalate_at_count: u32,
    /// The window they are counted in (12 months).
    pub escalation_window_months: u32,
    /// What they escalate to (one class 2).
    pub escalates_to: Escalation,
    /// Months of restrictions from the day the penalty notice is delivered (3).
    pub restriction_months: u32,
    /// What is restricted (no upgrade, no new onboarding, no new programme: 5.5.6).
    pub restrictions: Vec<Restriction>,
    /// Clause.
    pub source: String,
}

/// How violations are counted — **[design assumption]** (SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Counting {
    /// Only violations still valid on the new violation's date count toward escalation.
    pub only_valid_violations_count: bool,
    /// A class 2 created from class-3 violations counts as one class 2 and uses them up.
    pub escalation_consumes_lower_class: bool,
    /// The class-1 fee share is taken over the fiscal year in which the penalty notice is
    /// issued, up to that date.
    pub fee_share_up_to_notice_date: bool,
}

/// Collecting fines (PA-22 5.4.4, 5.6; PA-17 6.3, 6.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fines {
    /// Where a fine is taken from, in order (deposit → unpaid fees / prepayments → owed).
    pub deduction_order: Vec<DeductionSource>,
    /// Late fee on an unpaid fine (PA-22 5.6); absent when none (PA-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_fee: Option<LateFee>,
}

/// Late fee on an unpaid fine (PA-22 5.6).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LateFee {
    /// Months after the penalty notice is sent before the late fee starts (3).
    pub after_months: u32,
    /// Late fee per day on the unpaid fine (每日千分之一: 0.1%).
    pub daily_rate: Rate,
    /// Rounding of the daily late fee.
    pub rounding: Rounding,
    /// Measures until paid (限制合作伙伴销售行为, 关停部分伙伴控制台的业务功能).
    pub measures: Vec<LateFeeMeasure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LateFeeMeasure {
    /// Sales restricted.
    SalesRestricted,
    /// Some console business functions shut down.
    ConsoleFunctionsRestricted,
}

/// Exit (PA-17 7; PA-22 6).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerExit {
    /// Months of written notice for a voluntary exit, customers placed first (PA-17 7.2,
    /// PA-22 6.3.1: 1).
    pub voluntary_notice_months: u32,
    /// Days of written notice either party gives to end the agreement early otherwise (PA-17
    /// agreement 8.3.3: 30); absent when not stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_termination_notice_days: Option<u32>,
    /// After exit the operator may close or limit the partner account, dissolve links so
    /// customers become direct, and stop rebates (PA-17 7.3, PA-22 6.4).
    pub operator_may_close_account_and_dissolve_links: bool,
    /// Expiry without renewal ends partner status; so does missing the renewal steps after the
    /// operator's notice (PA-22 6.1).
    pub expiry_ends_status: bool,
}

/// The integrity pledge (PA-17 诚信特别约定 2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Integrity {
    /// Damages for improper benefits: the highest of this share of the contract total, this
    /// share of the service fees paid, or the benefit's total (30%).
    pub bribery_damages_share: Rate,
}

/// One entry of the behaviour catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// `<code_prefix>-<class>-<nn>`, numbered in document order within the class: "PA22-1-01".
    pub code: String,
    /// Violation class (1 most serious).
    pub class: u8,
    /// Which list of the source it is in.
    pub area: BehaviourArea,
    /// The behaviour as the source words it, in Chinese.
    pub title_zh: String,
    /// The behaviour in English.
    pub title_en: String,
    /// Clause or table row: "PA-22 5.3.3 row 1".
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BehaviourArea {
    /// 服务类 (PA-22 5.3.3; PA-17 6.2.5).
    Service,
    /// 市场宣传类 (PA-22 5.3.4).
    Marketing,
    /// 其他类 (PA-22 5.3.5).
    Other,
    /// 根本违约 (PA-17 6.1).
    Fundamental,
    /// 低价倾销、明折暗扣、滥收费用 (PA-17 6.2.2).
    Pricing,
    /// 销售过程中的服务态度、过度承诺 (PA-17 6.2.3).
    SalesConduct,
    /// 欺诈、规避管理制度 (PA-17 6.2.4).
    Deception,
    /// 违反规范化销售或许可 (PA-17 6.2.6).
    Licensing,
    /// 违反合作伙伴账号管理制度 (PA-17 6.2.7).
    Accounts,
    /// 诋毁管理制度、言辞不当 (PA-17 6.2.8).
    Reputation,
}

#[cfg(test)]
mod tests {
    //! The partner-programme rules of SPEC, read from the builtin files.
    use super::*;
    use crate::rulebook::Library;

    fn book(id: &str) -> PartnerRulebook {
        let lib = Library::builtin().unwrap();
        lib.get(id).unwrap().as_partner().unwrap().clone()
    }

    fn yuan(y: i64) -> Fen {
        Fen::from_yuan(y).unwrap()
    }

    #[test]
    fn pa22_class1_fine_is_the_higher_of_100000_and_30_percent_of_fiscal_year_fees() {
        let c1 = book("partner-fy22").classes.class1;
        assert_eq!(c1.fine_fixed, Some(yuan(100_000)));
        assert_eq!(
            c1.fine_share_of_fiscal_year_fees,
            Some("30%".parse().unwrap())
        );
        assert_eq!(c1.termination, Termination::AtDiscretion);
        assert_eq!(c1.restriction_months, Some(12));
    }

    #[test]
    fn pa22_class2_escalates_5000_10000_50000_and_four_make_a_class1() {
        let c2 = book("partner-fy22").classes.class2;
        assert_eq!(c2.fines, [yuan(5_000), yuan(10_000), yuan(50_000)]);
        assert_eq!(
            (c2.escalate_at_count, c2.escalates_to),
            (4, Escalation::Class1)
        );
        assert_eq!((c2.validity_months, c2.restriction_months), (12, Some(3)));
    }

    #[test]
    fn pa22_three_class3_within_twelve_months_make_a_class2() {
        let c3 = book("partner-fy22").classes.class3.unwrap();
        assert_eq!((c3.escalate_at_count, c3.escalation_window_months), (3, 12));
        assert_eq!(c3.escalates_to, Escalation::Class2);
        assert_eq!(c3.restriction_months, 3);
    }

    #[test]
    fn pa22_late_fee_is_a_tenth_of_a_percent_a_day_after_three_months() {
        let fines = book("partner-fy22").fines;
        let late = fines.late_fee.unwrap();
        assert_eq!(
            (late.after_months, late.daily_rate),
            (3, "0.1%".parse().unwrap())
        );
        assert_eq!(
            fines.deduction_order,
            [
                DeductionSource::Deposit,
                DeductionSource::UnpaidFeesAndPrepayments,
                DeductionSource::Owed
            ]
        );
    }

    #[test]
    fn pa17_class2_is_2000_4000_8000_and_more_than_three_terminates_without_objection_step() {
        let pa17 = book("partner-2017");
        let c2 = &pa17.classes.class2;
        assert_eq!(c2.fines, [yuan(2_000), yuan(4_000), yuan(8_000)]);
        assert_eq!(
            (c2.escalate_at_count, c2.escalates_to),
            (4, Escalation::Termination)
        );
        assert_eq!(pa17.classes.class1.termination, Termination::Immediate);
        assert!(pa17.classes.class3.is_none());
        assert_eq!(pa17.procedure.objection_working_days, None);
        assert_eq!(pa17.procedure.reply_working_days, 3);
        assert_eq!(
            book("partner-fy22").procedure.objection_working_days,
            Some(3)
        );
    }

    #[test]
    fn pa17_assesses_quarterly_in_july_october_january_and_pa22_also_in_april() {
        let pa17 = book("partner-2017").assessment;
        let pa22 = book("partner-fy22").assessment;
        assert_eq!(
            (pa17.quarterly_months.as_slice(), pa17.annual_month),
            (&[7, 10, 1][..], 4)
        );
        assert_eq!(pa22.quarterly_months, [7, 10, 1, 4]);
        assert_eq!(
            pa22.quarterly_for,
            Some(vec![PartnerCategory::ConsultingSales])
        );
        assert_eq!(pa17.consecutive_failed_quarters_to_remove, Some(2));
    }

    #[test]
    fn rebate_is_computed_on_the_10th_notified_by_the_15th_and_paid_by_the_25th() {
        for id in ["partner-2017", "partner-fy22"] {
            let r = book(id).rebate;
            assert_eq!(
                (r.compute_day, r.notify_by_day, r.pay_by_day),
                (10, 15, 25),
                "{id}"
            );
            assert_eq!(r.invoice_within_working_days, 3, "{id}");
            assert!(r.requires_valid_invoice && r.holiday_postponement, "{id}");
        }
    }

    #[test]
    fn pa17_entry_needs_500000_capital_10_staff_3_technical_and_a_5000_deposit_in_5_days() {
        let pa17 = book("partner-2017");
        let e = &pa17.entry;
        assert_eq!(e.registered_capital_min, yuan(500_000));
        assert_eq!((e.staff_min, e.technical_staff_min), (10, 3));
        assert_eq!(e.new_customers_per_quarter_min, 10);
        assert_eq!(e.contact_within_working_days, 3);
        assert_eq!(pa17.deposit.amount, yuan(5_000));
        assert_eq!(pa17.deposit.pay_within_working_days, 5);
        assert_eq!(pa17.unlinking.resolve_within_working_days, 3);
    }

    #[test]
    fn both_versions_have_five_programme_tiers_and_a_marketplace_rebate_tier() {
        for id in ["partner-2017", "partner-fy22"] {
            let tiers: Vec<Tier> = book(id).tier.iter().map(|t| t.tier).collect();
            assert_eq!(
                tiers,
                [
                    Tier::Diamond,
                    Tier::Platinum,
                    Tier::Gold,
                    Tier::Silver,
                    Tier::Standard,
                    Tier::Marketplace
                ],
                "{id}"
            );
        }
    }

    #[test]
    fn the_behaviour_catalogues_cover_every_listed_behaviour() {
        let pa22 = book("partner-fy22").behaviour;
        let count = |class: u8, area: BehaviourArea| {
            pa22.iter()
                .filter(|b| b.class == class && b.area == area)
                .count()
        };
        // PA-22 5.3.3 service: 8 / 8 / 2; 5.3.4 marketing: 4 / 10 / 1; 5.3.5 other: 15 / 9 / 1.
        assert_eq!(
            [
                count(1, BehaviourArea::Service),
                count(2, BehaviourArea::Service),
                count(3, BehaviourArea::Service)
            ],
            [8, 8, 2]
        );
        assert_eq!(
            [
                count(1, BehaviourArea::Marketing),
                count(2, BehaviourArea::Marketing),
                count(3, BehaviourArea::Marketing)
            ],
            [4, 10, 1]
        );
        assert_eq!(
            [
                count(1, BehaviourArea::Other),
                count(2, BehaviourArea::Other),
                count(3, BehaviourArea::Other)
            ],
            [15, 9, 1]
        );
        assert_eq!(pa22.first().map(|b| b.code.as_str()), Some("PA22-1-01"));
        let pa17 = book("partner-2017").behaviour;
        assert_eq!(pa17.iter().filter(|b| b.class == 1).count(), 7);
        assert_eq!(pa17.iter().filter(|b| b.class == 2).count(), 29);
    }
}
