//! Automatic checks a listing version goes through before review (SPEC §5; ALI-R art.14(5),
//! 14(8)5–7, art.18, annex B1; TC 4.1.3, 4.6, 6.2; JD art.10, art.14, annex B1).
//!
//! A pure function of the version's text, the rulebook's listing section and the operator's
//! own domains. Findings do not block a submission: the provider sees them before submitting,
//! the reviewer sees them on the version, and may approve only by acknowledging each one.

mod contacts;
mod links;
mod words;

use serde::{Deserialize, Serialize};

use super::content::{FieldPath, ListingContent};
use super::text::{folded_chars, slice_chars};
use crate::rulebook::{Listing, ListingField};

/// What a finding is about (the kinds SPEC §5 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A link to a site outside the operator's domains (ALI-R art.14(5), TC 4.1.3⑤, JD art.10(5)).
    ExternalLink,
    /// "唯一", "最优" and the rulebook's other absolute words (ALI-R art.14(8)5, JD art.10(8)5).
    AbsoluteClaim,
    /// The operator's brand names or wording implying its endorsement (ALI/JD annex B1, TC 6.2).
    BrandName,
    /// Phone numbers, QQ, WeChat, e-mail: contact leading buyers off-platform (ALI-R art.18,
    /// TC 4.6, JD art.14).
    OffPlatformContact,
    /// A built-in purchase entry or a separate user registration (ALI-R art.14(8)6–7,
    /// TC 4.1.3④, JD art.10(8)6–7).
    BuiltInPurchaseOrRegistration,
}

/// How much a finding weighs for the reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Wording to correct: absolute claims, external links.
    Warning,
    /// Matches a violation the table punishes with a freeze or expulsion: brand misuse, leading
    /// buyers off-platform, built-in sales or registration (ALI-R annex; TC annex S3, S13).
    Serious,
}

/// A message in both languages the marketplace is run in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub zh_cn: String,
    pub en: String,
}

/// One thing the automatic checks flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// 1, 2, 3 … within one check run; what a reviewer acknowledges.
    pub id: u32,
    pub kind: FindingKind,
    pub path: FieldPath,
    /// The text as the provider wrote it.
    pub matched: String,
    /// Char offsets (Unicode scalar values) of `matched` in the field's text, end exclusive.
    pub start: usize,
    pub end: usize,
    pub severity: Severity,
    /// What was recognised: the brand name or phrase, the word, the host, the contact kind
    /// (`mobile_phone`, `landline`, `hotline`, `qq`, `wechat`, `email`) or the keyword.
    pub term: String,
    /// The violation code a confirmed brand misuse opens (ALI-B1, JD-B1, TC-S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<String>,
    pub message: Message,
}

/// The operator's own domains: links and e-mail addresses on them are not external. The
/// rulebook has no such list, so the shell passes the deployment's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorDomains(Vec<String>);

impl OperatorDomains {
    pub fn new<S: AsRef<str>>(domains: impl IntoIterator<Item = S>) -> Self {
        OperatorDomains(
            domains
                .into_iter()
                .map(|d| d.as_ref().trim().trim_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        )
    }

    /// `host` is one of the domains or a subdomain of one (`market.aliyun.com`).
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().any(|d| {
            host == *d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

/// A match inside one text, before it is placed in the listing.
struct Hit {
    kind: FindingKind,
    start: usize,
    end: usize,
    severity: Severity,
    term: String,
    violation: Option<String>,
    message: Message,
}

/// Runs every check the rulebook switches on over every text of the listing. The provider's
/// own product page is an external link by definition (ALI-R art.14(6)) and is not scanned;
/// open-source licence entries are not scanned for links (licence texts live elsewhere).
pub fn run_checks(
    content: &ListingContent,
    rules: &Listing,
    domains: &OperatorDomains,
) -> Vec<Finding> {
    let lexicon = words::Lexicon::new(rules);
    let mut findings = Vec::new();
    for (path, text) in content.texts() {
        if path.field == ListingField::OwnProductPage || text.trim().is_empty() {
            continue;
        }
        let folded = folded_chars(text);
        let mut hits = lexicon.scan(&folded, rules);
        if rules.flag_external_links && path.field != ListingField::OpenSourceLicences {
            let original: Vec<char> = text.chars().collect();
            hits.extend(links::external_links(&folded, &original, domains));
        }
        if rules.flag_off_platform_contacts {
            hits.extend(contacts::off_platform_contacts(&folded, domains));
        }
        hits.sort_by_key(|h| (h.start, h.end));
        for hit in hits {
            findings.push(Finding {
                id: 0,
                kind: hit.kind,
                path,
                matched: slice_chars(text, hit.start, hit.end),
                start: hit.start,
                end: hit.end,
                severity: hit.severity,
                term: hit.term,
                violation: hit.violation,
                message: hit.message,
            });
        }
    }
    for (n, f) in (1u32..).zip(findings.iter_mut()) {
        f.id = n;
    }
    findings
}

#[cfg(test)]
mod tests;
