//! Rulebooks as data: every number, window, table and threshold of SPEC comes from a versioned
//! TOML file (`rulebooks/*.toml`, format in `rulebooks/README.md`), validated when loaded and
//! chosen by effective date.
//!
//! - [`Rulebook`]: one version of one rulebook — a marketplace rulebook (ALI 2020, TC 2017,
//!   JD 2019) or a partner-programme rulebook (PA 2017, PA FY22).
//! - [`Library`]: every loaded version grouped by family; [`Library::in_force`] picks the version
//!   that judges an act of a given date (ALI-R art.32, TC 9.2, JD art.30).
//!
//! Loading is parse (serde, `deny_unknown_fields` everywhere, so a misspelt key is an error) then
//! validate (impossible values, dangling codes); every error names file, line and key.

mod common;
mod library;
mod marketplace;
mod partner;
mod validate;
mod violation;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::source::{SourceError, TomlSource};

pub use common::{
    DeductionSource, NoticeChannel, Procedure, Publication, RatingScale, Score, SourceDocument,
};
pub use library::Library;
pub use marketplace::{
    BrandName, CategoryRefund, ConsignmentInvoiceBasis, DataProtection, Deposit, DisputeGround,
    DisputeRefund, Exit, ExitRefund, Expulsion, ExpulsionGround, ExtraMeasure, FeeModel,
    FreezeScope, Invoices, Listing, ListingField, MarketplaceRulebook, Material, NegativePayout,
    Onboarding, OutsideWindow, Penalties, Points, ProductCategory, ProhibitedContent,
    RefundRateCheck, RefundReason, RefundWindow, Refunds, SaasDeliveryFailure, Settlement,
    SettlementPeriod, Support, Surcharge, TopUpFailureStep, Unreachable, Verification, Visibility,
    VisibilityAction,
};
pub use partner::{
    AccountType, Accounts, AnnualScope, Assessment, Behaviour, BehaviourArea, BusinessType,
    CityProviders, CityUnlinkGround, Class1, Class2, Class3, Counting, EntryCriteria, Escalation,
    Fines, Integrity, LateFee, LateFeeMeasure, PartnerCategory, PartnerDeposit, PartnerExit,
    PartnerRulebook, Rebate, Restriction, Termination, Tier, TierEntry, Unlinking,
    ViolationClasses,
};
pub use violation::{Action, DepositDeduction, Level, ViolationRow};

/// One version of one rulebook.
///
/// Serialises to the shape of its file (the `[rulebook].kind` key tells the two apart).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Rulebook {
    Marketplace(Box<MarketplaceRulebook>),
    Partner(Box<PartnerRulebook>),
}

/// What a rulebook governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RulebookKind {
    /// A cloud marketplace's provider management rules (ALI-R, TC, JD).
    Marketplace,
    /// The operator's partner programme rules (PA-17, PA-22).
    Partner,
}

/// The `[rulebook]` table every file starts with: who issued it, which version, from when.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// This version's unique id, `<family>-<version>`: "ali-2020", "partner-fy22".
    pub id: String,
    /// The rulebook's name across versions: "ali", "tc", "jd", "partner".
    pub family: String,
    /// Marketplace or partner rulebook.
    pub kind: RulebookKind,
    /// Issuing operator, in Chinese (ALI-A preamble: 阿里云计算有限公司).
    pub operator_zh: String,
    /// Issuing operator, in English.
    pub operator_en: String,
    /// Title of the source rulebook, in Chinese (e.g. 云市场服务商管理规范).
    pub name_zh: String,
    /// Title in English.
    pub name_en: String,
    /// Version label as the operator names it ("2020", "FY22", or a document number).
    pub version: String,
    /// First day the version judges acts (ALI-R art.31: 2020-04-01; TC 9.1; JD art.29).
    #[serde(with = "common::date")]
    pub effective_from: Date,
    /// Prefix of every violation or behaviour code in this file ("ALI" → "ALI-B1").
    pub code_prefix: String,
    /// Notice before a revision takes effect, in months (ALI-A 2.2.3: 1 month); absent when the
    /// source sets none (the revision's notice names its date: PA-17 3.3.4, PA-22 5.2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_notice_months: Option<u32>,
    /// The source documents this file transcribes, cited by their `short` name.
    pub sources: Vec<SourceDocument>,
}

