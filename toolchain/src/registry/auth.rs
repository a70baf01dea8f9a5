//! Authentication, in one place: which credential a registry gets, the token handshake, the
//! one function that builds the `Authorization` header ([`authorization`]), and the
//! [`Session`] every request to a registry goes through (pull, push, digest lookups, `login`'s
//! check). Failures are [`AuthError`]s.

use super::credentials::{self, Credential};
use super::error::{CredentialSource, Ctx, RegistryError};
use super::options::RegistryOptions;
use super::retry::{self, RetryPolicy};
use crate::reference::{self, Reference};
use http::HeaderValue;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use std::future::Future;
use std::time::Duration;

/// Why a registry's authentication was refused before any credential was sent.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A token or credential that cannot travel in an HTTP header (a line break in it).
    #[error(
        "{registry} authentication: {what} contains characters an HTTP header cannot carry (a \
         line break or control character); refusing to use it: the token service is \
         misbehaving, or the stored credentials are damaged (`cargo wasme login {registry}` \
         replaces them)"
    )]
    UnusableToken {
        /// The registry host.
        registry: String,
        /// Which token or credential.
        what: &'static str,
    },
    /// The registry's token service would receive the credentials in cleartext.
    #[error(
        "{registry} authentication: its token service is `{realm}`, which is not HTTPS: the \
         stored credentials would be sent there in cleartext, so they were not sent; fix the \
         registry's auth configuration (token realm), or log out of it (`cargo wasme logout \
         {registry}`) to pull anonymously"
    )]
    CleartextRealm {
        /// The registry host.
        registry: String,
        /// The token service's URL as the registry named it.
        realm: String,
    },
    /// The HTTP client could not be set up.
    #[error("{registry} setting up the HTTP client: {message}")]
    Client {
        /// The registry host.
        registry: String,
        /// The underlying error.
        message: String,
    },
}

impl AuthError {
    /// The registry host and the step (`authentication`) the error is reported under.
    fn place(&self) -> (&str, &'static str) {
        match self {
            AuthError::UnusableToken { registry, .. }
            | AuthError::CleartextRealm { registry, .. } => (registry, "authentication"),
            AuthError::Client { registry, .. } => (registry, "setting up the HTTP client"),
        }
    }
}

/// A registry operation reports an authentication refusal as its own failure (the same
/// message: `{registry} {step}: {why}`), so the CLI prints it once with the registry named.
impl From<AuthError> for RegistryError {
    fn from(e: AuthError) -> Self {
        let (registry, what) = e.place();
        let prefix = format!("{registry} {what}: ");
        let text = e.to_string();
        RegistryError::Other {
            registry: registry.to_string(),
            what: what.to_string(),
            message: text.strip_prefix(&prefix).unwrap_or(&text).to_string(),
        }
    }
}

/// The `Authorization` header for requests to `registry`: the Bearer `token` a token service
/// issued, else the credential's own (Basic user and password, Bearer identity token), else
/// none. A value that cannot be a header (a `\n` in it) is refused here, before any request
/// carries it. The value is marked sensitive, so it never shows in debug output.
pub fn authorization(
    registry: &str,
    credential: &Credential,
    token: Option<&str>,
) -> Result<Option<HeaderValue>, AuthError> {
    use base64::Engine as _;
    let (value, what) = match (token, credential) {
        (Some(t), _) => (format!("Bearer {t}"), "the token its token service issued"),
        (None, Credential::Token(t)) => (format!("Bearer {t}"), "the stored identity token"),
        (None, Credential::Basic { username, password }) => (
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            ),
            "the credentials for it",
        ),
        (None, Credential::Anonymous) => return Ok(None),
    };
    let mut value = HeaderValue::from_str(&value).map_err(|_| AuthError::UnusableToken {
        registry: registry.to_string(),
        what,
    })?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// The credential for `registry`: the one given in the options, else the stored one.
pub(super) fn credential(
    options: &RegistryOptions,
    registry: &str,
) -> Result<Credential, RegistryError> {
    match &options.credential {
        Some(c) => Ok(c.clone()),
        None => Ok(credentials::lookup(registry)?),
    }
}

/// Whether requests to `registry` use plain HTTP (asked for, or a loopback registry).
pub(super) fn plain_http(options: &RegistryOptions, registry: &str) -> bool {
    options.plain_http || reference::is_loopback(registry)
}

