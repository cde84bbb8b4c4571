//! The double-entry ledger: the only truth about money.
//!
//! A posting is a signed amount on an account: debit positive, credit negative. A
//! transaction is two or more non-zero postings that sum to exactly zero; one that does not
//! is refused here, before it can reach storage. Postings are never changed: a mistake is
//! undone by a reversal, a new transaction that negates the original line by line.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money::{Fen, MoneyError};

/// What an account holds. The owner (an order, a provider, a buyer) is part of the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Money in the operator's collection account (asset).
    OperatorCash,
    /// Buyer payments held under escrow until the guarantee window ends (liability).
    BuyerEscrow,
    /// Owed to a provider, settleable (liability).
    ProviderPayable,
    /// The operator's platform fee income (revenue).
    PlatformFeeRevenue,
    /// Provider deposits held by the operator (liability).
    DepositsHeld,
    /// Penalties a provider owes that were not yet collected (asset).
    PenaltiesReceivable,
    /// Penalty income (revenue).
    PenaltyRevenue,
    /// Refunds owed to buyers and not yet paid out (liability).
    RefundsPayable,
    /// Provider debt carried forward to later settlements (asset).
    ProviderDebt,
    /// Settled in a provider's statement and not yet paid out: held, or a failed payout
    /// returned (liability).
    SettlementPayable,
    /// Payouts sent to the provider's account that the gateway has not confirmed (liability).
    PayoutsInTransit,
}

impl AccountKind {
    pub const ALL: [AccountKind; 11] = [
        AccountKind::OperatorCash,
        AccountKind::BuyerEscrow,
        AccountKind::ProviderPayable,
        AccountKind::PlatformFeeRevenue,
        AccountKind::DepositsHeld,
        AccountKind::PenaltiesReceivable,
        AccountKind::PenaltyRevenue,
        AccountKind::RefundsPayable,
        AccountKind::ProviderDebt,
        AccountKind::SettlementPayable,
        AccountKind::PayoutsInTransit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::OperatorCash => "operator_cash",
            AccountKind::BuyerEscrow => "buyer_escrow",
            AccountKind::ProviderPayable => "provider_payable",
            AccountKind::PlatformFeeRevenue => "platform_fee_revenue",
            AccountKind::DepositsHeld => "deposits_held",
            AccountKind::PenaltiesReceivable => "penalties_receivable",
            AccountKind::PenaltyRevenue => "penalty_revenue",
            AccountKind::RefundsPayable => "refunds_payable",
            AccountKind::ProviderDebt => "provider_debt",
            AccountKind::SettlementPayable => "settlement_payable",
            AccountKind::PayoutsInTransit => "payouts_in_transit",
        }
    }

    /// Whether the account's natural balance is a debit (assets) rather than a credit
    /// (liabilities and revenue). Used to show balances with the sign people expect.
    pub fn is_debit_normal(self) -> bool {
        matches!(
            self,
            AccountKind::OperatorCash
                | AccountKind::PenaltiesReceivable
                | AccountKind::ProviderDebt
        )
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountKind {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| LedgerError::UnknownAccountKind(s.to_string()))
    }
}

/// An account: a kind and, for per-party accounts, its owner ("" for the operator's own).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    pub kind: AccountKind,
    pub owner: String,
}

impl Account {
    pub fn new(kind: AccountKind, owner: impl Into<String>) -> Self {
        Self {
            kind,
            owner: owner.into(),
        }
    }

    /// An operator-wide account with no owner.
    pub fn operator(kind: AccountKind) -> Self {
        Self::new(kind, "")
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.owner.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}:{}", self.kind, self.owner)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account: Account,
    /// Debit positive, credit negative; never zero.
    pub amount: Fen,
}

impl Posting {
    pub fn debit(account: Account, amount: Fen) -> Self {
        Self { account, amount }
    }

