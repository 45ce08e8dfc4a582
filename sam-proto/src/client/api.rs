//! The accessors that are the same in every adapter, with their docs: written once here and
//! expanded inside each adapter's own `impl` blocks, so that the three public APIs cannot drift
//! apart. They read what the adapter keeps (a [`SessionInfo`](crate::session::SessionInfo), a
//! [`DatagramInbox`](super::DatagramInbox)); nothing here does I/O.

/// `Session` accessors; the adapter's `Session` provides `fn info(&self) -> &SessionInfo`
/// and `fn is_closed(&self) -> bool`.
#[doc(hidden)]
#[macro_export]
macro_rules! __session_accessors {
    () => {
        /// This (sub-)session's ID on the bridge.
        pub fn id(&self) -> &str {
            self.info().id().as_str()
        }

        /// This (sub-)session's style.
        pub fn style(&self) -> $crate::client::Style {
            self.info().style()
        }

        /// The private keys the bridge confirmed in `SESSION STATUS` (never shown by `Debug`).
        pub fn keys(&self) -> &$crate::keys::PrivateKeys {
            self.info().keys()
        }

        /// The public destination of [`keys`](Self::keys).
        pub fn destination(&self) -> &$crate::keys::Destination {
            self.info().destination()
        }

        /// The destination's `.b32.i2p` address.
        pub fn address(&self) -> $crate::keys::B32Address {
            self.info().address()
        }

        /// The SAM version agreed with the bridge.
        pub fn version(&self) -> $crate::Version {
            self.info().version()
        }
    };
}

/// `impl Debug for Session`: what it is, never its keys.
#[doc(hidden)]
#[macro_export]
macro_rules! __session_debug {
    ($session:ty) => {
        impl ::core::fmt::Debug for $session {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct("Session")
                    .field("id", &self.id())
                    .field("style", &self.style())
                    .field("address", &self.address())
                    .field("version", &self.version())
                    .field("closed", &self.is_closed())
                    .finish()
            }
        }
    };
}

/// `impl Debug for Service` (its state) and `Service::start` (the adapter's
/// `Service::start_observed` without an observer).
#[doc(hidden)]
#[macro_export]
macro_rules! __service_common {
    ($service:ident, $sam:ty, $options:ty) => {
        impl ::core::fmt::Debug for $service {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct("Service")
                    .field("state", &self.state())
                    .finish()
            }
        }

        impl $service {
            /// Starts keeping `options`' destination online (a new one, kept from then on, if
            /// `options` has no keys).
            pub fn start(
                sam: &$sam,
                options: $options,
                policy: $crate::client::RecoveryPolicy,
            ) -> $service {
                let quiet = |_: &$crate::client::ServiceState| {};
                $service::start_observed(sam, options, policy, ::std::sync::Arc::new(quiet))
            }
        }
    };
}

/// `DatagramSocket` accessors; the adapter's `DatagramSocket` has the fields `session` (its
/// `Session`), `udp` (a UDP socket with `local_addr`) and `inbox` (a `DatagramInbox`).
#[doc(hidden)]
#[macro_export]
macro_rules! __datagram_accessors {
    ($session:ty) => {
        /// The session this socket belongs to.
        pub fn session(&self) -> &$session {
            &self.session
        }

        /// The bridge's UDP address: where datagrams go, and the only sender accepted.
        pub fn bridge_addr(&self) -> ::std::net::SocketAddr {
            self.inbox.bridge()
        }

        /// The local UDP address the bridge forwards to.
        pub fn local_addr(&self) -> $crate::client::ClientResult<::std::net::SocketAddr> {
            Ok(self.udp.local_addr()?)
        }

        /// Where the bridge delivers the session's datagrams (control socket or UDP).
        pub fn delivery(&self) -> $crate::client::DatagramDelivery {
            self.session.info().datagram_delivery()
        }

        /// What the session's datagram path dropped: datagrams that did not parse, UDP
        /// packets not from the bridge's UDP address, datagrams beyond the unread queue.
        pub fn counts(&self) -> &$crate::client::DatagramCounts {
            self.inbox.counts()
        }

        /// How many datagrams from the bridge were skipped because they did not parse.
        pub fn skipped(&self) -> u64 {
            self.inbox.counts().skipped()
        }

        /// How many UDP packets were dropped unread because they did not come from the
        /// bridge's UDP address (any local process could otherwise forge a sender).
        pub fn foreign(&self) -> u64 {
            self.inbox.counts().foreign()
        }
    };
}

