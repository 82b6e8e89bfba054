//! What one call is, from its bytes to its reply: the JSON reader that outlines a message before
//! anything is decided, and the single-pass argument read.

pub(crate) mod budget;
pub(crate) mod reader;
pub(crate) mod scan;
