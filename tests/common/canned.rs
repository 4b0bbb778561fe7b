//! A server on 127.0.0.1 answering each request with a reply a test chooses: for the
//! requests stratus makes itself (billed listings, aborts), where a test needs a server
//! that lies, stalls or echoes. It records what it received.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stratus::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, still encoded.
    pub target: String,
    /// The path, still encoded.
    pub path: String,
    /// The query's names and values, decoded.
    pub query: BTreeMap<String, String>,
    /// The request line and headers.
    pub head: String,
}

impl Request {
    /// Query parameter `name`, decoded.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// Header `name`'s value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    fn parse(head: String) -> Self {
        let mut parts = head.lines().next().unwrap_or_default().split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .to_string()
        };
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(n), decode(v))
            })
            .collect();
        Self {
            path: path.to_string(),
            method,
            target,
            query,
            head,
        }
    }
}

/// What the server answers.
#[derive(Clone)]
pub enum Reply {
    /// A status and a body (shared: a large body is made once).
    Body(u16, Arc<Vec<u8>>),
    /// A status, extra header lines and a body.
    WithHeaders(u16, String, Vec<u8>),
    /// Headers of a body that then never comes.
    Stall,
    /// These bytes as they are (status line and headers included), then the end.
    Raw(Vec<u8>),
}

impl From<(u16, Vec<u8>)> for Reply {
    fn from((status, body): (u16, Vec<u8>)) -> Self {
        Reply::Body(status, Arc::new(body))
    }
}

/// A 200 with `xml`.
pub fn ok(xml: impl Into<String>) -> Reply {
    Reply::Body(200, Arc::new(xml.into().into_bytes()))
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// The server; it stops when dropped.
pub struct Server {
    pub port: u16,
    received: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// A server answering every request with `handler` (a [`Reply`], or a status and a
    /// body), one connection per request.
    pub async fn start<R: Into<Reply>>(
        handler: impl Fn(&Request) -> R + Send + Sync + 'static,
    ) -> Self {
        let handler: Handler = Arc::new(move |r| handler(r).into());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&received);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let handler = Arc::clone(&handler);
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                        if head.len() > 1 << 20 {
                            return;
                        }
                    }
                    let request = Request::parse(String::from_utf8_lossy(&head).to_string());
                    seen.lock().unwrap().push(request.clone());
                    let (status, extra, body): (u16, String, Option<Arc<Vec<u8>>>) =
                        match handler(&request) {
                            Reply::Body(status, body) => (status, String::new(), Some(body)),
                            Reply::WithHeaders(status, extra, body) => {
                                (status, extra, Some(Arc::new(body)))
                            }
                            Reply::Stall => (200, String::new(), None),
                            Reply::Raw(bytes) => {
                                let _ = socket.write_all(&bytes).await;
                                let _ = socket.shutdown().await;
                                return;
                            }
                        };
                    let length = body.as_ref().map_or(1000, |b| b.len());
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {length}\r\n\
                         Content-Type: application/xml\r\n{extra}Connection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    match body {
                        Some(body) => {
                            for chunk in body.chunks(64 << 10) {
                                if socket.write_all(chunk).await.is_err() {
                                    return;
                                }
                            }
                            let _ = socket.shutdown().await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(120)).await,
                    }
                });
            }
        });
        Server {
            port,
            received,
            task,
        }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }

    /// An `s3` store `s` on this server (bucket `b`, static keys), with `extra` lines.
    pub fn s3_config(&self, extra: &str) -> Config {
        self.config(&format!(
            "[stores.s]\nprovider = \"s3\"\nbucket = \"b\"\nregion = \"us-east-1\"\n\
             access_key_id = \"k\"\nsecret_access_key = \"sEcReTsEcReTsEcReT\"\n{extra}"
        ))
    }

    /// An `azure` store `az` on this server (container `c`, account `acct`), with
    /// `extra` lines (credentials, prefix).
    pub fn azure_config(&self, extra: &str) -> Config {
        self.config(&format!(
            "[stores.az]\nprovider = \"azure\"\ncontainer = \"c\"\naccount = \"acct\"\n{extra}"
        ))
    }

    /// `table` (one store's), pointed at this server.
    fn config(&self, table: &str) -> Config {
        let toml = format!(
            "{table}endpoint = \"http://127.0.0.1:{}\"\nallow_http = true\n",
            self.port
        );
        Config::from_toml(&toml, "test.toml", ".").unwrap()
    }
}
