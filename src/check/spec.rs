//! What one check needs, already validated: target, wrap, stages, limits.

use crate::chain::Policy;
use crate::keys::KeySource;
use crate::net::{self, Family, Proto};
use crate::proto::Stage;
use crate::wire::Wrap;
use std::time::Duration;

/// A fact about the check's settings that `-v` shows; `report` chooses the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A `remote` of the config, and whether it is the one checked.
    ConfigRemote {
        config: String,
        host: String,
        port: Option<u16>,
        proto: Option<Proto>,
        used: bool,
    },
    /// A tls-auth or tls-crypt static key: where from, its fingerprint, and for tls-auth
    /// the key direction and digest.
    StaticKey {
        wrap: &'static str,
        source: KeySource,
        fingerprint: String,
        tls_auth: Option<(
            crate::keys::static_keys::KeyDirection,
            crate::digest::Digest,
        )>,
    },
    V2Key {
        source: KeySource,
        fingerprint: String,
        wrapped_len: usize,
    },
    HexKeys {
        client: String,
        server: Option<String>,
        digest: crate::digest::Digest,
    },
    /// A key or password file that group or others can read.
    LoosePermissions {
        path: String,
        mode: u32,
    },
    CaCertificates {
        count: usize,
        from: String,
    },
    ClientCertificate {
        source: KeySource,
        common_name: Option<String>,
        fingerprint: String,
        key: KeySource,
    },
    AuthUserPass {
        source: KeySource,
        user: String,
    },
    /// What the config's `local NAME` resolved to.
    LocalAddress {
        name: String,
        address: std::net::IpAddr,
    },
    /// A client key under 2048 bits: accepted (as OpenVPN 2.6 does), but weak.
    WeakClientKey {
        source: KeySource,
        bits: usize,
    },
    /// The password goes with a TOTP code, as the config's `static-challenge` asks.
    ChallengeAnswered {
        secret: String,
        format: &'static str,
    },
    /// What the host name resolved to.
    Addresses {
        host: String,
        addresses: Vec<std::net::IpAddr>,
    },
}

/// One remote of a client config with several: its own check, or why it is not checked.
#[derive(Debug, Clone)]
pub struct RemoteRun {
    /// Its place in the config: 1 for the first `remote` or `<connection>`.
    pub number: usize,
    pub host: String,
    pub port: u16,
    pub proto: Proto,
    pub check: Result<CheckSpec, Unchecked>,
}

/// Why a remote of the config is not checked: its clients reach it in a way the check
/// does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unchecked {
    /// Through an `http-proxy`/`socks-proxy`.
    Proxy {
        directive: String,
        file: String,
        line: usize,
    },
    /// With its `<connection>` block's own tls-auth, tls-crypt or tls-crypt-v2 key.
    OwnWrap { directive: String, line: usize },
}

/// Everything one check needs, already validated.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub host: String,
    pub port: u16,
    pub proto: Proto,
    pub family: Option<Family>,
    pub timeout: Duration,
    pub attempts: u32,
    pub wrap: Wrap,
    /// Where settings and keys came from (never key bytes), for `-v`; `report` words them.
    pub notes: Vec<Note>,
    /// `false` (`--no-validation`): any packet from the server counts as an answer.
    pub validate: bool,
    pub verbosity: u8,
    /// How deep the check goes.
    pub stage: Stage,
    /// How the server's certificate chain is judged (TLS stage).
    pub policy: Policy,
    /// The login stage's credentials and identity.
    pub login: Option<LoginSpec>,
    /// `--bind` / the config's `local`: the probe's source address (a name is resolved
    /// after the server's, within the check's budget).
    pub bind: Option<Bind>,
    /// Where the wrap's key came from, for advice about a bad HMAC.
    pub key_origin: KeyOrigin,
    /// `--ping`: after the login, ICMP echoes through the tunnel.
    pub ping: Option<PingSpec>,
    /// `--dns`: after the login, a DNS question through the tunnel.
    pub dns: Option<super::dns::DnsSpec>,
    /// `--tcp-connect`: after the login, a TCP connection through the tunnel.
    pub tcp_connect: Option<std::net::SocketAddr>,
    /// `--http`: after the login, an HTTP request through the tunnel.
    pub http: Option<super::http::HttpSpec>,
}

