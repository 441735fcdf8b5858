// Names of the Linux BPF helper functions, by the id a BPF_CALL carries in imm.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace userbpf::isa {

// Highest helper id known to userbpf plus one (Linux 6.12's __BPF_FUNC_MAX_ID).
inline constexpr uint32_t kHelperIdLimit = 212;

// The Linux name of helper `id` without the `bpf_` prefix ("map_lookup_elem" for 1, "unspec" for
// 0), or nullptr when no helper has that id.
const char* helper_name(uint32_t id);

// The id of the helper called `name` (without `bpf_` prefix), or nullopt.
std::optional<uint32_t> helper_id(std::string_view name);

}  // namespace userbpf::isa
