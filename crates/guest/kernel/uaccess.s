# uaccess.s: copying between user memory and the kernel.
#
# A syscall's pointer argument is the program's claim, not a fact. Two rules
# make using it safe:
#
#   1. the range must lie in user space, [USER_BASE, USER_END): otherwise a
#      program could make the kernel read or overwrite the kernel;
#   2. the copy runs with k_uaccess_fixup set. The kernel touches user memory
#      through the current page table, so an unmapped heap or stack page
#      faults in the kernel and is mapped on demand (kernel_trap, trap.s);
#      any other fault resumes at the fixup, which returns SYS_EFAULT.
#
# Linux does the same with its exception table (copy_from_user's fixups).
# The copy loops are leaf functions that keep ra and sp untouched, so the
# fixup can simply return.

# user_range_ok(a0 = address, a1 = length) -> a0 = 1 if the range is user
# memory (an empty range always is), 0 if not.
user_range_ok:
        beqz    a1, 1f
        li      t0, USER_BASE
        bltu    a0, t0, 2f
        add     t1, a0, a1
        bltu    t1, a0, 2f              # wrapped around
        li      t0, USER_END
        bgtu    t1, t0, 2f
1:      li      a0, 1
        ret
2:      li      a0, 0
        ret

# USER_RANGE addr, len, fail: branch to fail unless [addr, addr + len) is
# user memory, as user_range_ok. Clobbers t0, t1.
        .macro USER_RANGE addr, len, fail
        beqz    \len, ok\@
        li      t0, USER_BASE
        bltu    \addr, t0, \fail
        add     t1, \addr, \len
        bltu    t1, \addr, \fail
        li      t0, USER_END
        bgtu    t1, t0, \fail
ok\@:
        .endm

# copyin(a0 = kernel destination, a1 = user source, a2 = length) -> a0 = 0,
# or SYS_EFAULT.
copyin:
        USER_RANGE a1, a2, uaccess_failed
        la      t0, uaccess_failed
        sw      t0, k_uaccess_fixup(zero)
        add     t1, a1, a2              # t1: the end of the source
        bgeu    a1, t1, uaccess_done
1:      lbu     t0, 0(a1)               # may fault: see kernel_trap
        sb      t0, 0(a0)
        addi    a0, a0, 1
        addi    a1, a1, 1
        bltu    a1, t1, 1b
        j       uaccess_done

# copyout(a0 = user destination, a1 = kernel source, a2 = length) -> a0 = 0,
# or SYS_EFAULT.
copyout:
        USER_RANGE a0, a2, uaccess_failed
        la      t0, uaccess_failed
        sw      t0, k_uaccess_fixup(zero)
        add     t1, a0, a2              # t1: the end of the destination
        bgeu    a0, t1, uaccess_done
1:      lbu     t0, 0(a1)
        sb      t0, 0(a0)               # may fault: see kernel_trap
        addi    a0, a0, 1
        addi    a1, a1, 1
        bltu    a0, t1, 1b
        # fall through

uaccess_done:
        sw      zero, k_uaccess_fixup(zero)
        li      a0, 0
        ret

# The fixup: a copy faulted on memory the program may not use.
uaccess_failed:
        sw      zero, k_uaccess_fixup(zero)
        li      a0, SYS_EFAULT
        ret
