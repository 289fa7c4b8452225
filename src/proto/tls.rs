//! The rustls side of the TLS stage: a client configuration that speaks what an OpenVPN
//! 2.6 server accepts (ring provider, TLS 1.2 and 1.3, no SNI, no resumption), and a
//! certificate verifier that *captures* the server's chain instead of judging it.
//!
//! Capture first, judge second: the verifier accepts any chain so that an expired or
//! foreign chain is still seen whole (and reported by [`crate::chain`]), but it checks
//! the handshake signatures for real, so "the server proved itself" means the server holds
//! the private key of the certificate it sent.

use crate::algorithms;
use crate::client_rules::ClientRules;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, PeerIncompatible, PeerMisbehaved,
    SignatureScheme,
};
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
        let ok = verify_signature(message, cert, dss, false)?;
        self.capture.tls12_signed.store(true, Ordering::Relaxed);
        Ok(ok)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature(message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms::SUPPORTED.supported_schemes()
    }
}

/// Schemes TLS 1.3 allows (RFC 8446 4.2.3: no PKCS#1 v1.5, no SHA-1).
fn allowed_in_tls13(scheme: SignatureScheme) -> bool {
    use SignatureScheme as S;
    matches!(
        scheme,
        S::ECDSA_NISTP256_SHA256
            | S::ECDSA_NISTP384_SHA384
            | S::ECDSA_NISTP521_SHA512
            | S::ED25519
            | S::RSA_PSS_SHA256
            | S::RSA_PSS_SHA384
            | S::RSA_PSS_SHA512
    ) || [
        algorithms::RSA_PSS_PSS_SHA256,
        algorithms::RSA_PSS_PSS_SHA384,
        algorithms::RSA_PSS_PSS_SHA512,
    ]
    .contains(&scheme)
}

/// The server's handshake signature, checked against the public key of its certificate
/// (read by x509-parser, so that an X.509 v1 certificate, which webpki does not parse,
/// counts as OpenVPN's clients count it) with the algorithms its scheme maps to.
fn verify_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    tls13: bool,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let unadvertised =
        || rustls::Error::from(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme);
    if tls13 && !allowed_in_tls13(dss.scheme) {
        return Err(unadvertised());
    }
    let candidates = algorithms::SUPPORTED
        .mapping
        .iter()
        .find(|(s, _)| *s == dss.scheme)
        .ok_or_else(unadvertised)?
        .1;
    // TLS 1.3 schemes name the curve: only the first candidate, the scheme's own (as
    // rustls does); TLS 1.2 ECDSA schemes name only the hash.
    let candidates = if tls13 {
        &candidates[..candidates.len().min(1)]
    } else {
        candidates
    };
    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let spki = SubjectPublicKeyInfoDer::from(parsed.tbs_certificate.subject_pki.raw);
    let key = webpki::RawPublicKeyEntity::try_from(&spki)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let mut fitted = false;
    for alg in candidates {
        match key.verify_signature(*alg, message, dss.signature()) {
            Ok(()) => return Ok(HandshakeSignatureValid::assertion()),
            Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)) => {}
            // A key this algorithm takes, but not of a size it takes: the next may.
            Err(webpki::Error::InvalidSignatureForPublicKey) => fitted = true,
            Err(_) => {}
        }
    }
    if fitted {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::BadSignature,
        ))
    } else {
        // No algorithm of ours takes this key with this scheme (a key type or size this
        // check does not verify): not the server's fault.
        Err(PeerIncompatible::NoSignatureSchemesInCommon.into())
    }
}

/// A client configuration for one handshake, and the capture its verifier fills.
/// `rules` narrow the hello as the client config narrows OpenVPN's: the versions, the
/// suites and the groups, in the config's order.
pub fn client_config(
    capture: Arc<Capture>,
    client_auth: Option<Arc<rustls::sign::CertifiedKey>>,
    rules: &ClientRules,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let mut provider = algorithms::provider();
    let ordered = |wanted: &[rustls::CipherSuite], tls13: bool| {
        wanted
            .iter()
            .filter_map(|w| {
                provider
                    .cipher_suites
                    .iter()
                    .find(|s| s.suite() == *w && s.tls13().is_some() == tls13)
                    .copied()
            })
            .collect::<Vec<_>>()
    };
    let tls12 = match rules.tls12_offer() {
        Some(w) => ordered(&w, false),
        None => provider
            .cipher_suites
            .iter()
            .filter(|s| s.tls13().is_none())
            .copied()
            .collect(),
    };
    let tls13 = match &rules.tls13_suites {
        Some(w) => ordered(w, true),
        None => provider
            .cipher_suites
            .iter()
            .filter(|s| s.tls13().is_some())
            .copied()
            .collect(),
    };
    provider.cipher_suites = tls13.into_iter().chain(tls12).collect();
    if let Some(groups) = rules.groups_offer() {
        let all = std::mem::take(&mut provider.kx_groups);
        provider.kx_groups = groups
            .iter()
            .filter_map(|g| all.iter().find(|k| k.name() == *g).copied())
            .collect();
    }
    let versions: &[&rustls::SupportedProtocolVersion] = if rules.max_tls12 {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let verifier = Arc::new(CaptureVerifier { capture });
    let builder = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)?
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
