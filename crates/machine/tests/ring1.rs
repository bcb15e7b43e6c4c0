//! The ring-1 rule (docs/hypercalls.md, section 3): with `privileged_exits`
//! and `frame_csrs_exempt`, `csrr`/`csrw` of the trap-frame registers act on
//! the guest copy with no exit; every other privileged instruction exits.

mod common;

use common::*;
use vmlab_isa::{Csr, Instr, abi};
use vmlab_machine::Exit;

#[test]
fn trap_frame_registers_do_not_exit_others_do() {
    let mut prog = Vec::new();
    prog.push(addi(A0, ZERO, 0x123));
    for csr in abi::TRAP_FRAME_CSRS {
        prog.push(Instr::Csrw { csr, rs1: A0 });
    }
    prog.push(csrr(A1, Csr::Epc));
    prog.push(csrr(A1, Csr::Scratch));
    prog.push(csrr(A1, Csr::Ptbr));
    prog.push(Instr::Halt);
    for exempt in [false, true] {
        let mut m = machine(&prog);
        let c = m.controls_mut();
        c.guest_mode = true;
        c.privileged_exits = true;
        c.frame_csrs_exempt = exempt;
        let exit = m.run(100);
        if exempt {
            assert_eq!(
                exit,
                Exit::Privileged {
                    instr: csrr(A1, Csr::Ptbr)
                }
            );
            assert_eq!(m.reg(A1), 0x123);
            assert_eq!(m.csr(Csr::BadAddr), 0x123);
        } else {
            assert!(matches!(
                exit,
                Exit::Privileged {
                    instr: Instr::Csrw { .. }
                }
            ));
            assert_eq!(m.pc(), 4);
        }
    }
}
