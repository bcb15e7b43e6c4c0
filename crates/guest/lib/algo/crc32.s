# crc32_init(a0 = buf, a1 = len): buf[i] = (7i + 3) & 0xFF.
crc32_init:
        mv      t0, zero
        beqz    a1, 2f
1:      slli    t1, t0, 3               # 8i - i = 7i
        sub     t1, t1, t0
        addi    t1, t1, 3
        sb      t1, 0(a0)
        addi    a0, a0, 1
        addi    t0, t0, 1
        bltu    t0, a1, 1b
2:      ret

# crc32(a0 = buf, a1 = len) -> a0: the CRC-32 of IEEE 802.3 (reflected,
# polynomial 0xEDB88320, initial and final value all ones), bit by bit and
# branch-free: crc = (crc >> 1) ^ (poly & -(crc & 1)).
crc32:
        li      t0, -1                  # crc
        li      t3, 0xEDB88320
        beqz    a1, 3f
1:      lbu     t1, 0(a0)
        xor     t0, t0, t1
        li      t2, 8
2:      andi    t1, t0, 1
        neg     t1, t1
        and     t1, t1, t3
        srli    t0, t0, 1
        xor     t0, t0, t1
        addi    t2, t2, -1
        bnez    t2, 2b
        addi    a0, a0, 1
        addi    a1, a1, -1
        bnez    a1, 1b
3:      not     a0, t0
        ret
