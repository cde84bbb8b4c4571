//! The settlement run of one period: every provider's statement, in chunks of providers, each
//! chunk one batch. A statement is claimed by a unique key (provider, period), so a run that
//! was killed half-way and is started again writes the statements still missing and nothing
//! twice; instructed payouts are sent after their batch commits, and any still `instructed`
//! (the process died in between) are sent by the next run — the gateway reference is derived
//! from the payout id, so a repeat cannot pay twice.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use yunshi_core::complaint::{Complaint, ComplaintStatus};
use yunshi_core::deposit::DepositAccount;
use yunshi_core::governance::Case;
use yunshi_core::ids::ProviderId;
use yunshi_core::ledger::AccountKind;
use yunshi_core::money::Fen;
use yunshi_core::rulebook::MarketplaceRulebook;
use yunshi_core::settlement::{
    Hold, PayeeRegistration, Period, SettlementError, SettlementItem, Statement, StatementInputs,
    order_lines, settle,
};
use yunshi_store::{AggregateQuery, ItemQuery, NewDeadline, UniqueKey, WriteBatch};

use super::payouts::send_instructed;
use super::{RUN_DEADLINE, payout_write, statement_write};
use crate::kernel::books::balances;
use crate::kernel::context::rulebook_at;
use crate::kernel::context::with_ctx;
use crate::kernel::pipeline::{add_outcome, aggregate_write, all_aggregates};
use crate::kernel::problem::Problem;
use crate::kernel::repo::PAYEE;
use crate::kernel::repo::PAYOUT;
use crate::kernel::repo::STATEMENT;
use crate::kernel::repo::providers::PROVIDER;
use crate::kernel::state::AppState;

/// Providers per batch: large enough that group commit pays off, small enough that a
/// crash loses little.
const CHUNK: usize = 500;

/// Unique-key scope of statements: one per provider and period.
const STATEMENT_KEY: &str = "statement";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunSummary {
    /// `2026-03-01`: the first day of the period.
    pub period: String,
    pub period_end: String,
    /// Statements written by this run.
    pub statements: u64,
    /// Statements an earlier (interrupted) run had already written.
    pub already_settled: u64,
    pub order_lines: u64,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub net: Fen,
    pub payouts: u64,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub paid_out: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub held: Fen,
    #[schema(value_type = crate::kernel::amount::Money)]
    pub debt_carried: Fen,
    /// Where this run's time went.
    pub timing: RunTiming,
}

/// Milliseconds spent per phase of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunTiming {
    /// Reading balances, holds, claims, accounts and what is already settled.
    pub snapshot_ms: u64,
    /// Reading the settlement items.
    pub read_items_ms: u64,
    /// Order lines and statements (the core).
    pub decide_ms: u64,
    /// Writing statements, ledger transactions and payouts.
    pub commit_ms: u64,
    /// Sending payouts and writing the gateway's answers.
    pub payouts_ms: u64,
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What the run reads once for all providers.
struct Snapshot {
    done: HashSet<ProviderId>,
    providers: Vec<ProviderId>,
    settlement_payable: HashMap<String, Fen>,
    debt: HashMap<String, Fen>,
    penalties: HashMap<String, Fen>,
    deposits_held: HashMap<String, Fen>,
    claims: HashMap<ProviderId, (DepositAccount, i64)>,
    holds: HashMap<ProviderId, Vec<Hold>>,
    payees: HashMap<ProviderId, PayeeRegistration>,
    /// The version of each provider's settlement position.
    positions: HashMap<ProviderId, i64>,
}

/// Aggregate kind: a provider's settlement position (id = the provider's id), moved on by
/// every statement so that two writes of the same money cannot both commit.
pub const SETTLEMENT_POSITION: &str = "settlement_position";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SettlementPosition {
    provider: ProviderId,
    /// The period of its latest statement.
    last_period: Period,
}

fn refused(e: SettlementError) -> Problem {
    Problem::refusal(&e)
}

fn read<T: serde::de::DeserializeOwned>(
    kind: &str,
    state: serde_json::Value,
) -> Result<T, Problem> {
    serde_json::from_value(state)
        .map_err(|e| Problem::internal(format!("stored {kind} does not read back: {e}")))
}

