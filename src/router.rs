//! Provider routing: one matchit router per method, so that a path known
//! under another method is told apart (405 with `Allow`) from an unknown one
//! (404). Providers whose servers ignore path case get a second, lower-cased
//! set of routers.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use hyper::Method;

use crate::engine::model::{EndpointDef, LoadError, ProviderDef};
use crate::engine::quoted;
use crate::request::percent_decode_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub provider: usize,
    pub endpoint: usize,
}

#[derive(Debug, PartialEq)]
pub enum Match {
    Found {
        target: Target,
        params: Vec<(String, String)>,
    },
    /// The path exists under other methods; `provider` owns it.
    MethodNotAllowed { provider: usize, allow: Vec<Method> },
    /// Nothing here; `provider` owns the path prefix, if any does.
    NotFound { provider: Option<usize> },
}

#[derive(Default)]
pub struct Router {
    exact: BTreeMap<String, matchit::Router<Target>>,
    lower: BTreeMap<String, matchit::Router<Target>>,
    /// Prefix (lower-cased when case is ignored), owning provider, whether case is ignored.
    prefixes: Vec<(String, usize, bool)>,
    /// Every endpoint path with its provider, for [`Router::nearest`].
    paths: Vec<(String, usize)>,
}

/// The endpoint a route conflict names: `err`'s route in the router of
/// `m`, the lower-cased one when `lowered` (where only case-ignoring
/// providers' paths are). Providers, endpoints and paths are looked at in
/// the order they were inserted, so the first that has the route is the
/// one that put it there.
fn claimant<'a>(
    providers: &'a [ProviderDef],
    m: &Method,
    lowered: bool,
    err: &matchit::InsertError,
) -> Option<(&'a ProviderDef, &'a EndpointDef, &'a str)> {
    let matchit::InsertError::Conflict { with } = err else {
        return None;
    };
    providers.iter().find_map(|d| {
        d.endpoints
            .iter()
            .filter(|e| e.methods.contains(m))
            .find_map(|e| {
                e.paths
                    .iter()
                    .find(|q| {
                        if lowered {
                            d.case_insensitive && q.eq_ignore_ascii_case(with)
                        } else {
                            *q == with
                        }
                    })
                    .map(|q| (d, e, q.as_str()))
            })
    })
}

/// A path two endpoints claim (`path` of `p`'s `endpoint`, refused with
/// `err` by the router of `m`), reported in the file that claims it last,
/// or in the other's when only that one is the user's (the embedded files
/// do not clash with each other): where the user's edit is. The message
/// names the other claimant.
fn clash(
    providers: &[ProviderDef],
    p: &ProviderDef,
    endpoint: &str,
    m: &Method,
    path: &str,
    lowered: bool,
    err: &matchit::InsertError,
) -> LoadError {
    let other = claimant(providers, m, lowered, err);
    let ((blamed, id, needle), named) = match other {
        Some((o, e, q)) if p.embedded && !o.embedded => {
            ((o, e.id.as_str(), q), Some((p, endpoint)))
        }
        o => ((p, endpoint, path), o.map(|(o, e, _)| (o, e.id.as_str()))),
    };
    let named = match named {
        Some((o, e)) if std::ptr::eq(o, blamed) => format!(" (also claimed by its endpoint {e})"),
        Some((o, e)) => format!(" (also claimed by {}'s endpoint {e}, {})", o.id, o.file),
        None => String::new(),
    };
    LoadError::at(
        &blamed.file,
        &blamed.text,
        needle,
        &format!("endpoints.{id}.paths"),
        format!("{m} {}: {}{named}", quoted(needle), clash_words(err)),
    )
}

/// matchit's refusal in the sandbox's words (lower case, as every error):
/// the route a path clashes with named by its first 256 bytes, as every
/// name is; matchit's other refusals (a malformed parameter) as it words
/// them, its first letter lowered.
fn clash_words(err: &matchit::InsertError) -> String {
    match err {
        matchit::InsertError::Conflict { with } => {
            format!("conflicts with the route {}", quoted(with))
        }
        other => {
            let words = other.to_string();
            let mut chars = words.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_lowercase().chain(chars).collect()
            })
        }
    }
}

