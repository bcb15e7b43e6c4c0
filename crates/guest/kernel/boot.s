# boot.s: from reset to the first user instruction.
#
# The machine starts here in supervisor mode with paging off and interrupts
# off (the pv kernel: at the deprivileged level, events masked), a0 =
# BOOT_INFO_ADDR. The host has loaded this image at its link addresses and
# filled the boot-information page (docs/hypercalls.md, section 4):
#
#   1. read and check the boot information;
#   2. set up memory: the page allocator, the kernel's page tables, paging on;
#   3. install the trap vector (pv: register the trap table);
#   4. create one process per program in the boot information;
#   5. start the timer and enter the first process in user mode.
#
# Nothing here prints to the console: what the kernel has to say goes to the
# log, so a workload's console output is the same in every build and mode.

        .global _start
_start:
        la      sp, kstack_top

        # 1. The boot information. Paging is off: virtual = guest-physical.
        li      s0, BOOT_INFO_ADDR
        lw      t0, BOOT_MAGIC(s0)
        li      t1, BOOT_INFO_MAGIC
        bne     t0, t1, bad_boot
        lw      t0, BOOT_VERSION(s0)
        li      t1, BOOT_INFO_VERSION
        bne     t0, t1, bad_boot
        # This build needs the paravirtual devices or CPU the host must offer.
        lw      t0, BOOT_FLAGS(s0)
        andi    t0, t0, BUILD_NEEDS_FLAGS
        li      t1, BUILD_NEEDS_FLAGS
        bne     t0, t1, bad_boot
        lw      t0, BOOT_RAM_BYTES(s0)
        li      t1, RAM_MAX             # the direct map must fit below the kmap window
        bgtu    t0, t1, bad_boot
        sw      t0, k_ram_bytes(zero)
        lw      t0, BOOT_FREE_START(s0)
        sw      t0, k_free_start(zero)
        sw      t0, k_next_page(zero)   # the page allocator starts there
        lw      t0, BOOT_DISK_SECTORS(s0)
        sw      t0, k_disk_sectors(zero)
        lw      t0, BOOT_SHARED_ADDR(s0)
        sw      t0, k_shared(zero)
        lw      t0, BOOT_CONSOLE_RING(s0)
        sw      t0, k_con_ring(zero)
        lw      t0, BOOT_BLOCK_RING(s0)
        sw      t0, k_blk_ring(zero)
        lw      t0, BOOT_P2M_ADDR(s0)
        sw      t0, k_p2m(zero)
        lw      t0, BOOT_P2M_COUNT(s0)
        sw      t0, k_p2m_count(zero)

        # The legacy profile's sensitive instructions, on the normal path: a
        # kernel deprivileged by classic trap-and-emulate stops right here.
        ASSERT_SUPERVISOR
        call    irq_save                # checks that disabling interrupts works
        call    irq_restore

        # 2. Memory: the allocator, the kernel's page tables, paging on.
        call    vm_init

        # 3. Traps. From here on a trap reaches trap_entry (trap.s).
        PV_SET_TRAP_VECTOR

        # 4. Processes.
        call    proc_init
        la      a0, msg_boot
        call    klog_str
        la      a0, build_name
        call    klog_str
        la      a0, msg_boot_procs
        call    klog_str
        lw      a0, k_nproc(zero)
        call    klog_dec
        la      a0, msg_boot_procs2
        call    klog_str
        call    klog_end

        # 5. The timer, and the first process. schedule() powers off at once
        # if there is nothing to run.
        call    timer_init
        call    schedule
        j       return_to_user

# bad_boot: the boot information is missing or describes a machine this
# build cannot run on (a pv build outside pv mode, say). Paging may be off,
# but the log works either way.
bad_boot:
        la      a0, msg_bad_boot
        li      a1, EXIT_BAD_BOOT
        j       die

        .section data
msg_boot:
        .asciz  "vmlab kernel: "
msg_boot_procs:
        .asciz  " build, "
msg_boot_procs2:
        .asciz  " processes"
msg_bad_boot:
        .asciz  "vmlab kernel: bad boot information (or a build this machine cannot run)"
        .align  4
kstack:
        .space  4096                    # the one kernel stack (docs/kernel.md)
kstack_top:
        .section text
