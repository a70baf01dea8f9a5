//! The push side of the registry protocol: blob checks (`HEAD`), blob uploads in the OCI
//! distribution spec's chunked form with byte-accurate progress and resumption of an
//! interrupted upload, and the manifest `PUT`, all under the [`retry`] policy (so a
//! `Retry-After` is honoured).
//!
//! `POST /v2/<name>/blobs/uploads/` opens a session (`202`, `Location`, optionally
//! `OCI-Chunk-Min-Length`); each chunk is a `PATCH <location>` with `Content-Range:
//! <start>-<end>` (`202`, a new `Location`, `Range: 0-<end>`); `PUT <location>?digest=…`
//! closes it (`201`). When a chunk fails on a broken connection, a `429` or a `5xx`, the
//! upload's status is asked for (`GET <location>`: `204` with `Range`) and the upload resumes
//! from the first byte the registry does not have; a registry that lost the session (or
//! answers `416` to the resumed range) gets the blob again from a new session.
//!
//! Hand-written over `reqwest` (the client oci-client itself uses) because oci-client keeps
//! the upload session to itself: its `push_blob` sends a whole chunked upload and restarts it
//! from the first byte on any failure, and exposes neither the session's location nor the
//! per-chunk progress this needs.

use super::auth::{self, Session as Connection};
use super::error::{Ctx, RegistryError, describe_reqwest};
use super::progress::{Progress, Transfer};
use super::retry::{self, Decision, RetryPolicy};
use crate::reference::Digest;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use reqwest::{Method, RequestBuilder};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The spec's header naming the smallest chunk a registry accepts.
const CHUNK_MIN_LENGTH: &str = "oci-chunk-min-length";

/// One failed HTTP exchange of an upload.
enum Failure {
    /// No response (refused, reset, timed out, TLS).
    Http(reqwest::Error),
    /// An unexpected status, with the body and any `Retry-After`.
    Status {
        code: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// A response the spec does not allow (no `Location`, a bad `Range`).
    Protocol(String),
    /// The registry stopped taking the body or answering for the read timeout, or a chunk
    /// took longer than its whole-transfer limit (the message says which).
    Stalled(String),
    /// The local blob does not match its digest.
    Local(RegistryError),
}

impl Failure {
    fn decision(&self) -> Decision {
        match self {
            Failure::Http(e) => retry::classify_reqwest(e),
            Failure::Stalled(_) => Decision::Retry { after: None },
            Failure::Status {
                code, retry_after, ..
            } if retry::status_is_transient(*code) => Decision::Retry {
                after: *retry_after,
            },
            _ => Decision::GiveUp,
        }
    }

