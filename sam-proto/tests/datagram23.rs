//! DATAGRAM2 / DATAGRAM3 and the per-datagram UDP options: every new message form round trips,
//! gives the same outcome however the bridge's bytes are split, and refuses what the spec
//! forbids before anything is written.
//!
//! Wire forms (measured on i2pd 2.59.0, 2026-12-03, and the SAM v3 spec's DATAGRAM2/3 section):
//! DATAGRAM3 forwarded over UDP is `<44-char base64 hash>\n<payload>`; on the control socket
//! `DATAGRAM RECEIVED DESTINATION=<44-char hash> SIZE=n FROM_PORT=f TO_PORT=t\n<payload>`.
//! DATAGRAM2 is DATAGRAM's form with the sender's full destination.

use proptest::collection::vec as pvec;
use proptest::prelude::*;

use sam_proto::client::{Received, SamConfig, SessionOptions, Style, SubsessionOptions};
use sam_proto::command::{DatagramSend, RawSend};
use sam_proto::control::{ControlCommand, ControlEvent, ControlSocket, ReceivedDatagram};
use sam_proto::datagram::{
    check_raw_protocol, HashedPeer, SendOptions, SourceCache, UdpHeader, FORBIDDEN_RAW_PROTOCOLS,
};
use sam_proto::keys::{base32_encode_lower, B32Address, Destination, SourceHash};
use sam_proto::session::{Failure, SessionSetup};
use sam_proto::{Error, SessionId, SessionStyle, Version};

/// A destination of 387 zero bytes with a NULL certificate: valid, and cheap to make.
fn zero_dest() -> Destination {
    Destination::from_base64(&"A".repeat(516)).unwrap()
}

/// A destination whose first bytes are `seed` (distinct hashes for distinct seeds).
fn dest_from(seed: [u8; 8]) -> Destination {
    let mut bytes = zero_dest().as_bytes().to_vec();
    bytes[..8].copy_from_slice(&seed);
    Destination::from_bytes(&bytes).unwrap()
}

fn dg_send() -> DatagramSend<'static> {
    DatagramSend {
        destination: "A".repeat(516).into(),
        size: 2,
        from_port: None,
        to_port: None,
        extra: vec![],
    }
}

fn sid(s: &str) -> SessionId<'static> {
    SessionId::new(s.to_owned()).unwrap()
}

