//! Who may file a new application (SPEC §3 "Re-entry"; ALI-R art.29, JD art.25, TC 8.3).

use jiff::civil::Date;
use jiff::{Span, Timestamp};

use super::{Application, Provider, ProviderError, ProviderStatus};
use crate::rulebook::Onboarding;
use crate::time::beijing_date;

/// The first Beijing date a provider that left voluntarily on `exited_on` may apply again.
/// "自退出之日起须间隔一年以上": a year *or more* (以上 includes the number), so the
/// anniversary itself is allowed. TC sets no wait (0 months): the exit day itself.
pub fn reentry_allowed_from(
    onboarding: &Onboarding,
    exited_on: Date,
) -> Result<Date, ProviderError> {
    let months = i64::from(onboarding.reentry_wait_after_exit_months);
    exited_on
        .checked_add(Span::new().months(months))
        .map_err(|_| ProviderError::DateOutOfRange)
}

/// Whether `provider` may start a new application at `now`. `latest` is the application its
/// status points to, if any; an open one blocks a second (one application at a time).
pub fn check_may_apply(
    provider: &Provider,
    latest: Option<&Application>,
    onboarding: &Onboarding,
    now: Timestamp,
) -> Result<(), ProviderError> {
    match &provider.status {
        ProviderStatus::Applying { application: None } => Ok(()),
        ProviderStatus::Applying {
            application: Some(id),
        } => match latest {
            Some(app) if app.id == *id && app.provider == provider.id => {
                if app.status.ended_without_admission() {
                    Ok(())
                } else {
                    Err(ProviderError::ApplicationOpen)
                }
            }
            _ => Err(ProviderError::ApplicationMismatch),
        },
        ProviderStatus::Active { .. } => Err(ProviderError::AlreadyAdmitted),
        ProviderStatus::Exited {
            voluntary: true,
            at,
        } => {
            let allowed_from = reentry_allowed_from(onboarding, beijing_date(*at))?;
            if beijing_date(now) >= allowed_from {
                Ok(())
            } else {
                Err(ProviderError::ReentryTooSoon { allowed_from })
            }
        }
        // The wait is for voluntary exits only (art.29 "主动退出"); a term that simply
        // ended leaves the door open.
        ProviderStatus::Exited {
            voluntary: false, ..
        } => Ok(()),
        ProviderStatus::Expelled { .. } if onboarding.reentry_after_expulsion => Ok(()),
        ProviderStatus::Expelled { .. } => Err(ProviderError::ReentryForbidden),
        ProviderStatus::Banned { .. } => Err(ProviderError::AccountBanned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DomainRefusal;
    use crate::provider::testkit::{World, active_provider, ts};
    use crate::provider::{Applicant, EntityKind};

    fn reapply(w: &mut World, p: &Provider) -> Result<(), ProviderError> {
        Application::start(
            Applicant::Returning {
                provider: p,
                latest: None,
            },
            false,
            &mut w.ctx(),
        )
        .map(|_| ())
    }

    #[test]
    fn reentry_after_voluntary_exit_waits_twelve_months_under_ali() {
        let mut w = World::new("ali", "2025-03-10T15:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (p, _) = p.exit(true, &mut w.ctx()).unwrap();
        w.now = ts("2026-03-09T23:59:59+08:00");
        let err = reapply(&mut w, &p).unwrap_err();
        assert_eq!(
            err,
            ProviderError::ReentryTooSoon {
                allowed_from: "2026-03-10".parse().unwrap()
            }
        );
        assert_eq!(err.code(), "reentry_too_soon");
        w.now = ts("2026-03-10T00:00:00+08:00");
        assert_eq!(reapply(&mut w, &p), Ok(()));
    }

    #[test]
    fn jd_also_waits_a_year_and_a_term_that_ended_does_not_wait() {
        let mut w = World::new("jd", "2025-05-01T09:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (left, _) = p.exit(true, &mut w.ctx()).unwrap();
        w.now = ts("2025-12-01T09:00:00+08:00");
        assert_eq!(
            reapply(&mut w, &left).unwrap_err().code(),
            "reentry_too_soon"
        );
        let (ended, _) = p.exit(false, &mut w.ctx()).unwrap();
        assert_eq!(reapply(&mut w, &ended), Ok(()));
    }

    #[test]
    fn tc_allows_immediate_reentry() {
        let mut w = World::new("tc", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (p, _) = p.exit(true, &mut w.ctx()).unwrap();
        let (again, app, _) = Application::start(
            Applicant::Returning {
                provider: &p,
                latest: None,
            },
            false,
            &mut w.ctx(),
        )
        .unwrap();
        assert_eq!(
            again.status,
            ProviderStatus::Applying {
                application: Some(app.id)
            }
        );
        assert_eq!(app.entity, EntityKind::Enterprise);
    }

    #[test]
    fn expelled_provider_can_never_reapply() {
        for family in ["ali", "jd"] {
            let mut w = World::new(family, "2025-06-02T10:00:00+08:00");
            let (p, _) = active_provider(&mut w);
            let (p, _) = p.expel(&mut w.ctx()).unwrap();
            w.now = ts("2027-12-31T10:00:00+08:00");
            let err = reapply(&mut w, &p).unwrap_err();
            assert_eq!(err, ProviderError::ReentryForbidden, "{family}");
            assert_eq!(err.code(), "reentry_forbidden");
        }
    }

    #[test]
    fn a_banned_account_never_reapplies_even_where_exit_has_no_wait() {
        let mut w = World::new("tc", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        let (p, _) = p.expel(&mut w.ctx()).unwrap();
        assert_eq!(reapply(&mut w, &p).unwrap_err().code(), "account_banned");
    }

    #[test]
    fn an_active_provider_or_an_open_application_blocks_a_new_one() {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (p, _) = active_provider(&mut w);
        assert_eq!(reapply(&mut w, &p).unwrap_err().code(), "already_admitted");
    }
}
