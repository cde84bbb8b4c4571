//! The simulation's randomness: every draw is a pure function of the seed and the labels of
//! what is being decided (the day, the order's number, the step), so a decision does not
//! depend on the order concurrent work happens to run in — the same seed gives the same
//! marketplace byte for byte.

/// Labels of the decisions, so two kinds of draw on the same numbers differ.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Topic {
    JoinDay = 1,
    MoreMaterial,
    Rejected,
    Products,
    Category,
    Price,
    Flagged,
    Orders,
    Buyer,
    Product,
    Refund,
    LateRefund,
    Complaint,
    Answered,
    Case,
    CaseCode,
    CaseAccepted,
    TopUp,
    Fault,
    FaultKind,
    Renew,
    Invoice,
    Exit,
    EndpointDown,
}

#[derive(Debug, Clone, Copy)]
pub struct Draw {
    seed: u64,
}

/// SplitMix64's finaliser: a bijective mix with full avalanche.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Draw {
    pub fn new(seed: u64) -> Self {
        Draw { seed }
    }

    /// A uniform 64-bit value for `topic` and `labels`.
    pub fn bits(&self, topic: Topic, labels: &[u64]) -> u64 {
        let mut h = mix(self.seed ^ mix(topic as u64));
        for &l in labels {
            h = mix(h ^ l.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        h
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&self, topic: Topic, labels: &[u64], n: u64) -> u64 {
        // Multiply-shift: unbiased enough for n far below 2^64.
        ((u128::from(self.bits(topic, labels)) * u128::from(n.max(1))) >> 64) as u64
    }

    /// True with probability `per_mille`/1000.
    pub fn chance(&self, topic: Topic, labels: &[u64], per_mille: u64) -> bool {
        self.below(topic, labels, 1000) < per_mille
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_labels_draw_the_same_and_others_differ() {
        let a = Draw::new(7);
        assert_eq!(
            a.bits(Topic::Orders, &[1, 2]),
            a.bits(Topic::Orders, &[1, 2])
        );
        assert_ne!(
            a.bits(Topic::Orders, &[1, 2]),
            a.bits(Topic::Orders, &[2, 1])
        );
        assert_ne!(a.bits(Topic::Orders, &[1]), a.bits(Topic::Buyer, &[1]));
        assert_ne!(
            a.bits(Topic::Orders, &[1]),
            Draw::new(8).bits(Topic::Orders, &[1])
        );
    }

    #[test]
    fn chances_come_out_near_their_rate() {
        let d = Draw::new(42);
        let hits = (0..100_000)
            .filter(|&i| d.chance(Topic::Refund, &[i], 30))
            .count();
        assert!((2_700..3_300).contains(&hits), "{hits} of 100,000 at 3%");
        assert!((0..10_000).all(|i| d.below(Topic::Buyer, &[i], 7) < 7));
    }
}
