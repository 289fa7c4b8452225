//! Compression framing (`comp.h`, `lzo.c`, `lz4.c`, `comp-lz4.c`, `compstub.c`). The codec
//! never compresses; it frames its packets as an uncompressed packet of the configured
//! algorithm and undoes the framing of what it receives. A packet the peer did compress is a
//! typed error that names the algorithm.

use std::fmt;

const LZO_COMPRESS_BYTE: u8 = 0x66;
const LZ4_COMPRESS_BYTE: u8 = 0x69;
const NO_COMPRESS_BYTE: u8 = 0xFA;
const NO_COMPRESS_BYTE_SWAP: u8 = 0xFB;
const V2_INDICATOR: u8 = 0x50;
const V2_UNCOMPRESSED: u8 = 0x00;
const V2_LZ4: u8 = 0x01;
const V2_LZO: u8 = 0x02;
const V2_SNAPPY: u8 = 0x03;

/// The framing agreed for the data channel, from the config or the push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression configured, or `compress migrate` with nothing pushed (the server
    /// frames nothing for a client that announced no compression).
    #[default]
    None,
    /// `comp-lzo` in any form (`no`, `yes`, `adaptive`) and `compress lzo`: one header byte,
    /// 0xFA for an uncompressed packet, 0x66 for an LZO-compressed one.
    Lzo,
    /// `compress` / `compress stub` (0xFB only) and `compress lz4` (0x69 when compressed):
    /// the header byte replaces the first byte, which moves to the end.
    Swap,
    /// `compress stub-v2` and `compress lz4-v2`: only a packet starting with 0x50 is
    /// escaped (0x50 0x00); 0x50 0x01 marks LZ4.
    V2,
}

/// A compression algorithm the peer used on a packet this codec cannot decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Lzo,
    Lz4,
    Snappy,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Lzo => "LZO",
            Algorithm::Lz4 => "LZ4",
            Algorithm::Snappy => "Snappy",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a received packet's framing could not be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unframe {
    /// The peer compressed the packet.
    Compressed(Algorithm),
    /// A header byte that the framing does not allow.
    BadHeader { framing: Compression, byte: u8 },
}

/// A compression option this codec has no framing for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCompression(pub String);

impl Compression {
    /// The framing of a config or push option: `comp-lzo [yes|no|adaptive]` or
    /// `compress [stub|stub-v2|lzo|lz4|lz4-v2|migrate]` (`options.c`). `None` for another
    /// option name.
    pub fn from_option(
        name: &str,
        argument: Option<&str>,
    ) -> Option<Result<Compression, UnknownCompression>> {
        let unknown = |a: &str| Err(UnknownCompression(format!("{name} {a}")));
        Some(match (name, argument) {
            ("comp-lzo", None | Some("yes" | "no" | "adaptive")) => Ok(Compression::Lzo),
            ("compress", None | Some("stub" | "lz4")) => Ok(Compression::Swap),
            ("compress", Some("lzo")) => Ok(Compression::Lzo),
            ("compress", Some("stub-v2" | "lz4-v2")) => Ok(Compression::V2),
            ("compress", Some("migrate")) => Ok(Compression::None),
            ("comp-lzo" | "compress", Some(a)) => unknown(a),
            _ => return None,
        })
    }
}

/// `allow-compression no|asym|yes` (OpenVPN 2.6+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowCompression {
    /// Only the stubs: a pushed compression makes the client stop (2.6's default).
    No,
    /// Decompress what the server compresses; send uncompressed.
    Asym,
    /// Compress both ways.
    Yes,
}

impl AllowCompression {
    pub fn name(self) -> &'static str {
        match self {
            AllowCompression::No => "no",
            AllowCompression::Asym => "asym",
            AllowCompression::Yes => "yes",
        }
    }
}

impl std::str::FromStr for AllowCompression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "no" => Ok(AllowCompression::No),
            "asym" => Ok(AllowCompression::Asym),
            "yes" => Ok(AllowCompression::Yes),
            other => Err(format!("'{other}' is not 'yes', 'no' or 'asym'")),
        }
    }
}

// The bits of OpenVPN's `compress_options.flags` (comp.h) that decide what a client
// accepts.
const F_ADAPTIVE: u8 = 1 << 0;
const F_ALLOW_COMPRESS: u8 = 1 << 1;
const F_SWAP: u8 = 1 << 2;
const F_ADVERTISE_STUBS_ONLY: u8 = 1 << 3;
const F_ALLOW_STUB_ONLY: u8 = 1 << 4;
const F_MIGRATE: u8 = 1 << 5;
const F_ALLOW_ASYM: u8 = 1 << 6;

