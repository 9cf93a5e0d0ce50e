//! The accept loop, connections and graceful shutdown: the only place where
//! hyper's server lives.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};

use crate::engine::budget::Lease;
use crate::engine::latency::Fault;
use crate::engine::{AnswerTiming, Engine, Reply};
use crate::request::Request;
use crate::stderr::warn;

/// Streams an HTTP/2 connection carries at once (hyper's default).
const H2_STREAMS: u32 = 200;

/// How long a `hang` fault holds a request when the client never gives up.
const HANG_LIMIT: Duration = Duration::from_secs(600);

/// How much of an oversized body is read and thrown away so that the client
/// gets its 413 instead of a reset connection.
const DRAIN_FACTOR: usize = 16;

/// The stack of a thread of the server's own (stderr's writer, the header
/// timeout's watch), set rather than taken from `RUST_MIN_STACK`, which
/// may be far smaller.
pub const SMALL_STACK: usize = 256 << 10;

/// Raises the process's soft limit on open files to the hard one, before
/// the server starts. A connection is a descriptor: the soft limit (1,024
/// on many machines) would have the kernel refuse clients long before
/// `--max-connections`; Go's runtime and nginx raise it likewise. Where it
/// cannot be raised, the accept loop's backing off stands.
pub fn raise_open_files_limit() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
}

/// Serves `engine` on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish (up to the configured wait) and
/// returns.
pub async fn serve(
    listener: TcpListener,
    engine: Engine,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let watch = HeaderWatch::start(engine.config())?;
    serve_watched(listener, engine, watch, shutdown).await
}

/// The header timeout's watch, a thread of its own, started apart from
/// [`serve_watched`]: before the ready line, so that a process that cannot
/// start it (a limit on processes) says so before it says it is ready.
pub struct HeaderWatch(Arc<HeadWatch>);

impl HeaderWatch {
    pub fn start(config: &crate::Config) -> io::Result<HeaderWatch> {
        HeadWatch::start(config.header_timeout).map(HeaderWatch)
    }
}

/// [`serve`] with its header timeout's watch started.
pub async fn serve_watched(
    listener: TcpListener,
    engine: Engine,
    watch: HeaderWatch,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let config = engine.config().clone();
    let mut h1 = http1::Builder::new();
    // The header timeout is the server's own (`HeadWatch`): hyper's arms a
    // tokio timer for every request.
    h1.header_read_timeout(None).keep_alive(true);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD)
        .max_concurrent_streams(H2_STREAMS)
        // h2 closes a connection (GOAWAY, ENHANCE_YOUR_CALM) whose client
        // resets more streams than this before the server takes them up:
        // the "rapid reset" flood. At h2's 20, a client whose timeouts
        // cancelled a burst of requests it had just sent lost the rest of
        // the connection's requests with them. As many as it may have
        // open still ends a flood.
        .max_pending_accept_reset_streams(Some(H2_STREAMS as usize));
    let builders = Arc::new((h1, h2));
    let graceful = GracefulShutdown::new();
    let heads = watch.0;
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    // Tells requests held by a `hang` fault to let go at shutdown.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);

    // When a failed accept was last written: at most one line every
    // `ACCEPT_WARN_EVERY`, however often descriptors free and run out again.
    let mut warned: Option<std::time::Instant> = None;
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    if warned.is_none_or(|at| at.elapsed() >= ACCEPT_WARN_EVERY) {
                        warn(format_args!(
                            "accept failed: {e}; retrying every {} ms",
                            ACCEPT_RETRY.as_millis()
                        ));
                        warned = Some(std::time::Instant::now());
                    }
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(ResettableIo {
            inner: stream,
            reset: reset.clone(),
        });
        let mut stop = stop_rx.clone();
        // What the connection's requests need, behind one reference count
        // of the connection's own: a count shared by every connection
        // would be written by every worker on every request.
        let ctx = Arc::new(Ctx {
            engine: engine.clone(),
            stop: stop_rx.clone(),
            reset,
            head: HeadWait::new(&heads),
            streams: AtomicU32::new(0),
            enough: Notify::new(),
        });
        let watched = ctx.clone();
        let service = service_fn(move |req| respond(ctx.clone(), req));
        let (builders, watcher, heads) = (builders.clone(), graceful.watcher(), heads.clone());
        let header_timeout = config.header_timeout;
        tokio::spawn(async move {
            // A client that has sent nothing yet is not waited for at
            // shutdown: there is no request of its to finish.
            let protocol = tokio::select! {
                p = tokio::time::timeout(header_timeout, is_http2(&io.inner().inner)) => p,
                _ = stop.wait_for(|s| *s) => return drop(permit),
            };
            // Errors here are the client's (a reset, a timeout, garbage); the
            // connection simply ends. Cut off by the header timeout, it is
            // dropped: closed with no answer, as hyper's own timeout did.
            match protocol {
                // The same wait written out twice, not a helper: a helper's
                // future holds the connection in its own state beside the
                // task's, about 800 bytes more a connection (8 MB for the
                // benchmark's ten thousand delayed requests).
                Ok(Ok(false)) => {
                    heads.watch(&watched);
                    let conn = watcher.watch(builders.0.serve_connection(io, service));
                    tokio::select! {
                        _ = conn => {}
                        () = watched.head.cut.notified() => {}
                    }
                }
                Ok(Ok(true)) => {
                    heads.watch(&watched);
                    // Shutdown waits for the connection while the watcher
                    // is held; the connection is told (GOAWAY) by `stop`,
                    // as the watcher would, or once it has carried
                    // `H2_MAX_STREAMS` streams, and cut off (`cut`) once
                    // it has opened `H2_STREAMS_PAST_GOAWAY` more.
                    let _held = watcher;
                    // Boxed: HTTP/2's connection state would otherwise size
                    // every connection's task, HTTP/1.1's included.
                    let mut conn = Box::pin(builders.1.serve_connection(io, service));
                    let told = tokio::select! {
                        _ = conn.as_mut() => false,
                        () = watched.head.cut.notified() => false,
                        // At shutdown a connection that has carried no
                        // request has nothing to be told: it is closed, as
                        // `cut_unstarted` would (its cut may come after).
                        _ = stop.wait_for(|s| *s) => watched.head.started.load(Ordering::Relaxed),
                        () = watched.enough.notified() => true,
                    };
                    if told {
                        conn.as_mut().graceful_shutdown();
                        tokio::select! {
                            _ = conn => {}
                            () = watched.head.cut.notified() => {}
                        }
                    }
                }
                Ok(Err(_)) | Err(_) => {}
            }
            drop(permit);
        });
    }

    drop(listener);
    let _ = stop_tx.send(true);
    heads.cut_unstarted();
    // Timer work (webhook attempts, retries) stops with the server: nothing
    // is delivered after shutdown, and an attempt in flight is dropped.
    engine.namespaces().stop_timers();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(config.shutdown_timeout) => {
            warn(format_args!("shutdown wait of {:?} elapsed; closing open connections", config.shutdown_timeout));
            // Closed here, not left to the runtime's end: a program that
            // serves from its own runtime (a test suite) goes on running.
            heads.cut_all();
            let every = u32::try_from(config.max_connections.max(1)).unwrap_or(u32::MAX);
            let _ = tokio::time::timeout(CLOSE_WAIT, slots.acquire_many(every)).await;
        }
    }
    Ok(())
}

