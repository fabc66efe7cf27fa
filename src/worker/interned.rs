//! JavaScript strings made once per isolate from Rust constants. A `&str` handed to JavaScript is decoded from
//! UTF-8 into a new JS string on every call (the runtime's `TextDecoder`, a call of its own); names and URLs the
//! hot path passes on every request are decoded once instead.

use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// The constants are few: a scan beats hashing.
    static STRINGS: RefCell<Vec<(&'static str, Rc<js_sys::JsString>)>> = Default::default();
}

/// `text` as a JS string, made on first use. Shared with an `Rc`: cloning a `JsString` itself takes a slot in
/// wasm-bindgen's table of JS values, and giving it back.
pub fn js(text: &'static str) -> Rc<js_sys::JsString> {
    STRINGS.with(|strings| {
        let mut strings = strings.borrow_mut();
        match strings.iter().find(|(known, _)| *known == text) {
            Some((_, js)) => js.clone(),
            None => {
                let js = Rc::new(js_sys::JsString::from(text));
                strings.push((text, js.clone()));
                js
            }
        }
    })
}
