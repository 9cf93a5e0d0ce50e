//! The provider-agnostic engine: loads the definitions, and takes a request
//! through the one straight line of STYLE.md — route, auth, scenario
//! selection (SPEC §3), input checks and counters, rendering, latency and
//! fault decided (and awaited by the server once the locks are let go),
//! journal. It never names a provider: modules plug in through
//! [`provider::Provider`].

pub mod budget;
pub mod cache;
pub mod clock;
pub mod counters;
pub mod fixtures;
pub mod journal;
pub mod latency;
pub mod ledger;
pub mod model;
pub mod namespace;
pub mod overrides;
pub mod people;
pub mod provider;
pub mod template;
pub mod timers;

use std::borrow::Cow;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, InvalidHeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{Config, Source};
use crate::request::{http_trim, sendable_header_value, Request};
use crate::router::{Match, Router, Target};
use fixtures::Fixtures;
use journal::Entry;
use latency::{Fault, Latency};
use model::{Expect, LoadError, ProviderDef, Scenario};
use namespace::{Began, Namespace, Namespaces, NsRef, DEFAULT_NAMESPACE};
use provider::{AdminRouter, Call, Provider, Selected};
use template::Vars;

/// The content type of every JSON answer the sandbox writes (a scenario may
/// write its own).
pub const JSON_TYPE: &str = "application/json; charset=utf-8";

/// Picks a scenario by name for one request.
pub const SCENARIO_HEADER: &str = "x-sandbox-scenario";
/// Picks the namespace whose state a request uses.
pub const NAMESPACE_HEADER: &str = "x-sandbox-namespace";
/// Latency for one request (`250ms`, `100ms..300ms`, `lognormal(200ms, 0.5)`).
pub const LATENCY_HEADER: &str = "x-sandbox-latency";
/// A fault for one request (`hang`, `connection_reset`, `empty_response`, `malformed_body`).
pub const FAULT_HEADER: &str = "x-sandbox-fault";
/// Sent with every webhook the sandbox delivers, holding its
/// `webhook_mark`, and read only to refuse one aimed back at the sandbox
/// instead of answering it.
pub const WEBHOOK_HEADER: &str = "x-sandbox-webhook";

// The same names, parsed once: every request looks each one up.
const SCENARIO_NAME: HeaderName = HeaderName::from_static(SCENARIO_HEADER);
pub(crate) const NAMESPACE_NAME: HeaderName = HeaderName::from_static(NAMESPACE_HEADER);
const LATENCY_NAME: HeaderName = HeaderName::from_static(LATENCY_HEADER);
const FAULT_NAME: HeaderName = HeaderName::from_static(FAULT_HEADER);
const WEBHOOK_NAME: HeaderName = HeaderName::from_static(WEBHOOK_HEADER);

/// Everything loaded from YAML: immutable once built, swapped whole on reload.
pub struct Defs {
    /// One per module, in the registry's order.
    pub providers: Vec<ProviderDef>,
    pub router: Router,
    pub fixtures: Fixtures,
    /// Which load these are: later loads have larger numbers, unique
    /// across engines in the process.
    pub generation: u64,
}

/// An answer, decided but not yet sent: the server awaits `delay` and
/// applies `fault` after every lock is released.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub delay: Duration,
    pub fault: Option<Fault>,
    /// The scenario (or engine error kind) that answered.
    pub scenario: Option<&'static str>,
    /// Which step of the selection chose a provider's scenario; none for
    /// the engine's own errors and the admin API.
    pub selected_by: Option<Selected>,
    /// What the body holds of a budget ([`budget::Budget`]), given back
    /// once the body has been handed over.
    pub lease: Option<budget::Lease>,
}

impl Reply {
    /// A JSON reply with no delay or fault.
    pub fn json(status: StatusCode, body: &Value) -> Reply {
        Reply::json_bytes(status, serde_json::to_vec(body).unwrap_or_default())
    }

    /// As [`Reply::json`], for a body already written as JSON.
    pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![(CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE))],
            body: Bytes::from(body),
            delay: Duration::ZERO,
            fault: None,
            scenario: None,
            selected_by: None,
            lease: None,
        }
    }

    /// The sandbox's own error shape, `{"error": "…"}`, for mistakes that
    /// are the test author's (an unknown scenario name, a bad header) and
    /// for paths no provider owns.
    pub fn sandbox_error(status: StatusCode, message: &str) -> Reply {
        Reply::json(status, &json!({ "error": message }))
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(v) = header_value(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// The reply with `name` set to `value` only: one the scenario file
    /// wrote is replaced (a 405's `Allow` is the engine's to state).
    pub fn with_only_header(mut self, name: HeaderName, value: &str) -> Reply {
        self.headers.retain(|(n, _)| *n != name);
        self.with_header(name, value)
    }
}

/// One row of the scenario catalog.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogEntry {
    pub provider: String,
    pub method: String,
    pub path: String,
    pub name: String,
    pub description: String,
}

/// A cheap handle around the shared engine.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    modules: Vec<Arc<dyn Provider>>,
    /// Each module's admin routes, in the order of `modules`.
    admin_routers: Vec<AdminRouter>,
    // A std RwLock: reload swaps the Arc inside. Requests read it through a
    // per-thread copy (`with_defs`), checked against `generation`.
    defs: RwLock<Arc<Defs>>,
    /// The generation of `defs`, read without its lock.
    generation: AtomicU64,
    namespaces: Namespaces,
    /// Bytes of admin listings being sent (`Config::listings_in_flight`).
    listings: Arc<budget::Budget>,
    /// Held by a reload, and by an admin change checked against the
    /// definitions, so that the change lands before or after the reload
    /// whole (an override added while a reload drops its scenario). A std
    /// mutex: neither awaits nor reads a file while holding it (a reload
    /// reads its files before), and requests never take it.
    changes: Mutex<()>,
}

/// Whether an answer keeps the latency and fault it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerTiming {
    /// Held for its latency, and given its fault, as asked.
    AsAsked,
    /// Sent at once, whole.
    AtOnce,
}

/// The longest credential taken: longer ones are invalid.
pub const MAX_CREDENTIAL: usize = 256;

/// Source of `Defs::generation` values: a fresh engine never matches
/// another engine's cached definitions.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// The stack of a reload's reading: the stack a worker has (YAML is read
/// recursively, to the depth the loader allows).
const RELOAD_STACK: usize = 2 << 20;

thread_local! {
    /// The definitions this thread last used, with their generation. A
    /// request then touches no lock and no shared reference count (both
    /// workers bumping one counter cost more than the lookup itself).
    static DEFS: RefCell<Option<(u64, Arc<Defs>)>> = const { RefCell::new(None) };
}

impl Engine {
    /// [`Engine::new`] for a server: the files read as a reload reads them
    /// (`Defs::index_to_serve`).
    pub fn to_serve(config: Config, modules: Vec<Arc<dyn Provider>>) -> Result<Engine, LoadError> {
        let engine = Engine::new(config, modules)?;
        engine.defs().index_to_serve(engine.config());
        Ok(engine)
    }

