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
        if op == RegistryOperation::Push {
            // oci-client asks for a pull token on its own for the pull-type requests of a push
            // (blob checks); get and check that one now, before any request carries it.
            Box::pin(self.authenticate(client, r, whole, cred, RegistryOperation::Pull)).await?;
        }
        let ctx = self.ctx(r, whole, format!("authentication for {name}"), name, cred);
        let token = self.retry(&ctx, || client.auth(r, &auth, op)).await?;
        // oci-client turns a token into an `Authorization` header with `unwrap`, so a token
        // server answering a token with a `\n` (or any byte a header cannot hold) would make
        // it panic on the next request: refuse such a token here, before it is used.
        if let Some(t) = &token
            && http::HeaderValue::from_str(&format!("Bearer {t}")).is_err()
        {
            return Err(unusable_token(
                r.registry(),
                "the token its token service issued",
            ));
        }
        if let Credential::Token(t) = cred
            && http::HeaderValue::from_str(&format!("Bearer {t}")).is_err()
        {
            return Err(unusable_token(r.registry(), "the stored identity token"));
        }
        Ok(token)
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

/// The error for a token or credential that cannot travel in an HTTP header.
pub(super) fn unusable_token(registry: &str, what: &str) -> RegistryError {
    RegistryError::Other {
        registry: registry.to_string(),
        what: "authentication".into(),
        message: format!(
            "{what} contains characters an HTTP header cannot carry (a line break or control \
             character); refusing to use it: the token service is misbehaving, or the stored \
             credentials are damaged (`cargo wasme login {registry}` replaces them)"
        ),
    }
}
