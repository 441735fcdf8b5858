/* The benchmark suite's array_map_loop as an XDP program; the algorithm is algo/array_map_loop.h,
 * which the native twin (native/native_twins.c) compiles too. */
#include "algo/array_map_loop.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int array_map_loop(struct xdp_md* ctx) {
  return suite_array_map_loop((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}
