#include "hooks/uprobe_breakpoints.hpp"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>

#include "hooks/proc_maps.hpp"

namespace userbpf::hooks {
namespace {

constexpr uint8_t kInt3 = 0xCC;
constexpr int kMaxStepStops = 64;  // stops tolerated before the single step completes

bool read_word(pid_t tid, uint64_t addr, uint64_t& out) {
  errno = 0;
  const long v = ptrace(PTRACE_PEEKDATA, tid, reinterpret_cast<void*>(addr), nullptr);
  if (errno != 0) return false;
  out = static_cast<uint64_t>(v);
  return true;
}

bool write_word(pid_t tid, uint64_t addr, uint64_t value) {
  return ptrace(PTRACE_POKEDATA, tid, reinterpret_cast<void*>(addr),
                reinterpret_cast<void*>(value)) == 0;
}

// Byte access through the aligned word holding it (an aligned word never crosses a page).
bool read_byte(pid_t tid, uint64_t addr, uint8_t& out) {
  const uint64_t aligned = addr & ~uint64_t{7};
  uint64_t word = 0;
  if (!read_word(tid, aligned, word)) return false;
  out = static_cast<uint8_t>(word >> ((addr - aligned) * 8));
  return true;
}

bool write_byte(pid_t tid, uint64_t addr, uint8_t value) {
  const uint64_t aligned = addr & ~uint64_t{7};
  uint64_t word = 0;
  if (!read_word(tid, aligned, word)) return false;
  const unsigned shift = static_cast<unsigned>(addr - aligned) * 8;
  word = (word & ~(uint64_t{0xff} << shift)) | (uint64_t{value} << shift);
  return write_word(tid, aligned, word);
}

bool is_int3_trap(pid_t tid) {
  siginfo_t info{};
  return ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) == 0 && info.si_code == SI_KERNEL;
}

void add_unique(std::vector<uint32_t>& list, uint32_t value) {
  for (uint32_t v : list) {
    if (v == value) return;
  }
  list.push_back(value);
}

std::string canonical(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::canonical(path, ec);
  return ec ? path : p.string();
}

}  // namespace

UprobeBreakpoints::UprobeBreakpoints(const std::vector<UprobeTarget>& sites, EventSink& sink)
    : sites_(sites), sink_(sink) {
  for (UprobeTarget& site : sites_) {
    watch_mappings_ |= site.library;
    site.path = canonical(site.path);  // compared with the names in /proc/PID/maps
  }
}

bool UprobeBreakpoints::insert_at(pid_t tid, AddressSpace& space, uint64_t addr, Breakpoint*& out) {
  uint8_t current = 0;
  if (!read_byte(tid, addr, current)) return false;
  auto it = space.breakpoints.find(addr);
  if (it != space.breakpoints.end() && current == kInt3) {
    out = &it->second;
    return true;
  }
  // New, or a fresh mapping of the file where an old one had the breakpoint.
  if (current != kInt3 && !write_byte(tid, addr, kInt3)) return false;
  Breakpoint& bp = space.breakpoints[addr];
  bp.original = current;
  out = &bp;
  return true;
}

void UprobeBreakpoints::insert_sites(pid_t tid, AddressSpace& space) {
  for (const Mapping& m : read_mappings(tid)) {
    if (!m.executable || m.inode == 0) continue;
    for (uint32_t i = 0; i < sites_.size(); ++i) {
      const UprobeTarget& site = sites_[i];
      const bool same_file =
          (makedev(m.dev_major, m.dev_minor) == site.dev && m.inode == site.ino) ||
          (!m.path.empty() && m.path == site.path);
      if (!same_file || site.file_offset < m.file_offset ||
          site.file_offset - m.file_offset >= m.end - m.start) {
        continue;
      }
      Breakpoint* bp = nullptr;
      if (!insert_at(tid, space, m.start + (site.file_offset - m.file_offset), bp)) continue;
      add_unique(site.retprobe ? bp->return_sites : bp->entry_sites, i);
    }
  }
}

