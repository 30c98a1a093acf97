//! The real binary, run as a user runs it: `devproxy check`, and `devproxy serve` read line by
//! line from its standard output.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn devproxy(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devproxy"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("run devproxy")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn dir_with(config: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("proxy.conf.json"), config).unwrap();
    d
}

/// Starts `devproxy serve` and reads its banner up to the rules table.
pub struct Serving {
    pub child: Child,
    pub banner: Vec<String>,
    pub lines: Lines,
}

/// Standard output lines, read on a thread so that waiting for one can time out.
pub struct Lines(pub std::sync::mpsc::Receiver<String>);

impl Lines {
    pub fn spawn(out: std::process::ChildStdout) -> Lines {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines(rx)
    }

    /// The next line, or None after 20 s without one.
    pub fn next(&mut self) -> Option<std::io::Result<String>> {
        self.0.recv_timeout(Duration::from_secs(20)).ok().map(Ok)
    }
}

pub fn serve(cwd: &Path, args: &[&str]) -> Serving {
    serve_env(cwd, args, &[])
}

/// `serve` with extra environment variables.
pub fn serve_env(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Serving {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devproxy"))
        .arg("serve")
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Lines::spawn(child.stdout.take().unwrap());
    let mut banner = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let done = line.contains("Rules from") || line.contains("No proxy.conf.json");
        banner.push(line);
        if done {
            break;
        }
    }
    Serving {
        child,
        banner,
        lines,
    }
}

impl Serving {
    pub fn port(&self) -> u16 {
        let line = self
            .banner
            .iter()
            .find(|l| l.contains("Local:"))
            .expect("Local line");
        let after = line.split("localhost:").nth(1).expect("a port");
        after.split('/').next().unwrap().parse().unwrap()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http_get(port: u16, path: &str) -> String {
    http_get_with(port, path, "")
}

/// A page navigation: `Accept: text/html`, as a browser's address bar sends.
pub fn http_get_html(port: u16, path: &str) -> String {
    http_get_with(port, path, "Accept: text/html\r\n")
}

fn http_get_with(port: u16, path: &str, extra: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Reads log lines until one contains `want` (or 20 s pass); returns the lines read.
pub fn read_until(s: &mut Serving, want: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = s.lines.next() else {
            break;
        };
        let done = line.contains(want);
        seen.push(line);
        if done {
            break;
        }
    }
    seen
}

/// Saves as editors do (write a new file, rename it over), so no half-written file is seen.
pub fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
