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
