//! E-mail addresses: one normal form, so that `Li.Lei@Example.COM ` and `li.lei@example.com`
//! are the same login.
//!
//! Normalisation trims surrounding white space and lower-cases the whole address. (RFC 5321
//! lets the local part be case-sensitive, but no mail provider a marketplace's members use
//! treats it so, and two accounts differing only in case would be a phishing aid.) Dots and
//! `+tags` are kept: they are significant at most providers.
//!
//! Validation accepts the dot-atom form of RFC 5322 in ASCII: a local part of at most 64
//! characters from letters, digits and ``!#$%&'*+/=?^_`{|}~-``, dots only between
//! characters; a domain of at least two labels, each 1–63 letters, digits or inner hyphens,
//! the last one not all digits (no bare IP addresses); at most 254 characters in all.
//! Internationalised domains are accepted in their `xn--` (Punycode) form; non-ASCII local
//! parts and quoted local parts are refused.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::AccountError;

/// The longest address SMTP can carry (RFC 5321 §4.5.3.1.3 path limit less the brackets).
pub const MAX_EMAIL_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

/// A valid e-mail address in normal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Normalises and validates `input`.
    pub fn parse(input: &str) -> Result<Email, AccountError> {
        let normal = input.trim().to_ascii_lowercase();
        if normal.is_empty() {
            return Err(AccountError::InvalidEmail("it is empty"));
        }
        if !normal.is_ascii() {
            return Err(AccountError::InvalidEmail(
                "only ASCII addresses are accepted (write an internationalised domain as xn--…)",
            ));
        }
        if normal.len() > MAX_EMAIL_LEN {
            return Err(AccountError::InvalidEmail(
                "it is longer than 254 characters",
            ));
        }
        let (local, domain) = match normal.split_once('@') {
            Some((l, d)) if !d.contains('@') => (l, d),
            Some(_) => return Err(AccountError::InvalidEmail("it has more than one @")),
            None => return Err(AccountError::InvalidEmail("it has no @")),
        };
        check_local(local)?;
        check_domain(domain)?;
        Ok(Email(normal))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(&self.0, |(l, _)| l)
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Email {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

/// Stored addresses are validated again when read, so a document cannot smuggle one in.
impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn check_local(local: &str) -> Result<(), AccountError> {
    if local.is_empty() {
        return Err(AccountError::InvalidEmail("nothing before the @"));
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(AccountError::InvalidEmail(
            "the part before the @ is longer than 64 characters",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(AccountError::InvalidEmail(
            "dots must stand between characters before the @",
        ));
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c);
    if !local.chars().all(atext) {
        return Err(AccountError::InvalidEmail(
            "the part before the @ has a character addresses may not contain",
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), AccountError> {
    if domain.is_empty() {
        return Err(AccountError::InvalidEmail("nothing after the @"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(AccountError::InvalidEmail(
            "the domain needs at least two parts, like example.com",
        ));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(AccountError::InvalidEmail("the domain has an empty part"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(AccountError::InvalidEmail(
                "a domain part is longer than 63 characters",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(AccountError::InvalidEmail(
                "a domain part may not begin or end with a hyphen",
            ));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(AccountError::InvalidEmail(
                "the domain has a character domains may not contain",
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(AccountError::InvalidEmail(
            "the domain must be a name, not an address",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let e = Email::parse("  Li.Lei+Shop@Example.COM\t").unwrap();
        assert_eq!(e.as_str(), "li.lei+shop@example.com");
        assert_eq!(e.local_part(), "li.lei+shop");
        assert_eq!(e.domain(), "example.com");
        assert_eq!(e, Email::parse("li.lei+shop@example.com").unwrap());
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for ok in [
            "a@b.cn",
            "zhang_san@mail.aliyun.com",
            "o'brien@example.org",
            "x@xn--fiqs8s.cn",
            "1234567@qq.com",
            "a-b@sub-domain.example.co.uk",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "no-at.example.com",
            "a@@b.com",
            "a@b@c.com",
            "@example.com",
            "a@",
            "a@localhost",
            "a@b..com",
            "a@-b.com",
            "a@b-.com",
            ".a@b.com",
            "a.@b.com",
            "a..b@c.com",
            "a b@c.com",
            "a@b c.com",
            "张三@example.com",
            "a@例子.中国",
            "a@127.0.0.1",
            "\"quoted\"@example.com",
            "a@b_c.com",
        ] {
            assert!(
                matches!(Email::parse(bad), Err(AccountError::InvalidEmail(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn length_limits_hold() {
        let local = "a".repeat(64);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        assert!(Email::parse(&format!("{local}a@example.com")).is_err());
        let label = "b".repeat(63);
        assert!(Email::parse(&format!("a@{label}.com")).is_ok());
        assert!(Email::parse(&format!("a@{label}b.com")).is_err());
        let long = format!("a@{}.com", vec!["c".repeat(60); 5].join("."));
        assert!(long.len() > MAX_EMAIL_LEN);
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn deserialising_validates() {
        let e: Email = serde_json::from_str("\"A@B.CN\"").unwrap();
        assert_eq!(e.as_str(), "a@b.cn");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
