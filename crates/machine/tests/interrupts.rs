//! Interrupts: masking by IE, ienable and prio; priority order; the exact
//! timer delivery point; wfi's skip-ahead and Idle (docs/isa.md, "Interrupts").

mod common;

use common::*;
use vmlab_isa::csr::{irq, status};
use vmlab_isa::{Csr, INTERRUPT_BIT, Instr};
use vmlab_machine::{Exit, Machine};

/// Handler: s0 = instret at entry, s1 = epc, s2 = cause; halt.
fn timing_handler() -> Vec<Instr> {
    vec![
        csrr(R::S0, Csr::InstRet),
        csrr(R::S1, Csr::Epc),
        csrr(R::S2, Csr::Cause),
        Instr::Halt,
    ]
}

/// Setup (11 instructions): tvec, timecmp = k, ienable = enable, IE on; then
/// 300 straight-line `addi` and a spin.
fn timer_program(k: u32, enable: u32) -> Machine {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend(set_csr(Csr::TimeCmp, k));
    prog.extend(set_csr(Csr::IEnable, enable));
    prog.push(addi(T0, ZERO, status::IE as i32));
    prog.push(Instr::SetFlags { rs1: T0 });
    assert_eq!(prog.len(), 11);
    prog.extend(std::iter::repeat_n(addi(A0, A0, 1), 300));
    prog.push(jal(ZERO, 0));
    let mut m = machine(&prog);
    put(&mut m, TVEC, &timing_handler());
    m
}

#[test]
fn timer_is_taken_exactly_when_instret_reaches_timecmp() {
    for k in 0..200 {
        let mut m = timer_program(k, 1 << irq::TIMER);
        assert_eq!(m.run(10_000), Exit::Halt, "k = {k}");
        // Pending before IE was set: taken right after the setf (instret 11).
        let at = k.max(11);
        assert_eq!(m.reg(R::S0), at, "instret at entry, k = {k}");
        assert_eq!(m.reg(R::S1), 4 * at, "epc, k = {k}");
        assert_eq!(m.reg(R::S2), INTERRUPT_BIT | irq::TIMER);
        assert_eq!(
            m.reg(A0),
            at - 11,
            "addi retired before the interrupt, k = {k}"
        );
        assert_eq!(m.counters().interrupts_of(irq::TIMER), 1);
    }
}

#[test]
fn timer_delivery_does_not_depend_on_run_slicing() {
    for k in [17, 64, 75, 140] {
        let mut whole = timer_program(k, 1 << irq::TIMER);
        assert_eq!(whole.run(10_000), Exit::Halt);
        for slice in [1, 3, 7, 64] {
            let mut sliced = timer_program(k, 1 << irq::TIMER);
            while sliced.run(slice) == Exit::BudgetExhausted {}
            assert_eq!(
                sliced.cpu_state(),
                whole.cpu_state(),
                "k = {k}, slice = {slice}"
            );
        }
    }
}

#[test]
fn ienable_masks_the_timer() {
    let mut m = timer_program(20, 0);
    assert_eq!(m.run(1000), Exit::BudgetExhausted);
    assert_eq!(m.counters().interrupts_of(irq::TIMER), 0);
}

#[test]
fn ie_masks_every_interrupt() {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend(set_csr(Csr::IEnable, irq::MASK));
    prog.extend(set_csr(Csr::IPend, (1 << irq::DEVICE) | (1 << irq::SOFT)));
    prog.push(addi(A0, ZERO, 1));
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    put(&mut m, TVEC, &timing_handler());
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 1, "no interrupt with IE off");
}

/// All three sources pending; returns the cause taken (None if none).
fn first_interrupt(enable: u32, prio: u32) -> Option<u32> {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend(set_csr(Csr::IEnable, enable));
    prog.extend(set_csr(Csr::Prio, prio));
    prog.extend(set_csr(Csr::IPend, (1 << irq::DEVICE) | (1 << irq::SOFT)));
    prog.push(addi(T0, ZERO, status::IE as i32));
    prog.push(Instr::SetFlags { rs1: T0 });
    prog.push(addi(A0, ZERO, 1));
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    put(&mut m, TVEC, &timing_handler());
    assert_eq!(m.run(100), Exit::Halt);
    (m.reg(A0) == 0).then(|| m.reg(R::S2) & !INTERRUPT_BIT)
}

#[test]
fn priority_order_and_prio_threshold() {
    let (t, d, s) = (1 << irq::TIMER, 1 << irq::DEVICE, 1 << irq::SOFT);
    assert_eq!(first_interrupt(t | d | s, 0), Some(irq::TIMER));
    assert_eq!(first_interrupt(d | s, 0), Some(irq::DEVICE));
    assert_eq!(first_interrupt(s, 0), Some(irq::SOFT));
    // prio: taken only if priority (timer 8, device 4, soft 2) > prio.
    assert_eq!(first_interrupt(t | d | s, 7), Some(irq::TIMER));
    assert_eq!(first_interrupt(t | d | s, 8), None);
    assert_eq!(first_interrupt(d | s, 3), Some(irq::DEVICE));
    assert_eq!(first_interrupt(d | s, 4), None);
    assert_eq!(first_interrupt(s, 1), Some(irq::SOFT));
    assert_eq!(first_interrupt(s, 2), None);
}

