//! A minimal PDF 1.4 writer: one page of Helvetica text.
//!
//! AccuAuth returns the RENAPO constancia as a base64 PDF (`documento`).
//! Clients decode it, store it, sometimes open it: so the sandbox writes a
//! real file — catalog, page tree, one page, a standard Type 1 font, a
//! content stream, an info dictionary and a cross-reference table whose byte
//! offsets point at the objects — rather than a few bytes that only look
//! like base64.

use std::fmt::Write as _;

/// Letter size, in points.
const PAGE_WIDTH: u32 = 612;
const PAGE_HEIGHT: u32 = 792;
const MARGIN: u32 = 72;
const TITLE_SIZE: u32 = 14;
const TEXT_SIZE: u32 = 10;
const LEADING: u32 = 16;

/// What the page says.
#[derive(Debug, Clone, Default)]
pub struct Page<'a> {
    /// The document title: the info dictionary's `/Title` and the first line.
    pub title: &'a str,
    /// Lines of text under the title, top to bottom.
    pub lines: &'a [String],
    /// `/CreationDate`, already in PDF date form (`D:20240515100000-06'00'`).
    pub created: &'a str,
}

/// Writes the page as a complete PDF file.
pub fn one_page(page: &Page<'_>) -> Vec<u8> {
    let text: usize = page.lines.iter().map(|l| l.len() + 12).sum();
    let mut content = Vec::with_capacity(text + 160);
    content.extend_from_slice(b"BT\n");
    content.extend_from_slice(
        format!(
            "/F1 {TITLE_SIZE} Tf\n{MARGIN} {} Td\n{LEADING} TL\n",
            PAGE_HEIGHT - MARGIN
        )
        .as_bytes(),
    );
    push_string(&mut content, page.title);
    content.extend_from_slice(format!(" Tj\n/F1 {TEXT_SIZE} Tf\nT*\n").as_bytes());
    for line in page.lines {
        content.extend_from_slice(b"T* ");
        push_string(&mut content, line);
        content.extend_from_slice(b" Tj\n");
    }
    content.extend_from_slice(b"ET\n");

    let mut info = b"<< /Title ".to_vec();
    push_string(&mut info, page.title);
    info.extend_from_slice(b" /Producer (mxid-sandbox) /CreationDate ");
    push_string(&mut info, page.created);
    info.extend_from_slice(b" >>");

    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(&content);
    stream.extend_from_slice(b"endstream");

    let objects: [Vec<u8>; 6] = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
             /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        stream,
        info,
    ];

    // The binary comment after the header tells transfer tools the file is
    // not text (PDF 1.4, §3.4.1).
    let mut out = Vec::with_capacity(content.len() + 1024);
    out.extend_from_slice(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        // Each entry is exactly 20 bytes, its end of line included.
        let _ = writeln!(table, "{off:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

/// A PDF written once with some text fields blank — each blank a
/// placeholder as long as the value it stands for — kept with its base64.
/// Filling the fields then costs a copy of the base64 and the re-encoding
/// of the few three-byte groups each field touches: the file's layout, its
/// stream length and its cross-reference offsets do not move.
#[derive(Debug)]
pub struct Blanked {
    base64: String,
    fields: Vec<Field>,
}

/// Where one field lies, with the file's bytes around it: the whole
/// three-byte groups that hold it (all a fill re-encodes, so the file itself
/// is not kept).
#[derive(Debug)]
struct Field {
    /// Offset of `groups` in the file (a multiple of 3).
    at: usize,
    groups: Vec<u8>,
    /// The blank, within `groups`.
    start: usize,
    len: usize,
}

impl Blanked {
    /// `page` written with `blanks` as its fields, in the order they occur
    /// in the file. `None` when a blank does not occur exactly once, or two
    /// fields share a base64 group: then there is nothing to reuse.
    pub fn new(page: &Page<'_>, blanks: &[&str]) -> Option<Blanked> {
        use base64::Engine as _;
        let pdf = one_page(page);
        let mut fields = Vec::with_capacity(blanks.len());
        let mut after_group = 0;
        for blank in blanks {
            let needle = blank.as_bytes();
            let mut found = pdf
                .windows(needle.len().max(1))
                .enumerate()
                .filter(|(_, w)| *w == needle)
                .map(|(i, _)| i);
            let (Some(start), None) = (found.next(), found.next()) else {
                return None;
            };
            if needle.is_empty() || start / 3 < after_group {
                return None;
            }
            after_group = (start + needle.len()).div_ceil(3);
            let at = start / 3 * 3;
            let end = (after_group * 3).min(pdf.len());
            fields.push(Field {
                at,
                groups: pdf[at..end].to_vec(),
                start: start - at,
                len: needle.len(),
            });
        }
        let base64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
        Some(Blanked { base64, fields })
    }

    /// Appends the base64 of the file with `values` in its fields; `false`
    /// (and nothing written) when the values are not one per field, each
    /// as long as its blank and written in a PDF string as it is (a value
    /// `push_string` would escape or re-encode would make another file).
    pub fn write_base64(&self, values: &[&str], out: &mut String) -> bool {
        use base64::Engine as _;
        let fits = values.len() == self.fields.len()
            && self
                .fields
                .iter()
                .zip(values)
                .all(|(f, v)| v.len() == f.len && v.bytes().all(plain));
        if !fits {
            return false;
        }
        out.reserve(self.base64.len());
        let mut done = 0;
        for (field, value) in self.fields.iter().zip(values) {
            out.push_str(&self.base64[done..field.at / 3 * 4]);
            let mut groups = field.groups.clone();
            groups[field.start..field.start + field.len].copy_from_slice(value.as_bytes());
            base64::engine::general_purpose::STANDARD.encode_string(&groups, out);
            done = ((field.at + groups.len()).div_ceil(3) * 4).min(self.base64.len());
        }
        out.push_str(&self.base64[done..]);
        true
    }
}

/// The WinAnsiEncoding (Windows-1252) codes 0x80–0x9F, by the character
/// each stands for (ISO 32000-1 Annex D.2); the five codes it leaves
/// undefined are absent.
const WIN_ANSI_HIGH: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8A),
    ('‹', 0x8B),
    ('Œ', 0x8C),
    ('Ž', 0x8E),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9A),
    ('›', 0x9B),
    ('œ', 0x9C),
    ('ž', 0x9E),
    ('Ÿ', 0x9F),
];

