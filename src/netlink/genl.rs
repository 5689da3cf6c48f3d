//! The generic netlink controller: resolving a family name to its id.

use netlink_packet_core::{Emitable, NLM_F_ACK, NLM_F_REQUEST, ParseableParametrized};
use netlink_packet_generic::GenlHeader;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};

use super::Transport;
use super::message::build_message;
use crate::error::{Error, Result};

/// `GENL_ID_CTRL`: the controller's fixed family id.
const GENL_ID_CTRL: u16 = 0x10;
/// Size of `struct genlmsghdr`.
pub(crate) const GENL_HDRLEN: usize = 4;

/// Encodes a `genlmsghdr`.
pub(crate) fn genl_header(cmd: u8, version: u8) -> [u8; GENL_HDRLEN] {
    let mut buf = [0u8; GENL_HDRLEN];
    GenlHeader { cmd, version }.emit(&mut buf);
    buf
}

/// What the controller told about a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Family {
    pub(crate) id: u16,
    pub(crate) version: u32,
}

/// Asks the controller for `name`. `Ok(None)` means the kernel has no such
/// family (and could not load a module providing it).
pub(crate) fn resolve(transport: &mut Transport, name: &str) -> Result<Option<Family>> {
    let ctrl = GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(name.to_owned())],
    };
    let header = genl_header(GenlCtrlCmd::GetFamily.into(), 1);
    let mut request = build_message(
        GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_ACK,
        &header,
        &ctrl.nlas.as_slice(),
    );
    let mut family = None;
    let result = transport.exchange(&mut request, "CTRL_CMD_GETFAMILY", &mut |msg| {
        family = Some(parse_family_reply(msg.payload)?);
        Ok(())
    });
    match result {
        Ok(()) => family
            .map(Some)
            .ok_or_else(|| Error::Protocol(format!("no reply describing family {name:?}"))),
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Parses the controller's reply describing a family.
pub(crate) fn parse_family_reply(payload: &[u8]) -> Result<Family> {
    let header = GenlHeader::parse(payload).map_err(Error::decode)?;
    let body = payload.get(GENL_HDRLEN..).unwrap_or(&[]);
    let reply = GenlCtrl::parse_with_param(body, header).map_err(Error::decode)?;
    let mut id = None;
    let mut version = 0;
    for nla in reply.nlas {
        match nla {
            GenlCtrlAttrs::FamilyId(v) => id = Some(v),
            GenlCtrlAttrs::Version(v) => version = v,
            _ => {}
        }
    }
    match id {
        Some(id) => Ok(Family { id, version }),
        None => Err(Error::Protocol("family reply without a family id".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The host kernel has generic netlink: the controller resolves itself,
    // and a made-up family is "not found", not an error.
    #[test]
    fn resolves_nlctrl_and_misses_unknown() {
        let mut t = Transport::open(netlink_sys::protocols::NETLINK_GENERIC).unwrap();
        let ctrl = resolve(&mut t, "nlctrl").unwrap().unwrap();
        assert_eq!(ctrl.id, GENL_ID_CTRL);
        assert!(resolve(&mut t, "NO_SUCH_FAM").unwrap().is_none());
    }
}