    pub fn credit(account: Account, amount: Fen) -> Result<Self, MoneyError> {
        Ok(Self {
            account,
            amount: amount.checked_neg()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a transaction needs at least two postings, got {0}")]
    TooFewPostings(usize),
    #[error("posting {0} has a zero amount")]
    ZeroPosting(usize),
    #[error("postings do not balance: they sum to {0}")]
    Unbalanced(Fen),
    #[error("unknown account kind {0:?}")]
    UnknownAccountKind(String),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A balanced transaction. Every way to make one — [`LedgerTransaction::new`],
/// [`LedgerTransaction::reversal`], [`LedgerTransaction::restore`] and deserialisation —
/// checks the balance. (That a reversal negates its original is checked by the store, which
/// holds the original.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedTransaction")]
pub struct LedgerTransaction {
    id: Uuid,
    /// What happened, e.g. `order_paid`, `escrow_released`, `refund`.
    kind: String,
    /// The business object it belongs to, e.g. an order id.
    reference: String,
    reverses: Option<Uuid>,
    at: Timestamp,
    postings: Vec<Posting>,
}

impl LedgerTransaction {
    pub fn new(
        id: Uuid,
        kind: impl Into<String>,
        reference: impl Into<String>,
        at: Timestamp,
        postings: Vec<Posting>,
    ) -> Result<Self, LedgerError> {
        check_balanced(&postings)?;
        Ok(Self {
            id,
            kind: kind.into(),
            reference: reference.into(),
            reverses: None,
            at,
            postings,
        })
    }

    /// Rebuilds a transaction read back from storage, re-checking that it balances. Only the
    /// store should name `reverses` here; it checks the lines mirror the original.
    pub fn restore(
        id: Uuid,
        kind: String,
        reference: String,
        reverses: Option<Uuid>,
        at: Timestamp,
        postings: Vec<Posting>,
    ) -> Result<Self, LedgerError> {
        check_balanced(&postings)?;
        Ok(Self {
            id,
            kind,
            reference,
            reverses,
            at,
            postings,
        })
    }

    /// The transaction that undoes this one exactly: each posting negated.
    pub fn reversal(&self, id: Uuid, at: Timestamp) -> Result<Self, LedgerError> {
        let postings = self
            .postings
            .iter()
            .map(|p| {
                Ok(Posting {
                    account: p.account.clone(),
                    amount: p.amount.checked_neg()?,
                })
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        Ok(Self {
            id,
            kind: format!("reversal:{}", self.kind),
            reference: self.reference.clone(),
            reverses: Some(self.id),
            at,
            postings,
        })
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn kind(&self) -> &str {
        &self.kind
    }
    pub fn reference(&self) -> &str {
        &self.reference
    }
    pub fn reverses(&self) -> Option<Uuid> {
        self.reverses
    }
    pub fn at(&self) -> Timestamp {
        self.at
    }
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

/// The wire shape of a transaction, before its balance is checked.
#[derive(Deserialize)]
struct UncheckedTransaction {
    id: Uuid,
    kind: String,
    reference: String,
    reverses: Option<Uuid>,
    at: Timestamp,
    postings: Vec<Posting>,
}

impl TryFrom<UncheckedTransaction> for LedgerTransaction {
    type Error = LedgerError;
    fn try_from(t: UncheckedTransaction) -> Result<Self, Self::Error> {
        Self::restore(t.id, t.kind, t.reference, t.reverses, t.at, t.postings)
    }
}

fn check_balanced(postings: &[Posting]) -> Result<(), LedgerError> {
    if postings.len() < 2 {
        return Err(LedgerError::TooFewPostings(postings.len()));
    }
    if let Some(i) = postings.iter().position(|p| p.amount.is_zero()) {
        return Err(LedgerError::ZeroPosting(i));
    }
    // Sum in i128 so that a huge debit and credit that cancel are not called overflow.
    let sum: i128 = postings.iter().map(|p| i128::from(p.amount.fen())).sum();
    if sum != 0 {
        let shown = i64::try_from(sum)
            .map(Fen::new)
            .unwrap_or(Fen::new(i64::MAX));
        return Err(LedgerError::Unbalanced(shown));
    }
    Ok(())
}

/// Balances by account, kept in memory: the in-process ledger used by the simulator, the
/// benchmarks and the invariant checker's recomputation.
#[derive(Debug, Clone, Default)]
pub struct Balances {
    by_account: HashMap<Account, Fen>,
}

impl Balances {
    /// Applies a transaction; on overflow nothing is applied.
    pub fn apply(&mut self, tx: &LedgerTransaction) -> Result<(), LedgerError> {
        let mut updated = Vec::with_capacity(tx.postings.len());
        for p in &tx.postings {
            let current = updated
                .iter()
                .rev()
                .find(|(a, _): &&(&Account, Fen)| *a == &p.account)
                .map(|(_, b)| *b)
                .unwrap_or_else(|| self.balance(&p.account));
            updated.push((&p.account, current.checked_add(p.amount)?));
        }
        for (account, balance) in updated {
            self.by_account.insert(account.clone(), balance);
        }
        Ok(())
    }

    pub fn balance(&self, account: &Account) -> Fen {
        self.by_account.get(account).copied().unwrap_or(Fen::ZERO)
    }

    /// Sum of every account: zero in a sound ledger.
    pub fn trial_balance(&self) -> i128 {
        self.by_account.values().map(|b| i128::from(b.fen())).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Account, Fen)> {
        self.by_account.iter().map(|(a, b)| (a, *b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at() -> Timestamp {
        "2026-03-01T00:00:00Z".parse().unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn pay(order: &str, amount: i64) -> Vec<Posting> {
        vec![
            Posting::debit(
                Account::operator(AccountKind::OperatorCash),
                Fen::new(amount),
            ),
            Posting::credit(
                Account::new(AccountKind::BuyerEscrow, order),
                Fen::new(amount),
            )
            .unwrap(),
        ]
    }

    #[test]
    fn unbalanced_transaction_is_rejected_before_storage() {
        let mut postings = pay("o1", 10_000);
        postings[1].amount = Fen::new(-9_999);
        assert_eq!(
            LedgerTransaction::new(id(1), "order_paid", "o1", at(), postings),
            Err(LedgerError::Unbalanced(Fen::new(1)))
        );
    }

    #[test]
    fn deserialising_an_unbalanced_transaction_fails() {
        let mut tx = serde_json::to_value(
            LedgerTransaction::new(id(1), "order_paid", "o1", at(), pay("o1", 100)).unwrap(),
        )
        .unwrap();
        tx["postings"][0]["amount"] = serde_json::json!("2.00");
        let err = serde_json::from_value::<LedgerTransaction>(tx).unwrap_err();
        assert!(err.to_string().contains("do not balance"), "{err}");
    }

    #[test]
    fn transaction_needs_two_non_zero_postings() {
        let one = vec![Posting::debit(
            Account::operator(AccountKind::OperatorCash),
            Fen::new(1),
        )];
        assert_eq!(
            LedgerTransaction::new(id(1), "x", "r", at(), one),
            Err(LedgerError::TooFewPostings(1))
        );
        let zero = vec![
            Posting::debit(Account::operator(AccountKind::OperatorCash), Fen::ZERO),
            Posting::debit(Account::operator(AccountKind::BuyerEscrow), Fen::ZERO),
        ];
        assert_eq!(
            LedgerTransaction::new(id(1), "x", "r", at(), zero),
            Err(LedgerError::ZeroPosting(0))
        );
    }

    #[test]
    fn escrow_release_splits_into_payable_and_fee() {
        let mut book = Balances::default();
        let paid =
            LedgerTransaction::new(id(1), "order_paid", "o1", at(), pay("o1", 10_000)).unwrap();
        let release = LedgerTransaction::new(
            id(2),
            "escrow_released",
            "o1",
            at(),
            vec![
                Posting::debit(
                    Account::new(AccountKind::BuyerEscrow, "o1"),
                    Fen::new(10_000),
                ),
                Posting::credit(
                    Account::new(AccountKind::ProviderPayable, "p1"),
                    Fen::new(9_000),
                )
                .unwrap(),
                Posting::credit(
                    Account::operator(AccountKind::PlatformFeeRevenue),
                    Fen::new(1_000),
                )
                .unwrap(),
            ],
        )
        .unwrap();
        book.apply(&paid).unwrap();
        book.apply(&release).unwrap();
        assert_eq!(
            book.balance(&Account::new(AccountKind::BuyerEscrow, "o1")),
            Fen::ZERO
        );
        assert_eq!(
            book.balance(&Account::new(AccountKind::ProviderPayable, "p1")),
            Fen::new(-9_000)
        );
        assert_eq!(book.trial_balance(), 0);
    }

    #[test]
    fn reversal_by_reference_restores_every_balance() {
        let mut book = Balances::default();
        let paid =
            LedgerTransaction::new(id(1), "order_paid", "o1", at(), pay("o1", 12_345)).unwrap();
        book.apply(&paid).unwrap();
        let undo = paid.reversal(id(2), at()).unwrap();
        assert_eq!(undo.reverses(), Some(id(1)));
        assert_eq!(undo.kind(), "reversal:order_paid");
        book.apply(&undo).unwrap();
        assert!(book.iter().all(|(_, b)| b.is_zero()));
    }

    #[test]
    fn overflowing_apply_changes_nothing() {
        let mut book = Balances::default();
        let big = LedgerTransaction::new(id(1), "x", "r", at(), pay("o1", i64::MAX)).unwrap();
        book.apply(&big).unwrap();
        let before = book.balance(&Account::operator(AccountKind::OperatorCash));
        assert!(book.apply(&big).is_err());
        assert_eq!(
            book.balance(&Account::operator(AccountKind::OperatorCash)),
            before
        );
        assert_eq!(
            book.balance(&Account::new(AccountKind::BuyerEscrow, "o1")),
            Fen::new(-i64::MAX)
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Pay { order: u8, amount: i64 },
        Release { order: u8, fee_bp: u16 },
        Refund { order: u8, amount: i64 },
        Reverse { which: usize },
        Unbalanced { order: u8, amount: i64, skew: i64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..8, 1i64..10_000_000).prop_map(|(order, amount)| Op::Pay { order, amount }),
            (0u8..8, 0u16..=10_000).prop_map(|(order, fee_bp)| Op::Release { order, fee_bp }),
            (0u8..8, 1i64..10_000_000).prop_map(|(order, amount)| Op::Refund { order, amount }),
            (0usize..64).prop_map(|which| Op::Reverse { which }),
            (0u8..8, 1i64..1_000, 1i64..100).prop_map(|(order, amount, skew)| Op::Unbalanced {
                order,
                amount,
                skew
            }),
        ]
    }

    proptest! {
        #[test]
        fn any_sequence_of_operations_keeps_the_trial_balance_at_zero(ops in proptest::collection::vec(op(), 1..80)) {
            let mut book = Balances::default();
            let mut applied: Vec<LedgerTransaction> = Vec::new();
            let mut cash_in: i128 = 0;
            let mut next = 1u128;
            let mut reversed = std::collections::HashSet::new();
            for op in ops {
                let escrow = |o: u8| Account::new(AccountKind::BuyerEscrow, format!("o{o}"));
                let tx = match op {
                    Op::Pay { order, amount } => {
                        cash_in += i128::from(amount);
                        LedgerTransaction::new(id(next), "order_paid", "", at(), pay(&format!("o{order}"), amount))
                    }
                    Op::Release { order, fee_bp } => {
                        let held = -book.balance(&escrow(order)).fen();
                        if held <= 0 { continue; }
                        let fee = held * i64::from(fee_bp) / 10_000;
                        let mut postings = vec![
                            Posting::debit(escrow(order), Fen::new(held)),
                            Posting::credit(Account::new(AccountKind::ProviderPayable, "p"), Fen::new(held - fee)).unwrap(),
                        ];
                        if fee > 0 {
                            postings.push(Posting::credit(Account::operator(AccountKind::PlatformFeeRevenue), Fen::new(fee)).unwrap());
                        }
                        if held - fee == 0 { postings.remove(1); }
                        LedgerTransaction::new(id(next), "escrow_released", "", at(), postings)
                    }
                    Op::Refund { order, amount } => {
                        let held = -book.balance(&escrow(order)).fen();
                        let amount = amount.min(held);
                        if amount <= 0 { continue; }
                        LedgerTransaction::new(id(next), "refund", "", at(), vec![
                            Posting::debit(escrow(order), Fen::new(amount)),
                            Posting::credit(Account::operator(AccountKind::RefundsPayable), Fen::new(amount)).unwrap(),
                        ])
                    }
                    Op::Reverse { which } => {
                        // Only an original not yet reversed can be reversed (the store enforces it).
                        if applied.is_empty() { continue; }
                        let original = applied[which % applied.len()].clone();
                        if original.reverses().is_some() || !reversed.insert(original.id()) { continue; }
                        if original.kind() == "order_paid" {
                            cash_in -= original.postings().iter().map(|p| i128::from(p.amount.fen().max(0))).sum::<i128>();
                        }
                        original.reversal(id(next), at())
                    }
                    Op::Unbalanced { order, amount, skew } => {
                        let mut postings = pay(&format!("o{order}"), amount);
                        postings[0].amount = Fen::new(amount + skew);
                        let rejected = LedgerTransaction::new(id(next), "bad", "", at(), postings);
                        prop_assert!(matches!(rejected, Err(LedgerError::Unbalanced(_))));
                        continue;
                    }
                };
                next += 1;
                let tx = tx.unwrap();
                book.apply(&tx).unwrap();
                applied.push(tx);
                prop_assert_eq!(book.trial_balance(), 0);
            }
            // No fen created or lost: the operator's cash is exactly what buyers paid in, and
            // every fen of it sits in escrow, payables, fees or refunds.
            let cash = i128::from(book.balance(&Account::operator(AccountKind::OperatorCash)).fen());
            prop_assert_eq!(cash, cash_in);
            let owed: i128 = book.iter().filter(|(a, _)| a.kind != AccountKind::OperatorCash).map(|(_, b)| i128::from(b.fen())).sum();
            prop_assert_eq!(owed, -cash_in);
        }
    }
}
