//! Throw-away PKIs with exact validity dates, made at test time with the `openssl` CLI.
//!
//! Why: certificate checks (expiry warnings, not-yet-valid, missing EKU, revocation,
//! expired CRLs, chains through intermediates, weak keys) need certificates whose dates
//! are relative to *now*. Such files must never be committed (they would rot), so every
//! test makes its own in a temporary directory.
//!
//! How: OpenSSL 3.0 (Debian bookworm) has no `-not_before`/`-not_after` for `openssl x509
//! -req` or `openssl req -x509`, so every certificate — self-signed roots included
//! (`-selfsign`) — is issued with `openssl ca -startdate … -enddate …` (times in
//! `YYYYMMDDHHMMSSZ`). Each issuer has its own minimal CA database (`index.txt`, `serial`,
//! `crlnumber`) under `DIR/ca-db/NAME/`, so serials are unique per issuer and
//! [`TestPki::revoke`] / [`TestPki::crl`] work per issuer. CRLs get exact dates from
//! `openssl ca -gencrl -crl_lastupdate … -crl_nextupdate …` (present since OpenSSL 3.0).
//! All signatures are SHA-256. `OPENSSL_CONF` points at our own config, so the system's
//! openssl.cnf plays no part.
//!
//! ```ignore
//! let mut pki = TestPki::temp();
//! let ca = pki.self_signed_ca("ca", &CertSpec::ca("Test CA"));
//! let srv = pki.issue(&ca, "server", &CertSpec {
//!     not_after_days: 5, // expires in five days
//!     ..CertSpec::server("vpn.example")
//! });
//! let extra = [format!("cert {}", srv.crt.display()), format!("key {}", srv.key.display())];
//! ```
//!
//! Paths in [`Issued`] are absolute, so they can go straight into extra server config
//! lines (`cert /tmp/…/server.crt`) that override the harness defaults.

use super::{openssl_bin, run_tool};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in a day; validity offsets are whole days from now.
const DAY: i64 = 86_400;

/// Config for `openssl req` (only to build CSRs) and `openssl ca` (run with the issuer's
/// database directory as the working directory, hence `dir = .`).
const CNF: &str = "\
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = .
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/issued
default_md = sha256
# Several certificates may share a subject (e.g. an expired and a fresh server cert).
unique_subject = no
# Extensions come only from our -extfile, never from the request.
copy_extensions = none
policy = policy_any
[ policy_any ]
commonName = supplied
";

/// The key algorithm of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// prime256v1 / P-256, like the harness' default PKI.
    Ec256,
    Rsa2048,
    /// For an "old weak server" case; OpenSSL 3.0 still makes and signs with these.
    Rsa1024,
}

/// What to put in one certificate. Start from [`CertSpec::server`], [`CertSpec::client`]
/// or [`CertSpec::ca`] and override fields with `..`.
#[derive(Clone, Copy, Debug)]
pub struct CertSpec<'a> {
    pub cn: &'a str,
    /// Extra DN parts placed before the CN, in `-subj` syntax: `"/O=Example/OU=VPN"`;
    /// `""` for none.
    pub subject_extra: &'a str,
    pub key: KeyKind,
    /// notBefore in days relative to now: `-1` (yesterday), `10` (not yet valid).
    pub not_before_days: i64,
    /// notAfter in days relative to now: `5` (expires in five days), `-1` (expired).
    pub not_after_days: i64,
    /// extendedKeyUsage value, e.g. `Some("serverAuth")`; `None` = no EKU extension.
    pub eku: Option<&'a str>,
    /// Whether a keyUsage extension is present: keyCertSign, cRLSign for a CA;
    /// digitalSignature, keyEncipherment for an RSA leaf; digitalSignature, keyAgreement
    /// for an EC leaf.
    pub key_usage: bool,
    /// basicConstraints CA:TRUE (else CA:FALSE).
    pub is_ca: bool,
    /// subjectAltName in `openssl x509v3_config` syntax: `"DNS:web.test, IP:10.8.0.1"`.
    pub san: Option<&'a str>,
}