impl Router {
    /// Builds the routers from every provider's endpoints.
    pub fn build(providers: &[ProviderDef]) -> Result<Router, LoadError> {
        let mut r = Router::default();
        // The paths already in `r.paths`, looked up in constant time: a file
        // of thousands of paths builds in linear time.
        let mut listed = std::collections::HashSet::new();
        for (pi, p) in providers.iter().enumerate() {
            for (ei, e) in p.endpoints.iter().enumerate() {
                for path in &e.paths {
                    for m in &e.methods {
                        let target = Target {
                            provider: pi,
                            endpoint: ei,
                        };
                        let insert = |map: &mut BTreeMap<String, matchit::Router<Target>>,
                                      route: &str,
                                      lowered: bool| {
                            map.entry(m.as_str().to_string())
                                .or_default()
                                .insert(route, target)
                                .map_err(|err| clash(providers, p, &e.id, m, path, lowered, &err))
                        };
                        insert(&mut r.exact, path, false)?;
                        if listed.insert(path.as_str()) {
                            r.paths.push((path.clone(), pi));
                        }
                        if p.case_insensitive {
                            insert(&mut r.lower, &lowered_route(path), true)?;
                        }
                    }
                }
            }
            for prefix in &p.prefixes {
                let key = if p.case_insensitive {
                    prefix.to_ascii_lowercase()
                } else {
                    prefix.clone()
                };
                r.prefixes.push((key, pi, p.case_insensitive));
            }
        }
        // Longest prefix first, so that the most specific owner wins.
        r.prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        Ok(r)
    }

    pub fn find(&self, method: &Method, path: &str) -> Match {
        let sent = path;
        let path = without_trailing_slash(path);
        // Lower-cased only when the path as sent matches no route.
        let lower = OnceCell::new();
        if let Some(found) = self.lookup(method.as_str(), path, &lower) {
            return found;
        }
        // HEAD is GET without the body (RFC 9110 §9.3.2; hyper writes no body
        // for it), wherever GET is served.
        if method == Method::HEAD {
            if let Some(found) = self.lookup(Method::GET.as_str(), path, &lower) {
                return found;
            }
        }
        let mut allow = Vec::new();
        let mut owner = None;
        for m in self.exact.keys() {
            if let Some(Match::Found { target, .. }) = self.lookup(m, path, &lower) {
                owner = Some(target.provider);
                if let Ok(m) = Method::from_bytes(m.as_bytes()) {
                    let get = m == Method::GET;
                    allow.push(m);
                    if get {
                        allow.push(Method::HEAD);
                    }
                }
            }
        }
        if let Some(provider) = owner {
            return Match::MethodNotAllowed { provider, allow };
        }
        Match::NotFound {
            provider: self.owner(sent, &sent.to_ascii_lowercase()),
        }
    }

    fn lookup(&self, method: &str, path: &str, lower: &OnceCell<String>) -> Option<Match> {
        // `probe` is `path` or its lower-cased copy: a parameter's value is
        // read from `path` at the same bytes (lower-casing ASCII moves
        // none), in the letter case it was sent in.
        let hit = |r: Option<&matchit::Router<Target>>, probe: &str| {
            r.and_then(|r| r.at(probe).ok()).map(|m| Match::Found {
                target: *m.value,
                params: m
                    .params
                    .iter()
                    .map(|(k, v)| {
                        let at = v.as_ptr() as usize - probe.as_ptr() as usize;
                        let sent = path.get(at..at + v.len()).unwrap_or(v);
                        (k.to_string(), percent_decode_path(sent))
                    })
                    .collect(),
            })
        };
        hit(self.exact.get(method), path).or_else(|| {
            let lower = lower.get_or_init(|| path.to_ascii_lowercase());
            hit(self.lower.get(method), lower)
        })
    }

    /// For a `path` no endpoint serves (a 404, or a 413 before routing):
    /// the provider whose shape the answer takes, and the endpoint path it
    /// most likely meant. The shape is that of the provider whose prefix
    /// covers the path (`prefix_owner`), else of the endpoint it is a few
    /// edits from.
    pub fn not_found_owner(
        &self,
        prefix_owner: Option<usize>,
        path: &str,
    ) -> (Option<usize>, Option<&str>) {
        let meant = self.nearest(path);
        (
            prefix_owner.or(meant.map(|(_, p)| p)),
            meant.map(|(p, _)| p),
        )
    }

    /// The endpoint path a mistyped `path` most likely meant, and its
    /// provider: the closest by edit distance (ignoring case), if it is a few
    /// edits away. Off the request path (404s and 413s).
    fn nearest(&self, path: &str) -> Option<(&str, usize)> {
        nearest(
            path,
            self.paths
                .iter()
                .map(|(p, provider)| (p.as_str(), *provider)),
        )
    }

    /// The provider whose path prefix covers `path` (or is `path` and a
    /// trailing slash).
    fn owner(&self, path: &str, lower: &str) -> Option<usize> {
        self.prefixes
            .iter()
            .find(|(prefix, _, ignore_case)| {
                let path = if *ignore_case { lower } else { path };
                // `/api/v1` is `/api/v1/` without its trailing slash, which
                // is forgiven everywhere.
                path.starts_with(prefix.as_str()) || prefix.strip_suffix('/') == Some(path)
            })
            .map(|(_, p, _)| *p)
    }
}

