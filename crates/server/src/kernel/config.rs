//! How a deployment is configured: built-in defaults, then an optional TOML file, then
//! `YUNSHI_*` environment variables, then command-line flags — each layer overriding the one
//! before. [`Config`] is what the layers say; [`Settings`] is the checked result the server
//! runs with (addresses parsed, calendar files loaded, the clock built).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use yunshi_core::calendar::{CalendarError, CalendarYear, WorkingCalendar, YearStatus};
use yunshi_core::money::Fen;
use yunshi_core::time::{Clock, SimulatedClock};

use crate::kernel::clock::SystemClock;

/// The prefix of the environment variables that configure the server.
pub const ENV_PREFIX: &str = "YUNSHI_";

/// The default largest amount of one money field in a request: 10⁹ CNY.
pub const DEFAULT_MAX_AMOUNT: Fen = Fen::new(100_000_000_000);

/// The highest `max_amount` a deployment may set: 10¹² CNY, so that ninety thousand such
/// amounts still sum inside the ledger's 64-bit fen (store totals are summed wider still).
pub const MAX_AMOUNT_CEILING: Fen = Fen::new(100_000_000_000_000);

/// The shortest `YUNSHI_ADMIN_TOKEN` accepted.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// The machine's clock.
    #[default]
    System,
    /// A clock that starts at `--start` and moves only when told to.
    Simulated,
}

impl ClockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockMode::System => "system",
            ClockMode::Simulated => "simulated",
        }
    }
}

/// The configuration as the layers state it. Unknown keys are refused.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `ADDR:PORT` to listen on.
    pub listen: String,
    /// Where the SQLite database (and later other local state) lives; created on first run.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; a path or `sqlite://PATH` for SQLite. Default:
    /// `yunshi.db` in the data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// The marketplace rulebook this deployment runs.
    pub rulebook: String,
    /// The partner-programme rulebook run alongside, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_rulebook: Option<String>,
    /// Operator calendar files; each adds or replaces one whole year.
    pub calendar: Vec<PathBuf>,
    pub clock: ClockMode,
    /// RFC 3339 instant the simulated clock starts at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// A bearer secret that acts as operator administrator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// Longest a request may take before it is answered with 504.
    pub request_timeout_secs: u64,
    /// Largest request body accepted.
    pub body_limit_bytes: u64,
    /// The largest amount (CNY, e.g. "1000000000.00") any one money field of a request may
    /// carry: a price, a payment, a compensation, a fine.
    pub max_amount: String,
    /// Served over https by a proxy: the console's cookies are `Secure` and `__Host-`.
    pub secure_cookies: bool,
    /// Keys sealing secrets and personal data at rest: `KID:BASE64KEY[,…]` (32-byte keys,
    /// the first seals, all open), or `@FILE` holding that. Without it a key is generated
    /// into the data directory (see `sealing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_keys: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            rulebook: "ali-2020".to_owned(),
            partner_rulebook: None,
            calendar: Vec::new(),
            clock: ClockMode::System,
            start: None,
            admin_token: None,
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            max_amount: DEFAULT_MAX_AMOUNT.to_string(),
            secure_cookies: false,
            data_keys: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("rulebook", &self.rulebook)
            .field("partner_rulebook", &self.partner_rulebook)
            .field("calendar", &self.calendar)
            .field("clock", &self.clock)
            .field("start", &self.start)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("max_amount", &self.max_amount)
            .field("secure_cookies", &self.secure_cookies)
            .field("data_keys", &self.data_keys.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One layer's worth of settings: only what it states. Used for the environment and for
/// command-line flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConfigOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rulebook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_rulebook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Vec<PathBuf>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_limit_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_cookies: Option<bool>,
    pub data_keys: Option<String>,
}