impl<'a> CertSpec<'a> {
    /// A TLS server leaf: EC P-256, valid from yesterday for ten years, EKU serverAuth, KU.
    pub fn server(cn: &'a str) -> Self {
        CertSpec {
            cn,
            subject_extra: "",
            key: KeyKind::Ec256,
            not_before_days: -1,
            not_after_days: 3650,
            eku: Some("serverAuth"),
            key_usage: true,
            is_ca: false,
            san: None,
        }
    }

    /// A TLS client leaf: like [`CertSpec::server`] with EKU clientAuth.
    pub fn client(cn: &'a str) -> Self {
        CertSpec {
            eku: Some("clientAuth"),
            ..CertSpec::server(cn)
        }
    }

    /// A CA (root or intermediate): CA:TRUE, keyCertSign/cRLSign, no EKU.
    pub fn ca(cn: &'a str) -> Self {
        CertSpec {
            eku: None,
            is_ca: true,
            ..CertSpec::server(cn)
        }
    }
}

/// A certificate and its private key, both PEM files with absolute paths.
#[derive(Clone, Debug)]
pub struct Issued {
    pub crt: PathBuf,
    pub key: PathBuf,
    /// The certificate's PEM text (the content of `crt`).
    pub pem: String,
}

impl Issued {
    /// The file stem the certificate was created under; it names the issuer database.
    fn name(&self) -> String {
        self.crt
            .file_stem()
            .expect("certificate file name")
            .to_string_lossy()
            .into_owned()
    }
}

/// A set of CAs and certificates in one directory. Files: `NAME.key`, `NAME.crt`,
/// `NAME.crl`, and `ca-db/NAME/` for each certificate that has signed something.
pub struct TestPki {
    dir: PathBuf,
    /// Set by [`TestPki::temp`]: removed when the `TestPki` is dropped.
    _tmp: Option<tempfile::TempDir>,
    /// How many issuer databases exist; seeds each one's serial range.
    databases: u32,
}

impl TestPki {
    /// A PKI in `dir` (which must exist and outlive the `TestPki`, e.g. a `TempDir`).
    pub fn new(dir: &Path) -> TestPki {
        let dir = dir
            .canonicalize()
            .unwrap_or_else(|e| panic!("PKI dir {}: {e}", dir.display()));
        fs::write(dir.join("openssl.cnf"), CNF).expect("write PKI openssl.cnf");
        TestPki {
            dir,
            _tmp: None,
            databases: 0,
        }
    }

