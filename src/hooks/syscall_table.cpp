#include "hooks/syscall_table.hpp"

#include <asm/unistd_64.h>

#include <algorithm>
#include <array>

namespace userbpf::hooks {
namespace {

struct NamedSyscall {
  std::string_view name;
  int nr;
};

constexpr NamedSyscall kSyscalls[] = {
#include "hooks/syscall_names.inc"
};

constexpr int kCount = [] {
  int highest = -1;
  for (const NamedSyscall& s : kSyscalls) highest = std::max(highest, s.nr);
  return highest + 1;
}();

// Names by number; gaps stay empty.
constexpr auto kByNumber = [] {
  std::array<std::string_view, kCount> names{};
  for (const NamedSyscall& s : kSyscalls) names[s.nr] = s.name;
  return names;
}();

}  // namespace

std::optional<int> syscall_number(std::string_view name) {
  for (const NamedSyscall& s : kSyscalls) {
    if (s.name == name) return s.nr;
  }
  return std::nullopt;
}

std::string_view syscall_name(int nr) {
  if (nr < 0 || nr >= kCount) return {};
  return kByNumber[nr];
}

int syscall_count() {
  return kCount;
}

}  // namespace userbpf::hooks
