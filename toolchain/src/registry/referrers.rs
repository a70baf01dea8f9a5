//! OCI 1.1 referrers on a registry: reading them (the referrers API, else the referrers tag
//! schema), and pushing one (blobs, the manifest by digest, and the tag-schema index
//! `sha256-<hex>` when the registry has no referrers API, as Debian's `docker-registry` 2.8).
//!
//! Requests are ours (reqwest, as `pull` and `push` use) rather than oci-client's
//! `pull_referrers`, which maps every failure to "no referrers" and cannot maintain the tag
//! schema, and whose manifest reads are unbounded. Every read is bounded and every digest
//! recomputed here.

use super::auth::{Operation, Session};
use super::error::Ctx;
use super::progress::Progress;
use super::{Registry, RegistryError, push};
use crate::image;
use crate::reference::{self, Digest, Reference};
use crate::store::Store;
use crate::store::referrers::{MAX_REFERRER_BLOB, Referrer, ReferrerIndex, ReferrerManifest};
use oci_client::errors::OciDistributionError;
use reqwest::Method;

/// How a registry's referrers were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// `GET /v2/<name>/referrers/<digest>` answered.
    Api,
    /// The referrers API is missing; the tag-schema index `sha256-<hex>` was read.
    TagSchema,
}

/// What [`Registry::referrers`] found.
#[derive(Debug, Clone)]
pub struct FoundReferrers {
    /// The image's manifest digest (the tag resolved once).
    pub digest: Digest,
    /// The referrers, each digest-checked.
    pub referrers: Vec<Referrer>,
    /// Referrers listed but unusable (a digest mismatch, a missing blob), for messages.
    pub problems: Vec<String>,
    /// Where they were listed.
    pub discovery: Discovery,
}

/// The referrers tag-schema tag of `digest`: `sha256-<hex>`.
pub fn tag_schema_tag(digest: &Digest) -> String {
    format!("sha256-{}", digest.hex())
}

