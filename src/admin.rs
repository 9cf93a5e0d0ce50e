//! The admin API under `/__admin` (SPEC §7): a closed set of routes,
//! dispatched by `answer`; a route of more than a line has a `handle_*`
//! function of its own. JSON in and out; bad input gets 400 with
//! `{"error": "…"}` saying what is wrong.

use std::sync::{Arc, OnceLock};

use hyper::header::ALLOW;
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::engine::budget::Lease;
use crate::engine::clock::Change;
use crate::engine::journal::Filter;
use crate::engine::latency::{Fault, Latency};
use crate::engine::ledger::Refused;
use crate::engine::model::{EndpointDef, ProviderDef};
use crate::engine::namespace::{Namespace, DEFAULT_NAMESPACE};
use crate::engine::overrides::{self, Override, MAX_OVERRIDES};
use crate::engine::provider::AdminCall;
use crate::engine::timers::Ran;
use crate::engine::{quoted, Defs, Engine, Reply, NAMESPACE_HEADER, NAMESPACE_NAME};
use crate::request::{percent_decode_path, Body, Request};
use crate::router::{router_of, same_path};
use crate::time::{parse_duration, Timestamp};

pub const PREFIX: &str = "/__admin";

/// Whether `path` belongs to the admin API.
pub fn owns(path: &str) -> bool {
    path == PREFIX || path.starts_with("/__admin/")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    Scenarios,
    ListOverrides,
    AddOverride,
    ClearOverrides,
    DeleteOverride,
    Requests,
    ClearRequests,
    Counters,
    ClearCounters,
    Clock,
    SetClock,
    Reset,
    Reload,
}

const ROUTES: &[(&str, &str, Route)] = &[
    ("GET", "/__admin/health", Route::Health),
    ("GET", "/__admin/scenarios", Route::Scenarios),
    ("GET", "/__admin/overrides", Route::ListOverrides),
    ("POST", "/__admin/overrides", Route::AddOverride),
    ("DELETE", "/__admin/overrides", Route::ClearOverrides),
    ("DELETE", "/__admin/overrides/{id}", Route::DeleteOverride),
    ("GET", "/__admin/requests", Route::Requests),
    ("DELETE", "/__admin/requests", Route::ClearRequests),
    ("GET", "/__admin/counters", Route::Counters),
    ("DELETE", "/__admin/counters", Route::ClearCounters),
    ("GET", "/__admin/clock", Route::Clock),
    ("POST", "/__admin/clock", Route::SetClock),
    ("POST", "/__admin/reset", Route::Reset),
    ("POST", "/__admin/reload", Route::Reload),
];

/// One matchit router per method, built once.
fn routers() -> &'static Vec<(Method, matchit::Router<Route>)> {
    static ROUTERS: OnceLock<Vec<(Method, matchit::Router<Route>)>> = OnceLock::new();
    ROUTERS.get_or_init(|| {
        let mut out: Vec<(Method, matchit::Router<Route>)> = Vec::new();
        for (m, path, route) in ROUTES {
            let method = Method::from_bytes(m.as_bytes()).expect("admin methods are valid");
            router_of(&mut out, method)
                .insert(*path, *route)
                .expect("admin routes do not conflict");
        }
        out
    })
}

fn error(status: StatusCode, message: &str) -> Reply {
    Reply::sandbox_error(status, message)
}

fn ok(body: Value) -> Reply {
    Reply::json(StatusCode::OK, &body)
}

/// The 401 for a request without the `--admin-token`, if it is one.
fn unauthorized(engine: &Engine, req: &Request) -> Option<Reply> {
    let token = engine.config().admin_token.as_ref()?;
    (req.bearer().as_ref() != Some(token)).then(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "the admin API needs 'Authorization: Bearer TOKEN' with the --admin-token value",
        )
        .with_header(hyper::header::WWW_AUTHENTICATE, "Bearer")
    })
}

/// Answers an admin request whose body was over the limit (`req` has none):
/// the token first, as for every admin request; then 413, at once and not
/// journaled (the journal is the providers').
pub fn too_large(engine: &Engine, req: &Request) -> Reply {
    unauthorized(engine, req).unwrap_or_else(|| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the request body is larger than {} bytes",
                engine.config().body_limit
            ),
        )
    })
}

/// Answers one admin request.
pub async fn handle(engine: &Engine, req: &Request) -> Reply {
    let reply = answer(engine, req).await;
    leased(engine, req, reply)
}

