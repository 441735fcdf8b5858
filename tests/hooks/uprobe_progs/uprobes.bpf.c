// Programs of the uprobe tests (tests/hooks/uprobe_test.cpp) on the target program
// tests/hooks/uprobe_target: every form of libbpf's uprobe sections (symbol, symbol+offset, a
// library function, uretprobes, a bare SEC("uprobe") attached by file offset with a cookie). Each
// call is recorded under a key that identifies it (an argument or the return value), with how
// often it was seen, so the tests can check every call was seen exactly once.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

struct call {
  __u64 count;
  __s64 arg2;
  __u32 pid;   // the thread (tid)
  __u32 tgid;  // its process
  __u64 cookie;
  __u64 stack_word;  // bpf_probe_read_user of [sp]: the return address at an entry
  char comm[16];
};

#define CALL_MAP(name)                       \
  struct {                                   \
    __uint(type, BPF_MAP_TYPE_HASH);         \
    __uint(max_entries, 8192);               \
    __type(key, __s64);                      \
    __type(value, struct call);              \
  } name SEC(".maps")

CALL_MAP(add_calls);
CALL_MAP(add_returns);
CALL_MAP(asm_calls);
CALL_MAP(mul_calls);
CALL_MAP(mul_returns);
CALL_MAP(rec_returns);
CALL_MAP(offset_calls);

static __always_inline void record(void *map, struct pt_regs *ctx, __s64 key, __s64 arg2) {
  struct call *seen = bpf_map_lookup_elem(map, &key);
  if (seen) {
    __sync_fetch_and_add(&seen->count, 1);
    return;
  }
  struct call c = {};
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  c.count = 1;
  c.arg2 = arg2;
  c.pid = (__u32)pid_tgid;
  c.tgid = pid_tgid >> 32;
  c.cookie = bpf_get_attach_cookie(ctx);
  bpf_probe_read_user(&c.stack_word, sizeof(c.stack_word), (void *)PT_REGS_SP(ctx));
  bpf_get_current_comm(c.comm, sizeof(c.comm));
  bpf_map_update_elem(map, &key, &c, BPF_NOEXIST);
}

SEC("uprobe/" UPROBE_TARGET_BIN ":target_add")
int BPF_KPROBE(add_entry, long a, long b) {
  record(&add_calls, ctx, a, b);
  return 0;
}

SEC("uretprobe/" UPROBE_TARGET_BIN ":target_add")
int BPF_KRETPROBE(add_exit, long ret) {
  record(&add_returns, ctx, ret, (long)PT_REGS_IP(ctx));
  return 0;
}

SEC("uprobe/" UPROBE_TARGET_BIN ":asm_add+4")
int BPF_KPROBE(asm_inside, long a, long b) {
  record(&asm_calls, ctx, a, b);
  return 0;
}

SEC("uprobe/" UPROBE_TARGET_LIB ":lib_mul")
int BPF_KPROBE(mul_entry, int a, int b) {
  record(&mul_calls, ctx, a, b);
  return 0;
}

SEC("uretprobe/" UPROBE_TARGET_LIB ":lib_mul")
int BPF_KRETPROBE(mul_exit, int ret) {
  record(&mul_returns, ctx, ret, 0);
  return 0;
}

SEC("uretprobe/" UPROBE_TARGET_BIN ":target_rec")
int BPF_KRETPROBE(rec_exit, long ret) {
  record(&rec_returns, ctx, ret, 0);
  return 0;
}

// No target in the section: the test attaches it by file offset, with a cookie.
SEC("uprobe")
int BPF_KPROBE(by_offset, long a, long b) {
  record(&offset_calls, ctx, a, b);
  return 0;
}
