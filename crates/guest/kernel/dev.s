# dev.s: the kernel log and the device drivers.
#
# The log (docs/devices.md, section 4) is where the kernel talks: boot,
# exits, kills, assertions, nanobenchmark markers. Lines are built in a
# buffer and written whole (klog_write, pvops.s: one `outb` per byte, or one
# log_write hypercall per line in pv). The console is only ever written by
# the programs, through `write`, so its output is the same in every build.
#
# The console and the disk have two drivers each:
#
#   full     port I/O: `outb` per console byte, 128 `inw`/`outw` per sector;
#   PV_IO    the rings of docs/hypercalls.md, section 7: requests in a shared
#            page, one ring_notify per batch. The back end answers during the
#            notification; the driver then consumes the responses.
#
# Both offer the same functions: console_put, console_flush, console_read,
# console_status, disk_rw.

# ---------------------------------------------------------------------------
# The kernel log.

# klog_str(a0 = NUL-terminated string): append to the current line.
klog_str:
        lw      t0, klog_len(zero)
        la      t1, klog_buf
        li      t2, KLOG_MAX
1:      lbu     t3, 0(a0)
        beqz    t3, 2f
        bgeu    t0, t2, 2f              # a full line is cut short
        add     a1, t1, t0
        sb      t3, 0(a1)
        addi    t0, t0, 1
        addi    a0, a0, 1
        j       1b
2:      sw      t0, klog_len(zero)
        ret

# klog_hex(a0 = value): "0x" and eight hex digits.
klog_hex:
        la      t0, klog_num
        li      t1, '0'
        sb      t1, 0(t0)
        li      t1, 'x'
        sb      t1, 1(t0)
        li      t1, 28                  # the shift of the next digit
        addi    t0, t0, 2
1:      srl     t2, a0, t1
        andi    t2, t2, 15
        li      t3, 10
        bltu    t2, t3, 2f
        addi    t2, t2, 'a' - '0' - 10
2:      addi    t2, t2, '0'
        sb      t2, 0(t0)
        addi    t0, t0, 1
        addi    t1, t1, -4
        bgez    t1, 1b
        sb      zero, 0(t0)
        la      a0, klog_num
        j       klog_str

# klog_dec(a0 = value): signed decimal.
klog_dec:
        la      t0, klog_num + 15
        sb      zero, 0(t0)
        mv      t3, a0
        bgez    a0, 1f
        neg     a0, a0
1:      li      t1, 10
2:      remu    t2, a0, t1
        divu    a0, a0, t1
        addi    t2, t2, '0'
        addi    t0, t0, -1
        sb      t2, 0(t0)
        bnez    a0, 2b
        bgez    t3, 3f
        li      t2, '-'
        addi    t0, t0, -1
        sb      t2, 0(t0)
3:      mv      a0, t0
        j       klog_str

# klog_proc(a0 = process): "process PID (NAME)".
klog_proc:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      s0, a0
        la      a0, msg_process
        call    klog_str
        lw      a0, P_PID(s0)
        call    klog_dec
        la      a0, msg_open_paren
        call    klog_str
        addi    a0, s0, P_NAME
        call    klog_str
        la      a0, msg_close_paren
        call    klog_str
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret

# klog_end(): end the line and write it out.
klog_end:
        lw      t0, klog_len(zero)
        la      a0, klog_buf
        add     t1, a0, t0
        li      t2, '\n'
        sb      t2, 0(t1)
        addi    a1, t0, 1
        sw      zero, klog_len(zero)
        j       klog_write

# klog_line(a0 = string): a whole line.
klog_line:
        addi    sp, sp, -4
        sw      ra, 0(sp)
        call    klog_str
        call    klog_end
        lw      ra, 0(sp)
        addi    sp, sp, 4
        ret

# die(a0 = message, a1 = exit code): log the message, power off.
die:
        mv      s0, a1
        sw      zero, klog_len(zero)
        call    klog_line
        mv      a0, s0
        j       power_off

# panic(a0 = message): a kernel bug or an impossible state.
panic:
        li      a1, EXIT_PANIC
        j       die

        .equ KLOG_MAX, 200              # characters per line (log_write takes 256)
        .section data
        .align  4
klog_len:
        .word   0
klog_num:
        .space  16
klog_buf:
        .space  KLOG_MAX + 4
msg_process:
        .asciz  "process "
msg_open_paren:
        .asciz  " ("
msg_close_paren:
        .asciz  ")"
        .section text

        .ifdef PV_IO
# ---------------------------------------------------------------------------
# PV_IO: the console and the disk through the rings.

