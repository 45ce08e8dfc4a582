//! Test vectors for `sam_proto::keys` from sam-proto/PROTOCOL.md (§3.4, §11.5, §11.6).

use sam_proto::keys::{
    base64_decode, base64_encode, B32Address, CryptoType, Destination, KeyError, PrivateKeys,
    SigType,
};

// §11.5: real destinations from Java I2P 2.8.0 hosts.txt.
const I2P_PROJEKT: &str = "8ZAW~KzGFMUEj0pdchy6GQOOZbuzbqpWtiApEj8LHy2~O~58XKxRrA43cA23a9oDpNZDqWhRWEtehSnX5NoCwJcXWWdO1ksKEUim6cQLP-VpQyuZTIIqwSADwgoe6ikxZG0NGvy5FijgxF4EW9zg39nhUNKRejYNHhOBZKIX38qYyXoB8XCVJybKg89aMMPsCT884F0CLBKbHeYhpYGmhE4YW~aV21c5pebivvxeJPWuTBAOmYxAIgJE3fFU-fucQn9YyGUFa8F3t-0Vco-9qVNSEWfgrdXOdKT6orr3sfssiKo3ybRWdTpxycZ6wB4qHWgTSU5A-gOA3ACTCMZBsASN3W5cz6GRZCspQ0HNu~R~nJ8V06Mmw~iVYOu5lDvipmG6-dJky6XRxCedczxMM1GWFoieQ8Ysfuxq-j8keEtaYmyUQme6TcviCEvQsxyVirr~dTC-F8aZ~y2AlG5IJz5KD02nO6TRkI2fgjHhv9OZ9nskh-I2jxAzFP6Is1kyAAAA";
const TRACKER_THEBLAND: &str = "gzBtMSRcMD6b36PmPCQWZhh30fYm2Ww2r4tRSref4N2T4~cnXK3DjJOuJwao2jRK4bZwX2Rkyjw849xrFMqaR3SdPe3-K61B~Kr9Uo1KLdm3~oahOWFmCaIlipPs-i3jdTT~721YUcYB09n4PGrDq5KZSOOBlLZKulJficO58QRUlDpva4OCCRrX9EUCoAavOciKpvKtnGwl6AiPFu8WnmEeGQ861vjdirjfkHWNp3gj9IjGuxJNcgyHi51BWYZM6il~LJTcbA4zuZn~qudHIx9uzUtO-t08yzSRrmfVwVVVru6-~BBX0ipADi9UGZjyB-PJEKKjizUPxSp2OCmiOlQ2iXpKs2j8yfjHJbn-eWKpIh4jfpNigy6AbDfzFivkvm8lt8CleYf-p3~SHdqIL0iEaacxi5BAU4Baj5yS818kPQP4hEEMMtq4WnKjl4IW64swXSg1wlVBTiKDJzzQGK20jySBuPxhEbd6sfAeirzn585g5EqeV8DLqsMfe5pZBQAEAAEAAA==";
const ZZZ: &str = "GKapJ8koUcBj~jmQzHsTYxDg2tpfWj0xjQTzd8BhfC9c3OS5fwPBNajgF-eOD6eCjFTqTlorlh7Hnd8kXj1qblUGXT-tDoR9~YV8dmXl51cJn9MVTRrEqRWSJVXbUUz9t5Po6Xa247Vr0sJn27R4KoKP8QVj1GuH6dB3b6wTPbOamC3dkO18vkQkfZWUdRMDXk0d8AdjB0E0864nOT~J9Fpnd2pQE5uoFT6P0DqtQR2jsFvf9ME61aqLvKPPWpkgdn4z6Zkm-NJOcDz2Nv8Si7hli94E9SghMYRsdjU-knObKvxiagn84FIwcOpepxuG~kFXdD5NfsH0v6Uri3usE3XWD7Pw6P8qVYF39jUIq4OiNMwPnNYzy2N4mDMQdsdHO3LUVh~DEppOy9AAmEoHDjjJxt2BFBbGxfdpZCpENkwvmZeYUyNCCzASqTOOlNzdpne8cuesn3NDXIpNnqEE6Oe5Qm5YOJykrX~Vx~cFFT3QzDGkIjjxlFBsjUJyYkFjBQAEAAcAAA==";
const SECURE_THETINHAT: &str = "0ncSrtVS20zwfcM7h2S6SSF56uVM2bftQwf40jsWKASNQnzyDVEzXpS04y-DJpm9EwKMGkgvx8ICBX-80W4E9xPJEdGFbb2u34fWmpTVMc3vwwB9ywmSXoxFbwiFx2sm7-HCcdALZwrjU3J41AfBvpEVkB5dXklTZIh~bU0JBTK2JIvQMD0XrSOztEruTc5kYymtkiCUpJaJJFXyIM3lKRcNlZ76UidE8AyQxHX7s9OR02pk7FhYV8Uh-Bs8loAZg6IPZzoYnnBYyi--b1-N8Ipv3aKmqSZPbQEzfQxU8-BE74xBLNEWAJtB8ptKMiKfHphO7qDKWqTzOU-7BtGXZAEOA3oblRAQcgqUbi~aICj0V0MAuYAdj7f-8BIi2k3Qfcl6k6XOFEpZqYFle71LeCjIZN~0mDDzxlr0Scx6LKMGnQAtYlGXFq99urp1MutPDZEu47mdxGWqc9CoNNNsE2UgS9ykvWygefNpZhkmceBXmDxWhuAPD1M2~eNF-fCMBQAIAAMAADZv~vU=";
const I2PNEWS: &str = "XHS99uhrvijk3KxU438LjNf-SMXXiNXsbV8uwHFXdqsDsHPZRdc6LH-hEMGWDR5g2b65KLlSm8plFrTusR-yxBfGHtZLa9vhXCwWXXbUlBe7Ty6NlwY7GmJItBKPO09BbUa0oJ5jITjLM1mVxeHShAZs8IMlLJjYaeYycDdaUInuPrng51~ySeiiKKxHa3qJkFOuPgQQiCXqy-9Qhi7t9j16iXzWWZ5yN7XcE9i1J7UQix66ntwILTnTAYBelNbONPiSJzKq-BiXj13bI3~liBgckJGf1a1dU8lOuAemtB-XM36cUcg~LQ6iHMuxK-AE8UDQHTNma6E0TxlK5DizV34UgiJ2CxRB5n8BBrZQEvIjYOExXyt6gbopL-aer1qrL1zoIKoMbGon5P4GV~f8NyClJKHXSS2NW7FV-kZbmA0WSLAxecyBfSLStIlw01gtnb2OAQt6OkMQ693N2-L~IJMg4f1lWK4Pv0bIqJUrHZS8YyeWbb4Y~pto6hkd0kgRBQAEAAEAAA==";

