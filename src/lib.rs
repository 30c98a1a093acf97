//! devproxy: serve a built frontend and forward path prefixes to backends, with rules read from
//! a hot-reloaded `proxy.conf.json`.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod config;
pub mod jsonc;
pub mod rules;