/// Of `candidates` (a path and what it stands for), the one a mistyped
/// `path` most likely meant: the closest by edit distance (ignoring case),
/// if it is a few edits away (one for a path under 16 bytes, two under 24,
/// three from there on). Off the request path (404s and 413s).
pub fn nearest<'a, T>(
    path: &str,
    candidates: impl IntoIterator<Item = (&'a str, T)>,
) -> Option<(&'a str, T)> {
    let path = path.to_ascii_lowercase();
    let limit = (path.len() / 8).clamp(1, 3);
    candidates
        .into_iter()
        // Lengths further apart than the limit cannot be within it: a
        // 64 KB path costs no distance computation.
        .filter(|(p, _)| p.len().abs_diff(path.len()) <= limit)
        .map(|(p, t)| (edit_distance(&path, &p.to_ascii_lowercase()), p, t))
        .filter(|(d, _, _)| *d <= limit)
        .min_by_key(|(d, _, _)| *d)
        .map(|(_, p, t)| (p, t))
}

/// Levenshtein distance over bytes (paths are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The router of `method` in a list of one matchit router per method (the
/// admin API's, a module's admin routes), added when the list has none yet.
pub fn router_of<M: PartialEq, V>(
    routers: &mut Vec<(M, matchit::Router<V>)>,
    method: M,
) -> &mut matchit::Router<V> {
    let at = match routers.iter().position(|(m, _)| *m == method) {
        Some(at) => at,
        None => {
            routers.push((method, matchit::Router::new()));
            routers.len() - 1
        }
    };
    &mut routers[at].1
}

/// `/api/curp/bycurp/` is the same endpoint to every provider's server and
/// to most HTTP clients' base-URL joining: one trailing slash is dropped
/// (not the root's).
pub fn without_trailing_slash(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    }
}

/// Whether two paths name the same endpoint path for the admin API: letter
/// case and one trailing slash aside, whatever case the provider reads its
/// paths in (an override's `path`, the journal's `path` filter).
pub fn same_path(a: &str, b: &str) -> bool {
    without_trailing_slash(a).eq_ignore_ascii_case(without_trailing_slash(b))
}

/// A route of a provider that ignores path case, as its lower-cased
/// router holds it: its text lower-cased, its parameters' names (`{id}`,
/// `{*rest}`) as written, since the provider reads them by those names.
fn lowered_route(route: &str) -> String {
    let mut out = String::with_capacity(route.len());
    let mut in_param = false;
    let mut chars = route.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // `{{` is a literal brace.
            '{' if !in_param && chars.peek() == Some(&'{') => {
                chars.next();
                out.push_str("{{");
            }
            '{' if !in_param => {
                in_param = true;
                out.push(c);
            }
            '}' if in_param => {
                in_param = false;
                out.push(c);
            }
            c if in_param => out.push(c),
            c => out.push(c.to_ascii_lowercase()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider with one endpoint, `GET` on `path`.
    fn provider(path: &str, case_insensitive: bool) -> ProviderDef {
        ProviderDef {
            id: "p".into(),
            file: "p.yaml".into(),
            text: "".into(),
            embedded: false,
            description: String::new(),
            case_insensitive,
            prefixes: Vec::new(),
            latency: None,
            settings: Default::default(),
            errors: Default::default(),
            endpoints: vec![EndpointDef {
                id: "e".into(),
                methods: vec![Method::GET],
                paths: vec![path.into()],
                scenarios: Default::default(),
            }],
        }
    }

    fn params(router: &Router, path: &str) -> Option<Vec<(String, String)>> {
        match router.find(&Method::GET, path) {
            Match::Found { params, .. } => Some(params),
            _ => None,
        }
    }

    #[test]
    fn a_path_in_another_case_keeps_its_parameters_names_and_values() {
        let router = Router::build(&[provider("/api/Items/{itemId}/{*Rest}", true)]).unwrap();
        let kept = |id: &str, rest: &str| {
            Some(vec![
                ("itemId".into(), id.into()),
                ("Rest".into(), rest.into()),
            ])
        };
        assert_eq!(params(&router, "/api/Items/AbC/X/y"), kept("AbC", "X/y"));
        assert_eq!(params(&router, "/API/ITEMS/AbC/X/y"), kept("AbC", "X/y"));
        assert_eq!(params(&router, "/api/items/%41b%63/Z"), kept("Abc", "Z"));

        let exact = Router::build(&[provider("/api/Items/{itemId}", false)]).unwrap();
        assert_eq!(params(&exact, "/api/items/AbC"), None);
    }

    #[test]
    fn a_lowered_route_keeps_parameter_names_and_literal_braces() {
        assert_eq!(
            lowered_route("/A/{Id}/B{{X}}/{*Rest}"),
            "/a/{Id}/b{{x}}/{*Rest}"
        );
    }

    #[test]
    fn edit_distance_counts_inserts_deletes_and_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            edit_distance("/api/asyncverification/x", "/api/asyncverication/x"),
            2
        );
    }
}
