#include "vm/native_run.hpp"

#include <fmt/format.h>

#include <span>

#include "isa/opcodes.hpp"
#include "vm/packet_read.hpp"
#include "vm/translate.hpp"

namespace userbpf::vm {

void native_fault(NativeState* state, uint32_t reason) {
  auto* run = static_cast<detail::NativeRun*>(state->context);
  switch (static_cast<NativeFault>(reason)) {
    case NativeFault::fell_off:
      run->fail(Errc::fault, "fell off the end of the program: the last instruction is not exit");
      break;
    case NativeFault::core_poisoned:
      run->fail(Errc::fault,
                "CO-RE relocation failed: the field or type this instruction uses does not exist "
                "in the runtime's BTF");
      break;
    case NativeFault::call_depth:
      run->fail(Errc::fault,
                fmt::format("call exceeds the limit of {} call frames", isa::kMaxCallDepth));
      break;
  }
}

NativePacketRead native_packet_load(NativeState* state, uint64_t offset, uint64_t size) {
  NativePacketRead out{0, 0};
  const std::span<const uint8_t> packet(state->packet, state->packet_size);
  if (detail::packet_read(packet, static_cast<int32_t>(offset), static_cast<unsigned>(size),
                          &out.value))
    out.ok = 1;
  return out;
}

uint32_t native_claim_writer(NativeState* state, base::WriterToken* token) {
  const auto self = static_cast<uint32_t>(state->writer_id);
  if (token->holder.load(std::memory_order_relaxed) == self) {
    base::let_go(*token);  // held, and a writer waits for exactly this
    return 0;
  }
  if (!base::try_claim(*token, self)) return 0;
  ++state->claims;
  return 1;
}

namespace detail {

NativeRun::NativeRun(const NativeCode& code, const RunOptions& options) : code_(code) {
  reset(options);
}

void NativeRun::add_region(const Region&) {}

bool NativeRun::can_access(uint64_t, uint64_t, bool) const {
  return true;
}

uint32_t NativeRun::helper_depth() const {
  return base_depth_ +
         static_cast<uint32_t>((state.entry_rsp - state.call_rsp) / kNativeFrameBytes) - 1;
}

Result<uint64_t> NativeRun::call_function(uint64_t handle, uint64_t r1, uint64_t r2, uint64_t r3,
                                          uint64_t r4, uint64_t r5) {
  if (failed) return error;
  const uint64_t index = handle & ~kFunctionHandleMask;
  if ((handle & kFunctionHandleMask) != kFunctionHandleTag || index >= code_.functions.size() ||
      code_.functions[index] == nullptr)
    return make_error(Errc::invalid_argument,
                      fmt::format("{:#x} is not a BPF function handle", handle));
  const uint32_t depth = helper_depth();
  if (depth + 1 >= static_cast<uint32_t>(isa::kMaxCallDepth)) {
    fail(Errc::fault,
         fmt::format("callback call exceeds the limit of {} call frames", isa::kMaxCallDepth));
    return error;
  }
  // The callback's own helper calls overwrite the call site; the caller's comes back after.
  const uint32_t site = state.call_site;
  const uint64_t site_rsp = state.call_rsp;
  const uint64_t args[5] = {r1, r2, r3, r4, r5};
  const uint64_t r0 = enter(code_.functions[index], args, depth + 1);
  state.call_site = site;
  state.call_rsp = site_rsp;
  if (failed) return error;
  return r0;
}

bool NativeRun::request_tail_call(const Interpreter& target, void* target_user, uint64_t ctx) {
  if (helper_depth() != 0) {
    fail(Errc::unsupported,
         "bpf_tail_call from a subprogram or callback is not supported by userbpf");
    return false;
  }
  if (tail_calls >= kMaxTailCalls) return false;
  ++tail_calls;
  tail_target = &target;
  tail_user = target_user;
  tail_ctx = ctx;
  state.stop = 1;
  return true;
}

void NativeRun::fail(Errc code, std::string message) {
  state.stop = 1;
  if (failed) return;
  failed = true;
  Location where;
  where.insn = state.call_site;
  error = make_error(code, std::move(message), where);
}

}  // namespace detail
}  // namespace userbpf::vm
