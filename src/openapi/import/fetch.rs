//! Fetching a spec from a URL. The spec is untrusted input, so: https only (plain http only to this machine,
//! for local tests), a size cap, a time limit, and redirects followed only within the same host.

use std::io::Read;
use std::time::Duration;

use url::{Host, Url};

use super::source::MAX_SPEC_BYTES;
use super::ImportError;

/// Bounds of one fetch.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    pub max_bytes: u64,
    /// For the whole fetch, redirects included.
    pub timeout: Duration,
    pub max_redirects: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits { max_bytes: MAX_SPEC_BYTES, timeout: Duration::from_secs(30), max_redirects: 5 }
    }
}

/// Whether a URL may be fetched: https, or http to a loopback address.
pub fn check_url(url: &Url) -> Result<(), ImportError> {
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => {
            Err(ImportError::Fetch(format!("{url}: plain http is allowed only to this machine; use https")))
        }
        _ => Err(ImportError::Fetch(format!("{url}: only https URLs are fetched"))),
    }
}

/// The body at `url`, following redirects only to the same host.
pub fn fetch(url: &str, limits: &FetchLimits) -> Result<Vec<u8>, ImportError> {
    let mut current = Url::parse(url).map_err(|e| ImportError::Fetch(format!("{url}: {e}")))?;
    check_url(&current)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(limits.timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent("mcp-worker openapi-import")
        .build()
        .into();
    for _ in 0..=limits.max_redirects {
        let mut response = agent
            .get(current.as_str())
            .header("Accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
            .call()
            .map_err(|e| ImportError::Fetch(format!("{current}: {e}")))?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location =
                response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default();
            let next = current
                .join(location)
                .map_err(|e| ImportError::Fetch(format!("{current}: bad redirect: {e}")))?;
            if next.host() != current.host() {
                return Err(ImportError::Fetch(format!(
                    "{current}: redirect to another host ({next}) refused"
                )));
            }
            check_url(&next)?;
            current = next;
            continue;
        }
        if status != 200 {
            return Err(ImportError::Fetch(format!("{current}: HTTP {status}")));
        }
        let mut body = Vec::new();
        let mut reader =
            response.body_mut().with_config().limit(u64::MAX).reader().take(limits.max_bytes + 1);
        reader.read_to_end(&mut body).map_err(|e| ImportError::Fetch(format!("{current}: {e}")))?;
        if body.len() as u64 > limits.max_bytes {
            return Err(ImportError::Fetch(format!("{current}: more than {} bytes", limits.max_bytes)));
        }
        return Ok(body);
    }
    Err(ImportError::Fetch(format!("{url}: more than {} redirects", limits.max_redirects)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// Serves the given raw HTTP responses, one per connection, on 127.0.0.1; returns the base URL.
    fn serve(responses: Vec<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for response in responses {
                let (mut stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                let _ = stream.write_all(&response);
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    fn ok(body: &str) -> Vec<u8> {
        format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
            .into_bytes()
    }

    #[test]
    fn only_https_or_loopback_http() {
        for bad in
            ["http://example.com/spec.json", "ftp://localhost/x", "file:///etc/passwd", "http://10.0.0.1/x"]
        {
            assert!(check_url(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
        for good in [
            "https://example.com/spec.json",
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]/x",
        ] {
            assert!(check_url(&Url::parse(good).unwrap()).is_ok(), "{good}");
        }
    }

    #[test]
    fn fetches_and_follows_a_same_host_redirect() {
        let base = serve(vec![
            b"HTTP/1.1 302 Found\r\nlocation: /real\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                .to_vec(),
            ok("{\"a\":1}"),
        ]);
        assert_eq!(fetch(&format!("{base}/spec"), &FetchLimits::default()).unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn refuses_a_redirect_to_another_host_an_oversized_body_and_errors() {
        let base = serve(vec![b"HTTP/1.1 301 Moved\r\nlocation: http://127.0.0.2:1/spec\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()]);
        let err = fetch(&format!("{base}/spec"), &FetchLimits::default()).unwrap_err();
        assert!(err.to_string().contains("another host"), "{err}");
        let base = serve(vec![ok(&"x".repeat(100))]);
        let err = fetch(&base, &FetchLimits { max_bytes: 99, ..FetchLimits::default() }).unwrap_err();
        assert!(err.to_string().contains("more than 99 bytes"), "{err}");
        let base =
            serve(vec![b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()]);
        assert!(fetch(&base, &FetchLimits::default()).unwrap_err().to_string().contains("HTTP 404"));
    }

    #[test]
    fn a_slow_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_secs(3));
            drop(stream);
        });
        let limits = FetchLimits { timeout: Duration::from_millis(300), ..FetchLimits::default() };
        let started = std::time::Instant::now();
        assert!(fetch(&format!("http://127.0.0.1:{port}/"), &limits).is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
