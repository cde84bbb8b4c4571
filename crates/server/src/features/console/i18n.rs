//! The console's two languages. zh-CN is the default; `en` is one click away and remembered
//! in a cookie. Every text a console page shows comes from [`CATALOG`] through [`Lang::t`],
//! so a missing translation is a test failure (see the tests), not an English word in a
//! Chinese page.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The language a cookie or query value names; anything else is zh-CN.
    pub fn parse(tag: &str) -> Lang {
        if tag.eq_ignore_ascii_case("en") || tag.to_ascii_lowercase().starts_with("en-") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// The BCP 47 tag for `<html lang>` and the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The text for `key`; the key itself when the catalogue lacks it (a test keeps that
    /// from shipping).
    pub fn t(self, key: &str) -> String {
        match index().get(key) {
            Some((zh, en)) => match self {
                Lang::Zh => (*zh).to_owned(),
                Lang::En => (*en).to_owned(),
            },
            None => key.to_owned(),
        }
    }

    /// Picks between a Chinese and an English text given together (e.g. a problem's titles).
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh if !zh.is_empty() => zh,
            _ => en,
        }
    }
}

fn index() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static INDEX: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    INDEX.get_or_init(|| CATALOG.iter().map(|(k, zh, en)| (*k, (*zh, *en))).collect())
}

/// Whether the catalogue has `key` (for tests of the pages' keys).
pub fn known(key: &str) -> bool {
    index().contains_key(key)
}

