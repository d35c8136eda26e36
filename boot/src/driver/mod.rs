//! Device drivers boot needs, each a small type over one register block (or one firmware
//! interface). Which instances exist, and where, is the board's business (`crate::bsp`).

pub mod bcm2711_gpio;
pub mod bcm2711_pm;
pub mod gicv2;
pub mod pl011;
pub mod psci;
pub mod spin_table;