    fn describe(&self) -> String {
        match self {
            Failure::Http(e) => describe_reqwest(e),
            Failure::Status { code, .. } => {
                let reason = StatusCode::from_u16(*code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                format!("HTTP {code} {reason}").trim_end().to_string()
            }
            Failure::Protocol(message) | Failure::Stalled(message) => message.clone(),
            Failure::Local(e) => e.to_string(),
        }
    }

    fn into_error(self, ctx: &Ctx<'_>, attempts: u32) -> RegistryError {
        match self {
            Failure::Http(e) => ctx.request(&e, attempts),
            Failure::Status { code, body, .. } => ctx.status(code, &body, attempts),
            Failure::Protocol(message) => ctx.other(message),
            Failure::Stalled(message) => ctx.other(format!(
                "timed out: {message}, on every attempt ({attempts}); try again later, or raise \
                 WASME_READ_TIMEOUT (seconds) or lower WASME_MIN_TRANSFER_RATE (bytes/s) for a \
                 slow link"
            )),
            Failure::Local(e) => e,
        }
    }
}

/// An upload session's state: where to send the next request and how much the registry has.
struct Session {
    location: String,
    offset: u64,
}

/// Uploads blobs of one repository over one HTTP client.
pub(super) struct Uploader<'a> {
    session: &'a Connection,
    /// `http://host:port` or `https://host`.
    base: String,
    repository: String,
    chunk_size: usize,
    policy: RetryPolicy,
}

impl<'a> Uploader<'a> {
    /// An uploader for the session's repository; every request goes through
    /// [`Connection::send`], which decides where the credentials go.
    pub(super) fn new(session: &'a Connection) -> Result<Uploader<'a>, RegistryError> {
        let options = session.options();
        Ok(Uploader {
            session,
            base: session.base().to_string(),
            repository: session.target().repository().to_string(),
            chunk_size: options.chunk_size.max(1),
            policy: session.policy(),
        })
    }
}

/// The `Location` of a response, made absolute against `base`.
fn location(base: &str, headers: &HeaderMap) -> Result<String, Failure> {
    let value = headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Failure::Protocol("the registry's answer has no Location header".into()))?;
    Ok(
        if value.starts_with("http://") || value.starts_with("https://") {
            value.to_string()
        } else if value.starts_with('/') {
            format!("{base}{value}")
        } else {
            format!("{base}/{value}")
        },
    )
}

/// The first byte the registry does not have, from a `Range: 0-<last>` header. `0-0` is read
/// as nothing received (docker's registry sends it for an empty upload): resending one byte
/// at worst, which the registry answers with `416` and a fresh session.
fn next_offset(headers: &HeaderMap) -> Result<Option<u64>, Failure> {
    let Some(value) = headers.get(http::header::RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("");
    let last = text
        .trim()
        .trim_start_matches("bytes=")
        .split_once('-')
        .and_then(|(first, last)| (first == "0").then_some(last))
        .and_then(|last| last.parse::<u64>().ok())
        .ok_or_else(|| {
            Failure::Protocol(format!("the registry sent an unusable Range `{text}`"))
        })?;
    Ok(Some(if last == 0 { 0 } else { last + 1 }))
}

impl Uploader<'_> {
    /// Sends `method url` (with `build` adding headers and body) through the session; a
    /// status outside `expect` is a [`Failure::Status`].
    async fn send(
        &self,
        method: Method,
        url: &str,
        expect: &[StatusCode],
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let response = self.session.send(method, url, build).await.map_err(|e| {
            if e.is_timeout() {
                Failure::Stalled(format!(
                    "the registry sent no answer for {} s",
                    self.session.options().read_timeout.as_secs_f32()
                ))
            } else {
                Failure::Http(e)
            }
        })?;
        if expect.contains(&response.status()) {
            return Ok(response);
        }
        let code = response.status().as_u16();
        if code == 401 && !self.session.is_registry_origin(response.url().as_str()) {
            let mut origin = response.url().clone();
            origin.set_path("");
            origin.set_query(None);
            return Err(Failure::Protocol(format!(
                "the registry sent the upload to {origin}, another origin, which asked for \
                 credentials (401); credentials are only sent to the registry's own origin, so \
                 none were sent there"
            )));
        }
        let retry_after = retry::retry_after(response.headers());
        let body = auth::read_limited(response, 4096).await.unwrap_or_default();
        Err(Failure::Status {
            code,
            body: String::from_utf8_lossy(&body).into_owned(),
            retry_after,
        })
    }

    /// Runs one exchange under the retry policy.
    async fn retried<T, Fut>(
        &self,
        ctx: &Ctx<'_>,
        f: impl FnMut() -> Fut,
    ) -> Result<T, RegistryError>
    where
        Fut: Future<Output = Result<T, Failure>>,
    {
        self.policy
            .run(
                ctx.registry,
                &ctx.what,
                Failure::decision,
                Failure::describe,
                f,
            )
            .await
            .map_err(|(e, attempts)| e.into_error(ctx, attempts))
    }

    /// Opens an upload session: its location and the smallest chunk the registry accepts.
    async fn open(&self, ctx: &Ctx<'_>) -> Result<(Session, usize), RegistryError> {
        let url = format!("{}/v2/{}/blobs/uploads/", self.base, self.repository);
        self.retried(ctx, || async {
            let response = self
                .send(Method::POST, &url, &[StatusCode::ACCEPTED], |r| {
                    r.header(http::header::CONTENT_LENGTH, "0")
                })
                .await?;
            let min = response
                .headers()
                .get(CHUNK_MIN_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let location = location(&self.base, response.headers())?;
            Ok((
                Session {
                    location,
                    offset: 0,
                },
                min,
            ))
        })
        .await
    }

    /// Sends `chunk` (which starts at `session.offset`); on success the session moves on.
    /// The body goes out in 64 KiB pieces, each marking progress: a registry that stops
    /// taking it (or answering) for the read timeout, or a chunk slower in all than its
    /// whole-transfer limit, fails the attempt ([`Failure::Stalled`]).
    async fn patch(&self, session: &mut Session, chunk: Bytes) -> Result<(), Failure> {
        let len = chunk.len() as u64;
        let end = session.offset + len - 1;
        let options = self.session.options();
        let read_timeout = options.read_timeout;
        let budget = read_timeout + Duration::from_secs(len / options.min_transfer_rate.max(1) + 1);
        let started = tokio::time::Instant::now();
        let last = Arc::new(AtomicU64::new(0));
        let range = format!("{}-{end}", session.offset);
        let url = session.location.clone();
        let request = self.send(
            Method::PATCH,
            &url,
            &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT],
            |r| {
                r.header(http::header::CONTENT_TYPE, "application/octet-stream")
                    .header(http::header::CONTENT_RANGE, range.as_str())
                    .header(http::header::CONTENT_LENGTH, len.to_string())
                    .body(watched_body(chunk.clone(), started, last.clone()))
            },
        );
        tokio::pin!(request);
        let response = loop {
            tokio::select! {
                response = &mut request => break response?,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            let now = started.elapsed();
            let idle = now.saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
            if idle > read_timeout {
                return Err(Failure::Stalled(format!(
                    "the registry took no data and sent no answer for {} s",
                    read_timeout.as_secs_f32()
                )));
            }
            if now > budget {
                return Err(Failure::Stalled(format!(
                    "a {len}-byte chunk took more than {} s, the time limit for its size",
                    budget.as_secs()
                )));
            }
        };
        let next = next_offset(response.headers())?.unwrap_or(end + 1);
        session.location = location(&self.base, response.headers())?;
        session.offset = next;
        Ok(())
    }

    /// Asks where an interrupted upload stands; `None` when the registry does not know the
    /// session (or does not report it), so the blob must start over.
    async fn status(&self, session: &Session) -> Option<Session> {
        let response = self
            .send(
                Method::GET,
                &session.location,
                &[StatusCode::NO_CONTENT, StatusCode::OK],
                |r| r,
            )
            .await
            .ok()?;
        let offset = next_offset(response.headers()).ok()??;
        let location =
            location(&self.base, response.headers()).unwrap_or_else(|_| session.location.clone());
        Some(Session { location, offset })
    }

    /// Closes the session with the blob's digest.
    async fn close(&self, session: &Session, digest: &Digest) -> Result<(), Failure> {
        let separator = if session.location.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{separator}digest={}", session.location, digest.as_str());
        self.send(
            Method::PUT,
            &url,
            &[
                StatusCode::CREATED,
                StatusCode::ACCEPTED,
                StatusCode::NO_CONTENT,
            ],
            |r| r.header(http::header::CONTENT_LENGTH, "0"),
        )
        .await
        .map(|_| ())
    }

    /// Whether the registry has blob `digest` (after a `PUT` whose answer was lost).
    async fn exists(&self, digest: &Digest) -> bool {
        let url = format!(
            "{}/v2/{}/blobs/{}",
            self.base,
            self.repository,
            digest.as_str()
        );
        self.send(Method::HEAD, &url, &[StatusCode::OK], |r| r)
            .await
            .is_ok()
    }

    /// Whether the registry already has blob `digest` (`HEAD`: `200` yes, `404` no).
    pub(super) async fn has_blob(
        &self,
        ctx: &Ctx<'_>,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let url = format!(
            "{}/v2/{}/blobs/{}",
            self.base,
            self.repository,
            digest.as_str()
        );
        self.retried(ctx, || async {
            match self
                .send(Method::HEAD, &url, &[StatusCode::OK], |r| r)
                .await
            {
                Ok(_) => Ok(true),
                Err(Failure::Status { code: 404, .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Uploads the manifest under `reference` (a tag or the manifest's digest).
    pub(super) async fn put_manifest(
        &self,
        ctx: &Ctx<'_>,
        reference: &str,
        media_type: &str,
        manifest: Bytes,
    ) -> Result<(), RegistryError> {
        let url = format!("{}/v2/{}/manifests/{reference}", self.base, self.repository);
        self.retried(ctx, || async {
            self.send(
                Method::PUT,
                &url,
                &[StatusCode::CREATED, StatusCode::ACCEPTED, StatusCode::OK],
                |r| {
                    r.header(http::header::CONTENT_TYPE, media_type)
                        .body(manifest.clone())
                },
            )
            .await
            .map(|_| ())
        })
        .await
    }

    /// Uploads blob `digest` from `source` in chunks, reporting each chunk on `transfer`,
    /// resuming after failures where the registry allows and starting over where it does
    /// not. Only one chunk is in memory at a time; the blob is hashed as it is read and
    /// refused before the upload is closed if it does not match its digest.
    pub(super) async fn upload(
        &self,
        ctx: &Ctx<'_>,
        progress: &Progress,
        transfer: &Transfer,
        digest: &Digest,
        source: &mut BlobSource,
    ) -> Result<(), RegistryError> {
        let total = source.size;
        let attempts = self.policy.attempts.max(1);
        let mut restarts = 0;
        'session: loop {
            let (mut session, min) = self.open(ctx).await?;
            let chunk_size = self.chunk_size.max(min) as u64;
            transfer.set_position(0);
            let mut failures = 0;
            let mut delay = self.policy.backoff;
            while session.offset < total {
                let start = session.offset;
                let end = (start + chunk_size).min(total);
                let chunk = source.read(start, end).map_err(|e| e.into_error(ctx, 1))?;
                let failure = match self.patch(&mut session, chunk).await {
                    Ok(()) if session.offset > start && session.offset <= total => {
                        transfer.set_position(session.offset);
                        failures = 0;
                        delay = self.policy.backoff;
                        continue;
                    }
                    Ok(()) => Failure::Protocol(format!(
                        "the registry acknowledged bytes {start}-{} of a {total}-byte blob",
                        session.offset
                    )),
                    Err(failure) => failure,
                };
                failures += 1;
                // 416: the registry holds another amount than this session's state says.
                let out_of_step = matches!(failure, Failure::Status { code: 416, .. });
                let after = match failure.decision() {
                    _ if out_of_step => None,
                    Decision::Retry { after } if failures < attempts => after,
                    _ => return Err(failure.into_error(ctx, failures)),
                };
                let wait = after
                    .map(|a| a.min(retry::MAX_RETRY_AFTER))
                    .unwrap_or(delay);
                delay *= 2;
                tokio::time::sleep(wait).await;
                let resumed = if out_of_step {
                    None
                } else {
                    self.status(&session).await
                };
                match resumed {
                    Some(resumed) if resumed.offset <= total => {
                        progress.warn(format!(
                            "{}: {} while {}; resuming at byte {} of {total}",
                            ctx.registry,
                            failure.describe(),
                            ctx.what,
                            resumed.offset
                        ));
                        session = resumed;
                        transfer.set_position(session.offset);
                    }
                    _ => {
                        restarts += 1;
                        if restarts >= attempts {
                            return Err(failure.into_error(ctx, failures));
                        }
                        progress.warn(format!(
                            "{}: {} while {}; the registry cannot resume the upload, sending the blob again",
                            ctx.registry,
                            failure.describe(),
                            ctx.what
                        ));
                        continue 'session;
                    }
                }
            }
            source.verify(digest).map_err(|e| e.into_error(ctx, 1))?;
            let closed = self.retried(ctx, || self.close(&session, digest)).await;
            return match closed {
                Ok(()) => Ok(()),
                // A PUT whose answer was lost may have completed: the session is gone then.
                Err(RegistryError::NotFound { .. }) if self.exists(digest).await => Ok(()),
                // The registry's copy does not add up (a resumption that went wrong): the
                // blob is sent again, a bounded number of times.
                Err(RegistryError::Server {
                    code: 400 | 416, ..
                }) if restarts + 1 < attempts => {
                    restarts += 1;
                    progress.warn(format!(
                        "{}: the registry's copy of blob {} does not match; sending it again",
                        ctx.registry,
                        digest.short()
                    ));
                    continue 'session;
                }
                Err(e) => Err(e),
            };
        }
    }
}

/// A blob read from a file a chunk at a time, hashed in order as it is read.
pub(super) struct BlobSource {
    file: std::fs::File,
    path: std::path::PathBuf,
    size: u64,
    hasher: sha2::Sha256,
    /// How many leading bytes the hasher has seen.
    hashed: u64,
}

impl BlobSource {
    /// The blob of `size` bytes in the file at `path`.
    pub(super) fn open(path: std::path::PathBuf, size: u64) -> Result<BlobSource, RegistryError> {
        let file = std::fs::File::open(&path).map_err(|e| local_error(&path, &e))?;
        Ok(BlobSource {
            file,
            path,
            size,
            hasher: sha2::Sha256::default(),
            hashed: 0,
        })
    }

    fn read_at(&mut self, start: u64, len: usize) -> Result<Vec<u8>, Failure> {
        use std::io::{Read, Seek, SeekFrom};
        let mut data = vec![0u8; len];
        self.file
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.file.read_exact(&mut data))
            .map_err(|e| Failure::Local(local_error(&self.path, &e)))?;
        Ok(data)
    }

    /// Bytes `start..end`, hashing whatever of them (and of any gap before them) the hasher
    /// has not seen.
    fn read(&mut self, start: u64, end: u64) -> Result<Bytes, Failure> {
        use sha2::Digest as _;
        while self.hashed < start {
            let n = (start - self.hashed).min(DEFAULT_CHUNK as u64);
            let gap = self.read_at(self.hashed, n as usize)?;
            self.hasher.update(&gap);
            self.hashed += n;
        }
        let data = self.read_at(start, (end - start) as usize)?;
        if self.hashed < end {
            self.hasher.update(&data[(self.hashed - start) as usize..]);
            self.hashed = end;
        }
        Ok(Bytes::from(data))
    }

    /// Checks the whole blob against `digest` (reading what was not read yet).
    fn verify(&mut self, digest: &Digest) -> Result<(), Failure> {
        use sha2::Digest as _;
        if self.hashed < self.size {
            let size = self.size;
            self.read(self.hashed, size)?;
        }
        let actual = format!("sha256:{:x}", self.hasher.clone().finalize());
        if actual != digest.as_str() {
            return Err(Failure::Local(RegistryError::Store(
                crate::store::StoreError::DigestMismatch {
                    expected: digest.to_string(),
                    actual,
                },
            )));
        }
        Ok(())
    }
}

/// The gap-hashing step (bounded, like a chunk).
const DEFAULT_CHUNK: usize = 4 * 1024 * 1024;

/// A local read failure of blob file `path`.
fn local_error(path: &std::path::Path, e: &std::io::Error) -> RegistryError {
    RegistryError::Other {
        registry: String::new(),
        what: format!("reading {}", path.display()),
        message: format!(
            "{e}: the local store is damaged (`cargo wasme package` or `pull` the image again)"
        ),
    }
}

/// `chunk` as a request body sent in 64 KiB pieces, each recording (in `last`, milliseconds
/// since `started`) when the connection took the previous one.
fn watched_body(
    chunk: Bytes,
    started: tokio::time::Instant,
    last: Arc<AtomicU64>,
) -> reqwest::Body {
    const PIECE: usize = 64 * 1024;
    let pieces = (0..chunk.len().div_ceil(PIECE)).map(move |i| {
        last.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let end = ((i + 1) * PIECE).min(chunk.len());
        Ok::<Bytes, std::io::Error>(chunk.slice(i * PIECE..end))
    });
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn ranges_give_the_next_offset() {
        assert_eq!(next_offset(&headers(&[])).ok(), Some(None));
        assert_eq!(
            next_offset(&headers(&[("range", "0-0")])).ok(),
            Some(Some(0))
        );
        assert_eq!(
            next_offset(&headers(&[("range", "0-4194303")])).ok(),
            Some(Some(4194304))
        );
        assert_eq!(
            next_offset(&headers(&[("range", "bytes=0-9")])).ok(),
            Some(Some(10))
        );
        assert!(next_offset(&headers(&[("range", "5-9")])).is_err());
        assert!(next_offset(&headers(&[("range", "junk")])).is_err());
    }

    #[test]
    fn locations_are_made_absolute() {
        let base = "http://127.0.0.1:5000";
        let abs = headers(&[("location", "http://other:1/v2/x/blobs/uploads/u?_state=s")]);
        assert_eq!(
            location(base, &abs).ok().as_deref(),
            Some("http://other:1/v2/x/blobs/uploads/u?_state=s")
        );
        let rel = headers(&[("location", "/v2/x/blobs/uploads/u")]);
        assert_eq!(
            location(base, &rel).ok().as_deref(),
            Some("http://127.0.0.1:5000/v2/x/blobs/uploads/u")
        );
        assert!(location(base, &headers(&[])).is_err());
    }
}
