//! What the end-to-end suites share: a temporary working directory with a fast local cloud,
//! running the real binary, and reading the local cloud's objects.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_inferform");

/// A temporary working directory holding a configuration and a fast local cloud.
pub struct Work {
    pub dir: tempfile::TempDir,
}

impl Work {
    pub fn new(files: &[(&str, &str)]) -> Work {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write config");
        }
        // Short transitions keep the suite fast; the statuses still pass CREATING → RUNNING.
        std::fs::write(
            dir.path().join("local-cloud.json"),
            r#"{"timings": {"all_ms": 300}}"#,
        )
        .expect("write cloud config");
        Work { dir }
    }

    pub fn quickstart() -> Work {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&root).expect("examples/quickstart") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "hcl") {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                files.push((name, std::fs::read_to_string(&path).expect("read example")));
            }
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Work::new(&refs)
    }

    /// A working directory holding a copy of `examples/NAME`, subdirectories included.
    pub fn example(name: &str) -> Work {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name);
        let work = Work::new(&[]);
        copy_tree(&root, work.path());
        work
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes (or replaces) a file in the working directory.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).expect("write file");
    }

    /// Replaces the local cloud's configuration (timings, faults) for the next runs.
    pub fn cloud_config(&self, json: &str) {
        self.write("local-cloud.json", json);
    }

    /// The command, ready to run, with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("-C")
            .arg(self.path())
            .args(args)
            .env(
                "INFERFORM_LOCAL_CLOUD_CONFIG",
                self.path().join("local-cloud.json"),
            )
            .env("NO_COLOR", "1")
            .env_remove("HW_ACCESS_KEY")
            .env_remove("HW_SECRET_KEY")
            .env_remove("HW_AUTH_TOKEN")
            .env_remove("ALAYA_ACCESS_KEY")
            .env_remove("ALAYA_SECRET_KEY")
            .env_remove("INFERFORM_LOCAL_CLOUD")
            .env_remove("INFERFORM_WORKSPACE")
            .env_remove("PG_CONN_STR")
            .env_remove("PG_SCHEMA_NAME")
            .env_remove("PG_SKIP_SCHEMA_CREATION")
            .env_remove("INFERFORM_ENCRYPTION")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Out {
        Out::from(self.command(args).output().expect("run inferform"))
    }

    /// Runs `f` with the address of `inferform local-cloud serve` on this directory's local
    /// cloud data: a way to look at, or change, the cloud behind inferform's back.
    pub fn with_cloud<T>(&self, f: impl FnOnce(&str) -> T) -> T {
        let data = self.path().join(".inferform/local-cloud");
        let mut child = Command::new(BIN)
            .args(["local-cloud", "serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start local cloud");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read banner");
        let url = first.trim().rsplit(' ').next().expect("url").to_string();
        let addr = url.trim_start_matches("http://").to_string();
        let result = f(&addr);
        let _ = child.kill();
        let _ = child.wait();
        result
    }

    /// Every object the local cloud holds, by kind, read through `inferform local-cloud serve`
    /// on the same data folder.
    pub fn cloud_objects(&self) -> serde_json::Value {
        let body = self.with_cloud(|addr| http_get(addr, "/_local/objects"));
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("objects JSON: {e}: {body}"))
    }
}

/// Copies the `.hcl` files of `from` and its subdirectories into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example directory") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            std::fs::create_dir_all(&target).expect("create directory");
            copy_tree(&path, &target);
        } else if path.extension().is_some_and(|e| e == "hcl") {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// A plain HTTP/1.1 GET on loopback; returns the body.
pub fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to local cloud");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    }
}

pub fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).to_string(),
            stderr: String::from_utf8_lossy(&o.stderr).to_string(),
        }
    }
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn count(objects: &serde_json::Value) -> usize {
    objects.as_object().map_or(0, |m| {
        m.values().map(|v| v.as_array().map_or(0, Vec::len)).sum()
    })
}

pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

/// One HTTP/1.1 request on loopback with the local cloud's token (`X-Auth-Token`, accepted
/// by its Fabric API); returns the status and body.
pub fn http_call(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to local cloud");
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: local-token\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, rest) = response.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}
