# main.s: the vmlab teaching kernel. Start reading here (docs/kernel.md is
# the guided tour).
#
# One source, three builds (crates/guest/build.rs):
#
#   full               no defines: privileged instructions and port I/O, as on
#                      bare metal. Runs natively, and under trap, hw and bt.
#   PV_IO              console and disk through the paravirtual rings of
#                      docs/hypercalls.md, like virtio drivers in an
#                      otherwise unmodified kernel.
#   PV_CPU + PV_IO     the Xen-style paravirtual kernel: every privileged
#                      operation becomes a hypercall or a shared-page store.
#
# Every difference between the builds lives in pvops.s (the paravirt-ops
# macros) and pv.s (helpers only the pv build needs); the rest of the kernel
# is the same text in all three. docs/kernel.md counts the lines that differ.
#
# Memory (virtual addresses; the same in every address space):
#
#   0x00000000  page 0, unmapped: catches null pointers
#   0x00001000  the boot-information page (filled by the host)
#   0x00002000  kernel data (this file's .section data): every kernel global
#               sits below 0x8000, so `lw t0, name(zero)` reaches it in one
#               instruction without a free register (the trap entry needs that)
#   0x00008000  kernel text
#      ...      the rest of guest RAM: a direct map, virtual = guest-physical,
#               supervisor-only, in every address space
#   0x3FC00000  the kmap window (one kernel leaf table): nanobench scratch pages
#   0x40000000  user text and data (the program's segments)
#   0x50000000  user heap, demand-zero, up to 0x60000000
#   0x7FFBF000  user stack, demand-zero, 256 KiB, top at 0x7FFFF000
#
# Register use follows docs/isa.md: a0..a4 arguments (a0 the result), t0..t3
# and ra caller-saved, s0..s3 and sp callee-saved. A user program's
# registers are saved in its process's trap frame on every kernel entry.

        .include "abi.inc"              # the hypercall ABI (generated)
        .include "syscalls.s"           # syscall numbers, shared with user code

# ---------------------------------------------------------------------------
# Constants. Names avoid the prefixes abi.inc uses (HC_, E_, BOOT_, LOG_, ...):
# `.equ` may be redefined silently, so a clash would change an ABI value.

        .equ PAGE_SIZE,         4096
        .equ PAGE_SHIFT,        12

# The user address space (the contract of docs/kernel.md).
        .equ USER_BASE,         0x40000000  # program segments start here
        .equ USER_SEG_END,      0x50000000  # ... and must end below the heap
        .equ HEAP_BASE,         0x50000000  # demand-zero heap and map/unmap
        .equ HEAP_END,          0x60000000
        .equ STACK_TOP,         0x7FFFF000  # sp at entry; the page above is a guard
        .equ STACK_BYTES,       0x40000     # 256 KiB of demand-zero stack
        .equ STACK_BOTTOM,      STACK_TOP - STACK_BYTES
        .equ USER_END,          0x80000000  # first address above user space
        .equ ROOT_USER_FIRST,   USER_BASE >> 22  # root entries 256..511 are per process
        .equ ROOT_USER_END,     USER_END >> 22
        .equ RED_ZONE,          64          # bytes left below sp for a user handler

# The kernel's part of every address space.
        .equ KMAP_BASE,         0x3FC00000  # root entry 255: the kmap window
        .equ KMAP_ROOT_INDEX,   KMAP_BASE >> 22
        .equ NB_FAULT_VA,       0x3FFFE000  # nanobench pgfault: touched, faulted in, unmapped
        .equ NB_PTE_VA,         0x3FFFD000  # nanobench ptemod: its PTE is rewritten
        .equ RAM_MAX,           KMAP_BASE   # the direct map must stay below the kmap window

# Page-table entries (docs/isa.md, section 8.2).
        .equ PTE_V,             0x01
        .equ PTE_R,             0x02
        .equ PTE_W,             0x04
        .equ PTE_X,             0x08
        .equ PTE_U,             0x10
        .equ PTE_KERNEL,        PTE_V | PTE_R | PTE_W | PTE_X
        .equ PTE_KERNEL_RO,     PTE_V | PTE_R | PTE_X
        .equ PTE_USER_TEXT,     PTE_V | PTE_R | PTE_X | PTE_U
        .equ PTE_USER_DATA,     PTE_V | PTE_R | PTE_W | PTE_U

# status bits (docs/isa.md, section 5.2) and interrupt sources (5.3).
        .equ ST_MODE,           0x01
        .equ ST_IE,             0x02
        .equ ST_PMODE,          0x04
        .equ ST_PIE,            0x08
        .equ ST_PG,             0x10
        .equ IRQ_TIMER_BIT,     0x1         # ienable/ipend bit 0
        .equ IRQ_DEVICE_BIT,    0x2         # ienable/ipend bit 1

# Trap causes (docs/isa.md, section 6.1).
        .equ CAUSE_ILLEGAL,     0
        .equ CAUSE_PRIVILEGED,  1
        .equ CAUSE_FETCH_PF,    5
        .equ CAUSE_LOAD_PF,     6
        .equ CAUSE_STORE_PF,    7
        .equ CAUSE_DIVZERO,     9
        .equ CAUSE_SYSCALL,     10
        .equ CAUSE_BREAK,       11
        .equ CAUSE_COUNT,       13          # exception codes 0..12
        .equ CAUSE_TIMER_IRQ,   0x80000000
        .equ CAUSE_DEVICE_IRQ,  0x80000001

