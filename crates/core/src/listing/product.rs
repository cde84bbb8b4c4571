//! The product aggregate (商品) and its review flow: who sells what in which category, the
//! version that is live and the version under edit or review. Shelf state is in [`super::shelf`].
//!
//! An update to a live product is a new version reviewed while the approved one stays live
//! (SPEC §5; ALI-R art.22(10)): `live` and `pending` are separate slots.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::checks::{OperatorDomains, run_checks};
use super::content::ListingContent;
use super::error::ListingError;
use super::shelf::OperatorHold;
use super::terms::{ListingTerms, RefundClass};
use super::version::{
    Acknowledgement, ApprovalRecord, Approve, ListingVersion, Reject, RejectionRecord, Submission,
    VersionStatus,
};
use crate::catalog::{ProductCategory, SalesMode};
use crate::decision::{Context, Outcome};
use crate::ids::{ListingVersionId, ProductId, ProviderId, StoreId};
use crate::rulebook::MarketplaceRulebook;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub provider: ProviderId,
    pub store: StoreId,
    pub category: ProductCategory,
    pub sales_mode: SalesMode,
    pub created_at: Timestamp,
    /// The approved version buyers see; `None` until the first approval.
    pub live: Option<ListingVersion>,
    /// The version being edited, reviewed or rejected.
    pub pending: Option<ListingVersion>,
    /// The provider took the product off the shelf (下架).
    pub delisted_by_provider: bool,
    /// The operator's holds, each under its own key so lifting one leaves the others.
    pub holds: Vec<OperatorHold>,
    /// Versions made so far; the next one gets this number plus one.
    pub versions_made: u32,
}

/// A new product with its first draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub provider: ProviderId,
    pub store: StoreId,
    pub category: ProductCategory,
    pub sales_mode: SalesMode,
    pub terms: ListingTerms,
    pub content: ListingContent,
}

/// What the provider edits: the whole version, terms and content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingDraft {
    pub terms: ListingTerms,
    pub content: ListingContent,
}

/// What the listing rules need to know about the provider (ALI-A 4.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStanding {
    pub deposit_fully_paid: bool,
}

impl Product {
    /// The title buyers see: the live version's, else the one in review or being edited.
    pub fn title(&self) -> &str {
        self.live
            .as_ref()
            .or(self.pending.as_ref())
            .map_or("", |v| v.content.title.as_str())
    }

    /// Opens a product with its first draft. Completeness is checked on submit; shape, price
    /// and the category's refund class now, so a bad draft is refused while it is typed.
    pub fn create(
        ctx: &mut Context<'_>,
        new: NewProduct,
    ) -> Result<(Product, Outcome), ListingError> {
        let class = RefundClass::of(ctx.rulebook, new.category)?;
        new.terms.validate(class)?;
        new.content.validate_shape()?;
        let id = ProductId(ctx.ids.next_id());
        let version = ListingVersion::draft(
            ListingVersionId(ctx.ids.next_id()),
            1,
            new.terms,
            new.content,
            ctx.now,
        );
        let product = Product {
            id,
            provider: new.provider,
            store: new.store,
            category: new.category,
            sales_mode: new.sales_mode,
            created_at: ctx.now,
            live: None,
            pending: Some(version),
            delisted_by_provider: false,
            holds: Vec::new(),
            versions_made: 1,
        };
        let outcome = Outcome::default().event(
            "product.created",
            product.subject(),
            json!({
                "provider": product.provider,
                "store": product.store,
                "category": product.category,
                "sales_mode": product.sales_mode,
                "version": product.pending.as_ref().map(|v| v.id),
            }),
        );
        Ok((product, outcome))
    }

    pub fn subject(&self) -> String {
        format!("product:{}", self.id)
    }

    /// Replaces the pending version's terms and content. A draft is edited in place; a
    /// rejected version, or a live product without a pending one, gets a new version, so each
    /// submission keeps the content it was judged on.
    pub fn edit(
        &self,
        ctx: &mut Context<'_>,
        draft: ListingDraft,
    ) -> Result<(Product, Outcome), ListingError> {
        let class = RefundClass::of(ctx.rulebook, self.category)?;
        draft.terms.validate(class)?;
        draft.content.validate_shape()?;
        let mut next = self.clone();
        let version = match &self.pending {
            Some(v) if v.status == VersionStatus::Draft => ListingVersion {
                terms: draft.terms,
                content: draft.content,
                edited_at: ctx.now,
                ..v.clone()
            },
            Some(v) if matches!(v.status, VersionStatus::Submitted { .. }) => {
                return Err(self.refuse("edit", "version", v.status_name()));
            }
            _ => {
                next.versions_made += 1;
                ListingVersion::draft(
                    ListingVersionId(ctx.ids.next_id()),
                    next.versions_made,
                    draft.terms,
                    draft.content,
                    ctx.now,
                )
            }
        };
        let outcome = Outcome::default().event(
            "product.version_edited",
            self.subject(),
            json!({ "version": version.id, "number": version.number }),
        );
        next.pending = Some(version);
        Ok((next, outcome))
    }

