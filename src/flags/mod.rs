//! The command line: [`Cli`] defines the flags (clap), [`settings`] turns them and an
//! optional client config into the [`Settings`] of one check, and [`diagnose`] lists the
//! ways `--diagnose` tries.

pub mod definition;
pub mod diagnose;
pub mod server;
pub mod settings;

pub use definition::Cli;
pub use settings::{Mode, Settings, UsageError};
