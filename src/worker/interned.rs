//! JavaScript strings made once per isolate from Rust constants. A `&str` handed to JavaScript is decoded from
//! UTF-8 into a new JS string on every call (the runtime's `TextDecoder`, a call of its own); names and URLs the
//! hot path passes on every request are decoded once instead.

use std::cell::RefCell;

thread_local! {
    /// The constants are few: a scan beats hashing.
    static STRINGS: RefCell<Vec<(&'static str, js_sys::JsString)>> = Default::default();
}

/// `text` as a JS string, made on first use (a copy of the reference, not of the string).
pub fn js(text: &'static str) -> js_sys::JsString {
    STRINGS.with(|strings| {
        let mut strings = strings.borrow_mut();
        match strings.iter().find(|(known, _)| *known == text) {
            Some((_, js)) => js.clone(),
            None => {
                let js = js_sys::JsString::from(text);
                strings.push((text, js.clone()));
                js
            }
        }
    })
}
