//! A marketplace rulebook (服务商管理规范): ALI 2020, TC 2017, JD 2019. Field docs cite the
//! clause each parameter comes from; the values themselves live in `rulebooks/*.toml`.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::Identity;
use super::common::{DeductionSource, Procedure, RatingScale, Score};
use super::violation::ViolationRow;
use crate::calendar::{SupportHours, YearStart};
use crate::money::Fen;
use crate::rate::{Rate, Rounding};

/// One version of a marketplace's provider management rules.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarketplaceRulebook {
    /// Identity, version and effective date.
    pub rulebook: Identity,
    /// Admission (入驻) and re-entry (SPEC §3).
    pub onboarding: Onboarding,
    /// After-sales support hours and response deadlines (SPEC §8).
    pub support: Support,
    /// Guarantee windows and refund rules (SPEC §7).
    pub refunds: Refunds,
    /// The provider deposit (保证金, SPEC §10).
    pub deposit: Deposit,
    /// Violation points (扣分); absent when the marketplace has none (TC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<Points>,
    /// Penalty measures and how a freeze applies (SPEC §9 "Penalties").
    pub penalties: Penalties,
    /// Automatic hiding and delisting (SPEC §5).
    pub visibility: Visibility,
    /// Listing review (SPEC §5).
    pub listing: Listing,
    /// Invoicing duties (SPEC §11).
    pub invoices: Invoices,
    /// Settlement period, fees, rounding (SPEC §11).
    pub settlement: Settlement,
    /// Steps of a violation case — **[design assumption]** for marketplaces (SPEC §9).
    pub procedure: Procedure,
    /// Grounds for expulsion besides the table (ALI-R art.28, JD art.24, TC 8.3).
    pub expulsion: Expulsion,
    /// Exit and termination (SPEC §13).
    pub exit: Exit,
    /// Buyer-data duties (SPEC §14).
    pub data_protection: DataProtection,
    /// The violation table (附件 违规情形处理一览表), SPEC §9's codes.
    pub violation: Vec<ViolationRow>,
}

// ---------------------------------------------------------------------------------------------
// Onboarding

/// Admission conditions and re-entry (ALI-R art.13, 29; TC 3.1, 8.3; JD art.9, 25).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Onboarding {
    /// Verification a member must pass (ALI-R art.13(2), TC 3.1.2, JD art.9(2)).
    pub verification: Verification,
    /// Individuals may be providers (JD art.7, art.9(3)1; ALI and TC: enterprises only).
    pub individuals_allowed: bool,
    /// The provider must be in the operator's partner programme (ALI-R art.13(3)).
    pub partner_membership_required: bool,
    /// Materials the application must carry (ALI-R art.13(4)–(6), TC 3.1.3–3.1.4, JD art.9(3)–(5)).
    pub materials: Vec<Material>,
    /// Products must run on, be bundled with, or be tightly tied to the operator's cloud
    /// (ALI-R art.13(8), TC 3.1.6, JD art.9(6)).
    pub products_on_operator_cloud: bool,
    /// Days to report changed or expired material (ALI-R art.22(1), TC 6.1.1, JD art.18(1): 30).
    pub material_change_report_days: u32,
    /// Months after a voluntary exit before a new application (ALI-R art.29, JD art.25: 1 year;
    /// TC sets none: 0).
    pub reentry_wait_after_exit_months: u32,
    /// Whether an expelled provider may ever re-apply (ALI-R art.29, TC 8.3, JD art.25: never).
    pub reentry_after_expulsion: bool,
    /// Expulsion also bans the member account permanently (TC 8.3: 永久查封账户).
    pub expulsion_bans_account: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Enterprise real-name verification (ALI-R art.13(2): 企业实名认证).
    EnterpriseRealName,
    /// Corporate bank account verification (TC 3.1.2: 对公银行账号实名认证).
    CorporateBankAccount,
    /// Real-name verification; individuals match their JD Finance verification (JD art.9(2), 9(3)1).
    RealName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Material {
    /// Business licence copy (营业执照副本), matching the verified entity.
    BusinessLicence,
    /// Legal representative's ID copy (法定代表人身份证).
    LegalRepresentativeId,
    /// An individual provider's ID card (JD art.9(3)1).
    PersonalId,
    /// Bank account certificate (开户账户证明, TC 3.1.3②).
    BankAccountCertificate,
    /// Contact name, phone and email.
    ContactDetails,
    /// Contact QQ number (TC 3.1.3③).
    ContactQq,
    /// Registered service staff, service hours and warranty period (ALI-R art.13(5), JD art.9(4)).
    ServiceInfo,
    /// The signed provider agreement (ALI-R art.13(6), TC 3.1.4, JD art.9(5)).
    ProviderAgreement,
    /// Consignment providers also sign the consignment agreement (JD art.9(5)).
    ConsignmentAgreement,
    /// The deposit paid (ALI-R art.13(7), TC 3.1.5, JD art.9(6)).
    DepositPaid,
}

// ---------------------------------------------------------------------------------------------
// Support