impl ConfigOverrides {
    /// Reads the `YUNSHI_*` variables among `vars`. Values are taken as written (a token of
    /// digits stays a string); `YUNSHI_CALENDAR` is a comma-separated list of files. Other
    /// `YUNSHI_*` variables are not configuration and are ignored.
    pub fn from_env<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut o = ConfigOverrides::default();
        for (name, value) in vars {
            let name = name.as_ref();
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let value = value.as_ref().to_owned();
            let bad = |message: String| ConfigError::Env {
                var: name.to_owned(),
                message,
            };
            match key {
                "LISTEN" => o.listen = Some(value),
                "DATA_DIR" => o.data_dir = Some(PathBuf::from(value)),
                "DATABASE_URL" => o.database_url = Some(value),
                "RULEBOOK" => o.rulebook = Some(value),
                "PARTNER_RULEBOOK" => o.partner_rulebook = Some(value),
                "CALENDAR" => {
                    o.calendar = Some(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(PathBuf::from)
                            .collect(),
                    )
                }
                "CLOCK" => {
                    o.clock = Some(match value.trim() {
                        "system" => ClockMode::System,
                        "simulated" => ClockMode::Simulated,
                        other => {
                            return Err(bad(format!("{other:?} is not `system` or `simulated`")));
                        }
                    })
                }
                "START" => o.start = Some(value),
                "ADMIN_TOKEN" => o.admin_token = Some(value),
                "DATA_KEYS" => o.data_keys = Some(value),
                "REQUEST_TIMEOUT_SECS" => {
                    o.request_timeout_secs = Some(
                        value
                            .trim()
                            .parse()
                            .map_err(|e| bad(format!("{value:?}: {e}")))?,
                    )
                }
                "BODY_LIMIT_BYTES" => {
                    o.body_limit_bytes = Some(
                        value
                            .trim()
                            .parse()
                            .map_err(|e| bad(format!("{value:?}: {e}")))?,
                    )
                }
                "MAX_AMOUNT" => o.max_amount = Some(value),
                "SECURE_COOKIES" => {
                    o.secure_cookies = Some(match value.trim() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => return Err(bad(format!("{other:?} is not true or false"))),
                    })
                }
                _ => {}
            }
        }
        Ok(o)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Layers(Box<figment::Error>),
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid {key} {value:?}: {message}")]
    Invalid {
        key: &'static str,
        value: String,
        message: String,
    },
    #[error(
        "--start is required with --clock simulated (an RFC 3339 instant, e.g. 2026-04-01T09:00:00+08:00)"
    )]
    MissingStart,
    #[error("--start applies only to --clock simulated")]
    StartWithoutSimulatedClock,
    #[error("cannot read calendar file {path}: {source}")]
    CalendarRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("admin token is too short: use at least {MIN_ADMIN_TOKEN_LEN} characters")]
    AdminTokenTooShort,
    #[error("{0}")]
    Rulebook(String),
    #[error(transparent)]
    DataKeys(#[from] crate::kernel::sealing::SealError),
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        ConfigError::Layers(Box::new(e))
    }
}

impl Config {
    /// Defaults, then `file` (which must exist if given), then `env`, then `flags`.
    pub fn load(
        file: Option<&Path>,
        env: &ConfigOverrides,
        flags: &ConfigOverrides,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let config = figment
            .merge(Serialized::defaults(env))
            .merge(Serialized::defaults(flags))
            .extract()?;
        Ok(config)
    }