/// How long shutdown waits, once its wait ran out, for the connections it
/// cut to close.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// How long the accept loop waits after a failed accept (out of file
/// descriptors, say) before it tries again.
const ACCEPT_RETRY: Duration = Duration::from_millis(20);

/// How often a failing accept is written.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(10);

/// `host` without the brackets a URL puts around an IPv6 address.
fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .filter(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
        .unwrap_or(host)
}

/// `host` and `port` as an address is written: an IPv6 address in
/// brackets (`[::1]:8080`), so that the port reads apart from it.
pub fn host_port(host: &str, port: u16) -> String {
    match unbracketed(host).parse::<std::net::IpAddr>() {
        Ok(ip) => std::net::SocketAddr::new(ip, port).to_string(),
        Err(_) => format!("{host}:{port}"),
    }
}

/// Pending connections the kernel may queue before `accept` (it caps this
/// at `net.core.somaxconn`). Tokio's default, 1024, makes a burst of ten
/// thousand connects overflow the queue and wait a second for the SYN
/// retransmission.
const BACKLOG: u32 = 16_384;

/// Binds like `TcpListener::bind` (every address `host` resolves to, the
/// first that works), with a deeper accept queue.
/// An IPv6 address in brackets, as a URL writes it (`[::1]`), is that
/// address: the ready line prints it so, and a user may pass it back.
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let host = unbracketed(host);
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    }))
}

