//! Request bodies other than plain JSON (JSON with the documents' flaws,
//! urlencoded, multipart, compressed, chunked, bodies on GET), on every
//! provider endpoint that takes one.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::async_verification::{create, RFC};
use crate::common::*;
use serde_json::json;

const EPN: &str = "PXNE660720HMCXTN06";

/// One body-taking endpoint: its path, credential headers, the field that
/// carries the CURP and the other fields a good request needs.
struct Ep {
    name: &'static str,
    path: &'static str,
    creds: &'static [(&'static str, &'static str)],
    field: &'static str,
    extra: &'static [(&'static str, &'static str)],
}

const EPS: &[Ep] = &[
    Ep {
        name: "curpv5",
        path: "/api/curp/bycurp",
        creds: &[("apikey", "k")],
        field: "curp",
        extra: &[],
    },
    Ep {
        name: "nss",
        path: "/api/v1/imss/nss",
        creds: &[("x-api-key", "k")],
        field: "curp",
        extra: &[],
    },
    Ep {
        name: "accuauth",
        path: "/verify/id_check",
        creds: &[("X-DF-API-ID", "k"), ("X-DF-API-SECRET", "s")],
        field: "id_number",
        extra: &[],
    },
    Ep {
        name: "validacurp",
        path: "/curp/getData",
        creds: &[("authorization", "Bearer t")],
        field: "curp",
        extra: &[],
    },
    Ep {
        name: "async",
        path: "/api/AsyncVerication/RfcByCurp",
        creds: &[("apikey", "k")],
        field: "curp",
        extra: &[("state", "15")],
    },
    Ep {
        name: "async",
        path: "/api/AsyncVerication/NssByCurp",
        creds: &[("apikey", "k")],
        field: "curp",
        extra: &[],
    },
];

static NS: AtomicU32 = AtomicU32::new(0);

