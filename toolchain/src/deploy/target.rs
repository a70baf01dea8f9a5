//! One entry point for every target: a FilterDeployment's `spec.deployment.target` picks the
//! generator (Istio in [`super::generate`], Envoy Gateway and Higress in [`super::gateways`]).
//! It sits above both so neither imports the other.

use super::DeployError;
use super::filter_deployment::{FilterDeployment, Target};
use super::generate::Generated;
use super::resolve::ResolvedImage;

/// The resources of `fd`'s target for `image` (already pinned).
pub fn generate(fd: &FilterDeployment, image: &ResolvedImage) -> Result<Generated, DeployError> {
    match fd.spec.deployment.target.unwrap_or_default() {
        Target::Istio => super::generate::generate(fd, image),
        Target::EnvoyGateway => super::gateways::envoy_gateway(fd, image),
        Target::Higress => super::gateways::higress(fd, image),
    }
}
