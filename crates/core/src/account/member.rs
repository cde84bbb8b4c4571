//! Members (会员): cloud accounts, personal or enterprise, and their real-name /
//! enterprise verification (实名认证 / 企业认证), decided by an operator reviewer.
//!
//! ```text
//! unverified ──submit──▶ pending ──verify──▶ verified
//!                          │  ▲
//!                     reject│  │submit (corrected details)
//!                          ▼  │
//!                        rejected{reason}
//! ```

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::decision::Outcome;
use crate::ids::{MemberId, UserId};
use crate::rulebook::Verification;

use super::identity::{is_valid_credit_code, is_valid_resident_id};
use super::{AccountError, Email, check_display_name};

/// Personal (个人) or enterprise (企业) account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    Personal,
    Enterprise,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::Personal => "personal",
            MemberKind::Enterprise => "enterprise",
        }
    }
}

/// The identity document of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdDocument {
    /// 居民身份证: 18 characters with a check character.
    ResidentId,
    /// Passport or travel permit (护照, 港澳台通行证): 5–20 letters and digits.
    Passport,
}

/// What a member submits to be verified. Personal members give a person's identity,
/// enterprise members their organisation's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VerificationDetails {
    Personal {
        real_name: String,
        id_document: IdDocument,
        id_number: String,
    },
    Enterprise {
        company_name: String,
        /// 统一社会信用代码.
        credit_code: String,
        legal_representative: String,
        /// A corporate bank account (对公银行账号), for rulebooks that verify by it (TC 3.1.2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        corporate_bank_account: Option<String>,
    },
}

const MAX_NAME_CHARS: usize = 100;

fn check_name(name: &str, what: &'static str) -> Result<String, AccountError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(AccountError::InvalidVerificationDetails(what));
    }
    Ok(name.to_owned())
}

impl VerificationDetails {
    pub fn kind(&self) -> MemberKind {
        match self {
            VerificationDetails::Personal { .. } => MemberKind::Personal,
            VerificationDetails::Enterprise { .. } => MemberKind::Enterprise,
        }
    }

    /// Trims and upper-cases what has a normal form, and checks every field.
    pub fn normalized(self) -> Result<VerificationDetails, AccountError> {
        match self {
            VerificationDetails::Personal {
                real_name,
                id_document,
                id_number,
            } => {
                let real_name = check_name(&real_name, "the real name must be 1–100 characters")?;
                let id_number = id_number.trim().to_ascii_uppercase();
                let ok = match id_document {
                    IdDocument::ResidentId => is_valid_resident_id(&id_number),
                    IdDocument::Passport => {
                        (5..=20).contains(&id_number.len())
                            && id_number.chars().all(|c| c.is_ascii_alphanumeric())
                    }
                };
                if !ok {
                    return Err(AccountError::InvalidVerificationDetails(
                        match id_document {
                            IdDocument::ResidentId => {
                                "the resident ID number must be 18 characters with a correct check \
                             character"
                            }
                            IdDocument::Passport => {
                                "the passport or permit number must be 5–20 letters and digits"
                            }
                        },
                    ));
                }
                Ok(VerificationDetails::Personal {
                    real_name,
                    id_document,
                    id_number,
                })
            }
            VerificationDetails::Enterprise {
                company_name,
                credit_code,
                legal_representative,
                corporate_bank_account,
            } => {
                let company_name =
                    check_name(&company_name, "the company name must be 1–100 characters")?;
                let legal_representative = check_name(
                    &legal_representative,
                    "the legal representative must be 1–100 characters",
                )?;
                let credit_code = credit_code.trim().to_ascii_uppercase();
                if !is_valid_credit_code(&credit_code) {
                    return Err(AccountError::InvalidVerificationDetails(
                        "the unified social credit code must be 18 characters with a correct \
                         check character",
                    ));
                }
                let corporate_bank_account = match corporate_bank_account {
                    None => None,
                    Some(a) => {
                        let a: String = a.chars().filter(|c| !c.is_whitespace()).collect();
                        if !(8..=32).contains(&a.len()) || !a.chars().all(|c| c.is_ascii_digit()) {
                            return Err(AccountError::InvalidVerificationDetails(
                                "the corporate bank account must be 8–32 digits",
                            ));
                        }
                        Some(a)
                    }
                };
                Ok(VerificationDetails::Enterprise {
                    company_name,
                    credit_code,
                    legal_representative,
                    corporate_bank_account,
                })
            }
        }
    }

