//! Property tests over the parts that read untrusted input: the JSON-RPC parser, the transport's header checks
//! and the session-id codec. Arbitrary input never panics, well-formed values round-trip, and an id altered in
//! any byte is rejected.

use mcp_worker::identity::Identity;
use mcp_worker::keys::ServerSecret;
use mcp_worker::model::lifecycle::Implementation;
use mcp_worker::model::{
    ErrorObject, Message, Notification, Payload, ProtocolVersion, Request, RequestId, Response,
};
use mcp_worker::session::id::{self, Kind, Opening, SessionIds};
use mcp_worker::transport::{legacy_sse, sse, streamable_http as shttp};
use proptest::prelude::*;
use serde_json::{json, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Fractions that print and parse back exactly (serde_json's default float parsing may differ in the last
        // digit of arbitrary doubles; no protocol value depends on that).
        (any::<i32>(), 0u8..4).prop_map(|(n, k)| Value::from(n as f64 / f64::from(1u8 << k))),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn request_id() -> impl Strategy<Value = RequestId> {
    prop_oneof![any::<i64>().prop_map(RequestId::Number), ".{0,16}".prop_map(RequestId::String)]
}

fn params() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        prop::collection::btree_map("[a-z_]{1,6}", json_value(), 0..4)
            .prop_map(|m| Some(Value::Object(m.into_iter().collect()))),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (request_id(), "[a-z/_]{1,20}", params())
            .prop_map(|(id, method, params)| Message::Request(Request { id, method, params })),
        ("[a-z/_]{1,20}", params())
            .prop_map(|(method, params)| Message::Notification(Notification { method, params })),
        (request_id(), json_value()).prop_map(|(id, result)| Message::Response(Response::result(id, result))),
        (request_id(), any::<i32>(), ".{0,20}").prop_map(|(id, code, text)| Message::Response(
            Response::error(Some(id), ErrorObject::new(code, text))
        )),
    ]
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop::sample::select(ProtocolVersion::STATEFUL.to_vec())
}

fn opening() -> impl Strategy<Value = Opening> {
    (version(), ".{0,30}", ".{0,10}", json_value(), 0u64..4_000_000_000_000).prop_map(
        |(protocol_version, name, version, caps, opened_at_ms)| Opening {
            protocol_version,
            client_info: Implementation { name, version, title: None },
            client_capabilities: json!({ "experimental": caps }),
            opened_at_ms,
        },
    )
}

fn ids() -> SessionIds {
    SessionIds::new(&ServerSecret::parse("a property-test secret, long enough").unwrap())
}

const FAR_FUTURE: u64 = 5_000_000_000_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Payload::parse(&bytes);
    }

    #[test]
    fn the_parser_never_panics_on_arbitrary_json(value in json_value()) {
        if let Ok(payload) = Payload::parse(value.to_string().as_bytes()) {
            let _ = shttp::first_request_id(&payload);
            let _ = shttp::route_post(&payload, None);
        }
    }

    #[test]
    fn well_formed_messages_round_trip(message in message()) {
        let parsed = Payload::parse(message.to_json().as_bytes()).unwrap();
        prop_assert_eq!(parsed, Payload::Single(Ok(message)));
    }

    #[test]
    fn batches_round_trip(messages in prop::collection::vec(message(), 1..5)) {
        let body = Value::Array(messages.iter().map(Message::to_value).collect()).to_string();
        let parsed = Payload::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(parsed, Payload::Batch(messages.into_iter().map(Ok).collect()));
    }

    #[test]
    fn header_checks_never_panic(value in ".{0,64}", bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        for text in [value.as_str(), lossy.as_str()] {
            let _ = shttp::check_post_accept(Some(text));
            let _ = shttp::check_get_accept(Some(text));
            let _ = shttp::check_content_type(Some(text));
            let _ = shttp::check_content_length(Some(text), 1024);
            let _ = shttp::check_protocol_version(Some(text));
            let _ = shttp::check_session_header(Some(text));
            let _ = sse::parse_event_id(text);
            let _ = legacy_sse::session_from_query(Some(text));
            let _ = ids().verify(text, 0);
            let _ = id::kind_of_verified(text);
        }
    }

    #[test]
    fn well_formed_headers_are_accepted(v in version(), extra in "[a-z]{1,8}/[a-z]{1,8}", len in 0usize..2048) {
        let post_accept = format!("{extra}, application/json, text/event-stream;q=0.9");
        let get_accept = format!("text/event-stream, {extra}");
        prop_assert!(shttp::check_post_accept(Some(&post_accept)).is_ok());
        prop_assert!(shttp::check_get_accept(Some(&get_accept)).is_ok());
        prop_assert!(shttp::check_content_type(Some("application/json; charset=utf-8")).is_ok());
        prop_assert!(shttp::check_content_length(Some(&len.to_string()), 2048).is_ok());
        prop_assert_eq!(shttp::check_protocol_version(Some(v.as_str())).unwrap(), Some(v));
        let seq = len as u64;
        let event = sse::event_id("abc", seq);
        prop_assert_eq!(sse::parse_event_id(&event), Some(("abc", seq)));
    }

    #[test]
    fn minted_ids_verify_and_carry_their_opening(opening in opening(), owner in "[a-z:0-9]{1,20}") {
        let codec = ids();
        let owner = Identity::from_id(owner);
        match codec.mint(&opening, &owner) {
            Some(minted) => {
                prop_assert!(shttp::check_session_header(Some(&minted)).unwrap().is_some());
                let verified = codec.verify(&minted, FAR_FUTURE);
                prop_assert_eq!(&verified, &id::kind_of_verified(&minted));
                let Some(Kind::Deferred { opening: carried, owner: tag }) = verified else {
                    return Err(TestCaseError::fail("a deferred id"));
                };
                prop_assert_eq!(carried, opening);
                prop_assert!(codec.is_owner(&tag, &owner));
                let other = Identity::from_id(owner.id().to_string() + "x");
                prop_assert!(!codec.is_owner(&tag, &other));
            }
            None => {
                // Refused only when the id really would pass the limit: nonce, tag, two dots and the opening's
                // JSON in base64.
                let wire = (
                    opening.protocol_version,
                    opening.opened_at_ms,
                    &opening.client_capabilities,
                    &opening.client_info,
                    "AAAAAAAAAAAAAAAAAAAAAA",
                );
                let json_len = serde_json::to_string(&wire).unwrap().len();
                prop_assert!((json_len * 4).div_ceil(3) + 2 * 22 + 2 > id::MAX_LEN, "{json_len} bytes of JSON");
            }
        }
        let plain = codec.mint_plain();
        prop_assert_eq!(codec.verify(&plain, 0), Some(Kind::Plain));
    }

    #[test]
    fn an_id_altered_in_any_byte_is_rejected(opening in opening(), position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let codec = ids();
        let minted = codec.mint(&opening, &Identity::anonymous()).unwrap_or_else(|| codec.mint_plain());
        let mut altered = minted.clone().into_bytes();
        let i = position.index(altered.len());
        prop_assume!(altered[i] != byte);
        altered[i] = byte;
        let altered = String::from_utf8_lossy(&altered).into_owned();
        prop_assert_eq!(codec.verify(&altered, FAR_FUTURE), None, "{} → {}", minted, altered);
    }
}
