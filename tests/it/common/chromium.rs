//! A real browser for the tests: Debian's Chromium, headless, started by stsenv as a user's
//! browser is (the flags only a test needs come through the STSENV_CHROMIUM_FLAGS test hook),
//! read while it runs over the DevTools HTTP endpoints (no websocket), and on disk with
//! `--dump-dom` once it is closed. Also what every process on the machine holds in its command
//! line and environment (/proc).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::TestEnv;

/// What a headless Chromium needs here: no sandbox (the tests may run as root), no GPU, no
/// reliance on a container's small /dev/shm, and nothing off this machine (without the resolver rule it looks up accounts.google.com and
/// clients2.google.com at every start, whatever else it is told).
pub const HEADLESS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

/// For the browsers stsenv starts, so that their pages can be read while they run (never
/// with --dump-dom: a headless Chromium then doesn't exit after the dump).
pub const DEVTOOLS: &str = "--remote-debugging-port=0";

/// One browser test at a time: each Chromium start costs a core for a second or more.
pub fn serial() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The real Chromium, or a failure that says what to install.
pub fn chromium() -> PathBuf {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "chromium is not installed: these tests drive a real browser; install Debian's `chromium` package (apt-get install chromium; scripts/test.sh installs it)"
    );
}

/// STSENV_CHROMIUM_FLAGS for the browsers stsenv starts.
pub fn test_flags() -> String {
    HEADLESS
        .iter()
        .chain([&DEVTOOLS])
        .map(|f| stsenv::shell::quote_posix_word(f))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Stops, when dropped, every process whose command line mentions `dir` (the test's HOME):
/// the browsers stsenv started there and their helpers, whatever happened.
pub struct Browsers {
    dir: String,
}

impl Browsers {
    pub fn under(dir: &Path) -> Browsers {
        Browsers {
            dir: dir.to_string_lossy().into_owned(),
        }
    }
}

impl Drop for Browsers {
    fn drop(&mut self) {
        for (pid, cmd) in processes() {
            if cmd.contains(&self.dir) && pid != std::process::id() {
                // SAFETY: signalling a process this test started.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }
}

/// Every process: its pid and its argv joined with spaces.
pub fn processes() -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(raw) = std::fs::read(e.path().join("cmdline")) {
            let words: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            out.push((pid, words.join(" ")));
        }
    }
    out
}

/// Where any of `secrets` is in a process's argv or environment, as "<pid> <file>": every
/// process on the machine, which takes in those stsenv started and the helpers Chromium
/// starts and hands to init (its crash handlers).
pub fn holding(secrets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() {
            continue;
        }
        for file in ["cmdline", "environ"] {
            // Gone meanwhile, or not ours to read: nothing to see.
            let Ok(bytes) = std::fs::read(e.path().join(file)) else {
                continue;
            };
            for s in secrets {
                if bytes.windows(s.len()).any(|w| w == s.as_bytes()) {
                    found.push(format!("{name} {file}"));
                }
            }
        }
    }
    found
}

/// The browser process on a user-data folder (the one without `--type=`), and how many
/// processes name that folder.
pub fn browser_of(udd: &Path) -> Option<(u32, usize)> {
    let flag = format!("--user-data-dir={}", udd.display());
    let procs: Vec<(u32, String)> = processes()
        .into_iter()
        .filter(|(_, c)| c.contains(&flag))
        .collect();
    let main = procs.iter().find(|(_, c)| !c.contains("--type="))?.0;
    Some((main, procs.len()))
}

pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Closes a context's browser as a user would: SIGINT, on which Chromium writes its cookies
/// out (a headless one loses the last 30 s of them on SIGTERM).
pub fn close(udd: &Path) {
    let (pid, _) = browser_of(udd).expect("a browser runs on it");
    // SAFETY: signalling a process this test started.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    wait_until("the browser to exit", Duration::from_secs(30), || {
        browser_of(udd).is_none()
    });
    wait_until("its SingletonLock to go", Duration::from_secs(10), || {
        std::fs::symlink_metadata(udd.join("SingletonLock")).is_err()
    });
}

/// One HTTP request to 127.0.0.1; the body (by its Content-Length: the DevTools endpoint
/// keeps the connection open whatever Connection says).
pub fn http(method: &str, port: u16, target: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut r = BufReader::new(s);
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        }
        None => {
            r.read_to_end(&mut body)?;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// In the running browser of a user-data folder: opens `url` in a new tab and returns that
/// tab's title once it says who is signed in (DevTools HTTP: PUT /json/new, GET /json/list).
pub fn open_in_running(udd: &Path, url: &str) -> String {
    let port: u16 = std::fs::read_to_string(udd.join("DevToolsActivePort"))
        .expect("DevToolsActivePort: the browser runs with --remote-debugging-port")
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let tab: serde_json::Value =
        serde_json::from_str(&http("PUT", port, &format!("/json/new?{url}")).unwrap()).unwrap();
    let id = tab["id"].as_str().unwrap().to_string();
    let mut title = String::new();
    wait_until("the tab to load", Duration::from_secs(20), || {
        let list: serde_json::Value =
            serde_json::from_str(&http("GET", port, "/json/list").unwrap()).unwrap();
        title = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id.as_str())
            .and_then(|t| t["title"].as_str())
            .unwrap_or("")
            .to_string();
        title.contains("signed in")
    });
    title
}

/// The one-time link the browser on a user-data folder was given (on its command line).
pub fn link_of(udd: &Path) -> String {
    let flag = format!("--user-data-dir={}", udd.display());
    processes()
        .into_iter()
        .find(|(_, c)| c.contains(&flag) && !c.contains("--type="))
        .and_then(|(_, c)| {
            c.split(' ')
                .find(|w| w.starts_with("http://127.0.0.1:"))
                .map(String::from)
        })
        .expect("a one-time link on the browser's command line")
}

/// What a one-off `chromium --dump-dom` on a user-data folder shows at `url` (the page's
/// title): the folder's state on disk, its browser closed.
pub fn title_at(env: &TestEnv, udd: &Path, url: &str) -> String {
    let out = env
        .command(chromium().to_str().unwrap())
        .args(HEADLESS)
        .arg(format!("--user-data-dir={}", udd.display()))
        .args(["--dump-dom", url])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&out.stdout);
    html.split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("")
        .to_string()
}
