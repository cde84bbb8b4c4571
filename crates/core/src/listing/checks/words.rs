//! Word-list checks: absolute claims and brand names from the rulebook, built-in purchase and
//! registration wording from a fixed lexicon.

use super::{FindingKind, Hit, Message, Severity};
use crate::listing::text::{Boundary, find_all, keep_longest, pattern};
use crate::rulebook::Listing;

/// Wording that points at a purchase entry inside the product (ALI-R art.14(8)6, JD
/// art.10(8)6, TC annex S13). **[design assumption]** The rulebook only switches the check on;
/// the words are ours until it carries a list.
const PURCHASE_WORDS: &[&str] = &[
    "购买入口",
    "购买链接",
    "扫码购买",
    "扫码支付",
    "扫码付款",
    "应用内购买",
    "内购",
    "充值入口",
    "线下付款",
    "线下支付",
    "私下交易",
    "in-app purchase",
    "buy now",
];

/// Wording that asks buyers to register again with the provider (ALI-R art.14(8)7, TC
/// 4.1.3④, JD art.10(8)7). **[design assumption]** as above.
const REGISTRATION_WORDS: &[&str] = &[
    "注册账号",
    "注册帐号",
    "注册账户",
    "注册帐户",
    "重新注册",
    "单独注册",
    "另行注册",
    "额外注册",
    "免费注册",
    "注册会员",
    "会员注册",
    "sign up",
    "create an account",
    "register an account",
];

#[derive(Clone)]
enum Term {
    Absolute(String),
    Brand(String),
    Affiliation(String),
    Purchase(&'static str),
    Registration(&'static str),
}

/// The rulebook's word lists made ready for matching once per check run.
pub(super) struct Lexicon {
    absolute: Vec<(Vec<char>, Term)>,
    brand: Vec<(Vec<char>, Term)>,
    entries: Vec<(Vec<char>, Term)>,
}

impl Lexicon {
    pub(super) fn new(rules: &Listing) -> Self {
        let absolute = rules
            .absolute_claim_words
            .iter()
            .map(|w| (pattern(w), Term::Absolute(w.clone())))
            .collect();
        let mut brand = Vec::new();
        for b in &rules.brand {
            for name in std::iter::once(&b.name).chain(&b.variants) {
                brand.push((pattern(name), Term::Brand(b.name.clone())));
            }
        }
        brand.extend(
            rules
                .affiliation_phrases
                .iter()
                .map(|p| (pattern(p), Term::Affiliation(p.clone()))),
        );
        let mut entries = Vec::new();
        if rules.flag_builtin_purchase_entries {
            entries.extend(
                PURCHASE_WORDS
                    .iter()
                    .map(|w| (pattern(w), Term::Purchase(w))),
            );
        }
        if rules.flag_separate_user_registration {
            entries.extend(
                REGISTRATION_WORDS
                    .iter()
                    .map(|w| (pattern(w), Term::Registration(w))),
            );
        }
        Lexicon {
            absolute,
            brand,
            entries,
        }
    }

    /// Each list is matched on its own and resolved to its longest matches, so "阿里云" is one
    /// brand finding, not also "阿里"; different kinds may overlap.
    pub(super) fn scan(&self, text: &[char], rules: &Listing) -> Vec<Hit> {
        let mut hits = Vec::new();
        for list in [&self.absolute, &self.brand, &self.entries] {
            let mut found = Vec::new();
            for (pat, term) in list {
                for (start, end) in find_all(text, pat, Boundary::BOTH) {
                    found.push((start, end, term.clone()));
                }
            }
            for (start, end, term) in keep_longest(found) {
                hits.push(hit(start, end, term, &rules.brand_violation));
            }
        }
        hits
    }
}

fn hit(start: usize, end: usize, term: Term, brand_violation: &str) -> Hit {
    let (kind, severity, term, violation, message) = match term {
        Term::Absolute(w) => (
            FindingKind::AbsoluteClaim,
            Severity::Warning,
            w.clone(),
            None,
            Message {
                zh_cn: format!("使用了绝对化用语“{w}”，属夸大宣传或过度承诺"),
                en: format!("Absolute claim \"{w}\": exaggerated advertising or over-promising"),
            },
        ),
        Term::Brand(name) => (
            FindingKind::BrandName,
            Severity::Serious,
            name.clone(),
            Some(brand_violation.to_string()),
            Message {
                zh_cn: format!("未经授权使用运营方品牌名称“{name}”（含变体、缩写或错拼）"),
                en: format!(
                    "Operator brand name \"{name}\" (or a variant, abbreviation or misspelling) used without authorisation"
                ),
            },
        ),
        Term::Affiliation(phrase) => (
            FindingKind::BrandName,
            Severity::Serious,
            phrase.clone(),
            Some(brand_violation.to_string()),
            Message {
                zh_cn: format!("用语“{phrase}”暗示与运营方存在关联或获得其认可"),
                en: format!("\"{phrase}\" implies affiliation with or endorsement by the operator"),
            },
        ),
        Term::Purchase(w) => (
            FindingKind::BuiltInPurchaseOrRegistration,
            Severity::Serious,
            w.to_string(),
            None,
            Message {
                zh_cn: format!("疑似内置未在云市场上架的商品/服务的购买入口或站外交易：“{w}”"),
                en: format!(
                    "Possible built-in purchase entry for products not listed on the marketplace, or an off-platform sale: \"{w}\""
                ),
            },
        ),
        Term::Registration(w) => (
            FindingKind::BuiltInPurchaseOrRegistration,
            Severity::Serious,
            w.to_string(),
            None,
            Message {
                zh_cn: format!("疑似内置独立用户系统并要求用户重新注册：“{w}”"),
                en: format!(
                    "Possible separate user system asking buyers to register again: \"{w}\""
                ),
            },
        ),
    };
    Hit {
        kind,
        start,
        end,
        severity,
        term,
        violation,
        message,
    }
}