void UprobeBreakpoints::on_exec(pid_t tid, pid_t tgid, pid_t old_tid) {
  for (pid_t t : {tid, old_tid}) {
    frames_.erase(t);
    tgid_of_.erase(t);
  }
  AddressSpace& space = spaces_[tgid];
  space = AddressSpace{};
  insert_sites(tid, space);
}

void UprobeBreakpoints::on_mappings_changed(pid_t tid, pid_t tgid) {
  insert_sites(tid, spaces_[tgid]);
}

void UprobeBreakpoints::on_new_task(pid_t parent, pid_t parent_tgid, pid_t child, bool thread) {
  if (thread) return;  // the same address space; a new thread has no frames
  if (auto it = spaces_.find(parent_tgid); it != spaces_.end()) spaces_[child] = it->second;
  if (auto it = frames_.find(parent); it != frames_.end() && !it->second.empty()) {
    frames_[child] = it->second;
    tgid_of_[child] = child;
  }
}

void UprobeBreakpoints::on_thread_gone(pid_t tid) {
  frames_.erase(tid);
  tgid_of_.erase(tid);
}

void UprobeBreakpoints::on_process_gone(pid_t tgid) {
  spaces_.erase(tgid);
}

bool UprobeBreakpoints::ensure_trampoline(pid_t tid, pid_t tgid, AddressSpace& space) {
  (void)tgid;
  if (space.trampoline != 0) return true;
  const std::optional<uint64_t> entry = program_entry(tid);
  if (!entry) return false;
  Breakpoint* bp = nullptr;
  if (!insert_at(tid, space, *entry, bp)) return false;
  space.trampoline = *entry;
  return true;
}

UprobeBreakpoints::Trap UprobeBreakpoints::return_trap(pid_t tid, pid_t tgid,
                                                       user_regs_struct& regs, bool& matched) {
  matched = false;
  auto it = frames_.find(tid);
  if (it == frames_.end()) return Trap::not_ours;
  std::vector<Frame>& stack = it->second;
  // The frame this return pops: the newest whose slot sits just below the stack pointer after the
  // `ret`. Newer frames were left by longjmp and are dropped with it.
  size_t k = stack.size();
  while (k > 0 && stack[k - 1].slot + 8 != regs.rsp) --k;
  if (k == 0) return Trap::not_ours;
  matched = true;
  Frame frame = std::move(stack[k - 1]);
  stack.resize(k - 1);
  ++hits_;
  regs.rip = frame.return_address;
  UprobeEvent event;
  event.tid = tid;
  event.tgid = tgid;
  event.retprobe = true;
  event.regs = regs;
  for (uint32_t site : frame.sites) {
    event.site = site;
    sink_.on_uprobe(event);
  }
  ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
  return Trap::handled;
}

UprobeBreakpoints::Trap UprobeBreakpoints::step_over(pid_t tid, pid_t tgid, uint64_t addr,
                                                     uint8_t original, user_regs_struct& regs,
                                                     int& signal, int& status) {
  if (pause_others_) pause_others_(tid, tgid);
  Trap result = Trap::handled;
  write_byte(tid, addr, original);
  regs.rip = addr;
  ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
  for (int i = 0; i < kMaxStepStops; ++i) {
    if (ptrace(PTRACE_SINGLESTEP, tid, nullptr, nullptr) != 0) break;
    int st = 0;
    if (waitpid(tid, &st, __WALL) != tid) break;
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      status = st;
      result = Trap::thread_gone;
      break;
    }
    if (!WIFSTOPPED(st)) continue;
    const int sig = WSTOPSIG(st);
    if ((st >> 16) != 0 || sig == (SIGTRAP | 0x80)) continue;  // an event stop: step on
    if (sig == SIGTRAP) break;                                 // the step is done
    siginfo_t info{};
    if (ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) == 0) signal = sig;  // deliver it after
  }
  // (Fails when the thread died in the step: then its whole process is dying, as a lone
  // SIGKILL of a thread kills the group.)
  write_byte(tid, addr, kInt3);
  if (resume_others_) resume_others_();
  return result;
}

