//! Content encodings: which the client prefers (`Accept-Encoding`), which types gain from
//! compression, and compressing (brotli or gzip) once per file version.

use bytes::Bytes;

/// Smaller files are not worth compressing (nginx and tower-http use a similar floor).
pub(super) const COMPRESS_MIN: usize = 256;
/// brotli quality for compression done once per file version, while the first request waits.
/// Quality 1 compresses a 16 MB build 3.6× faster than 5 (80 against 287 ms) for 16% more
/// bytes, and the first page load after a build is what waits for it (bench/README.md).
const BROTLI_QUALITY: i32 = 1;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Br,
    Gzip,
}

impl Encoding {
    pub(super) fn name(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }

    pub(super) fn suffix(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gz",
        }
    }
}

/// Text-like types gain from compression; images, fonts, media and archives do not.
pub(super) fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type == "image/svg+xml"
        || content_type == "application/wasm"
        || content_type.contains("javascript")
        || content_type.contains("json")
        || content_type.contains("xml")
}

pub(super) fn compress(enc: Encoding, input: &[u8]) -> Option<Bytes> {
    use std::io::Write as _;
    let out = match enc {
        Encoding::Gzip => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            w.write_all(input).ok()?;
            w.finish().ok()?
        }
        Encoding::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY,
                size_hint: input.len(),
                ..Default::default()
            };
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &input[..], &mut out, &params).ok()?;
            out
        }
    };
    (out.len() < input.len()).then(|| Bytes::from(out))
}

/// The encodings the client accepts, best first (br before gzip at equal weight).
pub(super) fn preferred_encodings(accept: &str) -> Vec<Encoding> {
    let mut weights: Vec<(Encoding, f32)> = Vec::new();
    let mut star = None;
    for part in accept.split(',') {
        let mut fields = part.split(';');
        let name = fields.next().unwrap_or("").trim();
        let q = fields
            .filter_map(|f| f.trim().strip_prefix("q=").or(f.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let enc = if name.eq_ignore_ascii_case("br") {
            Encoding::Br
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            Encoding::Gzip
        } else {
            if name == "*" {
                star = Some(q);
            }
            continue;
        };
        // Listed twice: the first mention counts.
        if !weights.iter().any(|(e, _)| *e == enc) {
            weights.push((enc, q));
        }
    }
    if let Some(q) = star {
        for enc in [Encoding::Br, Encoding::Gzip] {
            if !weights.iter().any(|(e, _)| *e == enc) {
                weights.push((enc, q));
            }
        }
    }
    weights.retain(|(_, q)| *q > 0.0);
    weights.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| (a.0 == Encoding::Gzip).cmp(&(b.0 == Encoding::Gzip)))
    });
    weights.into_iter().map(|(e, _)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let names = |a: &str| {
            preferred_encodings(a)
                .into_iter()
                .map(Encoding::name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("gzip, deflate, br, zstd"), ["br", "gzip"]);
        assert_eq!(names("gzip;q=1, br;q=0.5"), ["gzip", "br"]);
        assert_eq!(names("br;q=0, gzip"), ["gzip"]);
        assert_eq!(names("identity"), Vec::<&str>::new());
        assert_eq!(names("*"), ["br", "gzip"]);
        assert_eq!(names("*;q=0, gzip"), ["gzip"]);
        assert_eq!(names("br, br;q=0, gzip, x-gzip"), ["br", "gzip"]);
    }

    proptest::proptest! {
        #[test]
        fn any_accept_encoding_is_read(value in "\\PC{0,40}") {
            let encodings = preferred_encodings(&value);
            proptest::prop_assert!(encodings.len() <= 2);
        }
    }
}
