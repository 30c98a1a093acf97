//! Where the HTTPS certificate comes from: `--cert`/`--key` when given; else mkcert's local
//! CA when mkcert is installed (the browser trusts it, no warning); else devproxy's own local
//! CA (rcgen), kept in the user's cache directory, which signs a fresh certificate for this
//! machine's names at every start.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// How `--https` gets its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Https {
    /// `--cert FILE --key FILE`: PEM files (the chain, then the key).
    Files { cert: PathBuf, key: PathBuf },
    /// mkcert when installed, else devproxy's local CA; both keep files in `cache`.
    Auto { cache: PathBuf },
}

/// The server's TLS set-up, and what the banner says about it.
pub(crate) struct Certified {
    pub config: Arc<ServerConfig>,
    /// Where the certificate came from, in a line.
    pub about: String,
    /// How to make the browser trust it, when it may not yet.
    pub trust: Option<String>,
}

/// The subject's name in devproxy's CA: it must be the same at every start, since the CA
/// certificate on disk (the one users trust) is rebuilt from its key and this name.
const CA_NAME: &str = "devproxy local development CA";

/// The certificate for `names` (host names and IP addresses), as `https` says.
pub(crate) fn load(https: &Https, names: &[String]) -> anyhow::Result<Certified> {
    let (chain, key, about, trust) = match https {
        Https::Files { cert, key } => {
            let (chain, key) = read_files(cert, key)?;
            let about = format!("certificate from {}", cert.display());
            (chain, key, about, None)
        }
        Https::Auto { cache } => match mkcert(cache, names) {
            Some(Ok((chain, key, root))) => {
                let about = "certificate from mkcert's local CA".to_string();
                let trust = (!root.is_file()).then(|| {
                    "the browser warns until mkcert's CA is installed: run mkcert -install once"
                        .to_string()
                });
                (chain, key, about, trust)
            }
            found => {
                if let Some(Err(e)) = found {
                    tracing::warn!("mkcert failed ({e:#}); using devproxy's own CA instead");
                }
                let (chain, key, ca) = own_ca(cache, names)?;
                let about = format!("certificate from devproxy's local CA ({})", ca.display());
                (chain, key, about, Some(trust_advice(&ca)))
            }
        },
    };
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("cannot set up TLS")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| match https {
                Https::Files { cert, key } => anyhow!(
                    "--key {} does not go with --cert {}: {e}",
                    key.display(),
                    cert.display()
                ),
                Https::Auto { .. } => anyhow!("cannot use the generated certificate: {e}"),
            })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Certified {
        config: Arc::new(config),
        about,
        trust,
    })
}

type Pair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// A PEM certificate chain and key, with errors that name the file and what it should hold.
fn read_files(cert: &Path, key: &Path) -> anyhow::Result<Pair> {
    let text = |p: &Path, flag: &str| {
        std::fs::read(p).with_context(|| format!("{flag} {}: cannot read", p.display()))
    };
    let pem = text(cert, "--cert")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("--cert {}: not a PEM certificate ({e})", cert.display()))?;
    if chain.is_empty() {
        return Err(anyhow!(
            "--cert {}: no certificate in it (expected -----BEGIN CERTIFICATE-----)",
            cert.display()
        ));
    }
    let pem = text(key, "--key")?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        anyhow!(
            "--key {}: no private key in it (expected -----BEGIN PRIVATE KEY-----, or an RSA or EC key)",
            key.display()
        )
    })?;
    Ok((chain, key))
}

/// mkcert's certificate for `names`, made once and kept in `cache`: `None` when mkcert is not
/// installed, else the pair and the path of mkcert's root (absent until `mkcert -install`).
fn mkcert(
    cache: &Path,
    names: &[String],
) -> Option<
    anyhow::Result<(
        Vec<CertificateDer<'static>>,
        PrivateKeyDer<'static>,
        PathBuf,
    )>,
