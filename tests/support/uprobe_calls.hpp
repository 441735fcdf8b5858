// What the uprobe tests share: the target binary and library built by uprobe_targets.cmake, the
// record tests/hooks/uprobe_progs/uprobes.bpf.c writes per call, and a map read into std::map.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "userbpf/map.hpp"

namespace userbpf::hooks::uprobe_test {

inline const std::string kBin = std::string(USERBPF_UPROBE_TARGET_DIR) + "/uprobe_target";
inline const std::string kLib = std::string(USERBPF_UPROBE_TARGET_DIR) + "/libuprobe_lib.so";

// uprobes.bpf.c's record.
struct Call {
  uint64_t count;
  int64_t arg2;
  uint32_t pid;
  uint32_t tgid;
  uint64_t cookie;
  uint64_t stack_word;
  char comm[16];
};

// Every entry of a hash map, by key.
template <class K, class V>
std::map<K, V> entries(maps::Map& map) {
  std::map<K, V> out;
  K key{}, next{};
  const K* prev = nullptr;
  while (map.get_next_key(prev, &next) == 0) {
    V value{};
    if (map.lookup_copy(&next, &value) == 0) out[next] = value;
    key = next;
    prev = &key;
  }
  return out;
}

inline std::map<int64_t, Call> calls(maps::Map& map) {
  return entries<int64_t, Call>(map);
}

}  // namespace userbpf::hooks::uprobe_test
