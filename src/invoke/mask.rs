//! The masking of secrets lives with the inspector, which applies it to whole records; the
//! terminal line of a call uses the same [`Masker`].

pub use crate::inspect::mask::{MASK, Masker};