    /// The same details masked for staff whose role does not need them (SPEC §14): the
    /// identity number and the corporate bank account as `••••` and their last four
    /// characters (as receiving-account numbers are shown), names to their first character.
    pub fn masked(&self) -> VerificationDetails {
        fn mask(s: &str, keep_start: usize, keep_end: usize) -> String {
            let n = s.chars().count();
            if n <= keep_start + keep_end {
                return "*".repeat(n);
            }
            s.chars()
                .enumerate()
                .map(|(i, c)| {
                    if i < keep_start || i >= n - keep_end {
                        c
                    } else {
                        '*'
                    }
                })
                .collect()
        }
        match self {
            VerificationDetails::Personal {
                real_name,
                id_document,
                id_number,
            } => VerificationDetails::Personal {
                real_name: mask(real_name, 1, 0),
                id_document: *id_document,
                id_number: mask_tail(id_number),
            },
            VerificationDetails::Enterprise {
                company_name,
                credit_code,
                legal_representative,
                corporate_bank_account,
            } => VerificationDetails::Enterprise {
                company_name: company_name.clone(),
                credit_code: credit_code.clone(),
                legal_representative: mask(legal_representative, 1, 0),
                corporate_bank_account: corporate_bank_account.as_deref().map(mask_tail),
            },
        }
    }
}

/// `••••` and the last four characters of `number`.
pub fn mask_tail(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("••••{tail}")
}

/// Where a member's verification stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VerificationStatus {
    Unverified,
    /// Submitted, awaiting an operator reviewer.
    Pending {
        details: VerificationDetails,
        submitted_at: Timestamp,
    },
    Verified {
        details: VerificationDetails,
        submitted_at: Timestamp,
        decided_at: Timestamp,
        decided_by: Option<UserId>,
    },
    Rejected {
        details: VerificationDetails,
        reason: String,
        submitted_at: Timestamp,
        decided_at: Timestamp,
        decided_by: Option<UserId>,
    },
}

impl VerificationStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            VerificationStatus::Unverified => "unverified",
            VerificationStatus::Pending { .. } => "pending",
            VerificationStatus::Verified { .. } => "verified",
            VerificationStatus::Rejected { .. } => "rejected",
        }
    }

    pub fn details(&self) -> Option<&VerificationDetails> {
        match self {
            VerificationStatus::Unverified => None,
            VerificationStatus::Pending { details, .. }
            | VerificationStatus::Verified { details, .. }
            | VerificationStatus::Rejected { details, .. } => Some(details),
        }
    }

    /// The same status with identity numbers masked.
    pub fn masked(&self) -> VerificationStatus {
        let mut out = self.clone();
        match &mut out {
            VerificationStatus::Unverified => {}
            VerificationStatus::Pending { details, .. }
            | VerificationStatus::Verified { details, .. }
            | VerificationStatus::Rejected { details, .. } => *details = details.masked(),
        }
        out
    }
}

/// A reviewer's decision on a pending verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum VerificationDecision {
    Verified,
    Rejected { reason: String },
}

const MAX_REASON_CHARS: usize = 1000;

/// A member account (会员).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub kind: MemberKind,
    pub display_name: String,
    /// Contact address; also the login of the member's user.
    pub email: Email,
    pub verification: VerificationStatus,
    pub created_at: Timestamp,
}

impl Member {
    /// A new, unverified member.
    pub fn register(
        id: MemberId,
        kind: MemberKind,
        display_name: &str,
        email: Email,
        now: Timestamp,
    ) -> Result<(Member, Outcome), AccountError> {
        let member = Member {
            id,
            kind,
            display_name: check_display_name(display_name)?,
            email,
            verification: VerificationStatus::Unverified,
            created_at: now,
        };
        let outcome = Outcome::default().event(
            "member.registered",
            member.subject(),
            serde_json::json!({ "member_id": id, "kind": kind.as_str() }),
        );
        Ok((member, outcome))
    }

    /// `member:<id>`, the subject of its events.
    pub fn subject(&self) -> String {
        format!("member:{}", self.id)
    }

    pub fn is_verified(&self) -> bool {
        matches!(self.verification, VerificationStatus::Verified { .. })
    }

    /// Whether this member has passed the verification a rulebook asks of providers.
    pub fn satisfies(&self, required: Verification) -> bool {
        let VerificationStatus::Verified { details, .. } = &self.verification else {
            return false;
        };
        matches!(
            (required, details),
            (Verification::RealName, _)
                | (
                    Verification::EnterpriseRealName,
                    VerificationDetails::Enterprise { .. }
                )
                | (
                    Verification::CorporateBankAccount,
                    VerificationDetails::Enterprise {
                        corporate_bank_account: Some(_),
                        ..
                    },
                )
        )
    }

