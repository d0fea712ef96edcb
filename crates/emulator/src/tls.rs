//! HTTPS for the emulator: a development CA generated into the data directory on first start
//! (kept and reused, so clients trust it once), a server certificate signed by it at every start
//! for the host names in use, or a certificate and key given as PEM files.

use crate::config::TlsSource;
use crate::error::EmulatorError;
use crate::store::blobs::{create_private_dir, open_private};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Where the generated CA lives, relative to the data directory.
pub const TLS_DIR: &str = "tls";
/// The generated CA certificate: what a client trusts (`NODE_EXTRA_CA_CERTS`, `curl --cacert`).
pub const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";

/// Host names the generated server certificate always covers (the loopback API and content hosts).
pub const DEFAULT_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "127.0.0.2", "::1"];

/// The path of the generated CA certificate in `data_dir`.
pub fn ca_cert_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TLS_DIR).join(CA_CERT_FILE)
}

fn tls_error(what: &str, e: impl std::fmt::Display) -> EmulatorError {
    EmulatorError::Io(std::io::Error::other(format!("{what}: {e}")))
}

/// The CA's distinguished name and usages; rebuilt identically from the stored key at every
/// start (the issuer name and key identifier of the server certificate come from these).
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.distinguished_name.push(DnType::CommonName, "onedrive-emulator development CA");
    params.distinguished_name.push(DnType::OrganizationName, "onedrive-emulator");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::io::Write::write_all(&mut open_private(path, true, true)?, contents.as_bytes())
}

/// Loads the CA from `data_dir/tls`, creating it on first use: (CA certificate PEM, issuer).
fn load_or_create_ca(data_dir: &Path) -> Result<(String, Issuer<'static, KeyPair>), EmulatorError> {
    let dir = data_dir.join(TLS_DIR);
    create_private_dir(&dir)?;
    let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
    if !cert_path.exists() || !key_path.exists() {
        let key = KeyPair::generate().map_err(|e| tls_error("cannot generate the CA key", e))?;
        let cert = ca_params().self_signed(&key).map_err(|e| tls_error("cannot sign the CA certificate", e))?;
        let _ = std::fs::remove_file(&key_path);
        let _ = std::fs::remove_file(&cert_path);
        write_private(&key_path, &key.serialize_pem())?;
        write_private(&cert_path, &cert.pem())?;
        tracing::info!(ca = %cert_path.display(), "generated a development CA");
    }
    let key =
        KeyPair::from_pem(&std::fs::read_to_string(&key_path)?).map_err(|e| tls_error("cannot read the CA key", e))?;
    Ok((std::fs::read_to_string(&cert_path)?, Issuer::new(ca_params(), key)))
}

/// A server certificate chain and key for `hosts` (plus [`DEFAULT_HOSTS`]), signed by the data
/// directory's CA.
pub fn generated_chain(
    data_dir: &Path,
    hosts: &[String],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), EmulatorError> {
    let (ca_pem, issuer) = load_or_create_ca(data_dir)?;
    let mut names: Vec<String> = DEFAULT_HOSTS.iter().map(|h| h.to_string()).collect();
    for host in hosts {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if !host.is_empty() && !names.contains(&host) {
            names.push(host);
        }
    }
    let mut params = CertificateParams::new(names).map_err(|e| tls_error("invalid host name", e))?;
    params.distinguished_name.push(DnType::CommonName, "onedrive-emulator");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(|e| tls_error("cannot generate the server key", e))?;
    let cert = params.signed_by(&key, &issuer).map_err(|e| tls_error("cannot sign the server certificate", e))?;
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|e| tls_error("cannot read the CA", e))?;
    let key = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| tls_error("server key", e))?;
    Ok((vec![cert.der().clone(), ca], key))
}

/// Reads a PEM certificate chain and a PEM private key.
pub fn chain_from_files(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), EmulatorError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| tls_error(&format!("cannot read {}", cert.display()), e))?;
    if chain.is_empty() {
        return Err(tls_error(&format!("no certificate in {}", cert.display()), "empty"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| tls_error(&format!("cannot read {}", key.display()), e))?;
    Ok((chain, key))
}

/// The TLS acceptor for `source` (HTTP/1.1 only, rustls over ring). `hosts` are the names the
/// emulator is reached by; a generated certificate covers them.
pub fn acceptor(source: &TlsSource, data_dir: &Path, hosts: &[String]) -> Result<TlsAcceptor, EmulatorError> {
    let (chain, key) = match source {
        TlsSource::Generated => generated_chain(data_dir, hosts)?,
        TlsSource::Files { cert, key } => chain_from_files(cert, key)?,
    };
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("TLS versions", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| tls_error("the certificate does not match the key", e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = generated_chain(dir.path(), &["emu.test".into()]).unwrap();
        let ca = std::fs::read(ca_cert_path(dir.path())).unwrap();
        let (second, _) = generated_chain(dir.path(), &[]).unwrap();
        assert_eq!(std::fs::read(ca_cert_path(dir.path())).unwrap(), ca);
        assert_eq!(first[1], second[1], "the same CA is sent at every start");
        assert_ne!(first[0], second[0], "a fresh server certificate at every start");
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join(TLS_DIR).join(CA_KEY_FILE)), 0o600);
        assert_eq!(mode(&dir.path().join(TLS_DIR)), 0o700);
    }
}