/// (key, zh-CN, en).
pub static CATALOG: &[(&str, &str, &str)] = &[
    // chrome
    ("app.name", "云市", "Yunshi"),
    (
        "app.tagline",
        "云市场运营平台",
        "Cloud marketplace operations",
    ),
    ("nav.catalogue", "商品目录", "Catalogue"),
    ("nav.my_orders", "我的订单", "My orders"),
    ("nav.provider", "服务商中心", "Provider centre"),
    ("nav.operator", "运营后台", "Operator console"),
    ("nav.login", "登录", "Log in"),
    ("nav.logout", "退出登录", "Log out"),
    ("nav.signup", "注册", "Sign up"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("nav.language", "English", "中文"),
    ("nav.signed_in_as", "当前用户", "Signed in as"),
    ("common.submit", "提交", "Submit"),
    ("common.save", "保存", "Save"),
    ("common.none", "暂无", "None yet"),
    ("common.view", "查看", "View"),
    ("common.status", "状态", "Status"),
    ("common.amount", "金额", "Amount"),
    ("common.created", "创建时间", "Created"),
    ("common.due", "截止时间", "Due"),
    ("common.remaining", "剩余时间", "Time left"),
    ("common.overdue", "已超时", "Overdue"),
    ("common.id", "编号", "ID"),
    ("common.provider", "服务商", "Provider"),
    ("common.product", "商品", "Product"),
    ("common.order", "订单", "Order"),
    ("common.note", "说明", "Note"),
    ("common.reason", "原因", "Reason"),
    ("common.actions", "操作", "Actions"),
    ("common.next_page", "下一页", "Next page"),
    ("common.download_csv", "下载 CSV", "Download CSV"),
    ("common.download_xlsx", "下载 XLSX", "Download XLSX"),
    ("common.required", "必填", "required"),
    ("common.done", "操作成功", "Done"),
    ("common.error", "操作未成功", "That did not work"),
    (
        "common.field_required",
        "请填写此项",
        "Please fill in this field",
    ),
    ("common.back", "返回", "Back"),
    ("common.yes", "是", "Yes"),
    ("common.no", "否", "No"),
    ("common.category", "类目", "Category"),
    ("common.price", "价格", "Price"),
    ("common.title", "标题", "Title"),
    ("common.description", "描述", "Description"),
    ("common.kind", "类型", "Kind"),
    ("common.code", "编码", "Code"),
    ("common.points", "扣分", "Points"),
    ("common.period", "结算周期", "Period"),
    ("common.time", "时间", "Time"),
    ("error.not_found", "页面不存在", "Page not found"),
    (
        "error.forbidden",
        "无权访问此页面",
        "You may not open this page",
    ),
    (
        "error.csrf",
        "表单已过期或来源不可信，请刷新页面后重试",
        "The form expired or came from elsewhere; reload the page and try again",
    ),
    (
        "error.unavailable",
        "服务暂时不可用，请稍后再试",
        "The service is unavailable; try again shortly",
    ),
    // login
    ("login.title", "登录云市", "Log in to Yunshi"),
    ("login.email", "电子邮箱", "E-mail"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    (
        "login.token_title",
        "使用 API 令牌登录（运营管理员）",
        "Log in with an API token (operator administrator)",
    ),
    ("login.token", "API 令牌", "API token"),
    (
        "login.token_submit",
        "使用令牌登录",
        "Log in with the token",
    ),
    (
        "login.failed",
        "邮箱或密码错误",
        "The e-mail address or the password is wrong",
    ),
    (
        "login.token_failed",
        "令牌无效或已过期",
        "The token is invalid or has expired",
    ),
    ("login.no_account", "还没有账号？", "No account yet?"),
    ("login.logged_out", "您已退出登录", "You are logged out"),
    ("signup.title", "注册会员", "Create a member account"),
    ("signup.display_name", "名称", "Name"),
    ("signup.kind", "会员类型", "Account type"),
    ("signup.personal", "个人", "Personal"),
    (
        "signup.enterprise",
        "企业（可申请入驻成为服务商）",
        "Enterprise (may apply to sell as a provider)",
    ),
    ("signup.submit", "注册并登录", "Sign up and log in"),
    (
        "signup.password_hint",
        "至少 10 个字符",
        "At least 10 characters",
    ),
    // catalogue and product page
    ("catalogue.title", "云市场商品目录", "Marketplace catalogue"),
    ("catalogue.search", "搜索商品", "Search products"),
    ("catalogue.query", "关键词", "Keywords"),
    ("catalogue.all_categories", "全部类目", "All categories"),
    ("catalogue.results", "搜索结果", "Results"),
    (
        "catalogue.empty",
        "没有找到匹配的商品",
        "No product matches",
    ),
    ("catalogue.sales", "销量", "Sales"),
    ("catalogue.rating", "评分", "Rating"),
    ("product.title", "商品详情", "Product"),
    ("product.refund_terms", "退款条款", "Refund terms"),
    ("product.refund_policy", "退款政策", "Refund policy"),
    ("product.pricing", "计费方式", "Pricing"),
    ("product.store", "店铺", "Store"),
    ("product.terms", "服务协议", "Terms of service"),
    ("product.reviews", "用户评价", "Reviews"),
    ("product.no_reviews", "暂无评价", "No reviews yet"),
    ("product.buy", "立即购买", "Buy now"),
    ("product.buy_title", "下单", "Order"),
    (
        "product.quantity",
        "购买时长（月）/数量",
        "Months / quantity",
    ),
    ("product.login_to_buy", "登录后购买", "Log in to buy"),
    ("product.ratings_count", "条评分", "ratings"),
    // checkout and buyer orders
    ("checkout.title", "支付订单", "Pay for the order"),
    (
        "checkout.sandbox",
        "沙箱支付：不会产生真实扣款。",
        "Sandbox payment: no real money moves.",
    ),
    ("checkout.behaviour", "支付结果", "Payment outcome"),
    ("checkout.succeed", "支付成功", "Succeeds"),
    ("checkout.decline", "银行拒绝", "Declined by the bank"),
    ("checkout.pay", "确认支付", "Pay now"),
    (
        "checkout.paid",
        "支付成功，款项由平台担保托管",
        "Paid: the money is held in escrow by the marketplace",
    ),
    ("orders.title", "我的订单", "My orders"),
    ("orders.empty", "还没有订单", "No orders yet"),
    ("orders.window", "担保期", "Guarantee window"),
    ("orders.window_ends", "担保期结束", "Guarantee window ends"),
    ("orders.detail", "订单详情", "Order"),
    ("orders.pay", "去支付", "Pay"),
    ("orders.refund", "申请退款", "Ask for a refund"),
    (
        "orders.refund_amount",
        "退款金额（元）",
        "Refund amount (yuan)",
    ),
    ("orders.refund_reason", "退款原因", "Why"),
    ("orders.refund_state", "退款", "Refund"),
    (
        "orders.complain",
        "投诉服务商",
        "Complain about the provider",
    ),
    ("orders.complaint_subject", "投诉事由", "What went wrong"),
    ("orders.rate", "评价", "Rate"),
    ("orders.stars", "评分（1–5）", "Stars (1–5)"),
    ("orders.review", "评价内容", "Review"),
    ("orders.invoice", "申请发票", "Ask for an invoice"),
    ("orders.invoice_title", "发票抬头", "Invoice title"),
    ("orders.tax_id", "纳税人识别号", "Taxpayer ID"),
    ("orders.accept", "确认验收", "Accept the service"),
    (
        "orders.confirm_milestone",
        "确认里程碑",
        "Confirm the milestone",
    ),
    ("orders.milestones", "服务里程碑", "Service milestones"),
    ("orders.paid_at", "支付时间", "Paid"),
    ("orders.total", "订单金额", "Total"),
    // provider
    ("provider.title", "服务商中心", "Provider centre"),
    ("provider.apply", "申请入驻", "Apply to sell"),
    ("provider.store_name", "店铺名称", "Store name"),
    ("provider.application", "入驻申请", "Application"),
    ("provider.materials", "资质材料", "Materials"),
    ("provider.missing", "尚缺材料", "Still missing"),
    ("provider.upload", "上传", "Upload"),
    ("provider.material_kind", "材料类型", "Kind of material"),
    (
        "provider.file",
        "文件（PDF、PNG、JPEG）",
        "File (PDF, PNG, JPEG)",
    ),
    (
        "provider.submit_application",
        "提交审核",
        "Submit for review",
    ),
    ("provider.resubmit", "补充后重新提交", "Resubmit"),
    ("provider.agreement", "签署入驻协议", "Sign the agreement"),
    ("provider.accept_agreement", "同意并签署", "Accept and sign"),
    ("provider.deposit", "保证金", "Deposit"),
    ("provider.pay_deposit", "缴纳保证金", "Pay the deposit"),
    (
        "provider.deposit_outstanding",
        "待缴保证金",
        "Deposit outstanding",
    ),
    ("provider.store", "店铺", "Store"),
    ("provider.products", "商品管理", "Products"),
    ("provider.new_product", "发布新商品", "New product"),
    (
        "provider.check",
        "预检（自动审核）",
        "Check before submitting",
    ),
    (
        "provider.findings",
        "自动审核发现的问题",
        "Findings of the automatic checks",
    ),
    ("provider.no_findings", "未发现问题", "No findings"),
    (
        "provider.submit_product",
        "提交上架审核",
        "Submit for listing review",
    ),
    ("provider.orders", "订单", "Orders"),
    ("provider.refunds", "退款协商", "Refund negotiation"),
    ("provider.accept_refund", "同意退款", "Accept the refund"),
    ("provider.decline_refund", "拒绝退款", "Decline the refund"),
    ("provider.complaints", "投诉处理", "Complaints"),
    ("provider.reply", "回复", "Reply"),
    ("provider.standing", "积分与违规", "Points and violations"),
    ("provider.statements", "结算单", "Statements"),
    ("provider.invoices", "待开发票", "Invoices to issue"),
    ("provider.issue_invoice", "开具发票", "Issue"),
    ("provider.invoice_number", "发票号码", "Invoice number"),
    ("provider.webhooks", "交付接口", "Delivery endpoint"),
    ("provider.endpoint_url", "接口地址", "Endpoint URL"),
    ("provider.deliveries", "交付记录", "Delivery log"),
    ("provider.retry", "重试", "Retry"),
    ("provider.payee", "收款账户", "Receiving account"),
    ("provider.top_up", "补缴保证金", "Top up"),
    (
        "provider.not_yet",
        "您还不是服务商。企业会员可申请入驻。",
        "You are not a provider yet. Enterprise members may apply.",
    ),
    ("provider.cases", "违规案件", "Violation cases"),
    ("provider.freezes", "冻结与处罚", "Freezes and measures"),
    ("provider.rule", "依据规则", "Rule"),
    // operator
    ("operator.title", "运营后台", "Operator console"),
    ("operator.dashboard", "运营概览", "Dashboard"),
    ("operator.onboarding", "入驻审核", "Onboarding review"),
    ("operator.listings", "商品审核", "Listing review"),
    ("operator.complaints", "投诉工作台", "Complaint desk"),
    ("operator.cases", "违规处理", "Violation cases"),
    ("operator.deposits", "保证金", "Deposits"),
    ("operator.settlement", "结算", "Settlement"),
    ("operator.notices", "公示", "Public notices"),
    ("operator.rulebook", "规则", "Rulebook"),
    ("operator.staff", "员工与角色", "Staff and roles"),
    ("operator.clock", "模拟时钟", "Simulated clock"),
    ("operator.gmv", "成交额", "GMV"),
    ("operator.orders", "订单数", "Orders"),
    ("operator.refunds", "退款", "Refunds"),
    (
        "operator.violations",
        "处理中的违规案件",
        "Open violation cases",
    ),
    ("operator.payouts", "打款", "Payouts"),
    ("operator.by_week", "按周成交额", "GMV by week"),
    ("operator.by_category", "按类目成交额", "GMV by category"),
    ("operator.start_review", "开始审核", "Start review"),
    ("operator.verify", "核验通过", "Mark verified"),
    ("operator.approve", "通过", "Approve"),
    ("operator.reject", "驳回", "Reject"),
    (
        "operator.more_material",
        "要求补充材料",
        "Ask for more material",
    ),
    ("operator.decide", "裁决", "Decide"),
    ("operator.open_case", "立案", "Open a case"),
    ("operator.violation_code", "违规条款", "Violation"),
    ("operator.finding", "处理决定", "Decision"),
    ("operator.publish", "公示", "Publish"),
    ("operator.start_run", "开始结算", "Start a settlement run"),
    ("operator.runs", "结算批次", "Settlement runs"),
    ("operator.reconcile", "对账", "Reconciliation"),
    ("operator.advance", "拨动时钟", "Advance the clock"),
    ("operator.now", "当前时间", "Now"),
    ("operator.new_staff", "添加员工", "Add a staff member"),
    ("operator.role", "角色", "Role"),
    ("operator.version", "版本", "Version"),
    ("operator.effective", "生效日期", "In force from"),
    ("operator.in_force", "现行", "In force"),
    ("operator.queue_empty", "队列为空", "The queue is empty"),
    // more page texts
    ("catalogue.sort", "排序", "Sort by"),
    (
        "checkout.placed",
        "订单已创建，请完成支付",
        "Order placed: pay to confirm it",
    ),
    ("operator.act_on", "违规行为日期", "Date of the act"),
    (
        "operator.advance_by",
        "拨动时长（如 1d、12h、30m）",
        "Advance by (e.g. 1d, 12h, 30m)",
    ),
    ("operator.advance_hour", "拨快 1 小时", "+1 hour"),
    ("operator.advance_day", "拨快 1 天", "+1 day"),
    ("operator.last_advance", "上次拨动", "Last advance"),
    ("operator.advanced_from", "拨动前时间", "Moved from"),
    ("operator.fired", "触发的到期事项", "Deadlines fired"),
    (
        "operator.advance_to",
        "或拨到时刻（RFC 3339）",
        "Or advance to (RFC 3339)",
    ),
    ("operator.balanced", "账实相符", "Balanced"),
    ("operator.case_source", "案件来源", "Source"),
    ("operator.clock_mode", "时钟模式", "Clock"),
    (
        "operator.dashboard_basis",
        "统计基于最近的订单数：",
        "Figures from the latest orders:",
    ),
    ("operator.dismiss", "驳回投诉", "Dismiss"),
    ("operator.established", "违规成立", "Violation established"),
    ("operator.established_yes", "成立", "Established"),
    ("operator.established_no", "不成立", "Not established"),
    ("common.choose", "请选择", "Choose"),
    ("operator.measure", "处理措施", "Measure"),
    ("operator.next_deadline", "下一个到期事项", "Next deadline"),
    (
        "operator.open_complaints",
        "处理中的投诉",
        "Open complaints",
    ),
    (
        "operator.partner_member",
        "已是合作伙伴计划会员",
        "Member of the partner programme",
    ),
    ("operator.provider_id", "服务商编号", "Provider ID"),
    (
        "operator.settlement_expected",
        "应有余额",
        "Expected balance",
    ),
    ("operator.settlement_ledger", "账本余额", "Ledger balance"),
    ("operator.source", "规则出处", "Source"),
    ("operator.statements", "结算单数", "Statements"),
    ("operator.trial_balance", "试算平衡", "Trial balance"),
    ("operator.violation_table", "违规处理表", "Violation table"),
    (
        "orders.complaint_filed",
        "投诉已提交，服务商须在时限内响应",
        "Complaint filed: the provider must answer in time",
    ),
    ("orders.enterprise_title", "企业", "Enterprise"),
    ("orders.invoice_type", "发票类型", "Invoice type"),
    ("orders.ordinary_invoice", "普通发票", "Ordinary invoice"),
    (
        "orders.refund_requested",
        "退款申请已提交",
        "Refund requested",
    ),
    ("orders.refunded", "已退款金额", "Refunded so far"),
    (
        "orders.special_vat",
        "增值税专用发票",
        "Special VAT invoice",
    ),
    (
        "orders.within_window",
        "担保期内（无需理由）",
        "Within the guarantee window (no reason needed)",
    ),
    (
        "product.days_from_purchase",
        "天（自购买日起）",
        "days from purchase",
    ),
    (
        "product.members_buy",
        "仅会员账号可购买",
        "Only member accounts can buy",
    ),
    ("product.no_window", "无担保期", "No guarantee window"),
    ("provider.attributes", "商品参数", "Attributes"),
    (
        "provider.attributes_hint",
        "每行一项，如：部署方式=镜像部署",
        "One per line, e.g. Deployment=Image",
    ),
    (
        "provider.own_page",
        "商品官网页面",
        "Product's own web page",
    ),
    (
        "provider.open_source",
        "开源组件声明（JSON）",
        "Open-source components (JSON)",
    ),
    (
        "provider.open_source_hint",
        "[] 表示不含开源组件",
        "[] declares none",
    ),
    ("provider.attempts", "尝试次数", "Attempts"),
    ("provider.create_draft", "保存草稿", "Save draft"),
    ("provider.delisting_strategy", "下架策略", "Delisting plan"),
    ("provider.deposit_balance", "保证金余额", "Deposit held"),
    (
        "provider.deposit_required",
        "应缴保证金",
        "Deposit required",
    ),
    ("provider.fee", "平台服务费", "Platform fee"),
    ("provider.gross", "销售额", "Sales"),
    ("provider.held", "暂扣", "Held"),
    ("provider.payout", "打款", "Payout"),
    (
        "provider.points_threshold",
        "清退分值",
        "Expulsion threshold",
    ),
    ("provider.points_total", "本年度扣分", "Points this year"),
    ("provider.price_yuan", "价格（元）", "Price (yuan)"),
    (
        "provider.report_milestone",
        "报告里程碑",
        "Report a milestone",
    ),
    ("provider.severity", "级别", "Severity"),
    ("provider.submitted", "已提交审核", "Submitted for review"),
    // statuses and kinds
    ("order.awaiting_payment", "待支付", "Awaiting payment"),
    ("order.in_use_unpaid", "先用后付", "In use, unpaid"),
    ("order.free", "免费", "Free"),
    ("order.held", "担保中", "In escrow"),
    (
        "order.released",
        "已结算给服务商",
        "Released to the provider",
    ),
    ("order.refunded", "已退款", "Refunded"),
    ("order.cancelled", "已取消", "Cancelled"),
    ("refund.requested", "已申请", "Requested"),
    (
        "refund.provider_declined",
        "服务商已拒绝",
        "Declined by the provider",
    ),
    (
        "refund.escalated",
        "平台介入中",
        "Escalated to the marketplace",
    ),
    ("refund.refunded", "已退款", "Refunded"),
    ("refund.rejected", "已驳回", "Rejected"),
    ("refund.withdrawn", "已撤回", "Withdrawn"),
    ("window.not_started", "未开始", "Not started"),
    ("window.until_acceptance", "至验收为止", "Until acceptance"),
    ("window.ended", "已结束", "Ended"),
    ("window.no_window", "无担保期", "No window"),
    ("application.draft", "草稿", "Draft"),
    ("application.submitted", "已提交", "Submitted"),
    ("application.under_review", "审核中", "Under review"),
    (
        "application.needs_more_material",
        "待补充材料",
        "Needs more material",
    ),
    ("application.resubmitted", "已重新提交", "Resubmitted"),
    ("application.approved", "审核通过", "Approved"),
    ("application.rejected", "已驳回", "Rejected"),
    (
        "application.agreement_accepted",
        "已签署协议",
        "Agreement signed",
    ),
    ("application.admitted", "已入驻", "Admitted"),
    ("application.withdrawn", "已撤回", "Withdrawn"),
    ("provider_status.applying", "申请中", "Applying"),
    ("provider_status.active", "正常经营", "Active"),
    ("provider_status.exited", "已退出", "Exited"),
    ("provider_status.expelled", "已清退", "Expelled"),
    ("provider_status.banned", "永久禁入", "Banned"),
    ("store.open", "营业中", "Open"),
    ("store.frozen", "已冻结", "Frozen"),
    ("store.blocked", "已屏蔽", "Blocked"),
    (
        "store.closed_for_deposit",
        "保证金不足关闭",
        "Closed until the deposit is topped up",
    ),
    ("store.hidden", "已隐藏", "Hidden"),
    ("store.closed", "已关闭", "Closed"),
    ("product.draft", "草稿", "Draft"),
    ("product.unlisted", "未上架", "Not listed"),
    ("product.listed", "已上架", "Listed"),
    (
        "product.hidden_from_search",
        "搜索屏蔽",
        "Hidden from search",
    ),
    ("product.hidden", "已隐藏", "Hidden"),
    (
        "product.delisted_by_provider",
        "服务商下架",
        "Delisted by the provider",
    ),
    (
        "product.delisted_by_operator",
        "平台下架",
        "Delisted by the marketplace",
    ),
    (
        "complaint.awaiting_response",
        "待服务商响应",
        "Awaiting the provider",
    ),
    ("complaint.in_progress", "处理中", "In progress"),
    ("complaint.dismissed", "已驳回", "Dismissed"),
    ("complaint.refunded", "已退款", "Refunded"),
    ("complaint.case_opened", "已立案", "Case opened"),
    ("complaint.withdrawn", "已撤回", "Withdrawn"),
    ("case.awaiting_reply", "待服务商回复", "Awaiting the reply"),
    ("case.replied", "已回复", "Replied"),
    ("case.penalty_noticed", "已发处罚通知", "Penalty noticed"),
    ("case.objected", "已申诉", "Objected"),
    ("case.decided", "已决定", "Decided"),
    ("case.dismissed", "不成立", "Dismissed"),
    ("case.penalty_revoked", "处罚已撤销", "Penalty revoked"),
    ("case_source.spot_check", "抽查", "Spot check"),
    ("case_source.complaint", "投诉", "Complaint"),
    ("case_source.detector", "系统监测", "Detector"),
    ("invoice.requested", "待开具", "To issue"),
    ("invoice.overdue", "已逾期", "Overdue"),
    ("invoice.issued", "已开具", "Issued"),
    ("invoice.correcting", "更正中", "Being corrected"),
    ("invoice.void", "已作废", "Void"),
    ("deposit.whole", "足额", "Whole"),
    ("deposit.short", "不足", "Short"),
    ("category.application", "应用软件", "Application"),
    ("category.image", "镜像", "Image"),
    ("category.service", "服务", "Service"),
    ("category.api", "API", "API"),
    ("category.tool", "工具", "Tool"),
    ("category.saas", "SaaS", "SaaS"),
    ("pricing.one_off", "一次性", "one-off"),
    ("pricing.monthly", "按月", "per month"),
    ("pricing.yearly", "按年", "per year"),
    (
        "refund_policy.no_refund",
        "担保期外不退款",
        "No refunds after the window",
    ),
    ("refund_policy.refundable", "可退款", "Refundable"),
    ("sort.relevance", "相关度", "Relevance"),
    ("sort.sales", "销量", "Sales"),
    ("sort.rating", "评分", "Rating"),
    ("sort.price_asc", "价格从低到高", "Price, low to high"),
    ("sort.price_desc", "价格从高到低", "Price, high to low"),
    ("material.business_licence", "营业执照", "Business licence"),
    (
        "material.legal_representative_id",
        "法定代表人身份证",
        "Legal representative's ID",
    ),
    ("material.personal_id", "身份证", "Personal ID"),
    (
        "material.bank_account_certificate",
        "开户许可证",
        "Bank account certificate",
    ),
    ("material.contact_details", "联系人信息", "Contact details"),
    ("material.contact_qq", "联系 QQ", "Contact QQ"),
    ("material.service_info", "服务信息", "Service information"),
    ("complaint_reason.not_delivered", "未交付", "Not delivered"),
    (
        "complaint_reason.service_quality",
        "服务质量",
        "Service quality",
    ),
    (
        "complaint_reason.late_or_dragging",
        "拖延",
        "Late or dragging",
    ),
    (
        "complaint_reason.mismatch",
        "与描述不符",
        "Not as described",
    ),
    ("complaint_reason.unresponsive", "无人响应", "Unresponsive"),
    ("complaint_reason.attitude", "服务态度", "Attitude"),
    ("complaint_reason.security", "安全问题", "Security"),
    ("complaint_reason.other", "其他", "Other"),
    (
        "refund_reason.service_quality_loss",
        "服务质量问题造成损失",
        "Loss from poor service quality",
    ),
    ("refund_reason.late_or_dragging", "拖延", "Late or dragging"),
    ("refund_reason.mismatch", "与描述不符", "Not as described"),
    (
        "refund_reason.not_delivered_as_agreed",
        "未按约定交付",
        "Not delivered as agreed",
    ),
    (
        "refund_reason.delivery_time_or_completeness",
        "交付时间或完整性",
        "Delivery time or completeness",
    ),
    (
        "refund_reason.program_quality",
        "程序质量",
        "Program quality",
    ),
    (
        "refund_reason.unreachable",
        "服务商失联",
        "Provider unreachable",
    ),
    ("role.reviewer", "审核", "Reviewer"),
    ("role.compliance", "合规", "Compliance"),
    ("role.customer_service", "客服", "Customer service"),
    ("role.finance", "财务", "Finance"),
    ("role.admin", "管理员", "Administrator"),
    ("settlement.sales", "销售额", "Sales"),
    ("settlement.refunds", "退款", "Refunds"),
    ("settlement.fee", "平台服务费", "Platform fee"),
    ("settlement.net", "应结净额", "Net"),
    ("settlement.paid_out", "已打款", "Paid out"),
    ("settlement.held", "暂扣", "Held"),
    ("settlement.debt_carried", "结转欠款", "Debt carried"),
    (
        "settlement.payouts_in_transit_ledger",
        "在途打款（账本）",
        "Payouts in transit (ledger)",
    ),
    (
        "settlement.payouts_in_transit_expected",
        "在途打款（应有）",
        "Payouts in transit (expected)",
    ),
    ("operator.refund_in_full", "全额退款", "Refund in full"),
    (
        "operator.decide_objection",
        "裁决申诉",
        "Decide the objection",
    ),
    ("operator.objection_upheld", "申诉成立", "Objection upheld"),
    ("orders.all", "全部订单", "All orders"),
    ("operator.history", "版本历史", "Version history"),
    ("provider.payouts", "打款记录", "Payouts"),
    ("provider.settled_at", "到账时间", "Settled"),
    ("provider.adjustments", "调整项", "Adjustments"),
    ("provider.lines", "订单明细", "Order lines"),
    ("provider.statement", "结算单", "Statement"),
    ("payout.instructed", "已发起", "Instructed"),
    ("payout.paid", "已到账", "Paid"),
    ("payout.failed", "失败", "Failed"),
    ("payout.pending", "处理中", "Pending"),
    ("adjustment.debt_carried", "结转欠款", "Debt carried"),
    ("line.amortisation", "分摊", "Amortisation"),
    ("adjustment.held", "暂扣", "Held"),
    ("adjustment.payout", "打款", "Payout"),
    ("adjustment.brought_forward", "上期结转", "Brought forward"),
    ("adjustment.debt_collected", "收回欠款", "Debt collected"),
    (
        "adjustment.penalty_collected",
        "扣收罚款",
        "Penalty collected",
    ),
    ("adjustment.deposit_top_up", "补缴保证金", "Deposit top-up"),
    ("line.sale", "销售", "Sale"),
    ("line.refund", "退款", "Refund"),
    (
        "orders.withdraw_refund",
        "撤回退款申请",
        "Withdraw the refund request",
    ),
    (
        "orders.escalate",
        "申请平台介入",
        "Ask the marketplace to decide",
    ),
    ("operator.trace_order", "订单对账追溯", "Trace an order"),
    (
        "operator.order_id",
        "订单编号（完整 ID）",
        "Order ID (full)",
    ),
    ("operator.settlement_items", "结算事项", "Settlement items"),
    ("provider.hold_reasons", "暂扣原因", "Held because of"),
    ("hold.open_complaint", "未结投诉", "an open complaint"),
    ("hold.open_case", "未结违规案件", "an open violation case"),
    (
        "hold.breach",
        "违约（发票等）",
        "a breach (e.g. an invoice not issued)",
    ),
    (
        "hold.no_payee_account",
        "未登记收款账户",
        "no approved receiving account",
    ),
    (
        "provider.payee_pending",
        "待审核的新账户",
        "Change waiting for approval",
    ),
    (
        "provider.payee_change",
        "申请变更收款账户",
        "Ask to change the receiving account",
    ),
    (
        "provider.payee_requested",
        "已提交，待平台财务审核",
        "Sent: operator finance will review it",
    ),
    ("provider.payee_holder", "开户名", "Account holder"),
    ("provider.payee_bank", "开户银行", "Bank"),
    ("provider.payee_branch", "开户支行", "Branch"),
    ("provider.payee_number", "银行账号", "Account number"),
    (
        "operator.payee_review",
        "收款账户审核",
        "Receiving-account review",
    ),
    (
        "provider.payee_staff_only",
        "收款账户只能由服务商员工账号变更。",
        "Only the provider's staff accounts may change the receiving account.",
    ),
    (
        "error.form_unreadable",
        "表单无法读取（上传文件不能超过 10 MB）",
        "The form could not be read (uploads are at most 10 MB)",
    ),
    ("bool.true", "是", "Yes"),
    ("bool.false", "否", "No"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_entry_has_both_languages_and_no_key_twice() {
        let mut seen = std::collections::HashSet::new();
        for (key, zh, en) in CATALOG {
            assert!(!zh.is_empty() && !en.is_empty(), "{key} lacks a language");
            assert!(seen.insert(key), "{key} appears twice");
        }
    }

    /// Every `t("…")` key and success message a console source uses is catalogued.
    #[test]
    fn every_text_a_console_page_uses_is_in_both_languages() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("session.rs"),
            include_str!("gateway.rs"),
            include_str!("public.rs"),
            include_str!("buyer.rs"),
            include_str!("provider.rs"),
            include_str!("operator.rs"),
            include_str!("../../../templates/console/page.html"),
        ];
        let mut used = Vec::new();
        for src in sources {
            for marker in [".t(\"", "\"_ok\", \""] {
                for (at, _) in src.match_indices(marker) {
                    let rest = &src[at + marker.len()..];
                    if let Some(end) = rest.find('"') {
                        used.push(&rest[..end]);
                    }
                }
            }
        }
        assert!(used.len() > 100, "found only {} keys", used.len());
        let missing: Vec<_> = used.iter().filter(|k| !known(k)).collect();
        assert!(missing.is_empty(), "not in the catalogue: {missing:?}");
    }

    #[test]
    fn zh_cn_is_the_default_and_en_is_recognised() {
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Lang::parse("en"), Lang::En);
        assert_eq!(Lang::parse("en-GB"), Lang::En);
        assert_eq!(Lang::parse("fr"), Lang::Zh);
        assert_eq!(Lang::En.t("nav.login"), "Log in");
        assert_eq!(Lang::Zh.t("nav.login"), "登录");
    }
}
