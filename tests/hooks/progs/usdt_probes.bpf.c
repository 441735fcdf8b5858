// USDT programs of the USDT tests (tests/hooks/usdt_test.cpp), written as libbpf users write them:
// <bpf/usdt.bpf.h>, BPF_USDT, bpf_usdt_arg, bpf_usdt_arg_cnt, bpf_usdt_cookie. Every hit becomes a
// ringbuf record of what the program read, so the test can check each probe hit once with its
// arguments. The probe binary is tests/hooks/usdt/usdt_probes.c, found through PATH.
#include <linux/bpf.h>
#include <linux/types.h>
// clang-format off
#include "runtime_kernel.h"
#include <stdbool.h>  // usdt.bpf.h uses bool, which vmlinux.h would declare
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
// clang-format on

char _license[] SEC("license") = "GPL";

enum usdt_probe_id { PROBE_SMALL = 1, PROBE_WIDE, PROBE_NONE, PROBE_STACK, PROBE_GUARDED };

struct usdt_event {
  __u32 probe;
  __u32 pid;
  __s32 arg_cnt;         // bpf_usdt_arg_cnt
  __s32 arg_errors;      // bpf_usdt_arg calls that failed among the first arg_cnt
  __s32 past_end_error;  // bpf_usdt_arg(arg_cnt): -ENOENT
  __u32 pad;
  __u64 usdt_cookie;    // bpf_usdt_cookie
  __u64 attach_cookie;  // bpf_get_attach_cookie: the spec id
  __u64 ip;             // PT_REGS_IP
  __s64 args[4];
  char str[16];  // wide: the string its pointer argument points to
};

// Keeps the record type in the object's BTF for `userbpf run --event-type usdt_event`.
struct usdt_event* unused_usdt_event __attribute__((unused));

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} usdt_events SEC(".maps");

static __always_inline struct usdt_event* start(struct pt_regs* ctx, __u32 probe) {
  struct usdt_event* e = bpf_ringbuf_reserve(&usdt_events, sizeof(*e), 0);
  if (!e) return 0;
  __builtin_memset(e, 0, sizeof(*e));
  e->probe = probe;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  e->arg_cnt = bpf_usdt_arg_cnt(ctx);
  e->usdt_cookie = bpf_usdt_cookie(ctx);
  e->attach_cookie = bpf_get_attach_cookie(ctx);
  e->ip = PT_REGS_IP(ctx);
  long value;
  for (int i = 0; i < 4; ++i) {
    if (i < e->arg_cnt && bpf_usdt_arg(ctx, i, &value) != 0) ++e->arg_errors;
  }
  e->past_end_error = bpf_usdt_arg(ctx, e->arg_cnt, &value);
  return e;
}

// Generic: every argument through bpf_usdt_arg.
static __always_inline int record_args(struct pt_regs* ctx, __u32 probe) {
  struct usdt_event* e = start(ctx, probe);
  if (!e) return 0;
  for (int i = 0; i < 4; ++i) {
    long value = 0;
    bpf_usdt_arg(ctx, i, &value);
    e->args[i] = value;
  }
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("usdt/usdt_probes:userbpf_test:small")
int BPF_USDT(on_small, int a, int b, int c) {
  struct usdt_event* e = start(ctx, PROBE_SMALL);
  if (!e) return 0;
  e->args[0] = a;
  e->args[1] = b;
  e->args[2] = c;
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("usdt/usdt_probes:userbpf_test:wide")
int BPF_USDT(on_wide, long d, unsigned long e_, const char* name, int k) {
  struct usdt_event* e = start(ctx, PROBE_WIDE);
  if (!e) return 0;
  e->args[0] = d;
  e->args[1] = (long)e_;
  e->args[2] = (long)name;
  e->args[3] = k;
  bpf_probe_read_user_str(e->str, sizeof(e->str), name);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("usdt/usdt_probes:userbpf_test:none")
int on_none(struct pt_regs* ctx) {
  return record_args(ctx, PROBE_NONE);
}

SEC("usdt/usdt_probes:userbpf_test:stack")
int on_stack(struct pt_regs* ctx) {
  return record_args(ctx, PROBE_STACK);
}

SEC("usdt/usdt_probes:userbpf_test:guarded")
int on_guarded(struct pt_regs* ctx) {
  return record_args(ctx, PROBE_GUARDED);
}

// No target: attached through an explicit one only.
SEC("usdt")
int on_explicit(struct pt_regs* ctx) {
  return record_args(ctx, 0);
}
