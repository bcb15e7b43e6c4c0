//! The three address spaces, one newtype each (STYLE.md 2): a guest-virtual
//! address is what a guest instruction computes, a guest-physical address is
//! what a guest kernel believes is RAM, and a host-physical address indexes
//! the machine's real [`Ram`](crate::Ram). Only the MMU (and the
//! [`PhysMap`](crate::PhysMap)) turns one into another, so a mix-up fails to
//! compile.

use std::fmt;

use vmlab_isa::paging::{PAGE_MASK, PAGE_SHIFT};

macro_rules! address {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub u32);

        impl $name {
            /// The raw 32-bit value.
            pub const fn get(self) -> u32 {
                self.0
            }

            /// The page (frame) number: the address divided by the page size.
            pub const fn page(self) -> u32 {
                self.0 >> PAGE_SHIFT
            }

            /// The offset inside the page.
            pub const fn offset(self) -> u32 {
                self.0 & PAGE_MASK
            }

            /// The address `bytes` further on (wrapping at 4 GiB).
            pub const fn add(self, bytes: u32) -> $name {
                $name(self.0.wrapping_add(bytes))
            }

            /// The start of page number `page`.
            pub const fn from_page(page: u32) -> $name {
                $name(page << PAGE_SHIFT)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, ":{:#010x}"), self.0)
            }
        }
    };
}

address!(
    /// A guest-virtual address: what guest instructions compute.
    GuestVirt,
    "gva"
);
address!(
    /// A guest-physical address: what the guest kernel believes is RAM.
    GuestPhys,
    "gpa"
);
address!(
    /// A host-physical address: an index into the machine's real RAM.
    HostPhys,
    "hpa"
);
