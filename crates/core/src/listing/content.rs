//! What a listing shows buyers (SPEC §5; ALI-R art.14, TC 4.1, JD art.10), how its fields are
//! addressed, and which of them the rulebook requires.

use serde::{Deserialize, Serialize};

use super::error::ListingError;
use crate::rulebook::ListingField;

/// Size limits that keep a listing a listing. **[design assumption]** The rulebooks set no
/// limits; these refuse absurd input before it is stored or scanned.
pub mod limits {
    pub const TITLE_CHARS: usize = 100;
    pub const TEXT_CHARS: usize = 50_000;
    pub const SHORT_CHARS: usize = 500;
    pub const IMAGES: usize = 20;
    pub const ATTRIBUTES: usize = 50;
    pub const OPEN_SOURCE_COMPONENTS: usize = 200;
}

/// The buyer-facing fields of a listing version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingContent {
    pub title: String,
    /// References to stored uploads, in display order.
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    pub description: String,
    /// The product agreement / terms of service shown to buyers (ALI-R art.14(3)).
    #[serde(default)]
    pub terms: String,
    /// How existing buyers keep working and how ownership moves when delisted (ALI-R art.14(7)).
    #[serde(default)]
    pub delisting_strategy: String,
    /// Open-source components and their licences (ALI-A 3.5.6): `None` = not declared yet,
    /// `Some([])` = declared that none are used.
    #[serde(default)]
    pub open_source: Option<Vec<OpenSourceComponent>>,
    /// The product page on the provider's own site (ALI-R art.14(6)): an http(s) URL.
    #[serde(default)]
    pub own_product_page: String,
    /// Refund terms outside the guarantee window, as shown to buyers; may say "no refund"
    /// (TC 5.7.2, JD art.17(4)).
    #[serde(default)]
    pub refund_terms: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSourceComponent {
    pub name: String,
    /// The licence, e.g. "Apache-2.0", "GPL-3.0-only".
    pub licence: String,
}

/// Which text of a listing a finding points into: a field, and for list fields the item and
/// its part (`attributes[2].value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldPath {
    pub field: ListingField,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<ItemPart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemPart {
    Name,
    Value,
    Licence,
}

impl FieldPath {
    pub const fn field(field: ListingField) -> Self {
        FieldPath {
            field,
            item: None,
            part: None,
        }
    }

    const fn item(field: ListingField, item: usize, part: ItemPart) -> Self {
        FieldPath {
            field,
            item: Some(item),
            part: Some(part),
        }
    }
}

impl ListingContent {
    /// Every text of the listing with its path, in display order.
    pub fn texts(&self) -> Vec<(FieldPath, &str)> {
        use ListingField as F;
        let mut out = vec![(FieldPath::field(F::Title), self.title.as_str())];
        for (i, a) in self.attributes.iter().enumerate() {
            out.push((FieldPath::item(F::Attributes, i, ItemPart::Name), &a.name));
            out.push((FieldPath::item(F::Attributes, i, ItemPart::Value), &a.value));
        }
        out.push((FieldPath::field(F::Description), &self.description));
        out.push((FieldPath::field(F::Terms), &self.terms));
        out.push((
            FieldPath::field(F::DelistingStrategy),
            &self.delisting_strategy,
        ));
        for (i, c) in self.open_source.iter().flatten().enumerate() {
            out.push((
                FieldPath::item(F::OpenSourceLicences, i, ItemPart::Name),
                &c.name,
            ));
            out.push((
                FieldPath::item(F::OpenSourceLicences, i, ItemPart::Licence),
                &c.licence,
            ));
        }
        out.push((FieldPath::field(F::OwnProductPage), &self.own_product_page));
        out.push((FieldPath::field(F::RefundTerms), &self.refund_terms));
        out
    }