/// POSTs `body` to `ep` in a namespace of its own (no daily counter shared
/// between probes).
async fn probe(
    sb: &Sandbox,
    ep: &Ep,
    ct: &str,
    more: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> Resp {
    let ns = format!("bodies{}", NS.fetch_add(1, Ordering::Relaxed));
    let mut h: Vec<(&str, &str)> = ep.creds.to_vec();
    h.push(("x-sandbox-namespace", &ns));
    h.push(("content-type", ct));
    h.extend_from_slice(more);
    sb.send("POST", ep.path, &h, body.into()).await
}

fn fields(ep: &Ep) -> Vec<(&'static str, &'static str)> {
    let mut f = vec![(ep.field, EPN)];
    f.extend_from_slice(ep.extra);
    f
}

fn multipart(boundary: &str, parts: &[(&str, &str)], nl: &str) -> String {
    let mut s = String::new();
    for (k, v) in parts {
        s.push_str(&format!(
            "--{boundary}{nl}Content-Disposition: form-data; name=\"{k}\"{nl}{nl}{v}{nl}"
        ));
    }
    s.push_str(&format!("--{boundary}--{nl}"));
    s
}

/// The answer is the endpoint's success for the CURP sent.
fn assert_success(ep: &Ep, case: &str, r: &Resp) {
    assert_eq!(
        (r.status, r.scenario()),
        (200, "success"),
        "{} {} {case}: {}",
        ep.name,
        ep.path,
        r.text()
    );
}

/// The provider's own 400 for a body it cannot read (the engine's
/// `malformed_body`, in the provider's error shape), saying `why`.
fn assert_malformed(ep: &Ep, case: &str, r: &Resp, why: &str) {
    let ctx = format!("{} {} {case}: {}", ep.name, ep.path, r.text());
    assert_eq!((r.status, r.scenario()), (400, "malformed_body"), "{ctx}");
    let b = r.json();
    let message = match ep.name {
        "curpv5" => b["message"].as_str(),
        "nss" => b["body"].as_str(),
        "accuauth" => b["reason"].as_str(),
        "validacurp" => b["msn"].as_str(),
        "async" => b["message"].as_str(),
        other => unreachable!("{other}: add where its errors carry the message"),
    };
    assert!(message.is_some_and(|m| m.contains(why)), "{ctx}");
}

// ---- passing: what multipart and urlencoded bodies every provider reads ----

/// README "accuauth": "`POST /verify/id_check` with `id_number` as JSON,
/// `application/x-www-form-urlencoded` or `multipart/form-data`"; seeds
/// README: curpv5 and async "Accept JSON and form bodies". The shapes real
/// clients produce: a quoted boundary with a space, one of RFC 2046's 70
/// characters, bare line feeds, a preamble and an epilogue, the value sent
/// as a file upload with its own Content-Type, parameters in other cases.
#[tokio::test]
async fn multipart_shapes_real_clients_send_are_read_on_every_endpoint() {
    let sb = Sandbox::start().await;
    let long = "a".repeat(70);
    crate::common::assert_every_provider("EPS", EPS.iter().map(|e| e.name));
    for ep in EPS {
        let parts = fields(ep);
        let cases: Vec<(&str, String, String)> = vec![
            (
                "quoted boundary with a space",
                "multipart/form-data; boundary=\"ab cd\"".into(),
                multipart("ab cd", &parts, "\r\n"),
            ),
            (
                "70-character boundary, charset before it",
                format!("multipart/form-data; charset=utf-8; boundary={long}"),
                multipart(&long, &parts, "\r\n"),
            ),
            (
                "bare LF",
                "Multipart/Form-Data; BOUNDARY=XX".into(),
                multipart("XX", &parts, "\n"),
            ),
            (
                "preamble and epilogue",
                "multipart/form-data; boundary=XX".into(),
                format!(
                    "This is the preamble.\r\n{}This is the epilogue.\r\n",
                    multipart("XX", &parts, "\r\n")
                ),
            ),
            ("file upload", "multipart/form-data; boundary=XX".into(), {
                let mut s = String::new();
                for (k, v) in &parts {
                    s.push_str(&format!(
                            "--XX\r\ncontent-type: text/plain; charset=ISO-8859-1\r\nCONTENT-DISPOSITION: FORM-DATA; NAME={k}; filename=\"curp.txt\"\r\n\r\n{v}\n\r\n"
                        ));
                }
                s + "--XX--\r\n"
            }),
        ];
        for (case, ct, body) in cases {
            let r = probe(&sb, ep, &ct, &[], body).await;
            assert_success(ep, case, &r);
        }
    }
}

/// README "Decisions", "Body keys in any case…": "In a form body the first
/// field of the name wins, as both read a form." The same on every
/// provider, urlencoded and multipart alike.
#[tokio::test]
async fn a_repeated_form_field_is_read_where_it_first_stands() {
    let sb = Sandbox::start().await;
    for ep in EPS {
        let extra: String = ep.extra.iter().map(|(k, v)| format!("&{k}={v}")).collect();
        let f = ep.field;
        let r = probe(
            &sb,
            ep,
            "application/x-www-form-urlencoded",
            &[],
            format!("{f}={EPN}&{f}=&{f}=XAXA{extra}"),
        )
        .await;
        assert_success(ep, "first of three", &r);
        let mut parts = vec![(f, EPN), (f, "")];
        parts.extend_from_slice(ep.extra);
        let r = probe(
            &sb,
            ep,
            "multipart/form-data; boundary=B",
            &[],
            multipart("B", &parts, "\r\n"),
        )
        .await;
        assert_success(ep, "multipart, first of two", &r);
    }
}

/// SPEC §8: "Bad input never crashes it and never gets a bare 500:
/// malformed JSON, wrong content type, … all get a clear JSON error in the
/// provider's own error shape"; README "A compressed request body is
/// refused for what it is" (a body sent with "a `Content-Encoding` other
/// than `identity`"; RFC 9110 §5.3: a field sent on several lines is one
/// list, so `identity` then `gzip` is a gzip body). Every endpoint answers
/// these with its own 400.
#[tokio::test]
async fn unreadable_bodies_get_each_providers_own_400() {
    let sb = Sandbox::start().await;
    for ep in EPS {
        let parts = fields(ep);
        let form: String = parts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let cases: Vec<(&str, &str, Headers, Vec<u8>, &str)> = vec![
            (
                "no boundary",
                "multipart/form-data",
                vec![],
                multipart("XX", &parts, "\r\n").into_bytes(),
                "without a boundary",
            ),
            (
                "boundary not in the body",
                "multipart/form-data; boundary=YY",
                vec![],
                multipart("XX", &parts, "\r\n").into_bytes(),
                "without its boundary",
            ),
            (
                "10,000 levels of [",
                "application/json",
                vec![],
                "[".repeat(10_000).into_bytes(),
                "not valid JSON",
            ),
            (
                "gzip",
                "application/json",
                vec![("content-encoding", "gzip")],
                vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xab, 0x56, 0x4a],
                "content-encoding 'gzip'",
            ),
            (
                "br on a form",
                "application/x-www-form-urlencoded",
                vec![("content-encoding", "br")],
                form.clone().into_bytes(),
                "content-encoding 'br'",
            ),
            (
                "gzip on a second content-encoding line",
                "application/x-www-form-urlencoded",
                vec![
                    ("content-encoding", "identity"),
                    ("content-encoding", "gzip"),
                ],
                form.clone().into_bytes(),
                "content-encoding 'gzip'",
            ),
            (
                "JSON encoded twice",
                "application/json",
                vec![],
                serde_json::to_vec(&json!(serde_json::to_string(&json!({ep.field: EPN})).unwrap())).unwrap(),
                "the body is a JSON string, not the JSON object the endpoint reads (was the JSON encoded twice?)",
            ),
            (
                "an array of the object",
                "application/json",
                vec![],
                serde_json::to_vec(&json!([{ep.field: EPN}])).unwrap(),
                "the body is a JSON array, not the JSON object the endpoint reads",
            ),
            (
                "null",
                "application/json",
                vec![],
                b"null".to_vec(),
                "the body is a JSON null, not the JSON object the endpoint reads",
            ),
            (
                // JSON, so the coding header is not looked at.
                "an array labelled gzip",
                "application/json",
                vec![("content-encoding", "gzip")],
                b"[1]".to_vec(),
                "the body is a JSON array, not the JSON object the endpoint reads",
            ),
            (
                "a form as text/plain",
                "text/plain; charset=utf-8",
                vec![],
                form.into_bytes(),
                "unsupported content type 'text/plain'",
            ),
        ];
        for (case, ct, more, body, why) in cases {
            let r = probe(&sb, ep, ct, &more, body).await;
            assert_malformed(ep, case, &r, why);
        }
    }
}

