//! Traps: every synchronous cause, trap entry and `sret`, privileged
//! instructions in user mode, and the profiles' getf/setf differences
//! (docs/isa.md sections 4.7, 6 and 10).

mod common;

use common::*;
use vmlab_isa::csr::status;
use vmlab_isa::{AluOp, Csr, Exception, Instr, Profile, Width};
use vmlab_machine::{Exit, MachineConfig, Mode};

/// A program that sets tvec, then runs `body` at supervisor level.
fn with_handler(body: &[Instr]) -> vmlab_machine::Machine {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend_from_slice(body);
    let mut m = machine(&prog);
    put(&mut m, TVEC, &recording_handler());
    m
}

const BODY_AT: u32 = 12; // after set_csr (3 instructions)

#[test]
fn every_synchronous_trap_cause() {
    use Exception as E;
    let illegal = 0xFF00_0000;
    // (body, cause, badaddr, epc offset into body)
    let cases: Vec<(Vec<Instr>, E, u32, u32)> = vec![
        (
            vec![Instr::Illegal(illegal)],
            E::IllegalInstruction,
            illegal,
            0,
        ),
        (
            vec![addi(T0, ZERO, 1), csrw(Csr::InstRet, T0)],
            E::IllegalInstruction,
            0, // the csrw word, filled in below
            4,
        ),
        (
            vec![addi(T0, ZERO, 2), jalr(ZERO, T0, 0)],
            E::MisalignedFetch,
            2,
            0,
        ),
        (
            vec![addi(T0, ZERO, 0x102), lw(A0, T0, 0)],
            E::MisalignedLoad,
            0x102,
            4,
        ),
        (
            vec![addi(T0, ZERO, 0x101), store(Width::Half, A0, T0, 0)],
            E::MisalignedStore,
            0x101,
            4,
        ),
        (
            vec![
                Instr::Lui {
                    rd: T0,
                    imm: 0x40000,
                },
                lw(A0, T0, 0),
            ],
            E::BusError,
            0x4000_0000,
            4,
        ),
        (
            vec![
                Instr::Lui {
                    rd: T0,
                    imm: 0x40000,
                },
                sw(A0, T0, 0),
            ],
            E::BusError,
            0x4000_0000,
            4,
        ),
        (vec![alu(AluOp::Divu, A0, A0, ZERO)], E::DivideByZero, 0, 0),
        (vec![Instr::Syscall], E::Syscall, 0, 0),
        (vec![Instr::Break], E::Breakpoint, 0, 0),
        (vec![Instr::Hypercall], E::Hypercall, 0, 0),
    ];
    for (body, cause, badaddr, epc_off) in cases {
        let mut m = with_handler(&body);
        let want_epc = if cause == E::MisalignedFetch {
            2
        } else {
            BODY_AT + epc_off
        };
        let badaddr = if cause == E::IllegalInstruction && epc_off == 4 {
            vmlab_isa::encode(&csrw(Csr::InstRet, T0)).unwrap()
        } else {
            badaddr
        };
        assert_eq!(m.run(1000), Exit::Halt, "{cause:?}");
        assert_eq!(m.pc(), TVEC + 16, "{cause:?}");
        assert_eq!(m.reg(R::S0), cause.code(), "{cause:?}");
        assert_eq!(m.reg(R::S1), want_epc, "{cause:?} epc");
        assert_eq!(m.reg(R::S2), badaddr, "{cause:?} badaddr");
        // status in the handler: MODE = 1, PMODE = 1 (from supervisor), IE = 0.
        assert_eq!(m.reg(R::S3) & status::FLAGS, status::MODE, "{cause:?}");
        assert_ne!(m.reg(R::S3) & status::PMODE, 0, "{cause:?}");
        assert_eq!(m.counters().traps_of(cause), 1, "{cause:?}");
    }
}

#[test]
fn a_trapping_instruction_does_not_retire() {
    let mut m = with_handler(&[
        addi(A0, ZERO, 7),
        Instr::Lui {
            rd: T0,
            imm: 0x40000,
        },
        lw(A0, T0, 0),
    ]);
    assert_eq!(m.run(1000), Exit::Halt);
    assert_eq!(m.reg(A0), 7);
    // 3 (tvec) + 2 before the load + 4 csrr in the handler; not the load, not the halt.
    assert_eq!(m.instret(), 9);
}

