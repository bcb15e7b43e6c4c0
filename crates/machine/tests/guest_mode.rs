//! Guest mode and the exit controls: each control on and off, the guest
//! copies of the control registers, the ring-1-like setting, and the
//! legacy profile's getf behaving correctly in guest mode.

mod common;

use common::*;
use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Cause, Csr, Exception, Instr, Profile, Width};
use vmlab_machine::{Exit, Machine, MachineConfig};

fn guest(prog: &[Instr]) -> Machine {
    let mut m = machine(prog);
    m.controls_mut().guest_mode = true;
    m
}

#[test]
fn hypercall_exits_in_guest_mode_and_the_host_completes_it() {
    let prog = [
        addi(R::A4, ZERO, 3),
        Instr::Hypercall,
        addi(A0, ZERO, 1),
        Instr::Halt,
    ];
    let mut m = guest(&prog);
    assert_eq!(m.run(100), Exit::Hypercall);
    assert_eq!(m.pc(), 4);
    assert_eq!(m.reg(R::A4), 3);
    m.retire_emulated();
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 1);
    assert_eq!(m.instret(), 3, "the emulated hypercall counts as retired");
    assert_eq!(m.counters().emulated, 1);
}

#[test]
fn privileged_instructions_act_on_the_guest_copy() {
    let mut prog = set_csr(Csr::Scratch, 0x1234);
    prog.extend(set_csr(Csr::Tvec, 0x4000));
    prog.extend(set_csr(Csr::Ptbr, 0x7000));
    prog.push(csrr(A0, Csr::Scratch));
    prog.push(Instr::TlbFlush);
    prog.push(Instr::Halt);
    let mut m = guest(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 0x1234);
    assert_eq!(m.csr(Csr::Tvec), 0x4000);
    assert_eq!(m.csr(Csr::Ptbr), 0x7000);
    assert_eq!(
        m.counters()
            .exits_of(&Exit::Privileged { instr: Instr::Halt }),
        0
    );
}

#[test]
fn read_mask_returns_the_shadow() {
    let prog = [csrr(A0, Csr::Scratch), csrr(A1, Csr::Status), Instr::Halt];
    for on in [false, true] {
        let mut m = guest(&prog);
        m.set_csr(Csr::Scratch, 0xAAAA_AAAA);
        if on {
            let c = m.controls_mut();
            c.csr_read_mask[Csr::Scratch.index()] = 0xFFFF_0000;
            c.read_shadow[Csr::Scratch.index()] = 0x5555_5555;
            c.csr_read_mask[Csr::Status.index()] = status::PG;
            c.read_shadow[Csr::Status.index()] = status::PG;
        }
        assert_eq!(m.run(100), Exit::Halt);
        if on {
            assert_eq!(m.reg(A0), 0x5555_AAAA);
            assert_eq!(m.reg(A1), status::MODE | status::PG);
        } else {
            assert_eq!(m.reg(A0), 0xAAAA_AAAA);
            assert_eq!(m.reg(A1), status::MODE);
        }
    }
}

#[test]
fn write_mask_exits_only_when_an_owned_bit_changes() {
    // Host owns status.PG and shows PG = 0 in the shadow.
    let mut prog = set_csr(Csr::Status, status::MODE | status::PIE); // PG stays 0: no exit
    prog.extend(set_csr(Csr::Status, status::MODE | status::PG)); // PG -> 1: exit
    prog.push(Instr::Halt);
    for on in [false, true] {
        let mut m = guest(&prog);
        if on {
            m.controls_mut().csr_write_mask[Csr::Status.index()] = status::PG;
        }
        let exit = m.run(100);
        if on {
            assert_eq!(
                exit,
                Exit::Privileged {
                    instr: csrw(Csr::Status, T2)
                }
            );
            assert_eq!(m.pc(), 20);
            assert_eq!(m.csr(Csr::Status), status::MODE | status::PIE);
        } else {
            // Without the mask, the second write turns paging on with an empty
            // table: the next fetch faults (and traps to tvec 0, forever).
            assert_eq!(exit, Exit::BudgetExhausted);
            assert_ne!(m.csr(Csr::Status) & status::PG, 0);
        }
    }
}

