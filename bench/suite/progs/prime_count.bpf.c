/* The benchmark suite's prime_count as an XDP program; the algorithm is algo/prime_count.h, which
 * the native twin (native/native_twins.c) compiles too. */
#include "algo/prime_count.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int prime_count(struct xdp_md* ctx) {
  return suite_prime_count((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}