// §11.6: constructed blobs.
const PUB: &str = "UZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9rwOhB7~zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4BQAEAAcAAA==";
const PRIV: &str = include_str!("data/priv908.txt");
const OFFLINE: &str = "UZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9rwOhB7~zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4BQAEAAcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPSGVwAABymsuuFBvMrwsi4alNNNC8c2HlJtC~4SyJeUvJMilm3XjPfuHcNlBJGZ-Z7H~Djo~-9CRd8tzYaFBOH-wsUjbi8xdWUEIEJEG31UAzBoihvxB7J665w7AtjBFwBLWpdjCiAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4~";

const PUB_B32: &str = "gxtm2jk2rmyu3dymfncjyu6jgbu2aysvzjjd3kdsx3ugsp6y6bdq.b32.i2p";
const TRANSIENT_PUB_HEX: &str = "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";
const OFFLINE_SIG_HEX: &str = "8cf7ee1dc365049199f99ec7fc38e8ffef4245df2dcd868504e1fec2c5236e2f317565042042441b7d540330688a1bf107b27aeb9c3b02d8c117004b5a97630a";
const ED25519_PUB_HEX: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn seq(start: u8, len: u8) -> Vec<u8> {
    (start..start + len).collect()
}

#[test]
fn real_destinations_parse_with_expected_b32() {
    let cases: [(&str, &str, usize, SigType, u8, &str); 5] = [
        (
            "i2p-projekt.i2p",
            I2P_PROJEKT,
            387,
            SigType::DsaSha1,
            0,
            "udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.i2p",
        ),
        (
            "tracker.thebland.i2p",
            TRACKER_THEBLAND,
            391,
            SigType::EcdsaSha256P256,
            5,
            "s5ikrdyjwbcgxmqetxb3nyheizftms7euacuub2hic7defkh3xhq.b32.i2p",
        ),
        (
            "i2pnews.i2p",
            I2PNEWS,
            391,
            SigType::EcdsaSha256P256,
            5,
            "tc73n4kivdroccekirco7rhgxdg5f3cjvbaapabupeyzrqwv5guq.b32.i2p",
        ),
        (
            "zzz.i2p",
            ZZZ,
            391,
            SigType::Ed25519,
            5,
            "lhbd7ojcaiofbfku7ixh47qj537g572zmhdc4oilvugzxdpdghua.b32.i2p",
        ),
        (
            "secure.thetinhat.i2p",
            SECURE_THETINHAT,
            395,
            SigType::EcdsaSha512P521,
            5,
            "4q3qyzgz3ub5npbmt3vqqege5lg4zy62rhbgage4lpvnujwfpala.b32.i2p",
        ),
    ];
    for (host, b64, len, sig, cert, b32) in cases {
        let dest = Destination::from_base64(b64).unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(dest.as_bytes().len(), len, "{host}");
        assert_eq!(dest.sig_type(), sig, "{host}");
        assert_eq!(dest.crypto_type(), CryptoType::ELGAMAL, "{host}");
        assert_eq!(dest.certificate_type(), cert, "{host}");
        assert_eq!(dest.b32_address().to_string(), b32, "{host}");
        assert_eq!(dest.to_base64(), b64, "{host}");
        assert_eq!(dest.to_string(), b64, "{host}");
        assert_eq!(b64.parse::<Destination>().as_ref(), Ok(&dest), "{host}");
        assert_eq!(
            dest.signing_public_key().len(),
            sig.public_key_len(),
            "{host}"
        );
        let addr: B32Address = b32.parse().unwrap();
        assert_eq!(addr, dest.b32_address(), "{host}");
        assert_eq!(addr.hash(), &dest.hash(), "{host}");
        let dbg = format!("{dest:?}");
        assert!(dbg.contains(b32), "{host}: {dbg}");
    }
}

