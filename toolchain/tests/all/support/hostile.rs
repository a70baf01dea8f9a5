//! A hostile registry: a small HTTP/1.1 server (std threads, no framework) that serves a real
//! image by default and misbehaves where a test says so — endless and oversized bodies,
//! stalls, resets, 5xx, tampered content, bad tokens, cleartext token realms. Every request is
//! logged so tests can prove what was (not) asked.

use cargo_wasme::image::{self, BuiltImage, Format, ImageSpec};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answers.
pub enum Reply {
    /// A complete response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Headers (optionally with a lying `Content-Length`), then `chunk` forever until the
    /// client goes away.
    Endless {
        content_length: Option<u64>,
        chunk: Vec<u8>,
    },
    /// Headers and `prefix` of a body of `content_length` bytes, then nothing for a minute.
    Stall {
        content_length: u64,
        prefix: Vec<u8>,
    },
    /// Headers, then one byte of `body` every `every` (under the client's read timeout, so only
    /// a limit on the whole transfer stops it).
    Trickle { body: Vec<u8>, every: Duration },
    /// Close the connection without answering.
    Reset,
}

impl Reply {
    pub fn ok(content_type: &str, body: Vec<u8>) -> Reply {
        Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }
}

type Handler = dyn Fn(&Request, &Served) -> Option<Reply> + Send + Sync;

/// What the server serves when the handler does not override a request.
pub struct Served {
    pub image: BuiltImage,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Served {
    /// The regular answer of a registry holding `image` under every repository and tag.
    pub fn regular(&self, req: &Request) -> Reply {
        if req.path == "/v2/" {
            return Reply::status(200, "{}");
        }
        if req.path.contains("/manifests/") {
            return Reply::ok(image::OCI_MANIFEST, self.image.manifest.clone());
        }
        if let Some((_, digest)) = req.path.split_once("/blobs/")
            && let Some((_, data)) = self.image.blobs.iter().find(|(d, _)| d.as_str() == digest)
        {
            return Reply::ok("application/octet-stream", data.clone());
        }
        Reply::status(
            404,
            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown"}]}"#,
        )
    }
}

/// A running hostile registry.
pub struct Hostile {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Every request, in order.
    pub log: Arc<Mutex<Vec<Request>>>,
}

/// A small valid Wasm image (compat format, root id `rid`).
pub fn small_image() -> BuiltImage {
    image::build(
        &super::filter_module(7),
        &ImageSpec::new(Format::Compat, vec!["v0.2.1".into()], vec!["rid".into()]),
    )
    .unwrap()
}

impl Hostile {
    /// Serves [`small_image`], letting `handler` override any request (return `None` for the
    /// regular answer).
    pub fn start(
        handler: impl Fn(&Request, &Served) -> Option<Reply> + Send + Sync + 'static,
    ) -> Hostile {
        Hostile::start_with(small_image(), handler)
    }

    /// Serves `image`, letting `handler` override any request.
    pub fn start_with(
        image: BuiltImage,
        handler: impl Fn(&Request, &Served) -> Option<Reply> + Send + Sync + 'static,
    ) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(Served {
            image,
            addr: addr.clone(),
        });
        let handler: Arc<Handler> = Arc::new(handler);
        let thread_log = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (handler, served, log) = (handler.clone(), served.clone(), thread_log.clone());
                std::thread::spawn(move || serve(conn, &*handler, &served, &log));
            }
        });
        Hostile { addr, log }
    }

    /// The paths requested so far.
    pub fn paths(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.path.clone())
            .collect()
    }
}

fn read_request(conn: &mut TcpStream) -> Option<Request> {
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.lines();
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let path = target.split('?').next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Request {
        method,
        path,
        headers,
    })
}

fn serve(mut conn: TcpStream, handler: &Handler, served: &Served, log: &Mutex<Vec<Request>>) {
    // Keep-alive: answer requests on this connection until it closes.
    while let Some(req) = read_request(&mut conn) {
        log.lock().unwrap().push(req.clone());
        let reply = handler(&req, served).unwrap_or_else(|| served.regular(&req));
        let head = |status: u16, headers: &[(String, String)], length: Option<u64>| {
            let mut h = format!("HTTP/1.1 {status} X\r\n");
            for (k, v) in headers {
                h.push_str(&format!("{k}: {v}\r\n"));
            }
            if let Some(l) = length {
                h.push_str(&format!("Content-Length: {l}\r\n"));
            }
            h.push_str("\r\n");
            h
        };
        let result = match reply {
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let h = head(status, &headers, Some(body.len() as u64));
                conn.write_all(h.as_bytes())
                    .and_then(|()| {
                        if req.method == "HEAD" {
                            Ok(())
                        } else {
                            conn.write_all(&body)
                        }
                    })
                    .map(|()| true)
            }
            Reply::Endless {
                content_length,
                chunk,
            } => {
                let h = head(200, &[], content_length);
                let _ = conn.write_all(h.as_bytes());
                // Until the client hangs up (a write fails) or 10 GiB went out.
                let mut sent = 0u64;
                while sent < 10 << 30 && conn.write_all(&chunk).is_ok() {
                    sent += chunk.len() as u64;
                }
                Ok(false)
            }
            Reply::Stall {
                content_length,
                prefix,
            } => {
                let h = head(200, &[], Some(content_length));
                let _ = conn.write_all(h.as_bytes());
                let _ = conn.write_all(&prefix);
                let _ = conn.flush();
                // Hold the connection until the client gives up (its read times out).
                conn.set_read_timeout(Some(Duration::from_secs(60))).ok();
                let mut sink = [0u8; 1];
                let _ = conn.read(&mut sink);
                Ok(false)
            }
            Reply::Trickle { body, every } => {
                let h = head(200, &[], Some(body.len() as u64));
                let _ = conn.write_all(h.as_bytes());
                let mut sent_all = true;
                for b in &body {
                    std::thread::sleep(every);
                    if conn.write_all(&[*b]).and_then(|()| conn.flush()).is_err() {
                        sent_all = false;
                        break;
                    }
                }
                Ok(sent_all)
            }
            Reply::Reset => Ok(false),
        };
        if !matches!(result, Ok(true)) {
            let _ = conn.shutdown(Shutdown::Both);
            return;
        }
    }
}