/// Thousands of tiny parts (under the 1 MB body limit) are read, quickly,
/// and the field after them is found.
#[tokio::test]
async fn fifteen_thousand_tiny_parts_are_read() {
    let sb = Sandbox::start().await;
    let ep = &EPS[2];
    let mut body = String::new();
    for i in 0..15_000 {
        body.push_str(&format!(
            "--B\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nx\r\n"
        ));
    }
    body.push_str(&multipart("B", &[("id_number", EPN)], "\r\n"));
    assert!(body.len() < 1_048_576);
    let started = std::time::Instant::now();
    let r = probe(&sb, ep, "multipart/form-data; boundary=B", &[], body).await;
    assert_success(ep, "15,000 parts", &r);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

/// A chunked body with trailers is read whole; a sandbox header sent as a
/// trailer is not a header (the scenario stays the realistic one).
#[tokio::test]
async fn a_chunked_body_with_trailers_is_read_and_its_trailers_are_not_headers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sb = Sandbox::start().await;
    let body = format!("{{\"curp\":\"{EPN}\"}}");
    let (a, b) = body.split_at(7);
    let req = format!(
        "POST /api/curp/bycurp HTTP/1.1\r\nHost: x\r\napikey: k\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Sandbox-Scenario\r\nConnection: close\r\n\r\n\
         {:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\nX-Checksum: abc\r\nX-Sandbox-Scenario: not_found\r\n\r\n",
        a.len(),
        b.len()
    );
    let mut s = tokio::net::TcpStream::connect(sb.addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("answered and closed")
        .unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    assert!(out.contains("x-sandbox-scenario: success"), "{out}");
    assert!(out.contains(&format!("\"curp\":\"{EPN}\"")), "{out}");
}

// ---- fixed: the status route's GET body, a quoted filename ----

/// README "Decisions": "**`HEAD` is served wherever `GET` is** (the status,
/// test-case and history routes, the admin API): the same answer as a `GET`
/// (whose body, if one is sent, is not read)". README "async" route table:
/// "`GET /api/AsyncVerication/verificationStatus?verificationId=` (POST
/// too)", and "`unknown_verification` (404 INENL016: unknown, empty or
/// missing id". Seed 004 names `verificationId` a Query parameter.
///
/// A GET (or HEAD) without the query but with a body `{"verificationId":
/// ID}` (JSON or urlencoded) is a GET without an id: 404, whether or not
/// its body would parse. A POST may carry the id in its body.
#[tokio::test]
async fn a_get_status_request_does_not_read_the_id_from_its_body() {
    let sb = Sandbox::start().await;
    let id = create(&sb, RFC, "k", json!({"curp": EPN, "state": 15})).await;
    let path = "/api/AsyncVerication/verificationStatus";
    // The control: with the id where the document puts it, it is found.
    let r = sb
        .get(&format!("{path}?verificationId={id}"), &[("apikey", "k")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    for (method, ct, body) in [
        (
            "GET",
            "application/json",
            json!({"verificationId": id}).to_string(),
        ),
        (
            "GET",
            "application/x-www-form-urlencoded",
            format!("verificationId={id}"),
        ),
        (
            "HEAD",
            "application/json",
            json!({"verificationId": id}).to_string(),
        ),
    ] {
        let r = sb
            .send(method, path, &[("apikey", "k"), ("content-type", ct)], body)
            .await;
        assert_eq!(
            (r.status, r.scenario()),
            (404, "unknown_verification"),
            "{method} with the id only in a {ct} body: the body of a GET is not read"
        );
    }
    let r = sb
        .send(
            "POST",
            path,
            &[("apikey", "k"), ("content-type", "application/json")],
            json!({"verificationId": id}).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "a POST's body is read: {}", r.text());
}

/// README "accuauth": "`POST /verify/id_check` with `id_number` as JSON,
/// `application/x-www-form-urlencoded` or `multipart/form-data`" (seeds
/// README: "every public AccuAuth client posts form data"); the same for
/// curpv5 ("Accept JSON and form bodies").
///
/// A valid RFC 7578 part whose Content-Disposition gives the `filename`
/// before the `name`, with a `;` and `name=` inside the quoted file name
/// (`filename="curp;name=scan.txt"; name="id_number"`), is the field
/// `id_number`.
#[tokio::test]
async fn multipart_name_is_not_read_from_inside_a_quoted_filename() {
    let sb = Sandbox::start().await;
    for ep in [&EPS[0], &EPS[2]] {
        let body = format!(
            "--B\r\nContent-Disposition: form-data; filename=\"curp;name=scan.txt\"; name=\"{}\"\r\n\
             Content-Type: text/plain\r\n\r\n{EPN}\r\n--B--\r\n",
            ep.field
        );
        let r = probe(&sb, ep, "multipart/form-data; boundary=B", &[], body).await;
        assert_success(ep, "filename with ';' before name", &r);
    }
}

// ---- passing: multipart and urlencoded as their standards read them ----

/// RFC 2046 §5.1.1: a delimiter is the boundary's text at the start of a
/// line (after the body's own line break, CRLF here), followed by padding
/// and the line's end, or by `--`. The same text inside a line, after a
/// bare LF in a CRLF body, or followed by other text is part of the value:
/// here a `comment` that quotes a part naming the CURP field "NOPE" before
/// the real one, which a reader that cut it would read first.
#[tokio::test]
async fn the_boundarys_text_is_a_delimiter_only_as_a_whole_line() {
    let sb = Sandbox::start().await;
    let quoted_part = |ep: &Ep, before: &str, after: &str| {
        format!(
            "{before}--B{after}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\nNOPE",
            ep.field
        )
    };
    for ep in EPS {
        for (case, comment) in [
            ("inside a line", quoted_part(ep, "see ", "")),
            ("after a bare LF", quoted_part(ep, "line one\n", "")),
            ("with text after it", quoted_part(ep, "", "x")),
        ] {
            let mut parts = vec![("comment", comment.as_str())];
            parts.extend(fields(ep));
            let body = multipart("B", &parts, "\r\n");
            let r = probe(&sb, ep, "multipart/form-data; boundary=B", &[], body).await;
            assert_success(ep, case, &r);
        }
    }
}

/// accuauth's `id_number` whose line goes on past the boundary's text
/// (`…06--B`) is all of it, up to the next delimiter line: no CURP, so
/// result code 2, "ID number format error" (seeds 002), not a check of the
/// CURP the value begins with.
#[tokio::test]
async fn a_value_is_not_cut_at_the_boundarys_text_inside_its_line() {
    let sb = Sandbox::start().await;
    let ep = &EPS[2];
    assert_eq!(ep.name, "accuauth");
    let body = format!(
        "--B\r\nContent-Disposition: form-data; name=\"id_number\"\r\n\r\n\
         {EPN}--B\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--B--\r\n"
    );
    let r = probe(&sb, ep, "multipart/form-data; boundary=B", &[], body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(
        (&b["result_code"], &b["result_message"]),
        (&json!("2"), &json!("ID number format error")),
        "{b}"
    );
}

/// Part headers as RFC 2045 and Go's `mime` read them: a preamble,
/// padding after the boundary, header names and parameters in any case,
/// a quoted filename holding `; name=` and escaped quotes before the name,
/// a Content-Disposition folded onto a second line, the boundary's text in
/// the epilogue; a quoted boundary with RFC 2046's special characters; a
/// value holding CRLF, `--` and the boundary's text without its dashes.
#[tokio::test]
async fn multipart_headers_and_values_are_read_as_rfc_2045_and_2046_say() {
    let sb = Sandbox::start().await;
    let ep = &EPS[0];
    let b = "a b=c?d'(e)+,f/:g";
    for (case, ct, body) in [
        (
            "parameters",
            "multipart/form-data; boundary=B".to_string(),
            format!(
                "preamble text\r\n--B \t\r\ncontent-type: text/plain\r\nCONTENT-DISPOSITION: Form-Data; \
                 filename=\"a; name=\\\"x\\\"\"; NAME=\"curp\"\r\n\r\n{EPN}\r\n--B--\r\nepilogue --B"
            ),
        ),
        (
            "a folded header",
            "multipart/form-data; boundary=B".to_string(),
            format!("--B\r\nContent-Disposition: form-data;\r\n\tname=\"curp\"\r\n\r\n{EPN}\r\n--B--"),
        ),
        (
            "a quoted boundary",
            format!("multipart/form-data; boundary=\"{b}\""),
            format!("--{b}\r\nContent-Disposition: form-data; name=curp\r\n\r\n{EPN}\r\n--{b}--"),
        ),
        (
            "a value of line breaks and dashes",
            "multipart/form-data; boundary=B".to_string(),
            format!(
                "--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\na\r\n--\r\nB\r\n-B\r\n\r\n\
                 --B\r\nContent-Disposition: form-data; name=\"curp\"\r\n\r\n{EPN}\r\n--B--"
            ),
        ),
    ] {
        let r = probe(&sb, ep, &ct, &[], body).await;
        assert_success(ep, case, &r);
        assert_eq!(r.json()["curp"], EPN, "{case}");
    }
}

/// Urlencoded as WHATWG reads it: `%36` is `6`, `+` a space, `%zz` kept,
/// empty pairs passed over, the first `curp` the one read.
#[tokio::test]
async fn urlencoded_fields_are_decoded_as_whatwg_says() {
    let sb = Sandbox::start().await;
    let ep = &EPS[0];
    let r = probe(
        &sb,
        ep,
        "application/x-www-form-urlencoded",
        &[],
        "&&x=%zz+1&curp=PXNE660720HMCXTN0%36&curp=NOPE",
    )
    .await;
    assert_success(ep, "percent escapes", &r);
    assert_eq!(r.json()["curp"], EPN);
}

/// README "Decisions", "A form is read in the charset it names": a legacy
/// client's Latin-1 form gives validacurp's calculateCURP the CURP its
/// UTF-8 form gives (MARÍA JOSÉ is JOSÉ's name to the CURP, and Ñ is
/// written X), urlencoded or multipart; a form whose bytes are not the
/// charset it names (UTF-8 when it names none), or that names another
/// charset, is the provider's 400, not another name and so another CURP.
#[tokio::test]
async fn a_form_is_read_in_the_charset_it_names() {
    let sb = Sandbox::start().await;
    let ep = &Ep {
        name: "validacurp",
        path: "/curp/calculateCURP",
        creds: &[("authorization", "Bearer t")],
        field: "names",
        extra: &[],
    };
    let rest = b"&birthday=01&birthMonth=02&yearBirth=2001&gender=M&entity=09".as_slice();
    let utf8 =
        b"names=mar%C3%ADa+jos%C3%A9&lastName=mu%C3%B1oz&secondLastName=%C3%B1%C3%BA%C3%B1ez";
    let escaped = b"names=mar%EDa+jos%E9&lastName=mu%F1oz&secondLastName=%F1%FA%F1ez";
    let raw = b"names=mar\xEDa jos\xE9&lastName=mu\xF1oz&secondLastName=\xF1\xFA\xF1ez";
    let parts = |head: &str| {
        let mut body = Vec::new();
        for field in raw.split(|b| *b == b'&') {
            let (name, value) = field.split_at(field.iter().position(|b| *b == b'=').unwrap());
            body.extend_from_slice(
                format!(
                    "--B\r\nContent-Disposition: form-data; name=\"{}\"{head}\r\n\r\n",
                    String::from_utf8_lossy(name)
                )
                .as_bytes(),
            );
            body.extend_from_slice(&value[1..]);
            body.extend_from_slice(b"\r\n");
        }
        for (k, v) in [
            ("birthday", "01"),
            ("birthMonth", "02"),
            ("yearBirth", "2001"),
            ("gender", "M"),
            ("entity", "09"),
        ] {
            body.extend_from_slice(
                format!("--B\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(b"--B--\r\n");
        body
    };
    let form = "application/x-www-form-urlencoded";
    let read: Vec<(&str, String, Vec<u8>)> = vec![
        ("UTF-8", form.into(), [utf8.as_slice(), rest].concat()),
        (
            "Latin-1 escaped",
            format!("{form}; charset=ISO-8859-1"),
            [escaped.as_slice(), rest].concat(),
        ),
        (
            "Latin-1 as bytes",
            format!("{form}; charset=windows-1252"),
            [raw.as_slice(), rest].concat(),
        ),
        (
            "multipart, each part's charset",
            "multipart/form-data; boundary=B".into(),
            parts("\r\nContent-Type: text/plain; charset=iso-8859-1"),
        ),
        (
            "multipart, the form's charset",
            "multipart/form-data; boundary=B; charset=latin1".into(),
            parts(""),
        ),
    ];
    for (case, ct, body) in read {
        let r = probe(&sb, ep, &ct, &[], body).await;
        assert_eq!(r.status, 200, "{case}: {}", r.text());
        assert_eq!(
            r.json()["response"]["curp"],
            "MUXJ010201MDFXXSA4",
            "{case}: {}",
            r.text()
        );
    }
    let not_utf8 = "the form field 'names' is not UTF-8 text: send the form in UTF-8, or name the charset it is written in (charset=ISO-8859-1)";
    let refused: Vec<(&str, String, Vec<u8>, &str)> = vec![
        (
            "Latin-1 not named",
            form.into(),
            [escaped.as_slice(), rest].concat(),
            not_utf8,
        ),
        (
            "Latin-1 bytes not named",
            form.into(),
            [raw.as_slice(), rest].concat(),
            not_utf8,
        ),
        (
            "multipart not named",
            "multipart/form-data; boundary=B".into(),
            parts(""),
            not_utf8,
        ),
        (
            "JSON is UTF-8 whatever it says",
            "application/json; charset=ISO-8859-1".into(),
            b"{\"names\":\"mar\xEDa jos\xE9\",\"lastName\":\"mu\xF1oz\",\"birthday\":\"01\",\"birthMonth\":\"02\",\"yearBirth\":\"2001\",\"gender\":\"M\",\"entity\":\"09\"}".to_vec(),
            "the body is not valid JSON: byte 0xED at offset 13 is not UTF-8 (Latin-1 text?); JSON is sent in UTF-8 whatever its content type says (RFC 8259)",
        ),
        (
            "another charset",
            format!("{form}; charset=Shift_JIS"),
            [utf8.as_slice(), rest].concat(),
            "unsupported charset 'Shift_JIS': send the form in UTF-8 or ISO-8859-1",
        ),
    ];
    for (case, ct, body, why) in refused {
        let r = probe(&sb, ep, &ct, &[], body).await;
        assert_malformed(ep, case, &r, why);
    }
    // Sent as a file, a name that is not text in its charset is no field:
    // the name is missing, not another.
    let file = parts("; filename=\"name.txt\"");
    let r = probe(&sb, ep, "multipart/form-data; boundary=B", &[], file).await;
    assert_eq!(
        (r.status, r.scenario()),
        (400, "missing_names"),
        "{}",
        r.text()
    );
    // With its charset, a file's text is read.
    let file = parts("; filename=\"name.txt\"\r\nContent-Type: text/plain; charset=windows-1252");
    let r = probe(&sb, ep, "multipart/form-data; boundary=B", &[], file).await;
    assert_eq!(
        r.json()["response"]["curp"],
        "MUXJ010201MDFXXSA4",
        "{}",
        r.text()
    );
}

/// README "Decisions", "JSON by any of its names": a structured `+json`
/// type (RFC 6839: `application/problem+json`, a vendor's
/// `application/vnd.…+json`) is JSON on every endpoint; a type that merely
/// starts like JSON is the provider's 400 naming it.
#[tokio::test]
async fn a_structured_json_type_is_read_as_json_on_every_endpoint() {
    let sb = Sandbox::start().await;
    for ep in EPS {
        let body = serde_json::Value::Object(
            fields(ep)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect(),
        )
        .to_string();
        for ct in [
            "application/problem+json",
            "Application/VND.API+JSON; charset=utf-8",
        ] {
            let r = probe(&sb, ep, ct, &[], body.clone()).await;
            assert_success(ep, ct, &r);
        }
        let r = probe(&sb, ep, "application/jsonx", &[], body).await;
        assert_malformed(ep, "application/jsonx", &r, "application/jsonx");
    }
}

/// Both of the documents' flaws at once, with white space before the
/// trailing comma and a string that looks like them: read as the README
/// says; a doubled comma, which is neither flaw, still the provider's 400.
#[tokio::test]
async fn json_flaws_with_white_space_and_lookalike_strings() {
    let sb = Sandbox::start().await;
    let ep = &EPS[0];
    let body = format!("{{\"x\": [01 ,\t\"01,]\" ,\r\n], \"curp\": \"{EPN}\" \n,\n}}");
    let r = probe(&sb, ep, "application/json", &[], body).await;
    assert_success(ep, "flaws", &r);
    assert_eq!(r.json()["curp"], EPN);
    let r = probe(
        &sb,
        ep,
        "application/json",
        &[],
        format!("{{\"curp\": \"{EPN}\",,}}"),
    )
    .await;
    assert_malformed(ep, "a doubled comma", &r, "not valid JSON");
}

/// README, Decisions: "Bodies are parsed strictly; when that fails, one
/// more try forgives exactly those two flaws [a trailing comma, a leading
/// zero] … Anything else that is not JSON gets the provider's 400." The
/// second try reads strings as JSON does: an escaped quote does not end
/// one, and a body cut after a backslash, or after a zero or the zeros of
/// a signed number, is no JSON (a 400, and the sandbox goes on answering).
#[tokio::test]
async fn the_forgiving_parser_reads_escapes_and_a_backslash_at_the_end() {
    let sb = Sandbox::start().await;
    let curp = "PXNE660720HMCXTN06";
    let send = |body: String| {
        let sb = &sb;
        async move {
            sb.send(
                "POST",
                "/api/curp/bycurp",
                &[("apikey", "k"), ("content-type", "application/json")],
                body,
            )
            .await
        }
    };
    // A trailing comma after a string holding an escaped quote and an
    // escaped backslash: forgiven, answered as the strict body is.
    let strict = format!(r#"{{"curp": "{curp}", "note": "say \"hi\" \\"}}"#);
    let r = send(strict.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let forgiven = format!(r#"{{"curp": "{curp}", "note": "say \"hi\" \\",}}"#);
    let f = send(forgiven).await;
    assert_eq!(f.status, 200, "{}", f.text());
    assert_eq!(f.json()["curp"], r.json()["curp"]);
    // An escaped quote keeps what follows it in the string: its `, }` is
    // text, not a trailing comma.
    let tricky = format!(r#"{{"curp": "{curp}", "note": "a\", }}",}}"#);
    let t = send(tricky.clone()).await;
    assert_eq!(t.status, 200, "{tricky}: {}", t.text());
    // A body cut after a backslash inside a string is not JSON: the
    // provider's 400, and the sandbox goes on answering.
    for cut in [
        format!(r#"{{"curp": "{curp}", "note": "a\"#),
        format!(r#"{{"curp": "{curp}",, "note": "\"#),
        // A zero, or the zeros of a signed number, that end the body.
        format!(r#"{{"curp": "{curp}", "n": 0"#),
        "0".to_string(),
        "01".to_string(),
        "[-00".to_string(),
        format!(r#"{{"curp": "{curp}", "n": -00"#),
    ] {
        let r = send(cut.clone()).await;
        assert_eq!(r.status, 400, "{cut}: {}", r.text());
    }
    assert_eq!(send(strict).await.status, 200);
}
