//! The clap definition of every flag. Every flag of the original Python
//! `check_openvpn` keeps its meaning here, so existing check commands keep working; the
//! rest are additions. What the flags mean together is in [`super::settings`].

use clap::{ArgAction, ArgGroup, Parser};
use std::path::PathBuf;

// The groups of `--help`, in the order a check goes deeper.
const TARGET: &str = "Target and transport";
const KEYS: &str = "Keys and wraps";
const TLS: &str = "TLS stage (--tls, or any of these)";
const LOGIN: &str = "Login stage (--login, or any of these)";
const PING: &str = "Ping through the tunnel (--ping, or any of these; runs the login stage)";
const DNS: &str = "A DNS lookup through the tunnel (--dns NAME; runs the login stage)";
const THROUGH: &str =
    "A TCP connection or an HTTP request through the tunnel (runs the login stage)";
const SERVER: &str = "Server host (--server-config)";
const THRESHOLDS: &str = "Thresholds";
const OUTPUT: &str = "Output";

/// What a flag of the TLS or login stage cannot go with: a check that goes past the reset
/// validates what it meets, and tries one way to use the key.
const RESET_ONLY: [&str; 2] = ["diagnose", "no_validation"];

/// Hex keys name each direction themselves: no key direction goes with them.
const HEX_KEYS: [&str; 2] = ["digest_key_client", "digest_key_server"];

/// Each flag that runs the login stage (a config alone never does): what `--totp-secret`
/// and `--wait-for-close` need. `--server-config` takes them too, and leaves them unused.
const LOGIN_STAGE: [&str; 13] = [
    "login",
    "cert",
    "key",
    "auth_user_pass",
    "ping",
    "ping_address",
    "ping_count",
    "ping_warning",
    "ping_critical",
    "dns",
    "tcp_connect",
    "http",
    "server_config",
];

/// The flags that each name the control channel's wrap: a server uses one.
const WRAPS: [&str; 4] = ["tls_auth", "tls_crypt", "tls_crypt_v2", "digest_key_client"];

#[derive(Debug, Parser)]
#[command(group(ArgGroup::new("wrap").args(WRAPS).multiple(false)))]
#[command(group(ArgGroup::new("login_stage").args(LOGIN_STAGE).multiple(true)))]
#[command(group(ArgGroup::new("lookup").args(["dns", "http"]).multiple(true)))]
#[command(
    name = "check_openvpn",
    version,
    disable_help_flag = true,
    disable_version_flag = true,
    about = "Checks an OpenVPN server as its clients meet it: it answers a hard reset, completes a TLS handshake with a chain OpenVPN accepts, takes a real login, answers ICMP echoes through the tunnel; or, on the server host, checks the server from its own config (Nagios/Icinga plugin)",
    after_help = "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\
                  Example: check_openvpn -H vpn.example.org --tls-auth /etc/openvpn/ta.key --digest SHA256"
)]
pub struct Cli {
    /// Server host name or IP address
    #[arg(help_heading = TARGET, value_name = "HOST", display_order = 0)]
    pub host: Option<String>,

    /// Server host name or IP address (same as HOST)
    #[arg(help_heading = TARGET, short = 'H', long = "hostname", value_name = "HOST")]
    pub hostname: Option<String>,

    /// Server port [default: 1194, or the config's]
    #[arg(help_heading = TARGET, short, long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Use TCP instead of UDP
    #[arg(help_heading = TARGET, short, long)]
    pub tcp: bool,

    /// Source address of the probe, as OpenVPN's `local` (a multi-homed host probes out of the interface the clients use) [default: the config's local, else the kernel's choice]
    #[arg(help_heading = TARGET, short = 'b', long = "bind", value_name = "ADDRESS")]
    pub bind: Option<std::net::IpAddr>,

    /// Use IPv4 only
    #[arg(help_heading = TARGET, short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Use IPv6 only
    #[arg(help_heading = TARGET, short = '6')]
    pub ipv6: bool,

    /// Probe every address HOST resolves to (of the -4/-6 family), in parallel; the worst state wins
    #[arg(help_heading = TARGET, long, conflicts_with = "diagnose")]
    pub all_addresses: bool,