# ring_call(a0 = ring page, a1 = ring id, a2 = event) -> a0 = the slot of
# the last response. Publishes the requests queued so far with one
# notification and consumes every response (the back end answers them
# during the call).
ring_call:
        addi    sp, sp, -8
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        mv      s0, a0
        mv      a0, a1
        li      a4, HC_RING_NOTIFY      # one notification for the whole batch
        hypercall
        bltz    a0, 8f
        PV_EVENT_CLEAR                  # pv: clear the event byte (a2) first
        lw      t0, RING_RSP_CONS(s0)
        lw      t1, RING_RSP_PROD(s0)
        beq     t0, t1, 8f              # no response: the back end is broken
        sw      t1, RING_RSP_CONS(s0)   # consume them all
        addi    t1, t1, -1              # and return the last one's slot
        andi    t1, t1, RING_SIZE - 1
        li      t2, RING_SLOT_BYTES
        mul     t1, t1, t2
        add     a0, s0, t1
        addi    a0, a0, RING_SLOTS
        PV_DEVICE_ACK                   # PV_IO under full CPU: clear ipend bit 1
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        addi    sp, sp, 8
        ret
8:      la      a0, msg_ring_failed
        j       panic

# ring_next(a0 = ring page) -> a0 = the slot for the next request; the
# caller fills it, then increments RING_REQ_PROD (slot first, index second).
ring_next:
        lw      t0, RING_REQ_PROD(a0)
        andi    t0, t0, RING_SIZE - 1
        li      t1, RING_SLOT_BYTES
        mul     t0, t0, t1
        add     a0, a0, t0
        addi    a0, a0, RING_SLOTS
        ret

# console_put(a0 = bytes, a1 = length, 1..64): one CON_OP_WRITE request,
# sent with the next console_flush (or now, if the ring is full).
console_put:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0
        mv      s1, a1
        lw      a0, k_con_ring(zero)
        lw      t0, RING_REQ_PROD(a0)
        lw      t1, RING_RSP_CONS(a0)
        sub     t0, t0, t1
        li      t1, RING_SIZE
        bltu    t0, t1, 1f
        call    console_flush           # full: send what is queued
1:      lw      a0, k_con_ring(zero)
        call    ring_next
        lw      t0, k_con_ring(zero)
        lw      t0, RING_REQ_PROD(t0)
        sw      t0, RING_REQ_ID(a0)
        li      t0, CON_OP_WRITE
        sw      t0, RING_REQ_OP(a0)
        sw      s1, RING_REQ_LEN(a0)
        li      t0, 0
2:      add     t1, s0, t0              # the bytes travel inline
        lbu     t2, 0(t1)
        add     t1, a0, t0
        sb      t2, RING_REQ_DATA(t1)
        addi    t0, t0, 1
        bltu    t0, s1, 2b
        lw      t0, k_con_ring(zero)
        lw      t1, RING_REQ_PROD(t0)
        addi    t1, t1, 1
        sw      t1, RING_REQ_PROD(t0)   # publish after the slot is complete
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

# console_flush(): notify the back end of the queued writes, if any.
console_flush:
        lw      a0, k_con_ring(zero)
        lw      t0, RING_REQ_PROD(a0)
        lw      t1, RING_RSP_CONS(a0)
        beq     t0, t1, 1f              # nothing outstanding
        li      a1, RING_CONSOLE
        li      a2, EV_CONSOLE
        j       ring_call
1:      ret

# console_request(a0 = op, a1 = length) -> a0 = the response slot: one
# console request on its own, sent at once.
console_request:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0
        mv      s1, a1
        call    console_flush           # keep the requests in order
        lw      a0, k_con_ring(zero)
        call    ring_next
        lw      t0, k_con_ring(zero)
        lw      t1, RING_REQ_PROD(t0)
        sw      t1, RING_REQ_ID(a0)
        sw      s0, RING_REQ_OP(a0)
        sw      s1, RING_REQ_LEN(a0)
        addi    t1, t1, 1
        sw      t1, RING_REQ_PROD(t0)
        mv      a0, t0
        li      a1, RING_CONSOLE
        li      a2, EV_CONSOLE
        call    ring_call
        lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

# console_status() -> a0 = the console's STATUS bits (CON_OP_STATUS: the pv
# `in` of the nanobenchmark).
console_status:
        addi    sp, sp, -4
        sw      ra, 0(sp)
        li      a0, CON_OP_STATUS
        li      a1, 1
        call    console_request
        lw      a0, RING_RSP_VALUE(a0)
        lw      ra, 0(sp)
        addi    sp, sp, 4
        ret

# console_read(a0 = buffer, a1 = most bytes, 1..64) -> a0 = bytes read.
# A CON_OP_READ is held until input arrives, so ask only when STATUS says a
# byte is waiting: `read` never blocks.
console_read:
        addi    sp, sp, -12
        sw      ra, 0(sp)
        sw      s0, 4(sp)
        sw      s1, 8(sp)
        mv      s0, a0
        mv      s1, a1
        li      a0, 0
        beqz    s1, 9f
        call    console_status
        andi    a0, a0, CONSOLE_RX_READY
        beqz    a0, 9f
        li      a0, CON_OP_READ
        mv      a1, s1
        call    console_request
        lw      t0, RING_RSP_STATUS(a0)
        bltz    t0, 8f
        lw      t1, RING_RSP_VALUE(a0)  # bytes read
        li      t0, 0
        bgeu    t0, t1, 2f
