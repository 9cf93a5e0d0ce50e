//! What a provider module implements, and what it is handed for one request.
//!
//! The engine owns the order of things (SPEC §3); a module only answers the
//! questions only it can answer: where its credential and CURP are, what its
//! own test switch says, what its input checks and counters decide, and which
//! values fill its templates.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use rand::{rngs::SmallRng, SeedableRng};

use super::counters::Window;
use super::fixtures::Fixtures;
use super::model::{self, EndpointDef, ProviderDef, Scenario};
use super::namespace::{Began, Namespace, Namespaces};
use super::template::Vars;
use super::{Defs, Reply};
use crate::config::Config;
use crate::curp::Person;
use crate::fnv::Fnv;
use crate::request::Request;
use crate::time::Timestamp;

/// A generator seeded by `--seed`, a namespace, a request's sequence
/// number in it and `salt`: what makes a run's ids replay.
pub fn seeded_rng(seed: u64, namespace: &str, seq: u64, salt: &str) -> SmallRng {
    use std::hash::Hasher;
    let mut h = Fnv::default();
    h.write(&seed.to_le_bytes());
    h.write(namespace.as_bytes());
    h.write(&[0]);
    h.write(&seq.to_le_bytes());
    h.write(salt.as_bytes());
    SmallRng::seed_from_u64(h.finish())
}

/// How the answering scenario was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    /// The credential was missing or magic.
    Auth,
    /// `X-Sandbox-Scenario`.
    Header,
    /// The provider's own switch (`testCase`, the `pruebas` token).
    TestSwitch,
    /// An admin override.
    Override,
    /// A persona from the fixtures.
    Persona,
    /// Input checks, counters and the synthetic person.
    Realistic,
}

impl Selected {
    /// Its name in the journal's `selected_by` and the `--log-requests`
    /// line.
    pub fn name(self) -> &'static str {
        match self {
            Selected::Auth => "auth",
            Selected::Header => "header",
            Selected::TestSwitch => "test_switch",
            Selected::Override => "override",
            Selected::Persona => "persona",
            Selected::Realistic => "realistic",
        }
    }
}

/// One request on its way through a provider.
pub struct Call<'a> {
    pub req: &'a Request,
    pub provider: &'a ProviderDef,
    pub endpoint: &'a EndpointDef,
    /// Path parameters of the matched route.
    pub params: &'a [(String, String)],
    pub ns: &'a Namespace,
    pub fixtures: &'a Fixtures,
    /// [`Defs::generation`] of the definitions the request is answered by.
    pub defs_generation: u64,
    pub config: &'a Config,
    /// Sandbox time when the request arrived.
    pub now: Timestamp,
    pub credential: Option<String>,
    /// The CURP the request is about, as the client sent it, trimmed and
    /// upper-cased.
    pub curp: Option<String>,
    pub selected: Selected,
    /// The namespace's reset generation when the request began: what the
    /// request stores is dropped if the namespace was reset since (its ids
    /// come from the sequence before the reset).
    pub generation: u64,
    /// A per-request sequence number within the namespace.
    pub seq: u64,
    /// The id a module's `vars` made for the answer, for its `finish` to
    /// store the same one.
    pub made_id: Option<String>,
    /// What a module's `realistic` looked up in the namespace's state for
    /// its `vars` ([`Call::keep_found`]).
    found: Option<Box<dyn std::any::Any + Send>>,
    /// The person behind the request's own CURP, once looked up.
    person: Option<Arc<Person>>,
}