    /// The member submits (or, after a rejection, resubmits) its details for review.
    pub fn submit_verification(
        &self,
        details: VerificationDetails,
        now: Timestamp,
    ) -> Result<(Member, Outcome), AccountError> {
        match self.verification {
            VerificationStatus::Unverified | VerificationStatus::Rejected { .. } => {}
            VerificationStatus::Pending { .. } => return Err(AccountError::VerificationPending),
            VerificationStatus::Verified { .. } => return Err(AccountError::AlreadyVerified),
        }
        let details = details.normalized()?;
        if details.kind() != self.kind {
            return Err(AccountError::VerificationKindMismatch {
                member: self.kind.as_str(),
                given: details.kind().as_str(),
            });
        }
        let mut next = self.clone();
        next.verification = VerificationStatus::Pending {
            details,
            submitted_at: now,
        };
        let outcome = Outcome::default().event(
            "member.verification_submitted",
            self.subject(),
            serde_json::json!({ "member_id": self.id, "kind": self.kind.as_str() }),
        );
        Ok((next, outcome))
    }

    /// An operator reviewer decides a pending verification. (Whether the actor may review
    /// is [`super::can_review_verification`]; the shell checks it first.)
    pub fn decide_verification(
        &self,
        decision: VerificationDecision,
        reviewer: Option<UserId>,
        now: Timestamp,
    ) -> Result<(Member, Outcome), AccountError> {
        let VerificationStatus::Pending {
            details,
            submitted_at,
        } = &self.verification
        else {
            return Err(AccountError::VerificationNotPending);
        };
        let (details, submitted_at) = (details.clone(), *submitted_at);
        let mut next = self.clone();
        let payload = match decision {
            VerificationDecision::Verified => {
                next.verification = VerificationStatus::Verified {
                    details,
                    submitted_at,
                    decided_at: now,
                    decided_by: reviewer,
                };
                serde_json::json!({ "member_id": self.id, "decision": "verified", "reviewer": reviewer })
            }
            VerificationDecision::Rejected { reason } => {
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(AccountError::ReasonRequired);
                }
                let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
                next.verification = VerificationStatus::Rejected {
                    details,
                    reason: reason.clone(),
                    submitted_at,
                    decided_at: now,
                    decided_by: reviewer,
                };
                serde_json::json!({
                    "member_id": self.id,
                    "decision": "rejected",
                    "reason": reason,
                    "reviewer": reviewer,
                })
            }
        };
        let outcome =
            Outcome::default().event("member.verification_decided", self.subject(), payload);
        Ok((next, outcome))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_775_000_000 + s).unwrap()
    }

    fn member(kind: MemberKind) -> Member {
        Member::register(
            MemberId(Uuid::from_u128(1)),
            kind,
            " 王芳 ",
            Email::parse("wang@example.com").unwrap(),
            t(0),
        )
        .unwrap()
        .0
    }

    fn personal() -> VerificationDetails {
        VerificationDetails::Personal {
            real_name: "王芳".into(),
            id_document: IdDocument::ResidentId,
            id_number: "11010519491231002x".into(),
        }
    }

    fn enterprise(bank: Option<&str>) -> VerificationDetails {
        VerificationDetails::Enterprise {
            company_name: "福州云市科技有限公司".into(),
            credit_code: "91350100m000100y43".into(),
            legal_representative: "林海".into(),
            corporate_bank_account: bank.map(str::to_owned),
        }
    }

    #[test]
    fn registration_starts_unverified_and_records_an_event_without_personal_data() {
        let (m, out) = Member::register(
            MemberId(Uuid::from_u128(1)),
            MemberKind::Personal,
            "王芳",
            Email::parse("Wang@Example.com").unwrap(),
            t(0),
        )
        .unwrap();
        assert_eq!(m.verification, VerificationStatus::Unverified);
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].kind, "member.registered");
        let payload = out.events[0].payload.to_string();
        assert!(
            !payload.contains("wang") && !payload.contains("王芳"),
            "{payload}"
        );
        assert_eq!(member(MemberKind::Personal).display_name, "王芳");
    }

    #[test]
    fn verification_goes_pending_then_verified_by_review() {
        let m = member(MemberKind::Personal);
        let (m, out) = m.submit_verification(personal(), t(10)).unwrap();
        assert_eq!(m.verification.as_str(), "pending");
        assert_eq!(out.events[0].kind, "member.verification_submitted");
        assert!(!out.events[0].payload.to_string().contains("110105"));
        // Normalised: the check character upper-cased.
        assert!(matches!(
            m.verification.details(),
            Some(VerificationDetails::Personal { id_number, .. }) if id_number == "11010519491231002X"
        ));
        let reviewer = Some(UserId(Uuid::from_u128(9)));
        let (m, _) = m
            .decide_verification(VerificationDecision::Verified, reviewer, t(20))
            .unwrap();
        assert!(m.is_verified());
        assert!(m.satisfies(Verification::RealName));
        assert!(!m.satisfies(Verification::EnterpriseRealName));
        assert_eq!(
            m.submit_verification(personal(), t(30)).unwrap_err(),
            AccountError::AlreadyVerified
        );
    }

    #[test]
    fn a_rejection_needs_a_reason_and_allows_resubmission() {
        let (m, _) = member(MemberKind::Enterprise)
            .submit_verification(enterprise(None), t(1))
            .unwrap();
        assert_eq!(
            m.submit_verification(enterprise(None), t(2)).unwrap_err(),
            AccountError::VerificationPending
        );
        assert_eq!(
            m.decide_verification(
                VerificationDecision::Rejected {
                    reason: "  ".into()
                },
                None,
                t(3)
            )
            .unwrap_err(),
            AccountError::ReasonRequired
        );
        let (m, out) = m
            .decide_verification(
                VerificationDecision::Rejected {
                    reason: "营业执照不清晰".into(),
                },
                None,
                t(3),
            )
            .unwrap();
        assert_eq!(m.verification.as_str(), "rejected");
        assert_eq!(out.events[0].payload["decision"], "rejected");
        assert_eq!(
            m.decide_verification(VerificationDecision::Verified, None, t(4))
                .unwrap_err(),
            AccountError::VerificationNotPending
        );
        let (m, _) = m
            .submit_verification(enterprise(Some("6222 0200 1234 5678")), t(5))
            .unwrap();
        let (m, _) = m
            .decide_verification(VerificationDecision::Verified, None, t(6))
            .unwrap();
        assert!(m.satisfies(Verification::EnterpriseRealName));
        assert!(m.satisfies(Verification::CorporateBankAccount));
        assert!(m.satisfies(Verification::RealName));
    }

    #[test]
    fn details_must_match_the_member_kind_and_pass_their_checks() {
        let m = member(MemberKind::Personal);
        assert!(matches!(
            m.submit_verification(enterprise(None), t(1)),
            Err(AccountError::VerificationKindMismatch { .. })
        ));
        let bad_id = VerificationDetails::Personal {
            real_name: "王芳".into(),
            id_document: IdDocument::ResidentId,
            id_number: "110105194912310021".into(),
        };
        assert!(matches!(
            m.submit_verification(bad_id, t(1)),
            Err(AccountError::InvalidVerificationDetails(_))
        ));
        let no_name = VerificationDetails::Personal {
            real_name: " ".into(),
            id_document: IdDocument::Passport,
            id_number: "E12345678".into(),
        };
        assert!(matches!(
            m.submit_verification(no_name, t(1)),
            Err(AccountError::InvalidVerificationDetails(_))
        ));
        let e = member(MemberKind::Enterprise);
        assert!(matches!(
            e.submit_verification(enterprise(Some("12ab")), t(1)),
            Err(AccountError::InvalidVerificationDetails(_))
        ));
    }

    #[test]
    fn masking_hides_identity_numbers() {
        let masked = personal().normalized().unwrap().masked();
        let VerificationDetails::Personal {
            real_name,
            id_number,
            ..
        } = masked
        else {
            panic!("personal")
        };
        assert_eq!(real_name, "王*");
        assert_eq!(id_number, "••••002X");
        let VerificationDetails::Enterprise {
            corporate_bank_account,
            ..
        } = enterprise(Some("6222020012345678")).masked()
        else {
            panic!("enterprise")
        };
        assert_eq!(corporate_bank_account.as_deref(), Some("••••5678"));
    }

    #[test]
    fn state_round_trips_through_json() {
        let (m, _) = member(MemberKind::Personal)
            .submit_verification(personal(), t(1))
            .unwrap();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["verification"]["status"], "pending");
        assert_eq!(json["verification"]["details"]["type"], "personal");
        let back: Member = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }
}
