//! `yunshi simulate`: a deterministic, seeded life of a marketplace, driven through the real
//! service layer (router, handlers, store) on the simulated clock, with the invariant checker
//! after every simulated day and, with `--faults`, failures injected at the storage boundary.

mod draw;
mod market;
mod node;
mod receiver;
mod summary;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use yunshi_core::settlement::Statement;
use yunshi_core::time::beijing_date;

use draw::{Draw, Topic};
use market::{Api, Onboarded, Provider};
use node::{ADMIN, Node, NodeConfig};
pub use summary::{Summary, yuan as summary_yuan};

#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The marketplace rulebook: ali-2020, tc-2017 or jd-2019.
    #[arg(long, default_value = "ali-2020")]
    pub rulebook: String,
    /// Providers that apply over the simulation.
    #[arg(long, default_value_t = 40)]
    pub providers: u64,
    /// Buyers in the market (each appears on its first purchase).
    #[arg(long, default_value_t = 2_000)]
    pub buyers: u64,
    #[arg(long, default_value_t = 60)]
    pub days: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of writing calls whose storage fails (0 to 1): busy, serialization failure,
    /// connection drop, crash before or after commit.
    #[arg(long, default_value_t = 0.0)]
    pub faults: f64,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Where the simulated clock starts (Beijing time). The built-in working-day calendar
    /// ends with 2028 (load later years with calendar files before simulating past them).
    #[arg(long, default_value = "2026-12-07T09:00:00+08:00")]
    pub start: String,
    /// Orders a listed provider gets in a year, on average.
    #[arg(long, default_value_t = 100)]
    pub orders_per_provider: u64,
    /// Run the invariant checker every this many simulated days (and always at the end),
    /// over what changed since the last check.
    #[arg(long, default_value_t = 1)]
    pub audit_every: u64,
    /// Run it over everything stored, not only what changed, every this many simulated
    /// days (and always at the end).
    #[arg(long, default_value_t = 30)]
    pub full_audit_every: u64,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Run on this database (`postgres://…` or a SQLite path) instead of a fresh SQLite
    /// database in a temporary directory.
    #[arg(long)]
    pub database: Option<String>,
    /// Keep the data directory here instead of a temporary one.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Run this many seeds (from --seed) under every rulebook, without and with --faults;
    /// one line each, stopping at the first broken invariant.
    #[arg(long)]
    pub sweep: Option<u64>,
    /// The password given to the demo's logins (`yunshi serve --demo`); none otherwise.
    #[arg(skip)]
    pub demo_password: Option<String>,
}

pub fn run(args: SimulateArgs) -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        match args.sweep {
            Some(seeds) => sweep(&args, seeds).await,
            None => {
                let began = Instant::now();
                let summary = simulate(&args).await?;
                print!("{}", summary.render());
                eprintln!(
                    "took {:.1} s · faults injected: {} · {} restarts after injected crashes · peak memory {} MiB",
                    began.elapsed().as_secs_f64(),
                    summary.injected(),
                    summary.restarts,
                    peak_rss_mib().map_or("?".into(), |m| m.to_string())
                );
                if let Some(path) = &args.json {
                    std::fs::write(path, serde_json::to_string_pretty(&summary)?)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                Ok(())
            }
        }
    })
}

async fn sweep(args: &SimulateArgs, seeds: u64) -> Result<()> {
    let rates: Vec<f64> = if args.faults > 0.0 {
        vec![0.0, args.faults]
    } else {
        vec![0.0]
    };
    for rulebook in ["ali-2020", "tc-2017", "jd-2019"] {
        for seed in args.seed..args.seed + seeds {
            for &faults in &rates {
                let one = SimulateArgs {
                    rulebook: rulebook.into(),
                    seed,
                    faults,
                    sweep: None,
                    json: None,
                    ..args.clone()
                };
                let began = Instant::now();
                let s = simulate(&one).await?;
                println!(
                    "{rulebook} seed {seed} faults {:.3}: {} orders, GMV ¥{}, {} cases, {} audits passed ({:.1} s; faults injected: {}; {} restarts)",
                    faults,
                    s.orders,
                    summary::yuan(s.gmv_fen),
                    s.cases_opened,
                    s.audits_passed,
                    began.elapsed().as_secs_f64(),
                    s.injected(),
                    s.restarts
                );
            }
        }
    }
    Ok(())
}