/// Support hours and response deadlines (ALI-R art.16, 22(16); ALI-A 3.6; TC 4.3–4.4; JD art.12,
/// 18(16)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Support {
    /// When live support must be available (ALI-R art.16(1)2, TC 4.4.1②, JD art.12(1)2).
    pub hours: SupportHours,
    /// Seconds within which chat must answer in support hours (ALI-R art.16(1)4, JD art.12(1)3:
    /// 30 s); absent when the source sets none (TC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_reply_seconds: Option<u32>,
    /// Longest time contact channels may go unanswered inside support hours (ALI annex, S3:
    /// 2 hours); absent when the source sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_silence_minutes: Option<u32>,
    /// Violation code a silence breach opens (ALI-S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_silence_violation: Option<String>,
    /// Minutes to respond to an opened complaint (ALI-R art.22(16), JD art.18(16): 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint_response_minutes: Option<u32>,
    /// Violation code a missed complaint response opens (ALI-S2, JD-S2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint_breach_violation: Option<String>,
    /// Hours to give a solution or workaround when the software cannot run (ALI-A 3.6.3: 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workaround_hours_not_running: Option<u32>,
    /// Hours to give a solution or workaround when the software is degraded (ALI-A 3.6.4: 48).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workaround_hours_degraded: Option<u32>,
    /// Working days after payment by which work must start (TC annex S9: 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_work_within_working_days: Option<u32>,
    /// Violation code a late start opens (TC-S9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_work_violation: Option<String>,
    /// What counts as an unreachable provider, and what the operator may do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<Unreachable>,
}

/// An unreachable provider (TC annex S10 失去联系; ALI-A 3.8.4 失联).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Unreachable {
    /// Hours after the operator's contact attempts without an answer (TC annex S10 1: 48).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_contact_hours: Option<u32>,
    /// Hours of unannounced unreachability a buyer proves (TC annex S10 2: 72).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_evidence_hours: Option<u32>,
    /// Consecutive failed operator contacts about a dispute (TC annex S10 3: 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_operator_contacts: Option<u32>,
    /// Violation code it opens (TC-S10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<String>,
    /// The operator may refund or compensate the provider's buyers directly (ALI-A 3.8.4, TC 5.2(5)).
    pub operator_may_refund_buyers: bool,
    /// The operator may hide the store and delist products (ALI-A 3.8.4).
    pub operator_may_hide_store: bool,
}

// ---------------------------------------------------------------------------------------------
// Refunds

/// Refund rules (ALI-R art.15, 21; TC 5; JD art.17).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Refunds {
    /// Guarantee / review window and refundability per product category, each category once.
    pub category: Vec<CategoryRefund>,
    /// Inside the window, when provider and buyer disagree, the operator may refund the full
    /// price directly (ALI-R art.21(1), TC 5.1, JD art.17(1)).
    pub operator_may_refund_in_window: bool,
    /// Outside the window: the part not yet incurred or delivered (ALI-R art.21(2), TC 5.2,
    /// JD art.17(2)).
    pub outside_window: OutsideWindow,
    /// Refunds the operator decides after stepping into a dispute (ALI-R art.21(3), TC 5.3,
    /// JD art.17(3)).
    pub dispute_grounds: Vec<DisputeGround>,
    /// Reasons for which the operator may refund directly at the provider's cost outside the
    /// window (TC 5.2(1)–(6)); empty where the source has no such list.
    #[serde(default)]
    pub operator_direct_reasons: Vec<RefundReason>,
    /// Reasons a buyer picks for a paid refund outside the window (JD art.17(2)1–9); empty
    /// where the source has no such list.
    #[serde(default)]
    pub buyer_reasons: Vec<RefundReason>,
    /// The platform fee on the refunded amount goes back to the provider pro rata
    /// (ALI-R art.21(5): yes; TC and JD: a flag, sources silent).
    pub fee_returned_pro_rata: bool,
    /// A refund of a settled order is clawed back or deducted from the next settlement
    /// (ALI-R art.21(5), TC 5.6.2, JD art.17(5)).
    pub settled_refund_clawed_back: bool,
    /// Where refunds or compensation paid on the provider's behalf come from, in order
    /// (ALI-R art.13(7)2, ALI-A 2.3.6/4.3.6/4.5.3, TC 3.1.5②, JD art.9(6)2).
    pub on_behalf_paid_from: Vec<DeductionSource>,
    /// A service cancelled for the buyer's own reasons after work started may keep an agreed
    /// compensation (ALI-R art.15(2)3, TC 5.4.1, JD art.11(2)3).
    pub service_cancellation_compensation: bool,
    /// After the buyer confirmed completion the provider refunds directly (TC 5.6.1).
    pub provider_refunds_after_completion: bool,
    /// Provider refund terms that differ from the rulebook need the operator's prior written
    /// approval and must be shown prominently (TC 5.7.2).
    pub custom_terms_need_approval: bool,
    /// Refund-rate check (TC 5.8); absent where the marketplace has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_check: Option<RefundRateCheck>,
}

/// The refund class of one product category.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRefund {
    /// The product category.
    pub category: ProductCategory,
    /// The guarantee / review window (担保期 / 复议期).
    pub window: RefundWindow,
    /// Whether the category can be refunded at all (ALI-R art.21(1)3: API and tool cannot).
    pub refundable: bool,
    /// Where the rule is, or why it is a design assumption.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductCategory {
    /// Application / software (应用, 软件服务).
    Application,
    /// Image (镜像).
    Image,
    /// Service / O&M (服务, 运维服务).
    Service,
    /// API.
    Api,
    /// Tool (工具).
    Tool,
    /// SaaS.
    Saas,
}

