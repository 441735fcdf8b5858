// USDT semaphores: the unsigned short counters a probe defined with _SDT_HAS_SEMAPHORES tests
// before it evaluates its arguments. The kernel counts them up in every process that maps the
// probed file while a uprobe with a reference-counter offset is registered there, and down when
// it goes (uprobe ref_ctr_offset); this does the same for supervised processes: a sink placed in
// front of the dispatcher watches the events that change a process's mappings and writes the
// tracee's memory (process_vm_writev: the counters live in writable data).
//
//   exec           the new image may map the file: counted up (the old image's counts are gone)
//   attach         a running process: counted up in its current mappings
//   mmap (exit)    a writable file mapping may cover a counter (a library the loader maps)
//   fork           the child's memory is a copy: it holds the parent's counts, remembered as its
//   own release()      every count still held is counted down (detach; processes that ended skip)
//
// Not handled: a counter in a mapping made by mremap or by mmap of a file opened elsewhere under
// another name is recognised (device and inode match) but a counter living in a page that the
// process made read-only is not written (process_vm_writev honours protections).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hooks/event_sink.hpp"
#include "hooks/hook_source.hpp"

namespace userbpf::hooks {

class UsdtSemaphores : public EventSink {
 public:
  explicit UsdtSemaphores(EventSink& inner) : inner_(inner) {}

  // Counts the semaphore at `file_offset` of the file `path` while attached. Errc::io when the
  // file cannot be stat'ed.
  Status add(const std::string& path, uint64_t file_offset);
  bool empty() const { return semaphores_.empty(); }

  // What the source must report on top of `interest`: the exits of mmap.
  void add_interest(HookInterest& interest) const;

  void on_syscall(const SyscallEvent& event) override;
  void on_process_event(const ProcessEvent& event) override;
  void on_uprobe(const UprobeEvent& event) override;
  void on_detaching() override;

  // Counts down everything counted up; returns how many counters were written.
  size_t release();

  // The counter addresses currently counted in process `tgid` (for tests).
  std::vector<uint64_t> counted(pid_t tgid) const;

 private:
  struct Semaphore {
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t file_offset = 0;
  };
  // Counts up the semaphores now mapped in `tgid` that are not counted there yet.
  void scan(pid_t tgid);

  EventSink& inner_;
  std::vector<Semaphore> semaphores_;
  std::map<pid_t, std::set<uint64_t>> counted_;  // by process: counter addresses counted up
};

// Adds `delta` to the unsigned short at `address` in process `pid` (saturating at 0 and 65535).
// False when the process's memory cannot be read or written there.
bool add_to_tracee_u16(pid_t pid, uint64_t address, int delta);

}  // namespace userbpf::hooks
