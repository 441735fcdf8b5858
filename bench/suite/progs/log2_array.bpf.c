/* The benchmark suite's log2_array as an XDP program; the algorithm is algo/log2_array.h, which the
 * native twin (native/native_twins.c) compiles too. */
#include "algo/log2_array.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int log2_array(struct xdp_md* ctx) {
  return suite_log2_array((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}
