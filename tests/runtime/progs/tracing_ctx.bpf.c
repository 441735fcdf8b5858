// Programs of the types Linux cannot test-run, each computing a value from its context so the
// test can check the context's layout: tracepoint record, raw tracepoint and fentry/fexit/lsm
// argument arrays, kprobe pt_regs, perf_event data. Also send_signal from a kprobe.
#define __TARGET_ARCH_x86
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct sys_enter_record {
  __u16 common_type;
  __u8 common_flags;
  __u8 common_preempt_count;
  __s32 common_pid;
  __s64 id;
  __u64 args[6];
};

SEC("tracepoint/raw_syscalls/sys_enter")
int tp_sum(struct sys_enter_record *r) {
  return r->id * 1000 + r->args[0] + r->args[5];
}

SEC("raw_tracepoint/sys_enter")
int raw_tp_args(struct bpf_raw_tracepoint_args *ctx) {
  return ctx->args[0] * 10 + ctx->args[1];
}

SEC("kprobe/do_nanosleep")
int kprobe_regs(struct pt_regs *ctx) {
  // The first two argument registers (rdi, rsi) and the instruction pointer.
  return PT_REGS_PARM1(ctx) * 100 + PT_REGS_PARM2(ctx) + PT_REGS_IP(ctx);
}

SEC("perf_event")
int perf_sample(struct bpf_perf_event_data *ctx) {
  return ctx->sample_period + ctx->addr * 2 + PT_REGS_RC(&ctx->regs);
}

SEC("fexit/do_nanosleep")
int fexit_args(__u64 *ctx) {
  // fexit of a two-argument function: two arguments, then the return value.
  return ctx[0] + ctx[1] * 2 + ctx[2] * 3;
}

SEC("lsm/file_open")
int lsm_arg(__u64 *ctx) {
  return ctx[0] ? -1 : 0;  // -EPERM-like refusal when the first argument is set
}

// Writes to its context: a syscall program's context comes back to the caller.
struct counter {
  __u64 in;
  __u64 out;
};

SEC("syscall")
int syscall_double(struct counter *c) {
  c->out = c->in * 2;
  return c->in + 1;
}

// bpf_send_signal / bpf_send_signal_thread with the signal in the first argument register; the
// second selects the thread variant.
SEC("kprobe/do_nanosleep")
int kprobe_signal(struct pt_regs *ctx) {
  __u32 sig = PT_REGS_PARM1(ctx);
  if (PT_REGS_PARM2(ctx)) return bpf_send_signal_thread(sig);
  return bpf_send_signal(sig);
}
