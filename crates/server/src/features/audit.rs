//! The invariant checker (issue 6 item 2, the part that reads a database): what must hold on
//! any Yunshi database after every committed write, checked from what is stored.
//! `GET /api/v1/admin/audit` (operator administrators); `yunshi audit` calls it.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;
use yunshi_core::governance::ViolationRecord;
use yunshi_core::ledger::{Account, AccountKind};
use yunshi_core::money::Fen;
use yunshi_core::order::{Order, OrderStatus};
use yunshi_core::provider::{Provider, ProviderStatus};
use yunshi_store::{AggregateQuery, Changes, StoredAggregate};

use crate::kernel::auth::Principal;
use crate::kernel::pipeline::{all_aggregates, load};
use crate::kernel::problem::{ApiJson, Problem};
use crate::kernel::state::AppState;

/// The least time an audit is given: a full audit of a marketplace of a million orders
/// takes over a minute, far beyond the request timeout the rest of the API keeps.
pub const BUDGET: Duration = Duration::from_secs(600);

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/admin/audit", get(audit))
}

#[derive(OpenApi)]
#[openapi(
    paths(audit),
    components(schemas(AuditReport, Check)),
    tags((name = "audit", description = "The invariant checker: what must hold on any Yunshi database"))
)]
pub struct ApiDoc;

/// One invariant, and the first place it fails.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// What was found: the totals compared, or the first offender.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditReport {
    /// Every check holds.
    pub ok: bool,
    /// `full`: everything stored; `changes`: what changed after `after_event`.
    pub scope: String,
    pub checks: Vec<Check>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The last event whose hash was verified, and that hash: give them back as
    /// `after_event` and `after_hash` to check only what changes from here.
    pub chain_head_seq: i64,
    pub chain_head: String,
}

/// What changed after an event an earlier audit verified.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Check only what changed after this event: an earlier report's `chain_head_seq`.
    pub after_event: Option<i64>,
    /// That report's `chain_head` (required with `after_event`).
    pub after_hash: Option<String>,
}

/// What a `changes` audit looks at: the subjects of the events after the mark, and what the
/// ledger transactions, settlement items and aggregate writes after it touched (a write that
/// appended no event is found this way).
#[derive(Default)]
struct Changed {
    orders: BTreeSet<Uuid>,
    providers: BTreeSet<String>,
    statements: BTreeSet<Uuid>,
    payouts: BTreeSet<Uuid>,
    /// An order's accounts (escrow, refunds payable) whose owner is not an order id.
    orphan_accounts: Vec<(AccountKind, String)>,
}

impl Changed {
    fn note(&mut self, subject: &str) {
        let Some((kind, id)) = subject.split_once(':') else {
            return;
        };
        let uuid = || Uuid::parse_str(id).ok();
        match kind {
            "order" => self.orders.extend(uuid()),
            "provider" => {
                self.providers.insert(id.to_owned());
            }
            "statement" => self.statements.extend(uuid()),
            "payout" => self.payouts.extend(uuid()),
            _ => {}
        }
    }

    /// Deposits, cash, revenue, penalties and payouts in transit are checked whole on every
    /// audit; an order's and a provider's accounts are checked where they were written.
    fn note_writes(&mut self, changes: Changes) {
        for (kind, owner) in changes.accounts {
            match kind {
                AccountKind::BuyerEscrow | AccountKind::RefundsPayable => {
                    match Uuid::parse_str(&owner) {
                        Ok(order) => {
                            self.orders.insert(order);
                        }
                        Err(_) => self.orphan_accounts.push((kind, owner)),
                    }
                }
                AccountKind::ProviderPayable | AccountKind::SettlementPayable => {
                    self.providers.insert(owner);
                }
                _ => {}
            }
        }
        for (kind, id) in changes.aggregates {
            let set = match kind.as_str() {
                k if k == crate::kernel::repo::orders::ORDER => &mut self.orders,
                k if k == crate::kernel::repo::STATEMENT => &mut self.statements,
                k if k == crate::kernel::repo::PAYOUT => &mut self.payouts,
                _ => continue,
            };
            set.insert(id);
        }
        self.providers.extend(changes.item_providers);
    }
}

