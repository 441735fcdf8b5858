// What helpers need from the world around a run: where trace_printk output goes, which maps the
// program may name, which task is "current", and the attach point's facts. The runtime fills one
// ProgramEnv per program (and per run where it changes) and hands it to the interpreter as
// RunOptions::user; helpers read it back from CallContext::user.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <unordered_set>

#include "vm/interpreter.hpp"

namespace userbpf::trace {
class TraceBuffer;
}
namespace userbpf::maps {
class Map;
}

namespace userbpf::helpers {

// The task a helper such as get_current_pid_tgid() reports. Hooks fill it with the traced
// thread; test runs leave `valid` false and the calling thread is used.
struct TaskInfo {
  bool valid = false;
  int32_t pid = 0;   // thread id (the kernel's task->pid)
  int32_t tgid = 0;  // process id
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string comm;
};

// The packet a networking program runs on: Linux's xdp_buff / sk_buff reduced to what the packet
// helpers need. The test run (or hook) that owns the buffer fills it, points ProgramEnv::packet at
// it for the run and reads the final bounds back. Helpers that move the bounds
// (bpf_xdp_adjust_head/tail/meta) keep the context's u32 data fields in step via sync_ctx().
struct PacketState {
  enum class Kind : uint8_t { xdp, skb };
  Kind kind = Kind::xdp;
  uint8_t* hard_start = nullptr;  // first byte of the buffer (xdp: data_hard_start)
  uint8_t* hard_end = nullptr;   // xdp: data_hard_end (reserved tailroom excluded); skb: buffer end
  uint8_t* data_meta = nullptr;  // == data when there is no metadata
  uint8_t* data = nullptr;
  uint8_t* data_end = nullptr;
  void* ctx = nullptr;   // the struct xdp_md or struct __sk_buff the program was given
  bool writable = true;  // may the program write the packet directly (checked runs)
  // bpf_redirect() and bpf_redirect_map(): the target the program chose last (Linux keeps it
  // in bpf_redirect_info). redirect_map is null for bpf_redirect (target: redirect_ifindex);
  // for bpf_redirect_map it is the devmap/cpumap/xskmap and redirect_key the entry (with
  // BPF_F_BROADCAST in redirect_flags: every entry of the map).
  bool redirected = false;
  uint32_t redirect_ifindex = 0;
  uint64_t redirect_flags = 0;
  const maps::Map* redirect_map = nullptr;
  uint32_t redirect_key = 0;
  // Set whenever a helper moves the bounds or touches the redirect: a repeated test run resets
  // the context and the redirect before the next repetition only then (or always, for checked
  // runs, whose program may write the context itself).
  bool changed = true;

  // Rewrites the context's data, data_end and data_meta (and skb len) from the bounds above.
  // Programs load those fields as u32 and cast them to pointers, which is why packet buffers
  // live below 4 GiB.
  void sync_ctx() {
    const auto u32 = [](const uint8_t* p) {
      return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p));
    };
    if (kind == Kind::xdp) {
      auto* md = static_cast<xdp_md*>(ctx);
      md->data = u32(data);
      md->data_end = u32(data_end);
      md->data_meta = u32(data_meta);
    } else {
      auto* skb = static_cast<__sk_buff*>(ctx);
      skb->data = u32(data);
      skb->data_end = u32(data_end);
      skb->data_meta = u32(data_meta);
      skb->len = static_cast<uint32_t>(data_end - data);
    }
  }
};

// A program bpf_tail_call can jump to: its interpreter and the ProgramEnv its helpers see.
struct TailCallTarget {
  const vm::Interpreter* program = nullptr;
  void* user = nullptr;
};

struct ProgramEnv {
  trace::TraceBuffer* trace = nullptr;        // nullptr: trace_printk output is dropped
  std::unordered_set<const maps::Map*> maps;  // maps this program references (by lddw)
  TaskInfo task;
  // bpf_get_current_task(_btf): the address of the current task's struct task_struct in the
  // runtime's task model (runtime::TaskModel), filled by hooks that model the traced tree; 0 when
  // the run has no task model (test runs).
  uint64_t current_task = 0;
  // Whose memory probe_read_user and friends read: 0 is this process; hooks set the traced
  // process.
  int32_t memory_pid = 0;
  // The user-mode registers (x86-64 struct pt_regs) of the task at the event, in this process:
  // what bpf_get_stack/bpf_get_stackid with BPF_F_USER_STACK walk (ip, then the frame-pointer
  // chain from bp through memory_pid's memory). Test runs of kprobe and perf_event programs
  // point it at the context; hooks at the traced task's registers. nullptr: no user stack.
  const void* user_regs = nullptr;
  uint64_t attach_cookie = 0;  // bpf_get_attach_cookie
  uint64_t func_ip = 0;        // bpf_get_func_ip
  bool gpl = false;            // GPL-compatible license
  // Set for checked-mode runs: helpers then check every pointer the program hands them against
  // the run's regions and answer -EFAULT (or NULL) instead of touching bad memory. Unchecked
  // runs trust the verifier, as the kernel does.
  bool checked = false;
  // The packet of a networking run (XDP, socket filter, tc); nullptr otherwise.
  PacketState* packet = nullptr;
  // bpf_tail_call: the program with runtime id `id` (what prog_array slots hold) instantiated in
  // this process, or a null program when there is none. Unset: every tail call falls through.
  std::function<TailCallTarget(uint32_t id)> resolve_program;

  bool knows_map(uint64_t handle) const {
    return maps.count(reinterpret_cast<const maps::Map*>(handle)) != 0;
  }
};

// May the helper read (or write) [addr, addr + size) on behalf of the program?
inline bool may_access(vm::CallContext& call, uint64_t addr, uint64_t size, bool write) {
  const ProgramEnv* env = static_cast<const ProgramEnv*>(call.user);
  if (env && !env->checked) return true;
  return call.can_access(addr, size, write);
}

// The env of the run that called a helper (nullptr when the embedder gave none).
inline ProgramEnv* env_of(vm::CallContext& call) {
  return static_cast<ProgramEnv*>(call.user);
}

}  // namespace userbpf::helpers
