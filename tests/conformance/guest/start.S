/*
 * LPA2 Explorer conformance guest: entry, exception vectors, semihosting trap.
 * Runs at EL3 (Secure monitor level) with its own MMU off.
 */
    .section .text.boot, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    ldr     x0, =__stack_top
    mov     sp, x0
    adr     x0, vectors
    msr     vbar_el3, x0
    isb
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  bl      guest_main
    b       .

/*
 * Every exception lands here with x0 = vector offset.  The state of the
 * interrupted code is abandoned: the handler records the syndrome and
 * restarts C on a fresh stack in guest_resume(), which decides how the
 * batch continues.  Exception entry already masked DAIF and selected SP_EL3.
 */
exc_common:
    mrs     x1, esr_el3
    mrs     x2, far_el3
    mrs     x3, elr_el3
    ldr     x4, =g_exc
    stp     x0, x1, [x4]
    stp     x2, x3, [x4, #16]
    ldr     x5, [x4, #32]
    add     x5, x5, #1
    str     x5, [x4, #32]
    ldr     x0, =__stack_top
    mov     sp, x0
    bl      guest_resume
    b       .

    .global semihost_call
semihost_call:
    hlt     #0xf000
    ret

    .macro  vent off
    .balign 0x80
    mov     x0, #\off
    b       exc_common
    .endm

    .balign 0x800
vectors:
    vent 0x000
    vent 0x080
    vent 0x100
    vent 0x180
    vent 0x200
    vent 0x280
    vent 0x300
    vent 0x380
    vent 0x400
    vent 0x480
    vent 0x500
    vent 0x580
    vent 0x600
    vent 0x680
    vent 0x700
    vent 0x780
    .ltorg