fn send_options() -> impl Strategy<Value = SendOptions> {
    (
        proptest::option::of((any::<u16>(), any::<u16>())),
        proptest::option::of(any::<u8>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(ports, protocol, tags, threshold, expires, leaseset)| {
            let mut o = SendOptions::new();
            if let Some((f, t)) = ports {
                o = o.ports(f, t);
            }
            if let Some(p) = protocol {
                o = o.protocol(p);
            }
            if let Some(n) = tags {
                o = o.send_tags(n);
            }
            if let Some(n) = threshold {
                o = o.tag_threshold(n);
            }
            if let Some(n) = expires {
                o = o.expires(n);
            }
            if let Some(b) = leaseset {
                o = o.send_leaseset(b);
            }
            o
        })
}

/// Feeds `wire` to a fresh control socket in reads of `sizes` (cycled); returns its events.
fn control_events(wire: &[u8], sizes: &[usize]) -> Result<Vec<ControlEvent>, Error> {
    let mut socket = ControlSocket::for_style(Version::V3_3, SessionStyle::Datagram3);
    let mut events = Vec::new();
    let mut rest = wire;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        socket.feed(&rest[..n])?;
        rest = &rest[n..];
        while let Some(e) = socket.poll_event() {
            events.push(e);
        }
    }
    Ok(events)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `SourceHash`: base64 round trip (44 characters), and its b32 is the lowercase base32
    /// of the 32 bytes plus `.b32.i2p`, which parses back to the same hash.
    #[test]
    fn source_hash_round_trips_and_gives_the_b32(bytes in any::<[u8; 32]>()) {
        let hash = SourceHash::from_hash(bytes);
        let text = hash.to_base64();
        prop_assert_eq!(text.len(), SourceHash::BASE64_LEN);
        prop_assert!(!text.contains('+') && !text.contains('/'));
        prop_assert_eq!(SourceHash::from_base64(&text), Ok(hash));
        prop_assert_eq!(text.parse::<SourceHash>(), Ok(hash));
        let b32 = hash.b32_address().to_string();
        prop_assert_eq!(&b32, &format!("{}.b32.i2p", base32_encode_lower(&bytes)));
        prop_assert_eq!(b32.parse::<B32Address>().map(SourceHash::from), Ok(hash));
    }

    /// Forwarded DATAGRAM3: `parse_packet(encode(x)) == x`, and `Received` names the hash,
    /// not a destination.
    #[test]
    fn round_trip_forwarded_datagram3(
        bytes in any::<[u8; 32]>(),
        ports in proptest::option::of((any::<u16>(), any::<u16>())),
        payload in pvec(any::<u8>(), 0..256),
    ) {
        let peer = HashedPeer {
            source: SourceHash::from_hash(bytes),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
        };
        let mut packet = Vec::new();
        peer.encode_with_payload(&payload, &mut packet).unwrap();
        let (back, rest) = HashedPeer::parse_packet(&packet).unwrap();
        prop_assert_eq!(back, peer);
        prop_assert_eq!(rest, &payload[..]);
        let received = Received::from_udp_of(&packet, Style::Datagram3, false).unwrap();
        prop_assert_eq!(received.source, None);
        prop_assert_eq!(received.source_hash, Some(peer.source));
        prop_assert_eq!((received.from_port, received.to_port), (peer.from_port, peer.to_port));
        prop_assert_eq!(received.payload, payload);
    }

    /// A DATAGRAM3 sender written as a full destination is hashed: the same value either way.
    #[test]
    fn datagram3_sender_as_a_destination_is_its_hash(seed in any::<[u8; 8]>(), payload in pvec(any::<u8>(), 0..64)) {
        let dest = dest_from(seed);
        let mut packet = format!("{}\n", dest.to_base64()).into_bytes();
        packet.extend_from_slice(&payload);
        let received = Received::from_udp_of(&packet, Style::Datagram3, false).unwrap();
        prop_assert_eq!(received.source_hash, Some(SourceHash::of(&dest)));
        prop_assert!(received.source_hash.unwrap().matches(&dest));
        // DATAGRAM2 reads the same packet as a verified destination.
        let received = Received::from_udp_of(&packet, Style::Datagram2, false).unwrap();
        prop_assert_eq!(received.source, Some(dest));
        prop_assert_eq!(received.source_hash, None);
    }

    /// `DATAGRAM RECEIVED` of a DATAGRAM3 session (i2pd 2.59's form, a 44-char hash) and of a
    /// DATAGRAM2 one: the same events whole, byte by byte and in random reads, and `Received`
    /// gives the hash or the destination.
    #[test]
    fn split_datagram_received_with_a_hash(
        bytes in any::<[u8; 32]>(),
        ports in (any::<u16>(), any::<u16>()),
        payload in pvec(any::<u8>(), 1..300),
        second in pvec(any::<u8>(), 1..40),
        sizes in pvec(1usize..64, 1..16),
    ) {
        let hash = SourceHash::from_hash(bytes);
        let dest = zero_dest();
        let mut wire = format!(
            "DATAGRAM RECEIVED DESTINATION={hash} SIZE={} FROM_PORT={} TO_PORT={}\n",
            payload.len(), ports.0, ports.1
        ).into_bytes();
        wire.extend_from_slice(&payload);
        wire.extend_from_slice(format!("DATAGRAM RECEIVED DESTINATION={} SIZE={}\n", dest.to_base64(), second.len()).as_bytes());
        wire.extend_from_slice(&second);
        let whole = control_events(&wire, &[wire.len()]).unwrap();
        prop_assert_eq!(&control_events(&wire, &[1]).unwrap(), &whole);
        prop_assert_eq!(&control_events(&wire, &sizes).unwrap(), &whole);
        let expected = [
            ReceivedDatagram {
                source: Some(hash.to_base64()),
                from_port: Some(ports.0),
                to_port: Some(ports.1),
                protocol: None,
                payload: payload.clone(),
            },
            ReceivedDatagram {
                source: Some(dest.to_base64()),
                from_port: None,
                to_port: None,
                protocol: None,
                payload: second.clone(),
            },
        ];
        prop_assert_eq!(whole.len(), 2);
        for (event, want) in whole.iter().zip(&expected) {
            prop_assert_eq!(event, &ControlEvent::Datagram(want.clone()));
        }
        let got = Received::from_control_of(expected[0].clone(), Style::Datagram3).unwrap();
        prop_assert_eq!((got.source, got.source_hash), (None, Some(hash)));
        prop_assert_eq!((got.from_port, got.to_port), (Some(ports.0), Some(ports.1)));
        let got = Received::from_control_of(expected[1].clone(), Style::Datagram2).unwrap();
        prop_assert_eq!((got.source, got.source_hash), (Some(dest), None));
    }

    /// The UDP send header with per-datagram options: it round trips, unless the protocol is
    /// a forbidden one, which is refused before anything is written.
    #[test]
    fn round_trip_udp_header_with_send_options(
        options in send_options(),
        payload in pvec(any::<u8>(), 0..64),
    ) {
        let dest = zero_dest();
        match UdpHeader::packet_with(sid("dg"), &dest, &payload, &options) {
            Err(e) => {
                let p = options.protocol.unwrap();
                prop_assert!(FORBIDDEN_RAW_PROTOCOLS.contains(&p));
                prop_assert_eq!(e, Error::ForbiddenProtocol(p));
            }
            Ok(packet) => {
                let (header, rest) = UdpHeader::parse_packet(&packet).unwrap();
                prop_assert_eq!(rest, &payload[..]);
                prop_assert_eq!(header.destination, dest.to_base64());
                prop_assert_eq!((header.from_port, header.to_port), (options.from_port, options.to_port));
                prop_assert_eq!(header.protocol, options.protocol);
                let value = |k: &str| header.extra.iter().find(|kv| kv.key == k).and_then(|kv| kv.value.as_deref().map(str::to_owned));
                prop_assert_eq!(value("SEND_TAGS"), options.send_tags.map(|n| n.to_string()));
                prop_assert_eq!(value("TAG_THRESHOLD"), options.tag_threshold.map(|n| n.to_string()));
                prop_assert_eq!(value("EXPIRES"), options.expires.map(|n| n.to_string()));
                prop_assert_eq!(value("SEND_LEASESET"), options.send_leaseset.map(|b| b.to_string()));
                // Exactly one line: the header; nothing in it may need quoting.
                let line = &packet[..packet.len() - payload.len()];
                prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            }
        }
    }

    /// Whatever a bridge or a local process sends, the new readers return an error, never
    /// panic.
    #[test]
    fn new_readers_never_panic(packet in pvec(any::<u8>(), 0..700)) {
        let _ = HashedPeer::parse_packet(&packet);
        for style in [Style::Datagram, Style::Datagram2, Style::Datagram3, Style::Raw] {
            let _ = Received::from_udp_of(&packet, style, false);
            let _ = Received::from_udp_of(&packet, style, true);
        }
        if let Ok(text) = std::str::from_utf8(&packet) {
            let _ = SourceHash::from_sender(text);
        }
    }
}