    /// Loads and validates every YAML file; nothing starts half-configured.
    pub fn new(config: Config, modules: Vec<Arc<dyn Provider>>) -> Result<Engine, LoadError> {
        let defs = load(&config, &modules)?;
        let namespaces = Namespaces::new(
            config.clock,
            config.journal_limit,
            &webhook_mark(config.seed),
        );
        let listings = budget::Budget::new(config.listings_in_flight);
        let admin_routers = modules
            .iter()
            .map(|m| AdminRouter::new(m.admin_routes()))
            .collect();
        Ok(Engine {
            shared: Arc::new(Shared {
                config,
                modules,
                admin_routers,
                generation: AtomicU64::new(defs.generation),
                defs: RwLock::new(Arc::new(defs)),
                namespaces,
                listings,
                changes: Mutex::new(()),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn modules(&self) -> &[Arc<dyn Provider>] {
        &self.shared.modules
    }

    /// Each module's admin routes, in the order of [`Engine::modules`].
    pub fn admin_routers(&self) -> &[AdminRouter] {
        &self.shared.admin_routers
    }

    pub fn defs(&self) -> Arc<Defs> {
        self.shared
            .defs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The budget of admin listings being sent at once.
    pub fn listings(&self) -> &Arc<budget::Budget> {
        &self.shared.listings
    }

    pub fn namespaces(&self) -> &Namespaces {
        &self.shared.namespaces
    }

    /// Runs `f` with the current definitions, from this thread's copy when
    /// no reload has happened since it was taken.
    fn with_defs<R>(&self, f: impl FnOnce(&Defs) -> R) -> R {
        let generation = self.shared.generation.load(Ordering::Acquire);
        DEFS.with(|cache| {
            if let Ok(cached) = cache.try_borrow() {
                if let Some((g, defs)) = &*cached {
                    if *g == generation {
                        return f(defs);
                    }
                }
            }
            let defs = self.defs();
            // Busy only when a caller is already inside: then just no copy.
            if let Ok(mut cached) = cache.try_borrow_mut() {
                *cached = Some((generation, defs.clone()));
            }
            f(&defs)
        })
    }

    /// Keeps the definitions as they are (no reload) while the guard lives.
    pub fn hold_defs(&self) -> MutexGuard<'_, ()> {
        self.shared
            .changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads and validates the YAML for a reload, on a blocking thread:
    /// a file on a stalled mount then holds that thread, not a worker, and
    /// no lock is held while it is read. Nothing changes until
    /// [`Engine::install`].
    pub async fn read_defs(&self) -> Result<Defs, LoadError> {
        // Numbered as the reading starts, not as it ends: of two reloads at
        // once, the one that began later (and so read a file changed in
        // between) is the newer, however long each takes.
        let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
        let engine = self.clone();
        // On a thread of its own, which may not start (a container's limit
        // on processes): tokio's `spawn_blocking` panicked then, and the
        // admin client got no answer.
        let (read_tx, read) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("mxid-reload".into())
            .stack_size(RELOAD_STACK)
            .spawn(move || {
                let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let config = &engine.shared.config;
                    let defs = load(config, &engine.shared.modules)?;
                    defs.index_to_serve(config);
                    Ok(defs)
                }));
                let _ = read_tx.send(read);
            })
            .map_err(|e| {
                LoadError::new(
                    "reload",
                    format!("cannot start a thread to read the files: {e}"),
                )
            })?;
        match read.await {
            Ok(Ok(read)) => read.map(|defs| Defs { generation, ..defs }),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // The thread ends having sent, or having panicked while sending.
            Err(_) => Err(LoadError::new(
                "reload",
                "the reload's reading ended unfinished",
            )),
        }
    }

    /// Puts definitions read by [`Engine::read_defs`] in place, unless a
    /// reload that began reading later is already in place (two reloads at
    /// once: the later one wins, whichever ends first). The caller holds
    /// [`Engine::hold_defs`] until what the reload changes in the
    /// namespaces is done.
    pub fn install(&self, defs: Defs) {
        let generation = defs.generation;
        let mut current = self.shared.defs.write().unwrap_or_else(|p| p.into_inner());
        if current.generation > generation {
            return;
        }
        *current = Arc::new(defs);
        self.shared.generation.store(generation, Ordering::Release);
    }

    /// The catalog: one row per scenario of each endpoint.
    pub fn catalog(&self) -> Vec<CatalogEntry> {
        catalog(&self.defs())
    }

    /// Every provider's id with, per endpoint, the names of the scenarios
    /// it defines (what a persona's scenario is looked up in).
    pub fn scenarios_by_provider(&self) -> Vec<crate::curp::persona::ProviderScenarios> {
        let names = |e: &model::EndpointDef| e.scenarios.keys().cloned().collect();
        self.defs()
            .providers
            .iter()
            .map(|p| (p.id.clone(), p.endpoints.iter().map(names).collect()))
            .collect()
    }

    /// Answers a request whose body was over the limit, in the shape of the
    /// provider that owns the path (or whose endpoint it is a few edits
    /// from, as for a 404).
    /// `timing`: [`AnswerTiming::AtOnce`] when the body is left unread and a
    /// client's leaving could not be seen during a latency or a fault.
    pub fn too_large(&self, req: &Request, timing: AnswerTiming) -> Reply {
        let defs = self.defs();
        let owner = match defs.router.find(&req.method, &req.path) {
            Match::Found { target, .. } => Some(target.provider),
            Match::MethodNotAllowed { provider, .. } => Some(provider),
            Match::NotFound { provider } => defs.router.not_found_owner(provider, &req.path).0,
        };
        let message = format!(
            "the request body is larger than {} bytes",
            self.config().body_limit
        );
        // A namespace the header cannot have is said first, as for any
        // request: there is no namespace to count the 413 in.
        let (ns, began) = match self.begin_in(req) {
            Ok(begun) => begun,
            Err(reply) => return reply,
        };
        let mut reply = self.engine_error(
            &defs,
            &ns,
            began,
            owner,
            req,
            "payload_too_large",
            StatusCode::PAYLOAD_TOO_LARGE,
            &message,
        );
        if timing == AnswerTiming::AtOnce {
            reply.delay = Duration::ZERO;
            reply.fault = None;
        }
        self.record_in(&ns, &defs, began, req, owner, None, &reply);
        reply
    }

    /// Takes a provider request from route to rendered reply, and journals it.
    pub fn handle(&self, req: &Request) -> Reply {
        self.with_defs(|defs| self.handle_with(defs, req))
    }

    fn handle_with(&self, defs: &Defs, req: &Request) -> Reply {
        // The request's generation and its one reading of the sandbox clock.
        let (ns, began) = match self.begin_in(req) {
            Ok(begun) => begun,
            Err(reply) => return reply,
        };
        let (reply, provider, curp) = match defs.router.find(&req.method, &req.path) {
            Match::Found { target, params } => {
                let (reply, curp) = self.dispatch(defs, &ns, began, req, target, &params);
                (reply, Some(target.provider), curp)
            }
            Match::MethodNotAllowed { provider, allow } => {
                let names: Vec<&str> = allow.iter().map(Method::as_str).collect();
                let message = format!(
                    "method {} is not allowed on {}; allowed: {}",
                    quoted(req.method.as_str()),
                    quoted(&req.path),
                    names.join(", ")
                );
                let reply = self
                    .engine_error(
                        defs,
                        &ns,
                        began,
                        Some(provider),
                        req,
                        "method_not_allowed",
                        StatusCode::METHOD_NOT_ALLOWED,
                        &message,
                    )
                    .with_only_header(ALLOW, &names.join(", "));
                (reply, Some(provider), None)
            }
            Match::NotFound { provider } => {
                let mut message = match req.path.as_str() {
                    // CONNECT's authority form: a host and port, no path.
                    "" => format!(
                        "no endpoint at {} without a path: the sandbox is no proxy",
                        quoted(req.method.as_str())
                    ),
                    path => format!(
                        "no endpoint at {} {}",
                        quoted(req.method.as_str()),
                        quoted(path)
                    ),
                };
                let (provider, meant) = defs.router.not_found_owner(provider, &req.path);
                if let Some(path) = meant {
                    message.push_str(&format!("; did you mean {}?", quoted(&path)));
                }
                (
                    self.engine_error(
                        defs,
                        &ns,
                        began,
                        provider,
                        req,
                        "not_found",
                        StatusCode::NOT_FOUND,
                        &message,
                    ),
                    provider,
                    None,
                )
            }
        };
        let reply = mark_sandbox_error(reply);
        self.record_in(&ns, defs, began, req, provider, curp, &reply);
        reply
    }

    /// The request's namespace and where it began there ([`Namespace::begin`]):
    /// one a reset retired meanwhile is looked up anew.
    fn begin_in(&self, req: &Request) -> Result<(NsRef<'_>, Began), Reply> {
        loop {
            let ns = self.namespace_logged(req)?;
            let began = ns.begin();
            if !ns.is_retired() {
                return Ok((ns, began));
            }
        }
    }

    /// The request's namespace, or the refusal of its header: not
    /// journaled (there is no namespace to journal it in), but logged.
    /// A webhook of this sandbox's own that came back to it is refused here
    /// too (508 Loop Detected), before any provider runs: answered, it
    /// could create a verification whose webhook comes back in turn, over
    /// and over.
    fn namespace_logged(&self, req: &Request) -> Result<NsRef<'_>, Reply> {
        let refused_as = |status: StatusCode, message: &str| {
            let reply = mark_sandbox_error(Reply::sandbox_error(status, message));
            self.log("-", req, &reply);
            reply
        };
        let refused = |message: &str| refused_as(StatusCode::BAD_REQUEST, message);
        if let Some(problem) = req.sandbox_header_problem() {
            return Err(refused(&problem));
        }
        let name = req
            .sandbox_header(&NAMESPACE_NAME)
            .unwrap_or(DEFAULT_NAMESPACE);
        let ns = self.namespaces().lookup(name).map_err(|m| refused(&m))?;
        if req.sandbox_header(&WEBHOOK_NAME) == Some(self.namespaces().webhook_mark()) {
            let message = format!(
                "{} {} is a webhook this sandbox sent, come back to it: a webhook target must be the client's own endpoint, not one of the sandbox's routes",
                quoted(req.method.as_str()),
                quoted(&req.path)
            );
            return Err(refused_as(StatusCode::LOOP_DETECTED, &message));
        }
        Ok(ns)
    }

    fn dispatch(
        &self,
        defs: &Defs,
        ns: &Namespace,
        began: Began,
        req: &Request,
        target: Target,
        params: &[(String, String)],
    ) -> (Reply, Option<String>) {
        let module = &self.shared.modules[target.provider];
        let pdef = &defs.providers[target.provider];
        let ep = &pdef.endpoints[target.endpoint];
        let curp = module
            .curp(&ep.id, req)
            .map(normalize_curp)
            .filter(|c| !c.is_empty());
        // Only the white space HTTP strips from a header value (a body's
        // token alike): a credential framed by a Unicode space is not one
        // a provider issued.
        let credential = module
            .credential(req)
            .map(|c| match http_trim(&c) {
                t if t.len() == c.len() => c,
                t => t.to_string(),
            })
            .filter(|c| !c.is_empty());
        let auth = self.auth_scenario(defs, pdef, credential.as_deref());

        if let Some(why) = req.body.problem() {
            // A credential in the headers is refused before the body is
            // read, as a gateway does; one that may be in the body cannot be
            // told missing when the body cannot be read.
            let refused = auth.is_some() && (credential.is_some() || !module.credential_in_body());
            // A GET's body is not read (nor a HEAD's: it is answered as GET).
            if req.method != Method::GET && req.method != Method::HEAD && !refused {
                let reply = self.engine_error(
                    defs,
                    ns,
                    began,
                    Some(target.provider),
                    req,
                    "malformed_body",
                    StatusCode::BAD_REQUEST,
                    &why,
                );
                return (reply, curp);
            }
        }
        // The sandbox's own headers are checked before the scenario is
        // chosen (a body that cannot be read is answered before them): a
        // typo there is the test author's, and is said plainly rather than
        // hidden in a provider error.
        let forced = req.sandbox_header(&SCENARIO_NAME);
        let header_latency = match req
            .sandbox_header(&LATENCY_NAME)
            .map(str::parse::<Latency>)
            .transpose()
        {
            Ok(l) => l,
            Err(e) => {
                return (
                    Reply::sandbox_error(
                        StatusCode::BAD_REQUEST,
                        &format!("{LATENCY_HEADER}: {e}"),
                    ),
                    curp,
                )
            }
        };
        let header_fault = match req
            .sandbox_header(&FAULT_NAME)
            .map(str::parse::<Fault>)
            .transpose()
        {
            Ok(f) => f,
            Err(e) => {
                return (
                    Reply::sandbox_error(StatusCode::BAD_REQUEST, &format!("{FAULT_HEADER}: {e}")),
                    curp,
                )
            }
        };
        if let Some(name) = forced {
            if ep.scenario(name).is_none() {
                let valid: Vec<&str> = ep.scenarios.keys().map(String::as_str).collect();
                let message = format!(
                    "unknown scenario '{}' for {} {} {}; valid scenarios: {}",
                    quoted(name),
                    pdef.id,
                    ep.methods.first().map(Method::as_str).unwrap_or(""),
                    ep.path(),
                    valid.join(", ")
                );
                let reply = Reply::json(
                    StatusCode::BAD_REQUEST,
                    &json!({ "error": message, "valid_scenarios": valid }),
                );
                return (reply, curp);
            }
        }

        let mut call = Call::new(req, pdef, ep, params, ns, defs, self.config(), began);
        // Lent to the call, and taken back for the journal below.
        call.curp = curp;
        call.credential = credential;

        // SPEC §3, after the credential check: header, test switch, override,
        // persona, realistic path. First match wins.
        let mut hit = None;
        let (name, selected): (Cow<'_, str>, _) = if let Some(auth) = auth {
            (auth, Selected::Auth)
        } else if let Some(name) = forced {
            (name.into(), Selected::Header)
        } else if let Some(name) = module.test_switch(&mut call) {
            (name, Selected::TestSwitch)
        } else if let Some(mut h) = ns.overrides.take(
            &pdef.id,
            &ep.id,
            |s| ep.scenario(s).is_some(),
            || ns.is_current(began.generation),
        ) {
            // Only its timing is read from here on.
            let name = std::mem::take(&mut h.scenario);
            hit = Some(h);
            (name.into(), Selected::Override)
        } else if let Some(name) = match call.curp.as_deref() {
            Some(curp) => persona_scenario(defs, &pdef.id, curp),
            None => module
                .holder(&mut call)
                .and_then(|holder| persona_scenario(defs, &pdef.id, &holder)),
        }
        .filter(|s| ep.scenario(s).is_some())
        {
            (name.into(), Selected::Persona)
        } else {
            (module.realistic(&mut call), Selected::Realistic)
        };
        call.selected = selected;
        // The load check requires what the realistic path can name; a name
        // missing from `required_scenarios` would be a 500 for a user's file.
        debug_assert!(
            selected != Selected::Realistic || module.required_scenarios(&ep.id).contains(&&*name),
            "{} {}: the realistic path chose '{name}', missing from required_scenarios",
            pdef.id,
            ep.id
        );
        let Some(scenario) = ep.scenario(&name) else {
            let message = format!(
                "{} chose scenario '{name}', which {} {} does not define",
                pdef.id, pdef.id, ep.id
            );
            return (
                Reply::sandbox_error(StatusCode::INTERNAL_SERVER_ERROR, &message),
                call.curp.take(),
            );
        };

        let mut vars = Vars::new();
        vars.set("scenario", &*name)
            .set_with("now", |out| began.now.write_mx_rfc3339(out));
        module.vars(&mut call, scenario, &mut vars);
        let mut reply = render(scenario, &vars);
        reply.selected_by = Some(selected);
        module.finish(&mut call, scenario, reply.status.as_u16(), &reply.body);

        let latency = header_latency
            .or(hit.as_ref().and_then(|h| h.latency))
            .or(scenario.latency)
            .or(pdef.latency)
            .or(self.config().latency);
        reply.delay = latency
            .map(|l| l.sample(|| call.rng("latency")))
            .unwrap_or_default();
        reply.fault = header_fault
            .or(hit.as_ref().and_then(|h| h.fault))
            .or(scenario.fault);
        (reply, call.curp.take())
    }

    /// The auth-error scenario for this request's credential, if any.
    fn auth_scenario<'d>(
        &self,
        defs: &'d Defs,
        pdef: &ProviderDef,
        credential: Option<&str>,
    ) -> Option<Cow<'d, str>> {
        let Some(cred) = credential else {
            return Some("missing_credentials".into());
        };
        // No provider issues such a credential (too long to keep: the
        // counters and the async verifications keep the one they are keyed
        // by; or not ASCII, as a header with bytes past it reads).
        if cred.len() > MAX_CREDENTIAL || !cred.is_ascii() {
            return Some("invalid_credentials".into());
        }
        if let Some(s) = defs.fixtures.rejected(&pdef.id, cred) {
            return Some(s.into());
        }
        if self.config().strict_auth && !defs.fixtures.accepted(&pdef.id, cred) {
            return Some("invalid_credentials".into());
        }
        None
    }

