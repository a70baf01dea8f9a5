//! Authentication, in one place: which credential a registry gets, the token handshake, the
//! one function that builds the `Authorization` header ([`authorization`]), and the
//! [`Session`] every request to a registry goes through (pull, push, digest lookups, `login`'s
//! check). Failures are [`AuthError`]s.
//!
//! # Where credentials go
//!
//! Credentials are stored for a registry host; the registry's *origin* is its scheme, host
//! and port. [`Session::send`] is the one place that decides, request by request:
//!
//! - The `Authorization` header goes only to the registry's own origin, and only over TLS or
//!   to a loopback host. A stored credential for a registry reached over plain HTTP on
//!   another machine is refused before anything is sent ([`AuthError::CleartextRegistry`]).
//! - Any other origin — an upload `Location`, a redirect (to a CDN, to `http://` on the same
//!   host and port) — gets the request without credentials, as docker's distribution client
//!   does (it keeps authorisation per host and follows `Location`s to other hosts without
//!   it). That keeps storage back-ends with signed URLs working; a foreign origin that asks
//!   for credentials gets none, and the error says so.
//! - Redirects are followed here (reqwest's own redirect following is off), so every hop
//!   passes the same check: reqwest keeps `Authorization` on a redirect that changes only
//!   the scheme, which would send it in cleartext.
//! - A token service (the `realm` of a `Bearer` challenge) receives the credentials, as in
//!   docker and containerd: the registry delegates its authentication there, often on another
//!   host (`auth.docker.io` for Docker Hub). It must be HTTPS with a verified certificate;
//!   plain HTTP is accepted only when both the registry and the realm are on loopback, and a
//!   registry on another machine naming a loopback realm is refused whatever the credentials.
//!   Docker and containerd send Basic credentials to any realm a registry names, over any
//!   scheme, with the registry's TLS settings; this is stricter on purpose.
//! - `--insecure` (accept an invalid certificate) applies to the registry's host only: its
//!   token service or a redirect on another host is always verified.
//!
//! `wasme` does no cross-repository mounts (`POST …/uploads/?mount=`); were they added, they
//! would be requests to the registry's origin through [`Session::send`] like any other.

use super::credentials::{self, Credential};
use super::error::{CredentialSource, Ctx, RegistryError};
use super::options::RegistryOptions;
use super::retry::{self, RetryPolicy};
use crate::reference::{self, Reference};
use http::HeaderValue;
use oci_client::errors::OciDistributionError;
use reqwest::{Method, RequestBuilder, Response, Url};
use std::future::Future;
use std::time::Duration;

/// The most redirects one request follows (as reqwest's and Go's default).
const MAX_REDIRECTS: usize = 10;

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
    /// A registry on another machine named a token service on this one.
    #[error(
        "{registry} authentication: its token service is `{realm}`, on this machine, while the \
         registry is not: a remote registry cannot direct requests (and credentials) to local \
         services, so nothing was sent there"
    )]
    LoopbackRealm {
        /// The registry host.
        registry: String,
        /// The token service's URL as the registry named it.
        realm: String,
    },
    /// The token service's URL is not an `http(s)` URL.
    #[error("{registry} authentication: its token service `{realm}` is not an HTTP(S) URL")]
    BadRealm {
        /// The registry host.
        registry: String,
        /// The token service's URL as the registry named it.
        realm: String,
    },
    /// Credentials are stored for a registry reached over plain HTTP on another machine.
    #[error(
        "{registry} authentication: credentials are stored for it, and it is reached over plain \
         HTTP on another machine, where they would travel in cleartext, so nothing was sent; \
         use HTTPS (drop --plain-http / plainHttp), or log out of it (`cargo wasme logout \
         {registry}`) to use it anonymously"
    )]
    CleartextRegistry {
        /// The registry host.
        registry: String,
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
            | AuthError::CleartextRealm { registry, .. }
            | AuthError::LoopbackRealm { registry, .. }
            | AuthError::BadRealm { registry, .. }
            | AuthError::CleartextRegistry { registry } => (registry, "authentication"),
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

/// An origin (RFC 6454): scheme, host, port — what credentials are bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`, when it is an `http(s)` URL with a host.
    pub fn of(url: &Url) -> Option<Origin> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        Some(Origin {
            scheme: scheme.to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    /// Whether the host is this machine (`localhost`, `127.0.0.1`, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        reference::is_loopback(&self.host)
    }

    /// Whether credentials may travel to it: over TLS, or to a loopback host.
    pub fn is_protected(&self) -> bool {
        self.scheme == "https" || self.is_loopback()
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// An HTTP client with the given certificate policy, the options' timeouts and user agent,
/// and no redirect following of its own ([`Session::send`] follows them).
fn http_client(
    options: &RegistryOptions,
    registry: &str,
    accept_invalid_certs: bool,
) -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(accept_invalid_certs)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(options.read_timeout)
        .user_agent(concat!("cargo-wasme/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AuthError::Client {
            registry: registry.to_string(),
            message: e.to_string(),
        })
}

/// One repository of one registry, authenticated for pull or push: every request to it (and
/// to wherever it sends the client) goes through [`Session::send`].
pub(super) struct Session {
    options: RegistryOptions,
    target: Reference,
    whole: String,
    credential: Credential,
    /// The registry's origin, the only one that gets `authorization`.
    origin: Origin,
    /// The header requests to the registry's origin carry.
    authorization: Option<HeaderValue>,
    /// `http://host:port` or `https://host`.
    base: String,
    /// For the registry's host: honours `--insecure`.
    http: reqwest::Client,
    /// For every other host: certificates always verified.
    strict: reqwest::Client,
}

/// `pull` or `push`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operation {
    /// Read access.
    Pull,
    /// Read and write access.
    Push,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Pull => "pull",
            Operation::Push => "push",
        }
    }
}

