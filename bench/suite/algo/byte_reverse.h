/* Byte reversal in place of the data area (SUITE_DATA_BYTES from SUITE_OFF_DATA): loads and
 * stores at both ends, the frame comes back reversed. Returns the first word after the swap. */
#ifndef USERBPF_BENCH_SUITE_BYTE_REVERSE_H
#define USERBPF_BENCH_SUITE_BYTE_REVERSE_H

#include "suite_env.h"

SUITE_INLINE __u32 suite_byte_reverse(__u8* data, const __u8* end) {
  __u8* area = data + SUITE_OFF_DATA;
  if (area + SUITE_DATA_BYTES > end) return 0;
  for (__u32 i = 0; i < SUITE_DATA_BYTES / 2; i++) {
    __u8 low = area[i];
    area[i] = area[SUITE_DATA_BYTES - 1 - i];
    area[SUITE_DATA_BYTES - 1 - i] = low;
  }
  return (__u32)area[0] | (__u32)area[1] << 8 | (__u32)area[2] << 16 | (__u32)area[3] << 24;
}

#endif
