//! A provider's fee agreement (aggregate `fee_agreement`, keyed by the provider id): the
//! operator's fee the provider's orders are charged, the default until one is stored.

use yunshi_core::ids::ProviderId;
use yunshi_core::settlement::FeeAgreement;

use crate::kernel::pipeline::load;
use crate::kernel::problem::Problem;
use crate::kernel::repo::FEE_AGREEMENT;
use crate::kernel::state::AppState;

pub async fn load_fee_agreement(
    state: &AppState,
    pid: ProviderId,
) -> Result<(FeeAgreement, Option<i64>), Problem> {
    Ok(
        match load::<FeeAgreement>(&state.store, FEE_AGREEMENT, pid.uuid()).await? {
            Some(l) => (l.state, Some(l.version)),
            None => (FeeAgreement::default(), None),
        },
    )
}
