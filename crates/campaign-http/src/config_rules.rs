//! The checks every paging source's config runs before its first request.

use campaign_core::SourceError;

/// Checks a source's name: non-empty, without control characters (it goes
/// into every campaign id, error and log line). The error names `provider`,
/// since the name itself is unusable.
pub fn check_source_id(provider: &str, source_id: &str) -> Result<(), SourceError> {
    if source_id.trim().is_empty() || source_id.chars().any(char::is_control) {
        return Err(SourceError::config(
            provider,
            "source_id must be non-empty without control characters",
        ));
    }
    Ok(())
}

/// Checks the page size (1 to `max_page_size`, the most the provider
/// accepts) and the number of pages fetched at once (at least 1) of the
/// source `source_id`.
pub fn check_paging(
    source_id: &str,
    page_size: u32,
    max_page_size: u32,
    prefetch: usize,
) -> Result<(), SourceError> {
    if !(1..=max_page_size).contains(&page_size) {
        return Err(SourceError::config(
            source_id,
            format!("page_size must be between 1 and {max_page_size} (got {page_size})"),
        ));
    }
    if prefetch == 0 {
        return Err(SourceError::config(
            source_id,
            "prefetch must be at least 1",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_page_sizes_and_prefetches_are_config_errors() {
        assert!(check_source_id("p", "main").is_ok());
        for bad in ["", " ", "a\nb"] {
            let e = check_source_id("p", bad).unwrap_err();
            assert_eq!(e.source_id(), "p");
            assert!(e.message().contains("source_id"), "{e}");
        }
        assert!(check_paging("s", 100, 100, 1).is_ok());
        for (size, prefetch, key) in [
            (0, 1, "page_size"),
            (101, 1, "page_size"),
            (1, 0, "prefetch"),
        ] {
            let e = check_paging("s", size, 100, prefetch).unwrap_err();
            assert!(e.message().contains(key), "{e}");
        }
    }
}
