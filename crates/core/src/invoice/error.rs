//! Why an invoice command was refused. Codes are stable: the API and clients match on them.

use crate::decision::{DomainRefusal, RefusalClass};
use crate::money::{Fen, MoneyError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("only a paid order can be invoiced")]
    OrderNotPaid,
    #[error("nothing is left to invoice: the order was refunded in full")]
    NothingToInvoice,
    #[error("{0} is required")]
    Required(&'static str),
    #[error("{field} has at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("an enterprise title needs its tax number (纳税人识别号)")]
    TaxNumberRequired,
    #[error("a tax number has 15 to 20 letters and digits")]
    InvalidTaxNumber,
    #[error("a special VAT invoice (增值税专用发票) is issued to an enterprise title only")]
    SpecialVatNeedsEnterprise,
    #[error("not an e-mail address")]
    InvalidEmail,
    #[error("cannot {action} an invoice request that is {status}")]
    InvalidTransition {
        action: &'static str,
        status: &'static str,
    },
    #[error("only the issuer of this invoice ({0}) may do this")]
    NotTheIssuer(&'static str),
    #[error("the invoice must be for {expected}, not {given}")]
    AmountMismatch { expected: Fen, given: Fen },
    #[error("an invoice above {threshold} is posted free: the buyer may not be charged postage")]
    PostageNotAllowed { threshold: Fen },
    #[error("postage is charged only on a paper invoice sent by post")]
    PostageOnElectronic,
    #[error("an amount cannot be negative")]
    NegativeAmount,
    #[error("invoice number {0} is already recorded on this request")]
    DuplicateNumber(String),
    #[error("no task {0} on this invoice request")]
    NoSuchTask(u32),
    #[error("task {task} is a {kind} task: {expected} is not its step")]
    WrongTaskStep {
        task: u32,
        kind: &'static str,
        expected: &'static str,
    },
    #[error("task {0} waits for the buyer's part first")]
    BuyerPartMissing(u32),
    #[error("task {0} is already done")]
    TaskDone(u32),
    #[error("{0} is not needed here")]
    NotNeeded(&'static str),
    #[error("the deadline is not due yet")]
    NotDue,
    #[error("date out of range")]
    DateOutOfRange,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl DomainRefusal for InvoiceError {
    fn code(&self) -> &'static str {
        match self {
            InvoiceError::OrderNotPaid => "order_not_paid",
            InvoiceError::NothingToInvoice => "nothing_to_invoice",
            InvoiceError::Required(_) => "field_required",
            InvoiceError::TooLong { .. } => "text_too_long",
            InvoiceError::TaxNumberRequired => "tax_number_required",
            InvoiceError::InvalidTaxNumber => "invalid_tax_number",
            InvoiceError::SpecialVatNeedsEnterprise => "special_vat_needs_enterprise",
            InvoiceError::InvalidEmail => "invalid_email",
            InvoiceError::InvalidTransition { .. } => "invalid_transition",
            InvoiceError::NotTheIssuer(_) => "not_the_issuer",
            InvoiceError::AmountMismatch { .. } => "invoice_amount_mismatch",
            InvoiceError::PostageNotAllowed { .. } => "postage_not_allowed",
            InvoiceError::PostageOnElectronic => "postage_on_electronic_invoice",
            InvoiceError::NegativeAmount => "negative_amount",
            InvoiceError::DuplicateNumber(_) => "duplicate_invoice_number",
            InvoiceError::NoSuchTask(_) => "no_such_task",
            InvoiceError::WrongTaskStep { .. } => "wrong_task_step",
            InvoiceError::BuyerPartMissing(_) => "buyer_part_missing",
            InvoiceError::TaskDone(_) => "task_done",
            InvoiceError::NotNeeded(_) => "not_needed",
            InvoiceError::NotDue => "not_due",
            InvoiceError::DateOutOfRange => "date_out_of_range",
            InvoiceError::Money(_) => "amount_overflow",
        }
    }

    fn class(&self) -> RefusalClass {
        match self {
            InvoiceError::Required(_)
            | InvoiceError::TooLong { .. }
            | InvoiceError::TaxNumberRequired
            | InvoiceError::InvalidTaxNumber
            | InvoiceError::SpecialVatNeedsEnterprise
            | InvoiceError::InvalidEmail
            | InvoiceError::AmountMismatch { .. }
            | InvoiceError::PostageNotAllowed { .. }
            | InvoiceError::PostageOnElectronic
            | InvoiceError::NegativeAmount
            | InvoiceError::DuplicateNumber(_)
            | InvoiceError::NoSuchTask(_)
            | InvoiceError::NotNeeded(_)
            | InvoiceError::DateOutOfRange
            | InvoiceError::Money(_) => RefusalClass::Invalid,
            InvoiceError::OrderNotPaid
            | InvoiceError::NothingToInvoice
            | InvoiceError::InvalidTransition { .. }
            | InvoiceError::WrongTaskStep { .. }
            | InvoiceError::BuyerPartMissing(_)
            | InvoiceError::TaskDone(_)
            | InvoiceError::NotDue => RefusalClass::Conflict,
            InvoiceError::NotTheIssuer(_) => RefusalClass::Forbidden,
        }
    }
}
