//! `yunshi rulebook check FILE...` and `yunshi rulebook show NAME [--at DATE]`.
//!
//! `check` validates rulebook files one by one and then together (ids and effective dates must
//! not clash); every problem is printed as `FILE:LINE: KEY: MESSAGE`. `show` prints the version
//! of a rulebook that is in force on a date, as a readable summary, TOML or JSON.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use jiff::civil::Date;
use serde::Serialize;
use yunshi_core::rulebook::{
    Action, Library, MarketplaceRulebook, PartnerRulebook, Procedure, RefundWindow, Rulebook,
    RulebookError,
};
use yunshi_core::source::SourceError;

#[derive(Debug, clap::Subcommand)]
pub enum RulebookCommand {
    /// Validate rulebook files, each on its own and all together (duplicate ids or effective
    /// dates). With no FILE, checks the rulebooks built into this binary.
    Check {
        /// Rulebook TOML files, e.g. rulebooks/*.toml.
        files: Vec<PathBuf>,
    },
    /// Print the rulebook in force on a date.
    Show {
        /// A family ("ali", "tc", "jd", "partner") — the version in force on the date — or a
        /// version id ("ali-2020"), which must be the version in force on the date.
        name: String,
        /// The date of the act to judge (YYYY-MM-DD, Beijing time) [default: today].
        #[arg(long)]
        at: Option<Date>,
        /// Also load these rulebook files beside the built-in ones (e.g. a new version).
        #[arg(long = "file", value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output: a readable summary, the full rulebook as TOML, or as JSON.
        #[arg(long, value_enum, default_value_t = ShowFormat::Summary)]
        format: ShowFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    Summary,
    Toml,
    Json,
}

pub fn run(cmd: RulebookCommand) -> anyhow::Result<()> {
    match cmd {
        RulebookCommand::Check { files } => {
            let report = if files.is_empty() {
                check_builtin()
            } else {
                check_sources(&read_files(&files)?)
            };
            for line in &report.ok {
                println!("{line}");
            }
            for line in &report.errors {
                eprintln!("{line}");
            }
            if report.failed_files > 0 {
                bail!(
                    "{} of {} rulebook file(s) failed the check",
                    report.failed_files,
                    report.files
                );
            }
            Ok(())
        }
        RulebookCommand::Show {
            name,
            at,
            files,
            format,
        } => {
            let date =
                at.unwrap_or_else(|| yunshi_core::time::beijing_date(jiff::Timestamp::now()));
            let library = library_with(&read_files(&files)?)?;
            print!("{}", show(&library, &name, date, format)?);
            Ok(())
        }
    }
}

fn read_files(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, String)>> {
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read rulebook file {}", p.display()))?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

/// The builtin library plus extra files (as `(name, text)`).
fn library_with(extra: &[(String, String)]) -> anyhow::Result<Library> {
    let mut files: Vec<(String, String)> = Library::builtin_files()
        .iter()
        .map(|(name, text)| (format!("(builtin) {name}"), (*text).to_string()))
        .collect();
    files.extend(extra.iter().cloned());
    Library::load_files(&files).map_err(Into::into)
}

/// What `check` found: one `ok …` line per good file, located error lines for the rest.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub ok: Vec<String>,
    pub errors: Vec<String>,
    pub files: usize,
    pub failed_files: usize,
}

/// Checks `(file name, text)` pairs: each file alone, then the good ones together.
pub fn check_sources(files: &[(String, String)]) -> CheckReport {
    let mut report = CheckReport {
        files: files.len(),
        ..CheckReport::default()
    };
    let mut problems: Vec<Vec<SourceError>> = vec![Vec::new(); files.len()];
    let mut parsed: Vec<Option<Rulebook>> = Vec::with_capacity(files.len());
    for (i, (name, text)) in files.iter().enumerate() {
        match Rulebook::parse(name, text) {
            Ok(r) => parsed.push(Some(r)),
            Err(e) => {
                problems[i] = located(e, name);
                parsed.push(None);
            }
        }
    }
    // Together: only the files that parsed, so a file's own errors are not repeated.
    let good: Vec<(String, String)> = files
        .iter()
        .zip(&parsed)
        .filter(|(_, p)| p.is_some())
        .map(|(f, _)| f.clone())
        .collect();
    if let Err(e) = Library::load_files(&good) {
        for err in located(e, "(library)") {
            match files.iter().position(|(name, _)| *name == err.file) {
                Some(i) => problems[i].push(err),
                None => report.errors.push(err.to_string()),
            }
        }
    }
    for (i, (name, _)) in files.iter().enumerate() {
        match (&parsed[i], problems[i].is_empty()) {
            (Some(r), true) => report.ok.push(format!(
                "ok {name} ({}, effective {}, {})",
                r.id(),
                r.effective_from(),
                rows(r)
            )),
            _ => {
                report.failed_files += 1;
                report
                    .errors
                    .extend(problems[i].iter().map(ToString::to_string));
            }
        }
    }
    report
}

/// Checks the rulebooks compiled into the binary.
pub fn check_builtin() -> CheckReport {
    match Library::builtin() {
        Ok(lib) => CheckReport {
            ok: lib
                .iter()
                .map(|r| {
                    format!(
                        "ok (builtin) ({}, effective {}, {})",
                        r.id(),
                        r.effective_from(),
                        rows(r)
                    )
                })
                .collect(),
            errors: Vec::new(),
            files: lib.iter().count(),
            failed_files: 0,
        },
        Err(e) => {
            let errors: Vec<String> = located(e, "(builtin)")
                .iter()
                .map(ToString::to_string)
                .collect();
            CheckReport {
                ok: Vec::new(),
                failed_files: errors.len(),
                files: errors.len(),
                errors,
            }
        }
    }
}

fn located(e: RulebookError, file: &str) -> Vec<SourceError> {
    match e {
        RulebookError::Invalid(errors) => errors,
        other => vec![SourceError {
            file: file.to_string(),
            line: 0,
            key: String::from("(file)"),
            message: other.to_string(),
        }],
    }
}

fn rows(r: &Rulebook) -> String {
    match r {
        Rulebook::Marketplace(_) => format!("{} violation rows", r.violation_rows()),
        Rulebook::Partner(_) => format!("{} behaviour entries", r.violation_rows()),
    }
}

/// The text `show` prints.
pub fn show(
    library: &Library,
    name: &str,
    date: Date,
    format: ShowFormat,
) -> anyhow::Result<String> {
    let rulebook = library.in_force(name, date)?;
    match format {
        ShowFormat::Toml => Ok(rulebook.to_toml()?),
        ShowFormat::Json => Ok(serde_json::to_string_pretty(rulebook)? + "\n"),
        ShowFormat::Summary => {
            let mut out = String::new();
            summary(&mut out, library, rulebook, date).context("cannot format the summary")?;
            Ok(out)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The readable summary. Enum values are printed with the names the files use.

type Out<'a> = &'a mut String;

/// The file vocabulary of a value: `"working_days"`, `"expel"`, `["deposit","owed"]`.
fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn opt<T: ToString>(value: Option<T>, unit: &str) -> String {
    value.map_or_else(|| String::from("—"), |v| format!("{}{unit}", v.to_string()))
}

fn kv(out: Out, key: &str, value: impl std::fmt::Display) -> std::fmt::Result {
    writeln!(out, "  {key:<40} {value}")
}

fn heading(out: Out, title: &str) -> std::fmt::Result {
    writeln!(out)?;
    writeln!(out, "{title}")
}

fn summary(out: Out, library: &Library, r: &Rulebook, date: Date) -> std::fmt::Result {
    let id = r.identity();
    writeln!(out, "{} — {} ({})", id.id, id.name_zh, id.name_en)?;
    writeln!(out, "  operator: {} ({})", id.operator_zh, id.operator_en)?;
    writeln!(
        out,
        "  {} rulebook, version {}, in force from {}; judging acts of {date}",
        word(&id.kind),
        id.version,
        id.effective_from
    )?;
    let versions: Vec<String> = library
        .versions(&id.family)
        .iter()
        .map(|v| format!("{} (from {})", v.id(), v.effective_from()))
        .collect();
    writeln!(
        out,
        "  versions of {:?}: {}",
        id.family,
        versions.join(", ")
    )?;
    for s in &id.sources {
        writeln!(out, "  source {}: {} — {}", s.short, s.title_en, s.file)?;
    }
    match r {
        Rulebook::Marketplace(m) => marketplace(out, m),
        Rulebook::Partner(p) => partner(out, p),
    }
}

fn procedure(out: Out, p: &Procedure) -> std::fmt::Result {
    heading(out, "Violation procedure")?;
    kv(out, "notice by", word(&p.notice_channels))?;
    kv(
        out,
        "reply within",
        format!("{} working days", p.reply_working_days),
    )?;
    kv(out, "finding is final", yes(p.finding_is_final))?;
    kv(
        out,
        "objection to the penalty within",
        opt(p.objection_working_days, " working days"),
    )?;
    kv(out, "publication", word(&p.publication))?;
    kv(
        out,
        "incentives suspended while investigated",
        yes(p.incentives_suspended_during_investigation),
    )
}

fn marketplace(out: Out, m: &MarketplaceRulebook) -> std::fmt::Result {
    let o = &m.onboarding;
    heading(out, "Onboarding")?;
    kv(out, "verification", word(&o.verification))?;
    kv(out, "individuals allowed", yes(o.individuals_allowed))?;
    kv(
        out,
        "partner membership required",
        yes(o.partner_membership_required),
    )?;
    kv(out, "materials", word(&o.materials))?;
    kv(
        out,
        "report changed material within",
        format!("{} days", o.material_change_report_days),
    )?;
    kv(
        out,
        "re-entry after voluntary exit",
        format!("{} months", o.reentry_wait_after_exit_months),
    )?;
    kv(
        out,
        "re-entry after expulsion",
        if o.reentry_after_expulsion {
            "allowed"
        } else {
            "never"
        },
    )?;
    kv(
        out,
        "expulsion bans the account",
        yes(o.expulsion_bans_account),
    )?;

    let s = &m.support;
    heading(out, "Support")?;
    let h = &s.hours;
    kv(
        out,
        "hours",
        format!(
            "{} {}–{}",
            word(&h.days),
            h.open.strftime("%H:%M"),
            h.close.strftime("%H:%M")
        ),
    )?;
    kv(out, "first reply", opt(s.first_reply_seconds, " s"))?;
    kv(
        out,
        "longest silence in support hours",
        with_code(
            opt(s.max_silence_minutes, " min"),
            s.max_silence_violation.as_deref(),
        ),
    )?;
    kv(
        out,
        "respond to a complaint within",
        with_code(
            opt(s.complaint_response_minutes, " min"),
            s.complaint_breach_violation.as_deref(),
        ),
    )?;
    kv(
        out,
        "workaround: software cannot run",
        opt(s.workaround_hours_not_running, " h"),
    )?;
    kv(
        out,
        "workaround: software degraded",
        opt(s.workaround_hours_degraded, " h"),
    )?;
    kv(
        out,
        "start work after payment within",
        with_code(
            opt(s.start_work_within_working_days, " working days"),
            s.start_work_violation.as_deref(),
        ),
    )?;
    if let Some(u) = &s.unreachable {
        let parts = [
            u.operator_contact_hours
                .map(|h| format!("{h} h after operator contact")),
            u.buyer_evidence_hours
                .map(|h| format!("{h} h by buyer evidence")),
            u.failed_operator_contacts
                .map(|n| format!("{n} failed operator contacts")),
        ];
        let parts: Vec<String> = parts.into_iter().flatten().collect();
        let what = if parts.is_empty() {
            String::from("no thresholds")
        } else {
            parts.join(" / ")
        };
        kv(
            out,
            "unreachable provider",
            with_code(what, u.violation.as_deref()),
        )?;
    }

    let r = &m.refunds;
    heading(out, "Refunds")?;
    for c in &r.category {
        let window = match c.window {
            RefundWindow::DaysFromPurchase(n) => {
                format!("{n} days from purchase, purchase day counted")
            }
            RefundWindow::UntilAcceptance => String::from("until the buyer accepts"),
            RefundWindow::NoWindow => String::from("no window"),
        };
        let refundable = if c.refundable {
            "refundable"
        } else {
            "not refundable"
        };
        kv(out, &word(&c.category), format!("{window}; {refundable}"))?;
    }
    kv(
        out,
        "operator may refund in the window",
        yes(r.operator_may_refund_in_window),
    )?;
    kv(
        out,
        "platform fee returned pro rata",
        yes(r.fee_returned_pro_rata),
    )?;
    kv(
        out,
        "paid on the provider's behalf from",
        word(&r.on_behalf_paid_from),
    )?;
    if !r.operator_direct_reasons.is_empty() {
        kv(
            out,
            "operator refunds directly for",
            word(&r.operator_direct_reasons),
        )?;
    }
    if !r.buyer_reasons.is_empty() {
        kv(out, "buyer refund reasons", word(&r.buyer_reasons))?;
    }
    if let Some(rc) = &r.rate_check {
        kv(
            out,
            "refund-rate check",
            format!(
                "above {} over {} days → {} days to improve",
                rc.threshold, rc.window_days, rc.improve_within_days
            ),
        )?;
    }

    let d = &m.deposit;
    heading(out, "Deposit")?;
    kv(out, "required", d.required_amount.to_cny_display())?;
    kv(
        out,
        "top up within",
        format!("{} working days", d.top_up_working_days),
    )?;
    kv(out, "if not topped up", word(&d.on_not_topped_up))?;
    if let Some(sur) = &d.surcharge {
        kv(
            out,
            "surcharge",
            format!(
                "more than {} deductions in {} months → extra {} for {} months",
                sur.deductions_more_than,
                sur.window_months,
                sur.amount.to_cny_display(),
                sur.for_months
            ),
        )?;
    }
    kv(
        out,
        "refund within",
        opt(d.refund_working_days, " working days"),
    )?;
    kv(
        out,
        "refund needs the receipt",
        yes(d.refund_requires_receipt),
    )?;

    heading(out, "Points and penalties")?;
    match &m.points {
        Some(p) => {
            kv(
                out,
                "expelled at",
                format!("{} points in a rule year", p.expulsion_threshold),
            )?;
            kv(out, "rule year starts", p.year_start)?;
            kv(
                out,
                "cross-year case books in new year",
                yes(p.cross_year_case_books_in_new_year),
            )?;
        }
        None => kv(out, "points", "none (this marketplace does not use points)")?,
    }
    kv(
        out,
        "freeze hides",
        opt(m.penalties.freeze_scope.map(|s| word(&s)), ""),
    )?;
    kv(out, "extra measures", word(&m.penalties.extra_measures))?;

    let v = &m.visibility;
    heading(out, "Visibility")?;
    kv(
        out,
        "zero sales",
        match (v.zero_sales_months, v.zero_sales_action) {
            (Some(n), Some(a)) => format!("{n} months → {}", word(&a)),
            _ => String::from("—"),
        },
    )?;
    kv(
        out,
        "low rating",
        match (v.min_average_rating, v.low_rating_action) {
            (Some(min), Some(a)) => format!(
                "average below {min} (once {} ratings) → {}",
                opt(v.min_ratings_for_average, ""),
                word(&a)
            ),
            _ => String::from("—"),
        },
    )?;
    if let Some(saas) = &v.saas_delivery_failure {
        kv(
            out,
            "SaaS delivery failure",
            format!(
                "product hidden at once; all SaaS hidden after {} days, delisted after {}",
                saas.hide_all_saas_after_days, saas.delist_all_saas_after_days
            ),
        )?;
    }

    let l = &m.listing;
    heading(out, "Listing review")?;
    let brands: Vec<&str> = l.brand.iter().map(|b| b.name.as_str()).collect();
    kv(
        out,
        "brand names",
        with_code(brands.join(", "), Some(&l.brand_violation)),
    )?;
    kv(out, "absolute claims", l.absolute_claim_words.join(", "))?;
    kv(out, "required fields", word(&l.required_fields))?;

    heading(out, "Invoices and settlement")?;
    kv(
        out,
        "issue invoice within",
        opt(m.invoices.issue_within_days, " days"),
    )?;
    kv(
        out,
        "no postage charged above",
        opt(
            m.invoices.free_postage_above.map(|f| f.to_cny_display()),
            "",
        ),
    )?;
    kv(out, "settlement period", word(&m.settlement.period))?;
    kv(out, "rounding", word(&m.settlement.rounding))?;

    procedure(out, &m.procedure)?;

    heading(out, "Expulsion and exit")?;
    kv(out, "grounds", word(&m.expulsion.grounds))?;
    kv(
        out,
        "min. deployment on the operator's cloud",
        opt(m.expulsion.min_operator_cloud_deployment, ""),
    )?;
    kv(
        out,
        "unfinished projects refunded",
        word(&m.exit.unfinished_projects_refund),
    )?;

    heading(
        out,
        &format!("Violation table ({} rows)", m.violation.len()),
    )?;
    let points = m.points.is_some();
    let levels = m.violation.iter().any(|r| r.level.is_some());
    let level = |l: Option<String>| {
        if levels {
            format!("{:<8} ", l.unwrap_or_default())
        } else {
            String::new()
        }
    };
    writeln!(
        out,
        "  {:<8} {:>6}  {:<22} {:<10} {}violation",
        "code",
        if points { "points" } else { "" },
        "action",
        "deposit",
        level(Some(String::from("level"))),
    )?;
    for row in &m.violation {
        let action = match row.action {
            Action::NoAction => String::from("—"),
            other => other.to_string(),
        };
        writeln!(
            out,
            "  {:<8} {:>6}  {:<22} {:<10} {}{}",
            row.code,
            row.points.map_or_else(String::new, |p| p.to_string()),
            action,
            row.deposit.to_string(),
            level(row.level.map(|l| word(&l))),
            row.title_en
        )?;
    }
    Ok(())
}

fn with_code(what: String, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{what} (breach: {code})"),
        None => what,
    }
}

fn partner(out: Out, p: &PartnerRulebook) -> std::fmt::Result {
    if !p.categories.is_empty() {
        heading(out, "Partner categories")?;
        kv(out, "categories", word(&p.categories))?;
    }
    heading(out, "Tiers and rebate thresholds")?;
    for t in &p.tier {
        kv(
            out,
            &word(&t.tier),
            format!(
                "{}: fee accrues from {} paid cash a month, at {}{}",
                t.name_zh,
                t.rebate_monthly_threshold.to_cny_display(),
                t.rebate_rate,
                if t.rebate_only {
                    " (rebate tier only)"
                } else {
                    ""
                }
            ),
        )?;
    }

    let e = &p.entry;
    heading(out, "Entry criteria")?;
    kv(
        out,
        "registered capital at least",
        e.registered_capital_min.to_cny_display(),
    )?;
    kv(
        out,
        "staff / technical staff at least",
        format!("{} / {}", e.staff_min, e.technical_staff_min),
    )?;
    kv(
        out,
        "new customers per quarter at least",
        e.new_customers_per_quarter_min,
    )?;
    kv(
        out,
        "partner team contacts within",
        format!("{} working days", e.contact_within_working_days),
    )?;
    let d = &p.deposit;
    kv(
        out,
        "credit deposit",
        format!(
            "{} within {} working days; top up within {}",
            d.amount.to_cny_display(),
            d.pay_within_working_days,
            d.top_up_working_days
        ),
    )?;
    kv(
        out,
        "customer unlink: partner resolves within",
        format!("{} working days", p.unlinking.resolve_within_working_days),
    )?;

    let a = &p.assessment;
    heading(out, "Assessment")?;
    kv(
        out,
        "quarterly in months",
        a.quarterly_months
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    )?;
    kv(
        out,
        "annual in month",
        format!("{} ({})", a.annual_month, word(&a.annual_covers)),
    )?;
    kv(
        out,
        "quarterly for",
        a.quarterly_for
            .as_ref()
            .map_or_else(|| String::from("every partner"), word),
    )?;
    kv(
        out,
        "removed after failed quarters in a row",
        opt(a.consecutive_failed_quarters_to_remove, ""),
    )?;

    let r = &p.rebate;
    heading(out, "Rebate cycle (monthly)")?;
    kv(
        out,
        "compute / notify / pay by",
        format!(
            "day {} / {} / {} (holidays postpone: {})",
            r.compute_day,
            r.notify_by_day,
            r.pay_by_day,
            yes(r.holiday_postponement)
        ),
    )?;
    kv(
        out,
        "partner invoices within",
        format!("{} working days", r.invoice_within_working_days),
    )?;
    kv(
        out,
        "paid only after a valid invoice",
        yes(r.requires_valid_invoice),
    )?;
    if let Some(c) = &p.city_providers {
        kv(
            out,
            "city providers",
            format!(
                "no rebate: {}; counted for the first-level partner: {}",
                yes(c.no_rebate),
                yes(c.consumption_counts_for_parent)
            ),
        )?;
    }

    procedure(out, &p.procedure)?;

    let k = &p.classes;
    heading(out, "Violation classes")?;
    let mut class1 = Vec::new();
    if let Some(f) = k.class1.fine_fixed {
        class1.push(f.to_cny_display());
    }
    if let Some(s) = k.class1.fine_share_of_fiscal_year_fees {
        class1.push(format!("{s} of the fiscal year's fees"));
    }
    if let Some(n) = k.class1.fine_as_class2_through {
        class1.push(format!("the first {n} class-2 fines"));
    }
    kv(
        out,
        "class 1",
        format!(
            "fine {}; termination {}; restrictions {}",
            class1.join(" or "),
            word(&k.class1.termination),
            opt(k.class1.restriction_months, " months")
        ),
    )?;
    let fines: Vec<String> = k.class2.fines.iter().map(|f| f.to_cny_display()).collect();
    kv(
        out,
        "class 2",
        format!(
            "valid {} months; fines {}; the {}th → {}; restrictions {}",
            k.class2.validity_months,
            fines.join(", "),
            k.class2.escalate_at_count,
            word(&k.class2.escalates_to),
            opt(k.class2.restriction_months, " months")
        ),
    )?;
    if let Some(c3) = &k.class3 {
        kv(
            out,
            "class 3",
            format!(
                "warning; valid {} months; {} in {} months → {}; restrictions {} months",
                c3.validity_months,
                c3.escalate_at_count,
                c3.escalation_window_months,
                word(&c3.escalates_to),
                c3.restriction_months
            ),
        )?;
    }
    kv(out, "fines taken from", word(&p.fines.deduction_order))?;
    if let Some(late) = &p.fines.late_fee {
        kv(
            out,
            "late fee",
            format!(
                "{} a day after {} months",
                late.daily_rate, late.after_months
            ),
        )?;
    }

    heading(
        out,
        &format!("Behaviour catalogue ({} entries)", p.behaviour.len()),
    )?;
    for b in &p.behaviour {
        writeln!(
            out,
            "  {:<10} class {}  {:<13} {}",
            b.code,
            b.class,
            word(&b.area),
            b.title_en
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALI: &str = include_str!("../../../rulebooks/ali-2020.toml");
    const TC: &str = include_str!("../../../rulebooks/tc-2017.toml");

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn check_prints_one_ok_line_per_good_file() {
        let report = check_sources(&files(&[
            ("rulebooks/ali-2020.toml", ALI),
            ("rulebooks/tc-2017.toml", TC),
        ]));
        assert_eq!(report.failed_files, 0, "{:?}", report.errors);
        assert_eq!(
            report.ok,
            [
                "ok rulebooks/ali-2020.toml (ali-2020, effective 2020-04-01, 24 violation rows)",
                "ok rulebooks/tc-2017.toml (tc-2017, effective 2017-08-01, 19 violation rows)",
            ]
        );
    }

    #[test]
    fn check_reports_a_misspelt_key_with_file_line_and_key() {
        let bad = ALI.replacen("top_up_working_days = 3", "top_up_workingdays = 3", 1);
        let line = bad
            .lines()
            .position(|l| l.starts_with("top_up_workingdays"))
            .unwrap()
            + 1;
        let report = check_sources(&files(&[("bad.toml", &bad), ("tc.toml", TC)]));
        assert_eq!((report.files, report.failed_files), (2, 1));
        assert_eq!(report.ok.len(), 1);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert!(
            report.errors[0].starts_with(&format!("bad.toml:{line}: deposit")),
            "{}",
            report.errors[0]
        );
        assert!(
            report.errors[0].contains("top_up_workingdays"),
            "{}",
            report.errors[0]
        );
    }

    #[test]
    fn check_reports_files_that_clash_together() {
        let report = check_sources(&files(&[("a.toml", TC), ("b.toml", TC)]));
        assert_eq!(report.failed_files, 1);
        assert!(
            report.errors[0].starts_with("b.toml:"),
            "{:?}",
            report.errors
        );
        assert!(
            report.errors[0].contains("rulebook.id"),
            "{:?}",
            report.errors
        );
    }

    #[test]
    fn check_without_files_checks_the_builtin_rulebooks() {
        let report = check_builtin();
        assert_eq!(
            (report.files, report.failed_files, report.ok.len()),
            (5, 0, 5)
        );
    }

    #[test]
    fn show_prints_the_version_in_force_as_a_summary() {
        let lib = Library::builtin().unwrap();
        let text = show(&lib, "ali", d("2024-06-01"), ShowFormat::Summary).unwrap();
        assert!(
            text.starts_with("ali-2020 — 云市场服务商管理规范"),
            "{text}"
        );
        assert!(text.contains("ALI-B1"), "{text}");
        assert!(
            text.contains("5 days from purchase, purchase day counted"),
            "{text}"
        );
        let text = show(&lib, "partner", d("2021-04-01"), ShowFormat::Summary).unwrap();
        assert!(text.starts_with("partner-fy22"), "{text}");
        assert!(text.contains("PA22-3-04"), "{text}");
        let tc = show(&lib, "tc", d("2020-01-01"), ShowFormat::Summary).unwrap();
        assert!(
            tc.contains("none (this marketplace does not use points)"),
            "{tc}"
        );
    }

    #[test]
    fn show_renders_toml_and_json() {
        let lib = Library::builtin().unwrap();
        let toml = show(&lib, "jd", d("2020-01-01"), ShowFormat::Toml).unwrap();
        assert!(toml.contains("effective_from = 2019-01-01"), "{toml}");
        let json = show(&lib, "jd-2019", d("2020-01-01"), ShowFormat::Json).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["rulebook"]["id"], "jd-2019");
        assert_eq!(value["penalties"]["freeze_scope"], "products_only");
    }

    #[test]
    fn show_before_the_first_version_fails() {
        let lib = Library::builtin().unwrap();
        let err = show(&lib, "ali", d("2019-12-31"), ShowFormat::Summary).unwrap_err();
        assert!(err.to_string().contains("2020-04-01"), "{err}");
    }

    #[test]
    fn show_with_an_extra_file_picks_the_later_version() {
        let later = ALI
            .replacen("id = \"ali-2020\"", "id = \"ali-2025\"", 1)
            .replacen(
                "effective_from = 2020-04-01",
                "effective_from = 2025-04-01",
                1,
            );
        let lib = library_with(&files(&[("ali-2025.toml", &later)])).unwrap();
        let text = show(&lib, "ali", d("2025-04-01"), ShowFormat::Summary).unwrap();
        assert!(text.starts_with("ali-2025"), "{text}");
        assert!(
            text.contains("ali-2020 (from 2020-04-01), ali-2025 (from 2025-04-01)"),
            "{text}"
        );
    }
}