/// The retry policy the options ask for.
pub(super) fn policy(options: &RegistryOptions) -> RetryPolicy {
    RetryPolicy {
        attempts: options.attempts,
        backoff: options.backoff,
    }
}

/// An HTTP client with the options' TLS choice, connect timeout, read timeout and user agent.
pub(super) fn http_client(
    options: &RegistryOptions,
    registry: &str,
    read_timeout: Duration,
) -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(options.insecure)
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(read_timeout)
        .user_agent(concat!("cargo-wasme/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AuthError::Client {
            registry: registry.to_string(),
            message: e.to_string(),
        })
}

/// The `oci-client` client for `registry` (used for the token handshake and digest lookups).
fn oci_client(options: &RegistryOptions, registry: &str) -> Client {
    let protocol = if plain_http(options, registry) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        accept_invalid_certificates: options.insecure,
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(options.read_timeout),
        user_agent: concat!("cargo-wasme/", env!("CARGO_PKG_VERSION")),
        ..Default::default()
    })
}

/// One repository of one registry, authenticated for pull or push: what every request to it
/// goes through.
pub(super) struct Session {
    options: RegistryOptions,
    target: Reference,
    whole: String,
    credential: Credential,
    /// The header requests to the registry carry.
    authorization: Option<HeaderValue>,
    /// `http://host:port` or `https://host`.
    base: String,
    /// For `oci-client`'s own requests (digest lookups).
    oci: Client,
    http: reqwest::Client,
}

/// `pull` or `push`, for the handshake's scope and for messages.
fn op_name(op: RegistryOperation) -> &'static str {
    if op == RegistryOperation::Push {
        "push"
    } else {
        "pull"
    }
}

impl Session {
    /// Looks up the credential for `target`'s registry and runs the auth handshake for `op`.
    pub(super) async fn open(
        options: &RegistryOptions,
        target: Reference,
        op: RegistryOperation,
    ) -> Result<Session, RegistryError> {
        let credential = credential(options, target.resolve_registry())?;
        Session::open_with(options, target, credential, op).await
    }

    /// [`Session::open`] with `credential` instead of the one looked up.
    pub(super) async fn open_with(
        options: &RegistryOptions,
        target: Reference,
        credential: Credential,
        op: RegistryOperation,
    ) -> Result<Session, RegistryError> {
        let registry = target.registry().to_string();
        let mut session = Session::unchecked(options, target, credential)?;
        let token = session.authenticate(op).await?;
        session.authorization = authorization(&registry, &session.credential, token.as_deref())?;
        Ok(session)
    }

    /// A session that has not run the handshake (it sends no `Authorization` header).
    pub(super) fn unchecked(
        options: &RegistryOptions,
        target: Reference,
        credential: Credential,
    ) -> Result<Session, RegistryError> {
        let registry = target.registry();
        let scheme = if plain_http(options, registry) {
            "http"
        } else {
            "https"
        };
        Ok(Session {
            options: options.clone(),
            whole: target.whole(),
            base: format!("{scheme}://{}", target.resolve_registry()),
            oci: oci_client(options, registry),
            http: http_client(options, registry, options.read_timeout)?,
            target,
            credential,
            authorization: None,
        })
    }

    /// The options the session was opened with.
    pub(super) fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// The reference the session is for.
    pub(super) fn target(&self) -> &Reference {
        &self.target
    }

    /// The normalised reference text.
    pub(super) fn whole(&self) -> &str {
        &self.whole
    }

    /// `http://host:port` or `https://host`.
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// `{base}/v2/{repository}`.
    pub(super) fn repository_url(&self) -> String {
        format!("{}/v2/{}", self.base, self.target.repository())
    }

    /// The retry policy.
    pub(super) fn policy(&self) -> RetryPolicy {
        policy(&self.options)
    }

    /// The `oci-client` client and the credential in its form.
    pub(super) fn oci(&self) -> (&Client, RegistryAuth) {
        (&self.oci, self.credential.clone().into())
    }

    /// The context errors are reported in: `what` is the step (`uploading blob …`), to which
    /// the operation and the reference are added.
    pub(super) fn ctx(&self, what: String, op: &'static str) -> Ctx<'_> {
        context(
            &self.options,
            &self.target,
            &self.whole,
            what,
            op,
            &self.credential,
        )
    }

    /// A request to `url` with the session's `Authorization` header.
    pub(super) fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.request_on(&self.http, method, url)
    }