/// The compression options of a 2.6 client as its option parser leaves them (`options.c`
/// `add_option`, `options_postprocess_mutate`): whether an algorithm that really
/// compresses is set, and the flags `allow-compression`, `comp-lzo` and `compress` set
/// and clear, in order. Decides whether a pushed compression is accepted
/// (`check_compression_settings_valid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompressionRules {
    flags: u8,
    /// `comp_non_stub_enabled`: LZO or LZ4, not a stub.
    compresses: bool,
}

impl CompressionRules {
    /// Applies a `comp-lzo`/`compress` option; false for another option or an argument
    /// OpenVPN refuses (which [`Compression::from_option`] reports).
    pub fn apply(&mut self, name: &str, argument: Option<&str>) -> bool {
        match (name, argument) {
            ("comp-lzo", Some("no")) => {
                self.flags &= !(F_SWAP | F_ADAPTIVE);
                self.compresses = false;
            }
            ("comp-lzo", Some("yes")) => {
                self.flags &= !(F_SWAP | F_ADAPTIVE);
                self.compresses = true;
            }
            ("comp-lzo", None | Some("adaptive")) => {
                self.flags = (self.flags & !F_SWAP) | F_ADAPTIVE;
                self.compresses = true;
            }
            ("compress", None | Some("stub")) => {
                self.flags |= F_SWAP | F_ADVERTISE_STUBS_ONLY;
                self.compresses = false;
            }
            ("compress", Some("stub-v2")) => {
                self.flags |= F_ADVERTISE_STUBS_ONLY;
                self.compresses = false;
            }
            ("compress", Some("migrate")) => {
                self.flags = F_MIGRATE;
                self.compresses = false;
            }
            ("compress", Some("lzo")) => {
                self.flags &= !(F_ADAPTIVE | F_SWAP);
                self.compresses = true;
            }
            ("compress", Some("lz4")) => {
                self.flags |= F_SWAP;
                self.compresses = true;
            }
            ("compress", Some("lz4-v2")) => self.compresses = true,
            _ => return false,
        }
        true
    }

    /// Applies `allow-compression`; the error is OpenVPN's refusal of the line.
    pub fn allow(&mut self, allow: AllowCompression) -> Result<(), String> {
        match allow {
            AllowCompression::No => {
                self.flags = F_ALLOW_STUB_ONLY | F_ADVERTISE_STUBS_ONLY;
                if self.compresses {
                    return Err(
                        "'allow-compression no' conflicts with the compression set before it"
                            .into(),
                    );
                }
            }
            _ if self.flags & F_ALLOW_STUB_ONLY != 0 => {
                return Err(format!(
                "'allow-compression {}' after 'allow-compression no': OpenVPN cannot set it back",
                allow.name()
            ))
            }
            AllowCompression::Asym => self.flags = (self.flags & !F_ALLOW_COMPRESS) | F_ALLOW_ASYM,
            AllowCompression::Yes => self.flags |= F_ALLOW_COMPRESS,
        }
        Ok(())
    }

    /// After the whole config: a 2.6 client where no option set a flag allows only the
    /// stubs (`options_postprocess_mutate`).
    pub fn settled(mut self) -> Self {
        if self.flags == 0 && !self.compresses {
            self.flags = F_ALLOW_STUB_ONLY | F_ADVERTISE_STUBS_ONLY;
        }
        self
    }

    /// Only the stubs are allowed (`allow-compression no`, set or by default).
    pub fn stub_only(&self) -> bool {
        self.flags & F_ALLOW_STUB_ONLY != 0
    }

    /// OpenVPN refuses these settings: compression set where only the stubs are allowed.
    pub fn refused(&self) -> bool {
        self.stub_only() && self.compresses
    }
}

/// Appends `payload`, framed, to `out`.
pub(crate) fn frame(compression: Compression, payload: &[u8], out: &mut Vec<u8>) {
    let Some((&first, rest)) = payload.split_first() else {
        return; // every framing leaves an empty packet empty
    };
    match compression {
        Compression::None => out.extend_from_slice(payload),
        Compression::Lzo => {
            out.push(NO_COMPRESS_BYTE);
            out.extend_from_slice(payload);
        }
        Compression::Swap => {
            out.push(NO_COMPRESS_BYTE_SWAP);
            out.extend_from_slice(rest);
            out.push(first);
        }
        Compression::V2 => {
            if first == V2_INDICATOR {
                out.extend_from_slice(&[V2_INDICATOR, V2_UNCOMPRESSED]);
            }
            out.extend_from_slice(payload);
        }
    }
}

