//! One version of a product's listing and its review: draft → submitted (automatic checks
//! run) → approved or rejected (SPEC §5; ALI-R art.14(1), 22(10); TC 4.1.1, 6.1.2; JD art.10(1),
//! 18(10)).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::checks::Finding;
use super::content::ListingContent;
use super::terms::{ListingTerms, RefundClass};
use crate::ids::{ListingVersionId, UserId};
use crate::rulebook::ProhibitedContent;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingVersion {
    pub id: ListingVersionId,
    /// 1 for the first version of the product, then 2, 3, …
    pub number: u32,
    pub terms: ListingTerms,
    pub content: ListingContent,
    pub edited_at: Timestamp,
    #[serde(flatten)]
    pub status: VersionStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VersionStatus {
    /// Being edited by the provider.
    Draft,
    /// Waiting for a reviewer.
    Submitted { submission: Submission },
    /// Passed review: live, or was live until a later version replaced it.
    Approved {
        submission: Submission,
        approval: ApprovalRecord,
    },
    /// Refused; the provider edits it into a new version.
    Rejected {
        submission: Submission,
        rejection: RejectionRecord,
    },
}

/// What a submission fixed: when, under which rulebook, the refund class shown to buyers, and
/// the findings of the automatic checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub at: Timestamp,
    /// Id of the rulebook the checks ran under (ALI-R art.32: the rulebook in force judges).
    pub rulebook: String,
    pub refund_class: RefundClass,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub at: Timestamp,
    pub by: UserId,
    /// One per finding: the reviewer saw it and approved anyway.
    pub acknowledgements: Vec<Acknowledgement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub finding: u32,
    pub by: UserId,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionRecord {
    pub at: Timestamp,
    pub by: UserId,
    /// Picked from the rulebook's prohibited-content list (ALI-R art.14(8)–(9)).
    pub reasons: Vec<ProhibitedContent>,
    /// Findings the reviewer cites.
    pub findings: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A reviewer's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    pub reviewer: UserId,
    /// Every finding of the submission, acknowledged.
    #[serde(default)]
    pub acknowledged: Vec<FindingAck>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingAck {
    pub finding: u32,
    #[serde(default)]
    pub note: Option<String>,
}

/// A reviewer's rejection: prohibited-content reasons and/or cited findings and/or free text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    pub reviewer: UserId,
    #[serde(default)]
    pub reasons: Vec<ProhibitedContent>,
    #[serde(default)]
    pub findings: Vec<u32>,
    #[serde(default)]
    pub note: Option<String>,
}

impl ListingVersion {
    pub(crate) fn draft(
        id: ListingVersionId,
        number: u32,
        terms: ListingTerms,
        content: ListingContent,
        at: Timestamp,
    ) -> Self {
        ListingVersion {
            id,
            number,
            terms,
            content,
            edited_at: at,
            status: VersionStatus::Draft,
        }
    }

    pub fn status_name(&self) -> &'static str {
        match self.status {
            VersionStatus::Draft => "draft",
            VersionStatus::Submitted { .. } => "submitted",
            VersionStatus::Approved { .. } => "approved",
            VersionStatus::Rejected { .. } => "rejected",
        }
    }

    /// The submission this version went through, if any.
    pub fn submission(&self) -> Option<&Submission> {
        match &self.status {
            VersionStatus::Draft => None,
            VersionStatus::Submitted { submission }
            | VersionStatus::Approved { submission, .. }
            | VersionStatus::Rejected { submission, .. } => Some(submission),
        }
    }

    /// Findings of the last check run (empty for a draft).
    pub fn findings(&self) -> &[Finding] {
        self.submission().map_or(&[], |s| &s.findings)
    }
}
