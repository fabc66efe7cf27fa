//! Cursor pagination for the `*/list` methods.
//!
//! A cursor is opaque to clients; ours encodes the offset of the next page. A cursor we did not issue is
//! `-32602` rather than silently restarting the list.

use crate::error::McpError;

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

const PREFIX: &str = "offset:";

/// The page of `all` that `cursor` points at (the first page without one).
pub fn page<T: Clone>(all: &[T], cursor: Option<&str>, page_size: usize) -> Result<Page<T>, McpError> {
    let page_size = page_size.max(1);
    let start = match cursor {
        None => 0,
        Some(cursor) => cursor
            .strip_prefix(PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0 && n < all.len())
            .ok_or_else(|| McpError::InvalidParams(format!("Invalid cursor: {cursor:?}")))?,
    };
    let end = (start + page_size).min(all.len());
    Ok(Page {
        items: all[start..end].to_vec(),
        next_cursor: (end < all.len()).then(|| format!("{PREFIX}{end}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_all_pages_once() {
        let all: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let p = page(&all, cursor.as_deref(), 3).unwrap();
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn rejects_foreign_or_stale_cursors() {
        let all = [1, 2, 3];
        for bad in ["", "garbage", "offset:-1", "offset:0", "offset:3", "offset:99"] {
            assert!(page(&all, Some(bad), 2).is_err(), "{bad}");
        }
        assert_eq!(page(&all, Some("offset:2"), 2).unwrap().items, vec![3]);
    }

    #[test]
    fn empty_list_is_one_empty_page() {
        let p = page::<u8>(&[], None, 5).unwrap();
        assert!(p.items.is_empty());
        assert!(p.next_cursor.is_none());
    }
}