/// Answers from this size up are sent on a lease of the engine's budget
/// for listings: below it, an answer is handed over as soon as it is made.
const LEASED_FROM: usize = 64 << 10;

/// A large answer (a listing: the journal, or a module's own listing)
/// with its lease of the listings' budget, or the 503 of [`lease`]. One
/// leased before it was written keeps its lease.
fn leased(engine: &Engine, req: &Request, reply: Reply) -> Reply {
    if reply.lease.is_some() {
        return reply;
    }
    match lease(engine, req, reply.body.len()) {
        Ok(lease) => Reply { lease, ..reply },
        Err(busy) => busy,
    }
}

/// A lease of the listings' budget for an answer of about `bytes` to
/// `req`: none for a small answer or to a HEAD (which sends no body), or a
/// 503 while other clients hold the budget with listings they have not
/// read yet.
fn lease(engine: &Engine, req: &Request, bytes: usize) -> Result<Option<Lease>, Reply> {
    if bytes < LEASED_FROM || req.method == Method::HEAD {
        return Ok(None);
    }
    engine.listings().lease(bytes).map(Some).ok_or_else(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many admin listings are being sent at once to clients that have not read them yet; retry shortly",
        )
        .with_header(hyper::header::RETRY_AFTER, "1")
    })
}

/// Answers one admin request, its body whole.
async fn answer(engine: &Engine, req: &Request) -> Reply {
    if let Some(refused) = unauthorized(engine, req) {
        return refused;
    }
    // A parameter given twice with two values (`?namespace=a&namespace=b`)
    // is refused, as a sandbox header sent twice is: which one was meant?
    // (An empty one is no value, as an empty header.)
    if let Some(problem) = twice_in_query(req) {
        return error(StatusCode::BAD_REQUEST, &problem);
    }
    let path = path_for(req.method.as_str(), &req.path);
    // HEAD is GET without the body (hyper writes none), as on provider routes.
    let method = if req.method == Method::HEAD {
        &Method::GET
    } else {
        &req.method
    };
    let found = routers()
        .iter()
        .find(|(m, _)| m == method)
        .and_then(|(_, r)| r.at(path).ok());
    let Some(found) = found else {
        if let Some(reply) = handle_module(engine, req, method, path).await {
            return reply;
        }
        return unrouted(engine, req);
    };
    let route = *found.value;
    let filters = if route == Route::Requests {
        JOURNAL_FILTERS
    } else {
        &[]
    };
    if let Some(refused) = unknown_parameter(req, filters) {
        return refused;
    }
    let id = found.params.get("id").map(percent_decode_path);
    // Only a change that stays makes a namespace: reading, clearing or a
    // change refused sees it as it is, or blank if no request made it. The
    // routes that change one take it (`kept`) once their input is checked.
    let ns = match named_namespace(engine, req, Taken::AsItIs) {
        Ok(ns) => ns,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    let kept = || {
        named_namespace(engine, req, Taken::Kept).map_err(|m| error(StatusCode::BAD_REQUEST, &m))
    };
    // Only the routes that read a body answer for one that cannot be read
    // (a GET or HEAD's body, if one is sent, is not read).
    if matches!(route, Route::AddOverride | Route::SetClock) {
        if let Some(why) = req.body.admin_problem() {
            return error(StatusCode::BAD_REQUEST, &why);
        }
        if matches!(req.body, Body::Empty) {
            return error(StatusCode::BAD_REQUEST, "send a JSON object as the body");
        }
    }
    match route {
        Route::Health => ok(json!({"status": "ok"})),
        Route::Scenarios => ok(json!(engine.catalog())),
        Route::ListOverrides => ok(json!(ns.overrides.list())),
        Route::AddOverride => handle_add_override(engine, req, kept),
        Route::ClearOverrides => {
            ns.overrides.clear();
            ok(json!({"cleared": true}))
        }
        Route::DeleteOverride => handle_delete_override(&ns, id.as_deref().unwrap_or("")),
        Route::Requests => handle_requests(engine, &ns, req),
        Route::ClearRequests => {
            ns.journal.clear();
            ok(json!({"cleared": true}))
        }
        Route::Counters => ok(json!(ns.counters.list(ns.clock.now()))),
        Route::ClearCounters => {
            ns.counters.clear();
            ok(json!({"cleared": true}))
        }
        Route::Clock => clock_json(&ns),
        Route::SetClock => handle_set_clock(&ns, req, kept).await,
        Route::Reset => handle_reset(engine, &ns),
        Route::Reload => handle_reload(engine).await,
    }
}

/// The path a request of `method` to `raw` is routed by. One trailing
/// slash is forgiven, as on provider routes, but not on a DELETE:
/// `overrides/` is an override id left empty, not a request to clear them
/// all (and a 405 offers a method only where it would be routed).
fn path_for<'a>(method: &str, raw: &'a str) -> &'a str {
    if method == "DELETE" {
        raw
    } else {
        crate::router::without_trailing_slash(raw)
    }
}