#[test]
fn write_mask_keeps_owned_bits_of_the_guest_copy() {
    let prog = [addi(T0, ZERO, -1), csrw(Csr::Scratch, T0), Instr::Halt];
    let mut m = guest(&prog);
    m.set_csr(Csr::Scratch, 0);
    let c = m.controls_mut();
    c.csr_write_mask[Csr::Scratch.index()] = 0xF;
    c.read_shadow[Csr::Scratch.index()] = 0xF;
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.csr(Csr::Scratch), 0xFFFF_FFF0);
}

#[test]
fn prio_threshold() {
    for (value, threshold, exits) in [(2, Some(4), true), (5, Some(4), false), (0, None, false)] {
        let mut prog = set_csr(Csr::Prio, value);
        prog.push(Instr::Halt);
        let mut m = guest(&prog);
        m.controls_mut().prio_threshold = threshold;
        let exit = m.run(100);
        if exits {
            assert_eq!(
                exit,
                Exit::Privileged {
                    instr: csrw(Csr::Prio, T2)
                }
            );
            assert_eq!(m.csr(Csr::Prio), 0);
        } else {
            assert_eq!(exit, Exit::Halt);
            assert_eq!(m.csr(Csr::Prio), value);
        }
    }
}

/// Runs `prog` in guest mode with `set` applied to the controls.
fn exit_with(prog: &[Instr], set: impl Fn(&mut vmlab_machine::Controls)) -> Exit {
    let mut m = guest(prog);
    set(m.controls_mut());
    m.run(100)
}

#[test]
fn ptbr_tlbflush_halt_and_wfi_exits() {
    let ptbr = [csrw(Csr::Ptbr, ZERO), Instr::Halt];
    assert_eq!(
        exit_with(&ptbr, |c| c.ptbr_exits = true),
        Exit::Privileged { instr: ptbr[0] }
    );
    assert_eq!(exit_with(&ptbr, |_| {}), Exit::Halt);

    let flush = [
        Instr::TlbFlushPage { rs1: ZERO },
        Instr::TlbFlush,
        Instr::Halt,
    ];
    assert_eq!(
        exit_with(&flush, |c| c.tlbflush_exits = true),
        Exit::Privileged { instr: flush[0] }
    );
    assert_eq!(exit_with(&flush, |_| {}), Exit::Halt);

    let halt = [Instr::Halt];
    assert_eq!(
        exit_with(&halt, |c| c.halt_exits = true),
        Exit::Privileged { instr: Instr::Halt }
    );
    assert_eq!(exit_with(&halt, |_| {}), Exit::Halt);

    let wfi = [Instr::Wfi, Instr::Halt];
    assert_eq!(
        exit_with(&wfi, |c| c.wfi_exits = true),
        Exit::Privileged { instr: Instr::Wfi }
    );
    assert_eq!(exit_with(&wfi, |_| {}), Exit::Idle);
}

