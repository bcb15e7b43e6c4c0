# pvops.s: the paravirt-ops. Every privileged operation the kernel performs
# is one of these macros or functions, defined once per build:
#
#   .ifdef PV_CPU   the Xen-style kernel: hypercalls and shared-page stores
#                   (docs/hypercalls.md, section 9 has the same table)
#   .else           bare metal: the privileged instruction itself
#
# The device drivers' two versions (ports, or rings under PV_IO) are in
# dev.s; the pv kernel's helpers (p2m/m2p, the mmu_update queue) in pv.s.
# Linux calls this layer paravirt_ops; reading the two halves of this file
# side by side is reading what a paravirtual port changes.
#
# Register rules: a macro or function here may clobber every caller-saved
# register (a0..a4, t0..t3, ra) unless it says otherwise, in every build:
# the pv versions call the monitor, and callers must not depend on the
# accident that a full build's version is one instruction.

# The build's name (for the log) and the boot flags it needs the host to set
# (docs/hypercalls.md, 4.2): a pv kernel cannot run outside pv mode, nor a
# ring driver without rings.
        .section data
        .ifdef PV_CPU
        .equ BUILD_NEEDS_FLAGS, BOOT_FLAG_PV_CPU | BOOT_FLAG_PV_IO
build_name:     .asciz "pv"
        .else
        .ifdef PV_IO
        .equ BUILD_NEEDS_FLAGS, BOOT_FLAG_PV_IO
build_name:     .asciz "pv_io"
        .else
        .equ BUILD_NEEDS_FLAGS, 0
build_name:     .asciz "full"
        .endif
        .endif
        .section text

        .ifdef PV_CPU
# ===========================================================================
# The paravirtual CPU (PV_CPU): the kernel runs deprivileged and asks.

# TABLE_MAP_FLAGS: how the direct map maps the boot page tables: read-only,
# since pinned tables may be written only through mmu_update (and pinning
# a leaf that maps a pinned table writable fails).
        .equ TABLE_MAP_FLAGS, PTE_KERNEL_RO

# PV_M2P_INIT: build the machine-to-physical lookup the PTE reads need.
        .macro PV_M2P_INIT
        call    m2p_init
        .endm

# ASSERT_SUPERVISOR: omitted. The pv kernel knows it is deprivileged, and
# `getf` would exit to the monitor as a guest error (hypercalls.md, 3).
        .macro ASSERT_SUPERVISOR
        .endm

# PV_SET_TRAP_VECTOR: register the trap table (hypercall set_trap_table):
# syscalls and exceptions then come straight to the kernel, page faults after
# a bounce through the monitor.
        .macro PV_SET_TRAP_VECTOR
        la      a0, pv_trap_table
        li      a4, HC_SET_TRAP_TABLE
        hypercall
        bltz    a0, pv_failed
        .endm

# PV_PTE_FRAME: a0 = guest-physical address -> a0 = the frame a PTE holds.
# pv page tables hold host (machine) frames: look it up in the p2m table.
        .macro PV_PTE_FRAME
        call    p2m_frame
        .endm

# PV_PTE_GPA: a0 = a PTE -> a0 = guest-physical address of its frame.
# The reverse (machine-to-physical) lookup.
        .macro PV_PTE_GPA
        call    m2p_frame
        .endm

# PV_PTE_WRITE: write a1 to the PTE at guest-physical a0. The table is pinned
# and read-only to us, so the write is queued for the next mmu_update batch.
        .macro PV_PTE_WRITE
        call    mmu_queue
        .endm

# PV_MMU_COMMIT kind: apply the queued PTE writes (one mmu_update), then
# flush: TLB_FLUSH_NONE, TLB_FLUSH_PAGE (the page of virtual a0) or
# TLB_FLUSH_ALL. Everything that depends on the writes comes after this.
        .macro PV_MMU_COMMIT kind
        li      a1, \kind
        call    mmu_commit
        .endm

# PV_PIN_TABLE level: a0 = guest-physical page, filled with ordinary stores,
# becomes a page table of `level` (PIN_LEAF or PIN_ROOT): validated once,
# read-only to the kernel from now on (pin_table).
        .macro PV_PIN_TABLE level
        li      a1, \level
        call    pv_pin
        .endm

# PV_UNPIN_TABLE: a0 = guest-physical page table -> an ordinary page again.
        .macro PV_UNPIN_TABLE
        call    pv_unpin
        .endm