/// An order the simulation remembers while something may still happen to it.
#[derive(Clone)]
struct OrderRec {
    id: String,
    buyer: u64,
    provider: usize,
    price_fen: i64,
    /// A monthly subscription, renewed (or not) a month on.
    renewable: bool,
}

/// Everything the simulation knows between days.
struct World {
    providers: Vec<Provider>,
    /// Providers that can no longer sell (expelled, exited): their index in `providers`.
    gone: BTreeSet<usize>,
    buyers: HashMap<u64, String>,
    /// Orders of the last days, newest last.
    recent: VecDeque<Vec<OrderRec>>,
    complaints: VecDeque<Vec<String>>,
    /// Provider (index in `providers`) charged by a case, by day.
    charged: VecDeque<BTreeSet<usize>>,
    codes: Vec<(String, bool)>,
}

/// How many days of orders the simulation keeps: a month, for the renewals.
const REMEMBERED: usize = 31;

/// The day a provider applies: two thirds at the start, the rest over the first half.
fn join_day(draw: &Draw, i: u64, days: u64) -> u64 {
    if draw.chance(Topic::JoinDay, &[i, 0], 667) {
        0
    } else {
        draw.below(Topic::JoinDay, &[i, 1], (days / 2).max(1))
    }
}

/// The market's rhythm: quieter weekends, the Spring Festival lull, 618 and Double 11.
fn rhythm_per_mille(date: jiff::civil::Date) -> u64 {
    let weekday = match date.weekday() {
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday => 700,
        _ => 1_120,
    };
    let season = match date.month() {
        2 => 700,
        6 => 1_200,
        11 => 1_500,
        12 => 1_100,
        _ => 1_000,
    };
    weekday * season / 1_000
}

/// The process's peak resident memory (Linux `VmHWM`), in MiB.
pub fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn progress(on: bool, line: &str) {
    if on {
        eprint!("\r\x1b[2K{line}");
    }
}