#[test]
fn privileged_instructions_trap_in_user_mode() {
    let user_code = 0x2000;
    let privileged: Vec<Instr> = vec![
        csrr(A0, Csr::Status),
        csrw(Csr::Scratch, A0),
        Instr::Sret,
        Instr::TlbFlush,
        Instr::TlbFlushPage { rs1: A0 },
        Instr::Wfi,
        Instr::Halt,
        inw(A0, ZERO, 0x100),
        outb(A0, ZERO, 0x100),
        Instr::Hypercall,
        Instr::GetFlags { rd: A0 },
        Instr::SetFlags { rs1: A0 },
    ];
    for instr in privileged {
        for profile in Profile::ALL {
            // Enter user mode at user_code with sret (PMODE = 0).
            let mut prog = set_csr(Csr::Tvec, TVEC);
            prog.extend(set_csr(Csr::Epc, user_code));
            prog.extend(set_csr(Csr::Status, status::MODE));
            prog.push(Instr::Sret);
            let mut m = machine_with(
                &prog,
                MachineConfig {
                    ram_bytes: 1 << 20,
                    profile,
                    ..MachineConfig::default()
                },
            );
            put(&mut m, TVEC, &recording_handler());
            put(&mut m, user_code, &[instr, Instr::Halt]);
            m.controls_mut()
                .set_exception_exit(Exception::PrivilegedInstruction, true);
            let exit = m.run(1000);
            let word = vmlab_isa::encode(&instr).unwrap();
            if instr.is_privileged(profile) {
                assert_eq!(
                    exit,
                    Exit::Exception {
                        cause: Exception::PrivilegedInstruction,
                        addr: word
                    },
                    "{instr:?} {profile:?}"
                );
                assert_eq!(m.pc(), user_code);
                assert_eq!(m.mode(), Mode::User);
            } else {
                // Legacy getf/setf: no trap; the program reaches its halt,
                // which is privileged and traps.
                assert_eq!(
                    exit,
                    Exit::Exception {
                        cause: Exception::PrivilegedInstruction,
                        addr: vmlab_isa::encode(&Instr::Halt).unwrap()
                    },
                    "{instr:?} {profile:?}"
                );
                assert_eq!(m.pc(), user_code + 4);
            }
        }
    }
}

#[test]
fn legacy_getf_in_user_mode_sees_mode_zero_and_setf_does_nothing() {
    let user_code = 0x2000;
    let mut prog = set_csr(Csr::Epc, user_code);
    prog.extend(set_csr(Csr::Status, status::MODE | status::PIE));
    prog.push(Instr::Sret);
    let config = MachineConfig {
        ram_bytes: 1 << 20,
        profile: Profile::Legacy,
        ..MachineConfig::default()
    };
    let mut m = machine_with(&prog, config);
    put(
        &mut m,
        user_code,
        &[
            Instr::GetFlags { rd: A0 },
            Instr::SetFlags { rs1: ZERO },
            Instr::GetFlags { rd: A1 },
            Instr::Syscall,
        ],
    );
    m.controls_mut()
        .set_exception_exit(Exception::Syscall, true);
    assert_eq!(
        m.run(100),
        Exit::Exception {
            cause: Exception::Syscall,
            addr: 0
        }
    );
    // After sret: MODE = 0, IE = PIE = 1.
    assert_eq!(m.reg(A0), status::IE);
    assert_eq!(m.reg(A1), status::IE, "legacy user setf must not clear IE");
}

#[test]
fn supervisor_getf_and_setf() {
    let prog = [
        Instr::GetFlags { rd: A0 },
        addi(T0, ZERO, 2),
        Instr::SetFlags { rs1: T0 },
        Instr::GetFlags { rd: A1 },
        addi(T0, ZERO, 1), // bit 1 clear: IE off (MODE bit ignored)
        Instr::SetFlags { rs1: T0 },
        Instr::GetFlags { rd: A2 },
        Instr::Halt,
    ];
    for profile in Profile::ALL {
        let config = MachineConfig {
            ram_bytes: 1 << 20,
            profile,
            ..MachineConfig::default()
        };
        let mut m = machine_with(&prog, config);
        assert_eq!(m.run(100), Exit::Halt);
        assert_eq!(m.reg(A0), status::MODE);
        assert_eq!(m.reg(A1), status::MODE | status::IE);
        assert_eq!(m.reg(A2), status::MODE);
    }
}

#[test]
fn sret_restores_mode_and_ie() {
    let mut prog = set_csr(Csr::Epc, 0x100);
    prog.extend(set_csr(
        Csr::Status,
        status::MODE | status::PMODE | status::PIE,
    ));
    prog.push(Instr::Sret);
    let mut m = machine(&prog);
    put(
        &mut m,
        0x100,
        &[
            Instr::GetFlags { rd: A0 },
            csrr(A1, Csr::Status),
            Instr::Halt,
        ],
    );
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.pc(), 0x108);
    // MODE := PMODE (1), IE := PIE (1), PMODE := 0, PIE := 1.
    assert_eq!(m.reg(A1), status::MODE | status::IE | status::PIE);
    assert_eq!(m.instret(), 7 + 2);
}