    /// With --config: check only this remote of the config, by its number (1: the first `remote` or `<connection>`) or its host [default: every remote, in parallel]
    #[arg(help_heading = TARGET, long, value_name = "N|HOST", requires = "config", conflicts_with_all = ["host", "hostname"])]
    pub remote: Option<String>,

    /// Seconds to wait: per attempt over UDP, for connect and answer over TCP (fractions allowed)
    #[arg(
        help_heading = TARGET,
        long,
        default_value = "2",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub timeout: String,

    /// Number of UDP attempts
    #[arg(help_heading = TARGET, long, default_value_t = 3, value_name = "N")]
    pub retrycount: u32,

    /// Read remote, port, proto, auth, key-direction and the tls-auth/tls-crypt/tls-crypt-v2 key from an OpenVPN client config; flags override it
    #[arg(help_heading = TARGET, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// OpenVPN static key file used by the server's `tls-auth`
    #[arg(help_heading = KEYS, long, value_name = "FILE")]
    pub tls_auth: Option<PathBuf>,

    /// OpenVPN static key file used by the server's `tls-crypt`
    #[arg(help_heading = KEYS, long, value_name = "FILE")]
    pub tls_crypt: Option<PathBuf>,

    /// tls-crypt-v2 client key file (made by `openvpn --tls-crypt-v2 SERVERKEY --genkey tls-crypt-v2-client`); with --server-config: a client key of that server for the probe, one its tls-crypt-v2-verify script allows
    #[arg(help_heading = KEYS, long, value_name = "FILE")]
    pub tls_crypt_v2: Option<PathBuf>,

    /// HMAC digest of the server's `auth` option (MD5, SHA1, SHA256, SHA3-256, BLAKE2b512, ...) [default: SHA1, or the config's auth]
    #[arg(help_heading = KEYS, long, value_name = "NAME")]
    pub digest: Option<String>,

    /// Bytes of HMAC on the wire (default: the digest's full length)
    #[arg(help_heading = KEYS, long, value_name = "N")]
    pub digest_size: Option<usize>,

    /// Key direction of the tls-auth key on this (client) side: 0, 1 or bidirectional [default: 1]
    #[arg(help_heading = KEYS, long, value_name = "DIR", conflicts_with_all = HEX_KEYS)]
    pub key_direction: Option<String>,

    /// Use the tls-auth key with key direction 0 instead of 1
    #[arg(help_heading = KEYS, long, conflicts_with = "key_direction", conflicts_with_all = HEX_KEYS)]
    pub tls_auth_inverse: bool,

    /// HMAC key for packets to the server, in hex (tls-auth without a key file)
    #[arg(help_heading = KEYS, long, value_name = "HEX")]
    pub digest_key_client: Option<String>,

    /// HMAC key for packets from the server, in hex (verifies the answer)
    #[arg(help_heading = KEYS, long, value_name = "HEX", requires = "digest_key_client", conflicts_with_all = ["tls_auth", "tls_crypt", "tls_crypt_v2"])]
    pub digest_key_server: Option<String>,

    /// Try every plausible way to use the given key at once and report which ones the server answers
    #[arg(help_heading = KEYS, long, conflicts_with = "no_validation")]
    pub diagnose: bool,

    /// Accept any answer from the server without validating it
    #[arg(help_heading = KEYS, long)]
    pub no_validation: bool,

    /// Go on after the reset: a TLS handshake over the control channel; report the TLS version, cipher suite and the server certificate (verifies nothing by itself). A server that demands a client certificate logs a failed handshake for each such check (fail2ban's openvpn filter counts it): log in with --cert/--key or --auth-user-pass instead to stay out of its log
    #[arg(help_heading = TLS, long, conflicts_with_all = RESET_ONLY)]
    pub tls: bool,

    /// Verify the server's certificate chain against these PEM CA certificates, as an OpenVPN client does [default: the config's ca] (runs the TLS stage; without a client certificate a server that demands one logs a failed handshake: add --cert/--key for the login stage)
    #[arg(help_heading = TLS, long, value_name = "FILE", conflicts_with_all = RESET_ONLY)]
    pub ca: Option<PathBuf>,

