//! The request journal: what was called, and what answered, oldest first,
//! bounded in memory.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Mutex;

use hyper::HeaderMap;
use serde_json::{json, Value};

use super::ledger::{Ledger, Share};
use crate::time::Timestamp;

/// The most body bytes one entry keeps; the rest is cut so that a bound on
/// the number of entries is also a bound on memory.
const MAX_BODY_KEPT: usize = 16 * 1024;

/// Likewise for the headers (all of them: hyper takes a head of 400 KB).
const MAX_HEADERS_KEPT: usize = 16 * 1024;
/// Likewise for the method, the path, the query and the CURP, each.
const MAX_LINE_KEPT: usize = 2 * 1024;

/// Bytes every namespace's journals hold together at most, beyond each
/// one's first [`BYTES_KEPT_WHATEVER_ELSE`]: a journal is about 0.4 MB of
/// ordinary requests and up to about 40 MB of large ones, and 1,025 of
/// those would hold tens of gigabytes. Past it, a journal lets its own
/// oldest entries go, as at its own bound.
const BYTES_IN_ALL: usize = 256 << 20;

/// Bytes of entries a journal holds whatever the others hold: some 300
/// ordinary requests, three of the largest (and the newest entry always).
const BYTES_KEPT_WHATEVER_ELSE: usize = 128 << 10;

/// The ledger every namespace's journals share: one per sandbox.
pub fn ledger() -> std::sync::Arc<Ledger> {
    Ledger::new(BYTES_IN_ALL, BYTES_KEPT_WHATEVER_ELSE, 64 << 10)
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u64,
    pub time: Timestamp,
    pub provider: Option<&'static str>,
    pub method: hyper::Method,
    pub status: u16,
    pub scenario: Option<&'static str>,
    /// Which step chose the scenario (`header`, `override`, `persona`,
    /// `realistic`…), for a provider's own answer.
    pub selected_by: Option<&'static str>,
    /// The fault the answer was given with (`connection_reset`…): the
    /// client then saw no `status` at all, or a cut body.
    pub fault: Option<&'static str>,
    request: Text,
}

/// The request's path, query, CURP, headers and body as the journal keeps
/// them: one compact copy, `path\nquery\n`, the CURP (as the engine read
/// it: trimmed, in capitals; any line break inside kept), lines of `name:value\n`, then the body (its first
/// [`MAX_BODY_KEPT`] bytes). A `HeaderMap` clone would hold on to the
/// connection's read buffer (hyper's header values are slices of it), so
/// every journaled request made hyper allocate a fresh buffer and the
/// journal pinned 8 KB per entry; a shared body would pin the whole body
/// however much of it is kept, and share a reference count between
/// workers. The buffer of the entry a record pushes out is the next
/// record's on that thread: a busy journal allocates nothing, and no worker
/// frees what the other allocated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Text {
    bytes: Vec<u8>,
    /// Where the CURP starts (it ends where the headers start).
    curp: usize,
    /// Where the headers start.
    headers: usize,
    /// Where the body starts.
    body: usize,
}

