/* The benchmark suite's call_chain as an XDP program; the algorithm is algo/call_chain.h, which the
 * native twin (native/native_twins.c) compiles too. */
#include "algo/call_chain.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int call_chain(struct xdp_md* ctx) {
  return suite_call_chain((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}
