//! Provider routing: one matchit router per method, so that a path known
//! under another method is told apart (405 with `Allow`) from an unknown one
//! (404). Providers whose servers ignore path case get a second, lower-cased
//! set of routers.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Reverse;
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
    exact: BTreeMap<String, Routes>,
    lower: BTreeMap<String, Routes>,
    /// Prefix (lower-cased when case is ignored), owning provider, whether case is ignored.
    prefixes: Vec<(String, usize, bool)>,
    /// Every endpoint path, for [`Router::nearest`].
    paths: Vec<Known>,
}

/// An endpoint path as [`Router::nearest`] measures it: with its provider
/// and, when it has a parameter or a brace, its segments.
struct Known {
    path: String,
    provider: usize,
    segments: Option<Vec<Segment>>,
}

/// The routes of one method: matchit's tree, and those of its routes that
/// have parameters as [`Pattern`]s, tried when the tree finds nothing (of
/// those `path` is an instance of, the one the tree prefers, by
/// [`Segment::rank`] at the first segment where they differ; the first
/// declared of equals). matchit does not come back out of a
/// parameter with text before or after it once it has gone in: beside
/// `/gw/{tenant}.mx/curp`, its tree misses `/gw/acme.mx/nss/7`, which
/// `/gw/{tenant}/nss/{id}` declares. Every path an endpoint declares
/// reaches an endpoint, and what the tree finds is unchanged. Where no
/// route has such a parameter (every embedded file), the tree misses
/// nothing and the patterns are not tried.
#[derive(Default)]
struct Routes {
    tree: matchit::Router<Target>,
    patterns: Vec<(Pattern, Target)>,
    /// Whether a route has a parameter with text around it.
    affixed: bool,
}

impl Routes {
    fn insert(&mut self, route: &str, target: Target) -> Result<(), matchit::InsertError> {
        self.tree.insert(route, target)?;
        if let Some(pattern) = Pattern::parse(route) {
            self.affixed |= pattern.affixed();
            self.patterns.push((pattern, target));
        }
        Ok(())
    }

    /// The target `path` reaches, with its parameters' names and values
    /// (slices of `path`).
    fn at<'p>(&self, path: &'p str) -> Option<(Target, Vec<(&str, &'p str)>)> {
        if let Ok(m) = self.tree.at(path) {
            return Some((*m.value, m.params.iter().collect()));
        }
        if !self.affixed {
            return None;
        }
        self.patterns
            .iter()
            .filter_map(|(pattern, target)| Some((pattern, *target, pattern.matches(path)?)))
            .min_by(|(a, _, _), (b, _, _)| {
                a.0.iter()
                    .map(Segment::rank)
                    .cmp(b.0.iter().map(Segment::rank))
            })
            .map(|(_, target, params)| (target, params))
    }
}

/// One `/`-separated segment of a route as matchit reads it (one parameter
/// a segment at most, `{{` and `}}` literal braces, a catch-all last).
#[derive(Debug, PartialEq)]
pub(crate) enum Segment {
    Static(String),
    /// `{name}` with the text around it in its segment; the value is not
    /// empty and has no `/`.
    Param {
        name: String,
        prefix: String,
        suffix: String,
    },
    /// `{*name}` after `prefix`: the rest of the path, not empty.
    CatchAll {
        name: String,
        prefix: String,
    },
}

impl Segment {
    /// One segment of a route matchit took.
    fn parse(segment: &str) -> Segment {
        // As matchit reads a route: first each `{{` and `}}`, left to
        // right, is a literal brace; then a brace left alone opens or
        // closes the parameter (`{id}}}` is a parameter named `id}`).
        let mut chars = segment.chars().peekable();
        let mut read = Vec::new();
        while let Some(c) = chars.next() {
            let escaped = matches!(c, '{' | '}') && chars.next_if_eq(&c).is_some();
            read.push((c, escaped));
        }
        let mut text = String::new();
        let mut param: Option<(String, String)> = None;
        let mut read = read.into_iter();
        while let Some((c, escaped)) = read.next() {
            match (c, escaped) {
                ('{', false) => {
                    let name = read
                        .by_ref()
                        .take_while(|&(c, escaped)| (c, escaped) != ('}', false))
                        .map(|(c, _)| c)
                        .collect();
                    param = Some((std::mem::take(&mut text), name));
                }
                (c, _) => text.push(c),
            }
        }
        match param {
            None => Segment::Static(text),
            Some((prefix, name)) => match name.strip_prefix('*') {
                Some(name) => Segment::CatchAll {
                    name: name.to_string(),
                    prefix,
                },
                None => Segment::Param {
                    name,
                    prefix,
                    suffix: text,
                },
            },
        }
    }