/// Undoes the framing of the plaintext in `buf[range]` (in place); returns the payload's
/// range within `buf`.
pub(crate) fn unframe(
    compression: Compression,
    buf: &mut [u8],
    range: std::ops::Range<usize>,
) -> Result<std::ops::Range<usize>, Unframe> {
    let (start, end) = (range.start, range.end);
    if start >= end {
        return Ok(range);
    }
    let first = buf[start];
    let bad = |byte| Unframe::BadHeader {
        framing: compression,
        byte,
    };
    match compression {
        Compression::None => Ok(range),
        Compression::Lzo => match first {
            NO_COMPRESS_BYTE => Ok(start + 1..end),
            LZO_COMPRESS_BYTE => Err(Unframe::Compressed(Algorithm::Lzo)),
            b => Err(bad(b)),
        },
        Compression::Swap => match first {
            NO_COMPRESS_BYTE_SWAP => {
                buf[start] = buf[end - 1];
                Ok(start..end - 1)
            }
            LZ4_COMPRESS_BYTE => Err(Unframe::Compressed(Algorithm::Lz4)),
            b => Err(bad(b)),
        },
        Compression::V2 => {
            if first != V2_INDICATOR {
                return Ok(range);
            }
            match buf.get(start + 1).filter(|_| start + 1 < end) {
                Some(&V2_UNCOMPRESSED) => Ok(start + 2..end),
                Some(&V2_LZ4) => Err(Unframe::Compressed(Algorithm::Lz4)),
                Some(&V2_LZO) => Err(Unframe::Compressed(Algorithm::Lzo)),
                Some(&V2_SNAPPY) => Err(Unframe::Compressed(Algorithm::Snappy)),
                Some(&b) => Err(bad(b)),
                None => Err(bad(first)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: Compression, payload: &[u8]) -> Vec<u8> {
        let mut framed = Vec::new();
        frame(c, payload, &mut framed);
        let len = framed.len();
        let r = unframe(c, &mut framed, 0..len).unwrap();
        framed[r].to_vec()
    }

    #[test]
    fn options_name_their_framing() {
        let cases = [
            ("comp-lzo", None, Compression::Lzo),
            ("comp-lzo", Some("no"), Compression::Lzo),
            ("compress", None, Compression::Swap),
            ("compress", Some("stub"), Compression::Swap),
            ("compress", Some("lz4"), Compression::Swap),
            ("compress", Some("lzo"), Compression::Lzo),
            ("compress", Some("stub-v2"), Compression::V2),
            ("compress", Some("lz4-v2"), Compression::V2),
            ("compress", Some("migrate"), Compression::None),
        ];
        for (name, arg, want) in cases {
            assert_eq!(
                Compression::from_option(name, arg),
                Some(Ok(want)),
                "{name} {arg:?}"
            );
        }
        assert_eq!(
            Compression::from_option("compress", Some("snappy")),
            Some(Err(UnknownCompression("compress snappy".into())))
        );
        assert_eq!(Compression::from_option("cipher", Some("x")), None);
    }

    #[test]
    fn framing_as_openvpn_sends_it() {
        let ip = [0x45, 1, 2, 3];
        let mut out = Vec::new();
        frame(Compression::Lzo, &ip, &mut out);
        assert_eq!(out, [0xFA, 0x45, 1, 2, 3]);
        out.clear();
        frame(Compression::Swap, &ip, &mut out);
        assert_eq!(out, [0xFB, 1, 2, 3, 0x45]);
        out.clear();
        frame(Compression::V2, &ip, &mut out);
        assert_eq!(out, ip);
        out.clear();
        frame(Compression::V2, &[0x50, 9], &mut out);
        assert_eq!(out, [0x50, 0, 0x50, 9]);
    }

    #[test]
    fn every_framing_round_trips() {
        for c in [
            Compression::None,
            Compression::Lzo,
            Compression::Swap,
            Compression::V2,
        ] {
            for p in [&[][..], &[0x50], &[0x45, 0, 1], &[0xFA, 0xFB, 0x50]] {
                assert_eq!(round_trip(c, p), p, "{c:?} {p:?}");
            }
        }
    }

    #[test]
    fn compressed_packets_name_their_algorithm() {
        let cases: [(Compression, &[u8], Unframe); 6] = [
            (
                Compression::Lzo,
                &[0x66, 1],
                Unframe::Compressed(Algorithm::Lzo),
            ),
            (
                Compression::Swap,
                &[0x69, 1],
                Unframe::Compressed(Algorithm::Lz4),
            ),
            (
                Compression::V2,
                &[0x50, 1, 7],
                Unframe::Compressed(Algorithm::Lz4),
            ),
            (
                Compression::V2,
                &[0x50, 3, 7],
                Unframe::Compressed(Algorithm::Snappy),
            ),
            (
                Compression::Lzo,
                &[0x45],
                Unframe::BadHeader {
                    framing: Compression::Lzo,
                    byte: 0x45,
                },
            ),
            (
                Compression::V2,
                &[0x50],
                Unframe::BadHeader {
                    framing: Compression::V2,
                    byte: 0x50,
                },
            ),
        ];
        for (c, p, want) in cases {
            let mut b = p.to_vec();
            assert_eq!(unframe(c, &mut b, 0..p.len()), Err(want), "{c:?} {p:?}");
        }
    }
}
