//! The packaging tests, one test binary apart from the fast suite: every package is built
//! for real from its recipe (Debian, RPM, Arch), and real Icinga 2 and Nagios daemons run
//! the shipped definitions. They take minutes, so each test is ignored by a plain
//! `cargo test`; the second half of the README's test command runs them:
//! `cargo test --locked --test packaging -- --ignored`. The three package builds share
//! one build of the dependencies (`support::built::SharedBuild`) and take turns
//! (a lock on `target/packaging/`).

#[path = "../common/mod.rs"]
mod common;
mod support;

mod arch;
mod deb;
mod icinga2;
mod nagios;
mod recipes;
mod rpm;