    /// Where matchit's tree tries this segment among others at its place,
    /// the lowest first. The tree is split by bytes and tries a static
    /// byte before a parameter: static text first, then the longest text
    /// before a parameter (a catch-all's too), then of equal text before,
    /// a parameter before a catch-all, the longest text after first.
    fn rank(&self) -> (u8, Reverse<usize>, u8, Reverse<usize>) {
        match self {
            Segment::Static(_) => (0, Reverse(0), 0, Reverse(0)),
            Segment::Param { prefix, suffix, .. } => {
                (1, Reverse(prefix.len()), 0, Reverse(suffix.len()))
            }
            Segment::CatchAll { prefix, .. } => (1, Reverse(prefix.len()), 1, Reverse(0)),
        }
    }
}

/// A route with parameters, matched segment by segment.
#[derive(Debug, PartialEq)]
struct Pattern(Vec<Segment>);

impl Pattern {
    /// The segments of a route matchit took, or `None` when it has no
    /// parameter (the tree finds every such path).
    fn parse(route: &str) -> Option<Pattern> {
        let segments: Vec<Segment> = route.split('/').map(Segment::parse).collect();
        segments
            .iter()
            .any(|segment| !matches!(segment, Segment::Static(_)))
            .then_some(Pattern(segments))
    }

    /// Whether a parameter has text around it in its segment.
    fn affixed(&self) -> bool {
        self.0.iter().any(|segment| match segment {
            Segment::Static(_) => false,
            Segment::Param { prefix, suffix, .. } => !prefix.is_empty() || !suffix.is_empty(),
            Segment::CatchAll { prefix, .. } => !prefix.is_empty(),
        })
    }

