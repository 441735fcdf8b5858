// Uprobes in ptrace-supervised processes: int3 breakpoints written into the tracees' code.
//
// Insertion: at every exec (the new image's main binary and loader) and, when a probed file is a
// shared library, after every mmap/mprotect that maps code (the supervisor stops at their exits
// only then), each executable mapping of a probed file (recognised by device and inode in
// /proc/PID/maps) gets an int3 at the probe's file offset. PTRACE_POKEDATA writes it (text is not
// writable by process_vm_writev). Forks inherit the breakpoints with the memory; exec drops them.
//
// A hit (SIGTRAP, si_code SI_KERNEL, rip - 1 a known breakpoint): the entry programs run with the
// thread's registers (ip = the probed address); for uretprobes the return address at [rsp] is
// saved on the thread's shadow stack and replaced by the trampoline, an int3 at the program's
// entry point (_start, never returned to); then the displaced instruction runs: original byte
// back, rip back, PTRACE_SINGLESTEP, int3 again. A trap at the trampoline whose rsp matches the
// newest frame runs the return programs (ip = the saved address, ax = the return value) and sets
// rip to the saved address; frames skipped by longjmp are dropped when an outer frame returns.
//
// Other threads of the process must not run while the original byte is in place (they would pass
// the probed instruction without a hit): the source's step guard (set_step_guard) stops them for
// the single step and resumes them after; a single-threaded process pays nothing for it.
//
// Not handled (documented limits): code that reads
// its own return address (C++ exception unwinding, __builtin_return_address) through a probed
// function's frame sees the trampoline; a library unmapped and another file mapped at its old
// address keeps stale entries until the next exec.
//
// Detach: restore() writes back every original byte and every live frame's return address, so
// the processes run on untraced.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

#include "hooks/event_sink.hpp"
#include "hooks/uprobe_target.hpp"

namespace userbpf::hooks {

class UprobeBreakpoints {
 public:
  UprobeBreakpoints(const std::vector<UprobeTarget>& sites, EventSink& sink);

  bool active() const { return !sites_.empty(); }

  // Called around the single step of a displaced instruction: `pause(tid, tgid)` stops every
  // other running thread of process tgid, `resume()` lets them go again.
  void set_step_guard(std::function<void(pid_t, pid_t)> pause, std::function<void()> resume) {
    pause_others_ = std::move(pause);
    resume_others_ = std::move(resume);
  }
  // Whether mmap/mprotect exits must be watched (a probed file is a shared library).
  bool watches_mappings() const { return watch_mappings_; }

  // Thread `tid` of process `tgid` is stopped at its exec event: the old image's breakpoints and
  // frames are gone; insert into the new one. `old_tid` is the exec'ing thread's former id.
  void on_exec(pid_t tid, pid_t tgid, pid_t old_tid);
  // Thread `tid` is stopped after a syscall that may have mapped code: insert into new mappings.
  void on_mappings_changed(pid_t tid, pid_t tgid);
  // `parent` (of process parent_tgid) made `child`: a thread shares the breakpoints, a process
  // gets a copy of them and of the parent thread's frames (its stack is a copy).
  void on_new_task(pid_t parent, pid_t parent_tgid, pid_t child, bool thread);
  void on_thread_gone(pid_t tid);
  void on_process_gone(pid_t tgid);

  enum class Trap { not_ours, handled, thread_gone };
  // Thread `tid` stopped with SIGTRAP. handled: the programs ran, the thread is ready to resume
  // (deliver `signal` if not 0: a signal that arrived during the single step). thread_gone: it
  // died in the single step; `status` is its wait status.
  Trap on_trap(pid_t tid, pid_t tgid, int& signal, int& status);

  // Detaching: thread `tid` is stopped at a SIGTRAP nobody handled; if it is a breakpoint hit,
  // rewind it so that the thread runs the original instruction after restore(). true then.
  bool rewind_trap(pid_t tid, pid_t tgid);
  // Detaching: `stopped` lists stopped threads; removes every breakpoint of their processes and
  // restores the return addresses of their threads' live uretprobe frames.
  void restore(const std::vector<std::pair<pid_t, pid_t>>& stopped_tid_tgid);

  uint64_t hits() const { return hits_; }

 private:
  struct Breakpoint {
    uint8_t original = 0;
    std::vector<uint32_t> entry_sites;
    std::vector<uint32_t> return_sites;
  };
  struct AddressSpace {
    std::map<uint64_t, Breakpoint> breakpoints;  // by address
    uint64_t trampoline = 0;                     // 0 until the first uretprobe frame
  };
  struct Frame {
    uint64_t return_address = 0;
    uint64_t slot = 0;  // where it was on the stack (rsp at the probed entry)
    std::vector<uint32_t> sites;
  };

  void insert_sites(pid_t tid, AddressSpace& space);
  bool insert_at(pid_t tid, AddressSpace& space, uint64_t addr, Breakpoint*& out);
  bool ensure_trampoline(pid_t tid, pid_t tgid, AddressSpace& space);
  Trap return_trap(pid_t tid, pid_t tgid, user_regs_struct& regs, bool& matched);
  Trap step_over(pid_t tid, pid_t tgid, uint64_t addr, uint8_t original, user_regs_struct& regs,
                 int& signal, int& status);

  std::vector<UprobeTarget> sites_;
  EventSink& sink_;
  bool watch_mappings_ = false;
  std::unordered_map<pid_t, AddressSpace> spaces_;        // by tgid
  std::unordered_map<pid_t, std::vector<Frame>> frames_;  // uretprobe shadow stacks, by tid
  std::unordered_map<pid_t, pid_t> tgid_of_;              // threads with frames: their process
  uint64_t hits_ = 0;
  std::function<void(pid_t, pid_t)> pause_others_;
  std::function<void()> resume_others_;
};

}  // namespace userbpf::hooks
