#include "verifier/callback.hpp"

#include <linux/bpf.h>

#include <string>

#include "isa/helper_ids.hpp"
#include "isa/helper_prototypes.hpp"

namespace userbpf::verifier {

CallbackEntry enter_callback(Env& env, VerifierState& st, uint32_t id,
                             const std::array<RegState, 11>& args) {
  const isa::HelperPrototype* proto = isa::helper_prototype(id);
  if (!proto) return CallbackEntry::none;
  int func_arg = -1;
  for (int i = 0; i < 5; ++i)
    if (proto->args[i].type == isa::ArgType::ptr_to_func) func_arg = i + 1;
  if (func_arg < 0) return CallbackEntry::none;
  const RegState& func = args[func_arg];
  if (func.type != RegType::ptr_to_func) {
    env.reject("R{} is not a function", func_arg);
    return CallbackEntry::failed;
  }
  if (st.frames.size() >= static_cast<size_t>(isa::kMaxCallDepth)) {
    env.reject("the call stack of {} frames is too deep !", st.frames.size() + 1);
    return CallbackEntry::failed;
  }
  FuncFrame callee;
  callee.callsite = env.cur_insn();
  callee.subprog_start = func.func_insn;
  callee.frameno = static_cast<uint32_t>(st.frames.size());
  switch (id) {
    case BPF_FUNC_loop:  // callback(u32 index, void *ctx)
      callee.regs[1] = scalar_unknown();
      callee.regs[2] = args[3];
      break;
    case BPF_FUNC_for_each_map_elem: {  // callback(map, key, value, ctx)
      callee.regs[1] = args[1];
      callee.regs[2] = pointer_to(RegType::ptr_to_map_key);
      callee.regs[2].map_index = args[1].map_index;
      callee.regs[3] = pointer_to(RegType::ptr_to_map_value);
      callee.regs[3].map_index = args[1].map_index;
      callee.regs[4] = args[3];
      break;
    }
    default:
      // Never accept a callback nobody looked at.
      env.reject("callbacks of {}#{} are not verified by userbpf yet", isa::helper_name(id), id);
      return CallbackEntry::failed;
  }
  callee.regs[isa::kFramePointer] = pointer_to(RegType::ptr_to_stack);
  callee.regs[isa::kFramePointer].frameno = callee.frameno;
  st.frames.push_back(std::move(callee));
  st.insn = func.func_insn;
  return CallbackEntry::entered;
}

bool callback_return_ok(Env& env, const RegState& r0) {
  if (r0.type != RegType::scalar) return env.reject("R0 not a scalar value");
  if (r0.smin >= 0 && r0.smax <= 1) return true;
  std::string bounds;
  if (r0.smin > INT64_MIN) bounds += " smin=" + std::to_string(r0.smin);
  if (r0.smax < INT64_MAX) bounds += " smax=" + std::to_string(r0.smax);
  return env.reject("At callback return the register R0 has{} should have been in [0, 1]", bounds);
}

}  // namespace userbpf::verifier
