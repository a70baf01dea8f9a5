//! HTTP test servers beside the registry: a Bearer token service and a fault-injecting proxy.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fault proxy does to a matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status.
    Status(u16),
    /// Close the connection without answering.
    Drop,
    /// Forward the request untouched (to let the first matches of a later rule through).
    Pass,
    /// Read half the request body, then close the connection (a reset mid-upload); nothing
    /// reaches the registry.
    Cut,
    /// Answer with this status and `Retry-After: <seconds>`.
    RetryAfter(u16, u64),
}

/// A rule: requests whose method and path contain `pattern` get `fault`, `times` times
/// (`usize::MAX` = always).
#[derive(Clone, Debug)]
pub struct Rule {
    pub pattern: String,
    pub fault: Fault,
    pub times: usize,
}

/// Reads an HTTP request head (through the blank line); `None` when the peer closed first.
fn read_head(conn: &mut TcpStream) -> std::io::Result<Option<String>> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte)? == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
    }
    Ok(Some(String::from_utf8_lossy(&head).into_owned()))
}

/// Decodes `%XX` escapes and `+` in a query-string value.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The service name the token-auth registry and its token server agree on.
pub const TOKEN_SERVICE: &str = "wasme-test-registry";
/// The issuer of the test tokens.
pub const TOKEN_ISSUER: &str = "wasme-test-issuer";

/// A token server for registry Bearer auth (docker's distribution token protocol): clients
/// that get `401 WWW-Authenticate: Bearer realm=…` ask it for a token with Basic credentials;
/// it answers `{"token": …}`, an ES256 JWT signed by a self-signed certificate whose PEM the
/// registry trusts (`rootcertbundle`) and whose DER rides in the token's `x5c` header. Valid
/// credentials get the scopes asked for; anonymous requests get a token granting nothing; a
/// wrong password gets 401.
pub struct TokenServer {
    pub realm: String,
    pub cert_pem: PathBuf,
    /// Each token request: (query, the user it authenticated, or "" for anonymous).
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
    _dir: tempfile::TempDir,
}

