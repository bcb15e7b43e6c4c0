//! Several VMs share one host: interleaved frames, time-sliced runs.

mod common;

use common::*;
use vmlab_isa::Profile;
use vmlab_monitor::{Host, HostConfig, MemVirt, Mode, Outcome, RunState, Vm};

#[test]
fn two_vms_on_interleaved_frames_time_share_one_host() {
    let mut host = Host::new(&HostConfig {
        ram_bytes: 4 << 20,
        ..HostConfig::default()
    })
    .unwrap();
    let a_cfg = config(
        Mode::Trap,
        MemVirt::Shadow,
        Profile::Strict,
        3000,
        Probe::None,
    );
    let b_cfg = config(
        Mode::Hw,
        MemVirt::Nested,
        Profile::Strict,
        4000,
        Probe::None,
    );
    let guest_frames = a_cfg.guest_frames();
    // Above the monitor tables, VM a gets the even frames, VM b the odd ones: neither is contiguous.
    let evens: Vec<u32> = (0..guest_frames).map(|i| 512 + 2 * i).collect();
    let odds: Vec<u32> = (0..guest_frames).map(|i| 513 + 2 * i).collect();
    let mut a = Vm::with_frames(&mut host, a_cfg, evens.clone()).unwrap();
    let mut b = Vm::with_frames(&mut host, b_cfg, odds).unwrap();
    assert_eq!(a.frames(), &evens[..]);
    let (mut done_a, mut done_b) = (None, None);
    for _ in 0..10_000 {
        if done_a.is_none()
            && let RunState::Finished(o) = a.run(&mut host, 700).unwrap()
        {
            done_a = Some(o);
        }
        if done_b.is_none()
            && let RunState::Finished(o) = b.run(&mut host, 500).unwrap()
        {
            done_b = Some(o);
        }
        if done_a.is_some() && done_b.is_some() {
            break;
        }
    }
    assert_eq!(done_a, Some(Outcome::Shutdown { code: 0 }));
    assert_eq!(done_b, Some(Outcome::Shutdown { code: 0 }));
    assert_eq!(a.report().console, expected(3000));
    assert_eq!(b.report().console, expected(4000));
    let free = host.free_frames();
    a.destroy(&mut host);
    b.destroy(&mut host);
    assert!(host.free_frames() > free + 2 * guest_frames as usize);
}

#[test]
fn a_vm_cannot_take_frames_in_use() {
    let mut host = Host::new(&HostConfig::default()).unwrap();
    let cfg = config(Mode::Native, MemVirt::None, Profile::Strict, 1, Probe::None);
    let frames: Vec<u32> = (0..cfg.guest_frames()).collect();
    let _a = Vm::with_frames(&mut host, cfg.clone(), frames.clone()).unwrap();
    assert!(Vm::with_frames(&mut host, cfg, frames).is_err());
}

#[test]
fn a_profile_mismatch_with_the_host_is_an_error() {
    let mut host = Host::new(&HostConfig::default()).unwrap();
    let cfg = config(Mode::Hw, MemVirt::Nested, Profile::Legacy, 1, Probe::None);
    let err = Vm::new(&mut host, cfg).unwrap_err().to_string();
    assert!(err.contains("profile"), "{err}");
}
