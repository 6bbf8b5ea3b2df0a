/* SPDX-License-Identifier: MIT */
/*
 * What io_uring offers, and since which kernel. The shim decides from the
 * probe (opcodes) and from trying (setup flags, registered ring fds, accept
 * flags), never from the version string; the versions here serve
 * SHIM_KERNEL, which hides whatever a named older kernel lacked so that every
 * fallback path can run on a new kernel, and the --check report.
 */
#include <stdatomic.h>
#include <string.h>

#include "ring/ring.h"

#define KV(a, b) ((a) << 8 | (b))

const struct ring_cap ring_cap_table[] = {
	/* opcodes the shim uses or plans to */
	{ "READ",	  RCAP_OP, IORING_OP_READ,	   KV(5, 6) },
	{ "WRITE",	  RCAP_OP, IORING_OP_WRITE,	   KV(5, 6) },
	{ "READV",	  RCAP_OP, IORING_OP_READV,	   KV(5, 1) },
	{ "WRITEV",	  RCAP_OP, IORING_OP_WRITEV,	   KV(5, 1) },
	{ "SENDMSG",	  RCAP_OP, IORING_OP_SENDMSG,	   KV(5, 3) },
	{ "RECVMSG",	  RCAP_OP, IORING_OP_RECVMSG,	   KV(5, 3) },
	{ "SEND",	  RCAP_OP, IORING_OP_SEND,	   KV(5, 6) },
	{ "RECV",	  RCAP_OP, IORING_OP_RECV,	   KV(5, 6) },
	{ "ACCEPT",	  RCAP_OP, IORING_OP_ACCEPT,	   KV(5, 5) },
	{ "CONNECT",	  RCAP_OP, IORING_OP_CONNECT,	   KV(5, 5) },
	{ "LINK_TIMEOUT", RCAP_OP, IORING_OP_LINK_TIMEOUT, KV(5, 5) },
	{ "ASYNC_CANCEL", RCAP_OP, IORING_OP_ASYNC_CANCEL, KV(5, 5) },
	{ "NOP",	  RCAP_OP, IORING_OP_NOP,	   KV(5, 1) },
	{ "SOCKET",	  RCAP_OP, IORING_OP_SOCKET,	   KV(5, 19) },
	{ "SEND_ZC",	  RCAP_OP, IORING_OP_SEND_ZC,	   KV(6, 0) },
	{ "SENDMSG_ZC",	  RCAP_OP, IORING_OP_SEND_ZC + 1,  KV(6, 1) },
	{ "FUTEX_WAIT",	  RCAP_OP, 51,			   KV(6, 7) },
	{ "WAITID",	  RCAP_OP, 50,			   KV(6, 7) },
	{ "FTRUNCATE",	  RCAP_OP, 55,			   KV(6, 9) },
	{ "BIND",	  RCAP_OP, 56,			   KV(6, 11) },
	{ "LISTEN",	  RCAP_OP, 57,			   KV(6, 11) },
	/* setup flags */
	{ "SETUP_CLAMP",	  RCAP_SETUP, IORING_SETUP_CLAMP,	  KV(5, 6) },
	{ "SETUP_SQPOLL",	  RCAP_SETUP, IORING_SETUP_SQPOLL,	  KV(5, 11) },
	{ "SETUP_ATTACH_WQ",	  RCAP_SETUP, IORING_SETUP_ATTACH_WQ,	  KV(5, 6) },
	{ "SETUP_SUBMIT_ALL",	  RCAP_SETUP, IORING_SETUP_SUBMIT_ALL,	  KV(5, 18) },
	{ "SETUP_COOP_TASKRUN",	  RCAP_SETUP, IORING_SETUP_COOP_TASKRUN,  KV(5, 19) },
	{ "SETUP_SINGLE_ISSUER",  RCAP_SETUP, IORING_SETUP_SINGLE_ISSUER, KV(6, 0) },
	{ "SETUP_DEFER_TASKRUN",  RCAP_SETUP, IORING_SETUP_DEFER_TASKRUN, KV(6, 1) },
	/* registration and per-op flags */
	{ "REGISTER_RING_FDS",	  RCAP_FEATURE, RF_REG_RING_FD,	      KV(5, 18) },
	{ "ACCEPT_MULTISHOT",	  RCAP_FEATURE, RF_ACCEPT_MULTISHOT,  KV(5, 19) },
	{ "PBUF_RING",		  RCAP_FEATURE, RF_PBUF_RING,	      KV(5, 19) },
	{ "RECV_MULTISHOT",	  RCAP_FEATURE, RF_RECV_MULTISHOT,    KV(6, 0) },
	{ "SYNC_CANCEL",	  RCAP_FEATURE, RF_SYNC_CANCEL,	      KV(6, 0) },
	{ "ACCEPT_DONTWAIT",	  RCAP_FEATURE, RF_ACCEPT_DONTWAIT,   KV(6, 10) },
	/*
	 * A short SEND completes with what it sent, and the link goes on;
	 * with MSG_WAITALL the kernel sends the rest, or fails the SEND
	 * (and the link). 5.15.90 has it too.
	 */
	{ "SEND_WAITALL",	  RCAP_FEATURE, RF_SEND_WAITALL,      KV(5, 19) },
	/*
	 * Files registered through the ring's registered index
	 * (IORING_REGISTER_USE_REGISTERED_RING): the ring fd itself is
	 * closed once it is registered (5.18).
	 */
	{ "REGISTER_FILES",	  RCAP_FEATURE, RF_REG_FILES,	      KV(6, 3) },
	/*
	 * Not io_uring's own: files that accept RWF_NOWAIT (FMODE_NOWAIT).
	 * Debian's 6.1 refuses both; 6.4 is when pipes (and, we believe,
	 * sockets' read/write path) got it. send/recv never needed it.
	 */
	{ "PIPE_NOWAIT",	  RCAP_FEATURE, RF_PIPE_NOWAIT,	      KV(6, 4) },
	{ "SOCK_RW_NOWAIT",	  RCAP_FEATURE, RF_SOCK_RW_NOWAIT,    KV(6, 4) },
	{ NULL, 0, 0, 0 },
};

