//! The download path: manifests and blobs read with hard limits, streamed while hashed.
//!
//! A registry is not trusted to be sane. Every read is bounded before it starts and while it
//! runs: a manifest is at most [`MAX_MANIFEST_SIZE`] (the distribution registry's own limit),
//! a config blob at most [`MAX_CONFIG_SIZE`], a layer at most the size its manifest declares
//! and at most [`RegistryOptions::max_layer_size`](super::RegistryOptions::max_layer_size).
//! A body that goes past its limit is cut off at the limit (never read whole), and a body
//! that stalls fails after [`RegistryOptions::read_timeout`](super::RegistryOptions) with a
//! message naming the registry.
//!
//! Blobs for the store are written to a temporary file in the store's blob directory while
//! they are hashed, and become visible only after their digest is checked
//! ([`crate::store::BlobWriter`]). The requests are ours (reqwest, which oci-client uses too)
//! rather than oci-client's `pull_manifest_raw`/`pull_blob`, because those read a manifest
//! whole with no limit and have no way to stop a blob at a size. The largest layer is
//! downloaded last, its chunks also fed to a decode of the image on a second thread
//! ([`crate::store::Store::decode_beside`]), so gunzip, untar and the module's digest finish
//! with the download instead of after it.

use super::auth::Session;
use super::error::{Ctx, RegistryError};
use super::progress::{Progress, Transfer};
use crate::image::{self, Manifest};
use crate::reference::{self, Digest};
use crate::store::{BlobWriter, DecodeBeside, Store, StoreError};
use oci_client::errors::{DigestError, OciDistributionError};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// The largest manifest accepted (4 MiB, the limit of the distribution registry itself).
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;
/// The largest config blob accepted (1 MiB; a Wasm image's config is a few hundred bytes).
pub const MAX_CONFIG_SIZE: u64 = 1024 * 1024;
pub use super::options::{DEFAULT_MAX_LAYER_SIZE, DEFAULT_MIN_TRANSFER_RATE, DEFAULT_READ_TIMEOUT};

/// What [`fetch`] read: the manifest and its verified blobs (in memory only without a store:
/// with one, every blob is in the store, verified, and none is read back).
pub(super) struct Fetched {
    pub(super) whole: String,
    pub(super) manifest_bytes: Vec<u8>,
    pub(super) blobs: BTreeMap<Digest, Vec<u8>>,
    /// The blobs streamed into the store (verified on the way).
    pub(super) added: Vec<Digest>,
    /// The image's decode, run while its largest blob was downloaded (with a store).
    pub(super) beside: Option<DecodeBeside>,
}

/// Why one download attempt failed.
enum Failure {
    /// A client or HTTP failure (retried when transient).
    Client(OciDistributionError),
    /// The registry's answer broke a limit or its declared size: never retried.
    Refused(String),
    /// The local store failed.
    Store(StoreError),
}

impl From<OciDistributionError> for Failure {
    fn from(e: OciDistributionError) -> Self {
        Failure::Client(e)
    }
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        Failure::Client(e.into())
    }
}

/// What [`fetch_blobs`] works with.
struct FetchBlobs<'a> {
    store: Option<&'a Store>,
    manifest: &'a Manifest,
    manifest_bytes: &'a [u8],
    /// A blob's (cap, is it the config, name for messages).
    limits: &'a dyn Fn(&image::Descriptor) -> (u64, bool, String),
    session: &'a Session,
    /// `{base}/v2/{repository}`.
    base: &'a str,
    progress: &'a Progress,
    blobs: &'a mut BTreeMap<Digest, Vec<u8>>,
    added: &'a mut Vec<Digest>,
    beside: &'a mut Option<DecodeBeside>,
}

/// Where a download goes.
enum Sink {
    /// Kept in memory (manifests, and blobs when there is no store).
    Memory(Vec<u8>),
    /// A temporary file in the store, hashed as it is written.
    Store(Box<BlobWriter>),
}

