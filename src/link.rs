//! Dummy links and addresses over rtnetlink (being written).

/// A handle on the links and addresses of one network namespace.
#[derive(Debug)]
pub struct Links {}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {}

/// An address on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {}
