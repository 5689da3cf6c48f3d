//! Netlink attributes: a small value model to emit them, and checked
//! readers to parse them.

use netlink_packet_core::{Emitable, NLA_F_NESTED, Nla, NlasIterator};

use crate::error::{Error, Result};

/// The payload of one attribute to emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    U8(u8),
    /// Host byte order.
    U16(u16),
    /// Network byte order.
    Be16(u16),
    /// Host byte order.
    U32(u32),
    Bytes(Vec<u8>),
    /// A string, NUL-terminated on the wire.
    CStr(String),
    Nested(Vec<Attr>),
}

/// One attribute to emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub(crate) kind: u16,
    pub(crate) value: Value,
}

impl Attr {
    pub(crate) fn new(kind: u16, value: Value) -> Self {
        Attr { kind, value }
    }
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match &self.value {
            Value::U8(_) => 1,
            Value::U16(_) | Value::Be16(_) => 2,
            Value::U32(_) => 4,
            Value::Bytes(b) => b.len(),
            Value::CStr(s) => s.len() + 1,
            Value::Nested(attrs) => attrs.as_slice().buffer_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self.value {
            Value::Nested(_) => self.kind | NLA_F_NESTED,
            _ => self.kind,
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match &self.value {
            Value::U8(v) => buffer[0] = *v,
            Value::U16(v) => buffer[..2].copy_from_slice(&v.to_ne_bytes()),
            Value::Be16(v) => buffer[..2].copy_from_slice(&v.to_be_bytes()),
            Value::U32(v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            Value::Bytes(b) => buffer[..b.len()].copy_from_slice(b),
            Value::CStr(s) => {
                buffer[..s.len()].copy_from_slice(s.as_bytes());
                buffer[s.len()] = 0;
            }
            Value::Nested(attrs) => attrs.as_slice().emit(buffer),
        }
    }
}

/// An attribute seen in a reply: its type (flags masked off) and value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawNla<'a> {
    pub(crate) kind: u16,
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
            Ok(RawNla {
                kind,
                value: bytes.get(4..len).unwrap_or(&[]),
            })
        }
        Err(e) => Err(Error::Decode(format!("{context}: {e}"))),
    })
}

fn fixed<const N: usize>(value: &[u8], what: &'static str) -> Result<[u8; N]> {
    value
        .get(..N)
        .and_then(|v| <[u8; N]>::try_from(v).ok())
        .ok_or_else(|| {
            Error::Decode(format!(
                "{what}: {} bytes where {N} are needed",
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

    fn emit(attrs: &[Attr]) -> Vec<u8> {
        let mut buf = vec![0u8; attrs.buffer_len()];
        attrs.emit(&mut buf);
        buf
    }

    #[test]
    fn every_value_kind_emits_and_reads_back() {
        let attrs = vec![
            Attr::new(1, Value::U8(7)),
            Attr::new(2, Value::U16(0x1234)),
            Attr::new(3, Value::Be16(80)),
            Attr::new(4, Value::U32(0xdead_beef)),
            Attr::new(5, Value::Bytes(vec![1, 2, 3])),
            Attr::new(6, Value::CStr("rr".into())),
            Attr::new(7, Value::Nested(vec![Attr::new(1, Value::U32(9))])),
        ];
        let buf = emit(&attrs);
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
        let inner: Vec<_> = walk(seen[6].value, "t").collect::<Result<_>>().unwrap();
        assert_eq!(inner[0].u32("a").unwrap(), 9);
    }

    #[test]
    fn short_values_are_errors_not_panics() {
        let nla = RawNla {
            kind: 1,
            value: &[1, 2],
        };
        assert!(nla.u32("x").is_err());
        assert!(nla.u64("x").is_err());
        assert!(
            RawNla {
                kind: 1,
                value: &[]
            }
            .u8("x")
            .is_err()
        );
        assert_eq!(
            RawNla {
                kind: 1,
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
