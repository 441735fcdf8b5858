#include "vm/run_state.hpp"

#include <fmt/format.h>

#include <cstring>
#include <limits>

#include "vm/execute.hpp"
#include "vm/memory_fault.hpp"
#include "vm/translate.hpp"

namespace userbpf::vm::detail {

RunState::RunState(const LoadedProgram& program_in, const RunOptions& options_in)
    : program(program_in),
      options(options_in),
      code(options_in.checked ? program_in.checked_code.data() : program_in.unchecked_code.data()),
      checked(options_in.checked),
      limit(options_in.checked && options_in.insn_budget != 0
                ? options_in.insn_budget
                : std::numeric_limits<uint64_t>::max()) {
  user = options_in.user;
  // A program nobody verified may read stack it never wrote; give it zeros, not host data.
  if (checked) std::memset(stack_, 0, sizeof(stack_));
}

void RunState::reset() {
  executed = 0;
  depth = 0;
  call_site = nullptr;
  failed = false;  // `error` is only read when failed, and the next failure overwrites it
  tail_target = nullptr;
  tail_user = nullptr;
  tail_ctx = 0;
  tail_calls = 0;
  added_.clear();
  // Zeros again, not the last run's data: every run of an unverified program sees what a fresh
  // one would. (Verified programs never read stack they did not write, as in Linux.)
  if (checked) std::memset(stack_, 0, sizeof(stack_));
}

void RunState::add_region(const Region& region) {
  added_.push_back(region);
}

bool RunState::region_ok(uint64_t addr, uint64_t n, bool write) const {
  for (const Region& r : added_)
    if (range_contains(r.start, r.size, addr, n) && (!write || r.writable)) return true;
  return false;
}

bool RunState::can_access(uint64_t addr, uint64_t size, bool write) const {
  return access_ok(addr, size, write, depth);
}

Result<uint64_t> RunState::call_function(uint64_t handle, uint64_t r1, uint64_t r2, uint64_t r3,
                                         uint64_t r4, uint64_t r5) {
  if (failed) return error;
  const uint64_t index = handle & ~kFunctionHandleMask;
  if ((handle & kFunctionHandleMask) != kFunctionHandleTag ||
      index >= program.function_entry.size() || !program.function_entry[index])
    return make_error(Errc::invalid_argument,
                      fmt::format("{:#x} is not a BPF function handle", handle));
  if (depth + 1 >= static_cast<uint32_t>(isa::kMaxCallDepth)) {
    fail(Errc::fault, call_site,
         fmt::format("callback call exceeds the limit of {} call frames", isa::kMaxCallDepth));
    return error;
  }
  const uint32_t caller_depth = depth;
  const Slot* caller_site = call_site;
  const uint64_t args[5] = {r1, r2, r3, r4, r5};
  const uint64_t r0 = checked ? execute<true>(*this, index, caller_depth + 1, args)
                              : execute<false>(*this, index, caller_depth + 1, args);
  depth = caller_depth;
  call_site = caller_site;
  if (failed) return error;
  return r0;
}

bool RunState::request_tail_call(const Interpreter& target, void* target_user, uint64_t ctx) {
  if (depth != 0) {
    fail(Errc::unsupported, call_site,
         "bpf_tail_call from a subprogram or callback is not supported by userbpf");
    return false;
  }
  if (tail_calls >= kMaxTailCalls) return false;
  ++tail_calls;
  tail_target = &target;
  tail_user = target_user;
  tail_ctx = ctx;
  return true;
}

void RunState::fail(Errc code_in, const Slot* pc, std::string message) {
  if (failed) return;
  failed = true;
  Location where;
  if (pc) where.insn = pc - code;
  error = make_error(code_in, std::move(message), where);
}

void RunState::fail_access(const Slot* pc, uint64_t addr, uint64_t n, bool write,
                           uint32_t frame_depth) {
  std::vector<Region> all;
  const uint64_t live = static_cast<uint64_t>(frame_depth + 1) * isa::kStackSize;
  all.push_back(Region{stack_top() - live, live, true, "stack"});
  all.insert(all.end(), options.regions.begin(), options.regions.end());
  all.insert(all.end(), added_.begin(), added_.end());
  fail(Errc::fault, pc, describe_bad_access(addr, n, write, all));
}

void RunState::fail_misaligned(const Slot* pc, uint64_t addr, uint64_t n) {
  fail(Errc::fault, pc, fmt::format("misaligned atomic access of {} bytes at {:#x}", n, addr));
}

}  // namespace userbpf::vm::detail