impl ProductCategory {
    pub const ALL: [ProductCategory; 6] = [
        ProductCategory::Application,
        ProductCategory::Image,
        ProductCategory::Service,
        ProductCategory::Api,
        ProductCategory::Tool,
        ProductCategory::Saas,
    ];
}

/// A guarantee / review window.
///
/// TOML: `{ days_from_purchase = 5 }`, `"until_acceptance"`, `"none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundWindow {
    /// N calendar days from purchase, the purchase day counted as day 1 (TC 2.8: bought 7.1 →
    /// window 7.1–7.5).
    DaysFromPurchase(u32),
    /// Until the buyer confirms the service is complete (ALI-R art.15(2), 21(1)2).
    UntilAcceptance,
    /// No window (the category is not refundable).
    #[serde(rename = "none")]
    NoWindow,
}

impl RefundWindow {
    /// The last day inside a day-counted window, or `None` for the other kinds.
    pub fn last_day(self, purchased: Date) -> Option<Date> {
        match self {
            RefundWindow::DaysFromPurchase(days) => {
                let extra = i64::from(days.checked_sub(1)?);
                purchased.checked_add(jiff::Span::new().days(extra)).ok()
            }
            RefundWindow::UntilAcceptance | RefundWindow::NoWindow => None,
        }
    }
}

/// Refunds outside the window (ALI-R art.21(2), TC 5.2/5.4, JD art.17(2)/(4)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutsideWindow {
    /// Only the part not yet incurred or delivered is refunded.
    pub unincurred_part_only: bool,
    /// Licences: pro rata by unused service time — **[design assumption]** (SPEC §7.2).
    pub licence_by_unused_time: bool,
    /// Services: by degree of delivery — **[design assumption]** (SPEC §7.2).
    pub service_by_delivery_degree: bool,
    /// Confirmed services and software/images past the window follow the provider's published
    /// refund terms, which may be "no refund" (TC 5.4, JD art.17(4)).
    pub past_window_follows_provider_terms: bool,
}

/// A ground on which the operator, having stepped in, orders a refund.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeGround {
    /// The ground, in the shared reason vocabulary (ALI-R art.21(3)1–7, TC 5.3, JD art.17(3)).
    pub ground: RefundReason,
    /// Full refund, or partial/full by degree of delivery.
    pub refund: DisputeRefund,
    /// Clause.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeRefund {
    /// 全额退款.
    Full,
    /// 视交付程度，部分或全额退款.
    ByDeliveryDegree,
}

/// Why money goes back to a buyer. One list for all three marketplaces; each rulebook names
/// the ones its clauses use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// Loss caused by service quality (服务质量造成客户损失).
    ServiceQualityLoss,
    /// Late or dragging service (未按期服务或人为拖沓).
    LateOrDragging,
    /// Functions or service not as described or promised (功能及服务与实际不符).
    Mismatch,
    /// Not delivered as agreed (未能按约定交付).
    NotDeliveredAsAgreed,
    /// Delivery time or completeness promised not met (TC 5.3(2)).
    DeliveryTimeOrCompleteness,
    /// Provider exited without an aftercare plan the operator approved (ALI-R art.21(3)5).
    ExitWithoutAftercarePlan,
    /// Work unfinished and the provider unreachable, or bankrupt (ALI-R art.21(3)6).
    UnfinishedAndUnreachableOrBankrupt,
    /// Provider incapable of meeting the buyer's needs (服务能力无法满足).
    Incapable,
    /// Program quality insufficient (JD art.17(2)5).
    ProgramQuality,
    /// Provider's business ended (业务终止; TC: bankrupt, closed, changed business).
    BusinessEnded,
    /// Provider cannot be reached (无法联络到服务商).
    Unreachable,
    /// Provider bankrupt or closed (JD art.17(2)8).
    Bankrupt,
    /// Buyer stops services not yet started (TC 5.2(6)).
    BuyerStopsUnstartedService,
    /// Buyer unhappy with the service attitude (JD art.17(2)3).
    UnhappyWithAttitude,
    /// Not as expected (TC 5.8 refund reason 不符合预期).
    NotAsExpected,
    /// Slow service or poor attitude (TC 5.8 不及时/服务态度差).
    SlowOrPoorService,
    /// Goods or service not received (TC 5.8 未收到商品/服务).
    NotReceived,
    /// Other provider fault the operator judges (其他).
    Other,
}

/// The refund-rate check (TC 5.8).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRateCheck {
    /// Rate of product-reason refunded orders above which the check fails (TC 5.8: 1%).
    pub threshold: Rate,
    /// Rolling window the rate is computed over — **[design assumption]** (SPEC §7.7: 30 days).
    pub window_days: u32,
    /// Days the provider has to improve (TC 5.8: 三十日).
    pub improve_within_days: u32,
    /// Refund reasons that count as product reasons (TC 5.8).
    pub product_reasons: Vec<RefundReason>,
    /// The provider loses eligibility for marketing campaigns (TC 5.8).
    pub loses_campaign_eligibility: bool,
}

