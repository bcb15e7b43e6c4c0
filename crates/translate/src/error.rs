//! The translator's errors (host failures; guest faults are never errors).

/// What went wrong, and where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TranslateError {
    /// The address is not a multiple of 4.
    #[error("address {addr:#010x} is not 4-byte aligned: blocks start at instruction boundaries")]
    Misaligned {
        /// The address.
        addr: u32,
    },
    /// No segment of the image holds an instruction at the address.
    #[error("no instruction at {addr:#010x} in the image: give an address inside a text segment")]
    NotInImage {
        /// The address.
        addr: u32,
    },
}
