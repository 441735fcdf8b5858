// The runtime's kernel types the hook test programs use, declared as a vmlinux.h dumped from the
// runtime BTF declares them (`userbpf btf dump runtime format c`): Linux's names with
// preserve_access_index, so every access is a CO-RE relocation against the runtime's BTF.
#pragma once

#define __VMLINUX_H__ 1  // bpf_tracing.h: kernel pt_regs field names (di, si, ...)
#ifndef __TARGET_ARCH_x86
#define __TARGET_ARCH_x86 1
#endif

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct pt_regs {
  unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs,
      flags, sp, ss;
};

struct trace_entry {
  unsigned short type;
  unsigned char flags;
  unsigned char preempt_count;
  int pid;
};

struct trace_event_raw_sched_process_exec {
  struct trace_entry ent;
  __u32 __data_loc_filename;
  int pid;
  int old_pid;
  char __data[0];
};

struct trace_event_raw_sched_process_fork {
  struct trace_entry ent;
  __u32 __data_loc_parent_comm;
  int parent_pid;
  __u32 __data_loc_child_comm;
  int child_pid;
  char __data[0];
};

struct trace_event_raw_sched_process_exit {
  struct trace_entry ent;
  char comm[16];
  int pid;
  int prio;
  _Bool group_dead;
  char __data[0];
};

typedef struct {
  unsigned int val;
} kuid_t;

struct cred {
  kuid_t uid;
};

struct task_struct {
  unsigned int flags;
  int prio;
  int pid;
  int tgid;
  struct task_struct *real_parent;
  struct task_struct *group_leader;
  const struct cred *cred;
  char comm[16];
  int exit_code;
  int exit_signal;
};

#pragma clang attribute pop
