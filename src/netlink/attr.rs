//! Netlink attributes: a writer that appends them to a buffer, and checked
//! readers to parse them.

use netlink_packet_core::{NLA_F_NESTED, NlasIterator};

use crate::error::{Error, Result};

/// Appends netlink attributes to a buffer: header, value, padding to 4
/// bytes, as the kernel's `nla_put` lays them out. Straight into the
/// buffer, with no intermediate value tree: encoding is on the path of
/// every write.
///
/// The buffer's length must be a multiple of 4 when the writer starts (it
/// is, after a netlink header, a generic netlink header or an attribute).
pub(crate) struct AttrWriter<'a> {
    buf: &'a mut Vec<u8>,
}

/// An attribute's length field, which counts its header and its value but
/// not the padding. Every attribute this crate writes is far below 64 KiB
/// (the longest value is a 16-byte name).
fn nla_len(len: usize) -> [u8; 2] {
    debug_assert!(len <= usize::from(u16::MAX));
    (len as u16).to_ne_bytes()
}

impl<'a> AttrWriter<'a> {
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        debug_assert_eq!(buf.len() % 4, 0);
        AttrWriter { buf }
    }

    fn pad(&mut self) {
        let aligned = self.buf.len().next_multiple_of(4);
        self.buf.resize(aligned, 0);
    }

    /// An attribute of the bytes of `parts`, back to back.
    pub(crate) fn put_parts(&mut self, kind: u16, parts: &[&[u8]]) -> &mut Self {
        let len = 4 + parts.iter().map(|p| p.len()).sum::<usize>();
        self.buf.extend_from_slice(&nla_len(len));
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        for part in parts {
            self.buf.extend_from_slice(part);
        }
        self.pad();
        self
    }

    pub(crate) fn u8(&mut self, kind: u16, v: u8) -> &mut Self {
        self.put_parts(kind, &[&[v]])
    }
    /// Host byte order.
    pub(crate) fn u16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put_parts(kind, &[&v.to_ne_bytes()])
    }
    /// Network byte order.
    pub(crate) fn be16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put_parts(kind, &[&v.to_be_bytes()])
    }
    /// Host byte order.
    pub(crate) fn u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.put_parts(kind, &[&v.to_ne_bytes()])
    }
    pub(crate) fn bytes(&mut self, kind: u16, v: &[u8]) -> &mut Self {
        self.put_parts(kind, &[v])
    }
    /// A string, NUL-terminated on the wire.
    pub(crate) fn cstr(&mut self, kind: u16, v: &str) -> &mut Self {
        self.put_parts(kind, &[v.as_bytes(), &[0]])
    }
    /// A nested attribute (`NLA_F_NESTED` set) holding what `content`
    /// writes.
    pub(crate) fn nested(&mut self, kind: u16, content: impl FnOnce(&mut Self)) -> &mut Self {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        content(self);
        let len = nla_len(self.buf.len() - start);
        self.buf[start..start + 2].copy_from_slice(&len);
        self
    }
}

/// The attributes `content` writes, in a buffer of their own.
pub(crate) fn attrs(content: impl FnOnce(&mut AttrWriter<'_>)) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    content(&mut AttrWriter::new(&mut buf));
    buf
}

/// An attribute seen in a reply: its type (flags masked off) and value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawNla<'a> {
    pub(crate) kind: u16,
    /// The type field as sent, flag bits included.
    pub(crate) raw_kind: u16,
    pub(crate) value: &'a [u8],
}

/// Walks the attributes of `buf` through checked views. A malformed
/// attribute (header cut short, length below the header or past the
/// buffer) is an error naming `context`.
pub(crate) fn walk<'a>(
    buf: &'a [u8],
    context: &'static str,
) -> impl Iterator<Item = Result<RawNla<'a>>> + 'a {
    NlasIterator::new(buf).map(move |nla| match nla {
        Ok(nla) => {
            let kind = nla.kind();
            // new_checked proved 4 <= length <= buffer length.
            let len = usize::from(nla.length());
            let bytes: &'a [u8] = nla.into_inner();
            let raw_kind = bytes
                .get(2..4)
                .map_or(kind, |t| u16::from_ne_bytes([t[0], t[1]]));
            Ok(RawNla {
                kind,
                raw_kind,
                value: bytes.get(4..len).unwrap_or(&[]),
            })
        }
        Err(e) => Err(Error::Decode(format!("{context}: {e}"))),
    })
}

/// A scalar value of exactly `N` bytes: shorter or longer is an error
/// (the kernel sends every scalar at its exact size, so a length that
/// differs means the attribute is not what this crate thinks it is).
fn fixed<const N: usize>(value: &[u8], what: &'static str) -> Result<[u8; N]> {
    <[u8; N]>::try_from(value).map_err(|_| {
        Error::Decode(format!(
            "{what}: {} bytes where exactly {N} are expected",
            value.len()
        ))
    })
}

