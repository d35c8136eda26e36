//! `cargo xtask test`: the case table ([`cases`]), the record checks ([`checks`]) and the runner
//! ([`runner`]: host steps, image, QEMU cases, tally).

mod cases;
mod checks;
mod runner;

pub use runner::command;
