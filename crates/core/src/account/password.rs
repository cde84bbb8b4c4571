//! The password policy, checked when a password is chosen (never at login, so a policy
//! change never locks anyone out).
//!
//! A password must
//! * be 10 to 128 characters long (Unicode scalar values: `密码` counts 2) — long enough to
//!   resist guessing, short enough that hashing it costs a bounded amount;
//! * mix at least two of four classes: lower-case letters, upper-case letters, digits, and
//!   everything else (punctuation, spaces, Chinese and other non-Latin characters);
//! * use at least 4 distinct characters (`aaaaaaaaaA` is refused);
//! * contain no control characters;
//! * not be the e-mail address or its part before the `@`, in any case;
//! * not be a common password (NIST SP 800-63B §5.1.1.2): the list is data the shell
//!   passes in; a password is refused when, lower-cased, it is on the list, or when it is
//!   a listed word with digits and punctuation added at either end (`Password12`,
//!   `password123!`, `2024qwerty`).
//!
//! Passwords are hashed exactly as given (no trimming, no case folding): Argon2id, in the
//! shell.

use std::collections::{BTreeSet, HashSet};

use super::{AccountError, Email};

/// A list of common passwords, lower-cased.
#[derive(Debug, Clone, Default)]
pub struct CommonPasswords(HashSet<String>);

impl CommonPasswords {
    /// One password a line; blank lines and lines starting with `#` are skipped.
    pub fn parse(text: &str) -> CommonPasswords {
        CommonPasswords(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_lowercase)
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `password`, lower-cased, is listed, or is a listed word padded with digits
    /// and punctuation: the first thing a guesser tries after the list itself.
    pub fn contains(&self, password: &str) -> bool {
        let folded = password.to_lowercase();
        let padding = |c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ';
        let core = folded.trim_matches(padding);
        self.0.contains(&folded) || (!core.is_empty() && self.0.contains(core))
    }
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;
const MIN_CLASSES: usize = 2;
const MIN_DISTINCT: usize = 4;

/// Checks `password` against the policy; `email` is the login it is for.
pub fn check_password(
    password: &str,
    email: &Email,
    common: &CommonPasswords,
) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword(
            "it must be at least 10 characters long",
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword(
            "it must be at most 128 characters long",
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(AccountError::WeakPassword(
            "it may not contain control characters",
        ));
    }
    let mut classes = [false; 4];
    for c in password.chars() {
        let class = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            3
        };
        classes[class] = true;
    }
    if classes.iter().filter(|&&c| c).count() < MIN_CLASSES {
        return Err(AccountError::WeakPassword(
            "it must mix at least two of: lower-case letters, upper-case letters, digits, \
             other characters",
        ));
    }
    if password.chars().collect::<BTreeSet<_>>().len() < MIN_DISTINCT {
        return Err(AccountError::WeakPassword(
            "it must use at least 4 different characters",
        ));
    }
    let folded = password.to_lowercase();
    if folded == email.as_str() || folded == email.local_part() {
        return Err(AccountError::WeakPassword(
            "it may not be the e-mail address",
        ));
    }
    if common.contains(password) {
        return Err(AccountError::WeakPassword(
            "it is a common password, easily guessed; choose another",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("wang.fang2024@example.com").unwrap()
    }

    fn common() -> CommonPasswords {
        CommonPasswords::parse("# comment\npassword\nqwerty\n\nDragon\n")
    }

    fn check_password(password: &str, email: &Email) -> Result<(), AccountError> {
        super::check_password(password, email, &common())
    }

    #[test]
    fn common_passwords_and_padded_common_words_are_refused() {
        assert_eq!(common().len(), 3);
        for bad in [
            "password123",
            "Password12",
            "PASSWORD!!2024",
            "2024qwerty!",
            "dragon 12345",
        ] {
            assert!(
                matches!(
                    check_password(bad, &email()),
                    Err(AccountError::WeakPassword(_))
                ),
                "{bad:?}"
            );
        }
        for ok in ["passwords-are-long", "my qwerty keyboard", "Dr4gon-slayer"] {
            assert_eq!(check_password(ok, &email()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn good_passwords_pass() {
        for ok in [
            "correct horse battery",
            "Tr0ub4dor&3",
            "1234567890x",
            "云市场运营平台的密码2024",
            "abcdefghiJ",
        ] {
            assert_eq!(check_password(ok, &email()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn short_single_class_or_repetitive_passwords_fail() {
        for bad in [
            "Sh0rt!",
            "abcdefghij",
            "ABCDEFGHIJKL",
            "12345678901234",
            "云市场运营平台的密码啊",
            "aaaaaaaaaA",
            "tab\there12345",
        ] {
            assert!(
                matches!(
                    check_password(bad, &email()),
                    Err(AccountError::WeakPassword(_))
                ),
                "{bad:?}"
            );
        }
        assert!(check_password(&"aB1".repeat(43), &email()).is_err());
        assert!(check_password(&"aB1x".repeat(32), &email()).is_ok());
    }

    #[test]
    fn the_email_is_not_a_password() {
        assert!(check_password("Wang.Fang2024", &email()).is_err());
        assert!(check_password("WANG.FANG2024@EXAMPLE.COM", &email()).is_err());
    }
}
