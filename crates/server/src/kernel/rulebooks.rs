//! Which rulebooks this deployment runs: one marketplace rulebook and, optionally, one
//! partner-programme rulebook, both checked against the built-in library at start-up.
//!
//! A name is a family (`ali`: whichever version is in force on the date) or a version id
//! (`ali-2020`: that version, which must be the one in force). Acts are judged by the version
//! in force on the (Beijing) date they happen, so handlers ask [`Rulebooks::marketplace_at`]
//! with the act's date rather than keeping the start-up answer.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use yunshi_core::rulebook::{Library, Rulebook, RulebookError, RulebookKind};
use yunshi_core::time::beijing_date;

use crate::kernel::config::ConfigError;

/// The rulebooks selected for this deployment, with the library they come from.
#[derive(Clone)]
pub struct Rulebooks {
    library: Arc<Library>,
    /// The marketplace rulebook name as configured (family or version id).
    pub marketplace: String,
    /// The partner rulebook name as configured, if any.
    pub partner: Option<String>,
}

impl fmt::Debug for Rulebooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rulebooks")
            .field("marketplace", &self.marketplace)
            .field("partner", &self.partner)
            .finish_non_exhaustive()
    }
}

impl Rulebooks {
    /// Checks, against the built-in library, that the named rulebooks exist, are of the right
    /// kind, and that a version of each is in force at `now`.
    pub fn select(
        marketplace: &str,
        partner: Option<&str>,
        now: Timestamp,
    ) -> Result<Self, ConfigError> {
        let library = Library::builtin().map_err(|e| {
            ConfigError::Rulebook(format!("the built-in rulebooks do not load: {e}"))
        })?;
        Self::select_from(library, marketplace, partner, now)
    }

    pub fn select_from(
        library: Library,
        marketplace: &str,
        partner: Option<&str>,
        now: Timestamp,
    ) -> Result<Self, ConfigError> {
        let today = beijing_date(now);
        let marketplace = marketplace.trim().to_owned();
        let partner = partner
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        check(
            &library,
            "--rulebook",
            &marketplace,
            RulebookKind::Marketplace,
            today,
        )?;
        if let Some(partner) = &partner {
            check(
                &library,
                "--partner-rulebook",
                partner,
                RulebookKind::Partner,
                today,
            )?;
        }
        Ok(Self {
            library: Arc::new(library),
            marketplace,
            partner,
        })
    }

    /// The marketplace rulebook that judges an act of `date`.
    pub fn marketplace_at(&self, date: Date) -> Result<&Rulebook, RulebookError> {
        self.library.in_force(&self.marketplace, date)
    }

    /// The partner rulebook that judges an act of `date`, if the deployment runs one.
    pub fn partner_at(&self, date: Date) -> Option<Result<&Rulebook, RulebookError>> {
        self.partner
            .as_deref()
            .map(|p| self.library.in_force(p, date))
    }

    pub fn library(&self) -> &Library {
        &self.library
    }
}

fn check(
    library: &Library,
    flag: &str,
    name: &str,
    kind: RulebookKind,
    today: Date,
) -> Result<(), ConfigError> {
    let rulebook = library
        .in_force(name, today)
        .map_err(|e| ConfigError::Rulebook(format!("{flag} {name}: {e}")))?;
    if rulebook.kind() != kind {
        let (is, use_flag) = match rulebook.kind() {
            RulebookKind::Marketplace => ("a marketplace", "--rulebook"),
            RulebookKind::Partner => ("a partner-programme", "--partner-rulebook"),
        };
        return Err(ConfigError::Rulebook(format!(
            "{flag} {name}: {} is {is} rulebook; give it with {use_flag}",
            rulebook.id()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_select_and_resolve() {
        let r = Rulebooks::select("ali-2020", Some("partner-fy22"), at("2026-04-01T00:00:00Z"))
            .unwrap();
        let date = jiff::civil::date(2026, 4, 1);
        assert_eq!(r.marketplace_at(date).unwrap().id(), "ali-2020");
        assert_eq!(r.partner_at(date).unwrap().unwrap().id(), "partner-fy22");
        let family = Rulebooks::select("jd", None, at("2026-04-01T00:00:00Z")).unwrap();
        assert_eq!(family.marketplace_at(date).unwrap().family(), "jd");
        assert!(family.partner_at(date).is_none());
    }

    #[test]
    fn unknown_wrong_kind_and_not_yet_in_force_are_refused() {
        let now = at("2026-04-01T00:00:00Z");
        let err = Rulebooks::select("ali-2099", None, now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--rulebook ali-2099"), "{err}");
        let err = Rulebooks::select("partner-fy22", None, now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--partner-rulebook"), "{err}");
        let err = Rulebooks::select("ali-2020", Some("tc-2017"), now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("marketplace"), "{err}");
        // A simulated clock before the rulebook's effective date.
        let err = Rulebooks::select("ali-2020", None, at("2019-01-01T00:00:00Z"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ali-2020"), "{err}");
    }
}