impl<'a> Call<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        req: &'a Request,
        provider: &'a ProviderDef,
        endpoint: &'a EndpointDef,
        params: &'a [(String, String)],
        ns: &'a Namespace,
        defs: &'a Defs,
        config: &'a Config,
        began: Began,
    ) -> Call<'a> {
        Call {
            req,
            provider,
            endpoint,
            params,
            ns,
            fixtures: &defs.fixtures,
            defs_generation: defs.generation,
            config,
            now: began.now,
            credential: None,
            curp: None,
            selected: Selected::Realistic,
            // Of the request's generation: one that began before a reset
            // takes no number after it (and what it stores is dropped).
            generation: began.generation,
            seq: ns.next_seq(began.generation),
            made_id: None,
            found: None,
            person: None,
        }
    }

    /// Counts one more hit of `key` in the namespace's counters and returns
    /// the window's count ([`super::counters::Counters::hit`]); a request
    /// that raced a reset counts nothing (and reads 0).
    pub fn hit(&self, key: &str, window: Window, limit: Option<u64>) -> u64 {
        let current = || self.ns.is_current(self.generation);
        self.ns.counters.hit(key, window, limit, self.now, current)
    }

    /// Counts one hit of the counter `key` names when the provider's limit
    /// `setting` is on (its file's value, else `default`), and says whether
    /// the count went over it. The key is only made when the limit is on.
    pub fn over_limit(
        &self,
        (setting, default): (&str, Option<u64>),
        window: Window,
        key: impl FnOnce() -> String,
    ) -> bool {
        let Some(limit) = self.provider.limit(setting, default) else {
            return false;
        };
        self.hit(&key(), window, Some(limit)) > limit
    }

    /// Keeps what `realistic` looked up for `vars`: the state is read once,
    /// so that the answer chosen and the answer rendered agree even when
    /// another request changes the state in between (an execution pushed
    /// out of a history, a reset).
    pub fn keep_found<T: std::any::Any + Send>(&mut self, found: T) {
        self.found = Some(Box::new(found));
    }

    /// What `realistic` (or `holder`) kept, if it kept a `T` (not when the
    /// scenario was forced: they did not run).
    pub fn take_found<T: std::any::Any>(&mut self) -> Option<T> {
        self.found.take()?.downcast().ok().map(|found| *found)
    }

    pub fn endpoint_id(&self) -> &str {
        &self.endpoint.id
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The person behind `curp` (a persona from the fixtures merged over the
    /// synthetic person, the same on every provider and every run), shared:
    /// built once per CURP and kept in a bounded cache with the fixtures
    /// (building one is costly, and suites repeat their CURPs).
    pub fn cached_person(&self, curp: &str) -> Arc<Person> {
        self.fixtures
            .people
            .get(&self.fixtures.domain, curp, self.config.seed)
    }

    /// The person behind the request's CURP when it is well-formed, else the
    /// person behind `fallback` (a provider's documented example CURP), so a
    /// scenario forced on a request without a usable CURP still renders.
    ///
    /// A shared handle: cloning it copies a pointer, not the person.
    pub fn person_or(&mut self, fallback: &str) -> Arc<Person> {
        let curp = match self.curp.as_deref() {
            Some(c) if crate::curp::is_loose(c) => c,
            _ => return self.cached_person(fallback),
        };
        if let Some(p) = &self.person {
            return p.clone();
        }
        let person = self.cached_person(curp);
        self.person = Some(person.clone());
        person
    }

    /// A generator seeded by `--seed`, the namespace, this request's sequence
    /// number and `salt`: ids come out the same when a run is replayed.
    /// A small fast generator (its seed expanded by SplitMix64), not a
    /// cryptographic one: it makes sandbox ids, not secrets, and it is made
    /// afresh for every value a request draws.
    pub fn rng(&self, salt: &str) -> SmallRng {
        seeded_rng(self.config.seed, &self.ns.name, self.seq, salt)
    }

    /// `n` random lowercase hex digits from [`Call::rng`], appended to `out`.
    pub fn write_hex(&self, salt: &str, n: usize, out: &mut String) {
        write_hex(&mut self.rng(salt), n, out);
    }
}

/// `n` random lowercase hex digits from `rng`, appended to `out`.
pub fn write_hex(rng: &mut impl rand::RngCore, n: usize, out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(n);
    let mut left = n;
    while left > 0 {
        // Sixteen digits from each 64 random bits, appended at once.
        let mut bits = rng.next_u64();
        let mut chunk = [0u8; 16];
        for d in &mut chunk {
            *d = DIGITS[(bits & 0xf) as usize];
            bits >>= 4;
        }
        let take = left.min(16);
        out.push_str(std::str::from_utf8(&chunk[..take]).unwrap_or_default());
        left -= take;
    }
}

/// A boxed future, for the async hooks of [`Provider`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An admin route a module owns.
pub struct AdminRoute {
    pub method: &'static str,
    /// A matchit pattern under `/__admin/`.
    pub path: &'static str,
    /// The query parameters it reads besides `namespace`: any other is a
    /// 400 (a misspelt filter would otherwise answer the whole listing).
    pub filters: &'static [&'static str],
    /// Whether it reads the request's body: a body that cannot be read is
    /// refused only where one is read.
    pub reads_body: bool,
}

