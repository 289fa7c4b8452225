//! The rustls side of the TLS stage: a client configuration that speaks what an OpenVPN
//! 2.6 server accepts (ring provider, TLS 1.2 and 1.3, no SNI, no resumption), and a
//! certificate verifier that *captures* the server's chain instead of judging it.
//!
//! Capture first, judge second: the verifier accepts any chain so that an expired or
//! foreign chain is still seen whole (and reported by [`crate::chain`]), but it checks
//! the handshake signatures for real, so "the server proved itself" means the server holds
//! the private key of the certificate it sent.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, verify_tls13_signature_with_raw_key,
    CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the verifier saw during one handshake.
#[derive(Debug, Default)]
pub struct Capture {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    /// TLS 1.2: the server's signed key exchange verified against its certificate (TLS
    /// 1.3 needs no flag: its Finished ends the client's handshake).
    tls12_signed: AtomicBool,
}

impl Capture {
    /// The chain as the server sent it, leaf first; empty until the certificate arrived.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn has_chain(&self) -> bool {
        self.chain.lock().map(|c| !c.is_empty()).unwrap_or(false)
    }

    pub fn tls12_signed(&self) -> bool {
        self.tls12_signed.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct CaptureVerifier {
    capture: Arc<Capture>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CaptureVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut slot) = self.capture.chain.lock() {
            *slot = chain;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        let ok = match verify_tls12_signature(message, cert, dss, algs) {
            Ok(ok) => ok,
            // webpki parses only X.509 v3; OpenVPN's clients accept v1 certificates too.
            Err(e) => match leaf_spki(cert) {
                Some(spki) => verify_with_spki(message, &spki, dss, algs).ok_or(e)?,
                None => return Err(e),
            },
        };
        self.capture.tls12_signed.store(true, Ordering::Relaxed);
        Ok(ok)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        let ok = match verify_tls13_signature(message, cert, dss, algs) {
            Ok(ok) => ok,
            Err(e) => match leaf_spki(cert) {
                Some(spki) => {
                    let spki = SubjectPublicKeyInfoDer::from(spki.as_slice());
                    verify_tls13_signature_with_raw_key(message, &spki, dss, algs).map_err(|_| e)?
                }
                None => return Err(e),
            },
        };
        Ok(ok)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The SubjectPublicKeyInfo of a certificate webpki would not parse (an X.509 v1 one).
fn leaf_spki(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    Some(parsed.tbs_certificate.subject_pki.raw.to_vec())
}

/// TLS 1.2 signature check against a bare public key: each algorithm the scheme maps to.
fn verify_with_spki(
    message: &[u8],
    spki: &[u8],
    dss: &DigitallySignedStruct,
    algs: &WebPkiSupportedAlgorithms,
) -> Option<HandshakeSignatureValid> {
    let spki = SubjectPublicKeyInfoDer::from(spki);
    let key = webpki::RawPublicKeyEntity::try_from(&spki).ok()?;
    let candidates = algs.mapping.iter().find(|(s, _)| *s == dss.scheme)?.1;
    candidates
        .iter()
        .any(|alg| key.verify_signature(*alg, message, dss.signature()).is_ok())
        .then(HandshakeSignatureValid::assertion)
}

/// A client configuration for one handshake, and the capture its verifier fills.
pub fn client_config(
    capture: Arc<Capture>,
    client_auth: Option<Arc<rustls::sign::CertifiedKey>>,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(CaptureVerifier {
        capture,
        provider: provider.clone(),
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client_auth {
        Some(key) => {
            builder.with_client_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(key)))
        }
        None => builder.with_no_client_auth(),
    };
    // OpenVPN sends no SNI and never resumes a session.
    config.enable_sni = false;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// `TLSv1.3`, as OpenSSL and OpenVPN's log spell it.
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

/// `TLS_AES_256_GCM_SHA384`, the IANA name.
pub fn suite_name(s: rustls::CipherSuite) -> String {
    // rustls spells TLS 1.3 suites TLS13_*; IANA (and OpenSSL) say TLS_*.
    match s.as_str() {
        Some(name) => match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name.to_string(),
        },
        None => format!("{s:?}"),
    }
}