/// The 404 for a path no admin route has, or the 405 (with `Allow`) for
/// a method the path's routes do not take.
fn unrouted(engine: &Engine, req: &Request) -> Reply {
    let raw = req.path.as_str();
    // A method is offered where it would be routed to the same path as
    // this request's: a GET of `overrides/5/` is not offered a DELETE,
    // which takes no trailing slash.
    let path = path_for(req.method.as_str(), raw);
    let routed = |method: &str| (path_for(method, raw) == path).then_some(path);
    let mut allow: Vec<&str> = routers()
        .iter()
        .filter(|(m, r)| routed(m.as_str()).is_some_and(|p| r.at(p).is_ok()))
        .map(|(m, _)| m.as_str())
        .collect();
    allow.extend(module_methods(engine, routed));
    if allow.contains(&"GET") {
        allow.push("HEAD");
    }
    if allow.is_empty() {
        // A path is told the route of its method it likely meant, as a
        // provider's is (a parameter filled with the request's own
        // segment; none over 1 KB). Not a DELETE: one that missed
        // `overrides/{id}` would be told to clear them all.
        let method = req.method.as_str();
        let sent = crate::router::Sent::new(path);
        let mut buffer = String::new();
        let fixed = ROUTES
            .iter()
            .filter(|(m, _, _)| *m == method)
            .map(|(_, p, _)| *p)
            .chain(
                engine
                    .admin_routers()
                    .iter()
                    .flat_map(|r| r.paths_of(method)),
            )
            .filter(|_| method != "DELETE" && path.len() <= crate::router::MOST_MEASURED)
            .filter_map(|p| match crate::router::segments_to_fill(p) {
                None => Some((p.to_string(), ())),
                Some(segments) => {
                    let filled = crate::router::fill(&mut buffer, &segments, &sent)?;
                    Some((filled.to_string(), ()))
                }
            });
        let meant = crate::router::nearest(path, fixed).map_or_else(String::new, |(p, ())| {
            format!("; did you mean {}?", quoted(&p))
        });
        return error(
            StatusCode::NOT_FOUND,
            &format!(
                "no admin route {} {}{meant}",
                quoted(req.method.as_str()),
                quoted(&req.path)
            ),
        );
    }
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!(
            "method {} is not allowed on {}; allowed: {}",
            quoted(req.method.as_str()),
            quoted(raw),
            allow.join(", ")
        ),
    )
    .with_header(ALLOW, &allow.join(", "))
}

/// `POST /__admin/clock`: sets, advances or scales the namespace's clock.
/// Whatever the move made due has happened when the answer arrives,
/// instant by instant: the driver, which the move wakes, is held off until
/// then (a reset drops it: the answer then reads the clock put back), or a
/// 503 if the shutdown drops it first. On a task of its own, which an admin
/// client that leaves does not cut short.
async fn handle_set_clock(
    ns: &Namespace,
    req: &Request,
    kept: impl FnOnce() -> Result<Arc<Namespace>, Reply>,
) -> Reply {
    let change = match clock_change(ns, req) {
        Ok(change) => change,
        Err(refused) => return refused,
    };
    let ns = match kept() {
        Ok(ns) => ns,
        Err(refused) => return refused,
    };
    let hold = ns.timers.hold();
    if !ns.clock.apply(change) {
        return error(StatusCode::BAD_REQUEST, CLOCK_RANGE);
    }
    let until = ns.clock.now();
    match tokio::spawn(async move { hold.run_due(until).await }).await {
        Ok(Ran::Stopped) => error(StatusCode::SERVICE_UNAVAILABLE, CLOCK_MOVE_STOPPED),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the clock moved, but running what it made due failed: {e}"),
        ),
        Ok(Ran::All) => clock_json(&ns),
    }
}

