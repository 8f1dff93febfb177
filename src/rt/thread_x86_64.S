/*
 * src/rt/thread_x86_64.S -- mr_blocking_enter on x86-64, without unwinding.
 *
 * A thread that blocks leaves the collector its caller's context: the
 * callee-saved registers (rbx, rbp, r12-r15) as they will be when the call
 * returns, the caller's stack pointer, and the address it resumes at. At the
 * first instruction of mr_blocking_enter that is exactly what the processor
 * holds (the System V ABI: a callee preserves those six registers; the
 * caller's stack pointer is rsp + 8 and its resume address lies at rsp),
 * before any compiled code can have saved, moved or reused one, whatever
 * the optimization level, LTO or sanitizer. So this entry stores them, in
 * the order of blocking_regs in thread.c, in a block on its own stack (below
 * the caller's stack pointer: no root of the thread's) and passes the block
 * to the C part, mr__blocking_enter_regs. Elsewhere thread.c recovers the
 * same context by unwinding one frame with libunwind, which costs
 * microseconds and takes libunwind's cache lock.
 *
 * The frame is a conventional one (rbp pushed and pointing at it), so that
 * frame-pointer unwinders (perf, the sanitizers' reports) pass through it,
 * and its CFI describes it for libunwind.
 */
#if defined(__x86_64__) && defined(__LP64__) && defined(__linux__)

#if defined(__CET__)
#include <cet.h>
#else
#define _CET_ENDBR
#endif

	.text
	.globl	mr_blocking_enter
	.type	mr_blocking_enter, @function
	.p2align 4
mr_blocking_enter:
	.cfi_startproc
	_CET_ENDBR
	pushq	%rbp			/* rsp = 0 mod 16 */
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	subq	$64, %rsp		/* the block: 8 words, still 0 mod 16 */
	movq	%rbx, 0(%rsp)
	movq	0(%rbp), %rax		/* the caller's rbp, as pushed */
	movq	%rax, 8(%rsp)
	movq	%r12, 16(%rsp)
	movq	%r13, 24(%rsp)
	movq	%r14, 32(%rsp)
	movq	%r15, 40(%rsp)
	leaq	16(%rbp), %rax		/* the caller's rsp once the call returns */
	movq	%rax, 48(%rsp)
	movq	8(%rbp), %rax		/* the caller's resume address */
	movq	%rax, 56(%rsp)
	movq	%rsp, %rdi
	call	mr__blocking_enter_regs@PLT
	leave
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	mr_blocking_enter, .-mr_blocking_enter

#endif

/* No executable stack (on every target: the file may assemble to nothing). */
	.section .note.GNU-stack, "", %progbits
