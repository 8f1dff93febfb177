/*
 * src/rt/thread_x86_64.S -- the entries that stop a thread on x86-64
 * (mr_blocking_enter, mr_stop_the_world, mr_call_begin), without unwinding.
 *
 * A thread that blocks (or stops the world, or enters a library) leaves
 * the collector its caller's context: the
 * callee-saved registers (rbx, rbp, r12-r15) as they will be when the call
 * returns, the caller's stack pointer, and the address it resumes at. At the
 * first instruction of mr_blocking_enter that is exactly what the processor
 * holds (the System V ABI: a callee preserves those six registers; the
 * caller's stack pointer is rsp + 8 and its resume address lies at rsp),
 * before any compiled code can have saved, moved or reused one, whatever
 * the optimization level, LTO or sanitizer. So this entry stores them, in
 * the order of entry_regs in thread.c, in a block on its own stack (below
 * the caller's stack pointer: no root of the thread's) and passes the block
 * to the C part (mr__blocking_enter_regs and the like). Elsewhere
 * thread.c recovers the same context by unwinding with libunwind, which
 * costs tens of microseconds and takes libunwind's cache lock.
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

/*
 * REGS_ENTRY(name, cpart): the entry `name`, which stores the caller's
 * context as above and calls cpart(block, first argument of name), whose
 * result it returns. mr_call_begin's C part is handed its argument so.
 */
#define REGS_ENTRY(name, cpart)							\
	.text;								\
	.globl	name;							\
	.type	name, @function;					\
	.p2align 4;							\
name:									\
	.cfi_startproc;							\
	_CET_ENDBR;							\
	pushq	%rbp;			/* rsp = 0 mod 16 */		\
	.cfi_adjust_cfa_offset 8;					\
	.cfi_offset %rbp, -16;						\
	movq	%rsp, %rbp;						\
	.cfi_def_cfa_register %rbp;					\
	subq	$64, %rsp;		/* the block: 8 words */	\
	movq	%rbx, 0(%rsp);						\
	movq	0(%rbp), %rax;		/* the caller's rbp, as pushed */ \
	movq	%rax, 8(%rsp);						\
	movq	%r12, 16(%rsp);						\
	movq	%r13, 24(%rsp);						\
	movq	%r14, 32(%rsp);						\
	movq	%r15, 40(%rsp);						\
	leaq	16(%rbp), %rax;		/* the caller's rsp after the call */ \
	movq	%rax, 48(%rsp);						\
	movq	8(%rbp), %rax;		/* the caller's resume address */ \
	movq	%rax, 56(%rsp);						\
	movq	%rdi, %rsi;						\
	movq	%rsp, %rdi;						\
	call	cpart@PLT;						\
	leave;								\
	.cfi_def_cfa %rsp, 8;						\
	ret;								\
	.cfi_endproc;							\
	.size	name, .-name

REGS_ENTRY(mr_blocking_enter, mr__blocking_enter_regs)
REGS_ENTRY(mr_stop_the_world, mr__stop_the_world_regs)
REGS_ENTRY(mr_call_begin, mr__call_begin_regs)

#endif

/* No executable stack (on every target: the file may assemble to nothing). */
	.section .note.GNU-stack, "", %progbits