impl Sink {
    fn append(&mut self, data: bytes::Bytes) -> Result<(), Failure> {
        match self {
            Sink::Memory(v) => {
                v.extend_from_slice(&data);
                Ok(())
            }
            Sink::Store(w) => w.append(data).map_err(Failure::Store),
        }
    }
}

/// One bounded GET: what to ask for and how much may come back.
struct Get<'a> {
    url: String,
    accept: &'a [&'a str],
    /// The size the manifest declares, when known (a body of another size is refused).
    declared: Option<u64>,
    /// The cap, whatever is declared.
    limit: u64,
    /// What it is, for messages (`the manifest`, `blob sha256:…`).
    what: String,
    /// The whole transfer's time limit: a registry that trickles a byte before every read
    /// timeout must not hold a pull for ever ([`transfer_budget`]).
    budget: Duration,
}

/// How long a download of up to `bytes` may take in all: the read timeout plus the time it
/// takes at [`RegistryOptions::min_transfer_rate`](super::RegistryOptions).
fn transfer_budget(session: &Session, bytes: u64) -> Duration {
    let options = session.options();
    let rate = options.min_transfer_rate.max(1);
    options.read_timeout + Duration::from_secs(bytes / rate + 1)
}

/// [`Session::retry`] for a download: client failures are retried as usual; a refused
/// answer or a store failure ends the attempts at once with its own error.
async fn attempt<T, F, Fut>(session: &Session, ctx: &Ctx<'_>, mut f: F) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let stop: RefCell<Option<Failure>> = RefCell::new(None);
    let timed_out = std::cell::Cell::new(false);
    let result = session
        .retry(ctx, || {
            let attempt = f();
            let (stop, timed_out) = (&stop, &timed_out);
            async move {
                attempt.await.map_err(|e| match e {
                    Failure::Client(e) => {
                        timed_out.set(matches!(
                            &e,
                            OciDistributionError::RequestError(r) if r.is_timeout()
                        ));
                        e
                    }
                    other => {
                        *stop.borrow_mut() = Some(other);
                        // Not transient, so `retry` stops here; the real error is `stop`.
                        OciDistributionError::GenericError(None)
                    }
                })
            }
        })
        .await;
    match (result, stop.into_inner()) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(Failure::Refused(message))) => Err(RegistryError::Other {
            registry: ctx.registry.to_string(),
            what: ctx.what.clone(),
            message,
        }),
        (Err(_), Some(Failure::Store(e))) => Err(e.into()),
        (Err(_), None) if timed_out.get() => Err(RegistryError::Other {
            registry: ctx.registry.to_string(),
            what: ctx.what.clone(),
            message: format!(
                "timed out: the registry stalled, sending nothing for {} s, on every attempt \
                     ({}); try again later, or raise WASME_READ_TIMEOUT (seconds) for a slow link",
                session.options().read_timeout.as_secs_f32(),
                session.options().attempts.max(1)
            ),
        }),
        (Err(e), _) => Err(e),
    }
}

