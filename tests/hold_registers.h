/*
 * tests/hold_registers.h -- a frame that keeps two heap pointers only in
 * callee-saved registers, for tests of register roots (x86-64 only).
 *
 *   void hold_in_registers(void *(*make_a)(void), void *(*make_b)(void),
 *                          void (*park)(void));
 *
 * calls make_a and keeps its result in r12, calls make_b and keeps its
 * result in rbx, zeroes 16 KiB of the dead stack below its frame (so no copy
 * left by make_a's or make_b's frames survives there), calls park(), and
 * returns. It is written in assembly so that no compiler, at any
 * optimization level or with any sanitizer, can keep a copy of either
 * pointer anywhere else: during park() the two objects are reachable only
 * through hold_in_registers' r12 and rbx, wherever park's frames (or the
 * runtime's) save those registers. Its unwind table (CFI) says where it
 * saves its caller's registers, as compiled code does.
 *
 * Include it in one translation unit of a program.
 */
#ifndef MR_TEST_HOLD_REGISTERS_H
#define MR_TEST_HOLD_REGISTERS_H

#if defined(__x86_64__)
#define HAVE_HOLD_IN_REGISTERS 1

void hold_in_registers(void *(*make_a)(void), void *(*make_b)(void), void (*park)(void));

/* Assembly that zeroes [rsp - 16 KiB, rsp), where earlier callees left
 * copies of what they returned, and the argument registers. */
#define HOLD_ZERO_DEAD_STACK                                                                       \
    "    xorl %eax, %eax\n"                                                                        \
    "    leaq -16384(%rsp), %rdi\n"                                                                \
    "    movl $2048, %ecx\n"                                                                       \
    "    rep stosq\n"                                                                              \
    "    xorl %edi, %edi\n"                                                                        \
    "    xorl %esi, %esi\n"                                                                        \
    "    xorl %edx, %edx\n"

/* Entry: rsp = 8 mod 16; three pushes make it 0 mod 16 for the calls. */
__asm__(".text\n"
        ".globl hold_in_registers\n"
        ".hidden hold_in_registers\n"
        ".type hold_in_registers, @function\n"
        "hold_in_registers:\n"
        ".cfi_startproc\n"
        "    pushq %rbx\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %rbx, -16\n"
        "    pushq %r12\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %r12, -24\n"
        "    pushq %r13\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %r13, -32\n"
        "    movq %rsi, %rbx\n" /* make_b, until it is called */
        "    movq %rdx, %r13\n" /* park */
        "    call *%rdi\n"
        "    movq %rax, %r12\n" /* a: only in r12 from here on */
        "    call *%rbx\n"
        "    movq %rax, %rbx\n" /* b: only in rbx from here on */
        HOLD_ZERO_DEAD_STACK    /* no copy of a or b below this frame */
        "    call *%r13\n"
        "    popq %r13\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    popq %r12\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    popq %rbx\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    ret\n"
        ".cfi_endproc\n"
        ".size hold_in_registers, .-hold_in_registers\n");

/*
 * For park(): forces the calling function to save r12 on its stack in its
 * prologue (a callee-saved register it clobbers), and then zeroes r12, so
 * that from here on the caller's r12 value lives only in that save slot.
 */
#define HOLD_SAVE_AND_CLEAR_R12() __asm__ volatile("xorl %%r12d, %%r12d" ::: "r12")

#endif
#endif