thread_local! {
    /// The buffer of the last entry this thread pushed out of a journal.
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A recycled buffer larger than this is freed instead of kept: one huge
/// request must not make every later entry as large.
const KEEP_AT_MOST: usize = 4 * 1024;

impl Text {
    fn copy(path: &str, query: &str, curp: &str, map: &HeaderMap, body: &[u8]) -> Text {
        let body = utf8_prefix(body, MAX_BODY_KEPT);
        let (path, query, curp) = (cut(path), cut(query), cut(curp));
        let headers_len = map
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 2)
            .sum::<usize>()
            .min(MAX_HEADERS_KEPT);
        let len = path.len() + query.len() + curp.len() + 2 + headers_len + body.len();
        let mut out = SPARE
            .try_with(|spare| spare.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)))
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        out.clear();
        out.reserve_exact(len);
        // A path or query never holds a line break (hyper refuses one).
        for part in [path, query] {
            out.extend_from_slice(part.as_bytes());
            out.push(b'\n');
        }
        let curp_at = out.len();
        out.extend_from_slice(curp.as_bytes());
        let headers = out.len();
        // Whole headers while they fit; the first one that does not is cut
        // to the room left, and the rest are not kept.
        let mut room = MAX_HEADERS_KEPT;
        for (k, v) in map {
            let name = k.as_str().as_bytes();
            let Some(take) = room.checked_sub(name.len() + 2) else {
                break;
            };
            let value = utf8_prefix(v.as_bytes(), take);
            room -= name.len() + 2 + value.len();
            // Names are tokens and values never hold a line break, so the
            // first ':' and each '\n' split them back.
            out.extend_from_slice(name);
            out.push(b':');
            out.extend_from_slice(value);
            out.push(b'\n');
        }
        let body_at = out.len();
        out.extend_from_slice(body);
        Text {
            bytes: out,
            curp: curp_at,
            headers,
            body: body_at,
        }
    }

    /// Gives the buffer to the next entry this thread records.
    fn recycle(self) {
        if self.bytes.capacity() > KEEP_AT_MOST {
            return;
        }
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                *spare = self.bytes;
            }
        });
    }

    fn line(&self, n: usize) -> &str {
        let head = self.bytes.get(..self.curp).unwrap_or_default();
        head.split(|b| *b == b'\n')
            .nth(n)
            .and_then(|l| std::str::from_utf8(l).ok())
            .unwrap_or("")
    }
}

/// At most `max` bytes of `b`, not ending inside a UTF-8 character: a
/// body or header cut there would read back with U+FFFD at its end.
fn utf8_prefix(b: &[u8], max: usize) -> &[u8] {
    if b.len() <= max {
        return b;
    }
    let mut end = max;
    // A continuation byte at the cut belongs to a character begun before
    // it (at most three bytes back).
    while end > 0 && max - end < 3 && b[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    &b[..end]
}

/// `s` up to [`MAX_LINE_KEPT`] bytes, cut at a character boundary.
pub(super) fn cut(s: &str) -> &str {
    super::prefix(s, MAX_LINE_KEPT)
}

/// `m`, or its first [`MAX_LINE_KEPT`] bytes: hyper takes an extension
/// method as long as its head (400 KB), and keeps it whole on the heap.
pub(super) fn cut_method(m: &hyper::Method) -> hyper::Method {
    let name = m.as_str();
    if name.len() <= MAX_LINE_KEPT {
        return m.clone();
    }
    // A prefix of a token is a token.
    hyper::Method::from_bytes(cut(name).as_bytes()).unwrap_or_else(|_| m.clone())
}

/// What is known of a request when it is journaled.
pub struct Record<'a> {
    pub time: Timestamp,
    pub provider: Option<&'static str>,
    pub method: &'a hyper::Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub status: u16,
    pub scenario: Option<&'static str>,
    pub selected_by: Option<&'static str>,
    pub fault: Option<&'static str>,
    pub curp: Option<&'a str>,
}

impl Entry {
    pub fn new(r: Record<'_>) -> Entry {
        Entry {
            id: 0,
            time: r.time,
            provider: r.provider,
            method: cut_method(r.method),
            status: r.status,
            scenario: r.scenario,
            selected_by: r.selected_by,
            fault: r.fault,
            request: Text::copy(
                r.path,
                r.query,
                r.curp.unwrap_or_default(),
                r.headers,
                r.body,
            ),
        }
    }

    /// The request's CURP, as the engine read it.
    pub fn curp(&self) -> Option<&str> {
        self.request
            .bytes
            .get(self.request.curp..self.request.headers)
            .and_then(|c| std::str::from_utf8(c).ok())
            .filter(|c| !c.is_empty())
    }

    /// The request body (its first `MAX_BODY_KEPT` bytes).
    pub fn body(&self) -> &[u8] {
        self.request
            .bytes
            .get(self.request.body..)
            .unwrap_or_default()
    }

    pub fn path(&self) -> &str {
        self.request.line(0)
    }

    pub fn query(&self) -> &str {
        self.request.line(1)
    }

