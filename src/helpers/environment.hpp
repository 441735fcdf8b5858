// What helpers need from the world around a run: where trace_printk output goes, which maps the
// program may name, which task is "current", and the attach point's facts. The runtime fills one
// ProgramEnv per program (and per run where it changes) and hands it to the interpreter as
// RunOptions::user; helpers read it back from CallContext::user.
#pragma once

#include <cstdint>
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

struct ProgramEnv {
  trace::TraceBuffer* trace = nullptr;          // nullptr: trace_printk output is dropped
  std::unordered_set<const maps::Map*> maps;    // maps this program references (by lddw)
  TaskInfo task;
  // Whose memory probe_read_user and friends read: 0 is this process; hooks set the traced
  // process.
  int32_t memory_pid = 0;
  uint64_t attach_cookie = 0;                   // bpf_get_attach_cookie
  uint64_t func_ip = 0;                         // bpf_get_func_ip
  bool gpl = false;                             // GPL-compatible license
  // Set for checked-mode runs: helpers then check every pointer the program hands them against
  // the run's regions and answer -EFAULT (or NULL) instead of touching bad memory. Unchecked
  // runs trust the verifier, as the kernel does.
  bool checked = false;

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
inline ProgramEnv* env_of(vm::CallContext& call) { return static_cast<ProgramEnv*>(call.user); }

}  // namespace userbpf::helpers