    /// The database URL, defaulting to `yunshi.db` in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => self
                .data_dir
                .join("yunshi.db")
                .to_string_lossy()
                .into_owned(),
        }
    }

    /// Checks everything and reads the calendar files.
    pub fn resolve(&self) -> Result<Settings, ConfigError> {
        let listen: SocketAddr = self
            .listen
            .trim()
            .parse()
            .map_err(|e| ConfigError::Invalid {
                key: "listen",
                value: self.listen.clone(),
                message: format!("{e}; expected ADDR:PORT such as 127.0.0.1:8080"),
            })?;

        let mut calendar = WorkingCalendar::builtin()?;
        for path in &self.calendar {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::CalendarRead {
                    path: path.clone(),
                    source,
                })?;
            calendar.load(CalendarYear::parse(&path.to_string_lossy(), &text)?);
        }
        let provisional_years = calendar
            .years()
            .filter(|y| y.status == YearStatus::Provisional)
            .map(|y| y.year)
            .collect();

        let clock: Arc<dyn Clock> = match (self.clock, &self.start) {
            (ClockMode::System, None) => Arc::new(SystemClock),
            (ClockMode::System, Some(_)) => return Err(ConfigError::StartWithoutSimulatedClock),
            (ClockMode::Simulated, None) => return Err(ConfigError::MissingStart),
            (ClockMode::Simulated, Some(start)) => {
                let at: Timestamp = start.trim().parse().map_err(|e| ConfigError::Invalid {
                    key: "start",
                    value: start.clone(),
                    message: format!("{e}; expected RFC 3339 such as 2026-04-01T09:00:00+08:00"),
                })?;
                Arc::new(SimulatedClock::starting_at(at))
            }
        };

        if let Some(token) = &self.admin_token
            && token.trim().chars().count() < MIN_ADMIN_TOKEN_LEN
        {
            return Err(ConfigError::AdminTokenTooShort);
        }
        if self.request_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "request_timeout_secs",
                value: "0".to_owned(),
                message: "must be at least 1".to_owned(),
            });
        }
        let body_limit = usize::try_from(self.body_limit_bytes)
            .ok()
            .filter(|&n| n >= 1024)
            .ok_or_else(|| ConfigError::Invalid {
                key: "body_limit_bytes",
                value: self.body_limit_bytes.to_string(),
                message: "must be at least 1024".to_owned(),
            })?;

        let max_amount = self
            .max_amount
            .trim()
            .parse::<Fen>()
            .map_err(|e| e.to_string())
            .and_then(|fen| {
                if fen.is_positive() && fen <= MAX_AMOUNT_CEILING {
                    Ok(fen)
                } else {
                    Err(format!(
                        "must be above 0.00 and at most {MAX_AMOUNT_CEILING}"
                    ))
                }
            })
            .map_err(|message| ConfigError::Invalid {
                key: "max_amount",
                value: self.max_amount.clone(),
                message,
            })?;
        let keys = match self.data_keys.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(file) if file.starts_with('@') => {
                let path = PathBuf::from(&file[1..]);
                let spec = std::fs::read_to_string(&path).map_err(|source| {
                    crate::kernel::sealing::SealError::KeyFile {
                        path: path.display().to_string(),
                        source,
                    }
                })?;
                Some(Arc::new(crate::kernel::sealing::Keyring::parse(&spec)?))
            }
            Some(spec) => Some(Arc::new(crate::kernel::sealing::Keyring::parse(spec)?)),
        };

        let rulebooks = crate::kernel::rulebooks::Rulebooks::select(
            &self.rulebook,
            self.partner_rulebook.as_deref(),
            clock.now(),
        )?;

        Ok(Settings {
            listen,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url(),
            rulebooks,
            calendar,
            provisional_years,
            clock,
            clock_mode: self.clock,
            admin_token: self.admin_token.as_ref().map(|t| t.trim().to_owned()),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            body_limit,
            max_amount,
            secure_cookies: self.secure_cookies,
            faults: None,
            gateway: None,
            keys,
        })
    }
}

/// Checked settings the server runs with.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub rulebooks: crate::kernel::rulebooks::Rulebooks,
    pub calendar: WorkingCalendar,
    /// Loaded years that are provisional (statutory holidays only, no adjusted days yet).
    pub provisional_years: Vec<i16>,
    pub clock: Arc<dyn Clock>,
    pub clock_mode: ClockMode,
    pub admin_token: Option<String>,
    pub request_timeout: Duration,
    pub body_limit: usize,
    /// The largest amount one money field of a request may carry.
    pub max_amount: Fen,
    /// The console's cookies are `Secure` and `__Host-` prefixed (served over https).
    pub secure_cookies: bool,
    /// Failures injected at the storage boundary (the simulator's `--faults`).
    pub faults: Option<Arc<dyn yunshi_store::FaultPlan>>,
    /// A payment gateway other than the built-in sandbox.
    pub gateway: Option<Arc<dyn crate::kernel::gateway::PaymentGateway>>,
    /// The configured data keys; `None`: the data directory's own (`sealing::KEY_FILE`).
    pub keys: Option<Arc<crate::kernel::sealing::Keyring>>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("rulebooks", &self.rulebooks)
            .field("provisional_years", &self.provisional_years)
            .field("clock_mode", &self.clock_mode)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("request_timeout", &self.request_timeout)
            .field("body_limit", &self.body_limit)
            .field("max_amount", &self.max_amount)
            .finish_non_exhaustive()
    }
}

