//! The access-control model: [`Acl`], [`Capability`] and their builders live in `gatehouse-acl`,
//! which the build step shares, and are used here as they are.

pub(crate) use gatehouse_acl::closest;
pub use gatehouse_acl::{
    Acl, AclBuilder, AclError, AclProblem, Capability, CapabilityBuilder, LabelGlob, List,
    PatternError, ScopeEntry, Text, UrlPattern,
};
