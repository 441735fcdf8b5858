// A program that reads past the end of its context: a fault in the checked interpreter, which
// must be reported (program, instruction, source line, traced pid) without harming the traced
// process. The verifier refuses it, so tests run it as an unverified program.
#include <linux/bpf.h>
// libbpf's helper declarations need the kernel types above.
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_execve")
int read_past_ctx(void* ctx) {
  volatile long* beyond = (long*)((char*)ctx + 4096);
  return *beyond;
}

char LICENSE[] SEC("license") = "GPL";