/// The `Sam` handle's constructors and configuration; the adapter's `Sam` has the field
/// `config: Arc<SamConfig>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __sam_constructors {
    () => {
        /// A handle for the bridge described by `config`.
        pub fn new(config: $crate::client::SamConfig) -> Self {
            let config = ::std::sync::Arc::new(config);
            Self { config }
        }

        /// A handle for [`SamConfig::from_env`](sam_proto::client::SamConfig::from_env)
        /// (`SAM_ADDR`, `SAM_UDP_ADDR`, else the defaults).
        pub fn from_env() -> Self {
            Self::new($crate::client::SamConfig::from_env())
        }

        /// The configuration.
        pub fn config(&self) -> &$crate::client::SamConfig {
            &self.config
        }
    };
}

/// A `Stream`'s parts, for `impl Stream` with the socket type `$socket`; the adapter's
/// `Stream<S>` has the fields `socket: S`, `leftover: Leftover` and `session: Option<$session>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __stream_parts {
    ($socket:ty, $session:ty) => {
        /// Wraps a socket whose SAM handshake is over and the `leftover` bytes read past it
        /// (the stream keeps no session alive).
        pub fn from_parts(socket: $socket, leftover: ::std::vec::Vec<u8>) -> Self {
            Self::new(socket, leftover, None)
        }

        pub(crate) fn new(
            socket: $socket,
            leftover: ::std::vec::Vec<u8>,
            session: Option<$session>,
        ) -> Self {
            let leftover = $crate::client::Leftover::new(leftover);
            let peer = None;
            Self {
                socket,
                leftover,
                session,
                peer,
            }
        }

        /// The socket and the unread leftover bytes (which come before anything the socket
        /// delivers); the stream no longer keeps its session alive.
        pub fn into_parts(self) -> ($socket, ::std::vec::Vec<u8>) {
            (self.socket, self.leftover.into_vec())
        }

        /// The underlying socket (for options such as `set_nodelay`). Reading from it directly
        /// would skip [`buffered`](Self::buffered) bytes.
        pub fn get_ref(&self) -> &$socket {
            &self.socket
        }
    };
}

/// What every `Stream<S>` has whatever its socket: the buffered bytes and `Debug`.
#[doc(hidden)]
#[macro_export]
macro_rules! __stream_common {
    ($stream:ident) => {
        impl<S> $stream<S> {
            /// The application bytes already received and not yet read.
            pub fn buffered(&self) -> &[u8] {
                self.leftover.unread()
            }

            /// Who opened the stream, for one accepted or forwarded (`None` for one we
            /// connected, or when the bridge did not say, as with `SILENT`).
            pub fn peer(&self) -> Option<&$crate::client::Peer> {
                self.peer.as_ref()
            }

            /// The same stream over a part of its socket (`split` gives it and the other part):
            /// the leftover bytes, the session and the peer go with it.
            pub(crate) fn split_with<T, W>(
                self,
                split: impl FnOnce(S) -> (T, W),
            ) -> ($stream<T>, W) {
                let (socket, other) = split(self.socket);
                let (leftover, session, peer) = (self.leftover, self.session, self.peer);
                (
                    $stream {
                        socket,
                        leftover,
                        session,
                        peer,
                    },
                    other,
                )
            }
        }

        impl<S> $crate::client::AcceptedStream for $stream<S> {
            fn set_peer(&mut self, peer: $crate::client::Peer) {
                self.peer = Some(peer);
            }
        }

        impl<S: ::core::fmt::Debug> ::core::fmt::Debug for $stream<S> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct("Stream")
                    .field("socket", &self.socket)
                    .field("buffered", &self.leftover.unread().len())
                    .field("session", &self.session.as_ref().map(|s| s.id()))
                    .field(
                        "peer",
                        &self.peer.as_ref().map(|p| p.destination.b32_address()),
                    )
                    .finish()
            }
        }
    };
}
