#include "isa/helper_ids.hpp"

#include <linux/bpf.h>

#include <array>
#include <string_view>

namespace userbpf::isa {
namespace {

// Generated from the installed <linux/bpf.h>: __BPF_FUNC_MAPPER lists every helper in id order,
// starting at 0 (unspec) and separated by commas, so a position in this array is an id.
#define USERBPF_HELPER_NAME(name) #name
constexpr const char* kHeaderHelpers[] = {__BPF_FUNC_MAPPER(USERBPF_HELPER_NAME)};
#undef USERBPF_HELPER_NAME
constexpr uint32_t kHeaderCount = sizeof(kHeaderHelpers) / sizeof(kHeaderHelpers[0]);
static_assert(kHeaderCount == __BPF_FUNC_MAX_ID, "__BPF_FUNC_MAPPER must be dense from id 0");
static_assert(kHeaderCount <= kHelperIdLimit, "the installed header is newer than this table");

struct NamedId {
  uint32_t id;
  const char* name;
};

// Helpers newer than the installed header (Debian's linux-libc-dev 6.1 stops at
// user_ringbuf_drain = 209). Linux 6.2 added the two cgroup-storage helpers; the helper list is
// frozen since then (new kernel functions are kfuncs), so Linux 6.12 ends at 211. Entries whose
// id the header already covers are ignored, so a newer header simply wins.
constexpr NamedId kNewerHelpers[] = {
    {210, "cgrp_storage_get"},
    {211, "cgrp_storage_delete"},
};

constexpr std::array<const char*, kHelperIdLimit> build_table() {
  std::array<const char*, kHelperIdLimit> table{};
  for (uint32_t id = 0; id < kHeaderCount; ++id) table[id] = kHeaderHelpers[id];
  for (const NamedId& extra : kNewerHelpers)
    if (extra.id >= kHeaderCount) table[extra.id] = extra.name;
  return table;
}

constexpr std::array<const char*, kHelperIdLimit> kHelperNames = build_table();

}  // namespace

const char* helper_name(uint32_t id) {
  return id < kHelperIdLimit ? kHelperNames[id] : nullptr;
}

std::optional<uint32_t> helper_id(std::string_view name) {
  for (uint32_t id = 0; id < kHelperIdLimit; ++id)
    if (kHelperNames[id] && name == kHelperNames[id]) return id;
  return std::nullopt;
}

}  // namespace userbpf::isa
