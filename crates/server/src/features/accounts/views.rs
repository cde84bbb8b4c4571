//! What the account endpoints accept and answer. Requests reject unknown members; responses
//! are built from the core's types and never carry a password hash or a stored token hash.

pub use crate::kernel::auth::{ActorView, OperatorRoleDto, ProviderRoleDto, UserKindView};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::account::{
    IdDocument, Member, MemberKind, User, VerificationDecision, VerificationDetails,
    VerificationStatus,
};

// ---- enums shared by requests and responses ----

/// Personal (个人) or enterprise (企业) member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberKindDto {
    Personal,
    Enterprise,
}

impl From<MemberKindDto> for MemberKind {
    fn from(k: MemberKindDto) -> Self {
        match k {
            MemberKindDto::Personal => MemberKind::Personal,
            MemberKindDto::Enterprise => MemberKind::Enterprise,
        }
    }
}

impl From<MemberKind> for MemberKindDto {
    fn from(k: MemberKind) -> Self {
        match k {
            MemberKind::Personal => MemberKindDto::Personal,
            MemberKind::Enterprise => MemberKindDto::Enterprise,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdDocumentDto {
    /// 居民身份证 (18 characters, check character verified).
    ResidentId,
    /// Passport or travel permit (5–20 letters and digits).
    Passport,
}

impl From<IdDocumentDto> for IdDocument {
    fn from(d: IdDocumentDto) -> Self {
        match d {
            IdDocumentDto::ResidentId => IdDocument::ResidentId,
            IdDocumentDto::Passport => IdDocument::Passport,
        }
    }
}

impl From<IdDocument> for IdDocumentDto {
    fn from(d: IdDocument) -> Self {
        match d {
            IdDocument::ResidentId => IdDocumentDto::ResidentId,
            IdDocument::Passport => IdDocumentDto::Passport,
        }
    }
}

// ---- requests ----

/// Self-registration of a member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "wang.fang@example.com",
    "password": "云市场 Passw0rd",
    "display_name": "王芳",
    "kind": "personal"
}))]
pub struct RegisterMember {
    /// The login; normalised to lower case.
    pub email: String,
    /// At least 10 characters mixing at least two of: lower-case, upper-case, digits,
    /// other characters; at least 4 distinct characters; not the e-mail.
    pub password: String,
    pub display_name: String,
    pub kind: MemberKindDto,
}

/// E-mail and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "wang.fang@example.com", "password": "云市场 Passw0rd"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A new API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "nightly export", "expires_at": "2027-01-01T00:00:00Z"}))]
pub struct NewToken {
    /// What the token is for (1–100 characters).
    pub label: String,
    /// When it stops working (RFC 3339); never, if absent.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

/// Who a new user is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewUserKind {
    /// Operator staff with these roles (at least one).
    OperatorStaff { roles: Vec<OperatorRoleDto> },
    /// Staff of the provider `provider_id`.
    ProviderStaff {
        #[schema(value_type = String)]
        provider_id: Uuid,
        role: ProviderRoleDto,
    },
    /// A new member account, and this user as its login.
    Member { member_kind: MemberKindDto },
}

/// A user made by an operator administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "reviewer@yunshi.example",
    "display_name": "审核员 李",
    "password": "Review-2026-ok",
    "kind": {"type": "operator_staff", "roles": ["reviewer"]}
}))]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    /// Optional: a user without one cannot log in and works with API tokens only.
    #[serde(default)]
    pub password: Option<String>,
    pub kind: NewUserKind,
}

/// The details a member submits for verification; the type must match the member's kind.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({
    "type": "personal",
    "real_name": "王芳",
    "id_document": "resident_id",
    "id_number": "11010519491231002X"
}))]
pub enum VerificationSubmission {
    /// 个人实名认证.
    Personal {
        real_name: String,
        id_document: IdDocumentDto,
        id_number: String,
    },
    /// 企业认证.
    Enterprise {
        company_name: String,
        /// 统一社会信用代码 (18 characters, check character verified).
        credit_code: String,
        legal_representative: String,
        /// 对公银行账号, for rulebooks that verify by it.
        #[serde(default)]
        corporate_bank_account: Option<String>,
    },
}

