// The memory mappings of a process as /proc/PID/maps lists them: where uprobe breakpoints go
// (every executable mapping of a probed file) and the program's entry point from
// /proc/PID/auxv (the uretprobe trampoline).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace userbpf::hooks {

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t file_offset = 0;
  bool executable = false;
  unsigned dev_major = 0;
  unsigned dev_minor = 0;
  uint64_t inode = 0;
  std::string path;  // empty for anonymous mappings
};

// The mappings of process `pid`; empty when it is gone.
std::vector<Mapping> read_mappings(pid_t pid);

// One line of /proc/PID/maps ("start-end perms offset major:minor inode [path]").
std::optional<Mapping> parse_mapping_line(const std::string& line);

// AT_ENTRY of the process's auxiliary vector: the executable's entry point (its _start).
std::optional<uint64_t> program_entry(pid_t pid);

}  // namespace userbpf::hooks
