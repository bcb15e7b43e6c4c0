# syscalls.s: the vmlab kernel's system-call ABI, shared by the kernel and
# every user program (docs/kernel.md, "System calls"). Only `.equ` lines, so
# including it emits nothing.
#
# Calling convention: the number in a4, arguments in a0..a3, then `syscall`.
# The result comes back in a0: non-negative on success, a negative SYS_E*
# code on failure. Every other register is preserved.

# Numbers (a4).
        .equ SYS_EXIT,        0     # exit(status): never returns
        .equ SYS_WRITE,       1     # write(buf, len) -> len, to the console
        .equ SYS_READ,        2     # read(buf, len) -> bytes read (0 if none, at most 64)
        .equ SYS_GETPID,      3     # getpid() -> pid (1 + the program's boot-info index)
        .equ SYS_YIELD,       4     # yield() -> 0: let the next process run
        .equ SYS_MAP,         5     # map(va, npages) -> 0: fresh zero pages in the heap
        .equ SYS_UNMAP,       6     # unmap(va, npages) -> 0: unmap and free
        .equ SYS_DISK_READ,   7     # disk_read(sector, buf) -> 0: 512 bytes
        .equ SYS_DISK_WRITE,  8     # disk_write(sector, buf) -> 0: 512 bytes
        .equ SYS_TIME,        9     # time() -> low 32 bits of the retired-instruction count
        .equ SYS_NANOBENCH,   10    # nanobench(kind, n) -> 0: a kernel-mode loop
        .equ SYS_SET_HANDLER, 11    # set_handler(va) -> 0: user exception handler (0 removes)
        .equ SYS_SIGRETURN,   12    # sigreturn(resume_pc): leave the handler
        .equ SYS_COUNT,       13

# Errors (negative a0).
        .equ SYS_EFAULT,     -1     # bad address: not user memory, or not accessible
        .equ SYS_EINVAL,     -2     # bad argument (also: unknown syscall number)
        .equ SYS_ENOMEM,     -3     # out of memory
        .equ SYS_EIO,        -4     # the device reported an error (e.g. sector past the end)

# nanobench(kind, n) kinds (docs/kernel.md, "Nanobenchmarks").
        .equ NB_IN,           1     # a device-register read (console status)
        .equ NB_PRIO,         2     # a priority-register write (cr8wr)
        .equ NB_CALLRET,      3     # a call and a return
        .equ NB_PGFAULT,      4     # a kernel page fault taken and fixed
        .equ NB_PTEMOD,       5     # one page-table entry write, no flush

# The user address space.
        .equ SYS_USER_BASE,   0x40000000  # programs are linked here (.org)
        .equ SYS_HEAP_BASE,   0x50000000  # demand-zero heap; map/unmap work here
        .equ SYS_HEAP_END,    0x60000000
        .equ SYS_STACK_TOP,   0x7FFFF000  # sp at entry; 256 KiB of demand-zero stack below

# Short error names for user programs: E_FAULT, E_INVAL, E_NOMEM, E_IO.
# The hypercall ABI (abi.inc) gives E_INVAL and E_FAULT *other* values, and
# `.equ` redefines silently, so these are defined only where abi.inc has not
# been included (its HC_IRET is unknown). The kernel includes abi.inc first
# and uses the SYS_E* names.
        .ifndef HC_IRET
        .equ E_FAULT,         SYS_EFAULT
        .equ E_INVAL,         SYS_EINVAL
        .equ E_NOMEM,         SYS_ENOMEM
        .equ E_IO,            SYS_EIO
        .endif