/// The echoes of `--ping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingSpec {
    /// `--ping-address`; `None`: the server's own tunnel address.
    pub target: Option<std::net::IpAddr>,
    /// `--ping-count`.
    pub count: u16,
}

impl PingSpec {
    /// Time between two echo requests.
    pub const INTERVAL: Duration = Duration::from_millis(10);

    /// When, since the check's start, echoes still unanswered count as lost: the budget
    /// less a fifth of it (at most a second), left for the goodbye.
    pub fn until(budget: Duration) -> Duration {
        budget.saturating_sub((budget / 5).min(Duration::from_secs(1)))
    }
}

/// The probe's source: an address, or a name (OpenVPN's `local NAME`) to resolve to an
/// address of the server's family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Address(std::net::IpAddr),
    Name(String),
}

/// Where the key material came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyOrigin {
    /// No wrap.
    #[default]
    None,
    /// A key file (`--tls-auth`, `--tls-crypt`, `--tls-crypt-v2`, or the config's).
    File,
    /// An inline block of a config.
    Inline,
    /// `--digest-key-client` / `--digest-key-server`.
    Hex,
}

/// What the login stage logs in with.
#[derive(Debug, Clone)]
pub struct LoginSpec {
    pub hello: crate::proto::login::ClientHello,
    pub client_auth: Option<std::sync::Arc<rustls::sign::CertifiedKey>>,
    /// Shown as "logged in as ...": the user name, else the certificate's CN.
    pub who: String,
    /// `--wait-for-close`: over TCP, stay after EXIT until the server closes.
    pub wait_for_close: bool,
}

impl CheckSpec {
    /// A reset-stage check with no chain policy: what the original script did.
    pub fn reset(
        host: &str,
        port: u16,
        proto: Proto,
        timeout: Duration,
        attempts: u32,
        wrap: Wrap,
    ) -> CheckSpec {
        CheckSpec {
            host: host.into(),
            port,
            proto,
            family: None,
            timeout,
            attempts,
            wrap,
            notes: Vec::new(),
            validate: true,
            verbosity: 0,
            stage: Stage::Reset,
            policy: Policy::default(),
            login: None,
            bind: None,
            key_origin: KeyOrigin::None,
            ping: None,
            dns: None,
            tcp_connect: None,
            http: None,
        }
    }

    pub(super) fn link(&self) -> net::LinkOptions {
        net::LinkOptions {
            bind: match &self.bind {
                Some(Bind::Address(ip)) => Some(*ip),
                _ => None,
            },
        }
    }

    /// UDP makes `attempts` attempts; TCP one.
    pub fn max_attempts(&self) -> u32 {
        match self.proto {
            Proto::Udp => self.attempts,
            Proto::Tcp => 1,
        }
    }

    /// The whole check's time: every attempt over UDP. Over TCP the connect and the
    /// server's reset get one `--timeout` (the session's attempt timer), and a reset or
    /// TLS check ends there; a login (and `--ping`) waits for the server's verdict as
    /// long as over UDP, `--timeout × --retrycount`: a deferred authentication back end
    /// that decides in a second is seen by a 2.6+ server only at its next once-a-second
    /// look, up to about 2.3 s after the key exchange, which one `--timeout` of 2 s would
    /// cut off while OpenVPN's own client connects.
    pub fn budget(&self) -> Duration {
        match self.proto {
            Proto::Tcp if self.stage >= Stage::Login => self.timeout * self.attempts,
            _ => self.timeout * self.max_attempts(),
        }
    }
}
