//! The safety checks in front of every route: the Host allow-list (DNS rebinding), the access
//! token when not on loopback, Origin / Sec-Fetch-Site and content type on state-changing
//! requests (CSRF), and the headers every answer carries (nosniff, a strict CSP, no framing).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie holding the access token.
pub const COOKIE: &str = "upscale_token";

/// The page's Content-Security-Policy: its own scripts, styles and media only.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
     media-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// What a request must match.
pub struct Guard {
    hosts: HashSet<String>,
    /// Bound to every address: any IP literal with this port is accepted as Host too (an IP
    /// literal cannot be rebound by DNS).
    any_ip_port: Option<u16>,
    /// Required in a cookie (or once in the `token` query parameter) when not on loopback.
    pub token: Option<String>,
}

impl Guard {
    /// The guard for a server bound to `addr`, with extra host names.
    pub fn new(addr: SocketAddr, extra: &[String], token: Option<String>) -> Guard {
        let port = addr.port();
        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()];
        match addr.ip() {
            IpAddr::V4(ip) if !ip.is_unspecified() => names.push(ip.to_string()),
            IpAddr::V6(ip) if !ip.is_unspecified() => names.push(format!("[{ip}]")),
            _ => {}
        }
        names.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
        let mut hosts = HashSet::new();
        for n in names {
            if port == 80 {
                hosts.insert(n.clone());
            }
            hosts.insert(format!("{n}:{port}"));
        }
        Guard { hosts, any_ip_port: addr.ip().is_unspecified().then_some(port), token }
    }

    /// Whether the Host header names this server.
    pub fn host_ok(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        if self.hosts.contains(&host) {
            return true;
        }
        let Some(port) = self.any_ip_port else {
            return false;
        };
        host.parse::<SocketAddr>().is_ok_and(|a| a.port() == port)
    }
}

fn deny(status: StatusCode, why: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": why }))).into_response()
}

/// Equal strings, compared in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie_token(req: &Request) -> Option<String> {
    let cookies = req.headers().get_all(header::COOKIE);
    cookies
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn query_token(req: &Request) -> Option<String> {
    req.uri()
        .query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.into())
}

/// The middleware: refuses what does not pass, adds the safety headers to what does.
pub async fn check(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
    let Some(host) = host.filter(|h| g.host_ok(h)) else {
        return with_headers(deny(StatusCode::FORBIDDEN, "this server does not answer to that Host name"));
    };
    if let Some(token) = &g.token {
        if !cookie_token(&req).is_some_and(|t| same(&t, token)) {
            if query_token(&req).is_some_and(|t| same(&t, token)) && req.method() == Method::GET {
                // Keep it in a cookie and drop it from the address bar.
                let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
                let to = req.uri().path().to_string();
                let resp = Response::builder()
                    .status(StatusCode::SEE_OTHER)
                    .header(header::LOCATION, to)
                    .header(header::SET_COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap_or_default();
                return with_headers(resp);
            }
            return with_headers(deny(StatusCode::UNAUTHORIZED, "open the address with the token the server printed"));
        }
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes {
        let origin = req.headers().get(header::ORIGIN).map(|o| o.to_str().unwrap_or("?").to_string());
        if let Some(o) = origin {
            if !same(&o.to_ascii_lowercase(), &format!("http://{}", host.to_ascii_lowercase())) {
                return with_headers(deny(StatusCode::FORBIDDEN, "cross-origin request refused"));
            }
        }
        let site = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if site.is_some_and(|s| s != "same-origin" && s != "none") {
            return with_headers(deny(StatusCode::FORBIDDEN, "cross-site request refused"));
        }
        if req.method() == Method::POST {
            let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            let ct = ct.to_ascii_lowercase();
            if !(ct.starts_with("application/json") || ct.starts_with("multipart/form-data")) {
                return with_headers(deny(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "a POST must be application/json or multipart/form-data",
                ));
            }
        }
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    with_headers(as_json(&method, &path, next.run(req).await).await)
}

/// Every refusal as `{"error": …}` with a sentence for a person: an answer of 400 or more that
/// is not JSON already (axum's own rejections, a route that does not exist, a wrong method) is
/// replaced, its own text written to the server's log.
async fn as_json(method: &Method, path: &str, resp: Response) -> Response {
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if status.as_u16() < 400 || json {
        return resp;
    }
    let body = axum::body::to_bytes(resp.into_body(), 16 * 1024).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&body);
    eprintln!("upscale: {method} {path}: {status}: {}", detail.trim());
    let msg = match status {
        StatusCode::NOT_FOUND => "there is nothing at this address",
        StatusCode::METHOD_NOT_ALLOWED => "this address does not take that kind of request",
        StatusCode::PAYLOAD_TOO_LARGE => "the request is larger than this server accepts",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "the request's content type is not one this server reads",
        s if s.is_client_error() => "the request could not be read",
        _ => "the server could not do that; its log says why",
    };
    deny(status, msg)
}

/// The headers on every answer. No CORS header is ever sent.
fn with_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(PAGE_CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_matched_exactly() {
        let g = Guard::new("127.0.0.1:8080".parse().unwrap(), &[], None);
        assert!(g.host_ok("127.0.0.1:8080"));
        assert!(g.host_ok("localhost:8080"));
        assert!(g.host_ok("[::1]:8080"));
        assert!(!g.host_ok("127.0.0.1:8081"));
        assert!(!g.host_ok("evil.example:8080"));
        assert!(!g.host_ok("localhost.evil.example:8080"));
        assert!(!g.host_ok("192.168.1.2:8080"));
        let any = Guard::new("0.0.0.0:9000".parse().unwrap(), &["box.lan".into()], Some("t".into()));
        assert!(any.host_ok("192.168.1.2:9000"));
        assert!(any.host_ok("box.lan:9000"));
        assert!(!any.host_ok("evil.example:9000"));
    }
}