/// `POST /__admin/reset`: the namespace as new.
fn handle_reset(engine: &Engine, ns: &Namespace) -> Reply {
    // The name first: see `Namespaces::forget`.
    engine.namespaces().forget(&ns.name);
    ns.reset();
    ok(json!({"reset": true, "namespace": ns.name}))
}

/// `POST /__admin/reload`: the files read again, and put in place only if
/// all of them load. What the reload changes in the namespaces is done
/// before an admin change checked against the definitions goes on.
async fn handle_reload(engine: &Engine) -> Reply {
    let read = match engine.read_defs().await {
        Ok(read) => read,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("reload refused, the previous configuration stays: {e}"),
            )
        }
    };
    let _held = engine.hold_defs();
    engine.install(read);
    // An override whose scenario the new files no longer have would never
    // match again: it goes, and the answer says so.
    let defs = engine.defs();
    let mut dropped = Vec::new();
    for ns in engine.namespaces().all() {
        for o in ns.overrides.retain(|o| still_answers(&defs, o)) {
            dropped.push(json!({"namespace": ns.name, "override": o}));
        }
        for (module, pdef) in engine.modules().iter().zip(&defs.providers) {
            module.reloaded(&ns, pdef, &defs, engine.config());
        }
    }
    ok(json!({
        "reloaded": true,
        "scenarios": engine.catalog().len(),
        "dropped_overrides": dropped,
    }))
}

/// A query parameter given twice with two different values, said. One pass:
/// a URI may carry thousands of parameters.
fn twice_in_query(req: &Request) -> Option<String> {
    let mut first: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    req.query
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .find_map(|(name, value)| {
            let other = *first.entry(name).or_insert(value);
            (other != value).then(|| {
                format!(
                    "'{}' given twice, as '{}' and as '{}': give one",
                    quoted(name),
                    quoted(other),
                    quoted(value)
                )
            })
        })
}

/// How an admin route takes its namespace.
#[derive(Clone, Copy)]
enum Taken {
    /// As it is, or blank if no request made it: reading or clearing one
    /// makes none.
    AsItIs,
    /// Made if it does not exist: a change that stays.
    Kept,
}

/// The namespace `?namespace=` names, or else the `X-Sandbox-Namespace`
/// header (`default` without either): a client that sends the header on
/// every request, as a suite's shared HTTP client does, resets its own
/// namespace and not `default`. Both, naming two namespaces, are refused:
/// which was meant?
fn named_namespace(engine: &Engine, req: &Request, taken: Taken) -> Result<Arc<Namespace>, String> {
    if let Some(problem) = req.sandbox_header_problem_of(&NAMESPACE_NAME) {
        return Err(problem);
    }
    let query = req.query("namespace").filter(|n| !n.is_empty());
    let name = match (query, req.sandbox_header(&NAMESPACE_NAME)) {
        (Some(q), Some(h)) if q != h => {
            return Err(format!(
                "the namespace is named twice, as ?namespace={} and as {NAMESPACE_HEADER}: {}: name one",
                quoted(q),
                quoted(h)
            ))
        }
        (q, h) => q.or(h).unwrap_or(DEFAULT_NAMESPACE),
    };
    match taken {
        Taken::Kept => engine.namespaces().get(name),
        Taken::AsItIs => engine.namespaces().existing_or_blank(name),
    }
}

/// Answers a route a provider module owns (`Provider::admin_routes`), if
/// one matches: the admin API's own routes are tried first.
async fn handle_module(
    engine: &Engine,
    req: &Request,
    method: &Method,
    path: &str,
) -> Option<Reply> {
    let modules = engine.modules();
    let routers = engine.admin_routers();
    let (index, route, params) = routers.iter().enumerate().find_map(|(i, router)| {
        let found = router.at(method.as_str(), path)?;
        let params = found
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), percent_decode_path(v)))
            .collect::<Vec<_>>();
        Some((i, *found.value, params))
    })?;
    if let Some(refused) = unknown_parameter(req, route.filters) {
        return Some(refused);
    }
    if let Some(why) = route.reads_body.then(|| req.body.admin_problem()).flatten() {
        return Some(error(StatusCode::BAD_REQUEST, &why));
    }
    let ns = match named_namespace(engine, req, Taken::AsItIs) {
        Ok(ns) => ns,
        Err(m) => return Some(error(StatusCode::BAD_REQUEST, &m)),
    };
    let defs = engine.defs();
    let provider = defs.providers.get(index)?;
    let call = AdminCall {
        req,
        route: (route.method, route.path),
        params,
        ns,
        namespaces: engine.namespaces(),
        provider,
        fixtures: &defs.fixtures,
        config: engine.config(),
    };
    Some(modules[index].admin(call).await)
}