// ---------------------------------------------------------------------------------------------
// Deposit

/// The provider deposit (ALI-R art.13(7), ALI-A 4.5, TC 3.1.5, JD art.9(6)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Deposit {
    /// Amount required before admission — **[design assumption]**: the sources set it "by
    /// product price and qualification" (ALI-R art.13(7)1) without a figure.
    pub required_amount: Fen,
    /// Paid products cannot be listed or sold without the full deposit (ALI-A 4.5.1).
    pub paid_products_need_full_deposit: bool,
    /// Working days to top up after a deduction notice (ALI-R art.13(7)3, JD art.9(6)3: 3;
    /// TC 3.1.5③: 7).
    pub top_up_working_days: u32,
    /// What happens, in order, when not topped up in time (ALI-R art.13(7)3 / JD art.9(6)3:
    /// deduct from the next settlement, then close the store; TC 3.1.5③: close the store).
    pub on_not_topped_up: Vec<TopUpFailureStep>,
    /// Extra deposit after repeated deductions (ALI-R art.13(7)4, JD art.9(6)4); absent for TC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surcharge: Option<Surcharge>,
    /// Working days to refund after the cooperation ends (ALI-A 4.5.6: 20 after receiving the
    /// receipt; TC 3.1.5④: 15); absent when the source sets none (JD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_working_days: Option<u32>,
    /// The deposit receipt must be returned first (ALI-A 4.5.6; TC 3.1.5④ may refuse without it).
    pub refund_requires_receipt: bool,
    /// Refunded only if the provider committed no breach in the term (ALI-A 4.5.6).
    pub refund_requires_clean_record: bool,
    /// Kept as the deposit when the cooperation is renewed (TC 3.1.5④).
    pub kept_on_renewal: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopUpFailureStep {
    /// Take the missing amount from the next settlement.
    DeductFromNextSettlement,
    /// Close all display rights including the store until topped up.
    CloseStoreUntilToppedUp,
}

/// Extra deposit after repeated deductions (ALI-R art.13(7)4, JD art.9(6)4).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Surcharge {
    /// Applies after more than this many deductions (超过2次: 3 or more) …
    pub deductions_more_than: u32,
    /// … within this rolling window (12 months), of any cause.
    pub window_months: u32,
    /// Extra amount the operator may require (1万元: 10,000.00).
    pub amount: Fen,
    /// For how long (下一年内: 12 months).
    pub for_months: u32,
}

// ---------------------------------------------------------------------------------------------
// Points and penalties

/// Violation points (ALI-R art.24–25, 28(4); JD art.20–21, 24(4)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Points {
    /// Points within one rule year that expel the provider (24).
    pub expulsion_threshold: u32,
    /// First day of the rule year; points reset at its start (ALI-R art.25: 04-01, the fiscal
    /// year ends 03-31 24:00; JD art.21: 01-01).
    pub year_start: YearStart,
    /// A complaint handled across the year boundary books its points in the new year
    /// (ALI-R art.25, JD art.21).
    pub cross_year_case_books_in_new_year: bool,
}

/// Penalty measures (ALI-R art.24, JD art.20, TC 7.2; annex notes).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Penalties {
    /// What a freeze hides (ALI-R art.24(2): store and products; JD art.20(2): products only);
    /// required when a table row freezes, absent when none does (TC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_scope: Option<FreezeScope>,
    /// Buyers who already bought keep using it during a freeze (ALI-R art.24(2), JD art.20(2)).
    pub existing_buyers_keep_service: bool,
    /// Expulsion forfeits the deposit (ALI-R art.24(4), JD art.20(4)).
    pub expulsion_forfeits_deposit: bool,
    /// Further measures the operator may take (ALI-R art.24(5), JD art.20(5), TC 7.2).
    pub extra_measures: Vec<ExtraMeasure>,
    /// The operator may stack measures by severity (annex note 2).
    pub operator_may_stack: bool,
    /// Cases not in the table are judged by the rulebook's principles (annex note 1).
    pub unlisted_judged_by_principle: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FreezeScope {
    /// 店铺冻结: store and products not shown (ALI).
    StoreAndProducts,
    /// 服务冻结: products not shown, the store itself not frozen (JD).
    ProductsOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraMeasure {
    /// 展现方式降等.
    LowerDisplayRank,
    /// 违规通报.
    PublicNotice,
    /// 追加保证金.
    ExtraDeposit,
    /// 限制商品类目.
    CategoryRestriction,
    /// 屏蔽 (TC 7.2).
    Hide,
    /// 删除 (TC 7.2).
    Delete,
    /// 限制发布 (TC 7.2).
    PublishingRestriction,
    /// 扣除保证金 (TC 7.2).
    DepositDeduction,
    /// 查封账户 (TC 7.2).
    AccountBan,
}

// ---------------------------------------------------------------------------------------------
// Visibility

/// Automatic visibility rules (ALI-R art.22(14), JD art.18(14), TC 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Visibility {
    /// Consecutive months without a sale after which a product is hidden or delisted
    /// (ALI-R art.22(14), JD art.18(14): 3); absent where there is no such rule (TC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_sales_months: Option<u32>,
    /// What happens then (ALI: hide/stop or delist; JD: delist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_sales_action: Option<VisibilityAction>,
    /// The scale buyers rate on — **[design assumption]** 1–5 (SPEC §6).
    pub rating_scale: RatingScale,
    /// Average rating below which a product is hidden or delisted (ALI-R art.22(14): 2.5);
    /// absent where there is no such rule (JD, TC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_average_rating: Option<Score>,
    /// Ratings a product needs before its average is judged — **[design assumption]** (SPEC §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ratings_for_average: Option<u32>,
    /// What happens to a product rated below the minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_rating_action: Option<VisibilityAction>,
    /// SaaS delivery-failure escalation (TC 4.2); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saas_delivery_failure: Option<SaasDeliveryFailure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VisibilityAction {
    /// Hidden and stopped from sale (隐藏停售).
    Hide,
    /// Delisted (下架).
    Delist,
    /// Hidden or delisted, as the operator decides (隐藏停售或强制下架).
    HideOrDelist,
}

