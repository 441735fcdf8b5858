/* The benchmark suite's hash_map_loop as an XDP program; the algorithm is algo/hash_map_loop.h,
 * which the native twin (native/native_twins.c) compiles too. */
#include "algo/hash_map_loop.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int hash_map_loop(struct xdp_md* ctx) {
  return suite_hash_map_loop((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}
