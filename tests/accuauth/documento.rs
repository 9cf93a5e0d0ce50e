//! accuauth's `documento` for many people (seed 002: "Base64 encoded pdf
//! document"; README: a real one-page PDF 1.4, Helvetica, WinAnsi text,
//! stating the CURP data).

use base64::Engine as _;
use mxid_sandbox::curp::random_curp;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

use super::{find, PATH};
use crate::common::{self, Sandbox};
use crate::curp_rules::domain;

const PERSONAS: [&str; 16] = [
    "PXNE660720HMCXTN06",
    "ABCD570805HYNHLC52",
    "XAXX010101XAXAXA00",
    "XAXA010101XXXXXX01",
    "NAZA650704MTLVCL05",
    "MEGR380412MJCDRS07",
    "TALE710903HZSPRS06",
    "QUBF850127HTSRLR07",
    "SOCH790615MPLTVR04",
    "AOCJ121008MNLRNMA3",
    "VIOR690221HSLLCG00",
    "HEGJ900515HDFRRN01",
    "HEGJ900515HDFRRN19",
    "EIVC881130MVZSLR02",
    "WOXS030303MNENXFA6",
    "GAPA950819HGTLRR07",
];

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// WinAnsiEncoding (ISO 32000-1 Annex D.2) byte → char.
fn winansi(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{FFFD}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{FFFD}', 'Ž',
        '\u{FFFD}', '\u{FFFD}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ',
        '\u{FFFD}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => char::from(b),
    }
}

/// What a WinAnsi page can show of `text`: the characters WinAnsiEncoding
/// lacks (CJK, say) as `?`, as the sandbox writes them.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if (0x20..=0xFFu8).any(|b| b != 0x7F && winansi(b) == c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Decodes the literal strings `(...)` of a content stream (ISO 32000-1
/// §7.3.4.2), in order.
fn literal_strings(content: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < content.len() {
        if content[i] != b'(' {
            i += 1;
            continue;
        }
        i += 1;
        let mut depth = 1;
        let mut s = Vec::new();
        while i < content.len() {
            let c = content[i];
            match c {
                b'\\' => {
                    i += 1;
                    let e = content[i];
                    match e {
                        b'n' => s.push(b'\n'),
                        b'r' => s.push(b'\r'),
                        b't' => s.push(b'\t'),
                        b'b' => s.push(8),
                        b'f' => s.push(12),
                        b'0'..=b'7' => {
                            let mut v = 0u32;
                            let mut k = 0;
                            while k < 3 && i < content.len() && (b'0'..=b'7').contains(&content[i])
                            {
                                v = v * 8 + u32::from(content[i] - b'0');
                                i += 1;
                                k += 1;
                            }
                            s.push(v as u8);
                            continue;
                        }
                        b'\n' => {}
                        other => s.push(other),
                    }
                }
                b'(' => {
                    depth += 1;
                    s.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                    s.push(c);
                }
                _ => s.push(c),
            }
            i += 1;
        }
        out.push(s);
    }
    out
}