/// One simulation; the summary, or the broken invariant with the seed and the day.
pub async fn simulate(args: &SimulateArgs) -> Result<Summary> {
    let draw = Draw::new(args.seed);
    let temp = match &args.data_dir {
        Some(_) => None,
        None => Some(crate::bench::tempfile_dir()?),
    };
    let data_dir = args
        .data_dir
        .clone()
        .or(temp.clone())
        .context("a data directory")?;
    let start: Timestamp = args
        .start
        .parse()
        .with_context(|| format!("--start {:?}", args.start))?;
    let per_mille = (args.faults.clamp(0.0, 1.0) * 1000.0).round() as u64;
    let node = Node::start(NodeConfig {
        data_dir,
        database_url: args.database.clone(),
        rulebook: args.rulebook.clone(),
        start: args.start.clone(),
        faults_per_mille: per_mille,
        draw,
    })
    .await?;
    let result = live(&node, args, draw, start, per_mille).await;
    node.stop().await?;
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

async fn live(
    node: &Node,
    args: &SimulateArgs,
    draw: Draw,
    start: Timestamp,
    per_mille: u64,
) -> Result<Summary> {
    let api = Api {
        node,
        draw,
        hooks: receiver::start().await?,
        demo_password: args.demo_password.clone(),
    };
    let show = std::io::stderr().is_terminal();
    let c = args.concurrency.max(1);
    let mut s = Summary {
        rulebook: args.rulebook.clone(),
        seed: args.seed,
        start: beijing_date(start).to_string(),
        days: args.days,
        providers: args.providers,
        buyers: args.buyers,
        faults_per_mille: per_mille,
        ..Summary::default()
    };
    let staff = api.staff().await?;
    let agreement = api.get("/api/v1/onboarding/agreement", ADMIN).await?;
    let rulebook = api.get("/api/v1/rulebook", ADMIN).await?;
    let codes: Vec<(String, bool)> = rulebook["marketplace"]["violation"]
        .as_array()
        .context("the rulebook's violation table")?
        .iter()
        .filter_map(|v| {
            let expels = v["action"] == "expel" || v["points"].as_u64().unwrap_or(0) >= 24;
            v["code"].as_str().map(|c| (c.to_owned(), expels))
        })
        .collect();
    let mut w = World {
        providers: Vec::new(),
        gone: BTreeSet::new(),
        buyers: HashMap::new(),
        recent: VecDeque::new(),
        complaints: VecDeque::new(),
        charged: VecDeque::new(),
        codes,
    };
    let began = Instant::now();
    // Where the last audit's verified chain ended: the next checks what changed after it.
    let mut audited: Option<(i64, String)> = None;
    for day in 0..args.days {
        let now = start.checked_add(SignedDuration::from_hours(24 * day as i64))?;
        let today = beijing_date(now);
        if day > 0 {
            let fired = api.clock_to(&now.to_string()).await?;
            for (kind, n) in fired {
                *s.deadlines_fired.entry(kind).or_default() += n;
            }
        }
        onboard_today(&api, &staff, &agreement, &mut w, &mut s, args, day, c).await?;
        if today.month() == 3 && today.day() == 15 {
            renew_agreements(&api, &agreement, &w, day, c).await?;
        }
        sell_today(&api, &mut w, &mut s, args, day, today, c).await?;
        after_sales(&api, &staff, &mut w, &mut s, day, c).await?;
        govern(&api, &staff, &mut w, &mut s, day, today, c).await?;
        let last = day + 1 == args.days;
        if (day + 1) % args.audit_every.max(1) == 0 || last {
            let full = last || (day + 1) % args.full_audit_every.max(1) == 0;
            let after = audited.take().filter(|_| !full);
            audited = Some(audit(&api, args, day, today, after, &mut s).await?);
        }
        progress(
            show,
            &format!(
                "day {}/{} · {} · {} providers · {} orders · GMV ¥{} · {:.0} s",
                day + 1,
                args.days,
                today,
                w.providers.len(),
                s.orders,
                summary::yuan(s.gmv_fen),
                began.elapsed().as_secs_f64()
            ),
        );
    }
    progress(show, "");
    finish(&api, &w, &mut s).await?;
    if args.demo_password.is_some() {
        s.demo_logins = demo_logins(&w);
    }
    Ok(s)
}

/// The demo's logins with a password: operator staff, a provider still selling, a buyer.
fn demo_logins(w: &World) -> Vec<(String, String)> {
    let mut logins: Vec<(String, String)> = market::DEMO_STAFF
        .iter()
        .map(|(role, email)| ((*role).to_owned(), (*email).to_owned()))
        .collect();
    let selling = w
        .providers
        .iter()
        .enumerate()
        .find(|(n, _)| !w.gone.contains(n))
        .or(w.providers.iter().enumerate().next());
    if let Some((_, p)) = selling {
        logins.push(("provider".into(), market::provider_staff_email(p.index)));
    }
    if let Some(b) = w.buyers.keys().filter(|b| market::demo_buyer(**b)).min() {
        logins.push(("buyer".into(), market::buyer_email(*b)));
    }
    logins
}

/// Providers whose day it is apply, concurrently.
#[allow(clippy::too_many_arguments)]
async fn onboard_today(
    api: &Api<'_>,
    staff: &market::Staff,
    agreement: &Value,
    w: &mut World,
    s: &mut Summary,
    args: &SimulateArgs,
    day: u64,
    c: usize,
) -> Result<()> {
    let joining: Vec<u64> = (0..args.providers)
        .filter(|&i| join_day(&api.draw, i, args.days) == day)
        .collect();
    let mut done: Vec<(u64, (Onboarded, market::OnboardingTrail))> = stream::iter(joining)
        .map(
            |i| async move { Ok::<_, anyhow::Error>((i, api.onboard(staff, agreement, i).await?)) },
        )
        .buffer_unordered(c)
        .try_collect()
        .await?;
    done.sort_by_key(|(i, _)| *i);
    for (_, (outcome, trail)) in done {
        s.applied += 1;
        s.more_material += u64::from(trail.more_material);
        s.products_flagged += u64::from(trail.flagged_products);
        s.products_listed += u64::from(trail.listed_products);
        match outcome {
            Onboarded::Rejected => s.rejected += 1,
            Onboarded::Admitted(p) => {
                s.admitted += 1;
                w.providers.push(p);
            }
        }
    }
    Ok(())
}

/// Signs the next agreement term where the rulebook's terms end (ALI: 31 March).
async fn renew_agreements(
    api: &Api<'_>,
    agreement: &Value,
    w: &World,
    day: u64,
    c: usize,
) -> Result<()> {
    stream::iter(
        w.providers
            .iter()
            .enumerate()
            .filter(|(n, _)| !w.gone.contains(n)),
    )
    .map(|(_, p)| api.renew_agreement(p, agreement, day))
    .buffer_unordered(c)
    .try_collect::<Vec<()>>()
    .await?;
    Ok(())
}

/// The day's orders: placed and paid by buyers (made on their first purchase).
async fn sell_today(
    api: &Api<'_>,
    w: &mut World,
    s: &mut Summary,
    args: &SimulateArgs,
    day: u64,
    date: jiff::civil::Date,
    c: usize,
) -> Result<()> {
    let selling: Vec<usize> = (0..w.providers.len())
        .filter(|n| !w.gone.contains(n))
        .collect();
    let mut today = Vec::new();
    if !selling.is_empty() && args.buyers > 0 {
        let expected = selling.len() as u64 * args.orders_per_provider * rhythm_per_mille(date);
        let count = expected / 365_000
            + u64::from(api.draw.below(Topic::Orders, &[day], 365_000) < expected % 365_000);
        let picks: Vec<(u64, u64, usize, usize)> = (0..count)
            .map(|j| {
                let b = api.draw.below(Topic::Buyer, &[day, j], args.buyers);
                let p = selling[api
                    .draw
                    .below(Topic::Product, &[day, j, 0], selling.len() as u64)
                    as usize];
                let n = api.draw.below(
                    Topic::Product,
                    &[day, j, 1],
                    w.providers[p].products.len() as u64,
                );
                (j, b, p, n as usize)
            })
            .collect();
        let new: BTreeSet<u64> = picks
            .iter()
            .map(|t| t.1)
            .filter(|b| !w.buyers.contains_key(b))
            .collect();
        let made: Vec<(u64, String)> = stream::iter(new)
            .map(|b| async move { Ok::<_, anyhow::Error>((b, api.buyer(b).await?)) })
            .buffer_unordered(c)
            .try_collect()
            .await?;
        s.buyers_active += made.len() as u64;
        w.buyers.extend(made);
        let w_ref = &*w;
        let mut bought: Vec<(u64, Option<OrderRec>)> = stream::iter(picks)
            .map(|(j, b, p, n)| async move {
                let product = &w_ref.providers[p].products[n];
                let order = api.buy(&w_ref.buyers[&b], &product.id, day, j).await?;
                Ok::<_, anyhow::Error>((
                    j,
                    order.map(|(id, price_fen)| OrderRec {
                        id,
                        buyer: b,
                        provider: p,
                        price_fen,
                        renewable: product.renewable,
                    }),
                ))
            })
            .buffer_unordered(c)
            .try_collect()
            .await?;
        bought.sort_by_key(|(j, _)| *j);
        for (_, order) in bought.into_iter() {
            if let Some(o) = order {
                s.orders += 1;
                s.gmv_fen += o.price_fen;
                today.push(o);
            }
        }
    }
    w.recent.push_back(today);
    if w.recent.len() > REMEMBERED {
        w.recent.pop_front();
    }
    Ok(())
}

/// Refunds inside the window (orders of two days ago) and after it (orders of nine days
/// ago); complaints on yesterday's orders, some not answered in time; complaints of three
/// days ago closed by customer service.
async fn after_sales(
    api: &Api<'_>,
    staff: &market::Staff,
    w: &mut World,
    s: &mut Summary,
    day: u64,
    c: usize,
) -> Result<()> {
    let back = |n: usize| {
        w.recent
            .len()
            .checked_sub(n + 1)
            .and_then(|i| w.recent.get(i))
    };
    let mut refunds: Vec<(OrderRec, u64, bool)> = Vec::new();
    if let Some(orders) = back(2) {
        for (k, o) in orders.iter().enumerate() {
            if api.draw.chance(Topic::Refund, &[day, k as u64], 30) {
                refunds.push((o.clone(), k as u64, true));
            }
        }
    }
    if let Some(orders) = back(9) {
        for (k, o) in orders.iter().enumerate() {
            if api.draw.chance(Topic::LateRefund, &[day, k as u64], 10) {
                refunds.push((o.clone(), 1_000_000 + k as u64, false));
            }
        }
    }
    let w_ref = &*w;
    let outcomes: Vec<(bool, Option<i64>)> = stream::iter(refunds)
        .map(|(o, k, inside)| async move {
            let seller = &w_ref.providers[o.provider].token;
            let r = api
                .refund(&w_ref.buyers[&o.buyer], seller, &o.id, [day, k])
                .await?;
            Ok::<_, anyhow::Error>((inside, r))
        })
        .buffer_unordered(c)
        .try_collect()
        .await?;
    for (_, r) in outcomes {
        match r {
            Some(fen) => {
                s.refunds += 1;
                s.refunded_fen += fen;
            }
            None => s.refunds_refused_outside_window += 1,
        }
    }

    let mut renewals = Vec::new();
    if let Some(orders) = back(30) {
        for (k, o) in orders.iter().enumerate() {
            if o.renewable && api.draw.chance(Topic::Renew, &[day, k as u64], 600) {
                renewals.push((o.clone(), k as u64));
            }
        }
    }
    let renewed: Vec<Option<i64>> = stream::iter(renewals)
        .map(|(o, k)| async move { api.renew(&w_ref.buyers[&o.buyer], &o.id, day, k).await })
        .buffer_unordered(c)
        .try_collect()
        .await?;
    for fen in renewed.into_iter().flatten() {
        s.renewals += 1;
        s.orders += 1;
        s.gmv_fen += fen;
    }

    let mut invoices = Vec::new();
    if let Some(orders) = back(1) {
        for (k, o) in orders.iter().enumerate() {
            if api.draw.chance(Topic::Invoice, &[day, k as u64, 0], 50) {
                let issue = api.draw.chance(Topic::Invoice, &[day, k as u64, 1], 900);
                invoices.push((o.clone(), k as u64, issue));
            }
        }
    }
    let asked: Vec<(bool, bool)> = stream::iter(invoices)
        .map(|(o, k, issue)| async move {
            let seller = &w_ref.providers[o.provider].token;
            let asked = api
                .invoice(&w_ref.buyers[&o.buyer], seller, &o.id, [day, k], issue)
                .await?;
            Ok::<_, anyhow::Error>((asked, issue))
        })
        .buffer_unordered(c)
        .try_collect()
        .await?;
    for (asked, issued) in asked {
        s.invoices_requested += u64::from(asked);
        s.invoices_issued += u64::from(asked && issued);
    }

    let mut complaints = Vec::new();
    if let Some(orders) = back(1) {
        for (k, o) in orders.iter().enumerate() {
            if api.draw.chance(Topic::Complaint, &[day, k as u64], 5) {
                complaints.push((
                    o.clone(),
                    k as u64,
                    api.draw.chance(Topic::Answered, &[day, k as u64], 700),
                ));
            }
        }
    }
    let opened: Vec<(bool, String)> = stream::iter(complaints)
        .map(|(o, k, answer)| async move {
            let seller = &w_ref.providers[o.provider].token;
            let id = api
                .complain(&w_ref.buyers[&o.buyer], seller, &o.id, [day, k], answer)
                .await?;
            Ok::<_, anyhow::Error>((answer, id))
        })
        .buffer_unordered(c)
        .try_collect()
        .await?;
    s.complaints += opened.len() as u64;
    s.complaints_unanswered += opened.iter().filter(|(a, _)| !a).count() as u64;
    let mut ids: Vec<String> = opened.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    w.complaints.push_back(ids);
    if w.complaints.len() > 3 {
        let closing = w.complaints.pop_front().unwrap_or_default();
        stream::iter(closing.iter().enumerate())
            .map(|(k, id)| api.close_complaint(staff, id, day, k as u64))
            .buffer_unordered(c)
            .try_collect::<Vec<()>>()
            .await?;
    }
    Ok(())
}

/// Violation cases opened by compliance across the table (expulsion rows rarely), and the
/// deposit top-ups of providers charged three days ago (some missed).
async fn govern(
    api: &Api<'_>,
    staff: &market::Staff,
    w: &mut World,
    s: &mut Summary,
    day: u64,
    date: jiff::civil::Date,
    c: usize,
) -> Result<()> {
    let selling: Vec<usize> = (0..w.providers.len())
        .filter(|n| !w.gone.contains(n))
        .collect();
    let mut charged = BTreeSet::new();
    if !selling.is_empty() && !w.codes.is_empty() {
        // One case per 200 provider-days.
        let expected = selling.len() as u64;
        let count =
            expected / 200 + u64::from(api.draw.below(Topic::Case, &[day], 200) < expected % 200);
        let mut cases = Vec::new();
        for k in 0..count {
            let p = selling[api.draw.below(Topic::Case, &[day, k], selling.len() as u64) as usize];
            let pick = |attempt: u64| {
                w.codes[api
                    .draw
                    .below(Topic::CaseCode, &[day, k, attempt], w.codes.len() as u64)
                    as usize]
                    .clone()
            };
            let (mut code, mut expels) = pick(0);
            // Expulsion rows are rare: draw again, up to three times.
            for attempt in 1..4 {
                if !expels {
                    break;
                }
                (code, expels) = pick(attempt);
            }
            if charged.insert(p) {
                cases.push((p, code, k));
            }
        }
        let w_ref = &*w;
        let opened: Vec<(usize, String, bool)> = stream::iter(cases)
            .map(|(p, code, k)| async move {
                let ok = api
                    .case(
                        staff,
                        &w_ref.providers[p],
                        &code,
                        &date.to_string(),
                        [day, k],
                    )
                    .await?;
                Ok::<_, anyhow::Error>((p, code, ok))
            })
            .buffer_unordered(c)
            .try_collect()
            .await?;
        for (_, code, ok) in opened {
            if ok {
                s.cases_opened += 1;
                *s.cases_by_code.entry(code).or_default() += 1;
            }
        }
    }
    // One provider in 2,000 leaves each day (not one just charged).
    let leaving: Vec<usize> = selling
        .iter()
        .copied()
        .filter(|p| {
            !charged.contains(p) && api.draw.below(Topic::Exit, &[day, *p as u64], 2_000) == 0
        })
        .collect();
    let w_ref = &*w;
    let left: Vec<(usize, bool)> =
        stream::iter(leaving)
            .map(|p| async move {
                Ok::<_, anyhow::Error>((p, api.exit(&w_ref.providers[p], day).await?))
            })
            .buffer_unordered(c)
            .try_collect()
            .await?;
    for (p, began) in left {
        if began {
            s.exits += 1;
            w.gone.insert(p);
        }
    }
    w.charged.push_back(charged);
    if w.charged.len() > 3 {
        let due: Vec<usize> = w
            .charged
            .pop_front()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let w_ref = &*w;
        let paid: Vec<(usize, Option<i64>, bool)> = stream::iter(due)
            .map(|p| async move {
                let provider = &w_ref.providers[p];
                let standing = api.standing(provider).await?;
                let gone = standing["provider_status"] != "active";
                if gone {
                    return Ok::<_, anyhow::Error>((p, None, true));
                }
                if !api.draw.chance(Topic::TopUp, &[day, p as u64], 800) {
                    return Ok((p, None, false));
                }
                Ok((p, Some(api.top_up(provider, day).await?), false))
            })
            .buffer_unordered(c)
            .try_collect()
            .await?;
        for (p, fen, gone) in paid {
            if gone {
                w.gone.insert(p);
                continue;
            }
            match fen {
                Some(0) => {}
                Some(fen) => {
                    s.top_ups += 1;
                    s.top_ups_fen += fen;
                }
                None => s.top_ups_missed += 1,
            }
        }
    }
    Ok(())
}

/// The invariant checker, over everything or over what changed `after` the chain head an
/// earlier check verified; a broken invariant stops the run with the seed and the day. The
/// chain head this check verified.
async fn audit(
    api: &Api<'_>,
    args: &SimulateArgs,
    day: u64,
    date: jiff::civil::Date,
    after: Option<(i64, String)>,
    s: &mut Summary,
) -> Result<(i64, String)> {
    let path = match &after {
        Some((seq, head)) => format!("/api/v1/admin/audit?after_event={seq}&after_hash={head}"),
        None => "/api/v1/admin/audit".to_owned(),
    };
    let report = api.get(&path, ADMIN).await?;
    if report["ok"] != true {
        let broken: Vec<String> = report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["ok"] != true)
            .map(|c| {
                format!(
                    "{}: {}",
                    c["name"].as_str().unwrap_or("?"),
                    c["detail"].as_str().unwrap_or("")
                )
            })
            .collect();
        bail!(
            "invariant broken — seed {} ({}), day {} ({date}): {}",
            args.seed,
            args.rulebook,
            day + 1,
            broken.join("; ")
        );
    }
    s.audits_passed += 1;
    s.full_audits_passed += u64::from(after.is_none());
    let head = (
        report["chain_head_seq"]
            .as_i64()
            .context("the audit's chain head")?,
        report["chain_head"]
            .as_str()
            .context("the audit's chain head")?
            .to_owned(),
    );
    Ok(head)
}