    /// Submits the draft for review: complete per the rulebook, priced within range, deposit
    /// paid for a paid product (ALI-A 4.5.1); the automatic checks run and their findings are
    /// kept on the version.
    pub fn submit(
        &self,
        ctx: &mut Context<'_>,
        standing: ProviderStanding,
        domains: &OperatorDomains,
    ) -> Result<(Product, Outcome), ListingError> {
        let Some(version) = &self.pending else {
            return Err(self.refuse("submit", "product", "without a draft"));
        };
        if version.status != VersionStatus::Draft {
            return Err(self.refuse("submit", "version", version.status_name()));
        }
        let rules = ctx.rulebook;
        let refund_class = RefundClass::of(rules, self.category)?;
        version.terms.validate(refund_class)?;
        version.content.validate_shape()?;
        let missing = version
            .content
            .missing_fields(&rules.listing.required_fields);
        if !missing.is_empty() {
            return Err(ListingError::MissingFields(missing));
        }
        require_deposit(rules, &version.terms, standing)?;
        let findings = run_checks(&version.content, &rules.listing, domains);
        let mut submitted = version.clone();
        submitted.status = VersionStatus::Submitted {
            submission: Submission {
                at: ctx.now,
                rulebook: rules.rulebook.id.clone(),
                refund_class,
                findings,
            },
        };
        let outcome = Outcome::default().event(
            "product.version_submitted",
            self.subject(),
            json!({
                "version": submitted.id,
                "number": submitted.number,
                "update_of_live": self.live.as_ref().map(|v| v.id),
                "findings": submitted.findings(),
            }),
        );
        let mut next = self.clone();
        next.pending = Some(submitted);
        Ok((next, outcome))
    }

    /// Takes a submitted version back into draft before the reviewer decides.
    pub fn withdraw(&self, ctx: &mut Context<'_>) -> Result<(Product, Outcome), ListingError> {
        let version = self.submitted("withdraw")?;
        let mut draft = version.clone();
        draft.status = VersionStatus::Draft;
        let outcome = Outcome::default().event(
            "product.version_withdrawn",
            self.subject(),
            json!({ "version": draft.id, "at": ctx.now }),
        );
        let mut next = self.clone();
        next.pending = Some(draft);
        Ok((next, outcome))
    }

    /// Drops an unsubmitted or rejected update of a live product; the live version stays.
    pub fn discard_pending(
        &self,
        ctx: &mut Context<'_>,
    ) -> Result<(Product, Outcome), ListingError> {
        let Some(version) = &self.pending else {
            return Err(self.refuse("discard", "product", "without a pending version"));
        };
        if self.live.is_none() || matches!(version.status, VersionStatus::Submitted { .. }) {
            let state = if self.live.is_none() {
                "never listed"
            } else {
                version.status_name()
            };
            return Err(self.refuse("discard", "version", state));
        }
        let outcome = Outcome::default().event(
            "product.version_discarded",
            self.subject(),
            json!({ "version": version.id, "at": ctx.now }),
        );
        let mut next = self.clone();
        next.pending = None;
        Ok((next, outcome))
    }

