//! The provider agreement texts and the one in force on a day (SPEC §3).

use jiff::civil::Date;

/// One version of the agreement text.
pub struct AgreementText {
    pub id: &'static str,
    pub effective_from: &'static str,
    pub title: &'static str,
    pub text: &'static str,
}

/// Every version, oldest first.
pub const AGREEMENTS: &[AgreementText] = &[AgreementText {
    id: "provider-agreement-2021-v1",
    effective_from: "2021-01-01",
    title: "云市场服务商协议 / Cloud Marketplace Provider Agreement",
    text: "本协议由云市场运营方与服务商订立。\n\
           1. 服务商保证其提交的营业执照、法定代表人身份证明、联系方式及服务信息真实、有效；\
           资料变更或失效的，应于变更（或失效）之日起三十日内重新报备。\n\
           2. 服务商按规则缴纳保证金；保证金不足时按规则补足。\n\
           3. 服务商仅可在为用户提供服务所必需的范围内使用用户数据，不得导出或留存。\n\
           4. 未经云市场书面同意，服务商不得转让其开设的店铺。\n\
           5. 本协议受运营方公布的服务商管理规则约束，规则以行为发生时有效的版本为准。\n\n\
           This agreement is made between the marketplace operator and the provider. The \
           provider warrants its materials are true and reports changes within 30 days, pays \
           the deposit, uses buyer data only to serve the buyer, transfers a store only with \
           the operator's written consent, and is bound by the provider rules in force.",
}];

/// The version in force on `day`.
pub fn in_force(day: Date) -> Option<&'static AgreementText> {
    AGREEMENTS.iter().rev().find(|a| {
        a.effective_from
            .parse::<Date>()
            .is_ok_and(|from| from <= day)
    })
}
