//! `yunshi serve` and `yunshi migrate`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use yunshi_server::{
    Bootstrap, ClockMode, Config, ConfigOverrides, Server, kernel::config::redact_url,
};
use yunshi_store::Store;

/// Settings come from defaults, then `--config FILE`, then `YUNSHI_*` variables, then these
/// flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// The marketplace rulebook this deployment runs [default: ali-2020].
    #[arg(long, value_name = "NAME")]
    rulebook: Option<String>,
    /// The partner-programme rulebook run alongside, e.g. partner-fy22.
    #[arg(long, value_name = "NAME")]
    partner_rulebook: Option<String>,
    /// An operator calendar file adding or replacing one year's working days (repeatable).
    #[arg(long, value_name = "FILE")]
    calendar: Vec<PathBuf>,
    /// Where "now" comes from [default: system].
    #[arg(long, value_enum)]
    clock: Option<ClockArg>,
    /// The instant a simulated clock starts at (RFC 3339, e.g. 2026-04-01T09:00:00+08:00).
    #[arg(long, value_name = "RFC3339")]
    start: Option<String>,
    /// The largest amount one money field of a request may carry, in CNY
    /// [default: 1000000000.00].
    #[arg(long, value_name = "CNY")]
    max_amount: Option<String>,
    /// Served over https by a proxy: the console's cookies are `Secure` and `__Host-`.
    #[arg(long)]
    secure_cookies: bool,
    /// Serve a demo marketplace (seeded on first start by the simulator, in DATA_DIR/demo
    /// unless --data-dir says otherwise) and print its URLs and logins.
    #[arg(long)]
    demo: bool,
}

impl ServeArgs {
    /// Whether this is `serve --demo`.
    pub fn is_demo(&self) -> bool {
        self.demo
    }
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// A TOML configuration file (keys as the flags, with `_` for `-`).
    #[arg(long, value_name = "FILE", env = "YUNSHI_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for local data, created on first run [default: ./data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL, or a SQLite file [default: yunshi.db in the data dir].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ClockArg {
    System,
    Simulated,
}

impl CommonArgs {
    fn load(&self, flags: ConfigOverrides) -> anyhow::Result<Config> {
        let env = ConfigOverrides::from_env(std::env::vars())?;
        let flags = ConfigOverrides {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..flags
        };
        Ok(Config::load(self.config.as_deref(), &env, &flags)?)
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let flags = ConfigOverrides {
        listen: args.listen,
        rulebook: args.rulebook,
        partner_rulebook: args.partner_rulebook,
        calendar: (!args.calendar.is_empty()).then_some(args.calendar),
        clock: args.clock.map(|c| match c {
            ClockArg::System => ClockMode::System,
            ClockArg::Simulated => ClockMode::Simulated,
        }),
        start: args.start,
        max_amount: args.max_amount,
        secure_cookies: args.secure_cookies.then_some(true),
        ..ConfigOverrides::default()
    };
    let demo = args.demo;
    let explicit_dir = args.common.data_dir.is_some();
    let mut config = args.common.load(flags)?;
    if demo && config.database_url.is_some() {
        // The demo's logins share a published password: never seed a configured database.
        anyhow::bail!(
            "--demo runs on its own SQLite database in the data directory; leave out \
             --database-url (and YUNSHI_DATABASE_URL)"
        );
    }
    if demo && !explicit_dir {
        config.data_dir = config.data_dir.join("demo");
    }
    tracing::debug!(?config, "configuration");
    runtime()?.block_on(async move {
        let seeded = if demo {
            let seeded = crate::demo::ensure_seeded(&config.data_dir, &config.rulebook).await?;
            // The demo lives on its simulated clock, continuing where the seeding stopped.
            config.clock = ClockMode::Simulated;
            config.start = Some(seeded.now.clone());
            Some(seeded)
        } else {
            None
        };
        let settings = config.resolve()?;
        let server = Server::bind(settings).await?;
        // Who answers: a supervisor (the crash tests) matches this against `/healthz`.
        println!(
            "yunshi listening on http://{} · instance {}",
            yunshi_server::reachable(server.local_addr()),
            server.instance()
        );
        if let Some(seeded) = &seeded {
            let base = format!("http://{}", yunshi_server::reachable(server.local_addr()));
            println!("{}", crate::demo::announce(&base, seeded));
        }
        if *server.bootstrap() == Bootstrap::AdminToken {
            tracing::info!("YUNSHI_ADMIN_TOKEN is an operator administrator token");
        }
        if let Some(link) = server.setup_link() {
            println!(
                "\nNo operator administrator exists yet. Open this one-time link (valid until {}):\n\
                 尚无运营管理员。请打开以下一次性链接完成设置：\n\n    {}\n",
                link.expires_at, link.url
            );
        }
        server.run_until(shutdown_signal()).await?;
        anyhow::Ok(())
    })
}

pub fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let config = args.common.load(ConfigOverrides::default())?;
    let url = config.database_url();
    runtime()?.block_on(async move {
        if config.database_url.is_none() {
            yunshi_server::kernel::private_files::create_private_dir(&config.data_dir)
                .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
        }
        let store = Store::open(&url)
            .await
            .with_context(|| format!("cannot open {}", redact_url(&url)))?;
        let migrated = store.migrate().await;
        store.close().await;
        migrated.with_context(|| format!("migrating {}", redact_url(&url)))?;
        tracing::info!(database = %redact_url(&url), "schema is up to date");
        anyhow::Ok(())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