/// A rulebook that failed to load, or a question the library cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulebookError {
    /// One or more located errors (file, line, key) in rulebook files.
    #[error("{}", list(.0))]
    Invalid(Vec<SourceError>),
    #[error("no rulebook named {name:?} (known: {known})")]
    UnknownName { name: String, known: String },
    #[error(
        "no {family} rulebook is in force on {date}: the first version, {first_id}, takes effect on {first_effective}"
    )]
    NotYetInForce {
        family: String,
        date: Date,
        first_id: String,
        first_effective: Date,
    },
    #[error(
        "{id} does not judge acts of {date}: {in_force_id} (in force from {in_force_from}) replaced it; ask for {family:?} to get the version in force"
    )]
    Superseded {
        id: String,
        family: String,
        date: Date,
        in_force_id: String,
        in_force_from: Date,
    },
    #[error("cannot render rulebook: {0}")]
    Render(String),
}

fn list(errors: &[SourceError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl From<SourceError> for RulebookError {
    fn from(e: SourceError) -> Self {
        RulebookError::Invalid(vec![e])
    }
}

impl RulebookError {
    /// The located errors, if this is a file error.
    pub fn source_errors(&self) -> &[SourceError] {
        match self {
            RulebookError::Invalid(errors) => errors,
            _ => &[],
        }
    }
}

/// Just enough of a file to know which model to read it with.
#[derive(Deserialize)]
struct Header {
    rulebook: HeaderIdentity,
}

#[derive(Deserialize)]
struct HeaderIdentity {
    kind: RulebookKind,
}

impl Rulebook {
    /// Parses and validates one rulebook file. `file` is only used in error messages.
    pub fn parse(file: &str, text: &str) -> Result<Rulebook, RulebookError> {
        let source = TomlSource::new(file, text);
        let header: Header = source.deserialize()?;
        let (rulebook, errors) = match header.rulebook.kind {
            RulebookKind::Marketplace => {
                let m: MarketplaceRulebook = source.deserialize()?;
                let errors = validate::marketplace(&m, &source);
                (Rulebook::Marketplace(Box::new(m)), errors)
            }
            RulebookKind::Partner => {
                let p: PartnerRulebook = source.deserialize()?;
                let errors = validate::partner(&p, &source);
                (Rulebook::Partner(Box::new(p)), errors)
            }
        };
        if errors.is_empty() {
            Ok(rulebook)
        } else {
            let mut errors = errors;
            errors.sort_by_key(|e| e.line);
            Err(RulebookError::Invalid(errors))
        }
    }

    pub fn identity(&self) -> &Identity {
        match self {
            Rulebook::Marketplace(m) => &m.rulebook,
            Rulebook::Partner(p) => &p.rulebook,
        }
    }

    /// "ali-2020".
    pub fn id(&self) -> &str {
        &self.identity().id
    }

    /// "ali".
    pub fn family(&self) -> &str {
        &self.identity().family
    }

    pub fn kind(&self) -> RulebookKind {
        self.identity().kind
    }

    pub fn effective_from(&self) -> Date {
        self.identity().effective_from
    }

    pub fn as_marketplace(&self) -> Option<&MarketplaceRulebook> {
        match self {
            Rulebook::Marketplace(m) => Some(m),
            Rulebook::Partner(_) => None,
        }
    }

    pub fn as_partner(&self) -> Option<&PartnerRulebook> {
        match self {
            Rulebook::Partner(p) => Some(p),
            Rulebook::Marketplace(_) => None,
        }
    }

    /// Rows of the violation table (marketplace) or of the behaviour catalogue (partner).
    pub fn violation_rows(&self) -> usize {
        match self {
            Rulebook::Marketplace(m) => m.violation.len(),
            Rulebook::Partner(p) => p.behaviour.len(),
        }
    }

    /// The rulebook as TOML in the file's shape (comments dropped), which loads back equal.
    pub fn to_toml(&self) -> Result<String, RulebookError> {
        let text =
            toml::to_string_pretty(self).map_err(|e| RulebookError::Render(e.to_string()))?;
        // Dates serialise as ISO strings (right for JSON); the file format wants a TOML date.
        let date = self.effective_from();
        Ok(text.replacen(
            &format!("effective_from = \"{date}\""),
            &format!("effective_from = {date}"),
            1,
        ))
    }
}