    /// The reviewer approves the submitted version, which goes live and replaces the previous
    /// live version. Every finding must be acknowledged; a paid version still needs the full
    /// deposit (ALI-A 4.5.1).
    pub fn approve(
        &self,
        ctx: &mut Context<'_>,
        approve: Approve,
        standing: ProviderStanding,
    ) -> Result<(Product, Outcome), ListingError> {
        let version = self.submitted("approve")?;
        let VersionStatus::Submitted { submission } = &version.status else {
            return Err(self.refuse("approve", "version", version.status_name()));
        };
        require_deposit(ctx.rulebook, &version.terms, standing)?;
        let known = |id: u32| submission.findings.iter().any(|f| f.id == id);
        if let Some(unknown) = approve.acknowledged.iter().find(|a| !known(a.finding)) {
            return Err(ListingError::UnknownFinding(unknown.finding));
        }
        let open: Vec<u32> = submission
            .findings
            .iter()
            .map(|f| f.id)
            .filter(|id| !approve.acknowledged.iter().any(|a| a.finding == *id))
            .collect();
        if !open.is_empty() {
            return Err(ListingError::FindingsNotAcknowledged(open));
        }
        let mut acknowledgements: Vec<Acknowledgement> = Vec::new();
        for ack in approve.acknowledged {
            if acknowledgements.iter().all(|a| a.finding != ack.finding) {
                acknowledgements.push(Acknowledgement {
                    finding: ack.finding,
                    by: approve.reviewer,
                    at: ctx.now,
                    note: ack.note.filter(|n| !n.trim().is_empty()),
                });
            }
        }
        let mut approved = version.clone();
        approved.status = VersionStatus::Approved {
            submission: submission.clone(),
            approval: ApprovalRecord {
                at: ctx.now,
                by: approve.reviewer,
                acknowledgements,
            },
        };
        let outcome = Outcome::default().event(
            "product.version_approved",
            self.subject(),
            json!({
                "version": approved.id,
                "number": approved.number,
                "reviewer": approve.reviewer,
                "replaces": self.live.as_ref().map(|v| v.id),
                "acknowledged": approved.findings().len(),
            }),
        );
        let mut next = self.clone();
        next.live = Some(approved);
        next.pending = None;
        Ok((next, outcome))
    }

    /// The reviewer rejects the submitted version with prohibited-content reasons from the
    /// rulebook in force, cited findings and/or a note. A live version stays live.
    pub fn reject(
        &self,
        ctx: &mut Context<'_>,
        reject: Reject,
    ) -> Result<(Product, Outcome), ListingError> {
        let version = self.submitted("reject")?;
        let VersionStatus::Submitted { submission } = &version.status else {
            return Err(self.refuse("reject", "version", version.status_name()));
        };
        let allowed = &ctx.rulebook.listing.prohibited_content;
        if let Some(reason) = reject.reasons.iter().find(|r| !allowed.contains(r)) {
            return Err(ListingError::ReasonNotInRulebook(*reason));
        }
        if let Some(id) = reject
            .findings
            .iter()
            .find(|id| !submission.findings.iter().any(|f| f.id == **id))
        {
            return Err(ListingError::UnknownFinding(*id));
        }
        let note = reject
            .note
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if reject.reasons.is_empty() && reject.findings.is_empty() && note.is_none() {
            return Err(ListingError::RejectionReasonRequired);
        }
        let rejection = RejectionRecord {
            at: ctx.now,
            by: reject.reviewer,
            reasons: reject.reasons,
            findings: reject.findings,
            note,
        };
        let outcome = Outcome::default().event(
            "product.version_rejected",
            self.subject(),
            json!({ "version": version.id, "number": version.number, "rejection": rejection }),
        );
        let mut rejected = version.clone();
        rejected.status = VersionStatus::Rejected {
            submission: submission.clone(),
            rejection,
        };
        let mut next = self.clone();
        next.pending = Some(rejected);
        Ok((next, outcome))
    }

    fn submitted(&self, action: &'static str) -> Result<&ListingVersion, ListingError> {
        match &self.pending {
            Some(v) if matches!(v.status, VersionStatus::Submitted { .. }) => Ok(v),
            Some(v) => Err(self.refuse(action, "version", v.status_name())),
            None => Err(self.refuse(action, "product", "without a version under review")),
        }
    }

    pub(super) fn refuse(
        &self,
        action: &'static str,
        subject: &'static str,
        state: &'static str,
    ) -> ListingError {
        ListingError::InvalidTransition {
            action,
            subject,
            state,
        }
    }
}

/// ALI-A 4.5.1: "未支付保证金的，其收费商品不得上架售卖" — free products need no deposit.
pub(super) fn require_deposit(
    rulebook: &MarketplaceRulebook,
    terms: &ListingTerms,
    standing: ProviderStanding,
) -> Result<(), ListingError> {
    if rulebook.deposit.paid_products_need_full_deposit
        && terms.is_paid()
        && !standing.deposit_fully_paid
    {
        return Err(ListingError::DepositMissing);
    }
    Ok(())
}