    /// An error the engine raises itself, in the owning provider's shape
    /// (its `errors` section, which the load requires to hold the four
    /// kinds), or the sandbox's shape when no provider owns the path.
    #[allow(clippy::too_many_arguments)]
    fn engine_error(
        &self,
        defs: &Defs,
        ns: &Namespace,
        began: Began,
        owner: Option<usize>,
        req: &Request,
        kind: &'static str,
        fallback: StatusCode,
        message: &str,
    ) -> Reply {
        let owned = owner.and_then(|i| {
            let pdef = &defs.providers[i];
            Some((pdef, &self.shared.modules[i], pdef.errors.get(kind)?))
        });
        let Some((pdef, module, scenario)) = owned else {
            let mut reply = Reply::sandbox_error(fallback, message);
            reply.scenario = Some(kind);
            // A number of the namespace's sequence, as every request takes
            // one: what a later request draws does not hang on whether this
            // one drew a latency.
            let seq = ns.next_seq(began.generation);
            let rng = || provider::seeded_rng(self.config().seed, &ns.name, seq, kind);
            self.error_timing(&mut reply, None, None, req, rng);
            return reply.with_header(SCENARIO_NAME, kind);
        };
        let mut vars = Vars::new();
        // The request's one reading of the clock, as its journal entry's.
        vars.set("scenario", kind)
            .set("message", message)
            .set_with("now", |out| began.now.write_mx_rfc3339(out));
        // A number of the namespace's sequence, as a request's: its ids
        // replay with the run.
        let seq = ns.next_seq(began.generation);
        let mut rng = provider::seeded_rng(self.config().seed, &ns.name, seq, kind);
        module.error_vars(req, &mut rng, &mut vars);
        let mut reply = render(scenario, &vars);
        self.error_timing(&mut reply, Some(pdef), Some(scenario), req, || rng);
        reply
    }