impl Session {
    /// Looks up the credential for `target`'s registry and runs the auth handshake for `op`.
    pub(super) async fn open(
        options: &RegistryOptions,
        target: Reference,
        op: Operation,
    ) -> Result<Session, RegistryError> {
        let credential = credential(options, target.resolve_registry())?;
        Ok(Session::open_with(options, target, credential, op).await?.0)
    }

    /// [`Session::open`] with `credential` instead of the one looked up, and whether a token
    /// service issued a token.
    async fn open_with(
        options: &RegistryOptions,
        target: Reference,
        credential: Credential,
        op: Operation,
    ) -> Result<(Session, bool), RegistryError> {
        let mut session = Session::unchecked(options, target, credential)?;
        if session.credential != Credential::Anonymous && !session.origin.is_protected() {
            return Err(AuthError::CleartextRegistry {
                registry: session.target.registry().to_string(),
            }
            .into());
        }
        let token = session.authenticate(op).await?;
        session.authorization = authorization(
            session.target.registry(),
            &session.credential,
            token.as_deref(),
        )?;
        Ok((session, token.is_some()))
    }

    /// A session that has not run the handshake (it sends no `Authorization` header).
    fn unchecked(
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
        let base = format!("{scheme}://{}", target.resolve_registry());
        let origin = Url::parse(&base)
            .ok()
            .as_ref()
            .and_then(Origin::of)
            .ok_or_else(|| AuthError::Client {
                registry: registry.to_string(),
                message: format!("`{base}` is not a usable URL"),
            })?;
        let http = http_client(options, registry, options.insecure)?;
        // Without `--insecure` both clients verify certificates alike: one client (it shares
        // its pool), not a second load of the system's root certificates on every command.
        let strict = if options.insecure {
            http_client(options, registry, false)?
        } else {
            http.clone()
        };
        Ok(Session {
            http,
            strict,
            options: options.clone(),
            whole: target.whole(),
            origin,
            base,
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

    /// The context errors are reported in: `what` is the step (`uploading blob …`), to which
    /// the operation and the reference are added.
    pub(super) fn ctx(&self, what: String, op: &'static str) -> Ctx<'_> {
        let how = if self.credential == Credential::Anonymous {
            CredentialSource::Anonymous
        } else if self.options.credential.is_some() {
            CredentialSource::Given
        } else {
            CredentialSource::Stored
        };
        Ctx {
            registry: self.target.registry(),
            reference: &self.whole,
            what: format!("{what} ({op} {})", self.whole),
            op,
            how,
            plain_http: plain_http(&self.options, self.target.registry()),
        }
    }

    /// Whether `url` is on the registry's own origin (the one its credentials are for).
    pub(super) fn is_registry_origin(&self, url: &str) -> bool {
        Url::parse(url).ok().as_ref().and_then(Origin::of).as_ref() == Some(&self.origin)
    }

    /// The request for `url`, with the credentials only when the policy allows (the registry's
    /// own origin, over TLS or loopback) and certificate checks skipped only for the
    /// registry's host under `--insecure`. The one place the policy is applied.
    fn guarded(&self, method: Method, url: &Url) -> RequestBuilder {
        let origin = Origin::of(url);
        let own_host = origin.as_ref().is_some_and(|o| o.host == self.origin.host);
        let client = if own_host { &self.http } else { &self.strict };
        let request = client.request(method, url.clone());
        match &self.authorization {
            Some(value) if origin.as_ref() == Some(&self.origin) && self.origin.is_protected() => {
                request.header(http::header::AUTHORIZATION, value.clone())
            }
            _ => request,
        }
    }

    /// Sends `method url`, with `build` adding headers and body, following redirects itself
    /// (up to [`MAX_REDIRECTS`]) so each hop is [`Session::guarded`] afresh. `GET` and `HEAD`
    /// follow any redirect; other methods only `307`/`308` (which keep method and body);
    /// otherwise the `3xx` is returned for the caller to report.
    pub(super) async fn send(
        &self,
        method: Method,
        url: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, reqwest::Error> {
        let Ok(mut url) = Url::parse(url) else {
            // Let reqwest report the unusable URL as its own error.
            return build(self.strict.request(method, url)).send().await;
        };
        let mut hops = 0;
        loop {
            let response = build(self.guarded(method.clone(), &url)).send().await?;
            let status = response.status().as_u16();
            let follow = match status {
                301..=303 => method == Method::GET || method == Method::HEAD,
                307 | 308 => true,
                _ => false,
            };
            let next = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok());
            match next {
                Some(next) if follow && hops < MAX_REDIRECTS => {
                    hops += 1;
                    url = next;
                }
                _ => return Ok(response),
            }
        }
    }

    /// A `GET` of `url` through [`Session::send`] (for callers that add headers to it).
    pub(super) async fn get(&self, url: &str) -> Result<Response, reqwest::Error> {
        self.send(Method::GET, url, |r| r).await
    }

    /// Runs `f` under the retry policy, mapping its failure with the context.
    pub(super) async fn retry<T, F, Fut>(&self, ctx: &Ctx<'_>, f: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        self.policy()
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

    /// Runs the registry's auth handshake for `op` (the distribution spec's token
    /// authentication): `Some(token)` when a token service issued one. An identity token is
    /// used as it is; a registry that asks for no token (or for Basic) gets the credential's
    /// own header.
    async fn authenticate(&self, op: Operation) -> Result<Option<String>, RegistryError> {
        if let Credential::Token(_) = &self.credential {
            authorization(self.target.registry(), &self.credential, None)?;
            return Ok(None);
        }
        let name = op.name();
        let ctx = self.ctx(format!("authentication for {name}"), name);
        let stop: std::cell::RefCell<Option<AuthError>> = std::cell::RefCell::new(None);
        let result = self
            .retry(&ctx, || {
                let stop = &stop;
                async move {
                    self.handshake(op).await.map_err(|e| match e {
                        Handshake::Client(e) => e,
                        Handshake::Refused(e) => {
                            *stop.borrow_mut() = Some(e);
                            // Not transient, so the retries stop here; the real error is
                            // `stop`.
                            OciDistributionError::GenericError(None)
                        }
                    })
                }
            })
            .await;
        match (result, stop.into_inner()) {
            (_, Some(refused)) => Err(refused.into()),
            (Ok(token), None) => Ok(token),
            (Err(e), None) => Err(e),
        }
    }

    /// One attempt at the handshake.
    async fn handshake(&self, op: Operation) -> Result<Option<String>, Handshake> {
        let registry = self.target.registry();
        let response = self.get(&format!("{}/v2/", self.base)).await?;
        let Some(challenge) = response
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
            .and_then(bearer_challenge)
        else {
            // No token service: the credential's own header (Basic), or none.
            return Ok(None);
        };
        let (realm_text, service) = challenge;
        let realm = self.check_realm(&realm_text)?;
        let scope = match op {
            Operation::Pull => format!("repository:{}:pull", self.target.repository()),
            Operation::Push => format!("repository:{}:pull,push", self.target.repository()),
        };
        let mut url = realm;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("scope", &scope);
            if let Some(service) = &service {
                query.append_pair("service", service);
            }
        }
        let basic = match &self.credential {
            Credential::Basic { .. } => authorization(registry, &self.credential, None)?,
            _ => None,
        };
        // The token service is told the credentials (docker's rule), over verified TLS, or
        // plain HTTP between loopback hosts only (checked above). Certificates are skipped
        // only when it shares the registry's host and `--insecure` was given.
        let own_host = Origin::of(&url).is_some_and(|o| o.host == self.origin.host);
        let client = if own_host { &self.http } else { &self.strict };
        let mut request = client.get(url);
        if let Some(basic) = basic {
            request = request.header(http::header::AUTHORIZATION, basic);
        }
        let response = request.send().await?;
        let status = response.status();
        let body = read_limited(response, 64 * 1024).await?;
        if status != reqwest::StatusCode::OK {
            return Err(Handshake::Client(
                OciDistributionError::AuthenticationFailure(
                    String::from_utf8_lossy(&body).into_owned(),
                ),
            ));
        }
        // The spec's answer: `token`, or OAuth's `access_token` (many services send both).
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let decode = |message: String| {
            Handshake::Client(OciDistributionError::RegistryTokenDecodeError(message))
        };
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| decode(e.to_string()))?;
        let token = answer
            .token
            .or(answer.access_token)
            .ok_or_else(|| decode("the answer holds no `token`".into()))?;
        // A token that cannot be a header (a line break in it) is refused before any use.
        authorization(registry, &Credential::Anonymous, Some(&token))?;
        Ok(Some(token))
    }

    /// The token service's URL, when the policy lets the credentials go there (see the
    /// module's documentation).
    fn check_realm(&self, realm: &str) -> Result<Url, AuthError> {
        let registry = self.target.registry().to_string();
        let url = Url::parse(realm).ok();
        let Some(origin) = url.as_ref().and_then(Origin::of) else {
            return Err(AuthError::BadRealm {
                registry,
                realm: realm.to_string(),
            });
        };
        if origin.is_loopback() && !self.origin.is_loopback() {
            return Err(AuthError::LoopbackRealm {
                registry,
                realm: realm.to_string(),
            });
        }
        if self.credential != Credential::Anonymous && !origin.is_protected() {
            return Err(AuthError::CleartextRealm {
                registry,
                realm: realm.to_string(),
            });
        }
        url.ok_or(AuthError::BadRealm {
            registry,
            realm: realm.to_string(),
        })
    }
}

/// Why a handshake attempt failed.
enum Handshake {
    /// A client or HTTP failure (retried when transient).
    Client(OciDistributionError),
    /// Refused by the policy: never retried.
    Refused(AuthError),
}

impl From<reqwest::Error> for Handshake {
    fn from(e: reqwest::Error) -> Self {
        Handshake::Client(e.into())
    }
}

impl From<AuthError> for Handshake {
    fn from(e: AuthError) -> Self {
        Handshake::Refused(e)
    }
}

/// The `realm` and `service` of the first `Bearer` challenge in a `WWW-Authenticate` value.
fn bearer_challenge(header: &str) -> Option<(String, Option<String>)> {
    let challenges = http_auth::parse_challenges(header).ok()?;
    let bearer = challenges
        .iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))?;
    let param = |name: &str| {
        bearer
            .params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_unescaped())
    };
    Some((param("realm")?, param("service")))
}