    /// Require this server certificate name, as OpenVPN's verify-x509-name (runs the TLS stage)
    #[arg(help_heading = TLS, long, value_name = "NAME", conflicts_with_all = RESET_ONLY)]
    pub verify_x509_name: Option<String>,

    /// How --verify-x509-name matches: subject (the whole DN, as OpenVPN prints it), name (the CN) or name-prefix [default: subject]
    #[arg(help_heading = TLS, long, value_name = "TYPE", requires = "verify_x509_name")]
    pub verify_x509_type: Option<String>,

    /// Require the server certificate to carry key usage and TLS Web Server Authentication, as OpenVPN's `remote-cert-tls server` (runs the TLS stage)
    #[arg(help_heading = TLS, long, value_name = "server", conflicts_with_all = RESET_ONLY)]
    pub remote_cert_tls: Option<String>,

    /// Require the server certificate's SHA-256 fingerprint (AB:CD:..., as `openssl x509 -fingerprint -sha256` prints it) to be one of these, comma-separated or repeated, as OpenVPN's peer-fingerprint; without --ca (or the config's ca) nothing else of the certificate is verified, its dates included, as OpenVPN's client does not [default: the config's peer-fingerprint] (runs the TLS stage)
    #[arg(help_heading = TLS, long, value_name = "SHA256", value_delimiter = ',', conflicts_with_all = RESET_ONLY)]
    pub peer_fingerprint: Vec<String>,

    /// Log in like a real client with what the config provides (cert, key, auth-user-pass): key-method 2, PUSH_REPLY or the server's refusal, then EXIT
    #[arg(help_heading = LOGIN, long, conflicts_with_all = RESET_ONLY)]
    pub login: bool,

    /// Client certificate (PEM) for the login stage [default: the config's cert] (runs the login stage)
    #[arg(help_heading = LOGIN, long, value_name = "FILE", conflicts_with_all = RESET_ONLY, requires = "key")]
    pub cert: Option<PathBuf>,

    /// Private key of --cert (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted) (runs the login stage)
    #[arg(help_heading = LOGIN, long, value_name = "FILE", conflicts_with_all = RESET_ONLY, requires = "cert")]
    pub key: Option<PathBuf>,

    /// OpenVPN auth-user-pass file: user name on line 1, password on line 2 (runs the login stage; passwords are never taken on the command line)
    #[arg(help_heading = LOGIN, long, value_name = "FILE", conflicts_with_all = RESET_ONLY)]
    pub auth_user_pass: Option<PathBuf>,

    /// TOTP secret (base32, or an otpauth://totp/ URI) of the --login account, for a config with `static-challenge`: the password goes with the current code, as OpenVPN's clients send it (SCRV1, or the config's concat)
    #[arg(help_heading = LOGIN, long, value_name = "FILE", requires = "login_stage")]
    pub totp_secret: Option<PathBuf>,

    /// Data-channel cipher, as OpenVPN's `cipher` (e.g. AES-256-CBC for a server that does not negotiate) [default: the config's cipher]; told to the server in the options string
    #[arg(help_heading = LOGIN, long, value_name = "NAME")]
    pub cipher: Option<String>,

    /// Data-channel ciphers the client accepts, as OpenVPN's `data-ciphers` (colon-separated) [default: the config's data-ciphers or ncp-ciphers, else AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305]
    #[arg(help_heading = LOGIN, long, value_name = "LIST")]
    pub data_ciphers: Option<String>,

    /// HMAC digest of a CBC data channel, as OpenVPN's `auth` (MD5, SHA1, SHA256, SHA512, ...); also the tls-auth digest when --digest is not given [default: --digest, else the config's auth, else SHA1]
    #[arg(help_heading = LOGIN, long, value_name = "NAME")]
    pub auth: Option<String>,

    /// Compression framing as OpenVPN's `comp-lzo [yes|no|adaptive]` (the check never compresses; it frames its packets as the server expects) [default: the config's]
    #[arg(help_heading = LOGIN, long, value_name = "MODE", num_args = 0..=1, default_missing_value = "", conflicts_with = "compress")]
    pub comp_lzo: Option<String>,

