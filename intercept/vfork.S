/* SPDX-License-Identifier: MIT */
/*
 * vfork() cannot be wrapped in C: the child runs on the parent's stack, so
 * it must return without a frame of ours. The child inherits the parent's
 * memory, including this thread's ring; shim_in_vfork (TLS, shared with the
 * suspended parent) makes every call in the child go to libc. The parent
 * clears it when it resumes, after the child has exec'd or exited.
 */
#if defined(__x86_64__)
	.text
	.globl	vfork
	.type	vfork, @function
vfork:
	.cfi_startproc
	endbr64
	subq	$8, %rsp		/* staged writes go out first */
	.cfi_adjust_cfa_offset 8
	call	shim_vfork_prepare
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	movq	shim_in_vfork@gottpoff(%rip), %rcx
	movl	$1, %fs:(%rcx)
	popq	%rdx			/* the child may overwrite this slot */
	.cfi_adjust_cfa_offset -8
	movl	$58, %eax		/* SYS_vfork */
	syscall
	pushq	%rdx
	.cfi_adjust_cfa_offset 8
	testq	%rax, %rax
	jz	1f			/* child: keep the flag */
	movq	shim_in_vfork@gottpoff(%rip), %rcx
	movl	$0, %fs:(%rcx)
	cmpq	$-4095, %rax
	jae	2f
1:	ret
2:	movq	%rax, %rdi
	jmp	shim_vfork_error
	.cfi_endproc
	.size	vfork, .-vfork
#endif
	.section .note.GNU-stack,"",@progbits