1:      add     t2, a0, t0
        lbu     t2, RING_RSP_DATA(t2)
        add     t3, s0, t0
        sb      t2, 0(t3)
        addi    t0, t0, 1
        bltu    t0, t1, 1b
2:      mv      a0, t1
        j       9f
8:      li      a0, 0
9:      lw      ra, 0(sp)
        lw      s0, 4(sp)
        lw      s1, 8(sp)
        addi    sp, sp, 12
        ret

# disk_rw(a0 = sector, a1 = 512-aligned kernel buffer, a2 = DISK_CMD_READ or
# DISK_CMD_WRITE) -> a0 = 0, or SYS_EIO. The back end copies the sector
# straight to or from the buffer's guest-physical address, which is its
# kernel address (the kernel image is at its link address).
disk_rw:
        addi    sp, sp, -4
        sw      ra, 0(sp)
        lw      t0, k_blk_ring(zero)
        lw      t1, RING_REQ_PROD(t0)
        andi    t2, t1, RING_SIZE - 1
        li      t3, RING_SLOT_BYTES
        mul     t2, t2, t3
        add     t2, t2, t0
        sw      t1, RING_SLOTS + RING_REQ_ID(t2)
        li      t3, BLK_OP_READ         # the device's and the ring's numbers
        beq     a2, t3, 1f              # happen to agree; say it anyway
        li      t3, BLK_OP_WRITE
1:      sw      t3, RING_SLOTS + RING_REQ_OP(t2)
        sw      a0, RING_SLOTS + RING_REQ_SECTOR(t2)
        sw      a1, RING_SLOTS + RING_REQ_BUF(t2)
        addi    t1, t1, 1
        sw      t1, RING_REQ_PROD(t0)
        mv      a0, t0
        li      a1, RING_BLOCK
        li      a2, EV_BLOCK
        call    ring_call
        lw      t0, RING_RSP_STATUS(a0)
        li      a0, 0
        bgez    t0, 1f
        li      a0, SYS_EIO
1:      lw      ra, 0(sp)
        addi    sp, sp, 4
        ret

        .section data
msg_ring_failed:
        .asciz  "kernel panic: ring_notify failed or produced no response"
        .section text

        .else
# ---------------------------------------------------------------------------
# Full: the console and the disk through their ports.

# console_put(a0 = bytes, a1 = length): one `outb` per byte.
console_put:
        li      t0, PORT_CONSOLE_DATA
        add     a1, a0, a1
        bgeu    a0, a1, 2f
1:      lbu     t1, 0(a0)
        outb    t1, 0(t0)
        addi    a0, a0, 1
        bltu    a0, a1, 1b
2:      ret

# console_flush(): nothing is queued.
console_flush:
        ret

# console_status() -> a0 = the STATUS register (the nanobenchmark's `in`).
console_status:
        li      t0, PORT_CONSOLE_STATUS
        inw     a0, 0(t0)
        ret

# console_read(a0 = buffer, a1 = most bytes) -> a0 = bytes read: whatever
# has arrived, without waiting.
console_read:
        li      t0, PORT_CONSOLE_DATA
        mv      t3, a0
        add     a1, a0, a1
1:      bgeu    a0, a1, 2f
        inb     t1, PORT_CONSOLE_STATUS - PORT_CONSOLE_DATA(t0)
        andi    t1, t1, CONSOLE_RX_READY
        beqz    t1, 2f
        inb     t1, 0(t0)
        sb      t1, 0(a0)
        addi    a0, a0, 1
        j       1b
2:      sub     a0, a0, t3
        ret

# disk_rw(a0 = sector, a1 = kernel buffer, a2 = DISK_CMD_READ or
# DISK_CMD_WRITE) -> a0 = 0, or SYS_EIO. Programmed I/O: the command, then
# 128 words through DATA (docs/devices.md, section 6).
disk_rw:
        li      t0, PORT_DISK
        outw    a0, 0(t0)               # SECTOR
        outw    a2, 4(t0)               # COMMAND
        li      t2, BLK_SECTOR_BYTES
        add     t2, a1, t2
        li      t3, DISK_CMD_READ
        bne     a2, t3, 3f
        inw     t1, 8(t0)               # STATUS: a read fails at once
        andi    t1, t1, DISK_ERROR
        bnez    t1, 9f
1:      inw     t1, 12(t0)              # DATA
        sw      t1, 0(a1)
        addi    a1, a1, 4
        bltu    a1, t2, 1b
        j       8f
3:      lw      t1, 0(a1)               # a write completes on the 128th word
        outw    t1, 12(t0)
        addi    a1, a1, 4
        bltu    a1, t2, 3b
        inw     t1, 8(t0)
        andi    t1, t1, DISK_ERROR
        bnez    t1, 9f
8:      li      a0, 0
        ret
9:      li      a0, SYS_EIO
        ret

        .endif
