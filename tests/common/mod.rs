//! Starts the real server on port 0 and talks HTTP to it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use mxid_sandbox::config::Source;
use mxid_sandbox::engine::clock::Start;
use mxid_sandbox::time::Timestamp;
use mxid_sandbox::Config;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where every test's sandbox clock starts: a Wednesday morning, provider time.
pub const START: &str = "2024-05-15T10:00:00-06:00";

/// The default test configuration: embedded YAML, a frozen clock at
/// [`START`] (only the admin API moves it), seed 0.
pub fn config() -> Config {
    Config {
        clock: Start {
            at: Some(Timestamp::parse_rfc3339(START).unwrap()),
            scale: 0.0,
        },
        shutdown_timeout: Duration::from_secs(2),
        ..Config::default()
    }
}

/// The admin API's reads of one namespace's state.
pub const ADMIN_READS: [&str; 7] = [
    "/__admin/requests",
    "/__admin/counters",
    "/__admin/overrides",
    "/__admin/clock",
    "/__admin/verifications",
    "/__admin/webhooks",
    "/__admin/webhooks/deliveries",
];

/// validacurp calculateCURP's fields, in the order of their "missing"
/// codes 400–407 (seed 001).
pub const CALC_FIELDS: [&str; 8] = [
    "names",
    "lastName",
    "secondLastName",
    "birthday",
    "birthMonth",
    "yearBirth",
    "gender",
    "entity",
];

/// The shared CURP-status scenarios and the RENAPO status each forces.
pub const CURP_STATUSES: [(&str, &str); 10] = [
    ("active", "AN"),
    ("homonymy", "AH"),
    ("changed_data", "RCN"),
    ("changed_curp", "RCC"),
    ("deceased", "BD"),
    ("unused", "BSU"),
    ("apocryphal", "BAP"),
    ("administrative_removal", "BDM"),
    ("adoption", "BDP"),
    ("judicial_removal", "BJD"),
];

/// A fresh, empty folder under this run's own folder
/// (`mxid-sandbox-tests/PID` in the system temp dir). A test that does not
/// remove its folder leaves it to the next run, which first removes the
/// folders of runs no longer alive: a machine running the suite again and
/// again keeps at most one run's worth.
pub fn temp_dir(tag: &str) -> PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    static N: AtomicU32 = AtomicU32::new(0);
    let run = RUN.get_or_init(|| {
        let root = std::env::temp_dir().join("mxid-sandbox-tests");
        remove_ended_runs(&root);
        root.join(std::process::id().to_string())
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = run.join(format!(
        "{tag}-{}-{nanos}",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes the folders under `root` of test runs whose process has ended
/// (Linux's /proc tells; elsewhere none is removed).
fn remove_ended_runs(root: &std::path::Path) {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Removes its folder when dropped: a test's temp folder goes whether the
/// test passes or fails (`let _gone = RemovedOnDrop(dir.clone());`).
pub struct RemovedOnDrop(pub PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh folder holding `files` (name, text), removed when the guard
/// drops.
pub fn folder(tag: &str, files: &[(&str, &str)]) -> (PathBuf, RemovedOnDrop) {
    let dir = temp_dir(tag);
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    (dir.clone(), RemovedOnDrop(dir))
}

/// A sandbox (the test configuration) reading its scenario files from a
/// fresh folder holding `files` (name, text); the folder's guard.
pub async fn on_scenario_files(tag: &str, files: &[(&str, &str)]) -> (Sandbox, RemovedOnDrop) {
    let (dir, gone) = folder(tag, files);
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir),
        ..config()
    })
    .await;
    (sb, gone)
}

/// One request per provider: (provider, path, credential headers, JSON
/// body).
pub type ProviderRequest = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    String,
);

/// The ids of the providers the sandbox serves, in `providers::all()`'s
/// order.
pub fn provider_ids() -> Vec<&'static str> {
    mxid_sandbox::providers::all()
        .iter()
        .map(|p| p.id())
        .collect()
}

/// Fails unless `listed` (a test's own table of per-provider requests or
/// values, `what`) names every provider the sandbox serves: a provider
/// added later fails the test that would otherwise skip it without a word
/// (README, Architecture: "Adding a sixth provider").
pub fn assert_every_provider<'a>(what: &str, listed: impl IntoIterator<Item = &'a str>) {
    let mut listed: Vec<&str> = listed.into_iter().collect();
    listed.sort_unstable();
    listed.dedup();
    let mut served = provider_ids();
    served.sort_unstable();
    assert_eq!(
        listed, served,
        "{what} lists these providers; the sandbox serves the others too: add them to it"
    );
}