/// Fetches the manifest and every blob of `reference_text`, verifying each digest and
/// bounding each read. With a `store`, blobs it already has intact are not downloaded and the
/// others are streamed into it (hashed on the way, in bounded buffers): none is held in
/// memory. Without one, the blobs are returned.
pub(super) async fn fetch(
    session: &Session,
    store: Option<&Store>,
) -> Result<Fetched, RegistryError> {
    let target = session.target();
    let whole = session.whole().to_string();
    let base = session.repository_url();
    let progress = Progress::new(session.options().progress);

    let tag_or_digest = match target.digest() {
        Some(d) => d.to_string(),
        None => target.tag().unwrap_or("latest").to_string(),
    };
    let get = Get {
        url: format!("{base}/manifests/{tag_or_digest}"),
        accept: &ACCEPT,
        declared: None,
        limit: MAX_MANIFEST_SIZE,
        what: "the manifest".into(),
        budget: transfer_budget(session, MAX_MANIFEST_SIZE),
    };
    let ctx = session.ctx("fetching the manifest".into(), "pull");
    let manifest_bytes = match attempt(session, &ctx, || {
        download(session, &get, None, Sink::Memory)
    })
    .await?
    {
        Sink::Memory(v) => v,
        Sink::Store(_) => Vec::new(),
    };
    let actual = Digest::of(&manifest_bytes);
    if let Some(expected) = reference::digest_of(target)
        && expected != actual
    {
        return Err(RegistryError::DigestMismatch {
            what: "the manifest".into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    let manifest = Manifest::parse(&manifest_bytes).map_err(|source| RegistryError::Image {
        reference: whole.clone(),
        source,
    })?;
    let limits = |blob: &image::Descriptor| {
        if blob.digest == manifest.config.digest {
            (
                MAX_CONFIG_SIZE,
                true,
                format!("config blob {}", blob.digest),
            )
        } else {
            (
                session.options().max_layer_size,
                false,
                format!("layer {}", blob.digest),
            )
        }
    };
    // Every declared size is checked before anything is downloaded.
    for blob in manifest.blobs() {
        let (cap, is_config, what) = limits(blob);
        if blob.size > cap {
            return Err(RegistryError::Other {
                registry: target.registry().to_string(),
                what: format!("pulling {whole}"),
                message: format!(
                    "the manifest declares {what} of {} bytes, more than the {cap}-byte \
                         limit{}; nothing was downloaded",
                    blob.size,
                    if is_config {
                        ""
                    } else {
                        " (raise it with WASME_MAX_LAYER_BYTES if the image is genuine)"
                    }
                ),
            });
        }
    }
    let mut blobs = BTreeMap::new();
    // Blobs this pull added to the store: taken back out if the pull fails.
    let mut added = Vec::new();
    let mut beside = None;
    let result = fetch_blobs(&mut FetchBlobs {
        store,
        manifest: &manifest,
        manifest_bytes: &manifest_bytes,
        limits: &limits,
        session,
        base: &base,
        progress: &progress,
        blobs: &mut blobs,
        added: &mut added,
        beside: &mut beside,
    })
    .await;
    if let Err(e) = result {
        if let Some(s) = store {
            s.discard_unreferenced(&added);
        }
        return Err(e);
    }
    Ok(Fetched {
        whole,
        manifest_bytes,
        blobs,
        added,
        beside,
    })
}

/// Downloads (or reads from the store) every blob of `job.manifest`. Into a store, the
/// largest layer comes last, with the image decoded beside its download
/// ([`Store::decode_beside`]): every other blob it reads is in the store by then.
async fn fetch_blobs(job: &mut FetchBlobs<'_>) -> Result<(), RegistryError> {
    let FetchBlobs {
        store,
        manifest,
        manifest_bytes,
        limits,
        session,
        base,
        progress,
        blobs,
        added,
        beside,
    } = job;
    let (store, session) = (*store, *session);
    let mut order: Vec<&image::Descriptor> = manifest.blobs().into_iter().collect();
    let largest = order
        .iter()
        .enumerate()
        .filter(|(_, d)| d.digest != manifest.config.digest)
        .max_by_key(|(i, d)| (d.size, std::cmp::Reverse(*i)))
        .map(|(i, _)| i);
    let streamed = match (store, largest) {
        (Some(_), Some(i)) => {
            let last = order.remove(i);
            order.push(last);
            Some(last.digest.clone())
        }
        _ => None,
    };
    let last = order.len().saturating_sub(1);
    for (i, blob) in order.into_iter().enumerate() {
        let (cap, _, what) = limits(blob);
        let transfer = progress.start("pull", &blob.digest, blob.size);
        if let Some(s) = store
            && s.blob_is_intact(&blob.digest)
        {
            transfer.finish(blob.size, "Cached");
            continue;
        }
        let get = Get {
            url: format!("{base}/blobs/{}", blob.digest),
            accept: &[],
            declared: Some(blob.size),
            limit: blob.size.min(cap),
            what: what.clone(),
            budget: transfer_budget(session, blob.size.min(cap)),
        };
        let ctx = session.ctx(what, "pull");
        let data = match store {
            Some(s) => {
                // Only the first attempt feeds the decode (a blob writer takes it once).
                let feeding = std::cell::RefCell::new(
                    (i == last && streamed.as_ref() == Some(&blob.digest))
                        .then(|| s.decode_beside(manifest_bytes, &blob.digest, added).ok())
                        .flatten(),
                );
                attempt(session, &ctx, || async {
                    let mut writer = s
                        .blob_writer(&blob.digest, get.limit)
                        .map_err(Failure::Store)?;
                    if let Some(decode) = feeding.borrow_mut().as_mut() {
                        writer.feed(decode);
                    }
                    let sink = download(session, &get, Some(&transfer), |_| {
                        Sink::Store(Box::new(writer))
                    })
                    .await?;
                    if let Sink::Store(w) = sink {
                        w.commit().map_err(|e| match e {
                            StoreError::DigestMismatch { expected, actual } => {
                                Failure::Client(OciDistributionError::from(
                                    DigestError::VerificationError { expected, actual },
                                ))
                            }
                            other => Failure::Store(other),
                        })?;
                    }
                    Ok(())
                })
                .await?;
                **beside = feeding.into_inner();
                added.push(blob.digest.clone());
                // Verified by `commit`; the image is decoded from the store, streamed.
                transfer.finish(blob.size, "Downloaded");
                continue;
            }
            None => match attempt(session, &ctx, || {
                download(session, &get, Some(&transfer), Sink::Memory)
            })
            .await?
            {
                Sink::Memory(v) => v,
                Sink::Store(_) => Vec::new(),
            },
        };
        let actual = Digest::of(&data);
        if actual != blob.digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {}", blob.digest),
                expected: blob.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        transfer.finish(data.len() as u64, "Downloaded");
        blobs.insert(blob.digest.clone(), data);
    }
    Ok(())
}

/// GETs `get.url` into a sink made by `sink` (given the declared length), refusing a body
/// longer than `get.limit` (by its `Content-Length` before reading, or by counting while
/// reading), and a body whose length differs from `get.declared`.
async fn download(
    session: &Session,
    get: &Get<'_>,
    transfer: Option<&Transfer>,
    sink: impl FnOnce(Vec<u8>) -> Sink,
) -> Result<Sink, Failure> {
    let accept = get.accept.join(", ");
    let mut response = session
        .send(reqwest::Method::GET, &get.url, |r| {
            if accept.is_empty() {
                r
            } else {
                r.header(http::header::ACCEPT, accept.as_str())
            }
        })
        .await?;
    let status = response.status();
    if !status.is_success() {
        let mut body = Vec::new();
        // An error body is for the message only: read at most 4 KiB of it.
        while let Some(chunk) = response.chunk().await.ok().flatten() {
            body.extend_from_slice(&chunk);
            if body.len() > 4096 {
                break;
            }
        }
        body.truncate(4096);
        return Err(Failure::Client(OciDistributionError::ServerError {
            code: status.as_u16(),
            url: get.url.clone(),
            message: String::from_utf8_lossy(&body).into_owned(),
        }));
    }
    let too_large = |n: u64| {
        Failure::Refused(match get.declared {
            Some(d) => format!(
                "the registry sent {} more bytes than the {d} the manifest declares for {}; \
                 nothing was stored",
                if n == u64::MAX {
                    "(by its Content-Length)".to_string()
                } else {
                    format!("at least {n}")
                },
                get.what
            ),
            None => format!(
                "{} is larger than the {}-byte limit; the registry is misbehaving or this is \
                 not an image; nothing was stored",
                get.what, get.limit
            ),
        })
    };
    if let Some(length) = response.content_length()
        && length > get.limit
    {
        return Err(match get.declared {
            Some(d) if length > d => too_large(length - d),
            _ => too_large(u64::MAX),
        });
    }
    let initial = if get.declared.is_none() {
        Vec::with_capacity(response.content_length().unwrap_or(0).min(get.limit) as usize)
    } else {
        Vec::new()
    };
    let mut sink = sink(initial);
    let mut received: u64 = 0;
    let started = tokio::time::Instant::now();
    loop {
        let Ok(next) = tokio::time::timeout_at(started + get.budget, response.chunk()).await else {
            return Err(Failure::Refused(format!(
                "the registry sent only {received} bytes of {} in {} s, the time limit for \
                 its size (`WASME_MIN_TRANSFER_RATE` sets the slowest average rate accepted, in \
                 bytes/s); nothing was stored",
                get.what,
                get.budget.as_secs(),
            )));
        };
        let Some(chunk) = next? else { break };
        received = received.saturating_add(chunk.len() as u64);
        if received > get.limit {
            return Err(match get.declared {
                Some(d) if received > d => too_large(received - d),
                _ => too_large(received),
            });
        }
        sink.append(chunk)?;
        if let Some(t) = transfer {
            t.set_position(received);
        }
    }
    if let Some(d) = get.declared
        && received != d
    {
        return Err(Failure::Refused(format!(
            "the registry sent {received} bytes for {} where the manifest declares {d}; nothing \
             was stored",
            get.what
        )));
    }
    Ok(sink)
}

/// The manifest media types a pull accepts.
const ACCEPT: [&str; 4] = [
    image::OCI_MANIFEST,
    image::DOCKER_MANIFEST,
    image::OCI_INDEX,
    image::DOCKER_MANIFEST_LIST,
];

/// The manifest digest the session's reference names on its registry: the
/// `Docker-Content-Digest` of a `HEAD`, else the digest of the manifest (a bounded `GET`).
/// A digest reference must match what the registry answers.
pub(super) async fn resolve_digest(session: &Session) -> Result<Digest, RegistryError> {
    let target = session.target();
    let tag_or_digest = match target.digest() {
        Some(d) => d.to_string(),
        None => target.tag().unwrap_or("latest").to_string(),
    };
    let url = format!("{}/manifests/{tag_or_digest}", session.repository_url());
    let accept = ACCEPT.join(", ");
    let ctx = session.ctx("resolving the digest".into(), "pull");
    let header = attempt(session, &ctx, || async {
        let response = session
            .send(reqwest::Method::HEAD, &url, |r| {
                r.header(http::header::ACCEPT, accept.as_str())
            })
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure::Client(OciDistributionError::ServerError {
                code: status.as_u16(),
                url: url.clone(),
                message: String::new(),
            }));
        }
        Ok(response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string))
    })
    .await?;
    let digest = match header {
        Some(text) => text
            .parse()
            .map_err(|e: reference::DigestError| RegistryError::Other {
                registry: target.registry().to_string(),
                what: "resolving the digest".into(),
                message: format!("the registry answered with an unusable digest: {e}"),
            })?,
        None => {
            let get = Get {
                url: url.clone(),
                accept: &ACCEPT,
                declared: None,
                limit: MAX_MANIFEST_SIZE,
                what: "the manifest".into(),
                budget: transfer_budget(session, MAX_MANIFEST_SIZE),
            };
            match attempt(session, &ctx, || {
                download(session, &get, None, Sink::Memory)
            })
            .await?
            {
                Sink::Memory(v) => Digest::of(&v),
                Sink::Store(_) => Digest::of(b""),
            }
        }
    };
    if let Some(expected) = reference::digest_of(target)
        && expected != digest
    {
        return Err(RegistryError::DigestMismatch {
            what: "the manifest".into(),
            expected: expected.to_string(),
            actual: digest.to_string(),
        });
    }
    Ok(digest)
}