#[test]
fn interrupt_entry_saves_ie_and_sret_restores_it() {
    // Soft interrupt; the handler acknowledges it and returns.
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend(set_csr(Csr::IEnable, 1 << irq::SOFT));
    prog.extend(set_csr(Csr::IPend, 1 << irq::SOFT));
    prog.push(addi(T0, ZERO, status::IE as i32));
    prog.push(Instr::SetFlags { rs1: T0 });
    prog.push(addi(A0, A0, 1)); // at 44: resumes here
    prog.push(Instr::GetFlags { rd: A1 });
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    put(
        &mut m,
        TVEC,
        &[
            csrr(R::S3, Csr::Status),
            csrw(Csr::IPend, ZERO),
            addi(A2, A2, 1),
            Instr::Sret,
        ],
    );
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A2), 1, "one interrupt");
    assert_eq!(m.reg(A0), 1);
    assert_eq!(m.reg(R::S3) & (status::IE | status::PIE), status::PIE);
    assert_eq!(m.reg(A1), status::MODE | status::IE);
}

#[test]
fn host_raised_device_interrupt() {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend(set_csr(Csr::IEnable, 1 << irq::DEVICE));
    prog.push(addi(T0, ZERO, status::IE as i32));
    prog.push(Instr::SetFlags { rs1: T0 });
    prog.push(jal(ZERO, 0));
    let mut m = machine(&prog);
    put(&mut m, TVEC, &timing_handler());
    assert_eq!(m.run(100), Exit::BudgetExhausted);
    m.raise_irq(irq::DEVICE);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(R::S2), INTERRUPT_BIT | irq::DEVICE);
    assert_eq!(m.reg(R::S1), 32, "epc: the spin loop");
}

#[test]
fn wfi_skips_idle_time_to_the_timer() {
    let mut prog = set_csr(Csr::TimeCmp, 5000);
    prog.extend(set_csr(Csr::IEnable, 1 << irq::TIMER));
    prog.push(Instr::Wfi);
    prog.push(csrr(A0, Csr::InstRet));
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    // The skipped time does not consume the budget.
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(
        m.reg(A0),
        5001,
        "instret advanced to timecmp, then wfi retired"
    );
}

#[test]
fn wfi_then_timer_interrupt_with_ie_on() {
    let mut prog = set_csr(Csr::Tvec, TVEC);
    prog.extend(set_csr(Csr::TimeCmp, 777));
    prog.extend(set_csr(Csr::IEnable, 1 << irq::TIMER));
    prog.push(addi(T0, ZERO, status::IE as i32));
    prog.push(Instr::SetFlags { rs1: T0 });
    prog.push(Instr::Wfi); // at 44
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    put(&mut m, TVEC, &timing_handler());
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(R::S0), 778);
    assert_eq!(m.reg(R::S1), 48, "epc after the wfi");
}

#[test]
fn wfi_retires_at_once_when_an_interrupt_is_pending() {
    let mut prog = set_csr(Csr::IEnable, 1 << irq::SOFT);
    prog.extend(set_csr(Csr::IPend, 1 << irq::SOFT));
    prog.push(Instr::Wfi);
    prog.push(csrr(A0, Csr::InstRet));
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0), 7);
}

#[test]
fn wfi_with_nothing_to_wake_it_is_idle() {
    // Timer enabled but masked by prio; soft not enabled.
    let mut prog = set_csr(Csr::IEnable, 1 << irq::TIMER);
    prog.extend(set_csr(Csr::TimeCmp, 1000));
    prog.extend(set_csr(Csr::Prio, 8));
    prog.push(Instr::Wfi);
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Idle);
    assert_eq!(m.pc(), 36);
    assert_eq!(m.instret(), 9);
    // The host raises an interrupt source the guest enabled: wfi now retires.
    m.set_csr(Csr::IEnable, 1 << irq::SOFT);
    m.set_csr(Csr::Prio, 0);
    m.raise_irq(irq::SOFT);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.pc(), 40);
}

#[test]
fn timer_pending_bit_reads_through_ipend() {
    let mut prog = set_csr(Csr::TimeCmp, 10);
    prog.push(csrr(A0, Csr::IPend)); // instret 3 < 10
    prog.extend(std::iter::repeat_n(addi(ZERO, ZERO, 0), 8));
    prog.push(csrr(A1, Csr::IPend)); // instret 12 >= 10
    prog.push(Instr::Halt);
    let mut m = machine(&prog);
    assert_eq!(m.run(100), Exit::Halt);
    assert_eq!(m.reg(A0) & 1, 0);
    assert_eq!(m.reg(A1) & 1, 1);
}