fn check(name: &'static str, failure: Option<String>, fine: String) -> Check {
    Check {
        name,
        ok: failure.is_none(),
        detail: failure.unwrap_or(fine),
    }
}

/// Checks every invariant (operator administrators): the trial balance is zero; the event
/// hash chain verifies; each order's escrow account holds what the order says it holds, and
/// no escrow sits in an account of no order; each order's refunds-payable account holds the
/// refunds decided and not yet paid back; each order is in a legal state for its lifecycle; no order refunded more than it was paid;
/// no deposit account is overdrawn; each provider's settlement accounts equal what its items
/// and statements say, and payouts in transit equal the payouts not yet answered; no active
/// provider has reached the expulsion threshold; no deadline is left pending past its due
/// time and a lease (that none fires twice the store enforces: a fired deadline is no longer
/// pending, and firing it again is refused).
///
/// With `after_event` and `after_hash` from an earlier report, only what changed since is
/// read: the chain from there (the marked event must still hash to the mark), and the orders
/// and providers' settlement accounts named by the events since or written since — by a
/// ledger transaction, a settlement item or an aggregate write, with or without an event
/// (the ledger totals, deposits, points and deadlines are always checked whole) — cheap
/// enough to run after every simulated day of a large marketplace.
#[utoipa::path(
    get, path = "/api/v1/admin/audit", tag = "audit", security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "The checks (`ok` false when any fails)", body = AuditReport),
        (status = 400, description = "`after_event` without `after_hash`, or the reverse"),
        (status = 403, description = "Not an operator administrator"),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<AuditQuery>,
) -> Result<ApiJson<AuditReport>, Problem> {
    if !principal.actor.is_operator_admin() {
        return Err(Problem::forbidden(
            "the audit is for operator administrators",
        ));
    }
    let after = match (q.after_event, q.after_hash.as_deref()) {
        (None, None) => None,
        (Some(seq), Some(hash)) if seq >= 0 => Some((seq, hash)),
        (Some(_), Some(_)) => {
            return Err(Problem::invalid_request(
                "after_event is an event's sequence number: 0 or more",
            ));
        }
        _ => {
            return Err(Problem::invalid_request(
                "after_event and after_hash go together: both from an earlier report",
            ));
        }
    };
    Ok(ApiJson(run_after(&state, after).await?))
}

