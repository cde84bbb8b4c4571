//! `yunshi clock show` and `yunshi clock advance`: the simulated clock of a running server,
//! over its HTTP API (`/api/v1/admin/clock`), as an operator administrator.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Show the server's clock: mode, now, the next deadline due.
    Show(Connection),
    /// Advance a simulated clock, firing every deadline that falls due on the way.
    Advance(AdvanceArgs),
}

/// Where the server is and who asks (shared by `yunshi audit`).
#[derive(Debug, Args)]
pub struct Connection {
    /// The server's base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "YUNSHI_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// An operator administrator's API token.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "YUNSHI_TOKEN",
        hide_env_values = true
    )]
    token: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["by", "to"])))]
pub struct AdvanceArgs {
    #[command(flatten)]
    connection: Connection,
    /// How far: 3d, 36h, 90m, "1d 12h" or ISO 8601 P3DT4H (a day is 24 hours).
    #[arg(long, value_name = "DURATION")]
    by: Option<String>,
    /// To this instant (RFC 3339, e.g. 2026-10-08T09:00:00+08:00).
    #[arg(long, value_name = "RFC3339")]
    to: Option<String>,
}

pub fn run(cmd: ClockCommand) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        match cmd {
            ClockCommand::Show(conn) => {
                let clock = request(&conn, reqwest::Method::GET, None).await?;
                println!("{}", show_text(&clock));
            }
            ClockCommand::Advance(args) => {
                let body = match (&args.by, &args.to) {
                    (Some(by), None) => json!({"by": by}),
                    (None, Some(to)) => json!({"to": to}),
                    _ => bail!("give exactly one of --by and --to"),
                };
                let advanced = request(&args.connection, reqwest::Method::POST, Some(body)).await?;
                println!("{}", advanced_text(&advanced));
            }
        }
        Ok(())
    })
}

/// Calls `/api/v1/admin/clock`; a problem answer becomes an error naming its code.
async fn request(conn: &Connection, method: reqwest::Method, body: Option<Value>) -> Result<Value> {
    call(conn, method, "/api/v1/admin/clock", body).await
}

/// Calls `path` on the server; a problem answer becomes an error naming its code.
pub async fn call(
    conn: &Connection,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value> {
    let url = format!("{}{path}", conn.server.trim_end_matches('/'));
    let mut req = reqwest::Client::new()
        .request(method, &url)
        .bearer_auth(conn.token.trim());
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = res.status();
    let text = res.text().await.context("reading the answer")?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{url} answered {status} with something that is not JSON"))?;
    if !status.is_success() {
        let detail = value["detail"].as_str().unwrap_or("(no detail)");
        let code = value["code"].as_str().unwrap_or("?");
        bail!("{status} {code}: {detail}");
    }
    Ok(value)
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key].as_str().unwrap_or("-")
}

/// What `clock show` prints.
pub fn show_text(clock: &Value) -> String {
    format!(
        "mode:      {}\nnow:       {} ({})\nnext due:  {}{}",
        str_of(clock, "mode"),
        str_of(clock, "beijing"),
        str_of(clock, "now"),
        clock["next_deadline_due"].as_str().unwrap_or("none"),
        if clock["advancing"] == Value::Bool(true) {
            "\nan advance is running"
        } else {
            ""
        }
    )
}

/// What `clock advance` prints.
pub fn advanced_text(advanced: &Value) -> String {
    let mut out = format!(
        "clock moved from {} to {} ({})\nfired {} deadline(s)",
        str_of(advanced, "from"),
        str_of(advanced, "beijing"),
        str_of(advanced, "now"),
        advanced["fired_total"].as_u64().unwrap_or(0),
    );
    if let Some(fired) = advanced["fired"].as_object() {
        for (kind, n) in fired {
            out.push_str(&format!("\n  {kind:<40} {n}"));
        }
    }
    let unknown = advanced["unknown_kind"].as_u64().unwrap_or(0);
    if unknown > 0 {
        out.push_str(&format!(
            "\n{unknown} due deadline(s) of a kind nothing handles: left pending"
        ));
    }
    if let Some(failed) = advanced["failed"].as_array().filter(|f| !f.is_empty()) {
        out.push_str(&format!(
            "\n{} deadline(s) failed and stay pending:",
            failed.len()
        ));
        for f in failed {
            out.push_str(&format!(
                "\n  {} {} due {}: {}",
                str_of(f, "kind"),
                str_of(f, "id"),
                str_of(f, "due_at"),
                str_of(f, "detail")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advance_prints_the_new_time_and_what_fired_by_kind() {
        let text = advanced_text(&json!({
            "from": "2026-10-05T01:00:00Z",
            "now": "2026-10-08T01:00:00Z",
            "beijing": "2026-10-08T09:00:00+08:00",
            "fired": {"order.guarantee_window_end": 12, "order.sale_count": 3},
            "fired_total": 15,
            "unknown_kind": 1,
            "failed": [{"id": "d1", "kind": "x.y", "due_at": "2026-10-06T01:00:00Z",
                        "detail": "boom"}]
        }));
        assert!(text.contains("to 2026-10-08T09:00:00+08:00"), "{text}");
        assert!(text.contains("fired 15 deadline(s)"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.contains("order.guarantee_window_end") && l.ends_with(" 12")),
            "{text}"
        );
        assert!(
            text.contains("1 due deadline(s) of a kind nothing handles"),
            "{text}"
        );
        assert!(
            text.contains("x.y d1 due 2026-10-06T01:00:00Z: boom"),
            "{text}"
        );
    }

    #[test]
    fn show_prints_mode_now_and_the_next_deadline() {
        let text = show_text(&json!({
            "mode": "simulated",
            "now": "2026-10-08T01:00:00Z",
            "beijing": "2026-10-08T09:00:00+08:00",
            "next_deadline_due": null,
            "advancing": false
        }));
        assert!(text.contains("simulated"), "{text}");
        assert!(
            text.contains("2026-10-08T09:00:00+08:00 (2026-10-08T01:00:00Z)"),
            "{text}"
        );
        assert!(text.contains("next due:  none"), "{text}");
    }
}