impl TokenServer {
    pub fn start(user: &str, password: &str) -> Self {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let issuer = rcgen::generate_simple_self_signed(vec![TOKEN_ISSUER.to_string()]).unwrap();
        let cert_pem = dir.path().join("issuer.pem");
        std::fs::write(&cert_pem, issuer.cert.pem()).unwrap();
        let x5c = base64::engine::general_purpose::STANDARD.encode(issuer.cert.der());
        let rng = ring::rand::SystemRandom::new();
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &issuer.signing_key.serialize_der(),
            &rng,
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let realm = format!("http://{}/token", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let log = requests.clone();
        let user = user.to_string();
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(mut conn) = conn else { continue };
                let Ok(Some(head)) = read_head(&mut conn) else {
                    continue;
                };
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
                let basic = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("authorization")
                        .then(|| v.trim().strip_prefix("Basic ").map(str::to_string))?
                });
                let who = match &basic {
                    None => String::new(),
                    Some(b) if *b == expected => user.clone(),
                    Some(_) => {
                        log.lock()
                            .unwrap()
                            .push((query.to_string(), "refused".into()));
                        let body = r#"{"details":"incorrect username or password"}"#;
                        let _ = write!(
                            conn,
                            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        continue;
                    }
                };
                log.lock().unwrap().push((query.to_string(), who.clone()));
                let mut service = String::new();
                let mut access = Vec::new();
                for pair in query.split('&') {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let v = percent_decode(v);
                    match k {
                        "service" => service = v,
                        "scope" if !who.is_empty() => {
                            // repository:NAME:ACTION[,ACTION…]; NAME may hold '/' but not ':'.
                            let mut parts = v.rsplitn(2, ':');
                            let actions = parts.next().unwrap_or("");
                            if let Some(rest) = parts.next()
                                && let Some((kind, name)) = rest.split_once(':')
                            {
                                access.push(serde_json::json!({
                                    "type": kind,
                                    "name": name,
                                    "actions": actions.split(',').collect::<Vec<_>>(),
                                }));
                            }
                        }
                        _ => {}
                    }
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
                let claims = serde_json::json!({
                    "iss": TOKEN_ISSUER,
                    "sub": who,
                    "aud": service,
                    "exp": now + 300,
                    "nbf": now - 10,
                    "iat": now,
                    "jti": format!("token-{n}"),
                    "access": access,
                });
                let signed = format!(
                    "{}.{}",
                    b64.encode(header.to_string()),
                    b64.encode(claims.to_string())
                );
                let signature = key.sign(&rng, signed.as_bytes()).unwrap();
                let token = format!("{signed}.{}", b64.encode(signature.as_ref()));
                let body = serde_json::json!({"token": token, "expires_in": 300}).to_string();
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenServer {
            realm,
            cert_pem,
            requests,
            _dir: dir,
        }
    }
}

/// An HTTP proxy in front of a real registry that injects faults. It serves one request per
/// connection (asking both sides to close), which keeps it simple and exact.
pub struct FaultProxy {
    pub addr: String,
    pub hits: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    pub fn start(upstream: &str, rules: Vec<Rule>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let upstream = upstream.to_string();
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let rules = Arc::new(Mutex::new(rules));
        let (h, r) = (hits.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (upstream, rules, hits, requests) =
                    (upstream.clone(), rules.clone(), h.clone(), r.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &upstream, &rules, &hits, &requests);
                });
            }
        });
        FaultProxy {
            addr,
            hits,
            requests,
        }
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    rules: &Mutex<Vec<Rule>>,
    hits: &AtomicUsize,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let Some(text) = read_head(&mut client)? else {
        return Ok(());
    };
    let first = text.lines().next().unwrap_or("").to_string();
    requests.lock().unwrap().push(first.clone());
    let length: usize = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let fault = {
        let mut rules = rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| r.times > 0 && first.contains(&r.pattern))
            .map(|r| {
                r.times = r
                    .times
                    .saturating_sub(if r.times == usize::MAX { 0 } else { 1 });
                r.fault.clone()
            })
    };
    if let Some(Fault::Cut) = fault {
        hits.fetch_add(1, Ordering::SeqCst);
        let mut half = vec![0u8; length / 2];
        client.read_exact(&mut half)?;
        // Unread bytes in the socket make the close a reset (RST), as a dropped link looks.
        return Ok(());
    }
    let mut body = vec![0u8; length];
    client.read_exact(&mut body)?;
    if let Some(fault) = fault.filter(|f| !matches!(f, Fault::Pass)) {
        hits.fetch_add(1, Ordering::SeqCst);
        let (code, extra) = match fault {
            Fault::Drop => return Ok(()),
            Fault::Status(code) => (code, String::new()),
            Fault::RetryAfter(code, secs) => (code, format!("Retry-After: {secs}\r\n")),
            Fault::Pass | Fault::Cut => unreachable!("handled above"),
        };
        let body =
            format!("{{\"errors\":[{{\"code\":\"INJECTED\",\"message\":\"injected {code}\"}}]}}");
        let resp = format!(
            "HTTP/1.1 {code} Injected\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        client.write_all(resp.as_bytes())?;
        return Ok(());
    }
    let mut new_head = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        new_head.push_str(line);
        new_head.push_str("\r\n");
    }
    new_head.push_str("Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(new_head.as_bytes())?;
    up.write_all(&body)?;
    std::io::copy(&mut up, &mut client)?;
    Ok(())
}

/// One request as an [`OriginServer`] saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// How many body bytes arrived (by `Content-Length`).
    pub body_len: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What an [`OriginServer`] answers.
pub enum Answer {
    /// A complete response.
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read half the request body, then hold the connection without reading or answering for
    /// `secs` (a stalled upload).
    Stall { secs: u64 },
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer::Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        Answer::Reply {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }
}

type OriginHandler = dyn Fn(&Seen) -> Answer + Send + Sync;

