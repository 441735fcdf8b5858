// Calls of global functions (BTF_FUNC_GLOBAL linkage). Linux verifies such a function once, from
// its BTF prototype (btf_prepare_func_args: int and enum parameters are unknown scalars, a pointer
// to the program's context struct is the context, any other pointer is memory of the pointee's
// size that may be NULL unless tagged __arg_nonnull), and at each call only checks that the
// arguments fit the prototype (btf_check_subprog_call); the caller gets an unknown scalar back.
// userbpf explores the function at each call, but from the prototype's argument states rather
// than the caller's registers, and returns an unknown scalar: the verdicts are Linux's. A
// prototype userbpf does not translate (void *, arena, trusted or dynptr arguments) keeps the
// function verified with its caller's arguments.
#include <optional>

#include "verifier/env.hpp"
#include "verifier/kfunc_table.hpp"

namespace userbpf::verifier {
namespace {

struct GlobalArg {
  enum class Kind : uint8_t { scalar, ctx, mem };
  Kind kind = Kind::scalar;
  uint32_t size = 0;
  bool nullable = true;
};

bool is_ctx_pointer(const FuncArg& a, uint32_t prog_type) {
  if (prog_type == BPF_PROG_TYPE_KPROBE)
    return a.pointee_typedef == "bpf_user_pt_regs_t" || a.pointee_struct == "pt_regs";
  const std::string_view ctx = user_ctx_struct(prog_type);
  return !ctx.empty() && a.pointee_struct == ctx;
}

std::optional<std::vector<GlobalArg>> translate(const FuncInfo& fn, uint32_t prog_type) {
  if (!fn.global || !fn.returns_scalar || fn.args.size() > 5) return std::nullopt;
  std::vector<GlobalArg> out;
  for (const FuncArg& a : fn.args) {
    GlobalArg g;
    if (a.kind == FuncArg::Kind::scalar && a.tags.empty()) {
      g.kind = GlobalArg::Kind::scalar;
    } else if (a.kind == FuncArg::Kind::pointer &&
               ((a.tags.size() == 1 && a.tags[0] == "ctx") ||
                (a.tags.empty() && is_ctx_pointer(a, prog_type)))) {
      g.kind = GlobalArg::Kind::ctx;
    } else if (a.kind == FuncArg::Kind::pointer && a.pointee_size > 0 &&
               (a.tags.empty() || (a.tags.size() == 1 && a.tags[0] == "nonnull"))) {
      g.kind = GlobalArg::Kind::mem;
      g.size = a.pointee_size;
      g.nullable = a.tags.empty();
    } else {
      return std::nullopt;
    }
    out.push_back(g);
  }
  return out;
}

}  // namespace

bool Env::global_call_args(VerifierState& st, const isa::Insn& insn,
                           std::optional<std::array<RegState, 5>>& args_out) {
  args_out.reset();
  const auto& funcs = program().funcs;
  size_t index = 0;
  while (index < funcs.size() && funcs[index].insn != static_cast<uint32_t>(insn.target)) ++index;
  if (index == funcs.size()) return true;
  const FuncInfo& fn = funcs[index];
  const auto args = translate(fn, program().prog_type);
  if (!args) return true;
  log_line(fmt::format("Func#{} ('{}') is global and assumed valid.", index, fn.name));
  auto invalid = [&](const std::string& why) {
    log_line(why);
    return reject("Caller passes invalid args into func#{} ('{}')", index, fn.name);
  };
  for (size_t i = 0; i < args->size(); ++i) {
    const int regno = static_cast<int>(i) + 1;
    if (!check_reg_read(st, regno)) return false;
    const RegState reg = st.regs()[regno];
    const GlobalArg& a = (*args)[i];
    switch (a.kind) {
      case GlobalArg::Kind::scalar:
        if (reg.type != RegType::scalar) return invalid(fmt::format("R{} is not a scalar", regno));
        break;
      case GlobalArg::Kind::ctx:
        if (reg.type != RegType::ptr_to_ctx)
          return invalid(fmt::format("arg#{} expects pointer to ctx", i));
        break;
      case GlobalArg::Kind::mem: {
        if (reg.type == RegType::scalar && reg.is_const() && reg.const_value() == 0) {
          if (!a.nullable) return invalid(fmt::format("arg#{} is expected to be non-NULL", i));
          break;
        }
        // The function may read and write the whole pointee (Linux's check_mem_reg).
        st.regs()[regno].maybe_null = false;
        const bool ok = check_helper_mem(st, regno, a.size, Access::read, false, true) &&
                        check_helper_mem(st, regno, a.size, Access::write, false, true);
        st.regs()[regno] = reg;
        if (!ok) return false;
        if (!a.nullable && reg.maybe_null)
          return invalid(fmt::format("arg#{} is expected to be non-NULL", i));
        break;
      }
    }
  }
  args_out.emplace();  // r1..r5 as the prototype gives them; unused ones stay uninitialized
  for (size_t i = 0; i < args->size(); ++i) {
    RegState& r = (*args_out)[i];
    switch ((*args)[i].kind) {
      case GlobalArg::Kind::scalar: r = scalar_unknown(); break;
      case GlobalArg::Kind::ctx: r = pointer_to(RegType::ptr_to_ctx); break;
      case GlobalArg::Kind::mem:
        r = pointer_to(RegType::ptr_to_mem);
        r.mem_size = (*args)[i].size;
        r.maybe_null = (*args)[i].nullable;
        if (r.maybe_null) r.id = new_id();
        break;
    }
  }
  return true;
}

}  // namespace userbpf::verifier