#[test]
fn privileged_exits_make_a_ring_one_like_level() {
    let cases = [
        csrr(A0, Csr::Status),
        csrw(Csr::Scratch, A0),
        Instr::GetFlags { rd: A0 },
        Instr::SetFlags { rs1: A0 },
        Instr::Sret,
        Instr::TlbFlush,
        Instr::Wfi,
        Instr::Halt,
    ];
    for instr in cases {
        let mut m = guest(&[addi(A1, ZERO, 1), instr, Instr::Halt]);
        m.controls_mut().privileged_exits = true;
        assert_eq!(m.run(100), Exit::Privileged { instr }, "{instr:?}");
        assert_eq!(m.pc(), 4);
        assert_eq!(m.instret(), 1);
    }
    // Port I/O exits as port exits; hypercall as a hypercall.
    let mut m = guest(&[addi(A0, ZERO, 7), outb(A0, ZERO, 0x100), Instr::Hypercall]);
    m.controls_mut().privileged_exits = true;
    assert_eq!(
        m.run(100),
        Exit::PortOut {
            port: 0x100,
            width: Width::Byte,
            value: 7
        }
    );
    m.retire_emulated();
    assert_eq!(m.run(100), Exit::Hypercall);
    // Unprivileged instructions and syscalls stay in the guest.
    let mut prog = set_csr(Csr::Tvec, TVEC); // exits: run it with the control off first
    prog.push(Instr::Syscall);
    let mut m = guest(&prog);
    put(&mut m, TVEC, &recording_handler());
    assert_eq!(m.run(100), Exit::Halt);
    m.set_pc(12);
    m.controls_mut().privileged_exits = true;
    assert_eq!(
        m.run(100),
        Exit::Privileged {
            instr: csrr(R::S0, Csr::Cause)
        },
        "the handler's csrr"
    );
    assert_eq!(m.pc(), TVEC);
}

#[test]
fn exception_bitmap_in_guest_mode() {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.push(Instr::Syscall);
    for on in [false, true] {
        let mut m = guest(&prog);
        put(&mut m, TVEC, &recording_handler());
        m.controls_mut().set_exception_exit(Exception::Syscall, on);
        let exit = m.run(100);
        if on {
            assert_eq!(
                exit,
                Exit::Exception {
                    cause: Exception::Syscall,
                    addr: 0
                }
            );
            assert_eq!(m.pc(), 12);
            // The host reflects it into the guest.
            m.inject(Cause::Exception(Exception::Syscall), 0);
            assert_eq!(m.run(100), Exit::Halt);
        } else {
            assert_eq!(exit, Exit::Halt);
        }
        assert_eq!(m.reg(R::S0), Exception::Syscall.code());
        assert_eq!(m.reg(R::S1), 12);
    }
}

/// Timer at instret 20 with IE on; spin afterwards.
fn timer_guest() -> Machine {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend(set_csr(Csr::TimeCmp, 20));
    prog.extend(set_csr(Csr::IEnable, 1 << irq::TIMER));
    prog.push(addi(T0, ZERO, status::IE as i32));
    prog.push(Instr::SetFlags { rs1: T0 });
    prog.extend(std::iter::repeat_n(addi(A0, A0, 1), 30));
    prog.push(jal(ZERO, 0));
    let mut m = guest(&prog);
    put(&mut m, TVEC, &recording_handler());
    m
}

#[test]
fn interrupt_exits_and_injection() {
    let mut m = timer_guest();
    m.controls_mut().interrupt_exits = true;
    assert_eq!(m.run(1000), Exit::Interrupt { irq: irq::TIMER });
    assert_eq!(m.instret(), 20);
    assert_eq!(m.pc(), 80);
    m.inject(Cause::Interrupt(irq::TIMER), 0);
    assert_eq!(m.run(1000), Exit::Halt);
    assert_eq!(m.reg(R::S0), Cause::Interrupt(irq::TIMER).code());
    assert_eq!(m.reg(R::S1), 80);
    assert_eq!(m.counters().interrupts_of(irq::TIMER), 1);
    // Off: delivered in the guest directly.
    let mut m = timer_guest();
    assert_eq!(m.run(1000), Exit::Halt);
    assert_eq!(m.reg(R::S1), 80);
}

#[test]
fn interrupt_window_exits() {
    let prog = [
        addi(A0, ZERO, 1),
        addi(T0, ZERO, status::IE as i32),
        Instr::SetFlags { rs1: T0 },
        addi(A0, ZERO, 2),
        Instr::Halt,
    ];
    let mut m = guest(&prog);
    m.controls_mut().interrupt_window_exits = true;
    assert_eq!(m.run(100), Exit::InterruptWindow);
    assert_eq!(m.pc(), 12, "before the first instruction with IE = 1");
    assert_eq!(m.reg(A0), 1);
    m.controls_mut().interrupt_window_exits = false;
    assert_eq!(m.run(100), Exit::Halt);
    // prio holding everything off keeps the window shut.
    let mut m = guest(&prog);
    m.set_csr(Csr::Prio, 8);
    m.controls_mut().interrupt_window_exits = true;
    assert_eq!(m.run(100), Exit::Halt);
}

