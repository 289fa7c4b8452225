//! Where key, certificate and CRL text comes from: a file or a config's inline block.

use std::path::PathBuf;

/// Where key text comes from. `report` words it (its `Display`: the path, or the block's
/// name; never the text).
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A path, already resolved against the config file's folder.
    File(PathBuf),
    /// The text of an inline block (wiped when dropped), and a name for it in messages.
    Inline {
        text: zeroize::Zeroizing<String>,
        name: String,
    },
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "File({})", p.display()),
            KeySource::Inline { name, .. } => write!(f, "Inline({name})"),
        }
    }
}
