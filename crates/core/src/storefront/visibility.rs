//! What the market shows of a store at an instant, derived from the measures on it. A
//! measure past its end no longer counts even before its lifting deadline is handled, so
//! reads never depend on the deadline worker being on time.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::store::{ClosureReason, Store};
use crate::rulebook::FreezeScope;

/// The store's standing, most severe first when several measures overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StoreState {
    Closed {
        at: Timestamp,
        reason: ClosureReason,
    },
    ClosedForDeposit {
        since: Timestamp,
    },
    Hidden {
        since: Timestamp,
    },
    Blocked {
        until: Timestamp,
    },
    Frozen {
        until: Timestamp,
        scope: FreezeScope,
    },
    Open,
}

impl StoreState {
    pub fn label(&self) -> &'static str {
        match self {
            StoreState::Closed { .. } => "closed",
            StoreState::ClosedForDeposit { .. } => "closed_for_deposit",
            StoreState::Hidden { .. } => "hidden",
            StoreState::Blocked { .. } => "blocked",
            StoreState::Frozen { .. } => "frozen",
            StoreState::Open => "open",
        }
    }
}

/// What buyers and the provider may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visibility {
    /// The store page is shown.
    pub store_shown: bool,
    /// Its products are shown (listed, searchable, purchasable). Buyers who already bought
    /// keep their service whatever this says (ALI-R art.24(2), JD art.20(2)).
    pub products_shown: bool,
    /// The provider may publish new products.
    pub may_publish: bool,
}

impl Visibility {
    const ALL: Visibility = Visibility {
        store_shown: true,
        products_shown: true,
        may_publish: true,
    };
    const NOTHING: Visibility = Visibility {
        store_shown: false,
        products_shown: false,
        may_publish: false,
    };

    fn and(self, other: Visibility) -> Visibility {
        Visibility {
            store_shown: self.store_shown && other.store_shown,
            products_shown: self.products_shown && other.products_shown,
            may_publish: self.may_publish && other.may_publish,
        }
    }
}

impl Store {
    /// The standing at `at`; with `None`, every measure on record counts whatever its end.
    fn standing(&self, at: Option<Timestamp>) -> StoreState {
        let live = |m: &super::Measure| at.is_none_or(|t| m.in_force_at(t));
        if let Some(c) = self.closed {
            return StoreState::Closed {
                at: c.at,
                reason: c.reason,
            };
        }
        if let Some(since) = self.deposit_closure {
            return StoreState::ClosedForDeposit { since };
        }
        if let Some(h) = &self.hidden {
            return StoreState::Hidden { since: h.since };
        }
        if let Some(b) = self.block.as_ref().filter(|b| live(&b.measure)) {
            return StoreState::Blocked {
                until: b.measure.until,
            };
        }
        if let Some(f) = self.freeze.as_ref().filter(|f| live(&f.measure)) {
            return StoreState::Frozen {
                until: f.measure.until,
                scope: f.scope,
            };
        }
        StoreState::Open
    }

    pub fn state(&self, at: Timestamp) -> StoreState {
        self.standing(Some(at))
    }

    /// For the stored status column.
    pub fn status_label(&self, at: Timestamp) -> &'static str {
        self.state(at).label()
    }

    /// The label for refusals, where no instant is at hand.
    pub(crate) fn standing_label(&self) -> &'static str {
        self.standing(None).label()
    }

    /// Every measure in force at `at`, combined.
    pub fn visibility(&self, at: Timestamp) -> Visibility {
        // Closure, closure for deposit ("关闭…所有展示权限包括店铺", ALI-R art.13(7)3),
        // hiding (ALI-A 3.8.4: hide the store, delist products) and TC's block (店铺屏蔽、
        // 限制发布产品) take everything. The store's products are not shown in a blocked store
        // — **[design assumption]**: TC names the store only.
        let mut v = Visibility::ALL;
        let blocked = self
            .block
            .as_ref()
            .is_some_and(|b| b.measure.in_force_at(at));
        if self.closed.is_some()
            || self.deposit_closure.is_some()
            || self.hidden.is_some()
            || blocked
        {
            v = v.and(Visibility::NOTHING);
        }
        // A freeze takes display only (ALI-R art.24(2), JD art.20(2)): ALI the store and its
        // products, JD the products and not the store.
        if let Some(f) = self.freeze.as_ref().filter(|f| f.measure.in_force_at(at)) {
            v = v.and(Visibility {
                store_shown: f.scope == FreezeScope::ProductsOnly,
                products_shown: false,
                may_publish: true,
            });
        }
        v
    }
}
