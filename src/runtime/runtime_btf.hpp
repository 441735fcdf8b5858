// The runtime's own BTF: the type information of everything userbpf exposes to programs, with
// Linux's names and x86-64 layouts, so that a CO-RE program compiled against a real vmlinux.h
// relocates against it (object::apply_core(obj, runtime_btf().get())) exactly as it would against
// a kernel's /sys/kernel/btf/vmlinux.
//
// What it describes:
//   - the base C integer types under the names vmlinux BTF gives them ("long unsigned int", ...)
//     and the usual typedefs: u8..u64, s8..s64, __u8..__u64, __s8..__s64, __be16, __be32,
//     __wsum, pid_t, uid_t, gid_t, size_t, bool;
//   - program contexts: struct pt_regs (x86-64, kernel field names: di, si, dx, ...), struct
//     xdp_md, struct __sk_buff, struct bpf_sock, struct bpf_perf_event_data, struct
//     bpf_raw_tracepoint_args (layouts of the uapi headers, checked with offsetof), and
//     enum xdp_action;
//   - tracepoint records, laid out as the kernel's trace events: struct trace_entry,
//     trace_event_raw_sys_enter / _sys_exit, trace_event_raw_sched_process_exec / _fork /
//     _exit / _template;
//   - a task model: struct task_struct and struct cred below. Linux's field names and types, but
//     our own (small) layout: CO-RE programs find fields by name, so offsets need not be Linux's.
//     The C++ structs TaskModel / CredModel *are* that layout; a helper that hands a task pointer
//     to a program (bpf_get_current_task) must hand out a TaskModel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

struct btf;

namespace userbpf::runtime {

// Linux's kuid_t / kgid_t: a struct around the id, so that ids of different namespaces don't mix.
struct KuidModel {
  uint32_t val = 0;
};

// struct cred: the identities a task acts with.
struct CredModel {
  KuidModel uid;   // real
  KuidModel gid;   // kgid_t in BTF
  KuidModel suid;  // saved
  KuidModel sgid;
  KuidModel euid;  // effective
  KuidModel egid;
  KuidModel fsuid;
  KuidModel fsgid;
};

// struct task_struct, the runtime's task model. Field names and types are Linux's
// (include/linux/sched.h); the order and offsets are ours.
struct TaskModel {
  uint32_t __state = 0;               // unsigned int: TASK_RUNNING (0), TASK_INTERRUPTIBLE (1), ...
  uint32_t flags = 0;                 // unsigned int: PF_* flags
  int32_t prio = 0;                   // int
  int32_t static_prio = 0;            // int
  int32_t pid = 0;                    // pid_t: the thread id
  int32_t tgid = 0;                   // pid_t: the process id
  uint64_t start_time = 0;            // u64: monotonic ns at creation
  TaskModel* real_parent = nullptr;   // struct task_struct *: the process that forked us
  TaskModel* parent = nullptr;        // struct task_struct *: who gets our SIGCHLD
  TaskModel* group_leader = nullptr;  // struct task_struct *: the thread group leader
  const CredModel* real_cred = nullptr;  // const struct cred *: objective credentials
  const CredModel* cred = nullptr;       // const struct cred *: effective (subjective) ones
  char comm[16] = {};                    // char[16]: executable name, NUL-padded
  int32_t exit_code = 0;                 // int
  int32_t exit_signal = 0;               // int
};

// Tracepoint records with the kernel's layouts (sizes 8, 64, 24, 20, 24, 20 and 36 bytes). The
// sched events are laid out as Linux 6.18 has them (its tracefs `events/sched/*/format`): since
// 6.13 the comm strings of sched_process_fork and of the template are __data_loc strings, and
// sched_process_exit has its own event with group_dead. A __data_loc field is a u32
// (length << 16) | offset, the NUL-terminated string living at that offset of the record.
struct TraceEntryModel {
  uint16_t type;  // unsigned short
  uint8_t flags;  // unsigned char
  uint8_t preempt_count;
  int32_t pid;  // int
};
struct SysEnterModel {
  TraceEntryModel ent;
  int64_t id;        // long int: syscall number
  uint64_t args[6];  // long unsigned int[6]
};
struct SysExitModel {
  TraceEntryModel ent;
  int64_t id;
  int64_t ret;  // long int
};
struct SchedProcessExecModel {
  TraceEntryModel ent;
  uint32_t __data_loc_filename;  // u32
  int32_t pid;                   // pid_t: the task's pid after exec
  int32_t old_pid;               // pid_t: before (differs when a non-leader thread exec'd)
};
struct SchedProcessForkModel {
  TraceEntryModel ent;
  uint32_t __data_loc_parent_comm;
  int32_t parent_pid;
  uint32_t __data_loc_child_comm;
  int32_t child_pid;
};
// sched_process_free, sched_wait_task, sched_process_wait.
struct SchedProcessTemplateModel {
  TraceEntryModel ent;
  uint32_t __data_loc_comm;
  int32_t pid;
  int32_t prio;
};
struct SchedProcessExitModel {
  TraceEntryModel ent;
  char comm[16];
  int32_t pid;
  int32_t prio;
  bool group_dead;  // the last thread of its process exits
};

// The runtime's BTF, built on first use (thread-safe) and shared by every caller: read it, never
// btf__add_* to it. nullptr only if libbpf could not allocate it. Typical use:
//   object::apply_core(obj, runtime::runtime_btf().get());
std::shared_ptr<::btf> runtime_btf();

}  // namespace userbpf::runtime
