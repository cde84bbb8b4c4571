//! `yunshi audit`: the invariant checker of a running server (`/api/v1/admin/audit`), as an
//! operator administrator. Prints each check; exits non-zero when one fails.

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::clock_cmd::{Connection, call};

pub fn run(conn: Connection) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = rt.block_on(call(
        &conn,
        reqwest::Method::GET,
        "/api/v1/admin/audit",
        None,
    ))?;
    println!("{}", report_text(&report));
    if report["ok"] != Value::Bool(true) {
        bail!("an invariant is broken");
    }
    Ok(())
}

/// One line per check: `ok` or `BROKEN`, its name, what was found.
pub fn report_text(report: &Value) -> String {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|c| {
                    let mark = if c["ok"] == Value::Bool(true) {
                        "ok    "
                    } else {
                        "BROKEN"
                    };
                    let name = c["name"].as_str().unwrap_or("?");
                    let detail = c["detail"].as_str().unwrap_or("");
                    format!("{mark} {name}: {detail}")
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_broken_check_is_marked_and_named() {
        let report = json!({"ok": false, "checks": [
            {"name": "trial_balance_is_zero", "ok": true, "detail": "0"},
            {"name": "escrow_equals_held_orders", "ok": false, "detail": "order x holds 1.00"},
        ]});
        assert_eq!(
            super::report_text(&report),
            "ok     trial_balance_is_zero: 0\nBROKEN escrow_equals_held_orders: order x holds 1.00"
        );
    }
}