/// All checks, in order: over everything, or (`after`: an earlier report's chain head) over
/// what changed since.
pub async fn run_after(
    state: &AppState,
    after: Option<(i64, &str)>,
) -> Result<AuditReport, Problem> {
    let now = state.clock.now();
    let mut checks = Vec::new();

    let trial = state.store.trial_balance().await?;
    let unbalanced = match trial {
        0 => None,
        _ => Some(match state.store.unbalanced_transaction().await? {
            Some(tx) => format!("the postings sum to {trial} fen; transaction {tx} is unbalanced"),
            None => format!("the postings sum to {trial} fen"),
        }),
    };
    checks.push(check("trial_balance_is_zero", unbalanced, "0".into()));

    let mut changed = Changed::default();
    let chain = state
        .store
        .verify_event_chain_after(after, |e| {
            if after.is_some() {
                changed.note(&e.subject);
            }
        })
        .await?;
    if let Some((seq, _)) = after {
        changed.note_writes(state.store.changes_after(seq).await?);
    }
    checks.push(check(
        "event_chain_verifies",
        chain
            .broken_at
            .map(|seq| format!("the chain breaks at event {seq}")),
        format!("{} events", chain.events),
    ));

    // Orders a page at a time, each page with its escrow accounts: the audit of a large
    // marketplace holds one page in memory, not every order.
    let mut tally = OrderTally::default();
    match after {
        None => {
            let mut last = None;
            loop {
                let page = state
                    .store
                    .aggregates(&AggregateQuery {
                        kind: crate::kernel::repo::orders::ORDER.to_owned(),
                        owner: None,
                        status: None,
                        after: last,
                        limit: ORDER_PAGE as u32,
                    })
                    .await?;
                last = page.last().map(|a| a.id);
                let full = page.len() >= ORDER_PAGE;
                tally.check_page(state, page).await?;
                if !full {
                    break;
                }
            }
        }
        Some(_) => {
            let ids: Vec<Uuid> = changed.orders.iter().copied().collect();
            for chunk in ids.chunks(ORDER_PAGE) {
                let page = state
                    .store
                    .aggregates_by_ids(crate::kernel::repo::orders::ORDER, chunk.to_vec())
                    .await?;
                let found: BTreeSet<Uuid> = page.iter().map(|a| a.id).collect();
                tally.check_page(state, page).await?;
                let missing = chunk.iter().filter(|id| !found.contains(id));
                tally.orphans.extend(missing.flat_map(|id| {
                    [AccountKind::BuyerEscrow, AccountKind::RefundsPayable]
                        .map(|kind| (kind, id.to_string()))
                }));
            }
            tally
                .orphans
                .extend(std::mem::take(&mut changed.orphan_accounts));
            changed.providers.extend(tally.providers.iter().cloned());
        }
    }
    match after {
        // Every order was read: what the escrow and refunds-payable accounts hold in all
        // must be what the orders say, or some of it sits in accounts of no order.
        None => tally.compare_totals(state).await?,
        Some(_) => tally.check_orphans(state).await?,
    }
    let OrderTally {
        orders,
        held,
        owed,
        escrow_off,
        owed_off,
        overpaid,
        illegal,
        ..
    } = tally;
    checks.push(check(
        "escrow_equals_held_orders",
        escrow_off,
        format!("{orders} {}orders hold {held} fen", changed_note(after)),
    ));
    checks.push(check(
        "refunds_payable_equals_refunds_owed",
        owed_off,
        format!(
            "{orders} {}orders owe {owed} fen in refunds",
            changed_note(after)
        ),
    ));
    checks.push(check(
        "every_order_in_a_legal_state",
        illegal,
        format!("{orders} {}orders", changed_note(after)),
    ));
    checks.push(check(
        "no_refund_above_its_payment",
        overpaid,
        format!("{orders} {}orders", changed_note(after)),
    ));

    let overdrawn = state
        .store
        .owner_balances(AccountKind::DepositsHeld)
        .await?
        .into_iter()
        .find(|(_, b)| b.is_positive())
        .map(|(owner, b)| format!("provider {owner}'s deposit is overdrawn by {b}"));
    checks.push(check(
        "no_deposit_overdrawn",
        overdrawn,
        "every deposit ≥ 0".into(),
    ));

    let scope = match after {
        None => None,
        Some(_) => {
            for (kind, ids) in [
                (crate::kernel::repo::STATEMENT, &changed.statements),
                (crate::kernel::repo::PAYOUT, &changed.payouts),
            ] {
                let ids = ids.iter().copied().collect();
                for a in state.store.aggregates_by_ids(kind, ids).await? {
                    changed.providers.insert(a.owner);
                }
            }
            Some(&changed.providers)
        }
    };
    let books = crate::kernel::books::books(state, scope).await?;
    let unbalanced = books
        .proofs
        .iter()
        .find(|(_, p)| !p.balanced())
        .map(|(provider, p)| format!("provider {provider}: {p:?}"))
        .or_else(|| {
            (books.transit_ledger != books.transit_expected).then(|| {
                format!(
                    "payouts in transit {} in the ledger, {} unanswered",
                    books.transit_ledger, books.transit_expected
                )
            })
        });
    checks.push(check(
        "settlement_accounts_equal_statements",
        unbalanced,
        format!("{} providers", books.proofs.len()),
    ));

    checks.push(check(
        "no_active_provider_at_or_above_the_points_threshold",
        over_threshold(state, now).await?,
        "none".into(),
    ));

    // Due more than a lease ago and still pending: no runner fired it, nor took it and died
    // with its lease since run out.
    let late = now
        .checked_sub(crate::kernel::deadlines::LEASE)
        .map_err(Problem::internal)?;
    let overdue = state
        .store
        .due_deadlines(late, 1)
        .await?
        .into_iter()
        .find(|d| d.due_at < late)
        .map(|d| {
            format!(
                "deadline {} ({} of {}) due at {} is still pending",
                d.id, d.kind, d.subject, d.due_at
            )
        });
    checks.push(check(
        "no_deadline_left_pending_past_due",
        overdue,
        "none".into(),
    ));

    Ok(AuditReport {
        ok: checks.iter().all(|c| c.ok),
        scope: if after.is_some() { "changes" } else { "full" }.into(),
        checks,
        at: now,
        chain_head_seq: chain.head_seq,
        chain_head: chain.head,
    })
}

