/* SPDX-License-Identifier: MIT */
/*
 * stdio under the batch profile. A stream writes with glibc's internal
 * write, which the shim never sees, so its output could overtake what the
 * program staged with write(2) on the same fd (or, at an offset, land
 * under it in a file). Each stdio entry point that may write or flush
 * therefore first sends what is staged on its stream's fd, and what this
 * thread staged elsewhere, as for any write that goes the exact way. The
 * inline putc_unlocked family reaches the kernel only through __overflow.
 * Without batch each costs one load and a branch.
 */
/* No extern inlines of <stdio.h>'s (putc_unlocked...): this file defines them. */
#ifndef __NO_INLINE__
#define __NO_INLINE__ 1
#endif
#include <stdarg.h>
#include <stdio.h>

#include "route/route.h"
#include "shim/real.h"

/* <stdio.h> may make macros or inlines of these: the symbols are meant. */
#undef fwrite_unlocked
#undef fputc_unlocked
#undef putc
#undef putc_unlocked
#undef putchar_unlocked

/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): glibc's names */
static inline void stdio_barrier(FILE *f)
{
	if (unlikely(batch_enabled)) {
		if (!f)
			batch_flush_all(true);	/* fflush(NULL): every stream */
		else if (f->_fileno >= 0)	/* not fmemopen & co. */
			batch_before_write(f->_fileno);
	}
}

SHIM_EXPORT int fflush(FILE *f)
{ stdio_barrier(f); return REAL_STDIO(fflush)(f); }
SHIM_EXPORT int fflush_unlocked(FILE *f)
{ stdio_barrier(f); return REAL_STDIO(fflush_unlocked)(f); }

/*
 * fclose and pclose close the stream's fd where the shim cannot see: as
 * close() does, while the number is still this stream's, a registered
 * file's slot lets it go, and under batch what was staged on it goes out
 * and what the shim knew of the fd is forgotten. A staged write's error
 * is the close's, as close() reports it.
 */
static int stdio_closing(FILE *f)
{
	int fd = f ? f->_fileno : -1, err = 0;

	if (fd < 0 || shim_in_vfork)
		return 0;
	if (unlikely(batch_enabled)) {
		batch_before_write(fd);
		err = batch_fd_closing(fd);
		route_fd_forget(fd);
	} else {
		route_fd_closing(fd);
	}
	return err;
}

/* RET, what glibc's close of the stream said; ERR, stdio_closing()'s. */
static int stdio_closed(int err, int ret)
{
	if (unlikely(err) && ret == 0)
		return (int)sys_ret(-err, 0);	/* EOF */
	return ret;
}

SHIM_EXPORT int fclose(FILE *f)
{ int err = stdio_closing(f); return stdio_closed(err, REAL_STDIO(fclose)(f)); }
SHIM_EXPORT int pclose(FILE *f)
{ int err = stdio_closing(f); return stdio_closed(err, REAL_STDIO(pclose)(f)); }
/*
 * freopen closes the stream's fd and most often opens the new file on the
 * same number, unseen: as fclose before it. A staged write's error has no
 * call left to report it, as for a close whose result is not looked at.
 */
SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{ stdio_closing(f); return REAL_STDIO(freopen)(path, mode, f); }
SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{ stdio_closing(f); return REAL_STDIO(freopen64)(path, mode, f); }

/* Every stream closed: what is staged goes out, and no slot holds a file. */
SHIM_EXPORT int fcloseall(void)
{
	int (*real_fcloseall)(void) = REAL_STDIO(fcloseall);

	if (!shim_in_vfork) {
		stdio_barrier(NULL);
		route_fixed_release();
	}
	return real_fcloseall();
}

