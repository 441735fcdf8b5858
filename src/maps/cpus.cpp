// CPU numbering for per-CPU maps.
#include <sched.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "userbpf/map.hpp"

namespace userbpf::maps {
namespace {

// "0-3,8-11" -> 12: the highest listed CPU plus one, which is the slot count Linux's
// num_possible_cpus() gives for the contiguous masks real systems have.
uint32_t parse_possible(const std::string& text) {
  uint32_t highest = 0;
  bool any = false;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find(',', i);
    if (end == std::string::npos) end = text.size();
    std::string range = text.substr(i, end - i);
    unsigned lo = 0;
    unsigned hi = 0;
    if (std::sscanf(range.c_str(), "%u-%u", &lo, &hi) == 2 ||
        (std::sscanf(range.c_str(), "%u", &lo) == 1 && ((hi = lo), true))) {
      if (hi >= highest) highest = hi;
      any = true;
    }
    i = end + 1;
  }
  return any ? highest + 1 : 1;
}

}  // namespace

uint32_t possible_cpus() {
  static const uint32_t count = [] {
    std::ifstream in("/sys/devices/system/cpu/possible");
    std::string text;
    if (!std::getline(in, text)) return 1u;
    return parse_possible(text);
  }();
  return count;
}

uint32_t current_cpu() {
  int cpu = sched_getcpu();
  if (cpu < 0) return 0;
  return static_cast<uint32_t>(cpu) % possible_cpus();
}

}  // namespace userbpf::maps