/// Checks the file's structure (ISO 32000-1 §7.5) and returns the page's
/// text lines, decoded through WinAnsiEncoding.
fn check_pdf(pdf: &[u8], what: &str) -> Vec<String> {
    // §7.5.2 header.
    assert!(pdf.starts_with(b"%PDF-1."), "{what}: header");
    assert!(matches!(pdf[7], b'0'..=b'7'), "{what}: version");
    assert!(matches!(pdf[8], b'\n' | b'\r'), "{what}: header EOL");
    // §7.5.5 trailer: startxref, offset, %%EOF.
    let tail = std::str::from_utf8(&pdf[pdf.len() - 40..]).unwrap_or("");
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"), "{what}: %%EOF");
    let sx = rfind(pdf, b"startxref").unwrap_or_else(|| panic!("{what}: startxref {tail}"));
    let num: Vec<u8> = pdf[sx + 9..]
        .iter()
        .skip_while(|c| c.is_ascii_whitespace())
        .take_while(|c| c.is_ascii_digit())
        .copied()
        .collect();
    let xref: usize = std::str::from_utf8(&num).unwrap().parse().unwrap();
    assert!(pdf[xref..].starts_with(b"xref"), "{what}: startxref → xref");
    // §7.5.4 xref: subsection "0 N", entries of 20 bytes.
    let mut at = xref + 4;
    assert!(matches!(pdf[at], b'\n' | b'\r'));
    while pdf[at].is_ascii_whitespace() {
        at += 1;
    }
    let line_end = at
        + pdf[at..]
            .iter()
            .position(|c| *c == b'\n' || *c == b'\r')
            .unwrap();
    let head = std::str::from_utf8(&pdf[at..line_end]).unwrap();
    let mut parts = head.split(' ');
    assert_eq!(parts.next(), Some("0"), "{what}: subsection {head}");
    let count: usize = parts.next().unwrap().parse().unwrap();
    at = line_end;
    while matches!(pdf[at], b'\n' | b'\r') {
        at += 1;
    }
    let entry_re = |e: &[u8]| {
        e.len() == 20
            && e[..10].iter().all(u8::is_ascii_digit)
            && e[10] == b' '
            && e[11..16].iter().all(u8::is_ascii_digit)
            && e[16] == b' '
            && matches!(e[17], b'n' | b'f')
            && matches!(&e[18..20], b" \n" | b" \r" | b"\r\n")
    };
    let mut offsets = vec![0usize; count];
    for n in 0..count {
        let e = &pdf[at + n * 20..at + n * 20 + 20];
        assert!(
            entry_re(e),
            "{what}: xref entry {n}: {:?}",
            String::from_utf8_lossy(e)
        );
        if n == 0 {
            assert_eq!(&e[..18], b"0000000000 65535 f", "{what}");
            continue;
        }
        assert_eq!(e[17], b'n', "{what}: entry {n}");
        let off: usize = std::str::from_utf8(&e[..10]).unwrap().parse().unwrap();
        let want = format!("{n} 0 obj");
        assert!(
            pdf[off..].starts_with(want.as_bytes()),
            "{what}: object {n} at {off}"
        );
        offsets[n] = off;
    }
    let trailer_at = at + count * 20;
    assert!(
        pdf[trailer_at..].starts_with(b"trailer"),
        "{what}: trailer after xref"
    );
    let trailer = &pdf[trailer_at..sx];
    let tr = String::from_utf8_lossy(trailer);
    assert!(tr.contains(&format!("/Size {count}")), "{what}: {tr}");
    assert!(tr.contains("/Root 1 0 R"), "{what}: {tr}");
    // Every `N 0 obj` of the file is in the table, once.
    let mut objs = 0;
    for (i, w) in pdf.windows(5).enumerate() {
        if w == b" obj\n" || w == b" obj\r" || w == b" obj " {
            objs += 1;
            let _ = i;
        }
    }
    assert_eq!(objs, count - 1, "{what}: objects in file vs xref");
    // §7.3.8 stream /Length.
    let obj_of = |n: usize| -> &[u8] {
        let s = offsets[n];
        let e = s + find(&pdf[s..], b"endobj").unwrap();
        &pdf[s..e]
    };
    let catalog = String::from_utf8_lossy(obj_of(1)).to_string();
    assert!(catalog.contains("/Type /Catalog"), "{what}: {catalog}");
    let mut content = None;
    for n in 1..count {
        let o = obj_of(n);
        if let Some(l) = find(o, b"/Length ") {
            let digits: Vec<u8> = o[l + 8..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .copied()
                .collect();
            let len: usize = std::str::from_utf8(&digits).unwrap().parse().unwrap();
            let s = find(o, b"stream").unwrap() + 6;
            let s = if o[s] == b'\r' { s + 2 } else { s + 1 };
            let data = &o[s..s + len];
            let rest = &o[s + len..];
            let rest_trim: &[u8] = match rest {
                [b'\r', b'\n', r @ ..] => r,
                [b'\n', r @ ..] | [b'\r', r @ ..] => r,
                r => r,
            };
            assert!(
                rest_trim.starts_with(b"endstream"),
                "{what}: /Length {len} of object {n}"
            );
            content = Some(data.to_vec());
        }
    }
    let content = content.unwrap_or_else(|| panic!("{what}: no content stream"));
    let font = String::from_utf8_lossy(pdf).to_string();
    assert!(font.contains("/Encoding /WinAnsiEncoding"), "{what}");
    assert!(font.contains("/Count 1"), "{what}");
    literal_strings(&content)
        .into_iter()
        .map(|s| s.into_iter().map(winansi).collect())
        .collect()
}

async fn ask(sb: &Sandbox, id: &str, scenario: Option<&str>, api: &str) -> Value {
    let mut h = vec![("X-DF-API-ID", api), ("X-DF-API-SECRET", "s")];
    if let Some(s) = scenario {
        h.push(("X-Sandbox-Scenario", s));
    }
    let r = sb.post(PATH, &h, json!({ "id_number": id })).await;
    assert_eq!(r.status, 200, "{id}: {}", r.text());
    r.json()
}

fn pdf_of(b: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(b["result"]["documento"].as_str().unwrap())
        .expect("documento is base64")
}

/// The page states what the JSON answer states.
fn check_agrees(b: &Value) {
    let r = &b["result"];
    let curp = r["curp"].as_str().unwrap();
    let pdf = pdf_of(b);
    let lines = check_pdf(&pdf, curp);
    let s = |k: &str| {
        r[k].as_str()
            .unwrap_or_else(|| panic!("{k}: {r}"))
            .to_string()
    };
    let d = &r["datosDocProbatorio"];
    let want = [
        format!("Clave: {}", s("curp")),
        format!("Nombre(s): {}", s("nombre")),
        format!("Primer apellido: {}", s("apellidoPaterno")),
        format!("Segundo apellido: {}", s("apellidoMaterno")),
        format!("Sexo: {}", s("sexo")),
        format!("Fecha de nacimiento: {}", s("fechaNacimiento")),
        format!("País de nacimiento: {}", s("paisNacimiento")),
        format!("Entidad de nacimiento: {}", s("estadoNacimiento")),
        format!(
            "Documento probatorio: {}",
            r["docProbatorio"].to_string().trim_matches('"')
        ),
        format!("Estatus CURP: {}", s("estatusCurp")),
        format!("Código de validación: {}", s("codigoValidacion")),
    ];
    let want: Vec<String> = want.iter().map(|w| shown(w)).collect();
    for w in &want {
        assert!(lines.contains(w), "{curp}: {w:?} not in {lines:#?}");
    }
    let reg = lines
        .iter()
        .find(|l| l.starts_with("Registro: "))
        .unwrap_or_else(|| panic!("{lines:?}"));
    for k in [
        "entidadRegistro",
        "claveMunicipioRegistro",
        "anioReg",
        "claveEntidadRegistro",
        "numActa",
        "municipioRegistro",
    ] {
        let v = d[k].as_str().unwrap();
        assert!(reg.contains(v), "{curp}: {k}={v:?} not in {reg:?}");
    }
}

const DOC_SCENARIOS: [&str; 11] = [
    "success",
    "active",
    "homonymy",
    "changed_data",
    "changed_curp",
    "deceased",
    "unused",
    "apocryphal",
    "administrative_removal",
    "adoption",
    "judicial_removal",
];

// ISO 32000-1 §7.5 structure (header, 20-byte xref entries pointing at each
// object, trailer, startxref, %%EOF; §7.3.8 /Length) and the page stating
// the JSON answer's data: every persona, 300 random CURPs, every scenario
// with a `result`, the same file for the same CURP and seed.
#[tokio::test]
async fn documento_is_valid_and_agrees_with_the_answer_for_many_people() {
    let sb = Sandbox::start().await;
    for (i, p) in PERSONAS.iter().enumerate() {
        let b = ask(&sb, p, None, &format!("api{i}")).await;
        if b["result_code"] == "0" {
            check_agrees(&b);
        }
    }
    let mut rng = StdRng::seed_from_u64(7);
    for i in 0..300 {
        let c = random_curp(&mut rng, &domain().names);
        let b = ask(&sb, &c, None, &format!("r{i}")).await;
        assert_eq!(b["result_code"], "0", "{c}: {b}");
        check_agrees(&b);
    }
    let ids = [
        "PXNE660720HMCXTN06",
        "WOXS030303MNENXFA6",
        "hello",
        "ABCD570805HZZHLC52",
    ];
    for (i, id) in ids.iter().enumerate() {
        for s in DOC_SCENARIOS {
            let b = ask(&sb, id, Some(s), &format!("s{i}")).await;
            assert_eq!(b["result_code"], "0", "{id} {s}: {b}");
            check_agrees(&b);
        }
    }
    let (a, c) = (Sandbox::start().await, Sandbox::start().await);
    let mut seen = std::collections::BTreeSet::new();
    for id in PERSONAS.iter().take(3) {
        let x = ask(&a, id, None, "k").await;
        let y = ask(&c, id, None, "k").await;
        assert_eq!(x["result"]["documento"], y["result"]["documento"], "{id}");
        assert!(seen.insert(x["result"]["documento"].to_string()), "{id}");
    }
}

// README Decisions (accuauth): WinAnsi text. The characters WinAnsi adds
// past Latin-1 (’ 0x92, Œ 0x8C, – 0x96, ISO 32000-1 Annex D.2) are printed.
#[tokio::test]
async fn winansi_characters_past_latin_1_are_printed_as_the_json_states_them() {
    use mxid_sandbox::config::Source;
    use mxid_sandbox::Config;
    let f = common::temp_dir("probe-pdf");
    let _gone = common::RemovedOnDrop(f.clone());
    let yaml = "- curp: HEGJ900515HDFRRN01\n  names: \"ŒDIPO\"\n  first_surname: \"O’BRIEN\"\n  \
                second_surname: \"GUIÓN–LARGO\"\n";
    std::fs::write(f.join("personas.yaml"), yaml).unwrap();
    let sb = Sandbox::start_with(Config {
        fixtures: Source::Dir(f.clone()),
        ..common::config()
    })
    .await;
    let b = ask(&sb, "HEGJ900515HDFRRN01", None, "k").await;
    assert_eq!(b["result"]["apellidoPaterno"], "O’BRIEN", "{b}");
    let pdf = pdf_of(&b);
    // The page's bytes, WinAnsi: O 0x92 B R I E N.
    assert!(
        find(&pdf, b"(Primer apellido: O\x92BRIEN) Tj").is_some(),
        "{:?}",
        check_pdf(&pdf, "O’BRIEN")
    );
    check_agrees(&b);
}

// The page is written from a template whose validation code is a blank of
// 24 `~`, filled per answer; a persona whose names hold that blank too has
// the page written whole instead (the blank would be filled in the name),
// and each answer still states its own code. A persona whose registry
// year is unknown (`year: 0`, `anioReg` "") has no `año` on its registry
// line (it read `año , acta`).
#[tokio::test]
async fn documento_is_whole_for_a_name_holding_the_blank_and_leaves_out_an_unknown_year() {
    use mxid_sandbox::config::Source;
    use mxid_sandbox::Config;
    let f = common::temp_dir("pdf-blank");
    let _gone = common::RemovedOnDrop(f.clone());
    let tildes = "~".repeat(30);
    let yaml = format!(
        "- curp: GUCA551121HOCTRN02\n  names: \"{tildes}\"\n\
         - curp: GUAM670524HBSZRL07\n  registry: {{year: 0}}\n"
    );
    std::fs::write(f.join("personas.yaml"), yaml).unwrap();
    let sb = Sandbox::start_with(Config {
        fixtures: Source::Dir(f.clone()),
        ..common::config()
    })
    .await;
    let mut codes = std::collections::BTreeSet::new();
    for api in ["a", "b"] {
        let b = ask(&sb, "GUCA551121HOCTRN02", None, api).await;
        assert_eq!(b["result"]["nombre"], tildes.as_str(), "{b}");
        check_agrees(&b);
        codes.insert(b["result"]["codigoValidacion"].to_string());
    }
    assert_eq!(codes.len(), 2, "{codes:?}");
    let b = ask(&sb, "GUAM670524HBSZRL07", None, "k").await;
    assert_eq!(b["result"]["datosDocProbatorio"]["anioReg"], "", "{b}");
    check_agrees(&b);
    let lines = check_pdf(&pdf_of(&b), "GUAM670524HBSZRL07");
    let reg = lines.iter().find(|l| l.starts_with("Registro: ")).unwrap();
    assert!(
        reg.starts_with("Registro: entidad ") && reg.contains(", acta ") && !reg.contains("año"),
        "{reg}"
    );
}