SHIM_EXPORT size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{ stdio_barrier(f); return REAL_STDIO(fwrite)(p, size, n, f); }
SHIM_EXPORT size_t fwrite_unlocked(const void *p, size_t size, size_t n,
				   FILE *f)
{ stdio_barrier(f); return REAL_STDIO(fwrite_unlocked)(p, size, n, f); }
SHIM_EXPORT int fputs(const char *s, FILE *f)
{ stdio_barrier(f); return REAL_STDIO(fputs)(s, f); }
SHIM_EXPORT int fputs_unlocked(const char *s, FILE *f)
{ stdio_barrier(f); return REAL_STDIO(fputs_unlocked)(s, f); }
SHIM_EXPORT int puts(const char *s)
{ stdio_barrier(stdout); return REAL_STDIO(puts)(s); }
SHIM_EXPORT int fputc(int c, FILE *f)
{ stdio_barrier(f); return REAL_STDIO(fputc)(c, f); }
SHIM_EXPORT int fputc_unlocked(int c, FILE *f)
{ stdio_barrier(f); return REAL_STDIO(fputc_unlocked)(c, f); }
SHIM_EXPORT int putc(int c, FILE *f)
{ stdio_barrier(f); return REAL_STDIO(putc)(c, f); }
SHIM_EXPORT int putc_unlocked(int c, FILE *f)
{ stdio_barrier(f); return REAL_STDIO(putc_unlocked)(c, f); }
SHIM_EXPORT int _IO_putc(int c, FILE *f)
{ stdio_barrier(f); return REAL_STDIO(_IO_putc)(c, f); }
SHIM_EXPORT int putchar(int c)
{ stdio_barrier(stdout); return REAL_STDIO(putchar)(c); }
SHIM_EXPORT int putchar_unlocked(int c)
{ stdio_barrier(stdout); return REAL_STDIO(putchar_unlocked)(c); }
SHIM_EXPORT int __overflow(FILE *f, int c)
{ stdio_barrier(f); return REAL_STDIO(__overflow)(f, c); }

/*
 * The v-forms once, for every entry point of the family: a call from here
 * to the exported symbol would go through the PLT, and be interposable.
 */
static int shim_vfprintf(FILE *f, const char *fmt, va_list ap)
{ stdio_barrier(f); return REAL_STDIO(vfprintf)(f, fmt, ap); }
static int shim_vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{ stdio_barrier(f); return REAL_STDIO(__vfprintf_chk)(f, flag, fmt, ap); }
static int shim_vdprintf(int fd, const char *fmt, va_list ap)
{ batch_before_write(fd); return REAL_STDIO(vdprintf)(fd, fmt, ap); }
static int shim_vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{ batch_before_write(fd); return REAL_STDIO(__vdprintf_chk)(fd, flag, fmt, ap); }

SHIM_EXPORT int vfprintf(FILE *f, const char *fmt, va_list ap)
{ return shim_vfprintf(f, fmt, ap); }
SHIM_EXPORT int vprintf(const char *fmt, va_list ap)
{ return shim_vfprintf(stdout, fmt, ap); }
SHIM_EXPORT int vdprintf(int fd, const char *fmt, va_list ap)
{ return shim_vdprintf(fd, fmt, ap); }
SHIM_EXPORT int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{ return shim_vfprintf_chk(f, flag, fmt, ap); }
SHIM_EXPORT int __vprintf_chk(int flag, const char *fmt, va_list ap)
{ return shim_vfprintf_chk(stdout, flag, fmt, ap); }
SHIM_EXPORT int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{ return shim_vdprintf_chk(fd, flag, fmt, ap); }

/* The variadic forms: glibc's own are these same v-calls. */
#define VA_CALL(call)							\
	({ va_list ap; int r; va_start(ap, fmt); r = call; va_end(ap); r; })

SHIM_EXPORT int printf(const char *fmt, ...)
{ return VA_CALL(shim_vfprintf(stdout, fmt, ap)); }
SHIM_EXPORT int fprintf(FILE *f, const char *fmt, ...)
{ return VA_CALL(shim_vfprintf(f, fmt, ap)); }
SHIM_EXPORT int dprintf(int fd, const char *fmt, ...)
{ return VA_CALL(shim_vdprintf(fd, fmt, ap)); }
SHIM_EXPORT int __printf_chk(int flag, const char *fmt, ...)
{ return VA_CALL(shim_vfprintf_chk(stdout, flag, fmt, ap)); }
SHIM_EXPORT int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{ return VA_CALL(shim_vfprintf_chk(f, flag, fmt, ap)); }
SHIM_EXPORT int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{ return VA_CALL(shim_vdprintf_chk(fd, flag, fmt, ap)); }
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
