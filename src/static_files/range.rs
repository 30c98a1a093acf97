//! `Range: bytes=…` (RFC 9110 §14): one range is served; several get the whole file.

pub(super) struct Unsatisfiable;

/// One `bytes=` range as (first, last) inclusive. `Ok(None)` for a header that is ignored
/// (malformed, another unit, or several ranges: the whole file is sent, as RFC 9110 allows).
pub(super) fn parse_range(value: &str, len: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = value
        .trim()
        .get(..6)
        .filter(|u| u.eq_ignore_ascii_case("bytes="))
        .map(|_| value.trim()[6..].trim())
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let num = |s: &str| {
        s.parse::<u64>()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
    };
    match (first.is_empty(), last.is_empty()) {
        (true, false) => {
            let Some(n) = num(last) else { return Ok(None) };
            if n == 0 || len == 0 {
                return Err(Unsatisfiable);
            }
            Ok(Some((len.saturating_sub(n), len - 1)))
        }
        (false, _) => {
            let Some(a) = num(first) else { return Ok(None) };
            let b = if last.is_empty() {
                u64::MAX
            } else {
                match num(last) {
                    Some(b) if b >= a => b,
                    _ => return Ok(None),
                }
            };
            if a >= len {
                return Err(Unsatisfiable);
            }
            Ok(Some((a, b.min(len - 1))))
        }
        (true, true) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(matches!(parse_range("bytes=0-9", 100), Ok(Some((0, 9)))));
        assert!(matches!(parse_range("bytes=90-", 100), Ok(Some((90, 99)))));
        assert!(matches!(parse_range("bytes=-10", 100), Ok(Some((90, 99)))));
        assert!(matches!(parse_range("bytes=-200", 100), Ok(Some((0, 99)))));
        assert!(matches!(
            parse_range("bytes=50-500", 100),
            Ok(Some((50, 99)))
        ));
        assert!(matches!(parse_range("bytes=100-", 100), Err(Unsatisfiable)));
        assert!(matches!(parse_range("bytes=-0", 100), Err(Unsatisfiable)));
        assert!(matches!(parse_range("bytes=9-1", 100), Ok(None)));
        assert!(matches!(parse_range("bytes=0-1,5-6", 100), Ok(None)));
        assert!(matches!(parse_range("items=0-1", 100), Ok(None)));
        assert!(matches!(parse_range("bytes=+1-2", 100), Ok(None)));
    }

    proptest::proptest! {
        #[test]
        fn ranges_stay_inside_the_file(
            spec in "(bytes|BYTES|items)=[ ]?[0-9]{0,5}[-,]?[0-9]{0,5}|\\PC{0,16}",
            len in 0u64..20_000,
        ) {
            if let Ok(Some((first, last))) = parse_range(&spec, len) {
                proptest::prop_assert!(first <= last && last < len, "{spec} on {len}: {first}-{last}");
            }
        }
    }
}