#[test]
fn p521_signing_key_takes_excess_bytes_from_certificate() {
    let dest = Destination::from_base64(SECURE_THETINHAT).unwrap();
    let raw = dest.as_bytes();
    assert_eq!(
        &raw[384..395],
        &[0x05, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x36, 0x6f, 0xfe, 0xf5]
    );
    let spk = dest.signing_public_key();
    assert_eq!(spk.len(), 132);
    assert_eq!(&spk[..128], &raw[256..384]);
    assert_eq!(&spk[128..], &[0x36, 0x6f, 0xfe, 0xf5]);
}

#[test]
fn constructed_pub_parses() {
    let dest = Destination::from_base64(PUB).unwrap();
    assert_eq!(dest.as_bytes().len(), 391);
    assert_eq!(dest.sig_type(), SigType::Ed25519);
    assert_eq!(dest.sig_type().code(), 7);
    assert_eq!(dest.crypto_type(), CryptoType(0));
    assert_eq!(hex(&dest.signing_public_key()), ED25519_PUB_HEX);
    assert_eq!(dest.b32_address().to_string(), PUB_B32);
    assert_eq!(dest.to_base64(), PUB);
}

#[test]
fn constructed_priv_parses_and_round_trips() {
    let keys = PrivateKeys::from_base64(PRIV).unwrap();
    let pub_dest = Destination::from_base64(PUB).unwrap();
    assert_eq!(keys.destination(), &pub_dest);
    assert_eq!(keys.destination().sig_type().code(), 7);
    assert_eq!(keys.destination().crypto_type().0, 0);
    assert_eq!(keys.to_bytes().len(), 679);
    assert_eq!(keys.private_key(), &[0u8; 256][..]);
    assert_eq!(keys.signing_private_key(), &seq(0, 32)[..]);
    assert!(!keys.is_offline());
    assert!(keys.offline_signature().is_none());
    assert_eq!(keys.to_base64(), PRIV);
    assert_eq!(keys.to_bytes(), base64_decode(PRIV).unwrap());
    assert_eq!(PRIV.parse::<PrivateKeys>().as_ref(), Ok(&keys));
    assert_eq!(keys.destination().b32_address().to_string(), PUB_B32);
}

