// bpf_tail_call (12): jumps to the program in slot `index` of a prog_array, keeping the stack
// frame and ctx; the interpreter does the jump once this helper returns. Like Linux, every
// failure (index out of range, empty slot, an id this process cannot resolve, the 33-call chain
// limit) falls through to the next instruction. r0 after a fall-through is -ENOENT here; Linux
// leaves it undefined and the verifier forbids reading it.
#include <linux/bpf.h>

#include <cerrno>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "userbpf/map.hpp"
#include "userbpf/prog_array.hpp"

namespace userbpf::helpers {
namespace {

constexpr uint64_t kFellThrough = static_cast<uint64_t>(-static_cast<int64_t>(ENOENT));

uint64_t tail_call(uint64_t ctx, uint64_t m, uint64_t index, uint64_t, uint64_t,
                   vm::CallContext& call) {
  ProgramEnv* env = env_of(call);
  if (env == nullptr || !env->resolve_program) return kFellThrough;
  if (env->checked && !env->knows_map(m)) return kFellThrough;
  const auto* map = reinterpret_cast<const maps::Map*>(m);
  if (map == nullptr || map->spec().type != BPF_MAP_TYPE_PROG_ARRAY) return kFellThrough;
  // Linux compares the index as u32 against max_entries.
  const uint32_t id = maps::prog_array_slot(*map, static_cast<uint32_t>(index));
  if (id == 0) return kFellThrough;
  const TailCallTarget target = env->resolve_program(id);
  if (target.program == nullptr) return kFellThrough;
  if (!call.request_tail_call(*target.program, target.user, ctx)) return kFellThrough;
  return 0;
}

}  // namespace

void register_tail_call_helper(vm::HelperTable& t) {
  t.set(BPF_FUNC_tail_call, {"tail_call", tail_call});
}

}  // namespace userbpf::helpers