    /// The parameters of `path` when it is an instance of this route.
    fn matches<'p>(&self, path: &'p str) -> Option<Vec<(&str, &'p str)>> {
        let mut params = Vec::new();
        let mut rest = path;
        for (i, segment) in self.0.iter().enumerate() {
            if i > 0 {
                rest = rest.strip_prefix('/')?;
            }
            if let Segment::CatchAll { name, prefix } = segment {
                let value = rest.strip_prefix(prefix.as_str())?;
                if value.is_empty() {
                    return None;
                }
                params.push((name.as_str(), value));
                return Some(params);
            }
            let (text, after) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            match segment {
                Segment::Param {
                    name,
                    prefix,
                    suffix,
                } => {
                    let value = text
                        .strip_prefix(prefix.as_str())?
                        .strip_suffix(suffix.as_str())?;
                    if value.is_empty() {
                        return None;
                    }
                    params.push((name.as_str(), value));
                }
                Segment::Static(s) if s == text => {}
                _ => return None,
            }
            rest = after;
        }
        rest.is_empty().then_some(params)
    }
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
                        let insert = |map: &mut BTreeMap<String, Routes>,
                                      route: &str,
                                      lowered: bool| {
                            map.entry(m.as_str().to_string())
                                .or_default()
                                .insert(route, target)
                                .map_err(|err| clash(providers, p, &e.id, m, path, lowered, &err))
                        };
                        insert(&mut r.exact, path, false)?;
                        if listed.insert(path.as_str()) {
                            r.paths.push(Known {
                                path: path.clone(),
                                provider: pi,
                                segments: segments_to_fill(path),
                            });
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
        let hit = |r: Option<&Routes>, probe: &str| {
            r.and_then(|r| r.at(probe))
                .map(|(target, params)| Match::Found {
                    target,
                    params: params
                        .into_iter()
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
    ) -> (Option<usize>, Option<Cow<'_, str>>) {
        let meant = self.nearest(path);
        (
            prefix_owner.or(meant.as_ref().map(|(_, p)| *p)),
            meant.map(|(p, _)| p),
        )
    }

    /// The endpoint path a mistyped `path` most likely meant, and its
    /// provider: the closest by edit distance (ignoring case), if it is a few
    /// edits away, a path with parameters filled with `path`'s own segments
    /// ([`fill`]); none for a path over [`MOST_MEASURED`] bytes. Off the
    /// request path (404s and 413s).
    fn nearest(&self, path: &str) -> Option<(Cow<'_, str>, usize)> {
        if path.len() > MOST_MEASURED {
            return None;
        }
        let sent = Sent::new(path);
        let limit = nearness(path.len());
        // Each path filled in one buffer; only a nearer one than any
        // before it is copied out.
        let mut buffer = String::new();
        let mut best: Option<(usize, Cow<'_, str>, usize)> = None;
        for known in &self.paths {
            let filled = match &known.segments {
                None => known.path.as_str(),
                Some(segments) => match fill(&mut buffer, segments, &sent) {
                    Some(filled) => filled,
                    None => continue,
                },
            };
            let Some(d) = edit_distance_within(path, filled, limit).filter(|_| filled != path)
            else {
                continue;
            };
            if best.as_ref().is_none_or(|(nearest, _, _)| d < *nearest) {
                let filled = match known.segments {
                    None => Cow::Borrowed(known.path.as_str()),
                    Some(_) => Cow::Owned(filled.to_string()),
                };
                best = Some((d, filled, known.provider));
            }
        }
        best.map(|(_, p, provider)| (p, provider))
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
pub fn nearest<S: AsRef<str>, T>(
    path: &str,
    candidates: impl IntoIterator<Item = (S, T)>,
) -> Option<(S, T)> {
    let limit = nearness(path.len());
    candidates
        .into_iter()
        // The path itself is no suggestion (a filled one can be it).
        .filter(|(p, _)| p.as_ref() != path)
        .filter_map(|(p, t)| Some((edit_distance_within(path, p.as_ref(), limit)?, p, t)))
        .min_by_key(|(d, _, _)| *d)
        .map(|(_, p, t)| (p, t))
}

/// The edits a path of `len` bytes may be from the path it meant: one
/// under 16 bytes, two under 24, three from there on.
fn nearness(len: usize) -> usize {
    (len / 8).clamp(1, MOST_EDITS)
}

/// The most edits a path is ever from the one it meant.
const MOST_EDITS: usize = 3;

/// The longest path a 404 measures against the endpoint paths for what
/// it meant: a longer one is told nothing, so that no path costs more
/// than a few thousand steps a path it is measured against.
pub(crate) const MOST_MEASURED: usize = 1024;

/// A request's path as [`fill`] reads it: its segments and where each
/// starts.
pub(crate) struct Sent<'p> {
    path: &'p str,
    segments: Vec<(usize, &'p str)>,
}

impl<'p> Sent<'p> {
    pub(crate) fn new(path: &'p str) -> Sent<'p> {
        let mut at = 0;
        let segments = path
            .split('/')
            .map(|segment| {
                let start = at;
                at += segment.len() + 1;
                (start, segment)
            })
            .collect();
        Sent { path, segments }
    }
}

/// The segments of `route` when it has a parameter or a brace (`{{` is a
/// literal `{`), for [`fill`]; `None` when it is its own text.
pub(crate) fn segments_to_fill(route: &str) -> Option<Vec<Segment>> {
    route
        .contains(['{', '}'])
        .then(|| route.split('/').map(Segment::parse).collect())
}

/// The route of `segments` with its parameters filled from `sent`, the
/// path a 404 was for, so that a mistyped `/api/v1/imss/nsss/7` is one
/// edit from the `/api/v1/imss/nss/7` it meant: a parameter takes the
/// segment at its place (with the route's text around it unless it has
/// it already), a catch-all the rest of the path; a parameter the path
/// has nothing for stays as written, `{id}`. Written into `buffer`;
/// `None`, before any copy, when its length is already too far from the
/// path's for it to have been meant.
pub(crate) fn fill<'b>(
    buffer: &'b mut String,
    segments: &[Segment],
    sent: &Sent<'_>,
) -> Option<&'b str> {
    let len = sent.path.len();
    let pieces = || {
        segments
            .iter()
            .enumerate()
            .map(|(i, segment)| filled_segment(segment, sent, i))
    };
    let filled_len = pieces()
        .map(|p| p.iter().map(|s| s.len()).sum::<usize>())
        .sum::<usize>()
        + segments.len()
        - 1;
    if filled_len.abs_diff(len) > nearness(len) {
        return None;
    }
    buffer.clear();
    for (i, pieces) in pieces().enumerate() {
        if i > 0 {
            buffer.push('/');
        }
        buffer.extend(pieces);
    }
    Some(buffer)
}

/// Segment `i` of a route filled from `sent`, in pieces, as [`fill`] says.
fn filled_segment<'a>(segment: &'a Segment, sent: &Sent<'a>, i: usize) -> [&'a str; 5] {
    // The text around a parameter, unless `value` has it already.
    let around = |prefix: &'a str, value: &'a str, suffix: &'a str| {
        let has = value.len() > prefix.len() + suffix.len()
            && value.starts_with(prefix)
            && value.ends_with(suffix);
        match has {
            true => ["", "", value, "", ""],
            false => [prefix, "", value, "", suffix],
        }
    };
    let at = sent.segments.get(i).copied();
    match segment {
        Segment::Static(text) => [text, "", "", "", ""],
        Segment::Param {
            name,
            prefix,
            suffix,
        } => match at {
            Some((_, value)) if !value.is_empty() => around(prefix, value, suffix),
            _ => [prefix, "{", name, "}", suffix],
        },
        Segment::CatchAll { name, prefix } => match at {
            Some((start, _)) if start < sent.path.len() => around(prefix, &sent.path[start..], ""),
            _ => [prefix, "{*", name, "}", ""],
        },
    }
}

/// Levenshtein distance over bytes (paths are ASCII), letter case aside,
/// if it is at most `limit` (at most [`MOST_EDITS`]): only the cells within
/// `limit` of the diagonal are computed, each row a few on the stack, so
/// that a 64 KB path costs its length a few times over, not its square,
/// and no path costs an allocation.
fn edit_distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    // The band, and one cell past it that stays `over`.
    const BAND: usize = 2 * MOST_EDITS + 2;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let limit = limit.min(MOST_EDITS);
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    // What the two share at either end costs no edit (a path filled with
    // the request's own segments shares them).
    let same = |x: &u8, y: &u8| x.eq_ignore_ascii_case(y);
    let head = a.iter().zip(b).take_while(|(x, y)| same(x, y)).count();
    let (a, b) = (&a[head..], &b[head..]);
    let tail = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| same(x, y))
        .count();
    let (a, b) = (&a[..a.len() - tail], &b[..b.len() - tail]);
    // Past the limit every count is `over`. A row's cell `k` is the table's
    // column `j = i + k - limit`: the cell above-left is the row above's
    // `k`, the cell above its `k + 1`, the cell to the left this row's
    // `k - 1`; one out of the band is `over`.
    let over = limit + 1;
    let mut above = [over; BAND];
    for (k, cell) in above.iter_mut().enumerate().take(2 * limit + 1) {
        if let Some(j) = k.checked_sub(limit).filter(|&j| j <= b.len()) {
            *cell = j.min(over);
        }
    }
    for i in 1..=a.len() {
        let mut row = [over; BAND];
        for k in 0..=2 * limit {
            let Some(j) = (i + k).checked_sub(limit) else {
                continue;
            };
            if j > b.len() {
                break;
            }
            row[k] = if j == 0 {
                i.min(over)
            } else {
                let left = k.checked_sub(1).map_or(over, |l| row[l]);
                (above[k] + usize::from(!a[i - 1].eq_ignore_ascii_case(&b[j - 1])))
                    .min(above[k + 1] + 1)
                    .min(left + 1)
                    .min(over)
            };
        }
        // A row past the limit everywhere: so is every row after it.
        if row.iter().all(|&cell| cell == over) {
            return None;
        }
        above = row;
    }
    let k = (b.len() + limit).checked_sub(a.len())?;
    Some(above[k]).filter(|&d| d <= limit)
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

    /// The router of a provider with one `GET` endpoint a path, in the
    /// order given (the endpoints numbered from 0).
    fn gets(paths: &[&str], case_insensitive: bool) -> Router {
        let mut p = provider(paths[0], case_insensitive);
        for (i, path) in paths.iter().enumerate().skip(1) {
            p.endpoints.push(EndpointDef {
                id: format!("e{i}"),
                methods: vec![Method::GET],
                paths: vec![path.to_string()],
                scenarios: Default::default(),
            });
        }
        Router::build(&[p]).unwrap()
    }

    /// The endpoint a `GET` of `path` reaches.
    fn endpoint(router: &Router, path: &str) -> Option<usize> {
        match router.find(&Method::GET, path) {
            Match::Found { target, .. } => Some(target.endpoint),
            _ => None,
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

    /// `route` with its parameters filled in: each named one from
    /// `value`.
    fn filled<'a>(route: &str, mut value: impl FnMut(&Segment) -> &'a str) -> String {
        let Some(Pattern(segments)) = Pattern::parse(route) else {
            return route.to_string();
        };
        let mut out = String::new();
        for (i, segment) in segments.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            match segment {
                Segment::Static(s) => out.push_str(s),
                Segment::Param { prefix, suffix, .. } => {
                    out.extend([prefix.as_str(), value(segment), suffix.as_str()])
                }
                Segment::CatchAll { prefix, .. } => out.extend([prefix.as_str(), value(segment)]),
            }
        }
        out
    }

    #[test]
    fn a_path_the_tree_misses_reaches_the_endpoint_that_declares_it() {
        let router = gets(&["/gw/{tenant}.mx/curp", "/gw/{tenant}/nss/{id}"], true);
        let found = |path: &str| match router.find(&Method::GET, path) {
            Match::Found { target, params } => Some((target.endpoint, params)),
            _ => None,
        };
        let nss = |tenant: &str, id: &str| {
            Some((
                1,
                vec![("tenant".into(), tenant.into()), ("id".into(), id.into())],
            ))
        };
        assert_eq!(found("/gw/acme.mx/nss/7"), nss("acme.mx", "7"));
        assert_eq!(found("/GW/Acme.MX/NSS/7"), nss("Acme.MX", "7"));
        assert_eq!(found("/gw/acme/nss/7"), nss("acme", "7"));
        assert_eq!(
            found("/gw/acme.mx/curp"),
            Some((0, vec![("tenant".into(), "acme".into())]))
        );
        // A parameter is never empty, in the tree or out of it.
        assert_eq!(found("/gw/acme.mx/nss//"), None);
        // Under another method the path is known, not missing.
        assert!(matches!(
            router.find(&Method::POST, "/gw/acme.mx/nss/7"),
            Match::MethodNotAllowed { .. }
        ));
    }

    /// Seeded sets of overlapping routes (static text, parameters with and
    /// without text around them, catch-alls): every instance of every
    /// route matchit takes reaches a route whose parameters give it back.
    #[test]
    fn every_instance_of_a_declared_route_is_found() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        fn pick(rng: &mut StdRng, of: &[&'static str]) -> &'static str {
            of[rng.random_range(0..of.len())]
        }
        let mut rng = StdRng::seed_from_u64(7);
        // Asked and missed by the tree, of sets with text around a
        // parameter somewhere and of sets without.
        let (mut declared, mut missed_by_tree) = ([0; 2], [0; 2]);
        for set in 0..6000 {
            let plain = usize::from(set % 2 == 1);
            let mut routes = Routes::default();
            let mut taken = Vec::new();
            for endpoint in 0..rng.random_range(2..=5) {
                let mut route = String::new();
                let segments = rng.random_range(1..=3);
                for s in 0..segments {
                    route.push('/');
                    let p = format!("{{p{s}}}");
                    let shape = match plain {
                        1 => [0, 1, 5][rng.random_range(0..3)],
                        _ => rng.random_range(0..6),
                    };
                    let text = match shape {
                        0 => pick(&mut rng, &["a", "b", "ab", "v"]).to_string(),
                        1 => p,
                        2 => pick(&mut rng, &["a", "ab"]).to_string() + &p,
                        3 => p + pick(&mut rng, &["b", ".json"]),
                        4 => format!("a{p}b"),
                        _ if s == segments - 1 => {
                            let prefix = if plain == 1 {
                                ""
                            } else {
                                pick(&mut rng, &["", "a"])
                            };
                            format!("{prefix}{{*p{s}}}")
                        }
                        _ => "v".to_string(),
                    };
                    route.push_str(&text);
                }
                let target = Target {
                    provider: 0,
                    endpoint,
                };
                if routes.insert(&route, target).is_ok() {
                    taken.push((endpoint, route));
                }
            }
            for (_, route) in &taken {
                for _ in 0..4 {
                    let path = filled(route, |segment| match segment {
                        Segment::CatchAll { .. } => {
                            pick(&mut rng, &["a", "ab", "x.json", "a/b", "b/"])
                        }
                        _ => pick(&mut rng, &["a", "b", "ab", "ba", "x.json"]),
                    });
                    declared[plain] += 1;
                    missed_by_tree[plain] += usize::from(routes.tree.at(&path).is_err());
                    let (target, params) = routes
                        .at(&path)
                        .unwrap_or_else(|| panic!("{path} ({route}) not found among {taken:?}"));
                    let reached = &taken.iter().find(|(e, _)| *e == target.endpoint).unwrap().1;
                    let again = filled(reached, |segment| match segment {
                        Segment::Param { name, .. } | Segment::CatchAll { name, .. } => {
                            params.iter().find(|(k, _)| k == name).unwrap().1
                        }
                        Segment::Static(_) => unreachable!(),
                    });
                    assert_eq!(again, path, "{path} reached {reached}");
                }
            }
        }
        // The sets with text around a parameter reach the tree's blind
        // spot; those without never do, and take no pass of their own.
        assert!(
            missed_by_tree[0] > 100 && declared[0] > 10_000,
            "{missed_by_tree:?} of {declared:?}"
        );
        assert!(
            missed_by_tree[1] == 0 && declared[1] > 10_000,
            "{missed_by_tree:?} of {declared:?}"
        );
    }

    /// Routes with literal braces: the parameters a pattern reads are
    /// those matchit's tree reads, names and values.
    #[test]
    fn a_pattern_reads_braces_as_matchit_does() {
        for (route, path) in [
            ("/a/{id}}}", "/a/7}"),
            ("/a/{x{{y}", "/a/7"),
            ("/a/{{b}}/{id}", "/a/{b}/7"),
            ("/a/p{{{id}}}s", "/a/p{7}s"),
            ("/a/{{{id}", "/a/{7"),
            ("/a/x}}{*rest}", "/a/x}7/8"),
        ] {
            let mut tree = matchit::Router::new();
            tree.insert(route, ())
                .unwrap_or_else(|e| panic!("{route}: {e}"));
            let m = tree
                .at(path)
                .unwrap_or_else(|e| panic!("{route} {path}: {e}"));
            let tree: Vec<(&str, &str)> = m.params.iter().collect();
            let pattern = Pattern::parse(route).unwrap();
            assert_eq!(pattern.matches(path), Some(tree), "{route} {path}");
        }
    }

    #[test]
    fn a_lowered_route_keeps_parameter_names_and_literal_braces() {
        assert_eq!(
            lowered_route("/A/{Id}/B{{X}}/{*Rest}"),
            "/a/{Id}/b{{x}}/{*Rest}"
        );
    }

    #[test]
    fn edit_distance_counts_inserts_deletes_and_substitutions_up_to_a_limit() {
        let d = |a: &str, b: &str, limit| edit_distance_within(a, b, limit);
        assert_eq!(d("", "", 1), Some(0));
        assert_eq!(d("abc", "", 3), Some(3));
        assert_eq!(d("abc", "", 2), None);
        assert_eq!(d("kitten", "sitting", 3), Some(3));
        assert_eq!(d("kitten", "sitting", 2), None);
        assert_eq!(d("sitting", "kitten", 3), Some(3));
        assert_eq!(
            d("/api/asyncverification/x", "/api/asyncverication/x", 3),
            Some(2)
        );
        // Edits at both ends, and a long path (its length times a few
        // cells, not its square).
        assert_eq!(d("xbcdefghiy", "bcdefghi", 2), Some(2));
        assert_eq!(d("xbcdefghiy", "bcdefghi", 1), None);
        let long = "a/".repeat(32_768);
        assert_eq!(d(&long, &format!("{long}b"), 3), Some(1));
        assert_eq!(d(&format!("b{long}"), &format!("{long}c"), 3), Some(2));
        // Every pair of short words, against the whole table.
        fn full(a: &[u8], b: &[u8]) -> usize {
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
        let words: Vec<String> = (0..200u32)
            .map(|n| {
                (0..n % 7)
                    .map(|k| b"ab/"[((n >> k) % 3) as usize] as char)
                    .collect()
            })
            .collect();
        for a in &words {
            for b in &words {
                for limit in 1..=3 {
                    let want = Some(full(a.as_bytes(), b.as_bytes())).filter(|&x| x <= limit);
                    assert_eq!(d(a, b, limit), want, "{a:?} {b:?} within {limit}");
                }
            }
        }
    }

    #[test]
    fn a_mistyped_path_with_a_parameter_is_told_the_path_it_meant() {
        let router = Router::build(&[provider("/api/v1/imss/nss/{id}", false)]).unwrap();
        let meant = |path: &str| router.nearest(path).map(|(p, _)| p.into_owned());
        let nss = |id: &str| Some(format!("/api/v1/imss/nss/{id}"));
        assert_eq!(meant("/api/v1/imss/nsss/7a1"), nss("7a1"));
        assert_eq!(meant("/API/V1/IMSS/NSS/7a1"), nss("7a1"));
        assert_eq!(meant("/api/v1/imss/nss/7a1/x"), nss("7a1"));
        // A segment the path lacks stays as written: too far to be meant.
        assert_eq!(meant("/api/v1/imss/nss"), None);
        // A path over 1 KB is told nothing.
        let id = "7".repeat(MOST_MEASURED - 18);
        assert_eq!(meant(&format!("/api/v1/imss/nsss/{id}")), nss(&id));
        assert_eq!(meant(&format!("/api/v1/imss/nsss/{id}7")), None);
    }

    #[test]
    fn a_suggestion_keeps_a_parameters_text_and_a_catch_alls_rest() {
        let mut p = provider("/gateway/{tenant}.mx/curp/bycurp", false);
        p.endpoints[0]
            .paths
            .push("/api/v1/longer/files/{*rest}".into());
        let router = Router::build(&[p]).unwrap();
        let meant = |path: &str| router.nearest(path).map(|(p, _)| p.into_owned());
        // The text around the parameter is kept, so the suggestion routes.
        assert_eq!(
            meant("/gateway/acme/curp/bycurp"),
            Some("/gateway/acme.mx/curp/bycurp".into())
        );
        assert_eq!(
            meant("/gateway/acme.mx/curp/bycurpp"),
            Some("/gateway/acme.mx/curp/bycurp".into())
        );
        assert_eq!(
            meant("/api/v1/longer/filez/a/b"),
            Some("/api/v1/longer/files/a/b".into())
        );
        for suggested in ["/gateway/acme.mx/curp/bycurp", "/api/v1/longer/files/a/b"] {
            assert!(matches!(
                router.find(&Method::GET, suggested),
                Match::Found { .. }
            ));
        }
    }

    /// Of the paths the tree misses, one reaches the endpoint the tree
    /// would have chosen, static text first (not the first declared).
    #[test]
    fn a_path_the_tree_misses_reaches_the_endpoint_the_tree_prefers() {
        let router = gets(
            &["/gw/{t}.mx/curp", "/gw/{t}/{kind}/{id}", "/gw/{t}/nss/{id}"],
            false,
        );
        assert_eq!(endpoint(&router, "/gw/acme/nss/7"), Some(2));
        assert_eq!(endpoint(&router, "/gw/acme.mx/nss/7"), Some(2));
        assert_eq!(endpoint(&router, "/gw/acme.mx/rfc/7"), Some(1));
        // Text before a parameter first, the longest first, a catch-all's
        // too; text after only between equal text before. Each pair of
        // paths reaches one endpoint, through the tree and past it.
        for (preferred, other, paths) in [
            (
                "/gw/{t}/a{*rest}",
                "/gw/{t}/{k}/x",
                ["/gw/acme/ab/x", "/gw/acme.mx/ab/x"],
            ),
            (
                "/gw/{t}/a{x}/z",
                "/gw/{t}/{y}bb/z",
                ["/gw/acme/abb/z", "/gw/acme.mx/abb/z"],
            ),
            (
                "/gw/{t}/a{x}/{z}",
                "/gw/{t}/{y}b/zz",
                ["/gw/acme/ab/zz", "/gw/acme.mx/ab/zz"],
            ),
        ] {
            let router = gets(&["/gw/{t}.mx/curp", preferred, other], false);
            for path in paths {
                let reached = endpoint(&router, path);
                assert_eq!(reached, Some(1), "{path}: {preferred} before {other}");
            }
        }
    }
}