/// Providers held by an open complaint, open case or a breach (ALI-A 2.3.5, 4.3.5).
async fn holds(state: &AppState) -> Result<HashMap<ProviderId, Vec<Hold>>, Problem> {
    let mut out: HashMap<ProviderId, Vec<Hold>> = HashMap::new();
    for status in ComplaintStatus::OPEN {
        for a in all_aggregates(
            &state.store,
            crate::kernel::repo::COMPLAINT,
            None,
            Some(status.label()),
        )
        .await?
        {
            let c: Complaint = read("complaint", a.state)?;
            out.entry(c.provider)
                .or_default()
                .push(Hold::OpenComplaint { id: c.id });
        }
    }
    for a in all_aggregates(&state.store, crate::kernel::repo::CASE, None, None).await? {
        let c: Case = read("case", a.state)?;
        if c.status.is_open() {
            out.entry(c.provider)
                .or_default()
                .push(Hold::OpenCase { id: c.id });
        }
    }
    for (provider, id) in crate::reactions::holds::invoice_breaches(state).await? {
        out.entry(provider).or_default().push(Hold::Breach {
            id,
            what: "invoice_not_issued_in_time".into(),
        });
    }
    Ok(out)
}

async fn snapshot(
    state: &AppState,
    period: Period,
    rulebook: &MarketplaceRulebook,
) -> Result<Snapshot, Problem> {
    let mut done = HashSet::new();
    for a in all_aggregates(&state.store, STATEMENT, None, Some(&period.label())).await? {
        let s: Statement = read(STATEMENT, a.state)?;
        done.insert(s.provider);
    }
    let mut providers = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .aggregates(&AggregateQuery {
                kind: PROVIDER.into(),
                owner: None,
                status: None,
                after,
                limit: 1_000,
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        providers.extend(page.iter().map(|a| ProviderId(a.id)));
    }
    providers.sort_by_key(|p| p.to_string());
    let mut claims = HashMap::new();
    for a in all_aggregates(
        &state.store,
        crate::kernel::repo::DEPOSIT_ACCOUNT,
        None,
        None,
    )
    .await?
    {
        let account: DepositAccount = read("deposit account", a.state)?;
        if account.settlement_claim.is_some() {
            claims.insert(account.provider, (account, a.version));
        }
    }
    let mut payees = HashMap::new();
    for a in all_aggregates(&state.store, PAYEE, None, None).await? {
        let reg: PayeeRegistration = read(PAYEE, a.state)?;
        payees.insert(reg.provider, reg);
    }
    let mut positions = HashMap::new();
    for a in all_aggregates(&state.store, SETTLEMENT_POSITION, None, None).await? {
        positions.insert(ProviderId(a.id), a.version);
    }
    let holds = if rulebook.settlement.hold_on_breach_or_dispute {
        holds(state).await?
    } else {
        HashMap::new()
    };
    Ok(Snapshot {
        done,
        providers,
        settlement_payable: balances(state, AccountKind::SettlementPayable, None).await?,
        debt: balances(state, AccountKind::ProviderDebt, None).await?,
        penalties: balances(state, AccountKind::PenaltiesReceivable, None).await?,
        deposits_held: balances(state, AccountKind::DepositsHeld, None).await?,
        claims,
        holds,
        payees,
        positions,
    })
}

/// How many times a run goes over the providers whose statement lost a race (a deposit
/// top-up, another run) before it reports them.
const ROUNDS: usize = 3;

/// Settles `period` for every provider that has no statement for it yet. Providers whose
/// statement lost a race are settled again from fresh balances; any still left after
/// [`ROUNDS`] make the run fail (its deadline stays pending and is retried).
pub async fn run_period(state: &AppState, period: Period) -> Result<RunSummary, Problem> {
    let now = state.clock.now();
    let rulebook = rulebook_at(state, now)?;
    let cutoff = period.cutoff().map_err(refused)?;
    if cutoff > now {
        return Err(refused(SettlementError::PeriodNotEnded { cutoff }));
    }
    // Payouts a killed run instructed but never sent go first.
    let mut timing = RunTiming::default();
    let t = Instant::now();
    send_instructed(state).await?;
    timing.payouts_ms = ms(t);
    let mut summary = RunSummary {
        period: period.label(),
        period_end: period.end.to_string(),
        ..RunSummary::default()
    };
    let mut left = 0;
    for round in 0..ROUNDS {
        let t = Instant::now();
        let snap = snapshot(state, period, rulebook).await?;
        timing.snapshot_ms += ms(t);
        if round == 0 {
            summary.already_settled = snap.done.len() as u64;
        }
        left = settle_round(
            state,
            &snap,
            rulebook,
            period,
            now,
            &mut summary,
            &mut timing,
        )
        .await?;
        if left == 0 {
            break;
        }
    }
    let t = Instant::now();
    send_instructed(state).await?;
    timing.payouts_ms += ms(t);
    summary.timing = timing;
    if left > 0 {
        return Err(Problem::conflict(format!(
            "{left} providers' statements of {} kept losing races with other writes; run it again",
            period.label()
        )));
    }
    Ok(summary)
}

/// One pass over the providers not yet settled; the number whose statement lost a race.
async fn settle_round(
    state: &AppState,
    snap: &Snapshot,
    rulebook: &MarketplaceRulebook,
    period: Period,
    now: Timestamp,
    summary: &mut RunSummary,
    timing: &mut RunTiming,
) -> Result<usize, Problem> {
    let (opens, cutoff) = (
        period.opens_at().map_err(refused)?,
        period.cutoff().map_err(refused)?,
    );
    let mut lost = 0;
    for chunk in snap.providers.chunks(CHUNK) {
        let todo: Vec<ProviderId> = chunk
            .iter()
            .filter(|p| !snap.done.contains(p))
            .copied()
            .collect();
        let (Some(first), Some(last)) = (todo.first(), todo.last()) else {
            continue;
        };
        let t = Instant::now();
        let items = state
            .store
            .settlement_items(&ItemQuery {
                providers: Some((first.to_string(), last.to_string())),
                order: None,
                period: Some((opens, cutoff)),
            })
            .await?;
        timing.read_items_ms += ms(t);
        let t = Instant::now();
        let mut by_provider: HashMap<ProviderId, Vec<SettlementItem>> = HashMap::new();
        for i in items {
            by_provider.entry(i.provider).or_default().push(i);
        }
        let mut batches = Vec::new();
        for p in &todo {
            let items = by_provider.remove(p).unwrap_or_default();
            if let Some(batch) =
                provider_batch(state, snap, rulebook, *p, period, &items, now).await?
            {
                batches.push(batch);
            }
        }
        timing.decide_ms += ms(t);
        let t = Instant::now();
        lost += commit_chunk(state, batches, summary).await?;
        timing.commit_ms += ms(t);
    }
    Ok(lost)
}

/// One provider's writes for the period — its statement, or only the deposit claim it could
/// not pay — or `None` when there is nothing.
#[allow(clippy::too_many_arguments)]
async fn provider_batch(
    state: &AppState,
    snap: &Snapshot,
    rulebook: &MarketplaceRulebook,
    p: ProviderId,
    period: Period,
    items: &[SettlementItem],
    now: Timestamp,
) -> Result<Option<ProviderBatch>, Problem> {
    let key = p.to_string();
    let get = |m: &HashMap<String, Fen>| m.get(&key).copied().unwrap_or(Fen::ZERO);
    let lines = order_lines(items, period, &rulebook.settlement).map_err(refused)?;
    let held_deposit = get(&snap.deposits_held);
    let cutoff = period.cutoff().map_err(refused)?;
    let claim = match snap.claims.get(&p) {
        Some((account, _)) => account
            .claim_due(held_deposit, cutoff, rulebook, now)
            .map_err(|e| Problem::refusal(&e))?,
        None => Fen::ZERO,
    };
    let inputs = StatementInputs {
        provider: p,
        period,
        lines,
        brought_forward: get(&snap.settlement_payable),
        debt: get(&snap.debt),
        penalties_owed: get(&snap.penalties),
        deposit_claim: claim,
        holds: snap.holds.get(&p).cloned().unwrap_or_default(),
        payee: snap.payees.get(&p).and_then(|r| r.approved.clone()),
    };
    let settled = with_ctx(state, now, rulebook, |ctx| settle(inputs, ctx)).map_err(refused)?;
    let st = settled.statement;
    if st.is_empty() && claim.is_zero() {
        return Ok(None);
    }
    let mut batch = WriteBatch::default();
    // Every statement moves the provider's settlement account on from the version the run
    // read its balances under: a concurrent write of the same money loses the race.
    let position = SettlementPosition {
        provider: p,
        last_period: period,
    };
    batch.aggregates.push(aggregate_write(
        SETTLEMENT_POSITION,
        p.uuid(),
        snap.positions.get(&p).copied(),
        key.clone(),
        "settled",
        &position,
        now,
    )?);
    if !st.is_empty() {
        batch.unique_keys.push(UniqueKey {
            scope: STATEMENT_KEY.into(),
            key: Statement::key(p, period),
            id: st.id,
        });
        batch.aggregates.push(statement_write(&st, now)?);
        if let Some(payout) = &settled.payout {
            batch.aggregates.push(payout_write(payout, None, now)?);
        }
    }
    if let Some((account, version)) = snap.claims.get(&p)
        && !claim.is_zero()
    {
        let taken = st
            .adjustment(yunshi_core::settlement::AdjustmentKind::DepositTopUp)
            .checked_neg()
            .map_err(Problem::internal)?;
        let decided = with_ctx(state, now, rulebook, |ctx| {
            account.taken_from_settlement(held_deposit, taken, ctx)
        })
        .map_err(|e| Problem::refusal(&e))?;
        if let Some((decision, _)) = decided {
            crate::reactions::deposit::write_decision(
                state,
                &mut batch,
                decision,
                Some(*version),
                rulebook,
                now,
            )
            .await?;
        }
    }
    add_outcome(&mut batch, settled.outcome, now);
    let statement = (!st.is_empty()).then_some(st);
    Ok(Some(ProviderBatch {
        batch,
        statement,
        paid: settled.payout.is_some(),
    }))
}

/// A provider's writes, and the statement in them for the run's summary.
struct ProviderBatch {
    batch: WriteBatch,
    statement: Option<Statement>,
    paid: bool,
}

fn count(summary: &mut RunSummary, b: &ProviderBatch) -> Result<(), Problem> {
    let Some(st) = &b.statement else {
        return Ok(());
    };
    let add = |a: Fen, b: Fen| a.checked_add(b).map_err(Problem::internal);
    summary.statements += 1;
    summary.order_lines += st.order_lines;
    summary.net = add(summary.net, st.net)?;
    summary.paid_out = add(summary.paid_out, st.payout)?;
    summary.held = add(summary.held, st.held)?;
    summary.debt_carried = add(summary.debt_carried, st.debt_carried)?;
    summary.payouts += u64::from(b.paid);
    Ok(())
}

/// Commits a chunk's providers together; if one of them lost a race (another run, a deposit
/// or settlement write meanwhile), each is committed on its own. Returns how many lost: the
/// next round settles them from fresh balances.
async fn commit_chunk(
    state: &AppState,
    batches: Vec<ProviderBatch>,
    summary: &mut RunSummary,
) -> Result<usize, Problem> {
    if batches.is_empty() {
        return Ok(0);
    }
    let mut whole = WriteBatch::default();
    for b in &batches {
        let b = &b.batch;
        whole.events.extend(b.events.iter().cloned());
        whole.transactions.extend(b.transactions.iter().cloned());
        whole.aggregates.extend(b.aggregates.iter().cloned());
        whole.unique_keys.extend(b.unique_keys.iter().cloned());
        whole.schedule.extend(b.schedule.iter().cloned());
        whole.cancel_keys.extend(b.cancel_keys.iter().cloned());
    }
    if crate::kernel::pipeline::commit_once(&state.store, whole, true).await? {
        for b in &batches {
            count(summary, b)?;
        }
        return Ok(0);
    }
    let mut lost = 0;
    for b in batches {
        if crate::kernel::pipeline::commit_once(&state.store, b.batch.clone(), true).await? {
            count(summary, &b)?;
        } else {
            lost += 1;
        }
    }
    Ok(lost)
}

/// The run deadline of the period after `period`, unless it is already scheduled.
pub fn next_run_deadline(
    period: Period,
    rulebook: &MarketplaceRulebook,
) -> Result<NewDeadline, Problem> {
    let next = period.next(&rulebook.settlement).map_err(refused)?;
    Ok(NewDeadline {
        id: Uuid::now_v7(),
        kind: RUN_DEADLINE.into(),
        subject: format!("settlement:{}", next.label()),
        due_at: next.cutoff().map_err(refused)?,
        payload: serde_json::json!({ "period": next.label() }),
        dedupe_key: Some(format!("settlement:run:{}", next.label())),
    })
}

/// At start-up: the run of the current period is scheduled (once).
pub async fn ensure_scheduled(state: &AppState) -> Result<(), Problem> {
    let now = state.clock.now();
    let rulebook = rulebook_at(state, now)?;
    let current = Period::of_instant(&rulebook.settlement, now).map_err(refused)?;
    let previous = current.previous(&rulebook.settlement).map_err(refused)?;
    crate::kernel::pipeline::schedule_once(
        &state.store,
        vec![next_run_deadline(previous, rulebook)?],
    )
    .await
}

pub(super) fn period_of(label: &str, rulebook: &MarketplaceRulebook) -> Result<Period, Problem> {
    let day: jiff::civil::Date = label
        .parse()
        .map_err(|_| Problem::invalid_request(format!("{label:?} is not a date (YYYY-MM-DD)")))?;
    let p = Period::containing(&rulebook.settlement, day).map_err(refused)?;
    if p.start != day {
        return Err(Problem::invalid_request(format!(
            "{label} does not start a settlement period; the period containing it starts {}",
            p.start
        )));
    }
    Ok(p)
}

/// Payouts not final, for the sender.
pub(super) async fn open_payouts(
    state: &AppState,
    status: &str,
) -> Result<Vec<yunshi_store::StoredAggregate>, Problem> {
    all_aggregates(&state.store, PAYOUT, None, Some(status)).await
}
