//! All integration tests, in one test binary: each module starts the real
//! server on port 0 and talks HTTP to it.

mod common;

mod accuauth;
mod admin;
mod async_verification;
mod concurrency;
mod curp_rules;
mod curpv5;
mod echo;
mod engine;
mod error_paths;
mod hardening;
mod nss;
mod replay;
mod spec;
mod user_files;
mod validacurp;
