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
}

impl Failure {
    fn decision(&self) -> Decision {
        match self {
            Failure::Http(e) => retry::classify_reqwest(e),
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
            Failure::Protocol(message) => message.clone(),
        }
    }

    fn into_error(self, ctx: &Ctx<'_>, attempts: u32) -> RegistryError {
        match self {
            Failure::Http(e) => ctx.request(&e, attempts),
            Failure::Status { code, body, .. } => ctx.status(code, &body, attempts),
            Failure::Protocol(message) => ctx.other(message),
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
    http: reqwest::Client,
    /// `http://host:port` or `https://host`.
    base: String,
    repository: String,
    chunk_size: usize,
    policy: RetryPolicy,
}

impl<'a> Uploader<'a> {
    /// An uploader for the session's repository, sending the session's `Authorization`
    /// header with every request.
    pub(super) fn new(session: &'a Connection) -> Result<Uploader<'a>, RegistryError> {
        let options = session.options();
        let http = auth::http_client(
            options,
            session.target().registry(),
            Duration::from_secs(120),
        )?;
        Ok(Uploader {
            session,
            http,
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
    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.session.request_on(&self.http, method, url)
    }

    /// Sends `request`; a status outside `expect` is a [`Failure::Status`].
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        expect: &[StatusCode],
    ) -> Result<reqwest::Response, Failure> {
        let response = request.send().await.map_err(Failure::Http)?;
        if expect.contains(&response.status()) {
            return Ok(response);
        }
        let code = response.status().as_u16();
        let retry_after = retry::retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        Err(Failure::Status {
            code,
            body,
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
                .send(
                    self.request(reqwest::Method::POST, &url)
                        .header(http::header::CONTENT_LENGTH, "0"),
                    &[StatusCode::ACCEPTED],
                )
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
    async fn patch(&self, session: &mut Session, chunk: Bytes) -> Result<(), Failure> {
        let len = chunk.len() as u64;
        let end = session.offset + len - 1;
        let response = self
            .send(
                self.request(reqwest::Method::PATCH, &session.location)
                    .header(http::header::CONTENT_TYPE, "application/octet-stream")
                    .header(
                        http::header::CONTENT_RANGE,
                        format!("{}-{end}", session.offset),
                    )
                    .header(http::header::CONTENT_LENGTH, len.to_string())
                    .body(chunk),
                &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT],
            )
            .await?;
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
                self.request(reqwest::Method::GET, &session.location),
                &[StatusCode::NO_CONTENT, StatusCode::OK],
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
            self.request(reqwest::Method::PUT, &url)
                .header(http::header::CONTENT_LENGTH, "0"),
            &[
                StatusCode::CREATED,
                StatusCode::ACCEPTED,
                StatusCode::NO_CONTENT,
            ],
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
        self.send(self.request(reqwest::Method::HEAD, &url), &[StatusCode::OK])
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
                .send(self.request(reqwest::Method::HEAD, &url), &[StatusCode::OK])
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
                self.request(reqwest::Method::PUT, &url)
                    .header(http::header::CONTENT_TYPE, media_type)
                    .body(manifest.clone()),
                &[StatusCode::CREATED, StatusCode::ACCEPTED, StatusCode::OK],
            )
            .await
            .map(|_| ())
        })
        .await
    }

    /// Uploads `data` (blob `digest`) in chunks, reporting each chunk on `transfer`, resuming
    /// after failures where the registry allows and starting over where it does not.
    pub(super) async fn upload(
        &self,
        ctx: &Ctx<'_>,
        progress: &Progress,
        transfer: &Transfer,
        digest: &Digest,
        data: Bytes,
    ) -> Result<(), RegistryError> {
        let total = data.len() as u64;
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
                let failure = match self
                    .patch(&mut session, data.slice(start as usize..end as usize))
                    .await
                {
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