impl From<VerificationSubmission> for VerificationDetails {
    fn from(s: VerificationSubmission) -> Self {
        match s {
            VerificationSubmission::Personal {
                real_name,
                id_document,
                id_number,
            } => VerificationDetails::Personal {
                real_name,
                id_document: id_document.into(),
                id_number,
            },
            VerificationSubmission::Enterprise {
                company_name,
                credit_code,
                legal_representative,
                corporate_bank_account,
            } => VerificationDetails::Enterprise {
                company_name,
                credit_code,
                legal_representative,
                corporate_bank_account,
            },
        }
    }
}

/// A reviewer's decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({"decision": "rejected", "reason": "证件照片不清晰"}))]
pub enum VerificationDecisionRequest {
    // A struct variant, not a unit one, so that unknown members are refused here too.
    Verified {},
    Rejected { reason: String },
}

impl From<VerificationDecisionRequest> for VerificationDecision {
    fn from(d: VerificationDecisionRequest) -> Self {
        match d {
            VerificationDecisionRequest::Verified {} => VerificationDecision::Verified,
            VerificationDecisionRequest::Rejected { reason } => {
                VerificationDecision::Rejected { reason }
            }
        }
    }
}

// ---- responses ----

/// A login.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = String)]
    pub id: Uuid,
    #[schema(example = "wang.fang@example.com")]
    pub email: String,
    pub display_name: String,
    pub kind: UserKindView,
    /// `active` or `disabled`.
    #[schema(example = "active")]
    pub status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.uuid(),
            email: u.email.to_string(),
            display_name: u.display_name.clone(),
            kind: (&u.kind).into(),
            status: u.status.as_str(),
            created_at: u.created_at,
        }
    }
}

/// Submitted verification details; identity numbers are masked for staff whose role does
/// not need them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VerificationDetailsView {
    Personal {
        real_name: String,
        id_document: IdDocumentDto,
        id_number: String,
    },
    Enterprise {
        company_name: String,
        credit_code: String,
        legal_representative: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        corporate_bank_account: Option<String>,
    },
}

impl From<&VerificationDetails> for VerificationDetailsView {
    fn from(d: &VerificationDetails) -> Self {
        match d.clone() {
            VerificationDetails::Personal {
                real_name,
                id_document,
                id_number,
            } => VerificationDetailsView::Personal {
                real_name,
                id_document: id_document.into(),
                id_number,
            },
            VerificationDetails::Enterprise {
                company_name,
                credit_code,
                legal_representative,
                corporate_bank_account,
            } => VerificationDetailsView::Enterprise {
                company_name,
                credit_code,
                legal_representative,
                corporate_bank_account,
            },
        }
    }
}

/// Where a member's verification stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerificationView {
    /// `unverified`, `pending`, `verified` or `rejected`.
    #[schema(example = "pending")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<VerificationDetailsView>,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    /// The reviewer (null for the bootstrap administrator).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub decided_by: Option<Uuid>,
}

impl From<&VerificationStatus> for VerificationView {
    fn from(v: &VerificationStatus) -> Self {
        let mut view = VerificationView {
            status: v.as_str(),
            details: v.details().map(Into::into),
            reason: None,
            submitted_at: None,
            decided_at: None,
            decided_by: None,
        };
        match v {
            VerificationStatus::Unverified => {}
            VerificationStatus::Pending { submitted_at, .. } => {
                view.submitted_at = Some(*submitted_at);
            }
            VerificationStatus::Verified {
                submitted_at,
                decided_at,
                decided_by,
                ..
            } => {
                view.submitted_at = Some(*submitted_at);
                view.decided_at = Some(*decided_at);
                view.decided_by = decided_by.map(|u| u.uuid());
            }
            VerificationStatus::Rejected {
                reason,
                submitted_at,
                decided_at,
                decided_by,
                ..
            } => {
                view.reason = Some(reason.clone());
                view.submitted_at = Some(*submitted_at);
                view.decided_at = Some(*decided_at);
                view.decided_by = decided_by.map(|u| u.uuid());
            }
        }
        view
    }
}

