//! Every integration test, in one test binary: each file below is one area
//! (its own `//!` says what it proves), sharing the fixtures in `common`.
//!
//! One binary rather than one per file: each debug test binary links the
//! whole crate with its stores (about 200 MiB and several seconds of linking
//! each), so fifteen of them cost minutes and gigabytes of CI for nothing.
//! Run one area with `cargo test --test suite compat::`.

mod common;

mod admin;
mod compat;
mod docker;
mod failures;
mod l1;
mod limits;
mod live_config;
mod materials;
mod metrics;
mod operators;
mod relational_contract;
mod smoke;
mod tracking;
mod vector_contract;