#[test]
fn port_exits_and_complete_in() {
    let prog = [
        inw(A0, ZERO, 0x300),
        outw(A0, ZERO, 0x301),
        inw(A1, ZERO, 0x7000),
        Instr::Halt,
    ];
    for guest_mode in [true, false] {
        let mut m = machine(&prog);
        m.controls_mut().guest_mode = guest_mode;
        m.controls_mut().port_exits.set_range(0x300, 2, true);
        assert_eq!(
            m.run(100),
            Exit::PortIn {
                port: 0x300,
                width: Width::Word,
                rd: A0
            }
        );
        assert_eq!(m.pc(), 0);
        m.complete_in(0xDEAD_BEEF).unwrap();
        assert!(m.complete_in(1).is_err(), "nothing left to complete");
        assert_eq!(
            m.run(100),
            Exit::PortOut {
                port: 0x301,
                width: Width::Word,
                value: 0xDEAD_BEEF
            }
        );
        m.retire_emulated();
        // Port 0x7000 is not in the bitmap: the bus answers (floating: all ones).
        assert_eq!(m.run(100), Exit::Halt);
        assert_eq!(m.reg(A1), u32::MAX);
        assert_eq!(m.instret(), 3);
    }
}

#[test]
fn legacy_getf_sees_supervisor_in_guest_mode_but_not_when_deprivileged() {
    let config = MachineConfig {
        ram_bytes: 1 << 20,
        profile: Profile::Legacy,
        ..MachineConfig::default()
    };
    // Guest mode: the kernel runs at guest-supervisor level.
    let mut m = machine_with(&[Instr::GetFlags { rd: A0 }, Instr::Halt], config.clone());
    m.controls_mut().guest_mode = true;
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0) & status::MODE, status::MODE);
    // Trap-and-emulate: the kernel is deprivileged to user mode and getf
    // tells it so, without trapping.
    let mut m = machine_with(&[Instr::GetFlags { rd: A0 }, Instr::Halt], config);
    m.set_csr(Csr::Status, 0);
    m.controls_mut().exception_exits = u32::MAX;
    assert!(matches!(
        m.run(100),
        Exit::Exception {
            cause: Exception::PrivilegedInstruction,
            ..
        }
    ));
    assert_eq!(m.pc(), 4, "getf did not trap; the halt did");
    assert_eq!(m.reg(A0) & status::MODE, 0);
}

#[test]
fn trap_and_emulate_outside_guest_mode() {
    // A deprivileged kernel's csrw traps as privileged-instruction and the
    // exception bitmap hands it to the host, which emulates it.
    let prog = [addi(T0, ZERO, 5), csrw(Csr::Scratch, T0), Instr::Syscall];
    let mut m = machine(&prog);
    m.set_csr(Csr::Status, 0);
    m.controls_mut()
        .set_exception_exit(Exception::PrivilegedInstruction, true);
    m.controls_mut()
        .set_exception_exit(Exception::Syscall, true);
    let word = vmlab_isa::encode(&prog[1]).unwrap();
    assert_eq!(
        m.run(100),
        Exit::Exception {
            cause: Exception::PrivilegedInstruction,
            addr: word
        }
    );
    assert_eq!(
        m.read_u32_virt(vmlab_machine::GuestVirt(m.pc())),
        Some(word)
    );
    m.retire_emulated();
    assert_eq!(
        m.run(100),
        Exit::Exception {
            cause: Exception::Syscall,
            addr: 0
        }
    );
    assert_eq!(
        m.counters().retired[0][0],
        1,
        "one user instruction, host mode"
    );
}