/// The HTTP/2 connection preface a client with prior knowledge sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the client speaks HTTP/2 with prior knowledge, told by peeking at
/// its first bytes: hyper then reads the connection from its first byte
/// (hyper-util's `auto` reads the first bytes itself and hands them back,
/// which made hyper grow every connection's read buffer to 16 KB).
async fn is_http2(stream: &TcpStream) -> io::Result<bool> {
    let mut first = [0u8; H2_PREFACE.len()];
    // Bytes of the preface seen so far.
    let mut seen = 0;
    loop {
        let ready = stream.ready(Interest::READABLE).await?;
        // Part of the preface and no more yet is rare (clients send it
        // whole), but a peek shows the same bytes again at once: peeked
        // under `try_io`, a look that finds nothing new clears the socket's
        // readiness (unless an event came meanwhile), so the next look is
        // at its next event (more bytes, or its end), not a poll. A client
        // that closed or reset the connection inside the preface can never
        // send the rest: HTTP/1.1 reads what there is and ends the
        // connection, as it does a half request line.
        let peeked = stream.try_io(Interest::READABLE, || {
            // A waker that wakes nothing: `poll_peek` is not waited on
            // here (`ready` above is), and a socket with no byte to peek
            // answers `Pending`, which is `WouldBlock` here.
            let mut buf = ReadBuf::new(&mut first);
            match stream.poll_peek(&mut Context::from_waker(std::task::Waker::noop()), &mut buf) {
                Poll::Ready(Ok(n)) if n == seen && n > 0 && !ready.is_read_closed() => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Poll::Ready(peeked) => peeked,
                Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
            }
        });
        let n = match peeked {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        if n == 0 || first[..n] != H2_PREFACE[..n] {
            return Ok(false);
        }
        if n == H2_PREFACE.len() {
            return Ok(true);
        }
        if ready.is_read_closed() {
            return Ok(false);
        }
        seen = n;
    }
}

/// The most a request's head may hold over HTTP/2, as over HTTP/1.1:
/// hyper's default bound on an HTTP/1.1 connection's read buffer, which a
/// head must fit in (h2's own default, 16 KB, refused a long query string
/// that HTTP/1.1 serves).
const MAX_HEAD: u32 = 8192 + 4096 * 100;

/// The most fields a request's head may hold over HTTP/2, as over HTTP/1.1
/// (hyper's bound there). h2 bounds only the header list's size
/// ([`MAX_HEAD`]), which counts 32 bytes a field: 12,000 references to one
/// field of HPACK's table fit in it, a byte each on the wire and some 70 in
/// memory, held while the request waits for its body.
const MAX_HEAD_FIELDS: usize = 100;

/// The most `cookie` fields an HTTP/2 head may hold, counted as one field
/// against [`MAX_HEAD_FIELDS`]: a client may send each cookie as a field of
/// its own (RFC 9113 §8.2.3) where HTTP/1.1 writes them on one line; as
/// many as a browser keeps for one site (Chrome's 180).
const MAX_COOKIE_CRUMBS: usize = 180;

/// Whether an HTTP/2 head holds more fields than HTTP/1.1 would take.
fn too_many_fields(headers: &hyper::HeaderMap) -> bool {
    let crumbs = headers.get_all(hyper::header::COOKIE).iter().count();
    crumbs > MAX_COOKIE_CRUMBS || headers.len() - crumbs + crumbs.min(1) > MAX_HEAD_FIELDS
}

/// The answer to a head of more than [`MAX_HEAD_FIELDS`] fields, at once
/// and before its body: a bare 431, as hyper answers it over HTTP/1.1.
fn fields_refused() -> Reply {
    Reply {
        status: hyper::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        headers: Vec::new(),
        body: Bytes::new(),
        delay: Duration::ZERO,
        fault: None,
        scenario: None,
        selected_by: None,
        lease: None,
    }
}

/// What a connection over the cap is told.
const REFUSAL: &str =
    r#"{"error":"too many connections: the sandbox is at its connection limit, retry shortly"}"#;

/// How long a connection over the cap is watched for HTTP/2's preface
/// before it gets the HTTP/1.1 503 (clients with prior knowledge send it at
/// once; an HTTP/1.1 client that has sent nothing yet waits this long).
const REFUSAL_PEEK: Duration = Duration::from_millis(50);

/// Answers a connection over the cap with a 503 in its own protocol and
/// closes it.
async fn refuse(mut stream: TcpStream) {
    let refusal = async {
        if let Ok(Ok(true)) = tokio::time::timeout(REFUSAL_PEEK, is_http2(&stream)).await {
            return refuse_http2(stream).await;
        }
        let head = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n",
            crate::engine::JSON_TYPE,
            REFUSAL.len()
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(REFUSAL.as_bytes()).await;
        let _ = stream.shutdown().await;
        // What the client sent is read and dropped until it closes: closing
        // with its request unread would reset the connection, and the
        // reset can reach the client before the 503 it was sent.
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), refusal).await;
}

