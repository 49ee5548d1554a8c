//! Nothing but a crate that depends on `memo-runtime` under the name `memo`;
//! its tests are in `tests/renamed.rs`.
