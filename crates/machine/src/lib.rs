//! The vmlab emulated machine: the port bus and its devices.

pub mod bus;
pub mod devices;