# PV_SET_PTBR: switch to the root table at guest-physical a0 (set_ptbr: also
# turns paging on the first time, and flushes the TLB).
        .macro PV_SET_PTBR
        call    pv_set_ptbr
        .endm

# PV_PAGING_ON: a0 = the kernel's root: the first set_ptbr turns paging on.
        .macro PV_PAGING_ON
        call    pv_set_ptbr
        .endm

# PV_IRET_FRAME base, flags: the `iret` frame. The hypercall itself uses a0
# and a4, so their values to restore (saved at \base + TF_A0/TF_A4) travel
# in the shared page, with the mode to return to. Clobbers t1, t2.
        .macro PV_IRET_FRAME base, flags
        lw      t1, k_shared(zero)
        lw      t2, TF_A0(\base)
        sw      t2, SHARED_IRET_A0(t1)
        lw      t2, TF_A4(\base)
        sw      t2, SHARED_IRET_A4(t1)
        li      t2, \flags
        sw      t2, SHARED_IRET_FLAGS(t1)
        .endm

# PV_IRET: return from the trap to epc, with every register already restored
# but a4 (iret: the monitor loads a0 and a4 from the frame).
        .macro PV_IRET
        li      a4, HC_IRET
        hypercall
        .endm

        .equ RETURN_TO_USER,   0                # iret flags: to user mode
        .equ RETURN_TO_KERNEL, IRET_KERNEL      # to the kernel, events still masked

# PV_EVENT_CLEAR: a2 = the ring's event (EV_CONSOLE, EV_BLOCK). Its pending
# byte is cleared before the responses are consumed (hypercalls.md, 5.2).
        .macro PV_EVENT_CLEAR
        lw      t0, k_shared(zero)
        add     t0, t0, a2
        sb      zero, SHARED_PENDING(t0)
        .endm

# PV_DEVICE_ACK: nothing: the event byte was the acknowledgement.
        .macro PV_DEVICE_ACK
        .endm

# PV_PRIO_WRITE reg: the priority threshold (cr8wr) is a shared-page field:
# one store, no call. Lowering it may make a pending event deliverable, so
# check, as docs/hypercalls.md, section 5.3 says.
        .macro PV_PRIO_WRITE reg
        lw      t0, k_shared(zero)
        sw      \reg, SHARED_PRIO(t0)
        lw      t1, SHARED_PENDING(t0)
        beqz    t1, prio_checked\@
        li      a4, HC_EVENT_CHECK
        hypercall
prio_checked\@:
        .endm

# irq_save() -> a0 = the previous state: the virtual interrupt flag is the
# shared page's mask; disabling is one store.
irq_save:
        lw      t0, k_shared(zero)
        lw      a0, SHARED_MASK(t0)
        li      t1, 1
        sw      t1, SHARED_MASK(t0)
        ret

# irq_restore(a0 = state from irq_save). Unmasking must look for events that
# arrived while masked: the monitor does not see the store.
irq_restore:
        lw      t0, k_shared(zero)
        sw      a0, SHARED_MASK(t0)
        bnez    a0, 1f
        lw      t1, SHARED_PENDING(t0)
        beqz    t1, 1f
        li      a4, HC_EVENT_CHECK
        hypercall
1:      ret

# timer_arm(): the next tick one quantum from now (set_timer, one-shot). Now
# is the shared page's time, written at the last hypercall return or upcall.
timer_arm:
        lw      t0, k_shared(zero)
        lw      a0, SHARED_TIME_LO(t0)
        lw      a1, SHARED_TIME_HI(t0)
        li      t1, QUANTUM
        add     t1, a0, t1
        sltu    t2, t1, a0              # carry into the high word
        add     a1, a1, t2
        mv      a0, t1
        li      a4, HC_SET_TIMER
        hypercall
        ret

# timer_off(): no tick until the next timer_arm (the nanobenchmarks).
timer_off:
        li      a0, TIMER_NEVER
        li      a1, TIMER_NEVER
        li      a4, HC_SET_TIMER
        hypercall
        ret

# timer_init(): nothing to enable: set_timer raises EV_TIMER by itself.
timer_init:
        ret

# time_now() -> a0 = low word of the retired-instruction count (hypercall time).
time_now:
        li      a4, HC_TIME
        hypercall
        ret