/// SaaS delivery failure (TC 4.2: 发货失败).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SaasDeliveryFailure {
    /// The failing product is hidden from search at once.
    pub hide_product_at_once: bool,
    /// Not repaired after this many days → all the provider's SaaS products hidden (七日: 7).
    pub hide_all_saas_after_days: u32,
    /// Not repaired after this many days → all the provider's SaaS products delisted (三十日: 30).
    pub delist_all_saas_after_days: u32,
}

// ---------------------------------------------------------------------------------------------
// Listing review

/// Listing review (ALI-R art.14, 22(10); TC 4.1, 6.2; JD art.10, 18(10)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// A listing is published only after a security review (ALI-R art.14(1), TC 4.1.1, JD art.10(1)).
    pub security_review_required: bool,
    /// Every update of a listed product is reviewed again (ALI-R art.22(10), TC 6.1.2, JD art.18(10)).
    pub updates_reviewed: bool,
    /// Fields a listing must carry (ALI-R art.14(3),(5)–(7), ALI-A 3.5.6; SPEC §5).
    pub required_fields: Vec<ListingField>,
    /// The operator's brand names a listing may not use without authorisation, with variants,
    /// abbreviations and misspellings (ALI annex B1; JD annex B1; TC 6.2).
    pub brand: Vec<BrandName>,
    /// Violation code an unauthorised brand use opens (ALI-B1, JD-B1, TC-S3).
    pub brand_violation: String,
    /// Wording that implies affiliation or endorsement (TC 6.2) — flagged for the reviewer.
    #[serde(default)]
    pub affiliation_phrases: Vec<String>,
    /// Absolute-claim words (ALI-R art.14(8)5, JD art.10(8)5: 唯一, 最优).
    pub absolute_claim_words: Vec<String>,
    /// Flag external links to non-operator sites (ALI-R art.14(5), TC 4.1.3⑤, JD art.10(5)).
    pub flag_external_links: bool,
    /// Flag contact details that lead buyers off-platform (ALI-R art.18, TC 4.6, JD art.14).
    pub flag_off_platform_contacts: bool,
    /// Flag built-in purchase entries for unlisted products (ALI-R art.14(8)6, JD art.10(8)6).
    pub flag_builtin_purchase_entries: bool,
    /// Flag a separate user system requiring re-registration (ALI-R art.14(8)7, TC 4.1.3④,
    /// JD art.10(8)7).
    pub flag_separate_user_registration: bool,
    /// Reasons a reviewer can pick to reject prohibited content (ALI-R art.14(8)–(9),
    /// TC 4.1.3, JD art.10(8)–(9)).
    pub prohibited_content: Vec<ProhibitedContent>,
}

