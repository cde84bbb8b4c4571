//! Products and listing review (SPEC §5; issue 3 item 4): the product aggregate with its live
//! and pending listing versions, the automatic checks a submission runs, the reviewer's
//! decision, and the reference semantics of catalogue search.
//!
//! - [`content`]: the buyer-facing fields and the rulebook's required-field list.
//! - [`terms`]: pricing, price limits, declared refund policy, a category's refund class.
//! - [`checks`]: external links, absolute claims, brand names, off-platform contacts,
//!   built-in purchase or registration — findings with offsets and bilingual messages.
//! - [`version`]: a version's review states and records.
//! - [`product`]: the aggregate, its versions' edit and review commands.
//! - [`shelf`]: listed, hidden or delisted — provider delisting, operator holds.
//! - [`search`]: filters, text match, sort and paging over live products.
//! - [`text`]: char folding and matching shared by checks and search.

pub mod checks;
pub mod content;
mod error;
pub mod product;
pub mod search;
pub mod shelf;
pub mod terms;
pub mod text;
pub mod version;

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

pub use checks::{Finding, FindingKind, Message, OperatorDomains, Severity, run_checks};
pub use content::{Attribute, FieldPath, ItemPart, ListingContent, OpenSourceComponent};
pub use error::ListingError;
pub use product::{ListingDraft, NewProduct, Product, ProviderStanding};
pub use search::{
    CatalogueEntry, CataloguePage, CatalogueQuery, SearchError, SortBy, query_terms, search,
};
pub use shelf::{HoldKind, OperatorHold, ProductStatus};
pub use terms::{ListingTerms, MAX_PRICE, RefundClass};
pub use version::{
    Acknowledgement, ApprovalRecord, Approve, FindingAck, ListingVersion, Reject, RejectionRecord,
    Submission, VersionStatus,
};