impl RawNla<'_> {
    pub(crate) fn u8(&self, what: &'static str) -> Result<u8> {
        Ok(fixed::<1>(self.value, what)?[0])
    }
    pub(crate) fn u16(&self, what: &'static str) -> Result<u16> {
        fixed(self.value, what).map(u16::from_ne_bytes)
    }
    pub(crate) fn be16(&self, what: &'static str) -> Result<u16> {
        fixed(self.value, what).map(u16::from_be_bytes)
    }
    pub(crate) fn u32(&self, what: &'static str) -> Result<u32> {
        fixed(self.value, what).map(u32::from_ne_bytes)
    }
    pub(crate) fn u64(&self, what: &'static str) -> Result<u64> {
        fixed(self.value, what).map(u64::from_ne_bytes)
    }
    /// An 8-byte `{ u32 flags; u32 mask; }` pair, as `struct ip_vs_flags`
    /// and `struct ifla_vf_*`-style attributes lay it out (host order).
    pub(crate) fn flags_and_mask(&self, what: &'static str) -> Result<(u32, u32)> {
        let raw = fixed::<8>(self.value, what)?;
        let flags = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let mask = u32::from_ne_bytes([raw[4], raw[5], raw[6], raw[7]]);
        Ok((flags, mask))
    }

    /// A NUL-terminated string (the NUL is optional; bytes after it are
    /// ignored). Non-UTF-8 bytes are replaced, never an error.
    pub(crate) fn string(&self) -> String {
        let end = self
            .value
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.value.len());
        String::from_utf8_lossy(&self.value[..end]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_kind_emits_and_reads_back() {
        let buf = attrs(|w| {
            w.u8(1, 7)
                .u16(2, 0x1234)
                .be16(3, 80)
                .u32(4, 0xdead_beef)
                .bytes(5, &[1, 2, 3])
                .cstr(6, "rr")
                .nested(7, |w| {
                    w.u32(1, 9);
                });
        });
        // The layout of netlink-packet-core's emitter (and the kernel's
        // nla_put): length without padding, value, zero padding.
        assert_eq!(&buf[..8], &[5, 0, 1, 0, 7, 0, 0, 0]);
        assert_eq!(&buf[32..44], &[7, 0, 5, 0, 1, 2, 3, 0, 7, 0, 6, 0]);
        // Alignment: every attribute starts on a 4-byte boundary.
        assert_eq!(buf.len() % 4, 0);
        let seen: Vec<RawNla<'_>> = walk(&buf, "t").collect::<Result<_>>().unwrap();
        assert_eq!(seen.len(), 7);
        assert_eq!(seen[0].u8("a").unwrap(), 7);
        assert_eq!(seen[1].u16("a").unwrap(), 0x1234);
        assert_eq!(seen[2].value, &[0, 80]);
        assert_eq!(seen[2].be16("a").unwrap(), 80);
        assert_eq!(seen[3].u32("a").unwrap(), 0xdead_beef);
        assert_eq!(seen[4].value, &[1, 2, 3]);
        assert_eq!(seen[5].value, b"rr\0");
        assert_eq!(seen[5].string(), "rr");
        // The nested flag is set on the wire and masked off when read.
        assert_eq!(
            u16::from_ne_bytes([buf[buf.len() - 10], buf[buf.len() - 9]]),
            7 | NLA_F_NESTED
        );
        assert_eq!(seen[6].kind, 7);
        assert_eq!(seen[6].raw_kind, 7 | NLA_F_NESTED);
        let inner: Vec<_> = walk(seen[6].value, "t").collect::<Result<_>>().unwrap();
        assert_eq!(inner[0].u32("a").unwrap(), 9);
    }

    #[test]
    fn short_values_are_errors_not_panics() {
        let nla = RawNla {
            kind: 1,
            raw_kind: 1,
            value: &[1, 2],
        };
        assert!(nla.u32("x").is_err());
        assert!(nla.u64("x").is_err());
        // Exact lengths: a longer value is no scalar either.
        let long = RawNla {
            kind: 1,
            raw_kind: 1,
            value: &[1, 0, 0, 0, 0],
        };
        assert!(long.u32("x").is_err() && long.u16("x").is_err());
        assert_eq!(
            RawNla {
                kind: 1,
                raw_kind: 1,
                value: &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0][4..],
            }
            .flags_and_mask("x")
            .unwrap(),
            (0, 2)
        );
        assert!(
            RawNla {
                kind: 1,
                raw_kind: 1,
                value: &[]
            }
            .u8("x")
            .is_err()
        );
        assert_eq!(
            RawNla {
                kind: 1,
                raw_kind: 1,
                value: &[0xff, b'a']
            }
            .string(),
            "\u{fffd}a"
        );
    }

    #[test]
    fn malformed_attribute_stream_is_an_error() {
        // length 2 (< header), length 99 (> buffer), and a cut header
        for buf in [&[2u8, 0, 1, 0][..], &[99, 0, 1, 0, 0, 0, 0, 0], &[8, 0]] {
            let r: Result<Vec<_>> = walk(buf, "t").collect();
            assert!(r.is_err(), "{buf:?}");
        }
    }
}