/// The 503 to an HTTP/2 client: its first request is answered, then the
/// connection is closed (GOAWAY), without the slot it could not have.
async fn refuse_http2(stream: TcpStream) {
    let answered = Arc::new(Notify::new());
    let told = answered.clone();
    let service = service_fn(move |_req| {
        told.notify_one();
        async {
            Response::builder()
                .status(hyper::StatusCode::SERVICE_UNAVAILABLE)
                .header(hyper::header::CONTENT_TYPE, crate::engine::JSON_TYPE)
                .header(hyper::header::RETRY_AFTER, "1")
                .body(Full::new(Bytes::from_static(REFUSAL.as_bytes())))
        }
    });
    let conn =
        http2::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = answered.notified() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

type HttpResponse = Response<Outgoing>;

/// The most of a response body handed to hyper at once (every provider
/// answer is one piece). Each piece hyper takes counts as the client's
/// progress: a client that reads a listing slowly must take one per
/// `--header-timeout` (1.6 KB/s at the default), and at most one piece
/// (with the kernel's buffers, over HTTP/1.1) is left for it to read after
/// the last is taken.
const PIECE: usize = 16 << 10;

/// A response body, handed to hyper in pieces of at most [`PIECE`] bytes
/// (one, for nearly every answer): hyper asks for the next piece as the
/// client reads, so a large body (an admin listing) and the lease it holds
/// live until the client has all but the last pieces.
struct Outgoing {
    rest: Bytes,
    _lease: Option<Lease>,
    /// The connection, for a body of more than one piece: each piece hyper
    /// takes shows the client reading, and the header timeout waits from
    /// then (a slow reader of a long listing is not cut off mid-answer;
    /// one that stops reading still is).
    conn: Option<Arc<Ctx>>,
}

impl hyper::body::Body for Outgoing {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        if let Some(conn) = &self.conn {
            conn.head.progressed();
        }
        let n = self.rest.len().min(PIECE);
        Poll::Ready(Some(Ok(Frame::data(self.rest.split_to(n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// The server's side of every request of one connection.
struct Ctx {
    engine: Engine,
    /// Tells requests held by a `hang` fault to let go at shutdown.
    stop: watch::Receiver<bool>,
    /// Set to end the connection with a reset (`connection_reset`).
    reset: Arc<AtomicBool>,
    /// Since when the connection has waited for a request's head.
    head: HeadWait,
    /// HTTP/2 streams the connection has carried.
    streams: AtomicU32,
    /// Told when `streams` reaches [`H2_MAX_STREAMS`].
    enough: Notify,
}

/// The streams an HTTP/2 connection carries before it is told to end
/// (GOAWAY: its requests in flight are answered, and the client opens
/// another connection), as nginx does after 1,000. h2 keeps every stream
/// a client resets while its answer waits for flow-control credit, until
/// credit comes: a client that never grants it and cancels what it asked
/// grew the process by 330 bytes a stream, a GB in half a minute. The
/// bound keeps that to some 3.6 MB a connection, with the streams a client
/// may open past it ([`H2_STREAMS_PAST_GOAWAY`]).
const H2_MAX_STREAMS: u32 = 10_000;

/// The streams a connection told to end may still open before it is cut
/// off: a client that honours the GOAWAY opens none once it has read it
/// (those it opened meanwhile are answered), but h2 narrows the GOAWAY to
/// the streams it has only once the client acknowledges its PING, and one
/// that never does could go on opening streams, and growing h2's state,
/// for ever.
const H2_STREAMS_PAST_GOAWAY: u32 = 1_000;

/// Since when a connection has been waiting for a request, or that it is
/// answering one: the header timeout's view of it. A connection waits from
/// its start, then from each answer on when no other request of it is in
/// flight (HTTP/2 multiplexes) or from the last piece of a long answer
/// hyper took, and while a request's body is read (an
/// HTTP/1.1 client that stops sending it holds the connection as one that
/// never sends its head would). A few stores a request, on the connection's
/// own cache line.
struct HeadWait {
    /// The watch's epoch.
    epoch: std::time::Instant,
    /// Milliseconds from `epoch`, or `ANSWERING`.
    since: AtomicU64,
    /// Requests of the connection between their head and their answer.
    in_flight: AtomicU32,
    /// Whether a request's head has arrived on it yet.
    started: AtomicBool,
    /// Told when the wait is over the timeout.
    cut: Notify,
}

const ANSWERING: u64 = u64::MAX;

impl HeadWait {
    fn new(watch: &HeadWatch) -> HeadWait {
        HeadWait {
            epoch: watch.epoch,
            since: AtomicU64::new(ms_since(watch.epoch)),
            in_flight: AtomicU32::new(0),
            started: AtomicBool::new(false),
            cut: Notify::new(),
        }
    }

    /// A head has arrived. On HTTP/1.1 its body is read from now, on the
    /// connection's clock. An HTTP/2 stream's body is timed on its own (in
    /// `answer`): one stalled stream must not cut its siblings off, so the
    /// connection counts as answering until its last stream is done.
    fn arrived(&self, version: hyper::Version) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if !self.started.load(Ordering::Relaxed) {
            self.started.store(true, Ordering::Relaxed);
        }
        let since = if version == hyper::Version::HTTP_2 {
            ANSWERING
        } else {
            ms_since(self.epoch)
        };
        self.since.store(since, Ordering::SeqCst);
    }

    /// The body is read: the request is being answered.
    fn answering(&self) {
        self.since.store(ANSWERING, Ordering::Relaxed);
    }

    /// hyper takes the next piece of a long answer: the client reads, so a
    /// connection with no request in flight waits from now.
    fn progressed(&self) {
        let now = ms_since(self.epoch);
        // Never over `ANSWERING`: a request in flight is timed on its own.
        let _ = self
            .since
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                (s != ANSWERING).then_some(now)
            });
    }

    /// The answer is handed to hyper; with no other request in flight, the
    /// next head is waited for from now.
    fn done(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.since.store(ms_since(self.epoch), Ordering::SeqCst);
            // An HTTP/2 stream of another worker may have arrived between
            // the two lines above and had its `ANSWERING` overwritten: it
            // is in flight, so the connection is answering. (An HTTP/1.1
            // connection's next request arrives after this one is done, on
            // the same task.) Sequentially consistent with `arrived`, so
            // that one of the two sees the other.
            if self.in_flight.load(Ordering::SeqCst) > 0 {
                self.since.store(ANSWERING, Ordering::SeqCst);
            }
        }
    }
}

/// Milliseconds since `epoch` (never `ANSWERING`).
fn ms_since(epoch: std::time::Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(ANSWERING - 1)
}

/// Marks the request done when dropped: when the request's future ends,
/// however it ends.
struct AnswerDone(Arc<Ctx>);

impl Drop for AnswerDone {
    fn drop(&mut self) {
        self.0.head.done();
    }
}

/// The header timeout: cuts off every connection that has waited longer
/// than the timeout for a request's head with none in flight (a slowloris
/// client, a keep-alive connection left idle, an HTTP/2 connection with no
/// stream open), from one thread for the whole server that looks every
/// eighth of the timeout, kept between 5 ms and 500 ms (every 500 ms at
/// the default 10 s). hyper's own arms a tokio timer for every request,
/// and a pending timer per connection (tried too) costs a fifth of the
/// requests per second at one connection: the runtime then parks with a
/// deadline and turns its timer wheel on every wake.
struct HeadWatch {
    epoch: std::time::Instant,
    timeout: Duration,
    /// A std mutex: the watching thread, which no runtime drives, sweeps it;
    /// connections push onto it once and it is never held across an await.
    conns: std::sync::Mutex<Vec<Weak<Ctx>>>,
}

impl HeadWatch {
    /// Starts the watching thread; it ends once the server drops the watch.
    fn start(timeout: Duration) -> io::Result<Arc<HeadWatch>> {
        let watch = Arc::new(HeadWatch {
            epoch: std::time::Instant::now(),
            timeout,
            conns: std::sync::Mutex::new(Vec::new()),
        });
        let weak = Arc::downgrade(&watch);
        let period = (timeout / 8).clamp(Duration::from_millis(5), Duration::from_millis(500));
        std::thread::Builder::new()
            .name("mxid-header-timeout".into())
            .stack_size(SMALL_STACK)
            .spawn(move || loop {
                std::thread::sleep(period);
                match weak.upgrade() {
                    Some(watch) => watch.sweep(),
                    None => return,
                }
            })
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot start the header-timeout thread: {e}"),
                )
            })?;
        Ok(watch)
    }

    fn watch(&self, ctx: &Arc<Ctx>) {
        self.lock().push(Arc::downgrade(ctx));
    }

    /// Cuts off the connections whose first request has not arrived: at
    /// shutdown, one still sending its first head (which hyper's graceful
    /// shutdown waits for as for a request) has nothing to finish. A
    /// connection that has had a request is left to hyper, which lets an
    /// idle one go and finishes writing an answer it was given.
    fn cut_unstarted(&self) {
        for conn in self.lock().iter() {
            if let Some(ctx) = conn.upgrade() {
                if !ctx.head.started.load(Ordering::Relaxed) {
                    ctx.head.cut.notify_one();
                }
            }
        }
    }

    /// Cuts off every connection, whatever it is doing.
    fn cut_all(&self) {
        for conn in self.lock().drain(..) {
            if let Some(ctx) = conn.upgrade() {
                ctx.head.cut.notify_one();
            }
        }
    }

    /// Cuts off the connections over the timeout and forgets the ended ones.
    fn sweep(&self) {
        let now = ms_since(self.epoch);
        let limit = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        self.lock().retain(|conn| {
            let Some(ctx) = conn.upgrade() else {
                return false;
            };
            let since = ctx.head.since.load(Ordering::Relaxed);
            if since != ANSWERING && now.saturating_sub(since) >= limit {
                ctx.head.cut.notify_one();
                return false;
            }
            true
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Ctx>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Answers one request in two steps. Choosing the answer holds the request
/// (its head, its body, the parsed `Request`: about a kilobyte); it runs
/// boxed, and the box is freed when the answer is known. What waits out a
/// delay is then only the reply and a timer. hyper keeps one future of this
/// function per connection for the connection's life, so its size is a cost
/// of every open connection, the ten thousand delayed ones of the benchmark
/// included.
fn respond(
    ctx: Arc<Ctx>,
    req: hyper::Request<Incoming>,
) -> impl Future<Output = Result<HttpResponse, io::Error>> {
    // A delay counts from the request's arrival: reading its body and
    // choosing its answer are part of the latency the client asked for.
    let arrived = tokio::time::Instant::now();
    ctx.head.arrived(req.version());
    if req.version() == hyper::Version::HTTP_2 {
        match ctx.streams.fetch_add(1, Ordering::Relaxed) + 1 {
            H2_MAX_STREAMS => ctx.enough.notify_one(),
            n if n == H2_MAX_STREAMS + H2_STREAMS_PAST_GOAWAY => ctx.head.cut.notify_one(),
            _ => {}
        }
    }
    let head = req.method() == hyper::Method::HEAD;
    // Made here, not in `deliver`: the request is done however its future
    // ends, even unpolled.
    let done = AnswerDone(ctx.clone());
    let answer = Box::pin(answer(ctx, req));
    deliver(done, arrived, answer, head)
}

/// Reads the body and asks the engine (or the admin API) for the reply.
async fn answer(ctx: Arc<Ctx>, req: hyper::Request<Incoming>) -> Result<Reply, io::Error> {
    let engine = &ctx.engine;
    let config = engine.config();
    let (parts, body) = req.into_parts();
    if parts.version == hyper::Version::HTTP_2 && too_many_fields(&parts.headers) {
        return Ok(fields_refused());
    }
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<usize>().ok());
    let too_large = declared.is_some_and(|n| n > config.body_limit);
    let body = if too_large && expects_continue(&parts.headers) {
        // The client waits for 100 Continue before it sends the body:
        // answered at once, it sends none.
        BodyRead::TooLarge { read_whole: false }
    } else if parts.version == hyper::Version::HTTP_2 {
        // The streams of a connection are not timed one by one by the
        // header timeout's watch: a stalled one is timed here.
        tokio::time::timeout(
            config.header_timeout,
            read_body(body, config.body_limit, declared),
        )
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body was not sent within the header timeout",
            )
        })??
    } else {
        read_body(body, config.body_limit, declared).await?
    };
    ctx.head.answering();
    let (bytes, broken) = match body {
        BodyRead::TooLarge { read_whole } => {
            // The request as sent (its query too, for the journal), without
            // the body it was refused for.
            let req = Request::new(parts.method, &parts.uri, parts.headers, Bytes::new());
            // With the body left unread on HTTP/1.1, hyper stops reading the
            // socket: a client that left could not be seen leaving a held
            // answer, so this one leaves at once, without latency or fault.
            let unread = !read_whole && parts.version != hyper::Version::HTTP_2;
            let reply = if crate::admin::owns(&req.path) {
                let reply = crate::admin::too_large(engine, &req);
                engine.log("admin", &req, &reply);
                reply
            } else {
                let timing = if unread {
                    AnswerTiming::AtOnce
                } else {
                    AnswerTiming::AsAsked
                };
                engine.too_large(&req, timing)
            };
            // With the rest of the body unread (a client waiting for 100
            // Continue, or one past the drain) the connection ends with the
            // answer: an HTTP/1.1 client is told so, not left to find a
            // pooled connection dead. (HTTP/2 resets the stream instead.)
            return Ok(if unread {
                reply.with_header(hyper::header::CONNECTION, "close")
            } else {
                reply
            });
        }
        BodyRead::Read(bytes) => (bytes, None),
        BodyRead::Malformed(why) => (Bytes::new(), Some(malformed(&parts, &why))),
    };
    let over_http1 = parts.version != hyper::Version::HTTP_2;
    let mut request = Request::new(parts.method, &parts.uri, parts.headers, bytes);
    let framing_broken = broken.is_some();
    if let Some(why) = broken {
        request.body = crate::request::Body::Invalid(why);
    }
    let reply = if crate::admin::owns(&request.path) {
        // Boxed: the admin routes' state would otherwise make every
        // request's future as large as theirs.
        let reply = Box::pin(crate::admin::handle(engine, &request)).await;
        engine.log("admin", &request, &reply);
        reply
    } else {
        engine.handle(&request)
    };
    // hyper reads no more of a connection whose body framing broke: it
    // ends with this answer, and says so, as a 413 with its body unread
    // does.
    Ok(if framing_broken && over_http1 {
        reply.with_header(hyper::header::CONNECTION, "close")
    } else {
        reply
    })
}