#[test]
fn forbidden_raw_protocols_are_refused_wherever_one_can_be_set() {
    for p in FORBIDDEN_RAW_PROTOCOLS {
        assert_eq!(check_raw_protocol(p), Err(Error::ForbiddenProtocol(p)));
        // The UDP header, written by the client...
        let mut header = UdpHeader::new(sid("r"), "A".repeat(516));
        header.protocol = Some(p);
        let mut out = Vec::new();
        assert_eq!(
            header.encode_with_payload(b"x", &mut out),
            Err(Error::ForbiddenProtocol(p))
        );
        assert!(out.is_empty(), "nothing written for PROTOCOL={p}");
        // ...and read as a bridge reads it.
        let packet = format!("3.0 r {} PROTOCOL={p}\nx", "A".repeat(516));
        assert_eq!(
            UdpHeader::parse_packet(packet.as_bytes()).map(|_| ()),
            Err(Error::ForbiddenProtocol(p))
        );
        // SESSION CREATE: refused before any socket opens.
        let mut options = SessionOptions::new(Style::Raw);
        options.protocol = Some(p);
        assert_eq!(options.check(), Err(Error::ForbiddenProtocol(p)));
        let setup = SessionSetup::new(&SamConfig::default(), &options, 1, Default::default());
        match setup {
            Err(Failure::Protocol { error, .. }) => assert_eq!(error, Error::ForbiddenProtocol(p)),
            other => panic!("PROTOCOL={p}: {other:?}"),
        }
        // SESSION ADD.
        let mut sub = SubsessionOptions::new(Style::Raw, "raw1");
        sub.protocol = Some(p);
        assert_eq!(
            sub.add_command(None).map(|_| ()),
            Err(Error::ForbiddenProtocol(p))
        );
        // RAW SEND on the control socket.
        let mut c = ControlSocket::new(Version::V3_3);
        let send = RawSend {
            destination: "A".repeat(516).into(),
            size: 1,
            from_port: None,
            to_port: None,
            protocol: Some(p),
            extra: vec![],
        };
        assert_eq!(
            c.start(ControlCommand::RawSend(send, vec![0])),
            Err(Error::ForbiddenProtocol(p))
        );
        assert_eq!(c.poll_transmit(), None);
        // Per-datagram options.
        let options = SendOptions::new().protocol(p);
        assert_eq!(
            UdpHeader::packet_with(sid("r"), &zero_dest(), b"x", &options),
            Err(Error::ForbiddenProtocol(p))
        );
    }
    for p in [0u8, 5, 7, 18, 21, 255] {
        assert_eq!(check_raw_protocol(p), Ok(p));
    }
}

