//! `--hosted`: the device models run as a separate component on their own
//! thread, as a hosted (type 2) monitor's user-space device emulation does
//! (QEMU behind KVM). Every device exit becomes a message: the monitor
//! sends the VM's device bus and the operation over a channel, the device
//! thread performs it on the models and sends the bus back with the result.
//! Moving the bus (a pointer move, no copy) keeps one owner at a time, so
//! the results are the same as with the models inside the monitor (type 1);
//! what differs is the extra world switch per exit, counted and priced as
//! `hosted_switch`.

use std::fmt;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use vmlab_isa::Width;
use vmlab_machine::bus::{Bus, Effect};

use super::{DevOp, DevResult, perform};
use crate::error::MonitorError;

/// A request to the device thread; it carries the bus.
enum Request {
    In(Bus, u16, Width),
    Out(Bus, u16, Width, u32),
    Ring(Bus, Vec<DevOp>),
}

/// The device thread's answer; it gives the bus back.
enum Reply {
    In(Bus, u32),
    Out(Bus, Effect),
    Ring(Bus, Vec<DevResult>),
}

/// The device-model thread of a hosted VM and its two channels.
pub(crate) struct DeviceThread {
    to_dev: Option<Sender<Request>>,
    from_dev: Receiver<Reply>,
    handle: Option<JoinHandle<()>>,
}

impl fmt::Debug for DeviceThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceThread")
    }
}

fn lost() -> MonitorError {
    MonitorError::Config("the hosted device-model thread is gone".into())
}

impl DeviceThread {
    /// Starts the device-model thread.
    pub(crate) fn spawn() -> Result<DeviceThread, MonitorError> {
        let (to_dev, requests) = channel::<Request>();
        let (replies, from_dev) = channel::<Reply>();
        let handle = std::thread::Builder::new()
            .name("vmlab-devices".into())
            .spawn(move || {
                while let Ok(req) = requests.recv() {
                    let reply = match req {
                        Request::In(mut bus, port, width) => {
                            let v = bus.read(port, width);
                            Reply::In(bus, v)
                        }
                        Request::Out(mut bus, port, width, value) => {
                            let e = bus.write(port, width, value);
                            Reply::Out(bus, e)
                        }
                        Request::Ring(mut bus, ops) => {
                            let r = ops.iter().map(|op| perform(&mut bus, op)).collect();
                            Reply::Ring(bus, r)
                        }
                    };
                    if replies.send(reply).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| MonitorError::Config(format!("cannot start the device thread: {e}")))?;
        Ok(DeviceThread {
            to_dev: Some(to_dev),
            from_dev,
            handle: Some(handle),
        })
    }

    fn call(&self, req: Request) -> Result<Reply, MonitorError> {
        self.to_dev
            .as_ref()
            .ok_or_else(lost)?
            .send(req)
            .map_err(|_| lost())?;
        self.from_dev.recv().map_err(|_| lost())
    }

    /// A port read, performed on the device thread.
    pub(crate) fn port_in(
        &self,
        bus: &mut Bus,
        port: u16,
        width: Width,
    ) -> Result<u32, MonitorError> {
        match self.call(Request::In(std::mem::take(bus), port, width))? {
            Reply::In(b, v) => {
                *bus = b;
                Ok(v)
            }
            _ => Err(lost()),
        }
    }

    /// A port write, performed on the device thread.
    pub(crate) fn port_out(
        &self,
        bus: &mut Bus,
        port: u16,
        width: Width,
        value: u32,
    ) -> Result<Effect, MonitorError> {
        match self.call(Request::Out(std::mem::take(bus), port, width, value))? {
            Reply::Out(b, e) => {
                *bus = b;
                Ok(e)
            }
            _ => Err(lost()),
        }
    }

    /// A batch of ring operations, performed on the device thread.
    pub(crate) fn ring(
        &self,
        bus: &mut Bus,
        ops: Vec<DevOp>,
    ) -> Result<Vec<DevResult>, MonitorError> {
        match self.call(Request::Ring(std::mem::take(bus), ops))? {
            Reply::Ring(b, r) => {
                *bus = b;
                Ok(r)
            }
            _ => Err(lost()),
        }
    }
}

impl Drop for DeviceThread {
    fn drop(&mut self) {
        // Closing the request channel ends the thread's loop.
        self.to_dev = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
