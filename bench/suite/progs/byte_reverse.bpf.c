/* The benchmark suite's byte_reverse as an XDP program; the algorithm is algo/byte_reverse.h, which
 * the native twin (native/native_twins.c) compiles too. */
#include "algo/byte_reverse.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int byte_reverse(struct xdp_md* ctx) {
  return suite_byte_reverse((__u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}