UprobeBreakpoints::Trap UprobeBreakpoints::on_trap(pid_t tid, pid_t tgid, int& signal,
                                                   int& status) {
  signal = 0;
  auto space_it = spaces_.find(tgid);
  if (space_it == spaces_.end()) return Trap::not_ours;
  AddressSpace& space = space_it->second;
  user_regs_struct regs{};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return Trap::not_ours;
  const uint64_t addr = regs.rip - 1;
  auto bp_it = space.breakpoints.find(addr);
  if (bp_it == space.breakpoints.end() || !is_int3_trap(tid)) return Trap::not_ours;
  if (space.trampoline == addr) {
    bool matched = false;
    const Trap t = return_trap(tid, tgid, regs, matched);
    if (matched) return t;
  }
  const Breakpoint bp = bp_it->second;  // a copy: the programs' runs do not touch the table
  ++hits_;
  UprobeEvent event;
  event.tid = tid;
  event.tgid = tgid;
  event.regs = regs;
  event.regs.rip = addr;
  for (uint32_t site : bp.entry_sites) {
    event.site = site;
    sink_.on_uprobe(event);
  }
  if (!bp.return_sites.empty() && ensure_trampoline(tid, tgid, space)) {
    uint64_t return_address = 0;
    if (read_word(tid, regs.rsp, return_address) && write_word(tid, regs.rsp, space.trampoline)) {
      frames_[tid].push_back({return_address, regs.rsp, bp.return_sites});
      tgid_of_[tid] = tgid;
    }
  }
  return step_over(tid, tgid, addr, bp.original, regs, signal, status);
}

bool UprobeBreakpoints::rewind_trap(pid_t tid, pid_t tgid) {
  auto space_it = spaces_.find(tgid);
  if (space_it == spaces_.end()) return false;
  const AddressSpace& space = space_it->second;
  user_regs_struct regs{};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return false;
  const uint64_t addr = regs.rip - 1;
  if (!space.breakpoints.contains(addr) || !is_int3_trap(tid)) return false;
  regs.rip = addr;
  if (space.trampoline == addr) {
    auto it = frames_.find(tid);
    if (it != frames_.end()) {
      std::vector<Frame>& stack = it->second;
      size_t k = stack.size();
      while (k > 0 && stack[k - 1].slot + 8 != regs.rsp) --k;
      if (k > 0) {
        regs.rip = stack[k - 1].return_address;  // the return, without its programs
        stack.resize(k - 1);
      }
    }
  }
  ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
  return true;
}

void UprobeBreakpoints::restore(const std::vector<std::pair<pid_t, pid_t>>& stopped) {
  std::unordered_map<pid_t, pid_t> stopped_in;  // tgid -> a stopped thread of it
  for (auto [tid, tgid] : stopped) stopped_in.try_emplace(tgid, tid);
  for (auto& [tid, stack] : frames_) {
    auto tgid = tgid_of_.find(tid);
    if (tgid == tgid_of_.end()) continue;
    auto via = stopped_in.find(tgid->second);
    auto space = spaces_.find(tgid->second);
    if (via == stopped_in.end() || space == spaces_.end()) continue;
    for (const Frame& frame : stack) {
      // Only a slot that still holds the trampoline is a live frame's (a longjmp may have left
      // the slot to other data).
      uint64_t current = 0;
      if (read_word(via->second, frame.slot, current) && current == space->second.trampoline) {
        write_word(via->second, frame.slot, frame.return_address);
      }
    }
  }
  for (auto& [tgid, space] : spaces_) {
    auto via = stopped_in.find(tgid);
    if (via == stopped_in.end()) continue;
    for (const auto& [addr, bp] : space.breakpoints) {
      uint8_t current = 0;
      if (read_byte(via->second, addr, current) && current == kInt3) {
        write_byte(via->second, addr, bp.original);
      }
    }
  }
  spaces_.clear();
  frames_.clear();
  tgid_of_.clear();
}

}  // namespace userbpf::hooks