impl AdminRoute {
    /// A route that reads no query parameter but `namespace`, and the
    /// body unless its method is GET, HEAD or DELETE.
    pub const fn new(method: &'static str, path: &'static str) -> AdminRoute {
        let reads_body = !matches!(method.as_bytes(), b"GET" | b"HEAD" | b"DELETE");
        AdminRoute {
            method,
            path,
            filters: &[],
            reads_body,
        }
    }

    /// This route, reading `filters` from the query too.
    pub const fn filtered_by(self, filters: &'static [&'static str]) -> AdminRoute {
        AdminRoute { filters, ..self }
    }

    /// This route, reading no body whatever its method.
    pub const fn reading_no_body(self) -> AdminRoute {
        AdminRoute {
            reads_body: false,
            ..self
        }
    }
}

/// A module's admin routes, one matchit router per method, built once
/// with the engine.
pub struct AdminRouter {
    by_method: Vec<(&'static str, matchit::Router<&'static AdminRoute>)>,
    routes: &'static [AdminRoute],
}

impl AdminRouter {
    pub fn new(routes: &'static [AdminRoute]) -> AdminRouter {
        let mut by_method: Vec<(&'static str, matchit::Router<&'static AdminRoute>)> = Vec::new();
        for route in routes {
            // A module's conflicting pattern is its own mistake: the first one wins.
            let _ =
                crate::router::router_of(&mut by_method, route.method).insert(route.path, route);
        }
        AdminRouter { by_method, routes }
    }

    /// The route `path` matches under `method`, with its parameters. A
    /// method is case-sensitive (RFC 9110 §9.1): `put` is not PUT.
    pub fn at<'r, 'p>(
        &'r self,
        method: &str,
        path: &'p str,
    ) -> Option<matchit::Match<'r, 'p, &'r &'static AdminRoute>> {
        let (_, router) = self.by_method.iter().find(|(m, _)| *m == method)?;
        router.at(path).ok()
    }

    /// The methods this module has routes under.
    pub fn methods(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_method.iter().map(|(m, _)| *m)
    }

    /// The patterns of its routes of `method` (a mistyped admin path is
    /// told the one it likely meant).
    pub fn paths_of<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'static str> + 'a {
        self.routes
            .iter()
            .filter(move |r| r.method == method)
            .map(|r| r.path)
    }
}

/// One request to an admin route a module owns (`Provider::admin_routes`).
pub struct AdminCall<'a> {
    pub req: &'a Request,
    /// The matched `(method, pattern)` from [`Provider::admin_routes`].
    pub route: (&'static str, &'static str),
    /// Path parameters of the matched pattern.
    pub params: Vec<(String, String)>,
    /// The namespace named by `?namespace=`, else by the
    /// `X-Sandbox-Namespace` header (neither: `default`), as it is,
    /// or blank if no request made it: a route that stores in it takes it
    /// with [`AdminCall::kept`], once its input is found good.
    pub ns: Arc<Namespace>,
    pub namespaces: &'a Namespaces,
    pub provider: &'a ProviderDef,
    pub fixtures: &'a Fixtures,
    pub config: &'a Config,
}