/// A brand name and the variants the review matches.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrandName {
    /// The name as the source lists it.
    pub name: String,
    /// Variants, abbreviations, translations and misspellings also matched.
    #[serde(default)]
    pub variants: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingField {
    Title,
    Images,
    Attributes,
    /// Price, or free.
    Price,
    Description,
    /// Product agreement / terms shown to buyers (ALI-R art.14(3)).
    Terms,
    /// Delisting strategy: how existing buyers keep working, how ownership moves (ALI-R art.14(7)).
    DelistingStrategy,
    /// Open-source components and their licences, if any (ALI-A 3.5.6).
    OpenSourceLicences,
    /// The provider's own product page link (ALI-R art.14(6)).
    OwnProductPage,
    /// The product's refund terms outside the window (TC 5.7.2, JD art.17(4)).
    RefundTerms,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProhibitedContent {
    /// 违反国家规定的政治宣传和/或新闻信息.
    Politics,
    /// 涉及国家秘密和/或安全的信息.
    StateSecrets,
    /// 封建迷信和/或淫秽、色情、下流的信息或教唆犯罪的信息.
    ObscenityOrSuperstition,
    /// 博彩有奖、赌博游戏.
    Gambling,
    /// "私服"、"外挂".
    PrivateServersOrCheats,
    /// 违反国家民族和宗教政策的信息.
    EthnicOrReligious,
    /// 妨碍互联网运行安全的信息; 木马、黑客程序、恶意程序、病毒.
    Malware,
    /// 套取他人身份证、邮箱、手机号、银行账号… 隐私信息.
    PrivacyHarvesting,
    /// 侵犯第三方知识产权或其他合法权利.
    Infringement,
    /// 有损于社会秩序、社会治安、公共道德的信息.
    PublicOrder,
    /// Spam advertising unrelated to the service (TC annex G1).
    SpamAdvertising,
}

// ---------------------------------------------------------------------------------------------
// Invoices and settlement

/// Invoicing duties (ALI-R art.17, ALI-A 4.4, TC 4.5 & 5.5, JD art.13).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Invoices {
    /// Self-sold: the provider invoices the buyer in full, renewals included (ALI-A 4.4.1,
    /// TC 4.5.2, JD art.13(1)).
    pub self_sold_provider_invoices_buyer: bool,
    /// Days from the buyer's request to issue (ALI-R art.17(1): 7); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_within_days: Option<u32>,
    /// Above this amount the buyer may not be charged postage (ALI-R art.17(1): 50 元).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_postage_above: Option<Fen>,
    /// What the provider invoices the operator for on consignment sales (TC 4.5.3: net
    /// settlement, special VAT invoice; JD art.13(2): supply price); absent when silent (ALI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consignment_provider_invoices: Option<ConsignmentInvoiceBasis>,
    /// The operator invoices the provider for the platform fee (ALI-A 4.4.2, TC 4.5.4, JD art.13(3)).
    pub operator_invoices_platform_fee: bool,
    /// Refund invoices: returning a same-month, not-yet-deducted invoice suffices, otherwise the
    /// red-letter information form is needed (TC 5.5.2).
    pub red_letter_rules: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsignmentInvoiceBasis {
    /// Net settlement after platform fees (TC 4.5.3).
    NetSettlement,
    /// Supply price (JD art.13(2)).
    SupplyPrice,
}

/// Settlement (ALI-A 4.2–4.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settlement {
    /// Settlement period (结算账期) — **[design assumption]** monthly (ALI-A 4.3.1 names it
    /// without a length).
    pub period: SettlementPeriod,
    /// The day of the month a monthly or quarterly period starts (the cut-off is 00:00 Beijing
    /// on that day) — **[design assumption]** 1; 1–28. Weekly periods start on Monday.
    #[serde(default = "first_day")]
    pub period_start_day: u8,
    /// The commission where no agreement with the provider or for the product says otherwise
    /// — **[design assumption]** 10% (ALI-A 4.2.1 leaves the rate to the agreement).
    pub default_commission: Rate,
    /// How fractions of a fen are rounded in fees and shares.
    pub rounding: Rounding,
    /// Fee models a product may use (ALI-A 4.2.1 commission, 4.2.2 base price).
    pub fee_models: Vec<FeeModel>,
    /// Settleable revenue is amortised over the order's service period (ALI-A 4.3.2).
    pub amortise_over_service_period: bool,
    /// Pay-later orders count only once the buyer has paid (ALI-A 4.3.3.2).
    pub pay_later_counts_when_paid: bool,
    /// Settlement is held while the provider is in breach or in an open dispute (ALI-A 2.3.5,
    /// 4.3.5).
    pub hold_on_breach_or_dispute: bool,
    /// What a negative payout becomes — **[design assumption]** a debt carried forward (SPEC §11).
    pub negative_payout: NegativePayout,
}

fn first_day() -> u8 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementPeriod {
    Weekly,
    Monthly,
    Quarterly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeModel {
    /// A commission rate on the order amount (佣金, ALI-A 4.2.1).
    Commission,
    /// Fee = sale price − agreed base price (底价, ALI-A 4.2.2).
    BasePrice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativePayout {
    /// Carried forward as the provider's debt.
    CarryForwardDebt,
}

// ---------------------------------------------------------------------------------------------
// Expulsion, exit, data

/// Grounds for expulsion besides the table's expel rows (ALI-R art.28, JD art.24, TC 8.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expulsion {
    /// The grounds this marketplace names.
    pub grounds: Vec<ExpulsionGround>,
    /// Minimum share of sold product instances deployed on the operator's cloud in a year
    /// (ALI-R art.28(5), JD art.24(5): 80%); absent where there is no such ground (TC forbids
    /// other-brand deployments outright, TC 3.1.6 / TC-S15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_operator_cloud_deployment: Option<Rate>,
    /// The year the deployment share is measured over — **[design assumption]** (SPEC §9): the
    /// ALI fiscal year (04-01), the JD calendar year (01-01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_year_start: Option<YearStart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpulsionGround {
    /// A table row whose action is expulsion (ALI-R art.28(1)).
    TableViolation,
    /// No longer meets the onboarding conditions, e.g. lost partner status (ALI-R art.28(2)).
    OnboardingConditionsLost,
    /// Member account blacklisted or expelled under the operator's other rules (ALI-R art.28(3)).
    AccountBlacklisted,
    /// Points reached the threshold within the rule year (ALI-R art.28(4)).
    PointsThreshold,
    /// Too few sold products deployed on the operator's cloud (ALI-R art.28(5)).
    LowOperatorCloudDeployment,
    /// Other violations the operator finds severe (ALI-R art.28(6); TC 8.3).
    SevereViolation,
    /// Blacklisted or expelled by the operator's group (ALI-R art.28(7): Alibaba Group).
    GroupBlacklisted,
}

/// Exit and termination (ALI-R art.26–30, ALI-A 3.3.3 & 7; TC 8; JD art.22–28).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exit {
    /// On exit, unfinished or unstarted buyer projects are refunded (ALI-R art.30(1): by
    /// delivery degree; TC 8.4.1, JD art.26(1): in full).
    pub unfinished_projects_refund: ExitRefund,
    /// After exit buyers can renew only the operator's own cloud-resource part (ALI-R art.30(2),
    /// TC 8.4.2, JD art.26(2)).
    pub renewals_operator_cloud_only: bool,
    /// Days a voluntarily leaving provider announces the store closure (JD art.27: 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voluntary_closure_notice_days: Option<u32>,
    /// Days' notice with which the operator may end the agreement (ALI-A 7.2.3: 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_termination_notice_days: Option<u32>,
    /// Months the agreement extends once when both keep performing unsigned (ALI-A 7.1.3: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsigned_renewal_extension_months: Option<u32>,
    /// Years a store's transferor stays jointly liable for the receiver (ALI-A 3.3.3: 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_transfer_liability_years: Option<u32>,
    /// The agreement runs until the end of the year starting on this day that contains the
    /// signing (ALI-A 7.1, 1.13: the fiscal year, "04-01"); renewal signs the next year.
    /// Absent: no fixed term, cooperation lasts until an exit — **[design assumption]** for
    /// TC and JD, whose rules set no agreement term (SPEC §13 cites only ALI-A 7.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_term_year_start: Option<YearStart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitRefund {
    Full,
    ByDeliveryDegree,
}

