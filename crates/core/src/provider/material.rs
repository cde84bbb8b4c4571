//! Onboarding materials as typed references. The file itself (size and type limits, durable
//! storage) is the shell's; the core keeps what identifies it and which rulebook material it
//! stands for.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ProviderError;
use crate::rulebook::{Material, Onboarding};

/// Who applies: ALI and TC admit enterprises only; JD also individuals (JD art.7, art.9(3)1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Enterprise,
    Individual,
}

/// One uploaded material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialRef {
    pub kind: Material,
    /// The stored file, as the shell names it.
    pub file_id: Uuid,
    /// SHA-256 of the content, 64 lowercase hex digits: what the reviewer saw is provable.
    pub sha256: String,
    pub size_bytes: u64,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    pub uploaded_at: Timestamp,
}

impl MaterialRef {
    /// The reference's own shape; whether its kind belongs is [`check_uploadable`]'s question.
    pub fn validate(&self) -> Result<(), ProviderError> {
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if self.sha256.len() != 64 || !self.sha256.bytes().all(hex) {
            return Err(ProviderError::InvalidMaterial(
                "sha256 must be 64 lowercase hex digits",
            ));
        }
        if self.size_bytes == 0 {
            return Err(ProviderError::InvalidMaterial("the file is empty"));
        }
        let ct = self.content_type.as_str();
        let well_formed = ct.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty() && !s.is_empty() && !ct.bytes().any(|b| b.is_ascii_whitespace())
        });
        if !well_formed {
            return Err(ProviderError::InvalidMaterial(
                "content type must look like type/subtype",
            ));
        }
        Ok(())
    }
}

/// Materials satisfied by a step of the flow rather than by an upload: the signed provider
/// agreement (accepted in the flow, ALI-R art.13(6)) and the deposit (paid into the ledger,
/// ALI-R art.13(7)).
pub fn is_flow_step(kind: Material) -> bool {
    matches!(kind, Material::ProviderAgreement | Material::DepositPaid)
}

/// Whether an applicant of this kind needs the material at all. JD lists both the enterprise
/// papers and the individual's ID card (JD art.9(3)1); each applies to its own kind. The
/// consignment agreement is for consignment providers only (JD art.9(5)).
fn applies_to(kind: Material, entity: EntityKind, consignment: bool) -> bool {
    match kind {
        Material::BusinessLicence | Material::LegalRepresentativeId => {
            entity == EntityKind::Enterprise
        }
        Material::PersonalId => entity == EntityKind::Individual,
        Material::ConsignmentAgreement => consignment,
        _ => true,
    }
}

/// The uploads an application must carry when submitted, in the rulebook's order.
pub fn required_uploads(
    onboarding: &Onboarding,
    entity: EntityKind,
    consignment: bool,
) -> Vec<Material> {
    onboarding
        .materials
        .iter()
        .copied()
        .filter(|k| !is_flow_step(*k) && applies_to(*k, entity, consignment))
        .collect()
}

/// A kind may be uploaded (or asked for) if the rulebook in force lists it and it is not a
/// flow step.
pub fn check_kind(onboarding: &Onboarding, kind: Material) -> Result<(), ProviderError> {
    if is_flow_step(kind) {
        return Err(ProviderError::MaterialNotUploadable(kind));
    }
    if !onboarding.materials.contains(&kind) {
        return Err(ProviderError::MaterialNotInRulebook(kind));
    }
    Ok(())
}

/// A well-formed reference of an uploadable kind.
pub fn check_uploadable(
    onboarding: &Onboarding,
    material: &MaterialRef,
) -> Result<(), ProviderError> {
    material.validate()?;
    check_kind(onboarding, material.kind)
}

/// Puts `material` on file, replacing an earlier one of the same kind.
pub(crate) fn put(files: &mut Vec<MaterialRef>, material: MaterialRef) {
    files.retain(|m| m.kind != material.kind);
    files.push(material);
}

/// Required uploads not on file.
pub(crate) fn missing(files: &[MaterialRef], required: &[Material]) -> Vec<Material> {
    required
        .iter()
        .copied()
        .filter(|k| !files.iter().any(|m| m.kind == *k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testkit::{book, material};

    #[test]
    fn flow_steps_are_not_uploads_and_jd_papers_follow_the_applicant_kind() {
        let jd = book("jd");
        let enterprise = required_uploads(&jd.onboarding, EntityKind::Enterprise, false);
        assert!(enterprise.contains(&Material::BusinessLicence));
        assert!(!enterprise.contains(&Material::PersonalId));
        assert!(!enterprise.contains(&Material::ProviderAgreement));
        assert!(!enterprise.contains(&Material::DepositPaid));
        assert!(!enterprise.contains(&Material::ConsignmentAgreement));
        let individual = required_uploads(&jd.onboarding, EntityKind::Individual, true);
        assert!(individual.contains(&Material::PersonalId));
        assert!(individual.contains(&Material::ConsignmentAgreement));
        assert!(!individual.contains(&Material::BusinessLicence));
    }

    #[test]
    fn tc_asks_for_a_bank_certificate_and_qq_and_ali_does_not() {
        let tc = required_uploads(&book("tc").onboarding, EntityKind::Enterprise, false);
        assert!(
            tc.contains(&Material::BankAccountCertificate) && tc.contains(&Material::ContactQq)
        );
        let ali = book("ali");
        let ali_req = required_uploads(&ali.onboarding, EntityKind::Enterprise, false);
        assert!(!ali_req.contains(&Material::ContactQq));
        assert_eq!(
            check_uploadable(&ali.onboarding, &material(Material::ContactQq)),
            Err(ProviderError::MaterialNotInRulebook(Material::ContactQq))
        );
        assert_eq!(
            check_uploadable(&ali.onboarding, &material(Material::DepositPaid)),
            Err(ProviderError::MaterialNotUploadable(Material::DepositPaid))
        );
    }

    #[test]
    fn a_material_reference_needs_a_real_digest_size_and_type() {
        let good = material(Material::BusinessLicence);
        assert_eq!(good.validate(), Ok(()));
        let mut bad = good.clone();
        bad.sha256 = "ABC".into();
        assert!(bad.validate().is_err());
        let mut empty = good.clone();
        empty.size_bytes = 0;
        assert!(empty.validate().is_err());
        let mut ct = good;
        ct.content_type = "pdf".into();
        assert!(ct.validate().is_err());
    }
}