/* SHIM_KERNEL as KV(major, minor); 0 when unset. */
unsigned ring_kernel_limit;
/* Features (one bit each) the running kernel refused when first tried. */
static _Atomic uint32_t features_refused;

static const struct ring_cap *cap_find(unsigned kind, unsigned value)
{
	const struct ring_cap *c;

	for (c = ring_cap_table; c->name; c++)
		if (c->kind == kind && c->value == value)
			return c;
	return NULL;
}

/*
 * Does the SHIM_KERNEL profile allow this, and has the kernel not refused
 * it? Unknown entries: only if unset.
 */
bool ring_cap_allowed(unsigned kind, unsigned value)
{
	const struct ring_cap *c;

	if (kind == RCAP_FEATURE && value < 32 &&
	    (atomic_load_explicit(&features_refused, memory_order_relaxed) &
	     (1u << value)))
		return false;
	if (!ring_kernel_limit)
		return true;
	c = cap_find(kind, value);
	return c && c->kver <= ring_kernel_limit;
}

/*
 * A feature the kernel turned down at a first try (a real older kernel,
 * which no profile described): from now on as if a profile hid it.
 */
void ring_cap_refused(enum ring_feature f)
{
	if ((unsigned)f < 32)
		atomic_fetch_or_explicit(&features_refused, 1u << f,
					 memory_order_relaxed);
}

bool ring_setup_allowed(unsigned flags)
{
	unsigned bit;

	for (bit = 1; bit; bit <<= 1)
		if ((flags & bit) && !ring_cap_allowed(RCAP_SETUP, bit))
			return false;
	return true;
}

/* Opcodes the profile hides are dropped from what the probe found. */
void ring_caps_apply_profile(uint64_t ops[4])
{
	unsigned op;

	if (!ring_kernel_limit)
		return;
	for (op = 0; op < 256; op++)
		if (!ring_cap_allowed(RCAP_OP, op))
			ops[op / 64] &= ~(1ULL << (op % 64));
}

int ring_parse_kernel(const char *s, unsigned *kv)
{
	unsigned major = 0, minor = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9')
		major = major * 10 + (unsigned)(*p++ - '0');
	if (p == s || *p++ != '.' || *p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9')
		minor = minor * 10 + (unsigned)(*p++ - '0');
	if (*p || major < 5 || minor > 255)
		return -1;
	*kv = KV(major, minor);
	return 0;
}