    /// Shape checks that hold for every draft, complete or not: sizes, blank list items, and
    /// an own product page that is an http(s) URL when given.
    pub fn validate_shape(&self) -> Result<(), ListingError> {
        use ListingField as F;
        let too_long = |field, limit: usize, text: &str| {
            if text.chars().count() > limit {
                Err(ListingError::invalid(
                    field,
                    format!("longer than {limit} characters"),
                ))
            } else {
                Ok(())
            }
        };
        too_long(F::Title, limits::TITLE_CHARS, &self.title)?;
        for (field, text) in [
            (F::Description, &self.description),
            (F::Terms, &self.terms),
            (F::DelistingStrategy, &self.delisting_strategy),
            (F::RefundTerms, &self.refund_terms),
        ] {
            too_long(field, limits::TEXT_CHARS, text)?;
        }
        too_long(
            F::OwnProductPage,
            limits::SHORT_CHARS,
            &self.own_product_page,
        )?;
        let count = |field, limit: usize, n: usize| {
            if n > limit {
                Err(ListingError::invalid(
                    field,
                    format!("more than {limit} entries"),
                ))
            } else {
                Ok(())
            }
        };
        count(F::Images, limits::IMAGES, self.images.len())?;
        count(F::Attributes, limits::ATTRIBUTES, self.attributes.len())?;
        let components = self.open_source.as_deref().unwrap_or_default();
        count(
            F::OpenSourceLicences,
            limits::OPEN_SOURCE_COMPONENTS,
            components.len(),
        )?;
        for image in &self.images {
            if image.trim().is_empty() {
                return Err(ListingError::invalid(F::Images, "blank image reference"));
            }
            too_long(F::Images, limits::SHORT_CHARS, image)?;
        }
        for a in &self.attributes {
            if a.name.trim().is_empty() || a.value.trim().is_empty() {
                return Err(ListingError::invalid(
                    F::Attributes,
                    "attribute name and value are both required",
                ));
            }
            too_long(F::Attributes, limits::SHORT_CHARS, &a.name)?;
            too_long(F::Attributes, limits::SHORT_CHARS, &a.value)?;
        }
        for c in components {
            if c.name.trim().is_empty() || c.licence.trim().is_empty() {
                return Err(ListingError::invalid(
                    F::OpenSourceLicences,
                    "each open-source component needs its name and its licence",
                ));
            }
            too_long(F::OpenSourceLicences, limits::SHORT_CHARS, &c.name)?;
            too_long(F::OpenSourceLicences, limits::SHORT_CHARS, &c.licence)?;
        }
        let page = self.own_product_page.trim();
        if !page.is_empty() && !is_http_url(page) {
            return Err(ListingError::invalid(
                F::OwnProductPage,
                "must be an http:// or https:// address on the provider's site",
            ));
        }
        Ok(())
    }

    /// The fields the rulebook requires that this content leaves empty, in rulebook order.
    /// `price` is always present: the terms carry it and are checked on their own.
    pub fn missing_fields(&self, required: &[ListingField]) -> Vec<ListingField> {
        let blank = |s: &str| s.trim().is_empty();
        required
            .iter()
            .copied()
            .filter(|field| match field {
                ListingField::Title => blank(&self.title),
                ListingField::Images => self.images.is_empty(),
                ListingField::Attributes => self.attributes.is_empty(),
                ListingField::Price => false,
                ListingField::Description => blank(&self.description),
                ListingField::Terms => blank(&self.terms),
                ListingField::DelistingStrategy => blank(&self.delisting_strategy),
                ListingField::OpenSourceLicences => self.open_source.is_none(),
                ListingField::OwnProductPage => blank(&self.own_product_page),
                ListingField::RefundTerms => blank(&self.refund_terms),
            })
            .collect()
    }
}

/// `http://` or `https://` followed by a host with a dot.
fn is_http_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or_default();
    host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DomainRefusal;
    use crate::listing::testkit::{book, complete_content};

    #[test]
    fn every_required_field_of_every_builtin_rulebook_is_checked() {
        for family in ["ali", "tc", "jd"] {
            let required = &book(family).listing.required_fields;
            assert!(complete_content().missing_fields(required).is_empty());
            let empty = ListingContent::default();
            let missing = empty.missing_fields(required);
            let expected: Vec<_> = required
                .iter()
                .copied()
                .filter(|f| *f != ListingField::Price)
                .collect();
            assert_eq!(missing, expected, "{family}");
        }
    }

    #[test]
    fn declaring_no_open_source_components_satisfies_the_licence_field() {
        let mut c = complete_content();
        c.open_source = Some(vec![]);
        assert!(
            c.missing_fields(&[ListingField::OpenSourceLicences])
                .is_empty()
        );
        c.open_source = None;
        assert_eq!(
            c.missing_fields(&[ListingField::OpenSourceLicences]),
            [ListingField::OpenSourceLicences]
        );
    }

    #[test]
    fn own_product_page_must_be_an_http_address() {
        let mut c = complete_content();
        for bad in [
            "example.com/p",
            "ftp://example.com",
            "https://",
            "https://exa mple.com",
        ] {
            c.own_product_page = bad.into();
            assert_eq!(
                c.validate_shape().unwrap_err().code(),
                "invalid_listing",
                "{bad}"
            );
        }
        c.own_product_page = "https://www.example.com/products/backup".into();
        assert!(c.validate_shape().is_ok());
    }

    #[test]
    fn oversized_listings_are_refused() {
        let mut c = complete_content();
        c.title = "长".repeat(limits::TITLE_CHARS + 1);
        assert_eq!(c.validate_shape().unwrap_err().code(), "invalid_listing");
        let mut c = complete_content();
        c.images = vec!["img".into(); limits::IMAGES + 1];
        assert_eq!(c.validate_shape().unwrap_err().code(), "invalid_listing");
    }
}
