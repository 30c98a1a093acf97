//! Adding the live-reload script to an HTML page: before `</body>`, else at the end. The page
//! keeps working under a Content-Security-Policy that allows `'self'` scripts, since the script
//! is a file of the same origin, not inline code.

use bytes::Bytes;

use super::TAG;

/// The page with the tag added.
pub(crate) fn inject(html: &[u8]) -> Bytes {
    let at = last_body_close(html).unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + TAG.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(TAG.as_bytes());
    out.extend_from_slice(&html[at..]);
    Bytes::from(out)
}

/// Where the last `</body>` starts, in any case.
fn last_body_close(html: &[u8]) -> Option<usize> {
    const CLOSE: &[u8] = b"</body";
    (0..html.len().saturating_sub(CLOSE.len() - 1))
        .rev()
        .find(|&i| html[i..i + CLOSE.len()].eq_ignore_ascii_case(CLOSE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_body_closes_else_at_the_end() {
        let page = inject(b"<html><body>hi</BODY></html>");
        assert_eq!(
            &page[..],
            format!("<html><body>hi{TAG}</BODY></html>").as_bytes()
        );
        assert_eq!(&inject(b"<p>x")[..], format!("<p>x{TAG}").as_bytes());
    }
}