/// A request each provider answers `success` for `curp`, in the order
/// curpv5, nss, accuauth, validacurp, async.
pub fn provider_requests(curp: &str) -> Vec<ProviderRequest> {
    let body = |field: &str| serde_json::json!({ field: curp }).to_string();
    let requests = vec![
        (
            "curpv5",
            "/api/curp/bycurp",
            vec![("apikey", "k")],
            body("curp"),
        ),
        (
            "nss",
            "/api/v1/imss/nss",
            vec![("x-api-key", "k")],
            body("curp"),
        ),
        (
            "accuauth",
            "/verify/id_check",
            vec![("x-df-api-id", "id"), ("x-df-api-secret", "s")],
            body("id_number"),
        ),
        (
            "validacurp",
            "/curp/getData",
            vec![("authorization", "Bearer t")],
            body("curp"),
        ),
        (
            "async",
            "/api/AsyncVerication/NssByCurp",
            vec![("apikey", "k")],
            body("curp"),
        ),
    ];
    assert_every_provider("provider_requests", requests.iter().map(|r| r.0));
    requests
}

/// The sandbox served in the test's own runtime (`mxid_sandbox::serve` on
/// port 0); talked to through [`Http`], which it derefs to.
pub struct Sandbox {
    pub addr: SocketAddr,
    http: Http,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Request headers, as a list of name and value.
pub type Headers<'a> = Vec<(&'a str, &'a str)>;

/// A client of one running sandbox, at `base`.
pub struct Http {
    pub base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The scenario that answered (`X-Sandbox-Scenario`).
    pub fn scenario(&self) -> &str {
        self.header("x-sandbox-scenario").unwrap_or("")
    }
}

impl Sandbox {
    pub async fn start() -> Sandbox {
        Sandbox::start_with(config()).await
    }