/// Reads at most `limit` bytes of a response body (a token answer, an error body).
pub(super) async fn read_limited(
    mut response: Response,
    limit: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() >= limit {
            body.truncate(limit);
            break;
        }
    }
    Ok(body)
}

/// Checks that `credential` is accepted by `registry` (a host): the token service must issue
/// a token, or an authenticated request must not be refused.
pub(super) async fn verify_login(
    options: &RegistryOptions,
    registry: &str,
    credential: &Credential,
) -> Result<(), RegistryError> {
    let probe = reference::parse(&format!("{registry}/wasme-login-check:latest"))?;
    let (session, issued) =
        Session::open_with(options, probe, credential.clone(), Operation::Pull).await?;
    if issued {
        return Ok(());
    }
    let url = format!(
        "{}/blobs/sha256:{}",
        session.repository_url(),
        "0".repeat(64)
    );
    let ctx = session.ctx("checking the credentials".into(), "pull");
    let result = session
        .retry(&ctx, || async {
            let response = session.send(Method::HEAD, &url, |r| r).await?;
            let code = response.status().as_u16();
            match code {
                200..=299 | 404 => Ok(()),
                _ => Err(OciDistributionError::ServerError {
                    code,
                    url: url.clone(),
                    message: String::new(),
                }),
            }
        })
        .await;
    match result {
        Ok(()) | Err(RegistryError::NotFound { .. }) | Err(RegistryError::Forbidden { .. }) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}
