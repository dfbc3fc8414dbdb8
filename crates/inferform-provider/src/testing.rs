//! A tiny scripted HTTP/1.1 server on 127.0.0.1 for the provider crates' unit tests (feature
//! `testing`). It is not the local cloud: it knows no API, it answers what the test's handler
//! returns and records every request. One request per connection (`Connection: close`).
//! An answer can also stream ([`Reply::Stream`]: chunked, piece by piece, with pauses or waits
//! for the test between pieces) or never come ([`Reply::Stall`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Close the connection without answering.
    Drop,
    /// Answer nothing for this long, then close the connection.
    Stall(Duration),
    /// Send the head at once, then the body in pieces (`Transfer-Encoding: chunked`), each
    /// written and flushed on its own.
    Stream {
        status: u16,
        headers: Vec<(String, String)>,
        pieces: Vec<Piece>,
    },
}

/// One step of a streamed body.
#[derive(Clone, Debug)]
pub enum Piece {
    /// Send this text as one chunk.
    Data(String),
    /// Wait this long before going on.
    Pause(Duration),
    /// Wait until the test calls `notify_one` (say, once the client has seen the text so far).
    Wait(Arc<tokio::sync::Notify>),
}

impl Piece {
    pub fn data(text: impl Into<String>) -> Self {
        Piece::Data(text.into())
    }
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Reply::Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    /// A `text/event-stream` answer of 200 sent in `pieces`.
    pub fn event_stream(pieces: Vec<Piece>) -> Self {
        Reply::Stream {
            status: 200,
            headers: vec![("Content-Type".into(), "text/event-stream".into())],
            pieces,
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Reply::Answer {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Answer {
                    status,
                    headers,
                    body,
                }
            }
            Reply::Stream {
                status,
                mut headers,
                pieces,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Stream {
                    status,
                    headers,
                    pieces,
                }
            }
            other => other,
        }
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// The server; it stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, handler, log).await;
                });
            }
        });
        FakeServer {
            addr,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<Recorded>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let recorded = Recorded {
        method,
        target,
        headers,
        body,
    };
    if let Ok(mut log) = log.lock() {
        log.push(recorded.clone());
    }
    match handler(&recorded) {
        Reply::Drop => {
            // Give the client a moment to have sent everything, then hang up.
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(())
        }
        Reply::Stall(time) => {
            tokio::time::sleep(time).await;
            Ok(())
        }
        Reply::Stream {
            status,
            headers,
            pieces,
        } => {
            let mut out = format!("HTTP/1.1 {status} X\r\n");
            for (n, v) in headers {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
            out.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
            stream.write_all(out.as_bytes()).await?;
            stream.flush().await?;
            for piece in pieces {
                match piece {
                    Piece::Data(text) if text.is_empty() => {}
                    Piece::Data(text) => {
                        let chunk = format!("{:x}\r\n{text}\r\n", text.len());
                        stream.write_all(chunk.as_bytes()).await?;
                        stream.flush().await?;
                    }
                    Piece::Pause(time) => tokio::time::sleep(time).await,
                    Piece::Wait(signal) => signal.notified().await,
                }
            }
            stream.write_all(b"0\r\n\r\n").await?;
            stream.shutdown().await
        }
        Reply::Answer {
            status,
            headers,
            body,
        } => {
            let mut out = format!("HTTP/1.1 {status} X\r\n");
            for (n, v) in headers {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
            out.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            out.push_str(&body);
            stream.write_all(out.as_bytes()).await?;
            stream.shutdown().await
        }
    }
}