/// Methods under which a module's admin route matches the path `routed`
/// gives for that method, if any (for 405).
fn module_methods<'a>(
    engine: &Engine,
    routed: impl Fn(&str) -> Option<&'a str>,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    for router in engine.admin_routers() {
        for method in router.methods() {
            let Some(path) = routed(method) else {
                continue;
            };
            if !out.contains(&method) && router.at(method, path).is_some() {
                out.push(method);
            }
        }
    }
    out
}

fn object(req: &Request) -> &Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    match &req.body {
        Body::Json(Value::Object(m)) => m,
        _ => EMPTY.get_or_init(Map::new),
    }
}

/// The 400 for a body field outside `known`, naming the fields there are
/// (the admin API's own routes and the modules' alike).
pub(crate) fn unknown_keys(body: &Map<String, Value>, known: &[&str]) -> Option<Reply> {
    body.keys().find(|k| !known.contains(&k.as_str())).map(|k| {
        error(
            StatusCode::BAD_REQUEST,
            &format!(
                "unknown field '{}'; the fields are {}",
                quoted(k),
                known.join(", ")
            ),
        )
    })
}

/// Adds the override the body describes, in the namespace `kept` takes once
/// the body is found good.
fn handle_add_override(
    engine: &Engine,
    req: &Request,
    kept: impl FnOnce() -> Result<Arc<Namespace>, Reply>,
) -> Reply {
    let body = object(req);
    if let Some(r) = unknown_keys(
        body,
        &[
            "provider", "path", "method", "scenario", "times", "latency", "fault",
        ],
    ) {
        return r;
    }
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(provider), Some(scenario)) = (text("provider"), text("scenario")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "an override needs 'provider' and 'scenario' strings",
        );
    };
    let path = text("path");
    if body
        .get("path")
        .is_some_and(|p| !p.is_string() && !p.is_null())
    {
        return error(
            StatusCode::BAD_REQUEST,
            "'path' must be a string such as /api/curp/bycurp",
        );
    }
    let times = match body.get("times") {
        None | Some(Value::Null) => None,
        Some(v) => match json_whole(v).filter(|n| (1..=MAX_TIMES).contains(n)) {
            Some(n) => Some(n),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("'times' must be a whole number from 1 to {MAX_TIMES} (the most a JavaScript client reads exactly); leave it out for an override that stays"),
                )
            }
        },
    };
    for (key, example) in [("method", "GET"), ("latency", "250ms"), ("fault", "hang")] {
        if body
            .get(key)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("'{key}' must be a string such as \"{example}\""),
            );
        }
    }
    // Blank is none, as a blank sandbox header is.
    let given = |k: &str| text(k).filter(|s| !s.trim().is_empty());
    let latency = match given("latency").map(|s| s.parse::<Latency>()).transpose() {
        Ok(l) => l,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let fault = match given("fault").map(|s| s.parse::<Fault>()).transpose() {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    // Checked and added with no reload in between.
    let _held = engine.hold_defs();
    let defs = engine.defs();
    let pdef = match known_provider(engine, &provider) {
        Ok(i) => &defs.providers[i],
        Err(r) => return r,
    };
    // A HEAD is answered by its GET endpoint.
    let method = given("method")
        .map(|m| m.trim().to_ascii_uppercase())
        .map(|m| if m == "HEAD" { "GET".to_string() } else { m });
    let at_path: Vec<_> = endpoints_at(pdef, path.as_deref()).collect();
    if at_path.is_empty() {
        let paths = once_each(
            pdef.endpoints
                .iter()
                .flat_map(|e| e.paths.iter().map(String::as_str)),
        );
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "{provider} has no path '{}'; its paths: {}",
                quoted(path.as_deref().unwrap_or_default()),
                paths.join(", ")
            ),
        );
    }
    let endpoints: Vec<&EndpointDef> = at_path
        .iter()
        .copied()
        .filter(|e| method.as_deref().is_none_or(|m| e.takes(m)))
        .collect();
    if endpoints.is_empty() {
        let methods = once_each(
            at_path
                .iter()
                .flat_map(|e| e.methods.iter().map(Method::as_str)),
        );
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "{provider} has no '{}' endpoint{}; the methods there: {}",
                quoted(method.as_deref().unwrap_or_default()),
                path.as_deref()
                    .map_or_else(String::new, |p| format!(" at '{}'", quoted(p))),
                methods.join(", ")
            ),
        );
    }
    let chosen: Vec<&EndpointDef> = endpoints
        .iter()
        .copied()
        .filter(|e| e.scenario(&scenario).is_some())
        .collect();
    let Some(first) = chosen.first() else {
        let place = match (method.as_deref(), path.as_deref()) {
            (Some(m), Some(p)) => format!(" {m} {}", quoted(p)),
            (None, Some(p)) => format!(" {}", quoted(p)),
            (Some(m), None) => format!(" {m} endpoints"),
            (None, None) => String::new(),
        };
        return unknown_scenario(pdef, &endpoints, &scenario, &place);
    };
    // A path names its endpoints, whichever of their paths it is: the
    // override answers on all of them, listed under the first's first.
    let path = path.map(|_| first.path().to_string());
    let endpoints =
        (path.is_some() || method.is_some()).then(|| chosen.iter().map(|e| e.id.clone()).collect());
    let ns = match kept() {
        Ok(ns) => ns,
        Err(refused) => return refused,
    };
    let added = ns.overrides.add(Override {
        id: 0,
        provider,
        path,
        method,
        endpoints,
        scenario,
        times,
        remaining: None,
        latency,
        fault,
    });
    match added {
        Ok(created) => Reply::json(StatusCode::CREATED, &json!(created)),
        Err(Refused::Own) => error(
            StatusCode::BAD_REQUEST,
            &format!(
                "too many overrides in this namespace (at most {MAX_OVERRIDES}); delete some with DELETE /__admin/overrides"
            ),
        ),
        Err(Refused::InAll) => error(
            StatusCode::INSUFFICIENT_STORAGE,
            &format!(
                "no room for this override in what the overrides of every namespace may hold together ({} MB beyond the first {} KB of each); delete some with DELETE /__admin/overrides, or free a namespace with POST /__admin/reset?namespace=NAME",
                overrides::MAX_BYTES_IN_ALL >> 20,
                overrides::KEPT_WHATEVER_ELSE >> 10
            ),
        ),
    }
}