/// A programmable HTTP/1.1 server on a chosen loopback address (127.0.0.1 and 127.0.0.2 are
/// two different origins, and `cargo-wasme` treats 127.0.0.2 as a remote host: only
/// `localhost`, `127.0.0.1` and `[::1]` are loopback to it). With TLS it speaks both TLS and
/// plain HTTP on the same port (it looks at the first byte), so a test can name
/// `http://` and `https://` of one host and port: two origins differing only in scheme. Its
/// certificate is issued for the address by a CA of its own, in [`OriginServer::ca_pem`]
/// (`SSL_CERT_FILE` makes the binary trust it). Every request is logged.
pub struct OriginServer {
    /// `IP:PORT`.
    pub addr: String,
    /// Every request, in order.
    pub log: Arc<Mutex<Vec<Seen>>>,
    /// The CA that issued the TLS certificate (PEM file), when serving TLS.
    pub ca_pem: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl OriginServer {
    /// Plain HTTP on `ip`.
    pub fn http(ip: &str, handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Self {
        Self::start(ip, false, handler)
    }

    /// TLS (and plain HTTP) on `ip`.
    pub fn https(ip: &str, handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Self {
        Self::start(ip, true, handler)
    }

    fn start(
        ip: &str,
        tls: bool,
        handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind(format!("{ip}:0")).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (config, ca_pem) = if tls {
            let (config, pem) = tls_config(ip);
            let path = dir.path().join("ca.pem");
            std::fs::write(&path, pem).unwrap();
            (Some(Arc::new(config)), Some(path))
        } else {
            (None, None)
        };
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<OriginHandler> = Arc::new(handler);
        let thread_log = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (config, handler, log) = (config.clone(), handler.clone(), thread_log.clone());
                std::thread::spawn(move || {
                    conn.set_read_timeout(Some(Duration::from_secs(30))).ok();
                    let mut first = [0u8; 1];
                    let is_tls = matches!(conn.peek(&mut first), Ok(1) if first[0] == 0x16);
                    match config {
                        Some(config) if is_tls => {
                            let Ok(server) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let mut stream = rustls::StreamOwned::new(server, conn);
                            serve_origin(&mut stream, &*handler, &log);
                        }
                        _ => {
                            let mut conn = conn;
                            serve_origin(&mut conn, &*handler, &log);
                        }
                    }
                });
            }
        });
        OriginServer {
            addr,
            log,
            ca_pem,
            _dir: dir,
        }
    }

    /// `https://IP:PORT`.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// `http://IP:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests that carried an `Authorization` header.
    pub fn authorized(&self) -> Vec<Seen> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.header("authorization").is_some())
            .cloned()
            .collect()
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

/// A server TLS configuration for `ip`, and the PEM of the CA that issued its certificate.
fn tls_config(ip: &str) -> (rustls::ServerConfig, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "wasme test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params = rcgen::CertificateParams::new(vec![ip.to_string()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    (config, ca_cert.pem())
}

/// Answers requests on one connection until it closes.
fn serve_origin<S: Read + Write>(conn: &mut S, handler: &OriginHandler, log: &Mutex<Vec<Seen>>) {
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match conn.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
            if head.len() > 64 * 1024 {
                return;
            }
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut lines = text.lines();
        let mut first = lines.next().unwrap_or("").split_whitespace();
        let method = first.next().unwrap_or("").to_string();
        let target = first.next().unwrap_or("").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut seen = Seen {
            method,
            target,
            headers,
            body_len: 0,
        };
        let answer = handler(&seen);
        if let Answer::Stall { secs } = answer {
            let mut half = vec![0u8; length / 2];
            let _ = conn.read_exact(&mut half);
            seen.body_len = half.len();
            log.lock().unwrap().push(seen);
            std::thread::sleep(Duration::from_secs(secs));
            return;
        }
        let mut body = vec![0u8; length];
        if conn.read_exact(&mut body).is_err() {
            return;
        }
        seen.body_len = length;
        let head_only = seen.method == "HEAD";
        log.lock().unwrap().push(seen);
        let Answer::Reply {
            status,
            headers,
            body,
        } = answer
        else {
            return;
        };
        let mut out = format!("HTTP/1.1 {status} X\r\n");
        for (k, v) in &headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        if conn.write_all(out.as_bytes()).is_err()
            || (!head_only && conn.write_all(&body).is_err())
            || conn.flush().is_err()
        {
            return;
        }
    }
}