/// The 400's message for a body whose framing hyper could not read
/// (`why`, hyper's words): over HTTP/1.1 a chunked body's (a body of a
/// `Content-Length` cannot be malformed, only cut short), said as the RFC
/// writes a chunk, so the client's author sees what to send.
fn malformed(parts: &hyper::http::request::Parts, why: &str) -> String {
    let mut chars = why.chars();
    let why: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    if parts.version != hyper::Version::HTTP_2
        && parts.headers.contains_key(hyper::header::TRANSFER_ENCODING)
    {
        format!(
            "the request body's chunked encoding is malformed ({why}): RFC 9112 §7.1 sends each chunk as its size in hex, CRLF, its data and CRLF, and ends with a chunk of size 0, any trailer fields and CRLF"
        )
    } else {
        format!("the request body is malformed ({why})")
    }
}

/// A request body as read.
enum BodyRead {
    Read(Bytes),
    /// Over the body limit.
    TooLarge {
        read_whole: bool,
    },
    /// Its framing is broken (a bad chunk size, a chunk shorter than it
    /// said): answered as a body that is not what it claims to be. What
    /// hyper said of it.
    Malformed(String),
}

/// Waits out the reply's delay and turns it into a response, or into its
/// fault.
async fn deliver(
    done: AnswerDone,
    arrived: tokio::time::Instant,
    answer: Pin<Box<impl Future<Output = Result<Reply, io::Error>>>>,
    head: bool,
) -> Result<HttpResponse, io::Error> {
    let ctx = &done.0;
    let reply = answer.await?;
    // Every lock is released by now: the delay is only a timer.
    if !reply.delay.is_zero() {
        tokio::time::sleep_until(arrived + reply.delay).await;
    }
    match reply.fault {
        Some(Fault::Hang) => {
            // Boxed, as rare: a timeout and a watch wait are larger than
            // everything else this future holds.
            Box::pin(hang(ctx.stop.clone())).await;
            Err(io::Error::other("hang fault released"))
        }
        Some(Fault::ConnectionReset) => {
            ctx.reset.store(true, Ordering::SeqCst);
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection_reset fault",
            ))
        }
        Some(Fault::EmptyResponse) => Err(io::Error::other("empty_response fault")),
        Some(Fault::MalformedBody) => {
            let cut = reply.body.len() / 2;
            let mut reply = reply;
            // A 204 or 304 carries no body to cut, nor one to send: HTTP/2
            // took `{"` on a 204 for a protocol error (HTTP/1.1 drops it).
            reply.body = match (cut, bodiless(reply.status)) {
                (_, true) => Bytes::new(),
                (0, false) => Bytes::from_static(b"{\""),
                _ => reply.body.slice(..cut),
            };
            Ok(to_response(reply, head, ctx))
        }
        None => Ok(to_response(reply, head, ctx)),
    }
}