/// Orders read per query (and escrow accounts per lookup) by the audit.
const ORDER_PAGE: usize = 1_000;

/// The order checks so far: totals, the providers seen, and each check's first offender.
#[derive(Default)]
struct OrderTally {
    orders: u64,
    held: i128,
    /// Refunds decided and not yet paid back to buyers (no payout moves them yet).
    owed: i128,
    providers: BTreeSet<String>,
    /// An order's accounts whose owner is no stored order (a `changes` audit).
    orphans: Vec<(AccountKind, String)>,
    escrow_off: Option<String>,
    owed_off: Option<String>,
    overpaid: Option<String>,
    illegal: Option<String>,
}

impl OrderTally {
    /// Checks a page of stored orders against their escrow and refunds-payable accounts.
    async fn check_page(
        &mut self,
        state: &AppState,
        page: Vec<StoredAggregate>,
    ) -> Result<(), Problem> {
        let owners: Vec<String> = page.iter().map(|a| a.id.to_string()).collect();
        let mut accounts = HashMap::new();
        for kind in [AccountKind::BuyerEscrow, AccountKind::RefundsPayable] {
            let balances: HashMap<String, Fen> = state
                .store
                .owner_balances_of(kind, owners.clone())
                .await?
                .into_iter()
                .collect();
            accounts.insert(kind, balances);
        }
        for a in page {
            let order: Order = serde_json::from_value(a.state["order"].clone())
                .map_err(|e| Problem::internal(format!("stored order does not read back: {e}")))?;
            let id = order.id.to_string();
            let of = |kind| {
                accounts
                    .get(&kind)
                    .and_then(|b: &HashMap<String, Fen>| b.get(&id).copied())
                    .unwrap_or(Fen::ZERO)
            };
            let ledger = (
                of(AccountKind::BuyerEscrow),
                of(AccountKind::RefundsPayable),
            );
            self.check(&order, ledger)?;
        }
        Ok(())
    }

    /// One order against its (escrow, refunds payable) balances; both are credits.
    fn check(&mut self, order: &Order, (escrow, payable): (Fen, Fen)) -> Result<(), Problem> {
        self.orders += 1;
        self.providers.insert(order.terms.provider.to_string());
        self.held += i128::from(order.escrow.fen());
        if self.escrow_off.is_none() && i128::from(escrow.fen()) != -i128::from(order.escrow.fen())
        {
            self.escrow_off = Some(format!(
                "order {} holds {} in escrow, its escrow account {}",
                order.id,
                order.escrow,
                Fen::new(-escrow.fen())
            ));
        }
        let refunded = order.refunded_total().map_err(Problem::internal)?;
        self.owed += i128::from(refunded.fen());
        if self.owed_off.is_none() && i128::from(payable.fen()) != -i128::from(refunded.fen()) {
            self.owed_off = Some(format!(
                "order {} owes {refunded} in refunds, its refunds-payable account {}",
                order.id,
                Fen::new(-payable.fen())
            ));
        }
        if self.illegal.is_none() {
            self.illegal =
                order_state_fault(order, refunded).map(|why| format!("order {}: {why}", order.id));
        }
        if self.overpaid.is_none() && refunded > order.paid_amount() {
            self.overpaid = Some(format!(
                "order {} refunded {refunded} of {} paid",
                order.id,
                order.paid_amount()
            ));
        }
        Ok(())
    }