    /// Request headers (name, value) in the order their names were first
    /// received, the values of a name together (as a `HeaderMap` holds them).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let lines = self
            .request
            .bytes
            .get(self.request.headers..self.request.body)
            .unwrap_or_default();
        lines.split(|b| *b == b'\n').filter_map(|line| {
            let colon = line.iter().position(|b| *b == b':')?;
            let name = std::str::from_utf8(&line[..colon]).ok()?;
            Some((name, &line[colon + 1..]))
        })
    }

    /// The memory the entry holds in a journal: itself, its buffer and
    /// its method's name (an extension method's is on the heap, up to
    /// [`MAX_LINE_KEPT`]; a standard one's is counted too, a few bytes).
    fn held(&self) -> usize {
        std::mem::size_of::<Entry>() + self.request.bytes.capacity() + self.method.as_str().len()
    }

    pub fn to_json(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (k, v) in self.headers() {
            let v = Value::String(String::from_utf8_lossy(v).into_owned());
            match headers.get_mut(k) {
                Some(Value::Array(vs)) => vs.push(v),
                Some(first) => *first = Value::Array(vec![first.take(), v]),
                None => {
                    headers.insert(k.to_string(), v);
                }
            }
        }
        let body = if self.body().is_empty() {
            Value::Null
        } else {
            // The body as the provider read it: JSON (with the documents'
            // forgiven flaws), else the text as sent.
            match crate::request::parse_json(self.body()) {
                crate::request::Body::Json(v) => v,
                _ => Value::String(String::from_utf8_lossy(self.body()).into_owned()),
            }
        };
        json!({
            "id": self.id,
            "time": self.time.to_mx_rfc3339(),
            "provider": self.provider,
            "method": self.method.as_str(),
            "path": self.path(),
            "query": self.query(),
            "headers": headers,
            "body": body,
            "status": self.status,
            "scenario": self.scenario,
            "selected_by": self.selected_by,
            "fault": self.fault,
            "curp": self.curp(),
        })
    }
}

/// What `GET /__admin/requests` filters on.
#[derive(Debug, Default)]
pub struct Filter {
    pub provider: Option<String>,
    pub path: Option<String>,
    pub curp: Option<String>,
    pub limit: Option<usize>,
}

pub struct Journal {
    // A std mutex: moving one entry in (or copying some out), never across
    // an await.
    inner: Mutex<Inner>,
    limit: usize,
}

struct Inner {
    entries: VecDeque<Entry>,
    next_id: u64,
    /// What the entries hold ([`Entry::held`]), and the journal's part of
    /// what every namespace's journals may hold together.
    held: usize,
    share: Share,
}

impl Inner {
    fn pop_front(&mut self) -> Option<Entry> {
        let e = self.entries.pop_front()?;
        self.held -= e.held();
        Some(e)
    }

    fn empty(&mut self) {
        self.entries.clear();
        self.held = 0;
        self.share.settle(0);
    }
}

/// The entries `f` keeps, newest first (so that `limit` stops the walk).
fn matching<'a>(entries: &'a VecDeque<Entry>, f: &'a Filter) -> impl Iterator<Item = &'a Entry> {
    entries
        .iter()
        .rev()
        .filter(|e| f.provider.as_deref().is_none_or(|p| e.provider == Some(p)))
        .filter(|e| {
            f.path
                .as_deref()
                .is_none_or(|p| crate::router::same_path(e.path(), p))
        })
        .filter(|e| {
            f.curp
                .as_deref()
                .is_none_or(|c| e.curp().is_some_and(|x| x.eq_ignore_ascii_case(c)))
        })
        .take(f.limit.unwrap_or(usize::MAX))
}

impl Journal {
    /// A journal of `limit` entries at most, holding no more memory than
    /// `share` of every namespace's journals lets it.
    pub fn new(limit: usize, share: Share) -> Journal {
        Journal {
            inner: Mutex::new(Inner {
                entries: VecDeque::new(),
                next_id: 0,
                held: 0,
                share,
            }),
            limit,
        }
    }