/// Buyer-data duties (ALI-A 5.2–5.3, ALI-R art.22(8)–(9), TC 6.1.4, JD art.18(8)–(9)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataProtection {
    /// Promotional messages to buyers need the operator's consent (ALI-R art.22(9), JD art.18(9)).
    pub promotion_needs_operator_consent: bool,
    /// Liquidated damages for a confidentiality breach (ALI-A 5.3: 10万元); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidentiality_damages: Option<Fen>,
}

#[cfg(test)]
mod tests {
    //! The marketplace rules of SPEC, read from the builtin files.
    use super::*;
    use crate::calendar::SupportDays;
    use crate::rulebook::Library;

    fn book(id: &str) -> MarketplaceRulebook {
        let lib = Library::builtin().unwrap();
        lib.get(id).unwrap().as_marketplace().unwrap().clone()
    }

    fn category(b: &MarketplaceRulebook, c: ProductCategory) -> CategoryRefund {
        b.refunds
            .category
            .iter()
            .find(|r| r.category == c)
            .unwrap()
            .clone()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn ali_application_refund_window_is_five_days_counting_the_purchase_day() {
        let ali = book("ali-2020");
        let app = category(&ali, ProductCategory::Application);
        assert_eq!(app.window, RefundWindow::DaysFromPurchase(5));
        assert!(app.refundable);
        // Bought 7.1 → window 7.1–7.5.
        assert_eq!(app.window.last_day(d("2020-07-01")), Some(d("2020-07-05")));
    }

    #[test]
    fn ali_services_are_refundable_until_acceptance_and_api_and_tools_not_at_all() {
        let ali = book("ali-2020");
        assert_eq!(
            category(&ali, ProductCategory::Service).window,
            RefundWindow::UntilAcceptance
        );
        for c in [ProductCategory::Api, ProductCategory::Tool] {
            let r = category(&ali, c);
            assert_eq!(
                (r.window, r.refundable),
                (RefundWindow::NoWindow, false),
                "{c:?}"
            );
        }
        assert!(ali.refunds.fee_returned_pro_rata, "ALI-R art.21(5)");
    }

    #[test]
    fn tc_has_no_points_and_a_seven_working_day_top_up_that_closes_the_store() {
        let tc = book("tc-2017");
        assert!(tc.points.is_none());
        assert_eq!(tc.deposit.top_up_working_days, 7);
        assert_eq!(
            tc.deposit.on_not_topped_up,
            [TopUpFailureStep::CloseStoreUntilToppedUp]
        );
        assert_eq!(tc.deposit.refund_working_days, Some(15));
        assert!(tc.onboarding.expulsion_bans_account);
        assert_eq!(tc.onboarding.reentry_wait_after_exit_months, 0);
        assert_eq!(tc.support.hours.days, SupportDays::MonSun);
    }

    #[test]
    fn ali_and_jd_top_up_in_three_working_days_then_settlement_then_store() {
        for id in ["ali-2020", "jd-2019"] {
            let b = book(id);
            assert_eq!(b.deposit.top_up_working_days, 3, "{id}");
            assert_eq!(
                b.deposit.on_not_topped_up,
                [
                    TopUpFailureStep::DeductFromNextSettlement,
                    TopUpFailureStep::CloseStoreUntilToppedUp
                ],
                "{id}"
            );
            let s = b.deposit.surcharge.clone().unwrap();
            assert_eq!((s.deductions_more_than, s.window_months), (2, 12), "{id}");
            assert_eq!(s.amount, Fen::from_yuan(10_000).unwrap(), "{id}");
            assert_eq!(b.onboarding.reentry_wait_after_exit_months, 12, "{id}");
        }
        assert_eq!(book("ali-2020").deposit.refund_working_days, Some(20));
    }

    #[test]
    fn jd_freeze_scope_is_products_only_and_ali_freezes_the_store() {
        assert_eq!(
            book("jd-2019").penalties.freeze_scope,
            Some(FreezeScope::ProductsOnly)
        );
        assert_eq!(
            book("ali-2020").penalties.freeze_scope,
            Some(FreezeScope::StoreAndProducts)
        );
        assert_eq!(book("tc-2017").penalties.freeze_scope, None);
    }

    #[test]
    fn ali_points_year_starts_april_first_and_jd_january_first() {
        let ali = book("ali-2020").points.unwrap();
        let jd = book("jd-2019").points.unwrap();
        assert_eq!(ali.year_start.to_string(), "04-01");
        assert_eq!(jd.year_start.to_string(), "01-01");
        assert_eq!((ali.expulsion_threshold, jd.expulsion_threshold), (24, 24));
        assert!(ali.cross_year_case_books_in_new_year && jd.cross_year_case_books_in_new_year);
    }

    #[test]
    fn complaints_get_thirty_minutes_on_ali_and_jd() {
        let ali = book("ali-2020");
        assert_eq!(ali.support.complaint_response_minutes, Some(30));
        assert_eq!(
            ali.support.complaint_breach_violation.as_deref(),
            Some("ALI-S2")
        );
        assert_eq!(ali.support.first_reply_seconds, Some(30));
        assert_eq!(ali.support.max_silence_minutes, Some(120));
        assert_eq!(
            (
                ali.support.workaround_hours_not_running,
                ali.support.workaround_hours_degraded
            ),
            (Some(24), Some(48))
        );
        let jd = book("jd-2019");
        assert_eq!(
            jd.support.complaint_breach_violation.as_deref(),
            Some("JD-S2")
        );
        assert_eq!(jd.support.max_silence_minutes, None);
    }

    #[test]
    fn tc_unreachable_provider_is_48_hours_72_hours_or_3_attempts() {
        let u = book("tc-2017").support.unreachable.unwrap();
        assert_eq!(u.operator_contact_hours, Some(48));
        assert_eq!(u.buyer_evidence_hours, Some(72));
        assert_eq!(u.failed_operator_contacts, Some(3));
        assert_eq!(u.violation.as_deref(), Some("TC-S10"));
    }

    #[test]
    fn tc_refund_rate_check_is_one_percent_with_thirty_days_to_improve() {
        let check = book("tc-2017").refunds.rate_check.unwrap();
        assert_eq!(check.threshold, "1%".parse().unwrap());
        assert_eq!((check.window_days, check.improve_within_days), (30, 30));
        assert!(book("ali-2020").refunds.rate_check.is_none());
    }

    #[test]
    fn tc_saas_delivery_failure_hides_at_once_then_all_after_7_and_delists_after_30() {
        let s = book("tc-2017").visibility.saas_delivery_failure.unwrap();
        assert!(s.hide_product_at_once);
        assert_eq!(
            (s.hide_all_saas_after_days, s.delist_all_saas_after_days),
            (7, 30)
        );
    }

    #[test]
    fn ali_hides_after_three_zero_sales_months_or_a_rating_below_two_and_a_half() {
        let v = book("ali-2020").visibility;
        assert_eq!(v.zero_sales_months, Some(3));
        assert_eq!(v.min_average_rating, Some(Score::from_hundredths(250)));
        let jd = book("jd-2019").visibility;
        assert_eq!(
            (jd.zero_sales_months, jd.min_average_rating),
            (Some(3), None)
        );
    }

    #[test]
    fn jd_buyers_pick_one_of_nine_refund_reasons_and_tc_lists_six_direct_refund_reasons() {
        assert_eq!(book("jd-2019").refunds.buyer_reasons.len(), 9);
        assert_eq!(book("tc-2017").refunds.operator_direct_reasons.len(), 6);
    }

    #[test]
    fn ali_invoices_within_seven_days_and_no_postage_above_fifty_yuan() {
        let i = book("ali-2020").invoices;
        assert_eq!(i.issue_within_days, Some(7));
        assert_eq!(i.free_postage_above, Some(Fen::from_yuan(50).unwrap()));
    }

    #[test]
    fn ali_and_jd_expel_below_eighty_percent_deployment_on_their_cloud() {
        for id in ["ali-2020", "jd-2019"] {
            let e = book(id).expulsion;
            assert_eq!(
                e.min_operator_cloud_deployment,
                Some("80%".parse().unwrap()),
                "{id}"
            );
        }
        assert_eq!(
            book("tc-2017").expulsion.min_operator_cloud_deployment,
            None
        );
    }

    #[test]
    fn every_marketplace_lists_each_product_category_once() {
        for id in ["ali-2020", "tc-2017", "jd-2019"] {
            let b = book(id);
            let mut cats: Vec<_> = b.refunds.category.iter().map(|c| c.category).collect();
            cats.sort();
            assert_eq!(cats, ProductCategory::ALL, "{id}");
        }
    }
}