# Ports (docs/devices.md).
        .equ PORT_CONSOLE_DATA,   0x100
        .equ PORT_CONSOLE_STATUS, 0x104
        .equ CONSOLE_RX_READY,    0x1
        .equ PORT_KLOG,           0x110
        .equ PORT_POWER,          0x120
        .equ PORT_DISK,           0x200     # SECTOR; COMMAND +4, STATUS +8, DATA +12
        .equ DISK_CMD_READ,       1
        .equ DISK_CMD_WRITE,      2
        .equ DISK_ERROR,          0x2       # STATUS bit

# Scheduling.
        .equ QUANTUM,           10000       # instructions per time slice
        .equ NPROC,             BOOT_MAX_PROGS

# Exit codes of the kernel itself (docs/kernel.md, "Exit codes").
        .equ EXIT_ASSERT_MODE,  0xDEAD      # getf: not in supervisor mode
        .equ EXIT_ASSERT_IRQ,   0xDEAE      # setf 0 did not disable interrupts
        .equ EXIT_PANIC,        0xDEAF      # kernel bug or impossible state
        .equ EXIT_BAD_BOOT,     0xB007      # boot info rejected (wrong build?)
        .equ STATUS_KILLED,     -1          # exit status of a killed process

# Console reads return at most this many bytes per call (one ring slot).
        .equ READ_MAX,          RING_DATA_BYTES

# ---------------------------------------------------------------------------
# The trap frame: a user program's registers, saved at every kernel entry.
# Slot 0 holds epc; slot n holds register rn (r0 is never saved). The offsets
# of a0 and a4 are those docs/hypercalls.md, section 10.4, uses.

        .equ TF_EPC,  0
        .equ TF_RA,   4
        .equ TF_SP,   8
        .equ TF_A0,   12
        .equ TF_A1,   16
        .equ TF_A2,   20
        .equ TF_A3,   24
        .equ TF_A4,   28
        .equ TF_T0,   32
        .equ TF_T1,   36
        .equ TF_T2,   40
        .equ TF_T3,   44
        .equ TF_S0,   48
        .equ TF_S1,   52
        .equ TF_S2,   56
        .equ TF_S3,   60
        .equ TF_SIZE, 64

# The process table entry (proc.s).
        .equ P_STATE,     0     # P_FREE, P_RUNNABLE or P_EXITED
        .equ P_PID,       4     # 1 + index in the boot-information program table
        .equ P_ROOT,      8     # guest-physical address of the root page table
        .equ P_HANDLER,   12    # user exception handler, 0 for none
        .equ P_IN_HANDLER, 16   # 1 while the handler runs (until sigreturn)
        .equ P_STATUS,    20    # exit status
        .equ P_NAME,      24    # 16 bytes + NUL
        .equ P_TF,        44    # the trap frame
        .equ P_SIGTF,     P_TF + TF_SIZE  # registers saved at a handled exception
        .equ P_SIZE,      P_SIGTF + TF_SIZE
        .equ P_FREE,      0
        .equ P_RUNNABLE,  1
        .equ P_EXITED,    2

# ---------------------------------------------------------------------------
# The kernel data section. It starts at 0x2000, right after the boot-info
# page, and the globals come first so that every one of them has an address
# below 0x8000: `lw rd, name(zero)` loads it with a 16-bit absolute offset.

        .section data
        .org    0x2000
        .align  4
k_save_t0:      .word 0         # trap entry parks t0 here to get a free register
k_in_kernel:    .word 0         # 1 while in the kernel (so a trap is a kernel trap)
k_cur_tf:       .word 0         # the running process's trap frame
k_cur_proc:     .word 0         # the running process
k_ktrap_depth:  .word 0         # nested kernel traps (more than one is a bug)
k_uaccess_fixup: .word 0        # where a faulting user-memory copy resumes, or 0
k_last_status:  .word 0         # exit status of the last process to exit
k_nproc:        .word 0         # processes created from the boot info

# From the boot-information page.
k_ram_bytes:    .word 0
k_free_start:   .word 0         # pages below this belong to the boot layout
k_disk_sectors: .word 0
k_shared:       .word 0         # pv: the shared page (virtual = guest-physical)
k_con_ring:     .word 0         # PV_IO: the console ring page
k_blk_ring:     .word 0         # PV_IO: the block ring page
k_p2m:          .word 0         # pv: the physical-to-machine table
k_p2m_count:    .word 0

# Memory (vm.s).
k_kroot:        .word 0         # the kernel's root table (template for every process)
k_kmap_leaf:    .word 0         # the leaf table of the kmap window
k_boot_tables:  .word 0         # [k_boot_tables, k_boot_tables_end): boot page tables
k_boot_tables_end: .word 0
k_next_page:    .word 0         # never-used pages start here ...
k_free_list:    .word 0         # ... and freed pages are linked from here
k_nb_frame:     .word 0         # the frame the nanobenchmarks map in the kmap window

        .section text
        .org    0x8000

        .include "pvops.s"      # the paravirt-ops macros: every build difference
        .include "boot.s"       # _start: from reset to the first user instruction
        .include "trap.s"       # trap entry and exit, dispatch, interrupts
        .include "syscall.s"    # the system calls
        .include "proc.s"       # processes, the scheduler, exit, user exceptions
        .include "kalloc.s"     # the physical page allocator
        .include "vm.s"         # page tables, address spaces, demand-zero faults
        .include "uaccess.s"    # copying to and from user memory safely
        .include "dev.s"        # kernel log, console, disk, power
        .include "nanobench.s"  # the kernel-mode nanobenchmarks
        .include "pv.s"         # helpers only the paravirtual builds use