    /// An engine error is an answer like any other: it waits the latency of
    /// the request's header, of its `errors:` entry, of its provider or of
    /// `--latency`, and the fault of the header, else of its `errors:`
    /// entry. A header that does not
    /// parse is not reported over the error already being answered: it is
    /// passed over. A range of latency is drawn from `rng`, seeded as the
    /// request's ids are.
    fn error_timing(
        &self,
        reply: &mut Reply,
        pdef: Option<&ProviderDef>,
        scenario: Option<&Scenario>,
        req: &Request,
        rng: impl FnOnce() -> rand::rngs::SmallRng,
    ) {
        let header_latency = req
            .sandbox_header(&LATENCY_NAME)
            .and_then(|v| v.parse::<Latency>().ok());
        let latency = header_latency
            .or(scenario.and_then(|s| s.latency))
            .or(pdef.and_then(|p| p.latency))
            .or(self.config().latency);
        reply.delay = latency.map(|l| l.sample(rng)).unwrap_or_default();
        reply.fault = req
            .sandbox_header(&FAULT_NAME)
            .and_then(|v| v.parse::<Fault>().ok())
            .or(scenario.and_then(|s| s.fault));
    }

    /// The `--log-requests` line of one request: who answered (a provider's
    /// id, `admin`, or `-`), the request and the answer. The method and
    /// the path are cut as the journal cuts them, and made printable (a
    /// path may carry any character but the ASCII controls, which hyper
    /// refuses): one line per request, whatever it asked. A closed or
    /// unread stderr loses the line, never the request
    /// ([`crate::stderr::line`]).
    pub fn log(&self, who: &str, req: &Request, reply: &Reply) {
        if self.config().log_requests {
            use crate::stderr::printable;
            // A CONNECT's target is an authority: it has no path.
            let path = if req.path.is_empty() { "-" } else { &req.path };
            // A fault is what the client got instead of (or with) the status.
            let by = reply
                .selected_by
                .map_or(String::new(), |s| format!(" by {}", s.name()));
            let fault = reply
                .fault
                .map_or(String::new(), |f| format!(" fault {}", f.name()));
            crate::stderr::line(format!(
                "{who} {} {} -> {} {}{by}{fault}",
                printable(journal::cut_method(&req.method).as_str()),
                printable(journal::cut(path)),
                reply.status.as_u16(),
                reply.scenario.unwrap_or("-"),
            ));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_in(
        &self,
        ns: &Namespace,
        defs: &Defs,
        began: Began,
        req: &Request,
        provider: Option<usize>,
        curp: Option<String>,
        reply: &Reply,
    ) {
        let pdef = provider.map(|i| &defs.providers[i]);
        let module = provider.map(|i| &self.shared.modules[i]);
        self.log(pdef.map(|p| p.id.as_str()).unwrap_or("-"), req, reply);
        let entry = Entry::new(journal::Record {
            time: began.now,
            provider: module.map(|m| m.id()),
            method: &req.method,
            path: &req.path,
            query: &req.query_string,
            headers: &req.headers,
            body: &req.raw_body,
            status: reply.status.as_u16(),
            scenario: reply.scenario,
            selected_by: reply.selected_by.map(Selected::name),
            fault: reply.fault.map(Fault::name),
            curp: curp.as_deref(),
        });
        ns.journal.record(entry, || ns.is_current(began.generation));
    }
}

/// What an error message repeats of the request (its method, its path, a
/// header's value, a name it gave): the first 256 bytes, so that a 64 KB
/// path or a 400 KB header is not sent back whole.
pub fn quoted(s: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 256;
    if s.len() <= MAX {
        return s.into();
    }
    format!("{}… ({} bytes)", prefix(s, MAX), s.len()).into()
}

/// At most `max` bytes of `s`, cut before the character the cut would
/// fall in.
pub(crate) fn prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// [`WEBHOOK_HEADER`]'s value on the webhooks of a sandbox run with `seed`
/// (16 hexadecimal digits): derived from it, so that webhooks replay with
/// the run as answers do.
fn webhook_mark(seed: u64) -> String {
    use std::hash::Hasher;
    let mut h = crate::fnv::Fnv::default();
    h.write(&seed.to_le_bytes());
    h.write(WEBHOOK_HEADER.as_bytes());
    format!("{:016x}", h.finish())
}

/// Every answer on a provider path says what answered it: the sandbox's own
/// refusals (an unknown scenario name, a bad sandbox header or namespace)
/// carry `X-Sandbox-Scenario: sandbox_error`.
fn mark_sandbox_error(mut reply: Reply) -> Reply {
    if reply.headers.iter().any(|(k, _)| *k == SCENARIO_NAME) {
        return reply;
    }
    let value = *reply.scenario.get_or_insert("sandbox_error");
    reply.with_header(SCENARIO_NAME, value)
}

/// A CURP as the engine compares it: trimmed and upper-case (reusing the
/// string when it already is).
fn normalize_curp(c: String) -> String {
    let c = trimmed(c);
    if c.bytes().any(|b| b.is_ascii_lowercase()) {
        c.to_ascii_uppercase()
    } else {
        c
    }
}

/// `s` without surrounding white space (reusing the string when it has none).
fn trimmed(s: String) -> String {
    if s.trim().len() == s.len() {
        s
    } else {
        s.trim().to_string()
    }
}

/// The scenario a persona asks for on this provider.
fn persona_scenario(defs: &Defs, provider: &str, curp: &str) -> Option<String> {
    let persona = defs.fixtures.domain.persona(curp)?;
    persona.scenario_for(provider).map(str::to_string)
}

/// A response header's value from text: its bytes as written, letters past
/// ASCII as their UTF-8 (HTTP's obs-text, which clients read as opaque
/// bytes: a persona's `PEÑA` in a header stays there); only control
/// characters other than a tab are refused. `HeaderValue::from_str` takes
/// ASCII alone since http 1.6, and would leave such a header out.
pub(crate) fn header_value(text: &str) -> Result<HeaderValue, InvalidHeaderValue> {
    HeaderValue::from_bytes(text.as_bytes())
}

/// Renders a scenario's status, headers and body.
fn render(scenario: &Scenario, vars: &Vars) -> Reply {
    // An empty template renders nothing, and allocates nothing.
    let body = if scenario.text_body {
        scenario.body.render_text(vars).into_bytes()
    } else {
        scenario.body.render(vars)
    };
    let mut headers = Vec::with_capacity(scenario.headers.len() + 2);
    if !scenario.headers.iter().any(|(k, _)| *k == CONTENT_TYPE) && !body.is_empty() {
        headers.push((CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE)));
    }
    for (k, t) in &scenario.headers {
        if let Ok(v) = header_value(&t.render_text(vars)) {
            headers.push((k.clone(), v));
        }
    }
    if let Some(v) = &scenario.name_header {
        headers.push((SCENARIO_NAME, v.clone()));
    }
    Reply {
        status: scenario.status,
        headers,
        body: Bytes::from(body),
        delay: Duration::ZERO,
        fault: None,
        scenario: Some(scenario.name),
        selected_by: None,
        lease: None,
    }
}

fn catalog(defs: &Defs) -> Vec<CatalogEntry> {
    let mut out = Vec::new();
    for p in &defs.providers {
        for e in &p.endpoints {
            // Every method the endpoint takes (`GET,POST`), not the first.
            let methods: Vec<&str> = e.methods.iter().map(|m| m.as_str()).collect();
            let methods = methods.join(",");
            for s in e.scenarios.values() {
                out.push(CatalogEntry {
                    provider: p.id.clone(),
                    method: methods.clone(),
                    path: e.path().to_string(),
                    name: s.name.to_string(),
                    description: s.description.clone(),
                });
            }
        }
    }
    out
}

impl Defs {
    /// What a request would otherwise build on first use, built ahead for
    /// serving: the personas' INE credentials, a person built for each
    /// (about 9 µs a persona). Built by the first IneNominalList request,
    /// 50,000 personas held its worker 0.4 s, and a second such request the
    /// other worker waiting for them: every provider stopped answering
    /// meanwhile. Here it is the start's, before the ready line
    /// ([`Engine::to_serve`]), or the reload's own thread's. The commands
    /// that serve nothing (`check`, `scenarios`, `curp person`) load
    /// without it.
    fn index_to_serve(&self, config: &Config) {
        let fixtures = &self.fixtures;
        fixtures
            .people
            .index_credentials(&fixtures.domain, config.seed);
    }
}

/// Loads every provider file and the fixtures, and checks them against each
/// other.
pub fn load(config: &Config, modules: &[Arc<dyn Provider>]) -> Result<Defs, LoadError> {
    let providers = load_scenarios(&config.scenarios, modules)?;
    let fixtures = Fixtures::load(&config.fixtures)?;
    // Under --strict-auth a provider without an accept list would refuse
    // every key, without a word.
    if config.strict_auth {
        if let Some(m) = modules.iter().find(|m| {
            fixtures
                .credentials
                .get(m.id())
                .is_none_or(|c| c.accept.is_empty())
        }) {
            return Err(fixtures.credentials_error(
                "",
                m.id().to_string(),
                format!(
                    "{} has no accept list: under --strict-auth it would refuse every credential",
                    m.id()
                ),
            ));
        }
    }
    for (pid, creds) in &fixtures.credentials {
        let Some(p) = providers.iter().find(|p| &p.id == pid) else {
            return Err(fixtures.credentials_error(
                &format!("{pid}:"),
                pid.clone(),
                format!("unknown provider '{}'", quoted(pid)),
            ));
        };
        // One no request can present would be a rule that never applies: a
        // header carries visible ASCII, spaces and tabs; a body's token (a
        // module that reads its credential there) any ASCII, but spaces
        // and tabs around it are trimmed as a header's are.
        let in_body = modules
            .iter()
            .any(|m| m.id() == pid && m.credential_in_body());
        let unpresentable = |c: &&String| {
            let sendable = if in_body {
                !c.is_empty() && http_trim(c).len() == c.len() && c.is_ascii()
            } else {
                sendable_header_value(c)
            };
            !sendable || c.len() > MAX_CREDENTIAL
        };
        let named = (creds.accept.iter().map(|c| ("accept", c)))
            .chain(creds.reject.keys().map(|c| ("reject", c)))
            .chain(creds.webhooks.keys().map(|c| ("webhooks", c)));
        if let Some((list, cred)) = named.into_iter().find(|(_, c)| unpresentable(c)) {
            return Err(fixtures.credentials_error(
                &format!("{list}:"),
                format!("{pid}.{list}"),
                format!("{} can never be presented: a credential is 1 to {MAX_CREDENTIAL} ASCII characters, with no space or tab around it (HTTP strips them) and, in a header, no control character but a tab (a blank one is missing, a longer or non-ASCII one invalid)", serde_json::Value::from(quoted(cred))),
            ));
        }
        // Under --strict-auth one would be taken and refused at once.
        if let Some(cred) = creds
            .reject
            .keys()
            .find(|c| creds.accept.contains(c.as_str()))
        {
            return Err(fixtures.credentials_error(
                cred,
                format!("{pid}.reject.{cred}"),
                format!(
                    "'{}' is listed under both accept and reject: list it once",
                    quoted(cred)
                ),
            ));
        }
        let calls_back = modules
            .iter()
            .any(|m| m.id() == pid && m.delivers_webhooks());
        if let Some(cred) = creds.webhooks.keys().next().filter(|_| !calls_back) {
            return Err(fixtures.credentials_error(
                cred,
                format!("{pid}.webhooks.{cred}"),
                format!(
                    "{pid} calls no one back; webhooks are for {}",
                    modules
                        .iter()
                        .filter(|m| m.delivers_webhooks())
                        .map(|m| m.id())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        for (cred, scenario) in &creds.reject {
            if let Some(e) = p.endpoints.iter().find(|e| e.scenario(scenario).is_none()) {
                return Err(fixtures.credentials_error(
                    cred,
                    format!("{pid}.reject.{cred}"),
                    format!(
                        "scenario '{}' is not defined for {pid} endpoint '{}'",
                        quoted(scenario),
                        e.id
                    ),
                ));
            }
        }
    }
    // A scenario's data values the module cannot answer with, checked
    // against the fixtures' catalogs.
    for p in &providers {
        let Some(m) = modules.iter().find(|m| m.id() == p.id) else {
            continue;
        };
        for e in &p.endpoints {
            for sc in e.scenarios.values() {
                let serde_json::Value::Object(data) = &sc.data else {
                    continue;
                };
                let statuses = m.data_statuses().iter().find_map(|key| {
                    let code = data.get(*key)?.as_str()?;
                    let listed = fixtures.domain.catalogs.check_status(code);
                    listed.err().map(|why| (key.to_string(), why))
                });
                let checked =
                    statuses.map_or_else(|| m.check_data(&e.id, sc.status, data, &fixtures), Err);
                if let Err((key, message)) = checked {
                    let needle = data.get(&key).and_then(|v| v.as_str()).unwrap_or(&key);
                    let field = format!("endpoints.{}.scenarios.{}.data.{key}", e.id, sc.name);
                    // The user's fixtures made an embedded file wrong: named
                    // as the embedded fixture files are, not as a path the
                    // user may hold a copy at.
                    let file = if p.embedded {
                        format!("embedded {}", p.file)
                    } else {
                        p.file.clone()
                    };
                    return Err(LoadError::at(&file, &p.text, needle, &field, message));
                }
            }
        }
    }
    // A persona's scenario must exist somewhere, or a typo in it would be
    // ignored without a word (selection skips a name the endpoint lacks).
    let defined =
        |p: &ProviderDef, name: &str| p.endpoints.iter().any(|e| e.scenario(name).is_some());
    for (i, persona) in fixtures.domain.personas.iter().enumerate() {
        for (pid, name) in &persona.scenarios {
            let message = match providers.iter().find(|p| &p.id == pid) {
                None => format!("unknown provider '{}'", quoted(pid)),
                Some(p) if !defined(p, name) => {
                    format!("scenario '{}' is not defined for {pid}", quoted(name))
                }
                Some(_) => continue,
            };
            return Err(fixtures.personas_error(pid, format!("[{i}].scenarios.{pid}"), message));
        }
        for (pid, data) in &persona.provider_data {
            let (key, message) = match modules.iter().find(|m| m.id() == pid) {
                None => (String::new(), format!("unknown provider '{}'", quoted(pid))),
                Some(m) => match m.check_provider_data(data) {
                    Ok(()) => continue,
                    Err(e) => e,
                },
            };
            let field = match key.as_str() {
                "" => format!("[{i}].provider_data.{pid}"),
                key => format!("[{i}].provider_data.{pid}.{key}"),
            };
            let needle = key
                .rsplit('.')
                .next()
                .filter(|k| !k.is_empty())
                .unwrap_or(pid);
            return Err(fixtures.personas_error(needle, field, message));
        }
        if let Some(name) = &persona.scenario {
            if !providers.iter().any(|p| defined(p, name)) {
                return Err(fixtures.personas_error(
                    name,
                    format!("[{i}].scenario"),
                    format!(
                        "scenario '{}' is not defined for any provider",
                        quoted(name)
                    ),
                ));
            }
        }
    }
    let router = Router::build(&providers)?;
    Ok(Defs {
        providers,
        router,
        fixtures,
        generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
    })
}

/// Refuses a YAML file in a user's folder that the sandbox would not read
/// (a typo: `persona.yaml`, `Personas.YAML`), which would otherwise leave
/// the embedded file answering without a word.
pub fn check_folder(
    dir: &Path,
    known: &[&str],
    unknown: impl Fn(&str) -> String,
) -> Result<(), LoadError> {
    let cannot = |why: String| {
        LoadError::new(
            &dir.display().to_string(),
            format!("cannot read folder: {why}"),
        )
    };
    if let Some(why) = not_a_folder(dir) {
        return Err(cannot(why));
    }
    let files = yaml_stems(dir).map_err(|e| cannot(e.to_string()))?;
    for (stem, ext) in &files {
        let stem = stem.as_str();
        let file = dir.join(format!("{stem}.{ext}")).display().to_string();
        if ext != "yaml" && ext != "yml" {
            return Err(LoadError::new(
                &file,
                format!(
                    "write the extension in lower case ({stem}.yaml): files are read by that name"
                ),
            ));
        }
        if !known.contains(&stem) {
            // `CURPV5.yaml`, `Personas.yaml`: the name in another case.
            let lower = stem.to_ascii_lowercase();
            if known.contains(&lower.as_str()) {
                return Err(LoadError::new(
                    &file,
                    format!(
                        "write the name in lower case ({lower}.{ext}): files are read by that name"
                    ),
                ));
            }
            return Err(LoadError::new(&file, unknown(stem)));
        }
    }
    Ok(())
}

/// Why `dir` is no folder to read, if it is not: "no such folder", "not a
/// folder", or the reason it cannot be looked at (a parent that cannot be
/// searched: "Permission denied"), as `serve` and `check` word it.
pub fn not_a_folder(dir: &Path) -> Option<String> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => None,
        Ok(_) => Some(NOT_A_FOLDER.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(NO_SUCH_FOLDER.to_string()),
        Err(e) => Some(e.to_string()),
    }
}

/// What [`not_a_folder`] says of a path that is no folder, and of one
/// that is not there.
pub const NOT_A_FOLDER: &str = "not a folder";
pub const NO_SUCH_FOLDER: &str = "no such folder";

/// The YAML files in `dir`: each one's name without its extension, and
/// the extension (`yaml` or `yml`, in any letter case: the loaders name a
/// wrong case).
pub fn yaml_stems(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    Ok(std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let (stem, ext) = name.rsplit_once('.')?;
            let yaml = ["yaml", "yml"].iter().any(|e| ext.eq_ignore_ascii_case(e));
            yaml.then(|| (stem.to_string(), ext.to_string()))
        })
        .collect())
}

/// The file `{stem}.yaml` (or `.yml`) in `dir`, if there is one: its path
/// and text. Both spellings at once is an error, not a choice made for the
/// user.
pub fn read_yaml(dir: &Path, stem: &str) -> Result<Option<(String, String)>, LoadError> {
    let found: Vec<PathBuf> = ["yaml", "yml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        // Named in the folder, whatever it is: a link that leads nowhere,
        // or a name that cannot be looked at (no permission), is refused
        // below, not skipped for the embedded file.
        .filter(
            |p| !matches!(p.symlink_metadata(), Err(e) if e.kind() == std::io::ErrorKind::NotFound),
        )
        .collect();
    // A name that cannot be looked at is no second spelling: its folder
    // cannot be entered (one that can be listed but not searched).
    for p in &found {
        if let Err(e) = p.symlink_metadata() {
            let folder = dir.display().to_string();
            return Err(LoadError::new(&folder, format!("cannot read folder: {e}")));
        }
    }
    let path = match found.as_slice() {
        [] => return Ok(None),
        [path] => path,
        [a, b, ..] => {
            return Err(LoadError::new(
                &a.display().to_string(),
                format!(
                    "{} is there too; keep one of the two",
                    b.file_name().unwrap_or_default().to_string_lossy()
                ),
            ))
        }
    };
    let file = path.display().to_string();
    let cannot = |why: String| LoadError::new(&file, format!("cannot read: {why}"));
    // A FIFO would hold the read (and a reload's worker) until someone
    // writes to it, and a device such as /dev/zero never ends.
    let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    if !meta.is_file() {
        return Err(cannot(
            "not a regular file (a folder, a FIFO or a device)".to_string(),
        ));
    }
    let mut text = std::fs::read_to_string(path).map_err(|e| cannot(e.to_string()))?;
    // A byte-order mark (some Windows editors write one) is no part of the
    // YAML, and the parser would take the first key for a second document.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    // A lone CR (classic Mac) ends a line to YAML, not to the lines an
    // error is placed on: written as the LF it stands for.
    if text.contains('\r') {
        text = text.replace("\r\n", "\n").replace('\r', "\n");
    }
    // A user's file: what the typed loaders would let pass silently.
    model::check_yaml(&file, &text)?;
    Ok(Some((file, text)))
}

/// Loads the scenario files: the embedded ones, replaced by those a folder has.
pub fn load_scenarios(
    source: &Source,
    modules: &[Arc<dyn Provider>],
) -> Result<Vec<ProviderDef>, LoadError> {
    if let Source::Dir(dir) = source {
        let ids: Vec<&str> = modules.iter().map(|m| m.id()).collect();
        check_folder(dir, &ids, |stem| {
            format!(
                "no provider '{stem}'; scenario files are named after {}",
                ids.join(", ")
            )
        })?;
    }
    modules
        .iter()
        .map(|m| {
            let from_dir = match source {
                Source::Dir(dir) => read_yaml(dir, m.id())?,
                Source::Embedded => None,
            };
            let embedded = from_dir.is_none();
            let (file, text) = from_dir
                .unwrap_or_else(|| (format!("scenarios/{}.yaml", m.id()), m.yaml().to_string()));
            let def = parse_module(&**m, &file, &text)?;
            Ok(ProviderDef { embedded, ..def })
        })
        .collect()
}

/// Parses `text`, named `file`, as `m`'s scenario file, checked against
/// what the module declares.
pub fn parse_module(m: &dyn Provider, file: &str, text: &str) -> Result<ProviderDef, LoadError> {
    // The engine answers auth failures with these two names itself.
    let required = |ep: &str| {
        let mut r = m.required_scenarios(ep);
        r.extend(["missing_credentials", "invalid_credentials"]);
        r
    };
    let expect = Expect {
        id: m.id(),
        endpoints: m.endpoints(),
        variables: m.variables(),
        error_variables: m.error_variables(),
        data_keys: m.data_keys(),
        data_numbers: m.data_numbers(),
        required: &required,
        settings: &|s| m.check_settings(s),
    };
    model::parse_provider(file, text, &expect)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use hyper::{HeaderMap, Method};

    use super::{quoted, Engine, LATENCY_HEADER};
    use crate::config::Config;
    use crate::engine::clock::Start;
    use crate::request::Request;
    use crate::time::Timestamp;

    /// The defaults on a frozen clock: what a request states of the time
    /// (an ObjectId's seconds) is the same in two engines, however long
    /// apart they answer.
    fn frozen() -> Config {
        Config {
            clock: Start {
                at: Some(Timestamp::parse_rfc3339("2024-05-15T10:00:00-06:00").unwrap()),
                scale: 0.0,
            },
            ..Config::default()
        }
    }

    /// Every request answered from a scenario or an `errors:` entry takes
    /// a number of the sequence, the sandbox's own 404 too, whether or not
    /// it draws a latency: the ids of the requests after it do not hang on
    /// it. (A sandbox header that does not parse, or an unknown forced
    /// scenario, is a 400 that draws nothing and takes none.)
    #[test]
    fn a_sandbox_404_takes_a_number_with_or_without_a_latency() {
        let nss_id_after_a_404 = |latency: Option<&str>| {
            let engine = Engine::new(frozen(), crate::providers::all()).unwrap();
            let mut headers = HeaderMap::new();
            if let Some(l) = latency {
                headers.insert(LATENCY_HEADER, l.parse().unwrap());
            }
            let uri = "/nowhere".parse().unwrap();
            let r = engine.handle(&Request::new(Method::GET, &uri, headers, Bytes::new()));
            assert_eq!(r.status, 404);
            let mut headers = HeaderMap::new();
            headers.insert("x-api-key", "k".parse().unwrap());
            headers.insert("content-type", "application/json".parse().unwrap());
            let uri = "/api/v1/imss/nss".parse().unwrap();
            let body = Bytes::from(r#"{"curp":"PXNE660720HMCXTN06"}"#);
            let r = engine.handle(&Request::new(Method::POST, &uri, headers, body));
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            body["id"].as_str().unwrap().to_string()
        };
        let plain = nss_id_after_a_404(None);
        assert_eq!(nss_id_after_a_404(Some("1ms")), plain);
        assert_eq!(nss_id_after_a_404(Some("0ms..2ms")), plain);
    }

    /// A range of latency is drawn from the request's seeded generator: the
    /// same run (seed, namespace, requests) waits the same delays, another
    /// seed others. On a provider's answer and on the sandbox's own 404.
    #[test]
    fn a_latency_range_replays_with_the_seed() {
        let delays = |seed: u64, method: Method, path: &str, body: &'static str| {
            let config = Config { seed, ..frozen() };
            let engine = Engine::new(config, crate::providers::all()).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(LATENCY_HEADER, "0ms..10s".parse().unwrap());
            headers.insert("apikey", "any".parse().unwrap());
            headers.insert("content-type", "application/json".parse().unwrap());
            let uri = path.parse().unwrap();
            (0..4)
                .map(|_| {
                    let req =
                        Request::new(method.clone(), &uri, headers.clone(), Bytes::from(body));
                    engine.handle(&req).delay
                })
                .collect::<Vec<Duration>>()
        };
        let success = r#"{"curp":"PXNE660720HMCXTN06"}"#;
        for (method, path, body) in [
            (Method::POST, "/api/curp/bycurp", success),
            (Method::GET, "/nowhere", ""),
        ] {
            let first = delays(7, method.clone(), path, body);
            assert_eq!(first, delays(7, method.clone(), path, body), "{path}");
            assert_ne!(first, delays(8, method, path, body), "{path}");
            // Drawn, not the range's end.
            assert!(first.iter().any(|d| *d != first[0]), "{path}: {first:?}");
        }
    }

    /// The personas' INE credentials are indexed as the files are read to
    /// serve, at start and by a reload (on its own thread), with the
    /// sandbox's seed: no request builds them. The commands that serve
    /// nothing do not.
    #[tokio::test]
    async fn the_personas_credentials_are_indexed_as_the_files_are_read_to_serve() {
        let config = Config {
            seed: 7,
            ..Default::default()
        };
        let engine = Engine::to_serve(config.clone(), crate::providers::all()).unwrap();
        assert!(engine.defs().fixtures.people.indexed(7));
        let reread = engine.read_defs().await.unwrap();
        assert!(reread.fixtures.people.indexed(7));
        let listing = Engine::new(config, crate::providers::all()).unwrap();
        assert!(!listing.defs().fixtures.people.indexed(7));
    }

    /// Two reloads at once: the one that began later stays, whichever ends
    /// first and in whichever order they are put in place. A reading is
    /// numbered as it starts (at its first poll), not as it ends: one that
    /// began before a file changed and ended after a later reload read the
    /// new file is the older.
    #[tokio::test]
    async fn a_reload_begun_earlier_does_not_replace_one_begun_later() {
        let engine = Engine::new(Default::default(), crate::providers::all()).unwrap();
        let mut earlier = Box::pin(engine.read_defs());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let first = std::future::Future::poll(earlier.as_mut(), &mut cx);
        let later = engine.read_defs().await.unwrap();
        let earlier = match first {
            std::task::Poll::Ready(read) => read,
            std::task::Poll::Pending => earlier.await,
        }
        .unwrap();
        let later_generation = later.generation;
        assert!(earlier.generation < later_generation);
        engine.install(later);
        engine.install(earlier);
        assert_eq!(engine.defs().generation, later_generation);
    }

    /// Two reloads one after the other: the second stays, in whichever
    /// order they are put in place.
    #[tokio::test]
    async fn a_reload_read_earlier_does_not_replace_one_read_later() {
        let engine = Engine::new(Default::default(), crate::providers::all()).unwrap();
        let earlier = engine.read_defs().await.unwrap();
        let later = engine.read_defs().await.unwrap();
        let (earlier_generation, later_generation) = (earlier.generation, later.generation);
        assert!(earlier_generation < later_generation);
        engine.install(later);
        engine.install(earlier);
        assert_eq!(engine.defs().generation, later_generation);
        let again = engine.read_defs().await.unwrap();
        let again_generation = again.generation;
        engine.install(again);
        assert_eq!(engine.defs().generation, again_generation);
    }

    #[test]
    fn quoted_cuts_a_long_value_before_its_256th_byte_at_a_character() {
        let whole = "é".repeat(128);
        assert_eq!(quoted(&whole), whole.as_str());
        // 401 bytes, the 256th inside an `é`: the cut falls before it.
        let long = format!("/{}", "é".repeat(200));
        assert_eq!(quoted(&long), format!("/{}… (401 bytes)", "é".repeat(127)));
    }
}