    /// Records an entry (its id is assigned here), dropping the oldest past
    /// the bound, and past what the journal's share lets it hold when every
    /// namespace's journals together hold their most (the newest entry is
    /// kept whatever its size).
    /// Keeps `entry` if `current()` (asked under the lock
    /// [`Journal::restart`] takes: the request's namespace was not reset
    /// since it began).
    pub fn record(&self, mut entry: Entry, current: impl FnOnce() -> bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !current() {
            drop(inner);
            return entry.request.recycle();
        }
        inner.next_id += 1;
        entry.id = inner.next_id;
        if self.limit == 0 {
            drop(inner);
            return entry.request.recycle();
        }
        // The bound is fixed, so one entry at most goes for it; its buffer
        // is recycled after the lock is released.
        let mut gone = None;
        while inner.entries.len() >= self.limit {
            gone = inner.pop_front();
        }
        inner.held += entry.held();
        inner.entries.push_back(entry);
        let Inner {
            entries,
            held,
            share,
            ..
        } = &mut *inner;
        share.fit(held, entries.len(), || {
            gone = entries.pop_front();
            gone.as_ref().map_or(0, Entry::held)
        });
        drop(inner);
        if let Some(gone) = gone {
            gone.request.recycle();
        }
    }

    /// Matching entries, oldest first; `limit` keeps the newest N of them.
    pub fn query(&self, f: &Filter) -> Vec<Entry> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Newest first, so that `limit` stops the copying (entries are up to
        // about 40 KB each, copied under the lock every request records
        // under).
        let mut out: Vec<Entry> = matching(&inner.entries, f).cloned().collect();
        out.reverse();
        out
    }

