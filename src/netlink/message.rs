//! Netlink message framing: building requests, walking the messages of a
//! received datagram, and reading acknowledgements and errors.
//!
//! Every parse goes through a checked view: a message is only looked at
//! after `NetlinkBuffer::new_checked` proved that its header fits and that
//! its length field lies inside the datagram; an attribute only after
//! `NlaBuffer::new_checked`. Nothing in this module can panic on input.

use netlink_packet_core::{
    NLMSG_ALIGNTO, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NetlinkBuffer, NlasIterator,
};

use crate::error::{Error, KernelError, Result};

/// Size of `struct nlmsghdr`.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// `NLM_F_CAPPED` on an error message: the echoed request is only its header.
const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` on an error message: extended-ACK attributes follow.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLM_F_DUMP_INTR`: the kernel's table changed during the dump.
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLMSGERR_ATTR_MSG`: the extended-ACK text.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute.
const NLMSGERR_ATTR_OFFS: u16 = 2;

fn align(len: usize) -> usize {
    let a = NLMSG_ALIGNTO as usize;
    len.saturating_add(a - 1) & !(a - 1)
}

/// Builds one netlink message: header, `payload_header` (for example a
/// generic netlink header) and the attributes `attrs` writes. The sequence
/// and port numbers are left 0; the transport sets them when it sends.
pub(crate) fn build_message(
    message_type: u16,
    flags: u16,
    payload_header: &[u8],
    attrs: impl FnOnce(&mut super::attr::AttrWriter<'_>),
) -> Vec<u8> {
    let mut buf = Vec::new();
    append_message_with(&mut buf, message_type, flags, payload_header, attrs);
    buf
}

/// Appends one netlink message of encoded attributes (`body`) to `buf`,
/// which then holds messages back to back (each padded to 4 bytes). The
/// sequence and port numbers are left 0; the transport sets them when it
/// sends.
pub(crate) fn append_message(
    buf: &mut Vec<u8>,
    message_type: u16,
    flags: u16,
    payload_header: &[u8],
    body: &[u8],
) {
    let start = buf.len();
    let len = NLMSG_HDRLEN + payload_header.len() + body.len();
    buf.reserve(align(len));
    buf.extend_from_slice(&(len as u32).to_ne_bytes());
    buf.extend_from_slice(&message_type.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    // Sequence and port: set when sent.
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(payload_header);
    buf.extend_from_slice(body);
    buf.resize(start + align(len), 0);
}

/// Appends one netlink message to `buf` whose attributes `attrs` writes
/// straight into the buffer (no intermediate copy): header, then
/// `payload_header`, then the attributes; the length is set afterwards.
/// The sequence and port numbers are left 0.
pub(crate) fn append_message_with(
    buf: &mut Vec<u8>,
    message_type: u16,
    flags: u16,
    payload_header: &[u8],
    attrs: impl FnOnce(&mut super::attr::AttrWriter<'_>),
) {
    let start = buf.len();
    debug_assert_eq!(start % 4, 0);
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&message_type.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(payload_header);
    buf.resize(align(buf.len()), 0);
    attrs(&mut super::attr::AttrWriter::new(buf));
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    buf.resize(start + align(len as usize), 0);
}

/// Sets the type and flags of a message in place.
pub(crate) fn set_type_and_flags(message: &mut [u8], message_type: u16, flags: u16) {
    let mut header = NetlinkBuffer::new(message);
    header.set_message_type(message_type);
    header.set_flags(flags);
}

/// Sets the sequence and port numbers of a message built by
/// [`build_message`].
pub(crate) fn set_sequence(message: &mut [u8], seq: u32, port: u32) {
    let mut header = NetlinkBuffer::new(message);
    header.set_sequence_number(seq);
    header.set_port_number(port);
}

/// One message of a datagram, seen through a checked view.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    pub(crate) message_type: u16,
    pub(crate) flags: u16,
    pub(crate) seq: u32,
    pub(crate) port: u32,
    pub(crate) payload: &'a [u8],
}

/// The messages of one received datagram, in order. A message whose
/// header does not fit, or whose length runs past the datagram, ends the
/// walk with an error.
pub(crate) struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    pub(crate) fn new(datagram: &'a [u8]) -> Self {
        Messages { rest: datagram }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let buf = match NetlinkBuffer::new_checked(self.rest) {
            Ok(buf) => buf,
            Err(e) => {
                self.rest = &[];
                return Some(Err(Error::decode(e)));
            }
        };
        let len = buf.length() as usize;
        let message = Message {
            message_type: buf.message_type(),
            flags: buf.flags(),
            seq: buf.sequence_number(),
            port: buf.port_number(),
            payload: &self.rest[NLMSG_HDRLEN..len],
        };
        self.rest = self.rest.get(align(len)..).unwrap_or(&[]);
        Some(Ok(message))
    }
}

/// What a control message says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// A data message for the caller.
    Data,
    /// `NLMSG_NOOP`: ignore.
    Noop,
    /// An acknowledgement (`NLMSG_ERROR` with code 0).
    Ack,
    /// The end of a dump.
    Done,
    /// An error (`NLMSG_ERROR` with a negative code, or a `NLMSG_DONE`
    /// carrying one): positive errno plus the extended ACK.
    Failed {
        errno: i32,
        message: Option<String>,
        offset: Option<u32>,
    },
    /// `NLMSG_OVERRUN`: data was lost.
    Overrun,
}

impl Message<'_> {
    /// Classifies the message, reading an error's extended ACK.
    pub(crate) fn control(&self) -> Result<Control> {
        match self.message_type {
            NLMSG_NOOP => Ok(Control::Noop),
            NLMSG_OVERRUN => Ok(Control::Overrun),
            NLMSG_DONE => {
                // A dump's end may carry an error code (`int`) of its own.
                match self.payload.get(..4) {
                    Some(code) => {
                        let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
                        if code < 0 {
                            Ok(self.failed(code, 4))
                        } else {
                            Ok(Control::Done)
                        }
                    }
                    None => Ok(Control::Done),
                }
            }
            NLMSG_ERROR => {
                let code = self.payload.get(..4).ok_or_else(|| {
                    Error::Decode(format!(
                        "error message of {} bytes has no error code",
                        self.payload.len()
                    ))
                })?;
                let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
                if code == 0 {
                    return Ok(Control::Ack);
                }
                // The echoed request: its header only when capped, else whole.
                let echoed = if self.flags & NLM_F_CAPPED != 0 {
                    NLMSG_HDRLEN
                } else {
                    match self.payload.get(4..8) {
                        Some(l) => align(u32::from_ne_bytes([l[0], l[1], l[2], l[3]]) as usize),
                        None => NLMSG_HDRLEN,
                    }
                };
                Ok(self.failed(code, echoed.saturating_add(4)))
            }
            _ => Ok(Control::Data),
        }
    }

    fn failed(&self, code: i32, tlv_start: usize) -> Control {
        let mut message = None;
        let mut offset = None;
        if self.flags & NLM_F_ACK_TLVS != 0
            && let Some(tlvs) = self.payload.get(tlv_start..)
        {
            for nla in NlasIterator::new(tlvs).flatten() {
                match nla.kind() {
                    NLMSGERR_ATTR_MSG => {
                        let raw = nla.value();
                        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                        message = Some(String::from_utf8_lossy(&raw[..end]).into_owned());
                    }
                    NLMSGERR_ATTR_OFFS => {
                        if let Ok(v) = <[u8; 4]>::try_from(nla.value()) {
                            offset = Some(u32::from_ne_bytes(v));
                        }
                    }
                    _ => {}
                }
            }
        }
        Control::Failed {
            errno: code.checked_neg().unwrap_or(i32::MAX),
            message,
            offset,
        }
    }
}

/// Turns a failed control message into the crate's error.
pub(crate) fn kernel_error(
    request: &'static str,
    errno: i32,
    message: Option<String>,
    offset: Option<u32>,
) -> Error {
    Error::Kernel(KernelError::new(errno, request, message, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, ty: u16, flags: u16, seq: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&7u32.to_ne_bytes());
        v
    }

    #[test]
    fn walks_two_messages() {
        let mut d = header(20, 30, 0, 1);
        d.extend_from_slice(&[1, 2, 3, 4]);
        d.extend_from_slice(&header(16, NLMSG_DONE, 2, 1));
        let msgs: Vec<_> = Messages::new(&d).collect::<Result<_>>().unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].payload, &[1, 2, 3, 4]);
        assert_eq!(msgs[0].port, 7);
        assert_eq!(msgs[1].control().unwrap(), Control::Done);
    }

    #[test]
    fn truncated_and_bogus_lengths_are_errors() {
        // Shorter than a header.
        let d = header(16, 30, 0, 1);
        assert!(Messages::new(&d[..10]).next().unwrap().is_err());
        // Length below the header size.
        let d = header(8, 30, 0, 1);
        assert!(Messages::new(&d).next().unwrap().is_err());
        // Length past the datagram.
        let d = header(400, 30, 0, 1);
        assert!(Messages::new(&d).next().unwrap().is_err());
        // After an error, the walk ends.
        let mut it = Messages::new(&d);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn unaligned_last_message_ends_cleanly() {
        let mut d = header(18, 30, 0, 1);
        d.extend_from_slice(&[9, 9]);
        let msgs: Vec<_> = Messages::new(&d).collect::<Result<_>>().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].payload, &[9, 9]);
    }

    #[test]
    fn error_with_extended_ack() {
        // NLMSG_ERROR, capped, with TLVs: code -22, echoed header, MSG, OFFS.
        let mut payload = (-22i32).to_ne_bytes().to_vec();
        payload.extend_from_slice(&header(40, 28, 5, 9));
        let text = b"Attribute failed policy validation\0";
        let nla_len = 4 + text.len();
        payload.extend_from_slice(&(nla_len as u16).to_ne_bytes());
        payload.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        payload.extend_from_slice(text);
        payload.resize(payload.len() + (align(nla_len) - nla_len), 0);
        payload.extend_from_slice(&8u16.to_ne_bytes());
        payload.extend_from_slice(&NLMSGERR_ATTR_OFFS.to_ne_bytes());
        payload.extend_from_slice(&24u32.to_ne_bytes());
        let mut d = header(
            (16 + payload.len()) as u32,
            NLMSG_ERROR,
            NLM_F_CAPPED | NLM_F_ACK_TLVS,
            9,
        );
        d.extend_from_slice(&payload);
        let msg = Messages::new(&d).next().unwrap().unwrap();
        assert_eq!(
            msg.control().unwrap(),
            Control::Failed {
                errno: 22,
                message: Some("Attribute failed policy validation".into()),
                offset: Some(24),
            }
        );
    }

    #[test]
    fn ack_and_short_error() {
        let mut d = header(36, NLMSG_ERROR, NLM_F_CAPPED, 3);
        d.extend_from_slice(&0i32.to_ne_bytes());
        d.extend_from_slice(&header(20, 28, 5, 3));
        let msg = Messages::new(&d).next().unwrap().unwrap();
        assert_eq!(msg.control().unwrap(), Control::Ack);
        // An error message too short to hold its code is a decode error.
        let mut d = header(18, NLMSG_ERROR, 0, 3);
        d.extend_from_slice(&[0, 0]);
        let msg = Messages::new(&d).next().unwrap().unwrap();
        assert!(matches!(msg.control(), Err(Error::Decode(_))));
        // An uncapped error whose echoed length is garbage still decodes.
        let mut d = header(24, NLMSG_ERROR, NLM_F_ACK_TLVS, 3);
        d.extend_from_slice(&(-1i32).to_ne_bytes());
        d.extend_from_slice(&u32::MAX.to_ne_bytes());
        let msg = Messages::new(&d).next().unwrap().unwrap();
        assert!(matches!(
            msg.control().unwrap(),
            Control::Failed {
                errno: 1,
                message: None,
                ..
            }
        ));
    }

    #[test]
    fn done_with_error_code() {
        let mut d = header(20, NLMSG_DONE, 2, 3);
        d.extend_from_slice(&(-4i32).to_ne_bytes());
        let msg = Messages::new(&d).next().unwrap().unwrap();
        assert!(matches!(
            msg.control().unwrap(),
            Control::Failed { errno: 4, .. }
        ));
    }
}