/// Holds a request answered by a `hang` fault until the client gives up or
/// the server shuts down (or `HANG_LIMIT` passes).
async fn hang(mut stop: watch::Receiver<bool>) {
    let _ = tokio::time::timeout(HANG_LIMIT, stop.wait_for(|s| *s)).await;
}

/// Whether the client waits for `100 Continue` before it sends its body.
fn expects_continue(headers: &hyper::HeaderMap) -> bool {
    headers
        .get(hyper::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// The most of a declared `Content-Length` a body's buffer is sized for
/// before the body comes.
const PRESIZE: usize = 16 << 20;

/// Reads the body, or finds it over `limit` or malformed; `Err` when the
/// client left. The rest of an oversized
/// body is read and dropped (up to a bound) so the client is not reset
/// before it can read the 413. The buffer is sized by the `Content-Length`
/// the client declared, when it is within the limit (grown by doubling, a
/// body of 1 MB held 2 MB), up to `PRESIZE`: a declared length is a claim,
/// and under a huge `--body-limit` one request would have the process ask
/// for terabytes before a byte of its body came.
async fn read_body(
    mut body: Incoming,
    limit: usize,
    declared: Option<usize>,
) -> Result<BodyRead, io::Error> {
    // A declared length past the drain's bound is not read at all: the
    // 413 goes at once, as to a client waiting for `100 Continue`, instead
    // of after sixteen times the limit (or never, from a client that sends
    // part of it and waits).
    if declared.is_some_and(|n| n > limit.saturating_mul(DRAIN_FACTOR)) {
        return Ok(BodyRead::TooLarge { read_whole: false });
    }
    let presize = declared.filter(|n| *n <= limit).unwrap_or(0).min(PRESIZE);
    let mut buf = BytesMut::with_capacity(presize);
    let mut seen = 0usize;
    let mut read_whole = true;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            // The client left: there is no one to answer.
            Err(e) if client_left(&e) => return Err(io::Error::other(e)),
            Err(e) => {
                let why = std::error::Error::source(&e)
                    .map_or_else(|| e.to_string(), ToString::to_string);
                return Ok(BodyRead::Malformed(why));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            buf.extend_from_slice(&data);
        } else if seen > limit.saturating_mul(DRAIN_FACTOR) {
            read_whole = false;
            break;
        }
    }
    // hyper ends an HTTP/2 body at the client's RST_STREAM(NO_ERROR) as at
    // its END_STREAM (RFC 9113 §8.1 gives that reset to a server that has
    // answered early): a body short of its declared length is the client
    // gone, not a request to run on the part it sent. (Past the drain's
    // bound, more was seen than any length declared here.)
    if declared.is_some_and(|n| seen < n) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the body ended short of its content-length",
        ));
    }
    Ok(if seen <= limit {
        BodyRead::Read(buf.freeze())
    } else {
        BodyRead::TooLarge { read_whole }
    })
}