    /// Compression framing as OpenVPN's `compress [stub|stub-v2|lzo|lz4|lz4-v2|migrate]` (the check never compresses) [default: the config's]
    #[arg(help_heading = LOGIN, long, value_name = "ALGORITHM", num_args = 0..=1, default_missing_value = "")]
    pub compress: Option<String>,

    /// Which compression the server may push, as OpenVPN 2.6's `allow-compression`: no (only the stubs: a pushed comp-lzo yes, compress lz4, ... is CRITICAL, as 2.6 clients stop on it), asym or yes (accepted) [default: the config's, else no unless the config's own comp-lzo/compress allows it, as in 2.6]
    #[arg(help_heading = LOGIN, long, value_name = "MODE", value_parser = ["no", "asym", "yes"])]
    pub allow_compression: Option<String>,

    /// MTU of the client's tun device, as OpenVPN's `tun-mtu` [default: the config's, else 1500]
    #[arg(help_heading = LOGIN, long, value_name = "BYTES", value_parser = clap::value_parser!(u16).range(i64::from(crate::config::TUN_MTU_MIN)..))]
    pub tun_mtu: Option<u16>,

    /// Login stage over TCP: after EXIT, wait until the server closes the connection (its delayed exit, about 5 s; needs --timeout 7 or more), so its log shows a clean exit instead of a connection reset that fail2ban's openvpn filter bans
    #[arg(help_heading = LOGIN, long, requires = "login_stage")]
    pub wait_for_close: bool,

    /// After the login, send ICMP echoes through the tunnel (from the pushed ifconfig address, no root or tun device needed) to the server's own tunnel address; proves the data channel, the server's tun device and its ICMP answer
    #[arg(help_heading = PING, long, conflicts_with_all = RESET_ONLY)]
    pub ping: bool,

    /// Send the echoes to this address instead of the server's tunnel address (IPv4, or IPv6 when the server pushes ifconfig-ipv6); a pushed route or the pushed subnet must cover it
    #[arg(help_heading = PING, long, value_name = "ADDRESS", conflicts_with_all = RESET_ONLY)]
    pub ping_address: Option<std::net::IpAddr>,

    /// Number of echo requests, 1 to 20 [default: 3]
    #[arg(help_heading = PING, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=20), conflicts_with_all = RESET_ONLY)]
    pub ping_count: Option<u16>,

    /// Echo thresholds that raise WARNING, as check_ping: round trip average in ms, and packet loss in percent (at or above either), e.g. 100,20%
    #[arg(help_heading = PING, long, value_name = "RTA,PL%", conflicts_with_all = RESET_ONLY)]
    pub ping_warning: Option<String>,

    /// Echo thresholds that raise CRITICAL, as check_ping: round trip average in ms, and packet loss in percent (at or above either), e.g. 500,60%
    #[arg(help_heading = PING, long, value_name = "RTA,PL%", conflicts_with_all = RESET_ONLY)]
    pub ping_critical: Option<String>,

    /// After the login, look NAME up through the tunnel (from the pushed ifconfig address, no root or tun device needed) at the DNS server the server pushes (dhcp-option DNS, dns server), or --dns-server; OK when it answers with a record
    #[arg(help_heading = DNS, long, value_name = "NAME", conflicts_with_all = RESET_ONLY)]
    pub dns: Option<String>,

    /// The record type to ask for: A, AAAA, MX, TXT, ... [default: A]
    #[arg(help_heading = DNS, long, value_name = "TYPE", requires = "dns")]
    pub dns_type: Option<String>,

    /// Ask this DNS server (through the tunnel) instead of the pushed one, for --dns and for the name in --http's URL; a pushed route or the pushed subnet must cover it
    #[arg(help_heading = DNS, long, value_name = "ADDRESS", requires = "lookup")]
    pub dns_server: Option<std::net::IpAddr>,

    /// An address the answer must hold; another answer is CRITICAL
    #[arg(help_heading = DNS, long, value_name = "ADDRESS", requires = "dns")]
    pub dns_expect: Option<std::net::IpAddr>,

