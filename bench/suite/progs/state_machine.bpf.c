/* The benchmark suite's state_machine as an XDP program; the algorithm is algo/state_machine.h,
 * which the native twin (native/native_twins.c) compiles too. */
#include "algo/state_machine.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int state_machine(struct xdp_md* ctx) {
  return suite_state_machine((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}