/// The most `times` an override is set for: 2^53 − 1, the largest whole
/// number a JSON reader that holds numbers as doubles reads exactly.
const MAX_TIMES: u64 = (1 << 53) - 1;

/// A JSON number that is a whole number (`3`, or `3.0` as a client that
/// holds numbers as doubles may write it; as a double, up to
/// [`MAX_TIMES`], past which a double is no exact whole number).
fn json_whole(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= MAX_TIMES as f64)
            .map(|f| f as u64)
    })
}

/// A whole number written in digits alone (no sign, as `?limit=` and an
/// override's id are written), saturated at the most it can be.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

fn handle_delete_override(ns: &Namespace, id: &str) -> Reply {
    match digits(id) {
        Some(n) if ns.overrides.remove(n) => ok(json!({"deleted": n})),
        _ => error(
            StatusCode::NOT_FOUND,
            &format!("no override with id '{}'", quoted(id)),
        ),
    }
}

/// The journal's filters (`GET /__admin/requests`).
const JOURNAL_FILTERS: &[&str] = &["provider", "path", "curp", "limit"];

/// The 400 for a query parameter the route does not read: a misspelt
/// filter would otherwise answer the whole listing, and a misspelt
/// `namespace` act on `default`.
fn unknown_parameter(req: &Request, filters: &[&str]) -> Option<Reply> {
    let (k, _) = req
        .query
        .iter()
        .find(|(k, _)| k != "namespace" && !filters.contains(&k.as_str()))?;
    let known = if filters.is_empty() {
        "this route reads only namespace".to_string()
    } else {
        format!("the filters are {}, namespace", filters.join(", "))
    };
    Some(error(
        StatusCode::BAD_REQUEST,
        &format!("unknown parameter '{}'; {known}", quoted(k)),
    ))
}