#[test]
fn offline_signed_priv_parses_and_round_trips() {
    let keys = PrivateKeys::from_base64(OFFLINE).unwrap();
    assert_eq!(keys.to_bytes().len(), 813);
    assert_eq!(keys.to_base64(), OFFLINE);
    assert_eq!(keys.destination(), &Destination::from_base64(PUB).unwrap());
    assert_eq!(keys.destination().sig_type(), SigType::Ed25519);
    assert_eq!(keys.signing_private_key(), &[0u8; 32][..]);
    assert!(keys.is_offline());
    let off = keys.offline_signature().unwrap();
    assert_eq!(off.expires, 4_102_444_800);
    assert_eq!(off.expires, 0xF486_5700);
    assert_eq!(off.transient_sig_type, SigType::Ed25519);
    assert_eq!(off.transient_sig_type.code(), 7);
    assert_eq!(hex(&off.transient_public_key), TRANSIENT_PUB_HEX);
    assert_eq!(hex(&off.signature), OFFLINE_SIG_HEX);
    assert_eq!(off.transient_private_key(), &seq(0x20, 32)[..]);
}

#[test]
fn debug_of_private_keys_hides_secrets() {
    let seed_hex = hex(&seq(0, 32));
    let transient_seed_hex = hex(&seq(0x20, 32));
    for (b64, secret_hex) in [(PRIV, &seed_hex), (OFFLINE, &transient_seed_hex)] {
        let keys = PrivateKeys::from_base64(b64).unwrap();
        let dbg = format!("{keys:?}");
        let alt = format!("{keys:#?}");
        let raw = base64_decode(b64).unwrap();
        let private_part_b64 = base64_encode(&raw[391..]);
        let secret_b64 = base64_encode(&raw[raw.len() - 32..]);
        for text in [&dbg, &alt] {
            assert!(text.contains(PUB_B32), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
            assert!(!text.contains(secret_hex.as_str()), "{text}");
            assert!(!text.contains(&private_part_b64), "{text}");
            assert!(!text.contains(&secret_b64), "{text}");
            assert!(!text.contains(b64), "{text}");
            assert!(!text.contains(&seed_hex), "{text}");
        }
        if let Some(off) = keys.offline_signature() {
            let off_dbg = format!("{off:?}");
            assert!(off_dbg.contains(TRANSIENT_PUB_HEX), "{off_dbg}");
            assert!(!off_dbg.contains(&transient_seed_hex), "{off_dbg}");
        }
    }
}

/// Builds a synthetic destination. DSA with ElGamal uses a NULL certificate, everything else a KEY certificate.
fn synthetic_dest(sig: SigType, crypto: u16) -> Vec<u8> {
    let mut d = vec![0x11u8; 256];
    d.extend_from_slice(&[0x22u8; 128]);
    if sig == SigType::DsaSha1 && crypto == 0 {
        d.extend_from_slice(&[0, 0, 0]);
    } else {
        let excess = sig.public_key_len().saturating_sub(128);
        let cert_len = u16::try_from(4 + excess).unwrap();
        d.push(5);
        d.extend_from_slice(&cert_len.to_be_bytes());
        d.extend_from_slice(&sig.code().to_be_bytes());
        d.extend_from_slice(&crypto.to_be_bytes());
        d.extend(std::iter::repeat_n(0x33u8, excess));
    }
    d
}

fn synthetic_priv(sig: SigType, crypto: u16, priv_len: usize) -> Vec<u8> {
    let mut p = synthetic_dest(sig, crypto);
    p.extend(std::iter::repeat_n(0x44u8, priv_len));
    p.extend(std::iter::repeat_n(0x55u8, sig.private_key_len()));
    p
}

fn b64_len(n: usize) -> usize {
    4 * n.div_ceil(3)
}

#[test]
fn lengths_match_sig_type_table() {
    // (code, dest bytes, dest b64 chars, PRIV bytes, PRIV b64 chars) from §3.4.
    let table: [(u16, usize, usize, usize, usize); 12] = [
        (0, 387, 516, 663, 884),
        (1, 391, 524, 679, 908),
        (2, 391, 524, 695, 928),
        (3, 395, 528, 717, 956),
        (4, 519, 692, 1287, 1716),
        (5, 647, 864, 1671, 2228),
        (6, 775, 1036, 2055, 2740),
        (7, 391, 524, 679, 908),
        (8, 391, 524, 679, 908),
        (9, 391, 524, 679, 908),
        (10, 391, 524, 711, 948),
        (11, 391, 524, 679, 908),
    ];
    assert_eq!(SigType::ALL.len(), table.len());
    for (code, dest_len, dest_chars, priv_len, priv_chars) in table {
        let sig = SigType::from_code(code).unwrap();
        let d = synthetic_dest(sig, 0);
        assert_eq!(d.len(), dest_len, "{sig}");
        let dest_b64 = base64_encode(&d);
        assert_eq!(dest_b64.len(), dest_chars, "{sig}");
        assert_eq!(b64_len(dest_len), dest_chars, "{sig}");
        let dest = Destination::from_base64(&dest_b64).unwrap();
        assert_eq!(dest.sig_type(), sig);
        assert_eq!(dest.as_bytes().len(), dest_len);
        assert_eq!(
            dest.signing_public_key().len(),
            sig.public_key_len(),
            "{sig}"
        );
        assert_eq!(dest.to_base64(), dest_b64);

        let p = synthetic_priv(sig, 0, 256);
        assert_eq!(p.len(), priv_len, "{sig}");
        let priv_b64 = base64_encode(&p);
        assert_eq!(priv_b64.len(), priv_chars, "{sig}");
        let keys = PrivateKeys::from_base64(&priv_b64).unwrap();
        assert_eq!(keys.destination(), &dest);
        assert_eq!(keys.private_key().len(), 256);
        assert_eq!(keys.signing_private_key().len(), sig.private_key_len());
        assert!(!keys.is_offline());
        assert_eq!(keys.to_base64(), priv_b64);
    }
}

#[test]
fn x25519_crypto_type_has_32_byte_private_key() {
    for crypto in 4u16..=7 {
        let p = synthetic_priv(SigType::Ed25519, crypto, 32);
        assert_eq!(p.len(), 455);
        let keys = PrivateKeys::from_bytes(&p).unwrap();
        assert_eq!(keys.destination().crypto_type(), CryptoType(crypto));
        assert_eq!(keys.private_key(), &[0x44u8; 32][..]);
        assert_eq!(keys.to_bytes(), p);
    }
    assert_eq!(CryptoType::X25519.private_key_len(), 32);
    // The same blob with ElGamal would need 256 bytes.
    let mut p = synthetic_priv(SigType::Ed25519, 4, 32);
    p[390] = 0; // crypto type 4 -> 0
    assert_eq!(
        PrivateKeys::from_bytes(&p),
        Err(KeyError::Truncated {
            needed: 647,
            got: 455
        })
    );
}

#[test]
fn every_prefix_of_priv_is_truncated() {
    let raw = base64_decode(PRIV).unwrap();
    for n in 0..raw.len() {
        let needed = match n {
            0..=386 => 387,
            387..=390 => 391,
            391..=646 => 647,
            _ => 679,
        };
        assert_eq!(
            PrivateKeys::from_bytes(&raw[..n]),
            Err(KeyError::Truncated { needed, got: n }),
            "prefix {n}"
        );
        let dest_res = Destination::from_bytes(&raw[..n]);
        if n == 391 {
            assert!(dest_res.is_ok());
        } else if n < 391 {
            assert_eq!(
                dest_res,
                Err(KeyError::Truncated {
                    needed: needed.min(391),
                    got: n
                })
            );
        } else {
            assert_eq!(dest_res, Err(KeyError::TrailingBytes { extra: n - 391 }));
        }
    }
}

#[test]
fn every_prefix_of_offline_priv_is_truncated() {
    let raw = base64_decode(OFFLINE).unwrap();
    // Field ends: destination, private key, signing key, expires, type, transient pub, signature, transient priv.
    let ends = [387, 391, 647, 679, 683, 685, 717, 781, 813];
    for n in 0..raw.len() {
        let needed = *ends.iter().find(|&&e| e > n).unwrap();
        assert_eq!(
            PrivateKeys::from_bytes(&raw[..n]),
            Err(KeyError::Truncated { needed, got: n }),
            "prefix {n}"
        );
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut raw = base64_decode(PRIV).unwrap();
    raw.push(0);
    assert_eq!(
        PrivateKeys::from_bytes(&raw),
        Err(KeyError::TrailingBytes { extra: 1 })
    );
    let mut raw = base64_decode(OFFLINE).unwrap();
    raw.extend_from_slice(&[1, 2, 3]);
    assert_eq!(
        PrivateKeys::from_bytes(&raw),
        Err(KeyError::TrailingBytes { extra: 3 })
    );
    let raw = base64_decode(PRIV).unwrap();
    assert_eq!(
        Destination::from_bytes(&raw),
        Err(KeyError::TrailingBytes { extra: 288 })
    );
    assert_eq!(
        Destination::parse_prefix(&raw).map(|(d, n)| (d.sig_type(), n)),
        Ok((SigType::Ed25519, 391))
    );
}

#[test]
fn damaged_blobs_give_typed_errors() {
    let good = base64_decode(PRIV).unwrap();

    // Unsupported certificate types.
    for t in [1u8, 2, 3, 4, 6, 200] {
        let mut raw = good.clone();
        raw[384] = t;
        assert_eq!(
            PrivateKeys::from_bytes(&raw),
            Err(KeyError::UnsupportedCertificate(t))
        );
        assert_eq!(
            Destination::from_bytes(&raw[..391]),
            Err(KeyError::UnsupportedCertificate(t))
        );
    }

    // NULL certificate with a payload.
    let mut raw = good.clone();
    raw[384] = 0;
    assert_eq!(
        PrivateKeys::from_bytes(&raw),
        Err(KeyError::CertificateLength {
            expected: 0,
            got: 4
        })
    );

    // KEY certificate too short to hold the type fields.
    let mut raw = good.clone();
    raw[386] = 3;
    assert_eq!(
        PrivateKeys::from_bytes(&raw),
        Err(KeyError::CertificateLength {
            expected: 4,
            got: 3
        })
    );

    // KEY certificate longer than Ed25519 needs.
    let mut raw = good.clone();
    raw[386] = 8;
    assert_eq!(
        PrivateKeys::from_bytes(&raw),
        Err(KeyError::CertificateLength {
            expected: 4,
            got: 8
        })
    );

    // P-521 declared but no excess bytes.
    let mut raw = good.clone();
    raw[388] = 3;
    assert_eq!(
        PrivateKeys::from_bytes(&raw),
        Err(KeyError::CertificateLength {
            expected: 8,
            got: 4
        })
    );

    // Unknown signing type.
    for code in [12u16, 99, 0xffff] {
        let mut raw = good.clone();
        raw[387..389].copy_from_slice(&code.to_be_bytes());
        assert_eq!(
            PrivateKeys::from_bytes(&raw),
            Err(KeyError::UnknownSigType(code))
        );
        assert_eq!(
            Destination::from_bytes(&raw[..391]),
            Err(KeyError::UnknownSigType(code))
        );
    }

    // Unknown transient signing type in the offline section.
    let mut raw = base64_decode(OFFLINE).unwrap();
    raw[683..685].copy_from_slice(&42u16.to_be_bytes());
    assert_eq!(
        PrivateKeys::from_bytes(&raw),
        Err(KeyError::UnknownSigType(42))
    );

    // A different (known) transient type changes the layout: P-256 transient key is 64 bytes.
    let mut raw = base64_decode(OFFLINE).unwrap();
    raw[683..685].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(
        PrivateKeys::from_bytes(&raw),
        Err(KeyError::Truncated {
            needed: 845,
            got: 813
        })
    );
}

#[test]
fn damaged_base64_is_rejected() {
    let variants = [
        PUB.replacen('-', "+", 1),
        PUB.replacen('~', "/", 1),
        format!(" {PUB}"),
        format!("{PUB}\n"),
        format!("{PUB}\r\n"),
        PUB.replacen('A', "A ", 1),
        PUB.trim_end_matches('=').to_string(),
        format!("{}=", PUB.trim_end_matches('=')),
        format!("{PUB}=="),
        format!("{PUB}A"),
        PUB[..PUB.len() - 1].to_string(),
        PUB.replacen('A', "\u{e9}", 1),
        PUB.replacen('A', "=", 1),
    ];
    for bad in &variants {
        assert_eq!(
            Destination::from_base64(bad),
            Err(KeyError::InvalidBase64),
            "{bad:?}"
        );
        assert_eq!(
            bad.parse::<Destination>(),
            Err(KeyError::InvalidBase64),
            "{bad:?}"
        );
    }
    let priv_bad = [
        PRIV.replacen('~', "/", 1),
        format!("{PRIV} "),
        PRIV.replacen("==", "", 1),
    ];
    for bad in &priv_bad {
        assert_eq!(
            PrivateKeys::from_base64(bad),
            Err(KeyError::InvalidBase64),
            "{bad:?}"
        );
    }
    // Non-canonical trailing bits in the last symbol.
    let mut noncanon = PUB.to_string();
    noncanon.replace_range(PUB.len() - 3..PUB.len() - 2, "B");
    assert_eq!(
        Destination::from_base64(&noncanon),
        Err(KeyError::InvalidBase64)
    );
    // Valid base64 of the wrong length is a length error, not a base64 error.
    assert_eq!(
        Destination::from_base64("AAAA"),
        Err(KeyError::Truncated {
            needed: 387,
            got: 3
        })
    );
}

#[test]
fn b32_addresses_parse_and_reject() {
    let dest = Destination::from_base64(PUB).unwrap();
    let addr: B32Address = PUB_B32.parse().unwrap();
    assert_eq!(addr, dest.b32_address());
    assert_eq!(addr.to_string(), PUB_B32);
    assert_eq!(format!("{addr:?}"), PUB_B32);
    assert_eq!(addr.hash(), &dest.hash());
    assert_eq!(B32Address::from_hash(dest.hash()), addr);
    assert_eq!(
        PUB_B32.to_uppercase().parse::<B32Address>(),
        Err(KeyError::InvalidBase32)
    );
    assert_eq!(
        PUB_B32
            .replace(".b32.i2p", ".B32.I2P")
            .parse::<B32Address>(),
        Ok(addr)
    );
    assert_eq!(
        PUB_B32.replace(".b32.i2p", "").parse::<B32Address>(),
        Err(KeyError::InvalidAddress)
    );
    assert_eq!(
        PUB_B32.replace(".b32.i2p", ".i2p").parse::<B32Address>(),
        Err(KeyError::InvalidAddress)
    );
    assert_eq!(
        PUB_B32.replacen('g', "1", 1).parse::<B32Address>(),
        Err(KeyError::InvalidBase32)
    );
    assert_eq!(
        PUB_B32[1..].parse::<B32Address>(),
        Err(KeyError::InvalidAddress)
    );
    assert_eq!(
        format!("a{PUB_B32}").parse::<B32Address>(),
        Err(KeyError::InvalidAddress)
    );
    let b33 = "mbzeeyyfzdxqjhfqj7jzaxgtbgnbrgagavl3qjxqxk4ibh6wtvqa";
    assert_eq!(
        format!("{b33}aaaa.b32.i2p").parse::<B32Address>(),
        Err(KeyError::BlindedAddress)
    );
    assert_eq!(
        format!("{b33}aaaaaaaaaaa.b32.i2p").parse::<B32Address>(),
        Err(KeyError::BlindedAddress)
    );
    assert_eq!(
        "zzz.i2p".parse::<B32Address>(),
        Err(KeyError::InvalidAddress)
    );
    assert_eq!("".parse::<B32Address>(), Err(KeyError::InvalidAddress));
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            if let Ok(keys) = PrivateKeys::from_bytes(&bytes) {
                prop_assert_eq!(keys.to_bytes(), bytes.clone());
            }
            if let Ok(dest) = Destination::from_bytes(&bytes) {
                prop_assert_eq!(dest.as_bytes(), &bytes[..]);
                let _ = dest.signing_public_key();
            }
            if let Ok((dest, used)) = Destination::parse_prefix(&bytes) {
                prop_assert_eq!(dest.as_bytes(), &bytes[..used]);
            }
        }

        #[test]
        fn mutated_blobs_never_panic(pos in 0usize..813, value in any::<u8>(), cut in 0usize..900) {
            let mut raw = base64_decode(OFFLINE).unwrap();
            if let Some(b) = raw.get_mut(pos) {
                *b = value;
            }
            raw.truncate(cut);
            if let Ok(keys) = PrivateKeys::from_bytes(&raw) {
                prop_assert_eq!(keys.to_bytes(), raw.clone());
                let _ = format!("{keys:?}");
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
            if let Ok(bytes) = base64_decode(&text) {
                prop_assert_eq!(base64_encode(&bytes), text.clone());
            }
            if let Ok(addr) = text.parse::<B32Address>() {
                prop_assert_eq!(addr.to_string(), text.to_ascii_lowercase());
            }
            let _ = text.parse::<SigType>();
            let _ = text.parse::<Destination>();
            let _ = text.parse::<PrivateKeys>();
        }

        #[test]
        fn b32_round_trip(hash in any::<[u8; 32]>()) {
            let addr = B32Address::from_hash(hash);
            let text = addr.to_string();
            prop_assert_eq!(text.len(), 60);
            prop_assert_eq!(text.parse::<B32Address>(), Ok(addr));
        }

        #[test]
        fn base64_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let text = base64_encode(&bytes);
            prop_assert_eq!(text.len() % 4, 0);
            prop_assert!(!text.contains('+') && !text.contains('/'));
            prop_assert_eq!(base64_decode(&text), Ok(bytes));
        }
    }
}
