//! The physical limit the benchmark compares against: a bare hyper 1 + tokio
//! server that answers every request with the same fixed JSON body, with the
//! same connection settings as the sandbox (HTTP/1.1 keep-alive, nodelay,
//! hyper-util's auto builder, the listen backlog) and the same allocator.
//! Prints the same ready line.
//!
//! `cargo run --release --example bare_hyper -- [PORT] [BODY_FILE] [DELAY_MS] [BUSY_NS]`
//!
//! With DELAY_MS every answer waits that long on a tokio timer first: the
//! floor for the sandbox's delayed requests. With BUSY_NS every answer first
//! keeps the CPU busy that long: the benchmark's calibration, what a given
//! cost per request does to the requests per second on the machine.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
// Links the sandbox's library for its global allocator alone: both servers
// allocate alike.
use mxid_sandbox as _;

const DEFAULT_BODY: &str = r#"{"isCURPValid":true,"curp":"PXNE660720HMCXTN06","lastName":"PEÑA","secondLastName":"NIETO","firstName":"ENRIQUE","gender":"M","birthDate":"20/07/1966","birthState":"MC","nationalityCode":"MEX","proofDocumentType":1,"curpStatus":"RCN","inputDigest":"1f4468bec0d3e093a3d4ab30b4117c795815ad75e0fe275108fbbc69296ae44c","outputDigest":"a1dfd8f9c00a859dc45e8d48d670469c690d85fec123d949d407277007366d80","timeStamp":"MjAyNi0xMS0yMVQyMDowMDoxNi0wNjowMA==","timeStampDigest":"b395acb51783627717c075132cee8b0f2e5f49bb811cee92434eacccd2eb1a10","validationDate":"2026-11-21T20:00:16-06:00","ccbResponseCode":"CRGEN000","ccbResponseDescription":"El proceso de validación se ha realizado exitosamente.","renapoResponseCode":"","renapoResponseDescription":"","warning":[]}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let body = match args.next() {
        Some(path) => Bytes::from(std::fs::read(path)?),
        None => Bytes::from_static(DEFAULT_BODY.as_bytes()),
    };
    let delay =
        std::time::Duration::from_millis(args.next().and_then(|d| d.parse().ok()).unwrap_or(0));
    let busy =
        std::time::Duration::from_nanos(args.next().and_then(|d| d.parse().ok()).unwrap_or(0));
    // Bound as the sandbox binds (its listen backlog): with tokio's default
    // a burst of ten thousand connects waits a second for SYN
    // retransmissions, and the floor would measure that instead of hyper.
    let listener = mxid_sandbox::server::bind("127.0.0.1", port).await?;
    println!("bare_hyper listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move {
                    // Read the request body, as the sandbox does.
                    let _ = req.into_body().collect().await;
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if !busy.is_zero() {
                        let start = std::time::Instant::now();
                        while start.elapsed() < busy {
                            std::hint::spin_loop();
                        }
                    }
                    let mut res = Response::new(Full::new(body));
                    res.headers_mut().insert(
                        "content-type",
                        "application/json; charset=utf-8".parse().unwrap(),
                    );
                    Ok::<_, Infallible>(res)
                }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