/// The end: providers' standing, statements and the ledger, read back.
async fn finish(api: &Api<'_>, w: &World, s: &mut Summary) -> Result<()> {
    for p in &w.providers {
        let standing = api.standing(p).await?;
        match standing["provider_status"].as_str() {
            Some("expelled" | "banned") => s.providers_expelled += 1,
            _ if market::store_frozen(&standing) => s.providers_frozen += 1,
            _ => {}
        }
    }
    let state = api.node.state().await?;
    let statements = yunshi_server::kernel::pipeline::all_aggregates(
        &state.store,
        yunshi_server::kernel::repo::STATEMENT,
        None,
        None,
    )
    .await
    .map_err(|p| anyhow::anyhow!("reading statements: {}", p.detail))?;
    // A hold stays in the provider's payable and is held again by the next statement, so
    // what is held at the end is each provider's latest statement's hold, not their sum.
    let mut latest_hold = HashMap::new();
    for a in statements {
        let st: Statement = serde_json::from_value(a.state)?;
        s.statements += 1;
        s.settled_sales_fen += st.sales.fen();
        s.statement_refunds_fen += st.refunds.fen();
        s.fees_fen += st.fee.fen();
        s.payouts_fen += st.payout.fen();
        let latest = latest_hold
            .entry(st.provider)
            .or_insert((st.period, st.held));
        if st.period > latest.0 {
            *latest = (st.period, st.held);
        }
    }
    s.held_fen = latest_hold.values().map(|(_, held)| held.fen()).sum();
    for (kind, balance) in state.store.balances_by_kind().await? {
        if balance.fen() != 0 {
            s.ledger.insert(kind.as_str().to_owned(), balance.fen());
        }
    }
    let planned: BTreeMap<String, u64> = api
        .node
        .planned()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| (f.as_str().to_owned(), n))
        .collect();
    s.faults_planned = planned;
    s.faults_injected = api
        .node
        .injected()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| (f.as_str().to_owned(), n))
        .collect();
    s.restarts = api.node.restarts.load(std::sync::atomic::Ordering::Relaxed);
    Ok(())
}
