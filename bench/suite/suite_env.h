/* The environment the benchmark suite's algorithms are written against, for both builds of the
 * same C: clang -target bpf (the eBPF programs in progs/) and clang -O2 for the host (the native
 * twins in native/). Only what cannot be the same C differs here: the loop driver for loops the
 * verifier cannot unroll (bpf_loop in eBPF, a plain loop natively) and, in the algorithm headers,
 * the map calls (Linux maps in eBPF, a plain array or a small table natively). */
#ifndef USERBPF_BENCH_SUITE_ENV_H
#define USERBPF_BENCH_SUITE_ENV_H

#include <linux/types.h>

#if defined(__bpf__)
#include <bpf/bpf_helpers.h>
#include <linux/bpf.h>
#define SUITE_BPF 1
#else
#include <stddef.h>
#define SUITE_BPF 0
#endif

/* Native twins built against userbpf's own maps (native/native_twins_maps.c) define this to 1:
 * the map calls then go to the maps' program entries, as the JIT's direct calls do. */
#ifndef SUITE_SHARED_MAPS
#define SUITE_SHARED_MAPS 0
#endif

#define SUITE_NOINLINE __attribute__((noinline))
#define SUITE_INLINE static inline __attribute__((always_inline))

/* Calls fn(index, ctx) for index = 0 .. n-1 until it returns non-zero (bpf_loop's contract). */
#if SUITE_BPF
#define SUITE_LOOP(n, fn, ctx) bpf_loop((n), (fn), (ctx), 0)
#else
#define SUITE_LOOP(n, fn, ctx)                           \
  do {                                                   \
    for (__u32 suite_i_ = 0; suite_i_ < (n); ++suite_i_) \
      if ((fn)(suite_i_, (ctx))) break;                  \
  } while (0)
#endif

/* The input frame every program gets (suite_frame() in suite_cases.cpp builds it): Ethernet, IPv4,
 * UDP, then the payload. The payload starts with the parameters, then pseudo-random bytes. */
#define SUITE_FRAME_BYTES 1500
#define SUITE_OFF_PAYLOAD 42     /* after the 14 + 20 + 8 header bytes */
#define SUITE_OFF_PRIME_LIMIT 42 /* __u16: count primes below this */
#define SUITE_OFF_CALL_ROUNDS 44 /* __u16: rounds of the call chain */
#define SUITE_OFF_DATA 64        /* the data area the array/map programs read */
#define SUITE_DATA_BYTES 1024    /* bytes of it every such program uses */

#endif