    /// After the login, open a TCP connection through the tunnel to ADDRESS:PORT (IPv6 as [ADDRESS]:PORT) from the pushed ifconfig address, then reset it; OK when the handshake completes; a pushed route or the pushed subnet must cover the address
    #[arg(help_heading = THROUGH, long, value_name = "ADDRESS:PORT", conflicts_with_all = RESET_ONLY)]
    pub tcp_connect: Option<std::net::SocketAddr>,

    /// After the login, GET this http:// or https:// URL through the tunnel (a name in it is looked up through the tunnel's DNS server, as for --dns); OK for a 2xx or 3xx answer, or one of --http-expect; for https the server's certificate must be valid for the name and lead to the system's trust store or --http-ca, and -C applies to its chain
    #[arg(help_heading = THROUGH, long, value_name = "URL", conflicts_with_all = RESET_ONLY)]
    pub http: Option<String>,

    /// The CA certificates (PEM) an https server of --http must lead to [default: the system's trust store]
    #[arg(help_heading = THROUGH, long, value_name = "FILE", requires = "http")]
    pub http_ca: Option<String>,

    /// Status codes that are OK for --http, separated by commas [default: any 2xx or 3xx]
    #[arg(help_heading = THROUGH, long, value_name = "CODES", requires = "http")]
    pub http_expect: Option<String>,

    /// Check a server from its own config, on the server host: its CRL and certificates on disk, the live server probed with its own settings (does it present the certificate on disk?), and its clients from the management interface or status file
    #[arg(
        help_heading = SERVER,
        long,
        value_name = "FILE",
        conflicts_with_all = ["host", "hostname", "config", "remote", "diagnose", "all_addresses", "login", "cert", "key", "auth_user_pass", "tls_auth", "tls_crypt", "digest_key_client", "digest_key_server", "tls", "ca", "ping", "ping_address", "ping_count", "ping_warning", "ping_critical", "dns", "dns_type", "dns_server", "dns_expect", "tcp_connect", "http", "http_expect", "http_ca", "cipher", "data_ciphers", "auth", "comp_lzo", "compress", "allow_compression", "tun_mtu", "peer_fingerprint"]
    )]
    pub server_config: Option<PathBuf>,

    /// With --server-config: check the files and clients only, do not probe the live server
    #[arg(
        help_heading = SERVER,
        long,
        requires = "server_config",
        conflicts_with = "tls_crypt_v2"
    )]
    pub no_probe: bool,

    /// With --server-config: number of connected clients that raises WARNING, as a Nagios range (1: means at least one)
    #[arg(
        help_heading = SERVER,
        long,
        value_name = "RANGE",
        allow_hyphen_values = true,
        requires = "server_config"
    )]
    pub clients_warning: Option<String>,

    /// With --server-config: number of connected clients that raises CRITICAL, as a Nagios range (1: means at least one)
    #[arg(
        help_heading = SERVER,
        long,
        value_name = "RANGE",
        allow_hyphen_values = true,
        requires = "server_config"
    )]
    pub clients_critical: Option<String>,

    /// Response time (seconds) that raises WARNING, as a Nagios range
    #[arg(help_heading = THRESHOLDS, short, long, value_name = "RANGE", allow_hyphen_values = true)]
    pub warning: Option<String>,

    /// Response time (seconds) that raises CRITICAL, as a Nagios range
    #[arg(help_heading = THRESHOLDS, short, long, value_name = "RANGE", allow_hyphen_values = true)]
    pub critical: Option<String>,

    /// Certificate days left: WARNING under the first number, CRITICAL under the second (one number: CRITICAL once expired); applies to every certificate of the chain (runs the TLS stage; a server that demands a client certificate logs a failed handshake unless --cert/--key log in)
    #[arg(help_heading = THRESHOLDS, short = 'C', long = "certificate", value_name = "DAYS[,DAYS]", conflicts_with_all = RESET_ONLY)]
    pub certificate: Option<String>,

    /// More output after the status line (-v details, -vv packet trace, -vvv packet hex)
    #[arg(help_heading = OUTPUT, short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Print this help, exit 0
    #[arg(help_heading = OUTPUT, short, long, action = ArgAction::Help)]
    pub help: Option<bool>,

    /// Print the version, exit 0
    #[arg(help_heading = OUTPUT, short = 'V', long, action = ArgAction::Version)]
    pub version: Option<bool>,
}
