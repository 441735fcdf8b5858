#include "hooks/proc_maps.hpp"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>

namespace userbpf::hooks {

std::optional<Mapping> parse_mapping_line(const std::string& line) {
  Mapping m;
  char perms[8] = {};
  int path_at = 0;
  if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
                  &m.start, &m.end, perms, &m.file_offset, &m.dev_major, &m.dev_minor, &m.inode,
                  &path_at) < 7) {
    return std::nullopt;
  }
  m.executable = perms[2] == 'x';
  if (path_at > 0 && static_cast<size_t>(path_at) < line.size()) m.path = line.substr(path_at);
  return m;
}

std::vector<Mapping> read_mappings(pid_t pid) {
  std::vector<Mapping> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    if (auto m = parse_mapping_line(line)) out.push_back(std::move(*m));
  }
  return out;
}

std::optional<uint64_t> program_entry(pid_t pid) {
  const std::string file = "/proc/" + std::to_string(pid) + "/auxv";
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  uint64_t pair[2];
  std::optional<uint64_t> entry;
  while (read(fd, pair, sizeof(pair)) == static_cast<ssize_t>(sizeof(pair))) {
    if (pair[0] == AT_NULL) break;
    if (pair[0] == AT_ENTRY) {
      entry = pair[1];
      break;
    }
  }
  close(fd);
  return entry;
}

}  // namespace userbpf::hooks