    /// After every order was read: the escrow and refunds-payable accounts in all against
    /// what the orders hold and owe; a difference is named by the first account of no order.
    async fn compare_totals(&mut self, state: &AppState) -> Result<(), Problem> {
        let totals = state.store.balances_by_kind().await?;
        let total = |kind| {
            totals
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(0, |(_, b)| -i128::from(b.fen()))
        };
        for (kind, expected) in [
            (AccountKind::BuyerEscrow, self.held),
            (AccountKind::RefundsPayable, self.owed),
        ] {
            if self.first_off(kind).is_some() || total(kind) == expected {
                continue;
            }
            let owners = state.store.owner_balances(kind).await?;
            let mut orphan = None;
            for chunk in owners.chunks(ORDER_PAGE) {
                let ids = chunk
                    .iter()
                    .filter_map(|(owner, _)| Uuid::parse_str(owner).ok())
                    .collect();
                let orders: BTreeSet<String> = state
                    .store
                    .aggregates_by_ids(crate::kernel::repo::orders::ORDER, ids)
                    .await?
                    .iter()
                    .map(|a| a.id.to_string())
                    .collect();
                orphan = chunk
                    .iter()
                    .find(|(owner, b)| *b != Fen::ZERO && !orders.contains(owner))
                    .map(|(owner, b)| (owner.clone(), *b));
                if orphan.is_some() {
                    break;
                }
            }
            let why = match orphan {
                Some((owner, b)) => format!(
                    "{} {owner} belongs to no order and holds {}",
                    kind.as_str(),
                    Fen::new(-b.fen())
                ),
                None => format!(
                    "{} accounts hold {} fen in all, the orders {expected}",
                    kind.as_str(),
                    total(kind)
                ),
            };
            *self.first_off(kind) = Some(why);
        }
        Ok(())
    }

    /// An order's accounts written after the mark whose owner is no order must be empty.
    async fn check_orphans(&mut self, state: &AppState) -> Result<(), Problem> {
        for (kind, owner) in std::mem::take(&mut self.orphans) {
            if self.first_off(kind).is_some() {
                continue;
            }
            let balance = state
                .store
                .balance(&Account::new(kind, owner.clone()))
                .await?;
            if balance != Fen::ZERO {
                *self.first_off(kind) = Some(format!(
                    "{} {owner} belongs to no order and holds {}",
                    kind.as_str(),
                    Fen::new(-balance.fen())
                ));
            }
        }
        Ok(())
    }

    /// The check an order's account of `kind` belongs to.
    fn first_off(&mut self, kind: AccountKind) -> &mut Option<String> {
        match kind {
            AccountKind::RefundsPayable => &mut self.owed_off,
            _ => &mut self.escrow_off,
        }
    }
}

/// How a count of orders reads: all of them, or those changed since the mark.
fn changed_note(after: Option<(i64, &str)>) -> &'static str {
    if after.is_some() { "changed " } else { "" }
}

/// The first provider still active with points at or above the expulsion threshold of the
/// rulebook in force today, if any.
async fn over_threshold(state: &AppState, now: Timestamp) -> Result<Option<String>, Problem> {
    let today = yunshi_core::time::beijing_date(now);
    let rulebook = crate::kernel::context::rulebook_at(state, now)?;
    let Some(cfg) = &rulebook.points else {
        return Ok(None);
    };
    for a in all_aggregates(&state.store, crate::kernel::repo::RECORD, None, None).await? {
        let record: ViolationRecord = serde_json::from_value(a.state)
            .map_err(|e| Problem::internal(format!("stored record does not read back: {e}")))?;
        let (_, points) = record.points_on(cfg, today).map_err(Problem::internal)?;
        if points < cfg.expulsion_threshold {
            continue;
        }
        let provider = load::<Provider>(
            &state.store,
            crate::kernel::repo::providers::PROVIDER,
            record.provider.uuid(),
        )
        .await?;
        if provider.is_some_and(|p| matches!(p.state.status, ProviderStatus::Active { .. })) {
            return Ok(Some(format!(
                "provider {} is active with {points} points (threshold {})",
                record.provider, cfg.expulsion_threshold
            )));
        }
    }
    Ok(None)
}

/// What is wrong with an order's state for its lifecycle: only a held order holds escrow,
/// and a refunded one gave back all it was paid.
fn order_state_fault(order: &Order, refunded: Fen) -> Option<String> {
    if order.status != OrderStatus::Held && order.escrow != Fen::ZERO {
        return Some(format!(
            "{:?} but holds {} in escrow",
            order.status, order.escrow
        ));
    }
    if order.status == OrderStatus::Refunded && refunded != order.paid_amount() {
        return Some(format!(
            "refunded, but {refunded} of {} went back",
            order.paid_amount()
        ));
    }
    None
}
