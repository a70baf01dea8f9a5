//! Authentication: which credential a request uses, the token handshake, and `login`'s check.

use super::credentials::{self, Credential};
use super::{Registry, RegistryError};
use crate::reference::{self, Reference};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};

impl Registry {
    /// The credential for `registry`: the one given in the options, else the stored one.
    pub(super) fn credential(&self, registry: &str) -> Result<Credential, RegistryError> {
        match &self.options.credential {
            Some(c) => Ok(c.clone()),
            None => Ok(credentials::lookup(registry)?),
        }
    }

    /// Runs the registry's auth handshake for `op`; `Some(token)` when a token service issued
    /// one.
    pub(super) async fn authenticate(
        &self,
        client: &Client,
        r: &Reference,
        whole: &str,
        cred: &Credential,
        op: RegistryOperation,
    ) -> Result<Option<String>, RegistryError> {
        let auth: RegistryAuth = cred.clone().into();
        let name = if op == RegistryOperation::Push {
            "push"
        } else {
            "pull"
        };
        let ctx = self.ctx(r, whole, format!("authentication for {name}"), name, cred);
        self.retry(&ctx, || client.auth(r, &auth, op)).await
    }

    /// Checks that `credential` is accepted by `registry` (a host): the token service must
    /// issue a token, or an authenticated request must not be refused.
    pub async fn verify_login(
        &self,
        registry: &str,
        credential: &Credential,
    ) -> Result<(), RegistryError> {
        let probe_text = format!("{registry}/wasme-login-check:latest");
        let probe = reference::parse(&probe_text)?;
        let whole = probe.whole();
        let client = self.client(probe.registry());
        if self
            .authenticate(&client, &probe, &whole, credential, RegistryOperation::Pull)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let zero = format!("sha256:{}", "0".repeat(64));
        let ctx = self.ctx(
            &probe,
            &whole,
            "checking the credentials".into(),
            "pull",
            credential,
        );
        match self.retry(&ctx, || client.blob_exists(&probe, &zero)).await {
            Ok(_) | Err(RegistryError::NotFound { .. }) | Err(RegistryError::Forbidden { .. }) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