impl Registry {
    /// GETs `path` (under the repository) with `accept`, reading at most `limit` bytes;
    /// `Ok(None)` on 404. Retried on transient failures; credentials go where the session's
    /// policy allows.
    async fn get_bounded(
        &self,
        ctx: &Ctx<'_>,
        session: &Session,
        path: &str,
        accept: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        let url = format!("{}/{path}", session.repository_url());
        session
            .retry(ctx, || async {
                let mut response = session
                    .send(Method::GET, &url, |r| {
                        if accept.is_empty() {
                            r
                        } else {
                            r.header(http::header::ACCEPT, accept)
                        }
                    })
                    .await?;
                let status = response.status();
                if status == http::StatusCode::NOT_FOUND {
                    return Ok(None);
                }
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await? {
                    body.extend_from_slice(&chunk);
                    if body.len() as u64 > limit {
                        return Err(OciDistributionError::GenericError(Some(format!(
                            "{url}: the registry sent more than the {limit}-byte limit"
                        ))));
                    }
                }
                if !status.is_success() {
                    body.truncate(4096);
                    return Err(OciDistributionError::ServerError {
                        code: status.as_u16(),
                        url: url.clone(),
                        message: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                Ok(Some(body))
            })
            .await
    }

    /// The referrer index of `digest`: the referrers API's answer, else the tag-schema index
    /// (missing or invalid: empty).
    async fn referrer_index(
        &self,
        ctx: &Ctx<'_>,
        session: &Session,
        digest: &Digest,
    ) -> Result<(ReferrerIndex, Discovery), RegistryError> {
        let limit = super::pull::MAX_MANIFEST_SIZE;
        // distribution 2.8 answers 404 (text/plain); some registries 400/405.
        let api = match self
            .get_bounded(
                ctx,
                session,
                &format!("referrers/{digest}"),
                image::OCI_INDEX,
                limit,
            )
            .await
        {
            Ok(Some(body)) => serde_json::from_slice::<ReferrerIndex>(&body).ok(),
            Ok(None)
            | Err(RegistryError::Server {
                code: 400 | 405, ..
            }) => None,
            Err(e) => return Err(e),
        };
        if let Some(index) = api {
            return Ok((index, Discovery::Api));
        }
        let tag = tag_schema_tag(digest);
        let index = self
            .get_bounded(
                ctx,
                session,
                &format!("manifests/{tag}"),
                image::OCI_INDEX,
                limit,
            )
            .await?
            .and_then(|body| serde_json::from_slice::<ReferrerIndex>(&body).ok())
            .unwrap_or_default();
        Ok((index, Discovery::TagSchema))
    }

    /// The referrers of `reference_text` (a tag is resolved to its manifest digest first),
    /// optionally only those of `artifact_type`, each manifest and content digest-checked and
    /// bound to the image's digest. Unusable entries are reported in
    /// [`FoundReferrers::problems`], never trusted.
    pub async fn referrers(
        &self,
        reference_text: &str,
        artifact_type: Option<&str>,
    ) -> Result<FoundReferrers, RegistryError> {
        let target = reference::parse(reference_text)?;
        let digest = self.resolve_digest(reference_text).await?;
        let session = Session::open(&self.options, target, Operation::Pull).await?;
        let ctx = session.ctx(format!("listing the referrers of {digest}"), "pull");
        let (index, discovery) = self.referrer_index(&ctx, &session, &digest).await?;
        let mut referrers = Vec::new();
        let mut problems = Vec::new();
        for entry in &index.manifests {
            if artifact_type.is_some_and(|t| entry.artifact_type.as_deref() != Some(t)) {
                continue;
            }
            let Some(manifest) = self
                .get_bounded(
                    &ctx,
                    &session,
                    &format!("manifests/{}", entry.digest),
                    image::OCI_MANIFEST,
                    super::pull::MAX_MANIFEST_SIZE,
                )
                .await?
            else {
                problems.push(format!(
                    "referrer {} is listed but missing",
                    entry.digest.short()
                ));
                continue;
            };
            let parsed = match serde_json::from_slice::<ReferrerManifest>(&manifest) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(format!(
                        "referrer {} does not parse: {e}",
                        entry.digest.short()
                    ));
                    continue;
                }
            };
            let Some(layer) = parsed.layers.first() else {
                problems.push(format!("referrer {} has no content", entry.digest.short()));
                continue;
            };
            if layer.size > MAX_REFERRER_BLOB {
                problems.push(format!(
                    "referrer {} declares {} bytes of content, more than the {MAX_REFERRER_BLOB}-byte limit",
                    entry.digest.short(),
                    layer.size
                ));
                continue;
            }
            let content = self
                .get_bounded(
                    &ctx,
                    &session,
                    &format!("blobs/{}", layer.digest),
                    "",
                    layer.size.min(MAX_REFERRER_BLOB),
                )
                .await?;
            let Some(content) = content else {
                problems.push(format!(
                    "the content of referrer {} is missing",
                    entry.digest.short()
                ));
                continue;
            };
            match Referrer::check(&entry.digest, manifest, content, &digest) {
                Ok(r) => referrers.push(r),
                Err(e) => problems.push(e),
            }
        }
        Ok(FoundReferrers {
            digest,
            referrers,
            problems,
            discovery,
        })
    }

    /// Pushes `referrer` to the repository of `reference_text`: its blobs, its manifest by
    /// digest, and, when the registry has no referrers API, an entry in the tag-schema index
    /// (read, deduplicated, written back). Returns `false` when the registry already listed it.
    pub async fn push_referrer(
        &self,
        reference_text: &str,
        referrer: &Referrer,
    ) -> Result<bool, RegistryError> {
        let parsed = reference::parse(reference_text)?;
        let subject = referrer
            .manifest
            .subject
            .as_ref()
            .map(|s| s.digest.clone())
            .ok_or_else(|| RegistryError::Other {
                registry: parsed.registry().to_string(),
                what: "pushing a referrer".into(),
                message: "the referrer has no subject".into(),
            })?;
        let target = Reference::with_digest(
            parsed.registry().to_string(),
            parsed.repository().to_string(),
            subject.to_string(),
        );
        let session = Session::open(&self.options, target, Operation::Push).await?;
        let uploader = push::Uploader::new(&session)?;
        let ctx = session.ctx(format!("pushing referrer {}", referrer.digest), "push");
        let progress = Progress::new(false);
        for (digest, data) in referrer.blobs() {
            if uploader.has_blob(&ctx, &digest).await? {
                continue;
            }
            // The uploader streams from a file; a referrer's blobs are small and in memory.
            let file =
                staged(&data).map_err(|e| ctx.other(format!("staging blob {digest}: {e}")))?;
            let mut source = push::BlobSource::open(file.path().to_path_buf(), data.len() as u64)?;
            let transfer = progress.start("push", &digest, data.len() as u64);
            uploader
                .upload(&ctx, &progress, &transfer, &digest, &mut source)
                .await?;
        }
        uploader
            .put_manifest(
                &ctx,
                referrer.digest.as_str(),
                &referrer.manifest.media_type,
                bytes::Bytes::from(referrer.manifest_bytes.clone()),
            )
            .await?;
        let (mut index, discovery) = self.referrer_index(&ctx, &session, &subject).await?;
        if index.manifests.iter().any(|e| e.digest == referrer.digest) {
            return Ok(false);
        }
        if discovery == Discovery::Api {
            // The registry indexes referrers itself.
            return Ok(true);
        }
        index
            .manifests
            .push(referrer.manifest.descriptor(&referrer.manifest_bytes));
        let bytes = serde_json::to_vec(&index).unwrap_or_default();
        uploader
            .put_manifest(
                &ctx,
                &tag_schema_tag(&subject),
                image::OCI_INDEX,
                bytes::Bytes::from(bytes),
            )
            .await?;
        Ok(true)
    }

    /// The descriptor (media type, digest, size) of the manifest `reference_text` names, read
    /// bounded and digest-checked against a digest reference: what a referrer's `subject` is.
    pub async fn manifest_descriptor(
        &self,
        reference_text: &str,
    ) -> Result<image::Descriptor, RegistryError> {
        let target = reference::parse(reference_text)?;
        let whole = target.whole();
        let session = Session::open(&self.options, target.clone(), Operation::Pull).await?;
        let ctx = session.ctx("fetching the manifest".into(), "pull");
        let name = match (target.digest(), target.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_string(),
            (None, None) => "latest".to_string(),
        };
        let accept = [
            image::OCI_MANIFEST,
            image::DOCKER_MANIFEST,
            image::OCI_INDEX,
            image::DOCKER_MANIFEST_LIST,
        ]
        .join(", ");
        let bytes = self
            .get_bounded(
                &ctx,
                &session,
                &format!("manifests/{name}"),
                &accept,
                super::pull::MAX_MANIFEST_SIZE,
            )
            .await?
            .ok_or(RegistryError::NotFound {
                reference: whole.clone(),
            })?;
        let digest = Digest::of(&bytes);
        if let Some(expected) = reference::digest_of(&target)
            && expected != digest
        {
            return Err(RegistryError::DigestMismatch {
                what: "the manifest".into(),
                expected: expected.to_string(),
                actual: digest.to_string(),
            });
        }
        let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("mediaType")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| image::OCI_MANIFEST.to_string());
        Ok(image::Descriptor::of(&media_type, &bytes))
    }

    /// Pushes every referrer the store keeps for the manifest `subject` to the repository of
    /// `reference_text` (what `push` carries along); returns how many were new there.
    pub async fn push_store_referrers(
        &self,
        store: &Store,
        subject: &Digest,
        reference_text: &str,
    ) -> Result<usize, RegistryError> {
        let mut new = 0;
        for referrer in store.referrers(subject, None)? {
            if self.push_referrer(reference_text, &referrer).await? {
                new += 1;
            }
        }
        Ok(new)
    }
}

/// `data` in a temporary file (for the uploader, which streams blobs from files).
fn staged(data: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write as _;
    let mut file = tempfile::NamedTempFile::new()?;
    file.write_all(data)?;
    file.flush()?;
    Ok(file)
}