> {
    let caroot = Command::new("mkcert").arg("-CAROOT").output().ok()?;
    Some((|| {
        if !caroot.status.success() {
            return Err(anyhow!(
                "mkcert -CAROOT: {}",
                String::from_utf8_lossy(&caroot.stderr).trim()
            ));
        }
        let root = PathBuf::from(String::from_utf8_lossy(&caroot.stdout).trim()).join("rootCA.pem");
        let stem = names.join("+").replace([':', '/', '\\', '*'], "_");
        let dir = cache.join("mkcert");
        let (cert, key) = (
            dir.join(format!("{stem}.pem")),
            dir.join(format!("{stem}-key.pem")),
        );
        if !cert.is_file() || !key.is_file() {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let out = Command::new("mkcert")
                .arg("-cert-file")
                .arg(&cert)
                .arg("-key-file")
                .arg(&key)
                .args(names)
                .output()
                .context("cannot run mkcert")?;
            if !out.status.success() {
                return Err(anyhow!("{}", String::from_utf8_lossy(&out.stderr).trim()));
            }
        }
        let (chain, key) = read_files(&cert, &key)?;
        Ok((chain, key, root))
    })())
}

/// devproxy's CA (made on first use, kept in `cache`) and a certificate it signs for `names`.
/// Returns the pair and the CA certificate's path.
fn own_ca(
    cache: &Path,
    names: &[String],
) -> anyhow::Result<(
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
    PathBuf,
)> {
    let (ca_pem, ca_key_pem) = (cache.join("ca.pem"), cache.join("ca-key.pem"));
    let ca_key = match std::fs::read_to_string(&ca_key_pem) {
        Ok(pem) if ca_pem.is_file() => KeyPair::from_pem(&pem).with_context(|| {
            format!(
                "{}: not a usable key; delete it and ca.pem to make a new CA",
                ca_key_pem.display()
            )
        })?,
        _ => {
            let key = KeyPair::generate().context("cannot generate a key")?;
            let ca = ca_params(time::OffsetDateTime::now_utc())
                .self_signed(&key)
                .context("cannot make the CA certificate")?;
            std::fs::create_dir_all(cache)
                .with_context(|| format!("cannot create {}", cache.display()))?;
            write_private(&ca_key_pem, &key.serialize_pem())?;
            std::fs::write(&ca_pem, ca.pem())
                .with_context(|| format!("cannot write {}", ca_pem.display()))?;
            key
        }
    };
    // Signing needs the CA's name and key only: the same as the certificate users trust.
    let issuer = ca_params(time::OffsetDateTime::now_utc())
        .self_signed(&ca_key)
        .context("cannot rebuild the CA certificate")?;
    let mut leaf = CertificateParams::new(names.to_vec())
        .map_err(|e| anyhow!("cannot make a certificate for {}: {e}", names.join(", ")))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "devproxy");
    leaf.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(365);
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().context("cannot generate a key")?;
    let cert = leaf
        .signed_by(&key, &issuer, &ca_key)
        .context("cannot sign the certificate")?;
    let key = PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| anyhow!("cannot use the generated key: {e}"))?;
    Ok((vec![cert.der().clone()], key, ca_pem))
}

fn ca_params(now: time::OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    dn.push(DnType::OrganizationName, "devproxy");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params
}

/// Writes a private key readable by this user only.
fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(pem.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// How to trust devproxy's CA on this system, once (lines).
fn trust_advice(ca: &Path) -> String {
    let ca = ca.display();
    let how = if cfg!(target_os = "macos") {
        format!("sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {ca}")
    } else if cfg!(windows) {
        format!("certutil -addstore -user Root {ca}")
    } else {
        format!("certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n devproxy -i {ca}\n    (that is Chrome's store; in Firefox: Settings > Certificates > Import)")
    };
    format!("browsers warn until you trust devproxy's CA once:\n    {how}\n  Or install mkcert and run mkcert -install once: devproxy then uses its CA.")
}

/// Where devproxy keeps its CA: `DEVPROXY_CACHE_DIR`, else the user's cache directory.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env("DEVPROXY_CACHE_DIR") {
        return Some(dir);
    }
    let base = if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Caches"))
    } else if cfg!(windows) {
        env("LOCALAPPDATA")
    } else {
        env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))
    };
    base.map(|b| b.join("devproxy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_made_once_and_signs_a_certificate_for_the_names() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
        let (chain, _, ca) = own_ca(dir.path(), &names).unwrap();
        let first = std::fs::read(&ca).unwrap();
        assert_eq!(chain.len(), 1);
        let (_, _, again) = own_ca(dir.path(), &names).unwrap();
        assert_eq!(
            std::fs::read(again).unwrap(),
            first,
            "the CA users trust stays"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("ca-key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the CA key is the user's alone");
        }
    }
}
