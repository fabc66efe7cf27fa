//! Random values: nonces of session ids, names of streams, references of errors in the log.

/// `N` random bytes from the platform's source (the Workers runtime's `crypto.getRandomValues`).
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the platform has a random source");
    bytes
}

/// `2 * N` random lowercase hex characters.
pub fn hex<const N: usize>() -> String {
    bytes::<N>().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_differ_and_have_their_length() {
        let (a, b) = (super::hex::<8>(), super::hex::<8>());
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