    /// [`Session::request`] on another client (one with other timeouts).
    pub(super) fn request_on(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        url: &str,
    ) -> reqwest::RequestBuilder {
        let request = client.request(method, url);
        match &self.authorization {
            Some(value) => request.header(http::header::AUTHORIZATION, value.clone()),
            None => request,
        }
    }

    /// Runs the `oci-client` request `f` under the retry policy.
    pub(super) async fn retry<T, F, Fut>(&self, ctx: &Ctx<'_>, f: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
    {
        retry_oci(&self.options, ctx, f).await
    }

    /// Runs the registry's auth handshake for `op`; `Some(token)` when a token service issued
    /// one.
    async fn authenticate(&self, op: RegistryOperation) -> Result<Option<String>, RegistryError> {
        let auth: RegistryAuth = self.credential.clone().into();
        let name = op_name(op);
        if op == RegistryOperation::Push {
            // oci-client asks for a pull token on its own for the pull-type requests of a push
            // (blob checks); get and check that one now, before any request carries it.
            Box::pin(self.authenticate(RegistryOperation::Pull)).await?;
        }
        if self.credential != Credential::Anonymous && op == RegistryOperation::Pull {
            self.check_realm().await?;
        }
        let ctx = self.ctx(format!("authentication for {name}"), name);
        let token = self
            .retry(&ctx, || self.oci.auth(&self.target, &auth, op))
            .await?;
        // oci-client turns a token into an `Authorization` header with `unwrap`, so a token
        // server answering a token with a `\n` (or any byte a header cannot hold) would make
        // it panic on the next request: refuse such a token here, before it is used.
        authorization(
            self.target.registry(),
            &Credential::Anonymous,
            token.as_deref(),
        )?;
        if let Credential::Token(_) = &self.credential {
            authorization(self.target.registry(), &self.credential, None)?;
        }
        Ok(token)
    }

    /// Refuses a token service that would receive the credentials in cleartext: oci-client
    /// sends them to whatever `realm` the registry's `WWW-Authenticate` challenge names, so a
    /// registry (or anyone in the path of a plain-HTTP one) could point it at an `http://`
    /// host elsewhere. Plain HTTP is accepted only to a loopback realm.
    async fn check_realm(&self) -> Result<(), RegistryError> {
        let registry = self.target.registry();
        // Any failure here is left to the real handshake, which reports it with retries.
        let Ok(response) = self.http.get(format!("{}/v2/", self.base)).send().await else {
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
            return Err(AuthError::CleartextRealm {
                registry: registry.to_string(),
                realm,
            }
            .into());
        }
        Ok(())
    }
}

/// The error context for `r` (see [`Session::ctx`]).
fn context<'a>(
    options: &RegistryOptions,
    r: &'a Reference,
    whole: &'a str,
    what: String,
    op: &'static str,
    credential: &Credential,
) -> Ctx<'a> {
    let how = if *credential == Credential::Anonymous {
        CredentialSource::Anonymous
    } else if options.credential.is_some() {
        CredentialSource::Given
    } else {
        CredentialSource::Stored
    };
    Ctx {
        registry: r.registry(),
        reference: whole,
        what: format!("{what} ({op} {whole})"),
        op,
        how,
        plain_http: plain_http(options, r.registry()),
    }
}

/// Runs the `oci-client` request `f` under the options' retry policy.
async fn retry_oci<T, F, Fut>(
    options: &RegistryOptions,
    ctx: &Ctx<'_>,
    f: F,
) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
{
    policy(options)
        .run(
            ctx.registry,
            &ctx.what,
            retry::classify_oci,
            super::error::describe_oci,
            f,
        )
        .await
        .map_err(|(e, attempts)| ctx.map(e, attempts))
}

/// Checks that `credential` is accepted by `registry` (a host): the token service must issue
/// a token, or an authenticated request must not be refused.
pub(super) async fn verify_login(
    options: &RegistryOptions,
    registry: &str,
    credential: &Credential,
) -> Result<(), RegistryError> {
    let probe = reference::parse(&format!("{registry}/wasme-login-check:latest"))?;
    let session = Session::unchecked(options, probe, credential.clone())?;
    if session
        .authenticate(RegistryOperation::Pull)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let zero = format!("sha256:{}", "0".repeat(64));
    let ctx = session.ctx("checking the credentials".into(), "pull");
    match session
        .retry(&ctx, || session.oci.blob_exists(&session.target, &zero))
        .await
    {
        Ok(_) | Err(RegistryError::NotFound { .. }) | Err(RegistryError::Forbidden { .. }) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}
