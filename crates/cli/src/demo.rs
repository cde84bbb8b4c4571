//! `yunshi serve --demo`: a living marketplace to look at. The first start seeds it with the
//! simulator — a dozen providers, their products, a few hundred orders over the last four
//! months, refunds, complaints, violation cases, monthly settlements — on a simulated clock
//! that ends today; later starts reuse it. The demo's logins share one password.

use std::path::Path;

use anyhow::{Context, Result};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use yunshi_core::time::{beijing_date, beijing_instant};

use crate::simulate::{self, SimulateArgs};

/// The password of every demo login (a demo, not a secret).
pub const DEMO_PASSWORD: &str = "yunshi-demo-2026";

/// Days of history the demo starts with.
const DEMO_DAYS: u64 = 120;

/// What a seeded demo remembers between starts.
#[derive(Debug, Serialize, Deserialize)]
pub struct Demo {
    /// Where the simulated clock stood when seeding ended.
    pub now: String,
    /// (role, e-mail).
    pub logins: Vec<(String, String)>,
}

const MARKER: &str = "demo.json";

/// Seeds the demo marketplace in `data_dir` (once) and says what it holds.
pub async fn ensure_seeded(data_dir: &Path, rulebook: &str) -> Result<Demo> {
    let marker = data_dir.join(MARKER);
    if let Ok(raw) = std::fs::read_to_string(&marker) {
        return serde_json::from_str(&raw).with_context(|| format!("reading {}", marker.display()));
    }
    yunshi_server::kernel::private_files::create_private_dir(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let today = beijing_date(Timestamp::now());
    let nine = jiff::civil::time(9, 0, 0, 0);
    let start = beijing_instant(today, nine)?
        .checked_sub(SignedDuration::from_hours(24 * DEMO_DAYS as i64))?;
    eprintln!("正在生成演示市场… Seeding the demo marketplace ({DEMO_DAYS} days of history)…");
    let args = SimulateArgs {
        rulebook: rulebook.to_owned(),
        providers: 12,
        buyers: 300,
        days: DEMO_DAYS,
        seed: 7,
        faults: 0.0,
        json: None,
        start: start.to_string(),
        orders_per_provider: 300,
        audit_every: DEMO_DAYS,
        full_audit_every: DEMO_DAYS,
        concurrency: 16,
        database: None,
        data_dir: Some(data_dir.to_path_buf()),
        sweep: None,
        demo_password: Some(DEMO_PASSWORD.to_owned()),
    };
    let summary = simulate::simulate(&args).await?;
    let now = start.checked_add(SignedDuration::from_hours(24 * (DEMO_DAYS as i64 - 1)))?;
    let demo = Demo {
        now: now.to_string(),
        logins: summary.demo_logins,
    };
    std::fs::write(&marker, serde_json::to_string_pretty(&demo)?)
        .with_context(|| format!("writing {}", marker.display()))?;
    eprintln!(
        "演示市场已生成 Demo seeded: {} orders, GMV ¥{}",
        summary.orders,
        simulate::summary_yuan(summary.gmv_fen)
    );
    Ok(demo)
}

/// The URLs and logins, in both languages.
pub fn announce(base: &str, demo: &Demo) -> String {
    let mut out = format!(
        "\n云市演示市场 · Yunshi demo marketplace — {base}/\n\
         (模拟时钟 simulated clock: {})\n\n",
        demo.now
    );
    for (role, email) in &demo.logins {
        let (page, label) = match role.as_str() {
            "provider" => ("/provider", "服务商 provider"),
            "buyer" => ("/orders", "买家 buyer"),
            "admin" => ("/operator", "运营管理员 operator admin"),
            "reviewer" => ("/operator/onboarding", "审核 reviewer"),
            "compliance" => ("/operator/cases", "合规 compliance"),
            "finance" => ("/operator/settlement", "财务 finance"),
            _ => ("/operator/complaints", "客服 customer service"),
        };
        out.push_str(&format!("  {label:<28} {base}{page:<22} {email}\n"));
    }
    out.push_str(&format!(
        "\n  登录 Log in at {base}/login — 密码 password: {DEMO_PASSWORD}\n"
    ));
    out
}
