//! What a simulation did, in numbers that depend only on the seed and the arguments: the
//! text printed at the end and the optional JSON file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// Fen as yuan with thousands separators: 1234567 → "12,345.67".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let digits = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub rulebook: String,
    pub seed: u64,
    pub start: String,
    pub days: u64,
    pub providers: u64,
    pub buyers: u64,
    pub faults_per_mille: u64,

    pub applied: u64,
    pub more_material: u64,
    pub rejected: u64,
    pub admitted: u64,
    pub products_listed: u64,
    pub products_flagged: u64,

    pub buyers_active: u64,
    pub orders: u64,
    pub gmv_fen: i64,
    pub renewals: u64,
    pub refunds: u64,
    pub refunded_fen: i64,
    pub refunds_refused_outside_window: u64,

    pub invoices_requested: u64,
    pub invoices_issued: u64,
    pub exits: u64,
    pub complaints: u64,
    pub complaints_unanswered: u64,
    pub cases_opened: u64,
    pub cases_by_code: BTreeMap<String, u64>,
    pub top_ups: u64,
    pub top_ups_fen: i64,
    pub top_ups_missed: u64,
    pub providers_expelled: u64,
    pub providers_frozen: u64,

    pub statements: u64,
    pub settled_sales_fen: i64,
    pub fees_fen: i64,
    pub statement_refunds_fen: i64,
    /// Held at the end: each provider's latest statement's hold.
    pub held_fen: i64,
    pub payouts_fen: i64,

    pub deadlines_fired: BTreeMap<String, u64>,
    /// Ledger balance per account kind at the end (postings' sign: debit positive).
    pub ledger: BTreeMap<String, i64>,
    /// Faults the seed planned, by kind.
    pub faults_planned: BTreeMap<String, u64>,
    pub audits_passed: u64,
    /// Of those, the audits over everything stored (the rest checked what changed).
    pub full_audits_passed: u64,
    /// Restarts after injected crashes: how many depends on how concurrent calls met the
    /// crashed store, so it is reported beside the summary, not in it.
    #[serde(skip)]
    pub restarts: u64,
    /// Faults a commit actually met, by kind: a planned fault is lost when its call writes
    /// nothing or meets a store another call crashed, which depends on timing too, so these
    /// are reported beside the summary with the restarts.
    #[serde(skip)]
    pub faults_injected: BTreeMap<String, u64>,
    /// With `serve --demo`: (role, e-mail) of the logins that have the demo password.
    #[serde(skip)]
    pub demo_logins: Vec<(String, String)>,
}

impl Summary {
    /// The injected faults by kind ("busy 3, crash_after_commit 1"), or "none".
    pub fn injected(&self) -> String {
        if self.faults_injected.is_empty() {
            return "none".into();
        }
        self.faults_injected
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "yunshi simulate — {} · seed {} · {} days from {} · {} providers · {} buyers · faults {}‰",
            self.rulebook,
            self.seed,
            self.days,
            self.start,
            self.providers,
            self.buyers,
            self.faults_per_mille
        );
        let _ = writeln!(
            s,
            "providers   applied {} · asked for more material {} · rejected {} · admitted {} · frozen {} · expelled {}",
            self.applied,
            self.more_material,
            self.rejected,
            self.admitted,
            self.providers_frozen,
            self.providers_expelled
        );
        let _ = writeln!(
            s,
            "products    listed {} · flagged by the checks and fixed {}",
            self.products_listed, self.products_flagged
        );
        let _ = writeln!(
            s,
            "orders      {} paid · {} buyers · GMV ¥{} · renewals {}",
            self.orders,
            self.buyers_active,
            yuan(self.gmv_fen),
            self.renewals
        );
        let _ = writeln!(
            s,
            "refunds     {} inside the window (¥{}) · {} refused outside it",
            self.refunds,
            yuan(self.refunded_fen),
            self.refunds_refused_outside_window
        );
        let _ = writeln!(
            s,
            "invoices    {} requested · {} issued at once",
            self.invoices_requested, self.invoices_issued
        );
        let _ = writeln!(
            s,
            "complaints  {} · {} not answered in time",
            self.complaints, self.complaints_unanswered
        );
        let codes: Vec<String> = self
            .cases_by_code
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "violations  {} cases · {}",
            self.cases_opened,
            codes.join(", ")
        );
        let _ = writeln!(
            s,
            "deposits    {} top-ups (¥{}) · {} missed",
            self.top_ups,
            yuan(self.top_ups_fen),
            self.top_ups_missed
        );
        let _ = writeln!(
            s,
            "settlement  {} statements · sales ¥{} · refunds ¥{} · fees ¥{} · payouts ¥{} · held at the end ¥{}",
            self.statements,
            yuan(self.settled_sales_fen),
            yuan(self.statement_refunds_fen),
            yuan(self.fees_fen),
            yuan(self.payouts_fen),
            yuan(self.held_fen)
        );
        let fired: Vec<String> = self
            .deadlines_fired
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let total: u64 = self.deadlines_fired.values().sum();
        let _ = writeln!(s, "deadlines   {total} fired · {}", fired.join(", "));
        let ledger: Vec<String> = self
            .ledger
            .iter()
            .map(|(k, v)| format!("{k} {}", yuan(*v)))
            .collect();
        let _ = writeln!(s, "ledger      {}", ledger.join(" · "));
        let faults: Vec<String> = self
            .faults_planned
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "invariants  held after {} audits ({} of everything) · faults planned: {}",
            self.audits_passed,
            self.full_audits_passed,
            if faults.is_empty() {
                "none".into()
            } else {
                faults.join(", ")
            }
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::yuan;

    #[test]
    fn injected_faults_are_listed_by_kind() {
        let mut s = super::Summary::default();
        assert_eq!(s.injected(), "none");
        s.faults_injected.insert("busy".into(), 3);
        s.faults_injected.insert("crash_after_commit".into(), 1);
        assert_eq!(s.injected(), "busy 3, crash_after_commit 1");
    }

    #[test]
    fn yuan_groups_thousands_and_keeps_fen() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(123_456_789), "1,234,567.89");
        assert_eq!(yuan(-100_000), "-1,000.00");
    }
}
