//! BCM2711 GPIO function select and pulls: route GPIO 14/15 (header pins 8/10) to UART0
//! (PL011 TXD0/RXD0, alternate function 0), whatever the firmware chose for them (by default
//! the Pi 4's primary UART on those pins is the mini UART, the PL011 serving Bluetooth).
//!
//! Registers: `GPFSELn` (3 bits per pin, ten pins per register), and the BCM2711's
//! `GPIO_PUP_PDN_CNTRL_REGn` (2 bits per pin: 0 none, 1 pull-up, 2 pull-down), which replaced
//! the BCM2835's clocked GPPUD sequence.

/// GPIO block of the BCM2711 (`/soc/gpio@7e200000`).
pub const BCM2711_GPIO_BASE: u64 = 0xfe20_0000;

const GPFSEL0: u64 = 0x00;
const GPIO_PUP_PDN_CNTRL_REG0: u64 = 0xe4;
const FSEL_ALT0: u32 = 0b100;
const PULL_NONE: u32 = 0b00;
const PULL_UP: u32 = 0b01;

/// The GPIO block at `base`.
pub struct Bcm2711Gpio {
    base: u64,
}

impl Bcm2711Gpio {
    /// The GPIO block at `base`.
    pub const fn new(base: u64) -> Self {
        Self { base }
    }

    fn modify(&self, off: u64, shift: u32, width: u32, v: u32) {
        let reg = (self.base + off) as *mut u32;
        let mask = ((1u32 << width) - 1) << shift;
        // SAFETY: `base` is the GPIO block (Device memory, MMU off or identity-mapped); the
        // read-modify-write (plain loads/stores, one CPU) changes only this pin's field.
        unsafe {
            let cur = core::ptr::read_volatile(reg);
            core::ptr::write_volatile(reg, (cur & !mask) | (v << shift));
        }
    }

    fn set_function(&self, pin: u32, fsel: u32) {
        self.modify(GPFSEL0 + 4 * (pin / 10) as u64, (pin % 10) * 3, 3, fsel);
    }

    fn set_pull(&self, pin: u32, pull: u32) {
        self.modify(
            GPIO_PUP_PDN_CNTRL_REG0 + 4 * (pin / 16) as u64,
            (pin % 16) * 2,
            2,
            pull,
        );
    }

    /// GPIO 14 = TXD0 (no pull), GPIO 15 = RXD0 (pull-up: an unconnected RX idles high).
    pub fn route_uart0(&self) {
        self.set_pull(14, PULL_NONE);
        self.set_pull(15, PULL_UP);
        self.set_function(14, FSEL_ALT0);
        self.set_function(15, FSEL_ALT0);
    }
}