/// Whether a body error is the client gone (its connection closed or
/// reset mid-body, or its HTTP/2 stream reset, by the client or by h2 for a
/// protocol error such as a body longer than its `content-length`: no
/// answer can reach it) rather than a body that is not what it claims to be
/// (broken chunked framing, which gets its 400).
fn client_left(e: &hyper::Error) -> bool {
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        return true;
    }
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            return matches!(
                io.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            );
        }
        if let Some(h2) = c.downcast_ref::<h2::Error>() {
            return h2.is_reset() || h2.is_io() || h2.is_go_away();
        }
        cause = c.source();
    }
    false
}

/// The response to send; to a HEAD request (answered as GET), without its
/// body and with the length the body has: hyper leaves an HTTP/1.1 HEAD
/// answer's body out itself, but sends an HTTP/2 one's as DATA, which the
/// client takes for a protocol error.
fn to_response(reply: Reply, head: bool, conn: &Arc<Ctx>) -> HttpResponse {
    let length = reply.body.len();
    let body = if head { Bytes::new() } else { reply.body };
    let conn = (body.len() > PIECE).then(|| conn.clone());
    let mut res = Response::new(Outgoing {
        rest: body,
        _lease: reply.lease,
        conn,
    });
    *res.status_mut() = reply.status;
    // A status HTTP names no reason for (a provider's own 512) goes out
    // with an empty reason phrase, as nginx sends it: hyper would otherwise
    // write its placeholder `<none>` on the wire.
    if reply.status.canonical_reason().is_none() {
        res.extensions_mut()
            .insert(hyper::ext::ReasonPhrase::from_static(b""));
    }
    let headers = res.headers_mut();
    for (k, v) in reply.headers {
        headers.append(k, v);
    }
    // The body's length, stated alike over HTTP/1.1 and HTTP/2 (hyper's
    // HTTP/2 writes none for an empty body) and for HEAD; never on a 204
    // or 304, which have no body to measure (RFC 9110 §8.6).
    if !bodiless(reply.status) {
        headers.insert(hyper::header::CONTENT_LENGTH, length.into());
    }
    res
}

