//! Authentication: which credential a request uses, the token handshake, and `login`'s check.

use super::credentials::{self, Credential};
use super::{Registry, RegistryError};
use crate::reference::{self, Reference};
use http::HeaderValue;
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
        if *cred != Credential::Anonymous && op == RegistryOperation::Pull {
            self.check_realm(r).await?;
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

    /// Refuses a token service that would receive the credentials in cleartext: oci-client
    /// sends them to whatever `realm` the registry's `WWW-Authenticate` challenge names, so a
    /// registry (or anyone in the path of a plain-HTTP one) could point it at an `http://`
    /// host elsewhere. Plain HTTP is accepted only to a loopback realm.
    async fn check_realm(&self, r: &Reference) -> Result<(), RegistryError> {
        let registry = r.registry();
        let scheme = if self.plain_http(registry) {
            "http"
        } else {
            "https"
        };
        let http = self.http_client(registry)?;
        // Any failure here is left to the real handshake, which reports it with retries.
        let Ok(response) = http
            .get(format!("{scheme}://{}/v2/", r.resolve_registry()))
            .send()
            .await
        else {
            return Ok(());
        };
        let Some(challenge) = response
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
        else {
            return Ok(());
        };
        // Only a Bearer challenge names a token service; a Basic one's realm is just a name.
        if !challenge
            .trim_start()
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
        {
            return Ok(());
        }
        let Some(realm) = challenge
            .split_once("realm=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(realm, _)| realm.to_string())
        else {
            return Ok(());
        };
        let url = reqwest::Url::parse(&realm).ok();
        let host = url
            .as_ref()
            .and_then(|u| u.host_str())
            .unwrap_or_default()
            .to_string();
        let cleartext = url.as_ref().is_none_or(|u| u.scheme() != "https");
        if cleartext && !reference::is_loopback(&host) {
            return Err(RegistryError::Other {
                registry: registry.to_string(),
                what: "authentication".into(),
                message: format!(
                    "its token service is `{realm}`, which is not HTTPS: the stored credentials \
                     would be sent there in cleartext, so they were not sent; fix the registry's \
                     auth configuration (token realm), or log out of it (`cargo wasme logout \
                     {registry}`) to pull anonymously"
                ),
            });
        }
        Ok(())
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

impl Registry {
    /// The `Authorization` header for requests to `target`'s registry: the Bearer token the
    /// token service issued, else Basic credentials, else none. A token or credential that
    /// cannot be a header value (a `\n` in it) is refused here, before any request carries it.
    pub(super) fn authorization(
        &self,
        target: &Reference,
        cred: &super::credentials::Credential,
        token: Option<&str>,
    ) -> Result<Option<HeaderValue>, RegistryError> {
        use super::credentials::Credential;
        use base64::Engine as _;
        let value = match (token, cred) {
            (Some(t), _) => format!("Bearer {t}"),
            (None, Credential::Token(t)) => format!("Bearer {t}"),
            (None, Credential::Basic { username, password }) => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            ),
            (None, Credential::Anonymous) => return Ok(None),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            super::auth::unusable_token(target.registry(), "the credentials for it")
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
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
