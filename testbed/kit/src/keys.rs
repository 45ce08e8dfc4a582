//! Constructed keys from the SAM reference (sam-proto/PROTOCOL.md §11.6), for tests and
//! benches that play the bridge themselves.
//!
//! The 908-character private-key blob exists once in the workspace, in
//! `sam-proto/tests/data/priv908.txt` (sam-proto's own tests and its key-file test read it
//! there); this module reads the same file.

/// The constructed Ed25519 private key blob of §11.6 (PRIV, 908 characters; not a router's).
pub const REFERENCE_PRIV: &str = include_str!("../../../sam-proto/tests/data/priv908.txt");

/// The b32 address of [`REFERENCE_PRIV`]'s destination (§11.6).
pub const REFERENCE_B32: &str = "gxtm2jk2rmyu3dymfncjyu6jgbu2aysvzjjd3kdsx3ugsp6y6bdq.b32.i2p";

/// [`REFERENCE_PRIV`] as an owned string.
pub fn ed25519_priv() -> String {
    REFERENCE_PRIV.to_owned()
}

/// Its public destination (PUB, 524 characters).
pub fn ed25519_pub() -> String {
    [
        "UZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ",
        "9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4",
        "h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3",
        "hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4ad",
        "I4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM",
        "~oJXjdB6Rx4~~iWwmCm53AudxTH9rwOhB7~zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4BQAEAAcAAA==",
    ]
    .concat()
}

/// A DSA-SHA1 destination (i2p-projekt.i2p) of the `NAMING REPLY` in sam-proto/PROTOCOL.md §11.6.
pub fn dsa_peer() -> String {
    [
        "8ZAW~KzGFMUEj0pdchy6GQOOZbuzbqpWtiApEj8LHy2~O~58XKxRrA43cA23a9oDpNZDqWhRWEtehSnX5NoCwJcX",
        "WWdO1ksKEUim6cQLP-VpQyuZTIIqwSADwgoe6ikxZG0NGvy5FijgxF4EW9zg39nhUNKRejYNHhOBZKIX38qYyXoB",
        "8XCVJybKg89aMMPsCT884F0CLBKbHeYhpYGmhE4YW~aV21c5pebivvxeJPWuTBAOmYxAIgJE3fFU-fucQn9YyGUF",
        "a8F3t-0Vco-9qVNSEWfgrdXOdKT6orr3sfssiKo3ybRWdTpxycZ6wB4qHWgTSU5A-gOA3ACTCMZBsASN3W5cz6GR",
        "ZCspQ0HNu~R~nJ8V06Mmw~iVYOu5lDvipmG6-dJky6XRxCedczxMM1GWFoieQ8Ysfuxq-j8keEtaYmyUQme6Tcvi",
        "CEvQsxyVirr~dTC-F8aZ~y2AlG5IJz5KD02nO6TRkI2fgjHhv9OZ9nskh-I2jxAzFP6Is1kyAAAA",
    ]
    .concat()
}
