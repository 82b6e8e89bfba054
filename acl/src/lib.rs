//! The access-control model of [Gatehouse](https://docs.rs/gatehouse), shared by the build step
//! (`gatehouse-build`) and the runtime (`gatehouse-runtime`): the [`Acl`] and its
//! [`Capability`] rules, the [`Bits`] over [`CommandId`]s they allow and deny, and the two
//! pattern languages a capability selects its callers with — [`LabelGlob`] over window and
//! webview labels, [`UrlPattern`] over remote origins.
//!
//! The build step parses every glob and pattern once, reports what is wrong with the file and
//! line, and writes the parsed form into `static` tables ([`Acl::from_static`] and the other
//! `from_static` constructors); the runtime matches callers against those tables and never
//! parses a pattern. Applications use all of this through the `gatehouse` crate.
//!
//! ```
//! use gatehouse_acl::{Acl, Capability};
//!
//! let acl = Acl::builder()
//!     .commands(["greet", "save"])
//!     .capability(Capability::builder("main").windows(["main", "editor-*"]).allow(["greet"]))
//!     .build()?;
//! let main = &acl.capabilities()[0];
//! assert!(main.windows()[1].matches("editor-2"));
//! assert!(main.allow().contains(acl.command_id("greet").unwrap()));
//! # Ok::<(), gatehouse_acl::AclError>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod acl;
mod bitset;
mod glob;
mod problem;
mod url_pattern;

pub use acl::{Acl, AclBuilder, Capability, CapabilityBuilder, List, ScopeEntry, Text};
pub use bitset::{Bits, CommandId};
pub use glob::{GlobToken, LabelGlob};
pub use problem::{closest, AclError, AclProblem, PatternError};
pub use url_pattern::{Port, RemoteUrl, UrlPattern, Wildcard};