    /// The bytes of request text (path, query, CURP, headers, body) the
    /// entries [`Journal::query`] would give hold: about what listing them
    /// writes, known without copying them.
    pub fn text_bytes(&self, f: &Filter) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        matching(&inner.entries, f)
            .map(|e| e.request.bytes.len())
            .sum()
    }

    /// Empties the journal; ids go on from the last one given (a client
    /// that kept an id never sees it again on another entry).
    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).empty();
    }

    /// Back to start, as a namespace reset puts it: empty, and ids from 1.
    pub fn restart(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.empty();
        inner.next_id = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal of `limit` entries, as large as they come.
    fn journal(limit: usize) -> Journal {
        Journal::new(limit, Ledger::new(usize::MAX, 0, 1).share())
    }

    fn entry_with(path: &str, headers: &HeaderMap, body: &[u8]) -> Entry {
        entry_of(path, None, headers, body)
    }

    fn entry_of(path: &str, curp: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Entry {
        Entry::new(record(path, curp, headers, body))
    }

    fn record<'a>(
        path: &'a str,
        curp: Option<&'a str>,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Record<'a> {
        Record {
            time: Timestamp::default(),
            provider: Some("p"),
            method: &hyper::Method::POST,
            path,
            query: "a=1&b",
            headers,
            body,
            status: 200,
            scenario: Some("success"),
            selected_by: Some("realistic"),
            fault: None,
            curp,
        }
    }

    fn entry(path: &str, body: &[u8]) -> Entry {
        entry_with(path, &HeaderMap::new(), body)
    }

    #[test]
    fn headers_copied_compactly_in_order() {
        let mut map = HeaderMap::new();
        map.append("apikey", "k:1".parse().unwrap());
        map.append("x-multi", "a".parse().unwrap());
        map.append("x-multi", "b".parse().unwrap());
        map.append("x-empty", "".parse().unwrap());
        let e = entry_with("/p/q", &map, b"");
        let got: Vec<(&str, &[u8])> = e.headers().collect();
        assert_eq!(
            got,
            vec![
                ("apikey", &b"k:1"[..]),
                ("x-multi", &b"a"[..]),
                ("x-multi", &b"b"[..]),
                ("x-empty", &b""[..])
            ]
        );
        assert_eq!((e.path(), e.query()), ("/p/q", "a=1&b"));
        assert_eq!(
            e.to_json()["headers"],
            json!({"apikey": "k:1", "x-multi": ["a", "b"], "x-empty": ""})
        );
    }

    #[test]
    fn bounded_and_filtered() {
        let j = journal(3);
        for i in 0..5 {
            j.record(entry(&format!("/{i}"), b"{}"), || true);
        }
        let all = j.query(&Filter::default());
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 4, 5]);
        let last = j.query(&Filter {
            limit: Some(1),
            ..Filter::default()
        });
        assert_eq!(last[0].path(), "/4");
        let one = j.query(&Filter {
            path: Some("/3".into()),
            ..Filter::default()
        });
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn text_bytes_counts_the_entries_query_gives() {
        let j = journal(3);
        for (i, size) in [10, 200, 3_000, 40_000].into_iter().enumerate() {
            j.record(entry(&format!("/{i}"), &vec![b'x'; size]), || true);
        }
        for f in [
            Filter::default(),
            Filter {
                limit: Some(2),
                ..Filter::default()
            },
            Filter {
                path: Some("/2".into()),
                ..Filter::default()
            },
            Filter {
                provider: Some("other".into()),
                ..Filter::default()
            },
        ] {
            let listed: usize = j.query(&f).iter().map(|e| e.request.bytes.len()).sum();
            assert_eq!(j.text_bytes(&f), listed);
        }
        // The three kept, their bodies (the last one cut at 16 KB, as the
        // journal keeps it) the most of it.
        let bodies = 200 + 3_000 + 16 * 1024;
        let all = j.text_bytes(&Filter::default());
        assert!(all > bodies && all < bodies + 3 * 64, "{all}");
    }

    #[test]
    fn a_recycled_buffer_holds_only_the_new_request() {
        let j = journal(1);
        let mut big = HeaderMap::new();
        big.insert("x-long", "v".repeat(500).parse().unwrap());
        j.record(
            entry_of(
                "/first/path",
                Some("AAAA000000HDFXXX00"),
                &big,
                &[b'z'; 900],
            ),
            || true,
        );
        // One that raced a reset is not kept, and takes no id.
        j.record(entry("/raced", b"{}"), || false);
        // The second pushes the first out; the third reuses its buffer.
        j.record(entry("/second", b"{}"), || true);
        j.record(entry("/3", b"[]"), || true);
        let got = j.query(&Filter::default());
        assert_eq!(got.len(), 1);
        let e = &got[0];
        assert_eq!((e.id, e.path(), e.query()), (3, "/3", "a=1&b"));
        assert_eq!(e.curp(), None);
        assert_eq!(e.headers().count(), 0);
        assert_eq!(e.body(), b"[]");
    }

    #[test]
    fn the_curp_is_kept_with_the_request() {
        let e = entry_of("/p", Some("PXNE660720HMCXTN06"), &HeaderMap::new(), b"");
        assert_eq!(e.curp(), Some("PXNE660720HMCXTN06"));
        assert_eq!(e.to_json()["curp"], "PXNE660720HMCXTN06");
        assert_eq!((e.path(), e.query()), ("/p", "a=1&b"));
        // Whatever was sent as the CURP is kept whole, line breaks included.
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "1".parse().unwrap());
        let odd = entry_of("/p", Some("AB\nx-b:2\n"), &headers, b"{}");
        assert_eq!(odd.curp(), Some("AB\nx-b:2\n"));
        assert_eq!(odd.headers().collect::<Vec<_>>(), [("x-a", &b"1"[..])]);
        assert_eq!(
            (odd.path(), odd.query(), odd.body()),
            ("/p", "a=1&b", &b"{}"[..])
        );
    }

    #[test]
    fn cuts_huge_bodies() {
        let j = journal(3);
        j.record(entry("/", &vec![b'a'; MAX_BODY_KEPT * 4]), || true);
        assert_eq!(j.query(&Filter::default())[0].body().len(), MAX_BODY_KEPT);
    }

    #[test]
    fn cuts_fall_between_characters() {
        for pad in 0..4 {
            // "€" is three bytes: some pad puts every cut inside one.
            let text = format!("{}{}", "a".repeat(pad), "€".repeat(MAX_BODY_KEPT));
            let kept = utf8_prefix(text.as_bytes(), MAX_BODY_KEPT);
            assert!(std::str::from_utf8(kept).is_ok(), "pad {pad}");
            assert!(kept.len() > MAX_BODY_KEPT - 3, "pad {pad}");
        }
        assert_eq!(utf8_prefix(b"abc", 2), b"ab");
        // Bytes that are not UTF-8: at most three looked back over, and
        // never past the start.
        assert_eq!(utf8_prefix(&[0x80; 10], 8).len(), 5);
        assert_eq!(utf8_prefix(&[0x80; 3], 2), b"");
        assert_eq!(utf8_prefix(b"abc", 9), b"abc");
    }

    #[test]
    fn cuts_huge_headers_paths_and_curps() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "1".parse().unwrap());
        let huge = "v".repeat(MAX_HEADERS_KEPT * 2);
        headers.insert("x-huge", huge.parse().unwrap());
        headers.insert("x-after", "2".parse().unwrap());
        let path = format!("/{}", "é".repeat(MAX_LINE_KEPT));
        let curp = "C".repeat(MAX_LINE_KEPT * 3);
        let e = entry_of(&path, Some(&curp), &headers, b"{}");
        let kept: Vec<(&str, usize)> = e.headers().map(|(k, v)| (k, v.len())).collect();
        // x-a whole, x-huge cut to the room left, x-after not kept.
        assert_eq!(kept[0], ("x-a", 1));
        assert_eq!(kept[1].0, "x-huge");
        assert_eq!(kept.len(), 2);
        let total: usize = e.headers().map(|(k, v)| k.len() + v.len() + 2).sum();
        assert_eq!(total, MAX_HEADERS_KEPT);
        // Cut at a character boundary.
        assert!(e.path().len() <= MAX_LINE_KEPT && e.path().len() > MAX_LINE_KEPT - 2);
        assert!(e.path().ends_with('é'));
        assert_eq!(e.curp().map(str::len), Some(MAX_LINE_KEPT));
        assert_eq!(e.body(), b"{}");
    }

    #[test]
    fn a_body_that_looks_like_headers_stays_the_body() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "1".parse().unwrap());
        let body = b"x-b:2\nx-c:3\n";
        let e = entry_with("/p", &headers, body);
        let names: Vec<&str> = e.headers().map(|(k, _)| k).collect();
        assert_eq!(names, ["x-a"]);
        assert_eq!(e.body(), body);
        assert_eq!((e.path(), e.query()), ("/p", "a=1&b"));
    }

    #[test]
    fn the_bounds_the_readme_gives() {
        // The first 16 KB of the body and of the headers, 2 KB of the
        // path, query and CURP.
        let mut headers = HeaderMap::new();
        headers.insert("x-big", "v".repeat(20_000).parse().unwrap());
        let e = Entry::new(Record {
            query: &"q".repeat(2_049),
            ..record(
                &"/".repeat(2_049),
                Some(&"C".repeat(2_049)),
                &headers,
                &[b'b'; 16_385],
            )
        });
        assert_eq!(e.body().len(), 16_384);
        let kept: usize = e.headers().map(|(k, v)| k.len() + v.len() + 2).sum();
        assert_eq!(kept, 16_384);
        assert_eq!(e.path().len(), 2_048);
        assert_eq!(e.query().len(), 2_048);
        assert_eq!(e.curp().map(str::len), Some(2_048));
        // One byte less of each is kept whole.
        headers.insert("x-big", "v".repeat(16_384 - 7).parse().unwrap());
        let e = entry_of(&"/".repeat(2_048), None, &headers, &[b'b'; 16_384]);
        assert_eq!(e.body().len(), 16_384);
        assert_eq!(e.headers().next().map(|(_, v)| v.len()), Some(16_384 - 7));
        assert_eq!(e.path().len(), 2_048);
    }

    #[test]
    fn an_entry_is_one_buffer_of_its_own_size() {
        // A thread of its own: no buffer left over from another entry.
        std::thread::spawn(|| {
            let mut headers = HeaderMap::new();
            headers.append("apikey", "k1".parse().unwrap());
            headers.append("x-two", "a".parse().unwrap());
            headers.append("x-two", "bc".parse().unwrap());
            let e = entry_of("/path", Some("CURP"), &headers, b"{\"a\":1}");
            assert_eq!(e.request.bytes.len(), 50);
            assert_eq!(e.request.bytes.capacity(), 50);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_pushed_out_entry_lends_its_buffer_to_the_next() {
        std::thread::spawn(|| {
            let j = journal(1);
            let first_buffer =
                |j: &Journal| j.inner.lock().unwrap().entries[0].request.bytes.as_ptr();
            j.record(entry("/1", b"{}"), || true);
            let first = first_buffer(&j);
            j.record(entry("/2", b"{}"), || true);
            j.record(entry("/3", b"{}"), || true);
            assert_eq!(first_buffer(&j), first);
            // A buffer of 4 KB is kept for the next entry; a larger one is freed.
            Text {
                bytes: Vec::with_capacity(4_096),
                ..Text::default()
            }
            .recycle();
            assert_eq!(entry("/4", b"").request.bytes.capacity(), 4_096);
            Text {
                bytes: Vec::with_capacity(4_097),
                ..Text::default()
            }
            .recycle();
            let fresh = entry("/5", b"");
            assert_eq!(fresh.request.bytes.capacity(), fresh.request.bytes.len());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn methods_past_the_bound_are_cut_and_bodies_read_as_json() {
        let long = hyper::Method::from_bytes("M".repeat(2_049).as_bytes()).unwrap();
        assert_eq!(cut_method(&long).as_str(), "M".repeat(2_048));
        let short = hyper::Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(cut_method(&short), short);
        assert_eq!(cut_method(&hyper::Method::DELETE), hyper::Method::DELETE);
        let json = entry("/p", b"{\"a\": [1]}").to_json();
        assert_eq!(
            (&json["body"], &json["method"]),
            (&json!({"a": [1]}), &json!("POST"))
        );
        assert_eq!(entry("/p", b"a=1").to_json()["body"], "a=1");
        assert_eq!(entry("/p", b"").to_json()["body"], Value::Null);
    }

    #[test]
    fn filtered_by_provider_and_curp_cleared_and_restarted() {
        let j = journal(10);
        let with = |provider, curp: &str| Entry {
            provider: Some(provider),
            ..entry_of("/p", Some(curp), &HeaderMap::new(), b"")
        };
        j.record(with("p", "AAAA000000HDFXXX00"), || true);
        j.record(with("q", "BBBB000000HDFXXX00"), || true);
        j.record(with("p", "BBBB000000HDFXXX00"), || true);
        let ids = |f: Filter| j.query(&f).iter().map(|e| e.id).collect::<Vec<_>>();
        let by_provider = |p: &str| Filter {
            provider: Some(p.into()),
            ..Filter::default()
        };
        assert_eq!(ids(by_provider("p")), [1, 3]);
        assert_eq!(ids(by_provider("q")), [2]);
        assert_eq!(ids(by_provider("r")), [0u64; 0]);
        let by_curp = Filter {
            curp: Some("bbbb000000hdfxxx00".into()),
            ..Filter::default()
        };
        assert_eq!(ids(by_curp), [2, 3]);
        // Cleared: ids go on from the last one given.
        j.clear();
        assert_eq!(ids(Filter::default()), [0u64; 0]);
        j.record(with("p", "A"), || true);
        assert_eq!(ids(Filter::default()), [4]);
        // Restarted, as a namespace reset does: ids from 1 again.
        j.restart();
        assert_eq!(ids(Filter::default()), [0u64; 0]);
        j.record(with("p", "A"), || true);
        assert_eq!(ids(Filter::default()), [1]);
    }

    /// The entries' paths, oldest first.
    fn paths(j: &Journal) -> Vec<String> {
        let all = j.query(&Filter::default());
        all.iter().map(|e| e.path().to_string()).collect()
    }

    #[test]
    fn every_namespace_s_journals_together_are_bounded_too() {
        // Entries of about 1 KB; room for 10 of them in all, 3 each
        // whatever the others hold.
        let size = entry("/0", &[b'x'; 1_000]).held();
        let ledger = Ledger::new(10 * size, 3 * size, 1);
        let full = Journal::new(100, ledger.share());
        for i in 0..10 {
            full.record(entry(&format!("/{i}"), &[b'x'; 1_000]), || true);
        }
        assert_eq!(paths(&full).len(), 10, "the ledger's room, all of it");
        let other = Journal::new(100, ledger.share());
        for i in 0..5 {
            other.record(entry(&format!("/{i}"), &[b'x'; 1_000]), || true);
        }
        assert_eq!(paths(&other), ["/2", "/3", "/4"], "its floor, the newest");
        // One entry larger than the floor is kept alone, the newest.
        other.record(entry("/big", &[b'x'; 16_000]), || true);
        assert_eq!(paths(&other), ["/big"]);
        // The full one, past its floor, lets its own oldest go as well.
        full.record(entry("/x", &[b'x'; 1_000]), || true);
        assert_eq!(paths(&full).len(), 10);
        assert_eq!(paths(&full)[0], "/1");
        // Cleared, a journal leaves its room to the others.
        full.clear();
        for i in 0..5 {
            other.record(entry(&format!("/{i}"), &[b'x'; 1_000]), || true);
        }
        // Five more fit, but not beside /big (more than the whole ledger).
        assert_eq!(paths(&other), ["/0", "/1", "/2", "/3", "/4"]);
        drop(other);
        full.restart();
        assert_eq!(ledger.taken(), 0);
    }

    #[test]
    fn a_journal_whose_entries_shrink_leaves_the_room_to_the_others() {
        let ledger = Ledger::new(2 << 20, 64 << 10, 64 << 10);
        let j = Journal::new(50, ledger.share());
        for i in 0..50 {
            j.record(entry(&format!("/{i}"), &[b'x'; 16_000]), || true);
        }
        assert!(ledger.taken() > 50 * 16_000);
        // Pushed out at its own bound by requests of no body.
        for i in 0..50 {
            j.record(entry(&format!("/{i}"), b""), || true);
        }
        let held = j.inner.lock().unwrap().held;
        assert!(held < 10_000, "{held}");
        assert_eq!(ledger.taken(), 128 << 10, "its chunk and one more");
    }

    #[test]
    fn an_extension_method_s_name_is_counted() {
        let long = hyper::Method::from_bytes("M".repeat(2_048).as_bytes()).unwrap();
        let headers = HeaderMap::new();
        let get = Entry::new(record("/", None, &headers, b""));
        let odd = Entry::new(Record {
            method: &long,
            ..record("/", None, &headers, b"")
        });
        assert_eq!(odd.held() - get.held(), 2_048 - "POST".len());
    }

    /// Random records, clears, restarts and journals dropped: what the
    /// ledger counts is what the journals took, each journal's count is
    /// what its entries hold, and no journal holds more than it took
    /// (but its newest entry).
    #[test]
    fn the_ledger_counts_what_the_journals_hold() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let ledger = Ledger::new(40_000, 5_000, 4_096);
        let mut journals: Vec<Journal> = Vec::new();
        for step in 0..3_000 {
            match rng.random_range(0..100) {
                0..3 if !journals.is_empty() => {
                    journals.swap_remove(rng.random_range(0..journals.len()));
                }
                3..6 if !journals.is_empty() => journals[0].clear(),
                6..8 if !journals.is_empty() => journals[0].restart(),
                _ if journals.len() < 4 => journals.push(Journal::new(50, ledger.share())),
                _ => {
                    let j = &journals[rng.random_range(0..journals.len())];
                    let body = vec![b'x'; rng.random_range(0..3_000)];
                    j.record(entry(&format!("/{step}"), &body), || true);
                }
            }
            let mut taken = 0;
            for j in &journals {
                let inner = j.inner.lock().unwrap();
                let held: usize = inner.entries.iter().map(Entry::held).sum();
                assert_eq!(inner.held, held);
                let newest = inner.entries.back().map_or(0, Entry::held);
                assert!(held <= inner.share.taken().max(newest), "step {step}");
                assert!(inner.entries.len() <= 50);
                taken += inner.share.taken();
            }
            assert_eq!(ledger.taken(), taken, "step {step}");
            assert!(taken <= 40_000 + 4 * (5_000 + 4_096), "step {step}");
        }
        drop(journals);
        assert_eq!(ledger.taken(), 0);
    }

    #[test]
    fn a_journal_keeps_up_to_its_bound_and_one_of_none_keeps_none() {
        let j = journal(0);
        j.record(entry("/1", b""), || true);
        assert!(j.query(&Filter::default()).is_empty());
        let j = journal(2);
        j.record(entry("/1", b""), || true);
        j.record(entry("/2", b""), || true);
        assert_eq!(j.query(&Filter::default()).len(), 2);
    }
}
