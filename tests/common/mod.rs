//! Starts the real server on port 0 and talks HTTP to it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
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

pub struct Sandbox {
    pub addr: SocketAddr,
    pub base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
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
        let client = Client::builder(TokioExecutor::new()).build_http();
        Sandbox {
            addr,
            base: format!("http://{addr}"),
            client,
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

    /// Sends any request; `headers` are (name, value) pairs.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).unwrap();
        let res = tokio::time::timeout(Duration::from_secs(30), self.client.request(req))
            .await
            .expect("the sandbox answered within 30 s")
            .expect("the request went through");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// POSTs a JSON body.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Resp {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.send("POST", path, &h, serde_json::to_vec(&body).unwrap())
            .await
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

    /// Moves the sandbox clock of the default namespace forward.
    pub async fn advance(&self, by: &str) {
        let r = self
            .admin_post("/__admin/clock", serde_json::json!({ "advance": by }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
