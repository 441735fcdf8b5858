/* Sum of floor(log2(x | 1)) over the data area read as an array of __u32, with the branchy
 * binary-search log2 (five shifts and compares, no count-leading-zeros instruction in eBPF). */
#ifndef USERBPF_BENCH_SUITE_LOG2_ARRAY_H
#define USERBPF_BENCH_SUITE_LOG2_ARRAY_H

#include "suite_env.h"

SUITE_INLINE __u32 suite_log2_u32(__u32 v) {
  __u32 r = 0;
  if (v >> 16) {
    v >>= 16;
    r += 16;
  }
  if (v >> 8) {
    v >>= 8;
    r += 8;
  }
  if (v >> 4) {
    v >>= 4;
    r += 4;
  }
  if (v >> 2) {
    v >>= 2;
    r += 2;
  }
  if (v >> 1) r += 1;
  return r;
}

SUITE_INLINE __u32 suite_log2_array(const __u8* data, const __u8* end) {
  const __u8* area = data + SUITE_OFF_DATA;
  if (area + SUITE_DATA_BYTES > end) return 0;
  const __u32* words = (const __u32*)area;
  __u32 sum = 0;
  for (__u32 i = 0; i < SUITE_DATA_BYTES / 4; i++) sum += suite_log2_u32(words[i] | 1);
  return sum;
}

#endif