fn handle_requests(engine: &Engine, ns: &Namespace, req: &Request) -> Reply {
    // Empty is absent, as for the other filters (the route as the README
    // prints it, `?provider=&path=&curp=&limit=`, is the whole journal).
    // A limit past the journal's size lists it whole, however large.
    let limit = match req.query("limit").filter(|v| !v.is_empty()).map(digits) {
        None => None,
        Some(Some(n)) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        Some(None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "'limit' must be a whole number, written in digits",
            )
        }
    };
    let nonempty = |k: &str| req.query(k).filter(|v| !v.is_empty()).map(str::to_string);
    if let Some(provider) = nonempty("provider") {
        if let Err(r) = known_provider(engine, &provider) {
            return r;
        }
    }
    let filter = Filter {
        provider: nonempty("provider"),
        path: nonempty("path"),
        // Trimmed, as the journal keeps a request's CURP.
        curp: req
            .query("curp")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        limit,
    };
    // Leased before it is written, by the text its entries hold: a listing
    // the budget refuses is then neither copied nor written (a flood of
    // them had two at a time written whole, only to be refused).
    let lease = match lease(engine, req, ns.journal.text_bytes(&filter)) {
        Ok(lease) => lease,
        Err(busy) => return busy,
    };
    // Written entry by entry: the whole listing as one `Value` tree costs
    // many times its text (a 16 KB body of `[0,0,…]` is 8,192 values), and
    // a full journal of such bodies took hundreds of MB to list.
    let entries = ns.journal.query(&filter);
    let mut body = Vec::with_capacity(entries.len() * 512);
    body.push(b'[');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        // A `Value` (string keys only) written to a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut body, &e.to_json());
    }
    body.push(b']');
    Reply {
        lease,
        ..Reply::json_bytes(StatusCode::OK, body)
    }
}

/// `items` in their order, each the first time it comes.
fn once_each<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// The 400 for a scenario none of `endpoints` has (those a path or method
/// named: `place`, blank for all), with the provider's endpoints that have
/// it.
fn unknown_scenario(
    pdef: &ProviderDef,
    endpoints: &[&EndpointDef],
    scenario: &str,
    place: &str,
) -> Reply {
    let named = !place.is_empty();
    let mut names: Vec<&str> = endpoints
        .iter()
        .flat_map(|e| e.scenarios.keys().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    let elsewhere: Vec<String> = pdef
        .endpoints
        .iter()
        .filter(|e| named && e.scenario(scenario).is_some())
        .map(|e| {
            let methods: Vec<&str> = e.methods.iter().map(Method::as_str).collect();
            format!("{} {}", methods.join(","), e.path())
        })
        .collect();
    let mut message = format!(
        "unknown scenario '{}' for {}{place}; valid scenarios: {}",
        quoted(scenario),
        pdef.id,
        names.join(", ")
    );
    if !elsewhere.is_empty() {
        message += &format!(
            " ('{}' is a scenario of {})",
            quoted(scenario),
            elsewhere.join(", ")
        );
    }
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({"error": message, "valid_scenarios": names}),
    )
}

/// Whether an override's provider still has its endpoints (if it names
/// some) and its scenario there; the override is then pointed at those
/// that have it now (their first path may have changed).
fn still_answers(defs: &Defs, o: &mut Override) -> bool {
    // A path override follows its endpoints (by id), wherever the new
    // files put their paths.
    let answering: Vec<&EndpointDef> = defs
        .providers
        .iter()
        .filter(|p| p.id == o.provider)
        .flat_map(|p| &p.endpoints)
        // A path names its endpoints; a method alone names whichever have
        // it in the new files, as no path and no method names them all.
        .filter(|e| o.path.is_none() || o.endpoints.as_ref().is_none_or(|ids| ids.contains(&e.id)))
        .filter(|e| o.method.as_deref().is_none_or(|m| e.takes(m)))
        .filter(|e| e.scenario(&o.scenario).is_some())
        .collect();
    let Some(first) = answering.first() else {
        return false;
    };
    if o.path.is_some() {
        o.path = Some(first.path().to_string());
    }
    if o.endpoints.is_some() {
        o.endpoints = Some(answering.iter().map(|e| e.id.clone()).collect());
    }
    true
}

/// The provider's endpoints an override's `path` names (any of an endpoint's
/// paths, in any case), or all of them without one.
fn endpoints_at<'a, 'p>(
    pdef: &'a ProviderDef,
    path: Option<&'p str>,
) -> impl Iterator<Item = &'a EndpointDef> + use<'a, 'p> {
    pdef.endpoints
        .iter()
        .filter(move |e| path.is_none_or(|p| e.paths.iter().any(|q| same_path(q, p))))
}

