// Callbacks verified as functions (Linux's push_callback_call and the set_*_callback_state
// functions): a helper that takes a BPF function (bpf_loop, for_each_map_elem, find_vma,
// user_ringbuf_drain, timer_set_callback) starts a path that enters the callback in a new frame
// with the arguments the helper gives it, while the caller continues after the call. An iterating
// callback's exit goes back to the call instruction, which calls it again with the caller's state
// as the callback left it, until that state is covered by an earlier visit of the call (explore.cpp
// prunes there, as Linux does); an asynchronous callback (timers) ends its path at exit.
#include "verifier/env.hpp"

namespace userbpf::verifier {

bool calls_callback(uint32_t func_id) {
  switch (func_id) {
    case BPF_FUNC_loop:
    case BPF_FUNC_for_each_map_elem:
    case BPF_FUNC_find_vma:
    case BPF_FUNC_user_ringbuf_drain:
    case BPF_FUNC_timer_set_callback: return true;
    default: return false;
  }
}

bool Env::push_callback_call(const VerifierState& st, uint32_t func_id) {
  const auto& caller = st.cur().regs;
  int fn_regno = -1;
  for (int r = 1; r <= 5; ++r)
    if (caller[r].type == RegType::ptr_to_func) fn_regno = r;
  if (fn_regno < 0) return reject("callback of func#{} is not a BPF function", func_id);
  if (st.frames.size() >= static_cast<size_t>(isa::kMaxCallDepth))
    return reject("the call stack of {} frames is too deep !", st.frames.size() + 1);

  VerifierState cb = st;
  FuncFrame callee;
  callee.callsite = cur_insn();
  callee.subprog_start = caller[fn_regno].func_insn;
  callee.frameno = static_cast<uint32_t>(st.frames.size());
  callee.callback = FuncFrame::Callback::iterating;
  callee.callback_ret_min = 0;
  callee.callback_ret_max = 1;
  auto& regs = callee.regs;
  auto map_args = [&](uint32_t map_index) {
    regs[1] = pointer_to(RegType::const_ptr_to_map);
    regs[1].map_index = map_index;
    regs[2] = pointer_to(RegType::ptr_to_map_key);
    regs[2].map_index = map_index;
    regs[3] = pointer_to(RegType::ptr_to_map_value);
    regs[3].map_index = map_index;
  };
  switch (func_id) {
    case BPF_FUNC_loop:  // callback(u32 index, void *ctx)
      regs[1] = scalar_unknown();
      regs[2] = caller[3];
      break;
    case BPF_FUNC_for_each_map_elem:  // callback(map, key, value, ctx)
      map_args(caller[1].map_index);
      regs[4] = caller[3];
      break;
    case BPF_FUNC_find_vma:  // callback(task, vma, ctx)
      regs[1] = caller[1];
      regs[2] = pointer_to(RegType::ptr_to_btf_id);
      regs[2].btf_name = "vm_area_struct";
      regs[3] = caller[4];
      break;
    case BPF_FUNC_user_ringbuf_drain:  // callback(dynptr, ctx); dynptrs are not modelled
      regs[1] = scalar_unknown();
      regs[2] = caller[3];
      break;
    case BPF_FUNC_timer_set_callback:  // callback(map, key, value), run later on its own
      map_args(caller[1].map_index);
      callee.callback = FuncFrame::Callback::async;
      callee.callback_ret_max = 0;
      break;
    default: return reject("func#{} does not call a callback", func_id);
  }
  regs[isa::kFramePointer] = pointer_to(RegType::ptr_to_stack);
  regs[isa::kFramePointer].frameno = callee.frameno;
  const uint32_t entry = callee.subprog_start;
  cb.frames.push_back(std::move(callee));
  ++cb.callback_unroll_depth;
  return push_branch(cb, entry);
}

bool Env::callback_exit(VerifierState& st, bool& path_done) {
  FuncFrame& callee = st.cur();
  const RegState& r0 = callee.regs[0];
  if (r0.type != RegType::scalar) return reject("R0 not a scalar value");
  mark_precise(st, 0);  // the verdict depends on its range
  if (r0.smin < callee.callback_ret_min || r0.smax > callee.callback_ret_max) {
    std::string has;
    if (r0.smin > INT64_MIN) has += fmt::format(" smin={}", r0.smin);
    if (r0.smax < INT64_MAX) has += fmt::format(" smax={}", r0.smax);
    if (has.empty()) has = " unknown scalar value";
    return reject("At {}callback return the register R0 has{} should have been in [{}, {}]",
                  callee.callback == FuncFrame::Callback::async ? "async " : "", has,
                  callee.callback_ret_min, callee.callback_ret_max);
  }
  max_stack_depth_ = std::max(max_stack_depth_, callee.stack_depth);
  const bool async = callee.callback == FuncFrame::Callback::async;
  const uint32_t callsite = callee.callsite;
  st.frames.pop_back();
  if (async) {
    path_done = true;
    return true;
  }
  st.insn = callsite;  // call again: iteration ends where the caller's state converges
  return true;
}

}  // namespace userbpf::verifier