#[test]
fn datagram_send_on_the_control_socket_is_refused_for_datagram2_and_datagram3() {
    for (style, name) in [
        (SessionStyle::Datagram2, "DATAGRAM2"),
        (SessionStyle::Datagram3, "DATAGRAM3"),
    ] {
        let mut c = ControlSocket::for_style(Version::V3_3, style);
        let send = dg_send();
        assert_eq!(
            c.start(ControlCommand::DatagramSend(send, vec![1, 2])),
            Err(Error::NotForStyle {
                command: "DATAGRAM SEND",
                style: name
            })
        );
        assert_eq!(c.poll_transmit(), None, "nothing written for {name}");
    }
    // DATAGRAM keeps its control-socket send.
    let mut c = ControlSocket::for_style(Version::V3_3, SessionStyle::Datagram);
    let send = dg_send();
    c.start(ControlCommand::DatagramSend(send, vec![1, 2]))
        .unwrap();
    assert!(c
        .poll_transmit()
        .unwrap()
        .starts_with(b"DATAGRAM SEND DESTINATION="));
}

#[test]
fn udp_option_values_with_an_equals_sign_are_refused_before_writing() {
    let mut header = UdpHeader::new(sid("d"), "A".repeat(516));
    header
        .extra
        .push(sam_proto::message::KeyValue::new("SEND_TAGS", "1=2"));
    let mut out = Vec::new();
    assert!(matches!(
        header.encode_with_payload(b"x", &mut out),
        Err(Error::Unencodable { .. })
    ));
    assert!(out.is_empty());
    let packet = format!("3.0 d {} SEND_TAGS=1=2\nx", "A".repeat(516));
    assert!(UdpHeader::parse_packet(packet.as_bytes()).is_err());
}

#[test]
fn new_styles_are_datagram_styles_with_their_own_style_word() {
    for (style, word) in [
        (Style::Datagram2, SessionStyle::Datagram2),
        (Style::Datagram3, SessionStyle::Datagram3),
    ] {
        assert!(style.uses_udp());
        assert_eq!(style.session_style(Version::V3_1, true), word);
        assert_eq!(style.name(), word.as_str());
        let options = SessionOptions::new(style).with_id("dg23");
        let command =
            options.create_command(options.session_id(1).unwrap(), Version::V3_3, true, None);
        let line =
            String::from_utf8(sam_proto::Message::to_bytes(&command, Version::V3_3).unwrap())
                .unwrap();
        assert!(
            line.starts_with(&format!("SESSION CREATE STYLE={} ID=dg23 ", word.as_str())),
            "{line}"
        );
        let add = SubsessionOptions::new(style, "sub")
            .add_command(None)
            .unwrap();
        assert_eq!(add.style, word);
    }
}

#[test]
fn source_cache_keeps_the_newest_destinations_up_to_its_capacity() {
    let mut cache = SourceCache::new(2);
    let (a, b, c) = (dest_from([1; 8]), dest_from([2; 8]), dest_from([3; 8]));
    let ha = cache.insert(a.clone());
    let hb = cache.insert(b.clone());
    assert_eq!(
        cache.insert(b.clone()),
        hb,
        "inserting again changes nothing"
    );
    assert_eq!((cache.len(), cache.get(&ha)), (2, Some(&a)));
    let hc = cache.insert(c.clone());
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get(&ha), None, "the oldest went first");
    assert_eq!((cache.get(&hb), cache.get(&hc)), (Some(&b), Some(&c)));
    assert_eq!(SourceCache::new(0).capacity(), 1);
}

#[test]
fn received_on_i2pd_2_59_as_measured() {
    // Captured from i2pd 2.59.0 (probe on the testbed, 2026-12-03): a DATAGRAM3 forward.
    let packet = b"xaPzeXQvPdVBHgBgZZxQqcKohIF63Bv-eJlRxlxo4Gg=\nhello-a2b";
    let got = Received::from_udp_of(packet, Style::Datagram3, false).unwrap();
    assert_eq!(got.payload, b"hello-a2b");
    assert_eq!(got.source, None);
    let hash = got.source_hash.unwrap();
    assert_eq!(
        hash.to_base64(),
        "xaPzeXQvPdVBHgBgZZxQqcKohIF63Bv-eJlRxlxo4Gg="
    );
    assert_eq!((got.from_port, got.to_port), (None, None));
    // The hash is invalid as a destination: DATAGRAM's reader refuses it, typed.
    assert!(Received::from_udp_of(packet, Style::Datagram, false).is_err());
    let b32 = hash.b32_address().to_string();
    assert_eq!(b32.len(), 60);
    assert!(
        b32.ends_with(".b32.i2p")
            && b32[..52]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    );
}

#[test]
fn send_options_from_ports_is_ports_or_nothing() {
    use sam_proto::datagram::SendOptions;
    assert_eq!(SendOptions::from_ports(None), SendOptions::new());
    assert_eq!(
        SendOptions::from_ports(Some((7, 9))),
        SendOptions::new().ports(7, 9)
    );
}
