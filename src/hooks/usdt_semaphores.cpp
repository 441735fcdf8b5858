#include "hooks/usdt_semaphores.hpp"

#include <asm/unistd_64.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace userbpf::hooks {
namespace {

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;
  unsigned dev_major = 0;
  unsigned dev_minor = 0;
  uint64_t inode = 0;
  std::string path;
};

std::vector<Mapping> file_mappings(pid_t pid) {
  std::vector<Mapping> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %x:%x %lu %n", &m.start, &m.end, perms,
                    &m.offset, &m.dev_major, &m.dev_minor, &m.inode, &path_at) < 7) {
      continue;
    }
    if (m.inode == 0) continue;  // anonymous
    if (path_at > 0 && static_cast<size_t>(path_at) < line.size()) m.path = line.substr(path_at);
    out.push_back(std::move(m));
  }
  return out;
}

pid_t tgid_of(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::atoi(line.c_str() + 5));
  }
  return tid;
}

}  // namespace

bool add_to_tracee_u16(pid_t pid, uint64_t address, int delta) {
  uint16_t value = 0;
  iovec local{&value, sizeof(value)};
  iovec remote{reinterpret_cast<void*>(address), sizeof(value)};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(value)) return false;
  const int next = static_cast<int>(value) + delta;
  value = static_cast<uint16_t>(next < 0 ? 0 : (next > 0xffff ? 0xffff : next));
  return process_vm_writev(pid, &local, 1, &remote, 1, 0) == sizeof(value);
}

Status UsdtSemaphores::add(const std::string& path, uint64_t file_offset) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return make_error(Errc::io, "cannot stat: " + std::string(std::strerror(errno)),
                      Location{path, "", -1, -1});
  }
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::canonical(path, ec);
  for (const Semaphore& s : semaphores_) {
    if (s.dev == st.st_dev && s.ino == st.st_ino && s.file_offset == file_offset) {
      return ok_status();
    }
  }
  semaphores_.push_back({ec ? path : canonical.string(), st.st_dev, st.st_ino, file_offset});
  return ok_status();
}

void UsdtSemaphores::add_interest(HookInterest& interest) const {
  // Optional: a semaphore in a library is mapped by an mmap the uprobe sites of that library
  // watch anyway; one in the executable is counted at exec or attach.
  if (!semaphores_.empty()) interest.add_optional_exit(__NR_mmap);
}

void UsdtSemaphores::scan(pid_t tgid) {
  std::set<uint64_t>& counted = counted_[tgid];
  for (const Mapping& m : file_mappings(tgid)) {
    for (const Semaphore& s : semaphores_) {
      // The file by identity; by name too, as /proc shows the real inode under overlay mounts.
      const bool same_file =
          (m.inode == s.ino && m.dev_major == major(s.dev) && m.dev_minor == minor(s.dev)) ||
          m.path == s.path;
      if (!same_file || s.file_offset < m.offset || s.file_offset >= m.offset + (m.end - m.start)) {
        continue;
      }
      const uint64_t address = m.start + (s.file_offset - m.offset);
      if (counted.count(address)) continue;
      if (add_to_tracee_u16(tgid, address, +1)) counted.insert(address);
    }
  }
}

void UsdtSemaphores::on_syscall(const SyscallEvent& event) {
  // A new writable mapping of a file: the loader mapping a library's data.
  if (!semaphores_.empty() && event.nr == __NR_mmap && event.phase == SyscallPhase::exit &&
      event.ret >= 0 && (event.regs.rdx & PROT_WRITE) && static_cast<int>(event.regs.r8) >= 0) {
    scan(event.tgid ? event.tgid : event.tid);
  }
  inner_.on_syscall(event);
}

void UsdtSemaphores::on_process_event(const ProcessEvent& event) {
  if (!semaphores_.empty()) {
    switch (event.kind) {
      case ProcessEvent::Kind::exec:
        // After exec the thread is its process's leader: the tid is the tgid.
        counted_.erase(event.tid);
        scan(event.tid);
        break;
      case ProcessEvent::Kind::attach:
        scan(event.tid);  // a running process: its current mappings
        break;
      case ProcessEvent::Kind::fork:
        if (!event.child_is_thread) {
          auto parent = counted_.find(tgid_of(event.tid));
          if (parent != counted_.end()) counted_[event.child_tid] = parent->second;
        }
        break;
      case ProcessEvent::Kind::gone:
        counted_.erase(event.tid);  // a leader's end (other threads are not keys)
        break;
      default: break;
    }
  }
  inner_.on_process_event(event);
}

void UsdtSemaphores::on_uprobe(const UprobeEvent& event) {
  inner_.on_uprobe(event);
}

void UsdtSemaphores::on_detaching() {
  release();
  inner_.on_detaching();
}

size_t UsdtSemaphores::release() {
  size_t written = 0;
  for (const auto& [tgid, addresses] : counted_) {
    for (uint64_t address : addresses) written += add_to_tracee_u16(tgid, address, -1) ? 1 : 0;
  }
  counted_.clear();
  return written;
}

std::vector<uint64_t> UsdtSemaphores::counted(pid_t tgid) const {
  auto it = counted_.find(tgid);
  if (it == counted_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

}  // namespace userbpf::hooks
