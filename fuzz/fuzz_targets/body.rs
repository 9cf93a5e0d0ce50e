//! The request body parsers (JSON with its forgiving retry, urlencoded,
//! multipart) and the owned request built from any content type and query.
//!
//! Input: the content type on the first line, the query string on the
//! second, the body after it, so that the seeds are the documents' requests.
#![no_main]

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Method, Uri};
use libfuzzer_sys::fuzz_target;
use mxid_sandbox::request::{self, Request};

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    let (content_type, rest) = split_line(data);
    let (query, body) = split_line(rest);

    let _ = request::parse_json(body);
    let _ = request::parse_urlencoded(body);
    let _ = request::parse_urlencoded(query);
    let ct = String::from_utf8_lossy(content_type);
    let boundary = ct.split("boundary=").nth(1).unwrap_or("b");
    let _ = request::parse_multipart(body, boundary.trim_matches('"'));

    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    let uri: Uri = format!("/api/curp/bycurp?{}", String::from_utf8_lossy(query))
        .parse()
        .unwrap_or_else(|_| Uri::from_static("/api/curp/bycurp"));
    let req = Request::new(Method::POST, &uri, headers, Bytes::copy_from_slice(body));
    let _ = req.field("curp");
    let _ = req.field_ignore_case("CURP").text();
    let _ = req.query_ignore_case("testCase");
});