/// A byte a PDF string holds as it is: printable ASCII but its delimiters
/// and escape.
fn plain(b: u8) -> bool {
    (b' '..=b'~').contains(&b) && !matches!(b, b'(' | b')' | b'\\')
}

/// Appends `text` as a PDF literal string in WinAnsiEncoding: the Latin-1
/// range maps to itself (so `Ñ`, `Á`, `É` print), the typographic
/// characters WinAnsi adds (’, “, –, Œ, €…) to their codes, anything else
/// becomes `?`, and `(`, `)` and `\` are escaped.
fn push_string(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'(');
    // Runs of plain ASCII are copied whole; only what needs a change is
    // looked at one character at a time.
    let bytes = text.as_bytes();
    // Folded without stopping early, so the compiler tests whole vectors.
    if bytes.iter().fold(true, |all, &b| all & plain(b)) {
        out.extend_from_slice(bytes);
        out.push(b')');
        return;
    }
    let (mut run, mut i) = (0, 0);
    while i < bytes.len() {
        if plain(bytes[i]) {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        let c = text[i..].chars().next().unwrap_or('?');
        let code = u32::from(c);
        match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(code as u8);
            }
            _ if (0xA0..=0xFF).contains(&code) => out.push(code as u8),
            _ => out.push(
                WIN_ANSI_HIGH
                    .iter()
                    .find(|(w, _)| *w == c)
                    .map_or(b'?', |(_, b)| *b),
            ),
        }
        i += c.len_utf8();
        run = i;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let lines = vec![
            "CURP: PXNE660720HMCXTN06".to_string(),
            "Nombre: ENRIQUE PEÑA NIETO (prueba)".to_string(),
            "Entidad: MÉXICO \\ 日本".to_string(),
        ];
        one_page(&Page {
            title: "Constancia de la CURP",
            lines: &lines,
            created: "D:20240515100000-06'00'",
        })
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).rposition(|w| w == needle)
    }

    #[test]
    fn header_and_trailer() {
        let pdf = sample();
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
    }

    #[test]
    fn xref_offsets_point_at_the_objects() {
        let pdf = sample();
        let sx = rfind(&pdf, b"startxref\n").unwrap() + b"startxref\n".len();
        let end = sx + pdf[sx..].iter().position(|b| *b == b'\n').unwrap();
        let xref: usize = std::str::from_utf8(&pdf[sx..end]).unwrap().parse().unwrap();
        assert!(pdf[xref..].starts_with(b"xref\n0 7\n"));
        let table = &pdf[xref + b"xref\n0 7\n".len()..];
        assert_eq!(&table[..20], b"0000000000 65535 f \n");
        for n in 1..7 {
            let entry = &table[n * 20..n * 20 + 20];
            assert!(entry.ends_with(b" 00000 n \n"), "{entry:?}");
            let off: usize = std::str::from_utf8(&entry[..10]).unwrap().parse().unwrap();
            let want = format!("{n} 0 obj\n");
            assert!(pdf[off..].starts_with(want.as_bytes()), "object {n}");
        }
    }

    #[test]
    fn stream_length_is_exact() {
        let pdf = sample();
        let at = find(&pdf, b"/Length ").unwrap() + b"/Length ".len();
        let end = at + pdf[at..].iter().position(|b| *b == b' ').unwrap();
        let len: usize = std::str::from_utf8(&pdf[at..end]).unwrap().parse().unwrap();
        let start = find(&pdf, b"stream\n").unwrap() + b"stream\n".len();
        assert_eq!(&pdf[start + len..start + len + 9], b"endstream");
    }

    #[test]
    fn a_blanked_file_filled_is_the_file_written_whole() {
        use base64::Engine as _;
        let lines: Vec<String> = ["CURP: PXNE660720HMCXTN06", "Código: CODE", "Ñandú (sí)"]
            .iter()
            .map(|l| l.to_string())
            .collect();
        for (code, created) in [
            ("vc1700000000000.12345678", "D:20240515100000-06'00'"),
            ("v", "D:1"),
            ("", "D:20240515100000-06'00'"),
        ] {
            let page = |code_blank: &str, created: &str| {
                let mut lines = lines.clone();
                lines[1] = format!("Código: {code_blank}");
                (lines, created.to_string())
            };
            let blank_code = "~".repeat(code.len());
            let blank_created = "^".repeat(created.len());
            let (blank_lines, blank_date) = page(&blank_code, &blank_created);
            let blanked = Blanked::new(
                &Page {
                    title: "T",
                    lines: &blank_lines,
                    created: &blank_date,
                },
                &[&blank_code, &blank_created],
            );
            let (real_lines, real_date) = page(code, created);
            let whole = base64::engine::general_purpose::STANDARD.encode(one_page(&Page {
                title: "T",
                lines: &real_lines,
                created: &real_date,
            }));
            match blanked {
                // An empty blank cannot be found: nothing to reuse.
                None => assert!(code.is_empty()),
                Some(b) => {
                    let mut out = String::from("prefix:");
                    assert!(b.write_base64(&[code, created], &mut out));
                    assert_eq!(out, format!("prefix:{whole}"), "{code} {created}");
                    assert!(!b.write_base64(&[code], &mut out));
                    assert!(
                        !b.write_base64(&[created, code], &mut String::new())
                            || code.len() == created.len()
                    );
                    // A value the file would hold escaped or re-encoded,
                    // however long, is refused: the caller builds it whole.
                    for odd in ["(", ")", "\\", "é", "\n"] {
                        let value: String = odd.chars().cycle().take(code.len()).collect();
                        if value.len() == code.len() {
                            assert!(!b.write_base64(&[&value, created], &mut String::new()));
                        }
                    }
                }
            }
        }
        // A blank that occurs twice is refused.
        let twice = vec!["~~".to_string(), "~~".to_string()];
        let page = Page {
            title: "T",
            lines: &twice,
            created: "D:1",
        };
        assert!(Blanked::new(&page, &["~~"]).is_none());
    }

    #[test]
    fn text_is_winansi_and_escaped() {
        let pdf = sample();
        assert!(find(&pdf, b"(Nombre: ENRIQUE PE\xD1A NIETO \\(prueba\\)) Tj").is_some());
        assert!(find(&pdf, b"(Entidad: M\xC9XICO \\\\ ??) Tj").is_some());
        // The characters WinAnsi adds past Latin-1 keep their codes.
        let mut out = Vec::new();
        push_string(&mut out, "O’BRIEN ŒDIPO GUIÓN–LARGO 名");
        assert_eq!(out, b"(O\x92BRIEN \x8CDIPO GUI\xD3N\x96LARGO ?)");
    }
}