/// A database URL fit for logs: the password, if any, replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn layers_override_in_order_defaults_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "yunshi.toml",
            "listen = \"0.0.0.0:9000\"\nrulebook = \"tc-2017\"\nrequest_timeout_secs = 5\n",
        );
        let env = ConfigOverrides::from_env([
            ("YUNSHI_RULEBOOK", "jd-2019"),
            ("YUNSHI_ADMIN_TOKEN", "1234567890123456"),
            ("YUNSHI_TEST_PG", "postgres://ignored"),
            ("PATH", "/bin"),
        ])
        .unwrap();
        let flags = ConfigOverrides {
            rulebook: Some("ali-2020".into()),
            ..Default::default()
        };
        let config = Config::load(Some(&file), &env, &flags).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000"); // file over default
        assert_eq!(config.request_timeout_secs, 5);
        assert_eq!(config.rulebook, "ali-2020"); // flag over env over file
        assert_eq!(config.admin_token.as_deref(), Some("1234567890123456")); // digits stay a string
        assert_eq!(config.data_dir, PathBuf::from("./data")); // default
        let no_flags = Config::load(Some(&file), &env, &ConfigOverrides::default()).unwrap();
        assert_eq!(no_flags.rulebook, "jd-2019");
    }

    #[test]
    fn unknown_key_in_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "bad.toml",
            "listen = \"127.0.0.1:1\"\nrulbook = \"x\"\n",
        );
        let err = Config::load(Some(&file), &Default::default(), &Default::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("rulbook"), "{err}");
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let err = Config::load(
            Some(Path::new("/nonexistent/yunshi.toml")),
            &Default::default(),
            &Default::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("yunshi.toml"), "{err}");
    }

    #[test]
    fn env_values_are_checked_and_calendar_is_a_list() {
        let env = ConfigOverrides::from_env([("YUNSHI_CALENDAR", "a.toml, b.toml")]).unwrap();
        assert_eq!(
            env.calendar,
            Some(vec![PathBuf::from("a.toml"), PathBuf::from("b.toml")])
        );
        let err = ConfigOverrides::from_env([("YUNSHI_CLOCK", "fast")]).unwrap_err();
        assert!(err.to_string().contains("YUNSHI_CLOCK"), "{err}");
        let err = ConfigOverrides::from_env([("YUNSHI_REQUEST_TIMEOUT_SECS", "x")]).unwrap_err();
        assert!(
            err.to_string().contains("YUNSHI_REQUEST_TIMEOUT_SECS"),
            "{err}"
        );
    }

    #[test]
    fn simulated_clock_needs_a_start_and_starts_there() {
        let mut config = Config {
            clock: ClockMode::Simulated,
            ..Config::default()
        };
        assert!(matches!(config.resolve(), Err(ConfigError::MissingStart)));
        config.start = Some("2026-04-01T09:00:00+08:00".into());
        let settings = config.resolve().unwrap();
        assert_eq!(settings.clock.now().to_string(), "2026-04-01T01:00:00Z");
        config.start = Some("yesterday".into());
        assert!(matches!(
            config.resolve(),
            Err(ConfigError::Invalid { key: "start", .. })
        ));
        let system_with_start = Config {
            start: Some("2026-04-01T09:00:00+08:00".into()),
            ..Config::default()
        };
        assert!(matches!(
            system_with_start.resolve(),
            Err(ConfigError::StartWithoutSimulatedClock)
        ));
    }

    #[test]
    fn defaults_resolve_to_sqlite_in_the_data_dir() {
        let settings = Config::default().resolve().unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database_url, "./data/yunshi.db");
        assert_eq!(settings.clock_mode, ClockMode::System);
    }

    #[test]
    fn bad_listen_address_and_short_admin_token_are_refused() {
        let bad = Config {
            listen: "localhost".into(),
            ..Config::default()
        };
        assert!(matches!(
            bad.resolve(),
            Err(ConfigError::Invalid { key: "listen", .. })
        ));
        let short = Config {
            admin_token: Some("short".into()),
            ..Config::default()
        };
        assert!(matches!(
            short.resolve(),
            Err(ConfigError::AdminTokenTooShort)
        ));
    }

    #[test]
    fn calendar_file_replaces_a_year_and_bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(
            dir.path(),
            "cn-2030.toml",
            "year = 2030\nsource = \"operator\"\nstatus = \"provisional\"\nworking_days = []\n\n[[holiday]]\nname = \"元旦\"\nname_en = \"New Year's Day\"\nfrom = 2030-01-01\nto = 2030-01-01\n",
        );
        let config = Config {
            calendar: vec![good],
            ..Config::default()
        };
        let settings = config.resolve().unwrap();
        assert!(settings.provisional_years.contains(&2030));
        assert!(settings.calendar.year(2030).is_ok());

        let bad = write(dir.path(), "bad.toml", "year = 2030\nsorce = \"x\"\n");
        let err = Config {
            calendar: vec![bad],
            ..Config::default()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(err.contains("sorce"), "{err}");
        let missing = Config {
            calendar: vec![dir.path().join("nope.toml")],
            ..Config::default()
        };
        assert!(matches!(
            missing.resolve(),
            Err(ConfigError::CalendarRead { .. })
        ));
    }

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/yunshi"),
            "postgres://app:***@db:5432/yunshi"
        );
        assert_eq!(
            redact_url("postgres://root@127.0.0.1/x"),
            "postgres://root@127.0.0.1/x"
        );
        assert_eq!(redact_url("./data/yunshi.db"), "./data/yunshi.db");
    }
}