    /// A PKI in a fresh temporary directory that it owns (removed on drop).
    pub fn temp() -> TestPki {
        let tmp = tempfile::Builder::new()
            .prefix("check-openvpn-testpki-")
            .tempdir()
            .expect("tempdir for TestPki");
        let mut pki = TestPki::new(tmp.path());
        pki._tmp = Some(tmp);
        pki
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A self-signed certificate (a root CA when `spec.is_ca`), stored as `NAME.crt`.
    pub fn self_signed_ca(&mut self, name: &str, spec: &CertSpec) -> Issued {
        self.make(None, name, spec)
    }

    /// A certificate signed by `issuer`'s key and recorded in `issuer`'s database. Works
    /// for intermediates (`spec.is_ca`) and leaves; `issuer` may even be a leaf (for "signed
    /// by a non-CA" cases).
    pub fn issue(&mut self, issuer: &Issued, name: &str, spec: &CertSpec) -> Issued {
        self.make(Some(issuer), name, spec)
    }

    /// Marks `cert` revoked in `issuer`'s database; the next [`TestPki::crl`] of that issuer
    /// lists it. `cert` must have been issued by `issuer`.
    pub fn revoke(&mut self, issuer: &Issued, cert: &Issued) {
        let db = self.db(&issuer.name());
        run_tool(
            self.openssl(&db)
                .args(["ca", "-batch", "-config"])
                .arg(self.cnf())
                .arg("-keyfile")
                .arg(&issuer.key)
                .arg("-cert")
                .arg(&issuer.crt)
                .arg("-revoke")
                .arg(&cert.crt),
        );
    }

    /// A PEM CRL `NAME.crl` signed by `issuer` with exact lastUpdate / nextUpdate (days
    /// from now; `next_update_days = -1` makes an expired CRL).
    pub fn crl(
        &mut self,
        issuer: &Issued,
        name: &str,
        last_update_days: i64,
        next_update_days: i64,
    ) -> PathBuf {
        let db = self.db(&issuer.name());
        let out = self.dir.join(format!("{name}.crl"));
        run_tool(
            self.openssl(&db)
                .args(["ca", "-batch", "-gencrl", "-md", "sha256", "-config"])
                .arg(self.cnf())
                .arg("-keyfile")
                .arg(&issuer.key)
                .arg("-cert")
                .arg(&issuer.crt)
                .arg("-crl_lastupdate")
                .arg(days_from_now(last_update_days))
                .arg("-crl_nextupdate")
                .arg(days_from_now(next_update_days))
                .arg("-out")
                .arg(&out),
        );
        out
    }

    /// Writes the PEMs of `certs`, in order, to `NAME.pem` (e.g. leaf then intermediate,
    /// for an OpenVPN `cert` file that sends its chain).
    pub fn chain_file(&self, name: &str, certs: &[&Issued]) -> PathBuf {
        let path = self.dir.join(format!("{name}.pem"));
        let text: String = certs.iter().map(|c| c.pem.as_str()).collect();
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    fn cnf(&self) -> PathBuf {
        self.dir.join("openssl.cnf")
    }

    /// `openssl` run in `cwd` with our config, never the system's.
    fn openssl(&self, cwd: &Path) -> Command {
        let mut c = Command::new(openssl_bin());
        c.current_dir(cwd).env("OPENSSL_CONF", self.cnf());
        c
    }

    /// The CA database of the certificate named `name`, created on first use. Serials of
    /// database number N start at hex N00001, so they are unique per issuer (and across the
    /// whole `TestPki`, up to 255 certificates per issuer).
    fn db(&mut self, name: &str) -> PathBuf {
        let db = self.dir.join("ca-db").join(name);
        if !db.join("index.txt").exists() {
            self.databases += 1;
            fs::create_dir_all(db.join("issued")).expect("create CA database dir");
            fs::write(db.join("index.txt"), "").expect("write index.txt");
            fs::write(db.join("serial"), format!("{:04X}01\n", self.databases))
                .expect("write serial");
            fs::write(db.join("crlnumber"), "01\n").expect("write crlnumber");
        }
        db
    }

    fn make(&mut self, issuer: Option<&Issued>, name: &str, spec: &CertSpec) -> Issued {
        let crt = self.dir.join(format!("{name}.crt"));
        let key = self.dir.join(format!("{name}.key"));
        let csr = self.dir.join(format!("{name}.csr"));
        let ext = self.dir.join(format!("{name}.ext.cnf"));
        assert!(!crt.exists(), "TestPki: name {name:?} is already used");

        let keygen: &[&str] = match spec.key {
            KeyKind::Ec256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            KeyKind::Rsa2048 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            KeyKind::Rsa1024 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        };
        run_tool(
            self.openssl(&self.dir)
                .arg("genpkey")
                .args(keygen)
                .arg("-out")
                .arg(&key),
        );
        let subject = format!("{}/CN={}", spec.subject_extra, spec.cn.replace('/', "\\/"));
        run_tool(
            self.openssl(&self.dir)
                .args(["req", "-new", "-config"])
                .arg(self.cnf())
                .arg("-key")
                .arg(&key)
                .args(["-subj", &subject, "-out"])
                .arg(&csr),
        );
        fs::write(&ext, extensions(spec, issuer.is_some())).expect("write extension file");

        // A self-signed certificate goes into its own (new) database; later certificates
        // it signs continue that database's serials.
        let (db, sign_key, sign_cert) = match issuer {
            Some(i) => (self.db(&i.name()), i.key.clone(), Some(i.crt.clone())),
            None => (self.db(name), key.clone(), None),
        };
        let mut cmd = self.openssl(&db);
        cmd.args(["ca", "-batch", "-notext", "-preserveDN", "-md", "sha256"])
            .arg("-config")
            .arg(self.cnf())
            .arg("-keyfile")
            .arg(&sign_key);
        match &sign_cert {
            Some(c) => cmd.arg("-cert").arg(c),
            None => cmd.arg("-selfsign"),
        };
        cmd.arg("-startdate")
            .arg(days_from_now(spec.not_before_days))
            .arg("-enddate")
            .arg(days_from_now(spec.not_after_days))
            .arg("-extfile")
            .arg(&ext)
            .args(["-extensions", "ext", "-in"])
            .arg(&csr)
            .arg("-out")
            .arg(&crt);
        run_tool(&mut cmd);

        let pem = fs::read_to_string(&crt).expect("read issued certificate");
        Issued { crt, key, pem }
    }
}

/// The `[ ext ]` section for `openssl ca -extfile`.
fn extensions(spec: &CertSpec, has_issuer: bool) -> String {
    let mut s = String::from("[ ext ]\n");
    s.push_str(if spec.is_ca {
        "basicConstraints = critical, CA:TRUE\n"
    } else {
        "basicConstraints = critical, CA:FALSE\n"
    });
    if spec.key_usage {
        let ku = match (spec.is_ca, spec.key) {
            (true, _) => "keyCertSign, cRLSign",
            (false, KeyKind::Ec256) => "digitalSignature, keyAgreement",
            (false, KeyKind::Rsa2048 | KeyKind::Rsa1024) => "digitalSignature, keyEncipherment",
        };
        s.push_str(&format!("keyUsage = critical, {ku}\n"));
    }
    if let Some(eku) = spec.eku {
        s.push_str(&format!("extendedKeyUsage = {eku}\n"));
    }
    if let Some(san) = spec.san {
        s.push_str(&format!("subjectAltName = {san}\n"));
    }
    s.push_str("subjectKeyIdentifier = hash\n");
    // Lets verifiers match a certificate to its issuer by key id (a self-signed one
    // would only point at itself).
    if has_issuer {
        s.push_str("authorityKeyIdentifier = keyid\n");
    }
    s
}

/// A `ffdhe2048` DH parameters file `DIR/dh.pem` (instant, unlike `openssl dhparam`), for
/// a DHE-only TLS 1.2 OpenVPN server (`dh /…/dh.pem`).
pub fn dh_params(dir: &Path) -> PathBuf {
    let path = dir.join("dh.pem");
    run_tool(
        Command::new(openssl_bin())
            .args([
                "genpkey",
                "-genparam",
                "-algorithm",
                "DH",
                "-pkeyopt",
                "dh_param:ffdhe2048",
                "-out",
            ])
            .arg(&path),
    );
    path
}

/// Now plus `days`, as an ASN.1 time for `openssl ca`.
pub fn days_from_now(days: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    asn1_time(now + days * DAY)
}

/// Unix seconds as `YYYYMMDDHHMMSSZ` (UTC), the GeneralizedTime form that
/// `openssl ca -startdate/-enddate/-crl_lastupdate/-crl_nextupdate` accept in 3.0.
pub fn asn1_time(unix_secs: i64) -> String {
    let (days, secs) = (unix_secs.div_euclid(DAY), unix_secs.rem_euclid(DAY));
    // Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