/// A member account.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193c0de-0000-7000-8000-000000000001",
    "kind": "personal",
    "display_name": "王芳",
    "email": "wang.fang@example.com",
    "verification": {"status": "unverified"},
    "created_at": "2026-04-01T01:00:00Z"
}))]
pub struct MemberView {
    #[schema(value_type = String)]
    pub id: Uuid,
    pub kind: MemberKindDto,
    pub display_name: String,
    pub email: String,
    pub verification: VerificationView,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl MemberView {
    /// The member as `full` or masked identity details show it.
    pub fn of(m: &Member, full: bool) -> Self {
        let verification = if full {
            (&m.verification).into()
        } else {
            (&m.verification.masked()).into()
        };
        MemberView {
            id: m.id.uuid(),
            kind: m.kind.into(),
            display_name: m.display_name.clone(),
            email: m.email.to_string(),
            verification,
            created_at: m.created_at,
        }
    }
}

/// A user an administrator created, and the member account made with it, if any.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: UserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberView>,
}

/// A new login session. The token is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "token": "5f0c…64 hex digits…",
    "token_type": "Bearer",
    "expires_at": "2026-04-01T13:00:00Z",
    "user": {
        "id": "0193c0de-0000-7000-8000-000000000002",
        "email": "wang.fang@example.com",
        "display_name": "王芳",
        "kind": {"type": "member", "member_id": "0193c0de-0000-7000-8000-000000000001"},
        "status": "active",
        "created_at": "2026-04-01T01:00:00Z"
    }
}))]
pub struct SessionView {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub user: UserView,
}

/// An API token (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    /// Use with `DELETE /api/v1/tokens/{id}`.
    #[schema(example = "3f2a9c0e1b7d4a6c8e0f1a2b3c4d5e6f")]
    pub id: String,
    pub label: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

/// A new API token. The secret is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "token": "9b1e…64 hex digits…",
    "id": "3f2a9c0e1b7d4a6c8e0f1a2b3c4d5e6f",
    "label": "nightly export",
    "created_at": "2026-04-01T01:00:00Z",
    "expires_at": "2027-01-01T00:00:00Z",
    "principal": "user:0193c0de-0000-7000-8000-000000000002"
}))]
pub struct IssuedApiToken {
    /// Send as `Authorization: Bearer <token>`. Store it now: it cannot be shown again.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
    /// Who it acts as, e.g. `user:0193…`.
    pub principal: String,
}

/// One page of the caller's API tokens, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPage {
    pub items: Vec<TokenView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The caller: its credential, the actor it resolves to, and its user and member account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub principal: crate::kernel::auth::Principal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberView>,
}

/// A session or API token of a user (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialView {
    /// Use to revoke it.
    #[schema(example = "3f2a9c0e1b7d4a6c8e0f1a2b3c4d5e6f")]
    pub id: String,
    /// `session` (a login) or `api` (an API token).
    #[schema(example = "session")]
    pub kind: &'static str,
    pub label: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Whether it is the credential of this very request.
    pub current: bool,
}

/// A user's active sessions and API tokens, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialList {
    pub items: Vec<CredentialView>,
}

/// A password change by the user, who proves it knows the current one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "云市场 Passw0rd", "new_password": "新的 Passw0rd 2026"}))]
pub struct PasswordChange {
    pub current_password: String,
    /// Under the same policy as at registration (and not a common password).
    pub new_password: String,
}

/// A one-time password-reset token, for the operator to hand to the user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedPasswordReset {
    /// Give it to the user; it sets a new password once with `POST /api/v1/password-resets`.
    /// Shown this once.
    pub token: String,
    #[schema(value_type = String)]
    pub user_id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// A new password set with a reset token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub token: String,
    pub new_password: String,
}