# interrupt(a0 = cause) -> a0 = 1 if the timer ticked. In pv every event
# arrives as one upcall; the pending bytes say which. Each byte is cleared
# before its source is looked at (hypercalls.md, 5.2). The drivers poll
# their rings, so a console or block event needs no more work here.
interrupt:
        li      t0, UPCALL_CAUSE
        bne     a0, t0, 1f
        lw      t0, k_shared(zero)
        lbu     a0, SHARED_PENDING + EV_TIMER(t0)
        sb      zero, SHARED_PENDING + EV_TIMER(t0)
        sb      zero, SHARED_PENDING + EV_CONSOLE(t0)
        sb      zero, SHARED_PENDING + EV_BLOCK(t0)
        ret
1:      li      a0, 0
        ret

# klog_write(a0 = buffer, a1 = length <= LOG_WRITE_MAX): one log_write call
# for a whole line.
klog_write:
        li      a4, HC_LOG_WRITE
        hypercall
        ret

# power_off(a0 = exit code): never returns (hypercall shutdown).
power_off:
        li      a4, HC_SHUTDOWN
        hypercall
        j       power_off

        .else
# ===========================================================================
# The full CPU (no PV_CPU): privileged instructions, as on bare metal.

# TABLE_MAP_FLAGS: the kernel writes its page tables with stores.
        .equ TABLE_MAP_FLAGS, PTE_KERNEL

# PV_M2P_INIT: PTEs hold guest-physical frames; no lookup to build.
        .macro PV_M2P_INIT
        .endm

# ASSERT_SUPERVISOR: "am I in supervisor mode?", with the legacy profile's
# unprivileged `getf`. Under trap-and-emulate on the legacy profile the
# kernel runs in user mode, `getf` does not trap, and this fails visibly:
# the kernel cannot be virtualized that way (docs/isa.md, section 10.3).
# Clobbers t0.
        .macro ASSERT_SUPERVISOR
        getf    t0
        andi    t0, t0, ST_MODE
        beqz    t0, assert_mode_failed
        .endm

# PV_SET_TRAP_VECTOR: one entry point for every trap.
        .macro PV_SET_TRAP_VECTOR
        la      t0, trap_entry
        csrw    tvec, t0
        .endm

# PV_PTE_FRAME: a PTE holds guest-physical frames; nothing to translate.
        .macro PV_PTE_FRAME
        .endm

# PV_PTE_GPA: a0 = a PTE -> a0 = its frame's address (drop the flag bits).
        .macro PV_PTE_GPA
        srli    a0, a0, PAGE_SHIFT
        slli    a0, a0, PAGE_SHIFT
        .endm

# PV_PTE_WRITE: a PTE write is a store (the direct map makes the table
# writable). Under shadow paging this store is what the monitor traps.
        .macro PV_PTE_WRITE
        sw      a1, 0(a0)
        .endm

# PV_MMU_COMMIT kind: the writes are already done; flush what may be cached.
        .macro PV_MMU_COMMIT kind
        .if \kind == TLB_FLUSH_PAGE
        tlbflushp a0
        .elif \kind == TLB_FLUSH_ALL
        tlbflush
        .endif
        .endm

# PV_PIN_TABLE, PV_UNPIN_TABLE: nothing. A page becomes a table when
# something points to it.
        .macro PV_PIN_TABLE level
        .endm
        .macro PV_UNPIN_TABLE
        .endm

# PV_SET_PTBR: writing ptbr does not flush the TLB (docs/isa.md, 8.4): the
# untagged TLB must be flushed on every address-space switch.
        .macro PV_SET_PTBR
        csrw    ptbr, a0
        tlbflush
        .endm

# PV_PAGING_ON: a0 = the kernel's root; then status.PG. PIE is set too, and
# PMODE is user, so the first `sret` enters the first process in user mode
# with interrupts on (docs/isa.md, 6.4); every later trap saves them so.
        .macro PV_PAGING_ON
        csrw    ptbr, a0
        tlbflush
        li      t0, ST_MODE | ST_PG | ST_PIE
        csrw    status, t0
        .endm

# PV_IRET_FRAME, PV_IRET: `sret` takes everything from epc and status.
        .macro PV_IRET_FRAME base, flags
        .endm
        .macro PV_IRET
        sret
        .endm

        .equ RETURN_TO_USER,   0
        .equ RETURN_TO_KERNEL, 0

# PV_EVENT_CLEAR, PV_DEVICE_ACK (PV_IO drivers): the ring's completion is the
# device interrupt. It is never enabled (the drivers poll), but it is
# acknowledged after the responses are consumed, as for a real device.
        .macro PV_EVENT_CLEAR
        .endm
        .macro PV_DEVICE_ACK
        csrr    t0, ipend
        andi    t0, t0, ~IRQ_DEVICE_BIT
        csrw    ipend, t0
        .endm

