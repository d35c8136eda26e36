//! Board support: one module per board, implementing [`Board`], and the one place where the
//! board is chosen ([`Current`], by the cargo feature `board-rpi4`). Nothing else in boot
//! names a board; everything board-specific goes through [`Current`].
//!
//! A board knows: where its loader puts the machine description and what to assume when there
//! is none ([`Board::describe`]), which devices need setting up before the console works
//! ([`Board::early_devices`]), and its own ways to stop ([`Board::halt`], [`Board::reset`]).

mod board;
pub use board::Board;

#[cfg(not(feature = "board-rpi4"))]
mod virt;
/// The board this image is built for.
#[cfg(not(feature = "board-rpi4"))]
pub use virt::Virt as Current;

#[cfg(feature = "board-rpi4")]
mod rpi4;
/// The board this image is built for.
#[cfg(feature = "board-rpi4")]
pub use rpi4::Rpi4 as Current;
