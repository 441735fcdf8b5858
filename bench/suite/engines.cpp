#include "engines.hpp"

#include <algorithm>
#include <cstdio>

#include "jit_hook.hpp"

namespace userbpf::bench::suite {

const char* engine_name(EngineKind kind) {
  switch (kind) {
    case EngineKind::interp: return "interp";
    case EngineKind::jit: return "jit";
    case EngineKind::kernel: return "kernel";
    case EngineKind::native: return "native";
    case EngineKind::native_maps: return "native-maps";
  }
  return "?";
}

const std::vector<EngineKind>& all_engines() {
  static const std::vector<EngineKind> all = {EngineKind::interp, EngineKind::jit,
                                              EngineKind::kernel, EngineKind::native,
                                              EngineKind::native_maps};
  return all;
}

namespace {

std::string hex_u64(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Result<std::vector<std::pair<uint64_t, uint64_t>>> map_contents(maps::Map& map) {
  const maps::MapSpec& spec = map.spec();
  if (spec.key_size > 8 || spec.value_size > 8)
    return make_error(Errc::unsupported, "map " + spec.name + ": keys and values above 8 bytes");
  std::vector<std::pair<uint64_t, uint64_t>> entries;
  uint64_t key = 0, next = 0, value = 0;
  bool first = true;
  while (map.get_next_key(first ? nullptr : &key, &next) == 0) {
    first = false;
    key = next;
    value = 0;
    if (map.lookup_copy(&key, &value) == 0) entries.emplace_back(key, value);
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

std::string difference(const Outcome& want, const Outcome& got) {
  if (want.r0 != got.r0) return "r0 " + hex_u64(got.r0) + ", expected " + hex_u64(want.r0);
  if (want.frame_out.size() != got.frame_out.size())
    return "frame of " + std::to_string(got.frame_out.size()) + " bytes, expected " +
           std::to_string(want.frame_out.size());
  for (size_t i = 0; i < want.frame_out.size(); ++i) {
    if (want.frame_out[i] != got.frame_out[i])
      return "frame byte " + std::to_string(i) + " is " + hex_u64(got.frame_out[i]) +
             ", expected " + hex_u64(want.frame_out[i]);
  }
  for (size_t i = 0; i < want.map.size() || i < got.map.size(); ++i) {
    if (i >= got.map.size())
      return "map lacks key " + hex_u64(want.map[i].first) + " (and " +
             std::to_string(want.map.size() - i - 1) + " more)";
    if (i >= want.map.size()) return "map has extra key " + hex_u64(got.map[i].first);
    if (want.map[i] != got.map[i])
      return "map entry " + hex_u64(got.map[i].first) + " = " + hex_u64(got.map[i].second) +
             ", expected " + hex_u64(want.map[i].first) + " = " + hex_u64(want.map[i].second);
  }
  return "";
}

bool engine_available(EngineKind kind, std::string& why) {
  switch (kind) {
    case EngineKind::interp:
    case EngineKind::native:
    case EngineKind::native_maps: return true;
    case EngineKind::jit: return jit_available(why);
    case EngineKind::kernel: return kernel_available(why);
  }
  return false;
}

Result<std::unique_ptr<PreparedProgram>> prepare(EngineKind kind, const SuiteCase& c) {
  switch (kind) {
    case EngineKind::interp: return prepare_userbpf(c, false);
    case EngineKind::jit: return prepare_userbpf(c, true);
    case EngineKind::kernel: return prepare_kernel(c);
    case EngineKind::native: return prepare_native(c);
    case EngineKind::native_maps: return prepare_native_maps(c);
  }
  return make_error(Errc::invalid_argument, "unknown engine");
}

}  // namespace userbpf::bench::suite