/// A status whose answer has no body (RFC 9110 §15.3.5, §15.4.5).
fn bodiless(status: hyper::StatusCode) -> bool {
    matches!(
        status,
        hyper::StatusCode::NO_CONTENT | hyper::StatusCode::NOT_MODIFIED
    )
}

/// A TCP stream that can be made to end with a reset (RST) instead of a
/// close, for the `connection_reset` fault.
struct ResettableIo {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableIo {
    fn reset_requested(&self) -> bool {
        self.reset.load(Ordering::SeqCst)
    }
}

impl Drop for ResettableIo {
    fn drop(&mut self) {
        if self.reset_requested() {
            // SO_LINGER 0 makes the close below send RST. It does not block:
            // with a zero timeout the kernel discards and resets at once.
            let _ = self.inner.set_zero_linger();
        }
    }
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "connection_reset fault")
}

impl AsyncRead for ResettableIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.reset_requested() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.reset_requested() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reset_requested() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.reset_requested() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README, Robustness: "The accept queue is 16,384 deep", an HTTP/2
    /// connection carries up to 200 streams at once, a failing accept is
    /// said "at most once every 10 s"; Admin API: "at most 64 MB" of
    /// listings held at once. The numbers written.
    #[test]
    fn the_bounds_are_the_readmes() {
        assert_eq!(BACKLOG, 16_384);
        assert_eq!(H2_STREAMS, 200);
        assert_eq!(ACCEPT_WARN_EVERY, Duration::from_secs(10));
        // Sandbox request headers: a `hang` lasts at most "10 minutes".
        assert_eq!(HANG_LIMIT, Duration::from_secs(600));
        assert_eq!(crate::Config::default().listings_in_flight, 64 << 20);
    }

    /// The size of what `f` returns, without calling it.
    fn returned_size<A, B, R>(_: fn(A, B) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    #[test]
    fn the_future_hyper_keeps_per_connection_holds_no_request() {
        // hyper allocates one request future per connection for the
        // connection's life. It was a kilobyte while it held the request
        // across the delay; the reply and a timer are about 250 bytes.
        let size = returned_size(respond as fn(Arc<Ctx>, hyper::Request<Incoming>) -> _);
        assert!(size <= 320, "respond's future is {size} bytes");
    }
}
