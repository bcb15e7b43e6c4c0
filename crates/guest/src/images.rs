//! The images build.rs assembled: user programs and the kernel's builds.

use std::sync::OnceLock;

use vmlab_asm::Image;

use crate::built;

/// The three builds of the kernel, from one source (docs/kernel.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelBuild {
    /// Privileged instructions and port I/O, exactly as on bare metal.
    Full,
    /// As `Full`, but the console and the disk go through the paravirtual
    /// rings (`PV_IO`), like virtio drivers in an unmodified kernel.
    PvIo,
    /// Every privileged operation replaced by hypercalls (`PV_CPU` and `PV_IO`).
    Pv,
}

impl KernelBuild {
    /// All builds.
    pub const ALL: [KernelBuild; 3] = [KernelBuild::Full, KernelBuild::PvIo, KernelBuild::Pv];

    /// The build's name (`full`, `pv_io`, `pv`).
    pub const fn name(self) -> &'static str {
        match self {
            KernelBuild::Full => "full",
            KernelBuild::PvIo => "pv_io",
            KernelBuild::Pv => "pv",
        }
    }
}

fn parse(table: &'static [(&'static str, &'static [u8])]) -> Vec<(&'static str, Image)> {
    table
        .iter()
        .map(|(name, bytes)| {
            // build.rs wrote and validated these images: failing to read our
            // own build output is a build bug.
            (
                *name,
                Image::from_bytes(bytes).expect("build.rs wrote a valid image"),
            )
        })
        .collect()
}

fn users() -> &'static [(&'static str, Image)] {
    static USERS: OnceLock<Vec<(&'static str, Image)>> = OnceLock::new();
    USERS.get_or_init(|| parse(built::USER))
}

fn kernels() -> &'static [(&'static str, Image)] {
    static KERNELS: OnceLock<Vec<(&'static str, Image)>> = OnceLock::new();
    KERNELS.get_or_init(|| parse(built::KERNEL))
}

/// A user program by file stem (`crates/guest/user/NAME.s`).
pub fn user_image(name: &str) -> Option<&'static Image> {
    users().iter().find(|(n, _)| *n == name).map(|(_, i)| i)
}

/// The names of every user program.
pub fn user_names() -> Vec<&'static str> {
    users().iter().map(|(n, _)| *n).collect()
}

/// A kernel build (`None` only while the kernel source does not exist).
pub fn kernel_image(build: KernelBuild) -> Option<&'static Image> {
    kernels()
        .iter()
        .find(|(n, _)| *n == build.name())
        .map(|(_, i)| i)
}