impl AdminCall<'_> {
    /// The namespace, made if it was not: for a route about to store in it.
    pub fn kept(&self) -> Result<Arc<Namespace>, String> {
        self.namespaces.get(&self.ns.name)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A provider module. A module writes `id`, `yaml`, `endpoints`,
/// `variables`, `required_scenarios`, `credential`, `realistic` and
/// `vars`; every other method has a default, so that it writes only what
/// its document asks for besides.
pub trait Provider: Send + Sync + 'static {
    /// The id used in YAML, the admin API, the journal and overrides.
    fn id(&self) -> &'static str;

    /// The embedded `scenarios/<id>.yaml`.
    fn yaml(&self) -> &'static str;

    /// Endpoint ids this module implements; its YAML defines exactly these.
    fn endpoints(&self) -> &'static [&'static str];

    /// Placeholders this module fills; a template using another is refused at load.
    fn variables(&self) -> &'static [&'static str];

    /// The keys of a scenario's `data:` this module reads; another is refused
    /// at load (it would be ignored without a word).
    fn data_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// The keys of `data_keys` whose values are whole numbers; the others
    /// are text. A value of another type is refused at load (it would be
    /// read as absent).
    fn data_numbers(&self) -> &'static [&'static str] {
        &[]
    }

    /// The keys of `data_keys` whose values are CURP statuses (a status
    /// a scenario forces): checked at load against the fixtures' catalogs,
    /// as a persona's `status` is (one they lack would go out as written).
    fn data_statuses(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks the values of a scenario's `data:` once the fixtures are
    /// loaded, so that `check`, `serve` and a reload refuse one the module
    /// cannot answer with (a CURP status the catalogs lack, an outcome it
    /// does not know), which would otherwise be sent out as written, or a
    /// value the module does not read at the scenario's `status`. Errs
    /// with the key to point at and a message. The default takes any.
    fn check_data(
        &self,
        _endpoint: &str,
        _status: hyper::StatusCode,
        _data: &serde_json::Map<String, serde_json::Value>,
        _fixtures: &super::fixtures::Fixtures,
    ) -> Result<(), (String, String)> {
        Ok(())
    }

    /// Checks a persona's `provider_data.<id>` at load: what the module
    /// reads of it, and nothing else (a key it does not read would be
    /// ignored without a word). Errs with the offending key's path below
    /// `provider_data.<id>` (empty for the whole value) and a message. The
    /// default reads none.
    fn check_provider_data(&self, _data: &serde_json::Value) -> Result<(), (String, String)> {
        Err((
            String::new(),
            format!("{} reads no provider_data", self.id()),
        ))
    }

    /// Scenarios an endpoint must define because this module answers with
    /// them. The answer for a CURP no one holds is `not_found`, as every
    /// provider's (the not-found persona names it).
    fn required_scenarios(&self, endpoint: &str) -> Vec<&'static str>;

    /// Checks the file's `settings:` at load, so that `check`, `serve` and
    /// a reload refuse a key the module does not read or a value it cannot
    /// (a limit of `abc` would otherwise read as no limit). The error names
    /// the key at fault. [`model::check_limits`] does the common case.
    fn check_settings(&self, settings: &model::SettingsMap) -> Result<(), model::SettingsError> {
        model::check_limits(settings, &[], &[])
    }

    /// The credential the request presents, `None` when it is missing.
    fn credential(&self, req: &Request) -> Option<String>;

    /// Whether the credential may come in the body. A body that cannot be
    /// read then gets its own error rather than a missing credential's.
    fn credential_in_body(&self) -> bool {
        false
    }

    /// Whether the provider calls its clients back, so that a credential
    /// may have a webhook target in the fixtures.
    fn delivers_webhooks(&self) -> bool {
        false
    }

    /// The CURP the request is about, if any.
    fn curp(&self, _endpoint: &str, _req: &Request) -> Option<String> {
        None
    }

    /// The CURP of the person a request that states no CURP is about, when
    /// the provider's data can tell (the holder of an INE credential): a
    /// persona's scenario is chosen for it as for a CURP the request states
    /// (SPEC §3, step 4). It is not the request's CURP: the journal does
    /// not state it.
    fn holder(&self, _call: &mut Call<'_>) -> Option<String> {
        None
    }

    /// The provider's own test switch (SPEC §3, step 2): borrowed when the
    /// name is a fixed one, as for [`Provider::realistic`].
    fn test_switch(&self, _call: &mut Call<'_>) -> Option<Cow<'static, str>> {
        None
    }

    /// The realistic path (SPEC §3, step 5): input checks, counters, and the
    /// scenario that answers.
    ///
    /// Borrowed when the name is a fixed one, as it nearly always is: no
    /// allocation per request for it.
    fn realistic(&self, call: &mut Call<'_>) -> Cow<'static, str>;

    /// Fills the template values for `scenario`.
    fn vars(&self, call: &mut Call<'_>, scenario: &Scenario, vars: &mut Vars);

    /// The placeholders [`Provider::error_vars`] fills in the `errors:`
    /// entries (besides the engine's `message`, `scenario` and `now`).
    fn error_variables(&self) -> &'static [&'static str] {
        &[]
    }

    /// Values for the engine's own errors (404, 405, 413, malformed body),
    /// beyond the `message` the engine sets; `rng` is seeded as
    /// [`Call::rng`] is, so that their ids replay too.
    fn error_vars(&self, _req: &Request, _rng: &mut SmallRng, _vars: &mut Vars) {}

    /// Runs after the response is rendered: keep a history, start a job.
    fn finish(&self, _call: &mut Call<'_>, _scenario: &Scenario, _status: u16, _body: &Bytes) {}

    /// Runs for every namespace after a reload: state that copied something
    /// from the files (a fixture's webhook target) takes the new files' value.
    fn reloaded(
        &self,
        _ns: &Namespace,
        _provider: &ProviderDef,
        _defs: &Arc<Defs>,
        _config: &Config,
    ) {
    }

    /// Admin routes this module owns under `/__admin/` (webhook targets,
    /// deliveries…). The admin API answers them through [`Provider::admin`]
    /// when no route of its own matches.
    fn admin_routes(&self) -> &'static [AdminRoute] {
        &[]
    }

    /// Answers one of [`Provider::admin_routes`].
    fn admin<'a>(&'a self, call: AdminCall<'a>) -> BoxFuture<'a, Reply> {
        Box::pin(async move {
            Reply::sandbox_error(
                hyper::StatusCode::NOT_FOUND,
                &format!("no admin route {} {}", call.req.method, call.req.path),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_router_matches_by_method_and_pattern_and_keeps_the_first_of_a_conflict() {
        static ROUTES: [AdminRoute; 4] = [
            AdminRoute::new("GET", "/things/{id}"),
            AdminRoute::new("DELETE", "/things/{id}"),
            AdminRoute::new("GET", "/things/{other}").filtered_by(&["x"]),
            AdminRoute::new("POST", "/things"),
        ];
        let router = AdminRouter::new(&ROUTES);
        assert_eq!(
            router.methods().collect::<Vec<_>>(),
            ["GET", "DELETE", "POST"]
        );
        let found = router.at("GET", "/things/7").unwrap();
        assert!(std::ptr::eq(*found.value, &ROUTES[0]));
        assert_eq!(found.params.get("id"), Some("7"));
        assert!(std::ptr::eq(
            *router.at("DELETE", "/things/7").unwrap().value,
            &ROUTES[1]
        ));
        assert!(router.at("get", "/things/7").is_none());
        assert!(router.at("PUT", "/things/7").is_none());
        assert!(router.at("POST", "/things/7").is_none());
        assert!(router.at("POST", "/things").is_some());
    }

    #[test]
    fn write_hex_appends_exactly_n_digits_of_every_kind() {
        let mut rng = seeded_rng(1, "default", 1, "test");
        for n in 0..=40 {
            let mut out = String::from("id-");
            write_hex(&mut rng, n, &mut out);
            assert_eq!(out.len(), 3 + n, "{out}");
            assert!(out[3..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        // Each of the 64 bits' nibbles is read: every digit shows, and the
        // last of a chunk of sixteen is as random as the first.
        let mut out = String::new();
        write_hex(&mut rng, 16 * 256, &mut out);
        let last: std::collections::BTreeSet<char> = out.chars().skip(15).step_by(16).collect();
        assert_eq!(last.len(), 16, "{last:?}");
        let all: std::collections::BTreeSet<char> = out.chars().collect();
        assert_eq!(all.len(), 16, "{all:?}");
    }
}