/// The index of the provider named `id`, or the 400 that lists them.
fn known_provider(engine: &Engine, id: &str) -> Result<usize, Reply> {
    let defs = engine.defs();
    defs.providers
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| {
            let ids: Vec<&str> = defs.providers.iter().map(|p| p.id.as_str()).collect();
            error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "unknown provider '{}'; providers: {}",
                    quoted(id),
                    ids.join(", ")
                ),
            )
        })
}

fn clock_json(ns: &Namespace) -> Reply {
    ok(json!({"now": ns.clock.now().to_mx_rfc3339(), "scale": ns.clock.scale()}))
}

/// Why a clock change was refused ([`crate::engine::clock::Clock::apply`]).
const CLOCK_RANGE: &str =
    "the sandbox clock runs from year 0001 to 9999 (as RFC 3339 writes it, in UTC-6)";
const CLOCK_MOVE_STOPPED: &str = "the clock moved, but the sandbox is shutting down: what the move made due was dropped before it all happened";

/// The change a `POST /__admin/clock` body asks for (`set`, `advance`,
/// `scale`), checked against the namespace's clock as it is, or the 400.
fn clock_change(ns: &Namespace, req: &Request) -> Result<Change, Reply> {
    let body = object(req);
    if let Some(r) = unknown_keys(body, &["set", "advance", "scale"]) {
        return Err(r);
    }
    if body.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "send {\"set\": RFC 3339}, {\"advance\": duration} or {\"scale\": number}",
        ));
    }
    // Everything is checked before anything changes.
    let set = match body
        .get("set")
        .map(|v| {
            v.as_str()
                .ok_or("'set' must be an RFC 3339 string".to_string())
                .and_then(Timestamp::parse_rfc3339)
        })
        .transpose()
    {
        Ok(t) => t,
        Err(e) => return Err(error(StatusCode::BAD_REQUEST, &e)),
    };
    let advance = match body
        .get("advance")
        .map(|v| {
            let text = v
                .as_str()
                .ok_or("'advance' must be a duration string such as 20m".to_string())?;
            parse_duration(text).map_err(|e| match text.trim_start().starts_with('-') {
                // A clock moved back is set, not advanced.
                true => format!(
                    "{e}: the clock advances only forward; send {{\"set\": T}} to put it back"
                ),
                false => e,
            })
        })
        .transpose()
    {
        Ok(d) => d,
        Err(e) => return Err(error(StatusCode::BAD_REQUEST, &e)),
    };
    let scale = match body.get("scale").map(|v| {
        v.as_f64()
            .filter(|f| f.is_finite() && (0.0..=1e6).contains(f))
    }) {
        None => None,
        Some(Some(f)) => Some(f),
        Some(None) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "'scale' must be a number from 0 (frozen) to 1000000",
            ))
        }
    };
    // Checked here on the clock as it reads now, so that a change refused
    // makes no namespace; `Clock::apply` checks again as it makes it.
    let target = set.unwrap_or_else(|| ns.clock.now());
    if !target.plus(advance.unwrap_or_default()).in_rfc3339_range() {
        return Err(error(StatusCode::BAD_REQUEST, CLOCK_RANGE));
    }
    Ok(Change {
        set,
        advance,
        scale,
    })
}

#[cfg(test)]
mod tests {
    use super::ROUTES;

    // The brief: the README names every admin route. Each one, the
    // engine's and the provider modules', is written `METHOD /__admin/…`
    // in it.
    #[test]
    fn the_readme_names_every_admin_route() {
        let readme = include_str!("../README.md");
        let modules = crate::providers::all();
        let routes = (ROUTES.iter().map(|(m, p, _)| (*m, *p))).chain(
            modules
                .iter()
                .flat_map(|m| m.admin_routes().iter().map(|r| (r.method, r.path))),
        );
        // Whole, to its closing backtick or its query.
        let missing: Vec<String> = routes
            .map(|(method, path)| format!("`{method} {path}"))
            .filter(|w| !readme.contains(&format!("{w}`")) && !readme.contains(&format!("{w}?")))
            .collect();
        assert!(missing.is_empty(), "not in the README: {missing:?}");
    }
}