# PV_PRIO_WRITE reg: the priority register (cr8wr).
        .macro PV_PRIO_WRITE reg
        csrw    prio, \reg
        .endm

# irq_save() -> a0 = the previous flags (MODE | IE, from `getf`), interrupts
# off. The legacy profile drops a user-mode `setf` silently (as x86's POPF
# drops IF), so check that it took: a kernel deprivileged by classic
# trap-and-emulate fails here, visibly, instead of running with interrupts
# it believes are off.
irq_save:
        getf    a0
        setf    zero
        getf    t0
        andi    t0, t0, ST_IE
        bnez    t0, assert_irq_failed
        ret

# irq_restore(a0 = flags from irq_save): IE as it was.
irq_restore:
        setf    a0
        ret

# timer_arm(): the next tick one quantum from now. The 64-bit counter is
# read high, low, high until the high word holds still (docs/isa.md, 5.5).
timer_arm:
1:      csrr    t1, instreth
        csrr    t0, instret
        csrr    t2, instreth
        bne     t1, t2, 1b
        li      t2, QUANTUM
        add     t2, t0, t2
        sltu    t0, t2, t0              # carry into the high word
        add     t1, t1, t0
        csrw    timecmph, t1            # interrupts are off: the order of the
        csrw    timecmp, t2             # two writes does not matter
        ret

# timer_off(): no tick until the next timer_arm (the nanobenchmarks).
timer_off:
        li      t0, -1
        csrw    timecmph, t0
        csrw    timecmp, t0
        ret

# timer_init(): let the timer interrupt in (it is taken only in user mode,
# where IE is 1).
timer_init:
        li      t0, IRQ_TIMER_BIT
        csrw    ienable, t0
        ret

# time_now() -> a0 = low word of the retired-instruction count.
time_now:
        csrr    a0, instret
        ret

# interrupt(a0 = cause) -> a0 = 1 if the timer ticked. A device interrupt
# (never enabled, the drivers poll) is acknowledged and otherwise ignored.
interrupt:
        li      t0, CAUSE_TIMER_IRQ
        bne     a0, t0, 1f
        li      a0, 1
        ret
1:      csrr    t0, ipend
        andi    t0, t0, ~IRQ_DEVICE_BIT
        csrw    ipend, t0
        li      a0, 0
        ret

# klog_write(a0 = buffer, a1 = length): one `outb` per byte to the log port.
klog_write:
        li      t0, PORT_KLOG
        add     a1, a0, a1
        bgeu    a0, a1, 2f
1:      lbu     t1, 0(a0)
        outb    t1, 0(t0)
        addi    a0, a0, 1
        bltu    a0, a1, 1b
2:      ret

# power_off(a0 = exit code): never returns.
power_off:
        li      t0, PORT_POWER
        outw    a0, 0(t0)
        halt
        j       power_off

        .endif
# ===========================================================================
# The same in every build.

# PV_RETURN flags: restore every register from the trap frame at t0 (t0
# itself last) and return to epc: to user mode (RETURN_TO_USER) or to the
# interrupted kernel code (RETURN_TO_KERNEL). The only difference between
# the builds is the first and the last line: the pv `iret` frame, and
# `sret` or the `iret` hypercall.
        .macro PV_RETURN flags
        PV_IRET_FRAME t0, \flags
        lw      ra, TF_RA(t0)
        lw      sp, TF_SP(t0)
        lw      a0, TF_A0(t0)
        lw      a1, TF_A1(t0)
        lw      a2, TF_A2(t0)
        lw      a3, TF_A3(t0)
        lw      a4, TF_A4(t0)
        lw      t1, TF_T1(t0)
        lw      t2, TF_T2(t0)
        lw      t3, TF_T3(t0)
        lw      s0, TF_S0(t0)
        lw      s1, TF_S1(t0)
        lw      s2, TF_S2(t0)
        lw      s3, TF_S3(t0)
        lw      t0, TF_T0(t0)
        PV_IRET
        .endm

# Assertion failures: a fixed message on the log, a documented exit code.
assert_mode_failed:
        la      a0, msg_assert_mode
        li      a1, EXIT_ASSERT_MODE
        j       die
assert_irq_failed:
        la      a0, msg_assert_irq
        li      a1, EXIT_ASSERT_IRQ
        j       die

        .section data
msg_assert_mode:
        .asciz  "kernel assertion failed: not in supervisor mode (getf)"
msg_assert_irq:
        .asciz  "kernel assertion failed: interrupts still enabled after setf (setf dropped)"
        .section text