    pub async fn start_with(config: Config) -> Sandbox {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            mxid_sandbox::serve(listener, config, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Sandbox {
            addr,
            http: Http::new(format!("http://{addr}")),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Stops the server and waits up to `wait` for its task to end: whether
    /// it ended (then `serve` has returned and its listener is closed).
    /// Panics if the server task failed.
    pub async fn stop_within(mut self, wait: Duration) -> bool {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(task) = self.task.take() else {
            return true;
        };
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => panic!("the server task failed: {e}"),
            Err(_) => false,
        }
    }
}

impl std::ops::Deref for Sandbox {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Http {
    pub fn new(base: String) -> Http {
        Http {
            base,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends any request; `headers` are (name, value) pairs.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        let req = self.request(method, path, headers, body.into());
        tokio::time::timeout(Duration::from_secs(30), exchange(&self.client, req))
            .await
            .expect("the sandbox answered within 30 s")
            .expect("the request went through")
    }

    /// [`Sandbox::send`] on a task of its own, for a test that does
    /// something else while the request is in flight: the answer, or why
    /// there was none (the connection closed under it).
    pub fn send_in_background(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> JoinHandle<Result<Resp, String>> {
        let req = self.request(method, path, headers, body.into());
        let client = self.client.clone();
        tokio::spawn(async move { exchange(&client, req).await })
    }

    /// Waits until the default namespace's journal holds `n` entries: a
    /// request is journaled when its answer is decided, before its delay,
    /// so a delayed one is then waiting inside the server. Panics after 5 s.
    pub async fn journaled(&self, n: usize) {
        let started = std::time::Instant::now();
        while self
            .admin_get("/__admin/requests")
            .await
            .as_array()
            .map_or(0, Vec::len)
            < n
        {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{n} requests not journaled within 5 s"
            );
            tokio::task::yield_now().await;
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Request<Full<Bytes>> {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            // Bytes as written: a test sends letters past ASCII too, which
            // http's `&str` conversion refuses since 1.6.
            req = req.header(*k, HeaderValue::from_bytes(v.as_bytes()).unwrap());
        }
        req.body(Full::new(body)).unwrap()
    }

    /// POSTs a JSON body.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Resp {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.send("POST", path, &h, serde_json::to_vec(&body).unwrap())
            .await
    }

    /// POSTs the provider request `p` (see [`provider_requests`]), with
    /// the `extra` headers.
    pub async fn provider_post(&self, p: &ProviderRequest, extra: &[(&str, &str)]) -> Resp {
        let (_, path, creds, body) = p;
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(creds);
        h.extend_from_slice(extra);
        self.send("POST", path, &h, body.clone()).await
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send("GET", path, headers, Bytes::new()).await
    }

    /// An admin GET, expected to answer 200 with JSON.
    pub async fn admin_get(&self, path: &str) -> Value {
        let r = self.get(path, &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    }

    /// How many entries the admin listing at `path` holds.
    pub async fn admin_count(&self, path: &str) -> usize {
        let listing = self.admin_get(path).await;
        listing
            .as_array()
            .unwrap_or_else(|| panic!("{path}: not a list: {listing}"))
            .len()
    }

    /// An admin POST with a JSON body.
    pub async fn admin_post(&self, path: &str, body: Value) -> Resp {
        self.post(path, &[], body).await
    }

    pub async fn admin_delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, &[], Bytes::new()).await
    }

    /// The catalog rows (`GET /__admin/scenarios`) of one provider.
    pub async fn catalog_of(&self, provider: &str) -> Vec<Value> {
        let catalog = self.admin_get("/__admin/scenarios").await;
        let rows: Vec<Value> = catalog
            .as_array()
            .expect("the catalog is an array")
            .iter()
            .filter(|e| e["provider"] == provider)
            .cloned()
            .collect();
        assert!(
            !rows.is_empty(),
            "{provider} has no scenarios in the catalog"
        );
        rows
    }

    /// Sets the sandbox clock of the default namespace to `at` (its scale
    /// as it was: the test configuration's is 0, a frozen clock).
    pub async fn set_clock(&self, at: &str) {
        let r = self
            .admin_post("/__admin/clock", serde_json::json!({ "set": at }))
            .await;
        assert_eq!(r.status, 200, "{at}: {}", r.text());
    }

    /// Moves the sandbox clock of the default namespace forward.
    pub async fn advance(&self, by: &str) {
        let r = self
            .admin_post("/__admin/clock", serde_json::json!({ "advance": by }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

/// Sends `req` and reads the whole answer.
async fn exchange(
    client: &Client<HttpConnector, Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<Resp, String> {
    let res = client.request(req).await.map_err(|e| format!("{e:?}"))?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e:?}"))?
        .to_bytes();
    Ok(Resp {
        status,
        headers,
        body,
    })
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The binary, `mxid-sandbox serve … --port 0`, in a process of its own: for
/// what only a process shows (its ready line, its stderr, signals, its exit).
/// Talked to through [`Http`], which it derefs to; killed when dropped.
pub struct Served {
    http: Http,
    /// The line it printed once ready.
    pub ready: String,
    child: Option<std::process::Child>,
}

impl Served {
    /// Starts `serve ARGS` with no `MXID_*` variable of the test's own
    /// environment but those in `env`, and waits (10 s at most) for its
    /// ready line.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Served {
        Served::start_under("", args, env)
    }

    /// As `start`, run by `sh -c` after the shell commands `pre` (a
    /// `ulimit`, a `cd`, an `unset`); `""` runs it directly.
    pub fn start_under(pre: &str, args: &[&str], env: &[(&str, &str)]) -> Served {
        let mut served = Served::spawn(pre, args, env);
        let stdout = served.child().stdout.take().unwrap();
        let Some((ready, _)) = first_line(stdout) else {
            panic!("serve {args:?} printed no ready line within 10 s");
        };
        let base = ready
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the ready line {ready:?}"))
            .to_string();
        served.http = Http::new(base);
        served.ready = ready;
        served
    }

    /// Starts `serve --host 0.0.0.0 --port 0 ARGS` with its stdout closed
    /// before it prints anything, as under a launcher that has gone away.
    /// Bound to every address without an `--admin-token`, it warns on
    /// stderr of the address it is bound to: it is talked to there, through
    /// 127.0.0.1, and `ready` is that warning.
    pub fn start_with_stdout_closed(args: &[&str]) -> Served {
        let mut all = vec!["--host", "0.0.0.0", "--port", "0"];
        all.extend_from_slice(args);
        let mut served = Served::spawn("", &all, &[]);
        drop(served.child().stdout.take());
        let stderr = served.child().stderr.take().unwrap();
        let Some((warning, stderr)) = first_line(stderr) else {
            panic!("serve {all:?} wrote nothing to stderr within 10 s");
        };
        // The rest of its stderr, for `exited_within` and `kill`.
        served.child().stderr = Some(stderr);
        let port = warning
            .split("bound to 0.0.0.0:")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("no address in {warning:?}"));
        served.http = Http::new(format!("http://127.0.0.1:{port}"));
        served.ready = warning;
        served
    }

    /// `serve ARGS` (after the shell commands `pre`, when there are any),
    /// its stdout and stderr piped, with no `MXID_*` variable of the test's
    /// own environment but those in `env`; not talked to yet.
    fn spawn(pre: &str, args: &[&str], env: &[(&str, &str)]) -> Served {
        let bin = env!("CARGO_BIN_EXE_mxid-sandbox");
        let mut cmd = if pre.is_empty() {
            std::process::Command::new(bin)
        } else {
            let mut sh = std::process::Command::new("sh");
            sh.arg("-c")
                .arg(format!("{pre}\nexec \"$0\" \"$@\""))
                .arg(bin);
            sh
        };
        cmd.arg("serve").args(args);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MXID_")) {
            cmd.env_remove(k);
        }
        let child = cmd
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs");
        // Held from here on, so that a test that fails kills it.
        Served {
            http: Http::new(String::new()),
            ready: String::new(),
            child: Some(child),
        }
    }

    fn child(&mut self) -> &mut std::process::Child {
        self.child.as_mut().expect("still running")
    }

    /// The address it serves on.
    pub fn addr(&self) -> SocketAddr {
        let base = &self.http.base;
        base.trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|e| panic!("{base:?}: {e}"))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("still running").id()
    }

    /// A `VmRSS`-like line of its `/proc/PID/status` (`VmHWM`, its peak),
    /// in KB.
    pub fn memory_kb(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in its status"))
    }

    /// How many files it holds open.
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|fds| fds.count())
            .unwrap_or(0)
    }

    /// Waits (polling, 10 s at most) until the number of files it holds
    /// open is `wanted`: the connections a client opened or closed seen
    /// on its side too.
    pub fn wait_open_files(&self, wanted: impl Fn(usize) -> bool) {
        let start = std::time::Instant::now();
        while !wanted(self.open_files()) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{} files open",
                self.open_files()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends it SIGTERM, as a CI runner stopping it would.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends it the signal `name` (`INT`, `TERM` …).
    pub fn signal(&self, name: &str) {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Sends it the signals `names` back to back, from one process: as a
    /// terminal's Ctrl-C and a supervisor's SIGTERM come together (two
    /// `kill` processes may be started far apart on a busy machine).
    pub fn signals_together(&self, names: &[&str]) {
        let pid = self.pid();
        let script: Vec<String> = names.iter().map(|n| format!("kill -{n} {pid}")).collect();
        let sent = std::process::Command::new("sh")
            .args(["-c", &script.join(" && ")])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits (at most `wait`) until it no longer takes connections: once it
    /// has taken a signal to stop, it closes its listener.
    pub fn stops_listening_within(&self, wait: Duration) -> bool {
        let addr = self.addr();
        let start = std::time::Instant::now();
        while start.elapsed() < wait {
            if std::net::TcpStream::connect(addr).is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Closes the test's end of its stderr: its next line there meets a
    /// broken pipe, as under `serve 2>&1 | head -1` once head has gone.
    pub fn close_stderr(&mut self) {
        drop(self.child().stderr.take());
    }

    /// The next line it writes to stderr (waited for 10 s at most).
    pub fn stderr_line(&mut self) -> String {
        let stderr = self.child().stderr.take().expect("stderr still open");
        let Some((line, stderr)) = first_line(stderr) else {
            panic!("nothing more on stderr within 10 s");
        };
        self.child().stderr = Some(stderr);
        line
    }

    /// Its exit status if it exits within `wait` (polled), `None` if it is
    /// still running then; it stays held either way.
    pub fn status_within(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child().try_wait().unwrap() {
                return Some(status);
            }
            if start.elapsed() > wait {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (at most `wait`) for the process to exit: its exit status and
    /// all it wrote to stderr. Panics, killing it, if it is still running.
    pub async fn exited_within(mut self, wait: Duration) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().expect("still running");
        let pid = child.id().to_string();
        let waited = tokio::time::timeout(
            wait,
            tokio::task::spawn_blocking(move || {
                // Read to its end (the exit) first: a full pipe would keep
                // the process from exiting.
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                (child.wait(), stderr)
            }),
        )
        .await;
        match waited {
            Ok(Ok((status, stderr))) => (status.unwrap(), stderr),
            _ => {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid])
                    .status();
                panic!("still running {wait:?} later");
            }
        }
    }

    /// Kills it: all it wrote to stderr.
    pub fn kill(mut self) -> String {
        let mut child = self.child.take().expect("still running");
        let _ = child.kill();
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        let _ = child.wait();
        stderr
    }
}

impl std::ops::Deref for Served {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first line `pipe` gives, and the pipe, read on a thread byte by byte
/// (what follows stays in the pipe), so that a process that never writes
/// it fails the test instead of hanging it: `None` after 10 s.
fn first_line<R: std::io::Read + Send + 'static>(mut pipe: R) -> Option<(String, R)> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8];
        while let Ok(1) = pipe.read(&mut byte) {
            line.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        let _ = tx.send((String::from_utf8_lossy(&line).into_owned(), pipe));
    });
    rx.recv_timeout(Duration::from_secs(10)).ok()
}

/// A strictly valid CURP for these data (RENAPO's calculation).
pub fn curp_for(
    names: &str,
    first: &str,
    second: &str,
    (y, m, d): (i32, u8, u8),
    sex: mxid_sandbox::curp::Sex,
    state: &str,
) -> String {
    mxid_sandbox::curp::calculate(&mxid_sandbox::curp::CalcInput {
        names: names.into(),
        first_surname: first.into(),
        second_surname: second.into(),
        birth_date: mxid_sandbox::time::Date::new(y, m, d).unwrap(),
        sex,
        state: state.into(),
    })
    .unwrap()
}

/// `first17` with its check digit.
pub fn with_check_digit(first17: &str) -> String {
    format!(
        "{first17}{}",
        mxid_sandbox::curp::check_digit(first17).unwrap()
    )
}

/// `name: value` of each header but those named `left_out`, sorted.
pub fn sorted_headers(headers: &HeaderMap, left_out: &str) -> Vec<String> {
    let mut lines: Vec<String> = headers
        .iter()
        .filter(|(k, _)| k.as_str() != left_out)
        .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    lines.sort();
    lines
}

/// A raw HTTP/1.x head (without its blank line): the first line, the
/// header fields as sent (name and value trimmed), and its
/// `Content-Length` (0 without one).
pub fn parse_head(head: &[u8]) -> (String, Vec<(String, String)>, usize) {
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    (first, headers, len)
}
