// Kernel function calls (Linux's check_kfunc_call and check_kfunc_args): the call is looked up
// by the name the loader recorded in userbpf's kfunc table (kfunc_table.hpp), must be available
// to the program type and, if sleepable, to a sleepable program; each argument is checked by the
// kernel prototype's parameter (scalars, __k constants, __ign, __sz memory pairs, trusted and
// RCU kernel objects, the program's context, iterators on the stack), references are acquired
// and released through references.cpp, RCU read sections and preemption nesting are tracked,
// and r0 is typed by the return type.
#include <algorithm>
#include <optional>

#include "verifier/env.hpp"
#include "verifier/kfunc_table.hpp"

namespace userbpf::verifier {
namespace {

constexpr uint32_t kMaxVarSize = 1u << 29;  // BPF_MAX_VAR_SIZ

bool has_suffix(std::string_view name, std::string_view suffix) {
  return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
}

// Linux's reg2btf_ids: register types that stand for a kernel struct.
std::string_view reg_btf_struct(const RegState& r) {
  switch (r.type) {
    case RegType::ptr_to_btf_id: return r.btf_name;
    case RegType::ptr_to_sock_common: return "sock_common";
    case RegType::ptr_to_socket: return "sock";
    case RegType::ptr_to_tcp_sock: return "tcp_sock";
    case RegType::const_ptr_to_map: return "bpf_map";
    default: return {};
  }
}

bool is_reg2btf(const RegState& r) {
  return r.type == RegType::ptr_to_sock_common || r.type == RegType::ptr_to_socket ||
         r.type == RegType::ptr_to_tcp_sock || r.type == RegType::const_ptr_to_map;
}

// is_trusted_reg (userbpf tracks no MEM_RCU, MEM_ALLOC or NON_OWN_REF pointers yet).
bool is_trusted(const RegState& r) {
  if (r.ref_obj_id) return true;
  if (is_reg2btf(r)) return !r.untrusted;
  return r.type == RegType::ptr_to_btf_id && r.trusted && !r.untrusted;
}

bool is_null_const(const RegState& r) {
  return r.type == RegType::scalar && r.is_const() && r.const_value() == 0;
}

// btf_type_str of what a parameter points to.
std::string btf_kind_str(const KfuncParam& p) {
  if (p.type == "void") return "UNKN";
  if (p.is_struct) return "STRUCT";
  if (p.type == "func_proto") return "FUNC_PROTO";
  return "INT";
}

// libbpf's check that the program's extern declaration fits the kernel's prototype.
bool declaration_compatible(const KfuncCall& call, const KfuncProto& proto) {
  if (!call.declared) return true;
  if (call.params.size() != proto.params.size()) return false;
  if (call.ret.pointer != proto.ret.pointer) return false;
  for (size_t i = 0; i < proto.params.size(); ++i)
    if (call.params[i].pointer != proto.params[i].pointer) return false;
  return true;
}

}  // namespace

// check_mem_reg: the memory must be readable and writable (a pointer that may be NULL is checked
// as if it were not; the kfunc handles NULL).
bool Env::check_kfunc_mem(VerifierState& st, int regno, int64_t size, bool zero_ok) {
  RegState& reg = st.regs()[regno];
  const RegState saved = reg;
  reg.maybe_null = false;
  const bool ok = check_helper_mem(st, regno, size, Access::read, false, zero_ok) &&
                  check_helper_mem(st, regno, size, Access::write, false, zero_ok);
  st.regs()[regno] = saved;
  return ok;
}

const KfuncCall* Env::kfunc_call_at(uint32_t insn) const {
  const auto& calls = program().kfunc_calls;
  const auto it = std::lower_bound(calls.begin(), calls.end(), insn,
                                   [](const KfuncCall& c, uint32_t i) { return c.insn < i; });
  return it != calls.end() && it->insn == insn ? &*it : nullptr;
}

bool Env::is_iter_next_call(uint32_t insn) const {
  const KfuncCall* call = kfunc_call_at(insn);
  if (!call) return false;
  const KfuncDef* def = find_kfunc(call->name);
  return def && (def->flags & kf::kIterNext);
}

bool Env::check_kfunc_call(VerifierState& st, const isa::Insn& insn) {
  if (!privileged())
    return reject("calling kernel functions are not allowed in unprivileged programs");
  const KfuncCall* call = kfunc_call_at(cur_insn());
  if (!call) return reject("kernel btf_id {} is not a function", insn.imm);
  const std::string& name = call->name;
  const KfuncDef* def = find_kfunc(name);
  if (!def) return reject("userbpf: kernel function {} is not in userbpf's kfunc table", name);
  if (!declaration_compatible(*call, def->proto))
    return reject("extern (func ksym) '{}': func_proto incompatible with the kernel's '{}'", name,
                  def->declaration);
  if (!kfunc_allowed(*def, program().prog_type))
    return reject("calling kernel function {} is not allowed", name);
  const uint32_t flags = def->flags;
  const bool sleepable = flags & kf::kSleepable;
  if (sleepable && !program().sleepable)
    return reject("program must be sleepable to call sleepable kfunc {}", name);
  if (st.lock.held()) return reject("function calls are not allowed while holding a lock");

  // ---- check_kfunc_args
  const bool release = flags & kf::kRelease;
  const bool trusted_args = (flags & kf::kTrustedArgs) || release;  // is_kfunc_trusted_args
  const bool rcu = flags & kf::kRcu;
  const bool is_iter_kfunc = flags & (kf::kIterNew | kf::kIterNext | kf::kIterDestroy);
  auto& regs = st.regs();
  const auto& params = def->proto.params;
  uint32_t meta_ref_obj_id = 0;
  int release_regno = 0;
  std::optional<uint64_t> arg_constant;
  uint32_t iter_frame = 0;
  size_t iter_spi = 0;
  bool have_iter = false;
  std::string_view ret_btf_name;
  for (size_t i = 0; i < params.size(); ++i) {
    const KfuncParam& p = params[i];
    const int regno = static_cast<int>(i) + 1;
    const RegState reg = regs[regno];
    if (has_suffix(p.name, "__ign")) continue;
    if (!p.pointer) {
      if (reg.type != RegType::scalar) return reject("R{} is not a scalar", regno);
      if (has_suffix(p.name, "__k")) {
        if (!reg.is_const()) return reject("R{} must be a known constant", regno);
        arg_constant = reg.const_value();
      }
      continue;
    }
    const bool nullable = has_suffix(p.name, "__nullable");
    if ((trusted_args || rcu) && (is_null_const(reg) || reg.maybe_null) && !nullable)
      return reject("Possibly NULL pointer passed to trusted arg{}", i);
    if (reg.ref_obj_id) {
      if (release && meta_ref_obj_id)
        return reject("verifier internal error: more than one arg with ref_obj_id R{} {} {}", regno,
                      reg.ref_obj_id, meta_ref_obj_id);
      meta_ref_obj_id = reg.ref_obj_id;
      if (release) release_regno = regno;
    }

    // get_kfunc_ptr_arg_type
    enum class Kind { ctx, null, iter, btf_id, callback, mem, mem_size, unsupported };
    Kind kind;
    const std::string_view ctx_struct = user_ctx_struct(program().prog_type);
    const bool next_is_size =
        i + 1 < params.size() && !params[i + 1].pointer &&
        (has_suffix(params[i + 1].name, "__sz") || has_suffix(params[i + 1].name, "__szk"));
    if (name == "bpf_cast_to_kern_ctx" ||
        (p.is_struct && !ctx_struct.empty() && p.type == ctx_struct)) {
      kind = Kind::ctx;
    } else if (nullable && is_null_const(reg)) {
      kind = Kind::null;
    } else if (p.type == "bpf_dynptr" || p.type == "bpf_list_head" || p.type == "bpf_list_node" ||
               p.type == "bpf_rb_root" || p.type == "bpf_rb_node" || p.type == "bpf_wq" ||
               has_suffix(p.name, "__str") || has_suffix(p.name, "__map") ||
               has_suffix(p.name, "__alloc") || has_suffix(p.name, "__refcounted_kptr")) {
      kind = Kind::unsupported;
    } else if ((is_iter_kfunc && i == 0) || has_suffix(p.name, "__iter")) {
      kind = Kind::iter;
    } else if (reg.type == RegType::ptr_to_btf_id || is_reg2btf(reg)) {
      if (!p.is_struct)
        return reject("kernel function {} args#{} pointer type {} {} is not supported", name, i,
                      btf_kind_str(p), p.type == "void" ? "" : p.type);
      kind = Kind::btf_id;
    } else if (p.type == "func_proto") {
      kind = Kind::callback;
    } else {
      kind = next_is_size ? Kind::mem_size : Kind::mem;
      const bool scalar_pointee = !p.is_struct && p.type != "void" && p.size != 0;
      if (!scalar_pointee && !(next_is_size && p.type == "void"))
        return reject("arg#{} pointer type {} {} must point to {}scalar, or struct with scalar", i,
                      btf_kind_str(p), p.type == "void" ? "" : p.type,
                      next_is_size ? "void, " : "");
    }
    if (kind == Kind::null) continue;
    if (kind == Kind::unsupported)
      return reject("userbpf: argument {} ({}) of kernel function {} is not verified yet", i,
                    p.type, name);
    if (kind == Kind::btf_id && (trusted_args || rcu) && !is_trusted(reg)) {
      if (!rcu) return reject("R{} must be referenced or trusted", regno);
      return reject("R{} must be a rcu pointer", regno);
    }
    // check_func_arg_reg_off
    if (kind == Kind::btf_id || kind == Kind::ctx) {
      if (release && reg.ref_obj_id && reg.off != 0)
        return reject(
            "R{} must have zero offset when passed to release func or trusted arg to "
            "kfunc",
            regno);
      if (!reg.is_const() || reg.const_value() != 0)
        return reject("variable {} access var_off={} disallowed", reg_type_name(reg),
                      to_string(reg.var_off));
      if (reg.off < 0)
        return reject("negative offset {} ptr R{} off={} disallowed", reg_type_name(reg), regno,
                      reg.off);
    }
    switch (kind) {
      case Kind::ctx:
        if (reg.type != RegType::ptr_to_ctx)
          return reject("arg#{} expected pointer to ctx, but got {}", i, reg_type_name(reg));
        if (reg.off != 0)
          return reject("dereference of modified ctx ptr R{} off={} disallowed", regno, reg.off);
        if (name == "bpf_cast_to_kern_ctx") {
          ret_btf_name = kernel_ctx_struct(program().prog_type);
          if (ret_btf_name.empty()) return reject("kern ctx type id 0 is not a struct");
        }
        break;
      case Kind::iter:
        if (!process_iter_arg(st, regno, *def, meta_ref_obj_id, iter_frame, iter_spi)) return false;
        have_iter = (flags & kf::kIterNext) != 0;
        break;
      case Kind::btf_id: {
        if (reg.type == RegType::ptr_to_btf_id && reg.untrusted) {
          RegState plain = reg;
          plain.untrusted = false;
          return reject("arg#{} is {} expected {} or socket", i, reg_type_name(reg),
                        reg_type_name(plain));
        }
        const std::string_view have = reg_btf_struct(reg);
        const bool strict = release && reg.ref_obj_id;
        if (!kernel_struct_matches(have, p.type, strict) || (strict && reg.off != 0))
          return reject(
              "kernel function {} args#{} expected pointer to STRUCT {} but R{} has a pointer to "
              "STRUCT {}",
              name, i, p.type, regno, have);
        break;
      }
      case Kind::callback:
        if (reg.type != RegType::ptr_to_func) return reject("arg{} expected pointer to func", i);
        return reject("userbpf: callbacks of kernel function {} are not verified yet", name);
      case Kind::mem: {
        if (is_null_const(reg)) break;  // check_mem_reg lets NULL through
        if (!check_kfunc_mem(st, regno, p.size, false)) return false;
        break;
      }
      case Kind::mem_size: {
        const RegState size = regs[regno + 1];
        const bool optional = has_suffix(p.name, "__opt");
        if (!is_null_const(reg) || !optional) {
          if (size.type != RegType::scalar) return reject("R{} is not a scalar", regno + 1);
          if (size.smin < 0)
            return reject("R{} min value is negative, either use unsigned or 'var &= const'",
                          regno + 1);
          if (size.umax >= kMaxVarSize)
            return reject("R{} unbounded memory access, use 'var &= const' or 'if (var < const)'",
                          regno + 1);
          if (!check_kfunc_mem(st, regno, static_cast<int64_t>(size.umax), size.umax == 0))
            return false;
        }
        if (has_suffix(params[i + 1].name, "__szk")) {
          if (!size.is_const()) return reject("R{} must be a known constant", regno + 1);
          arg_constant = size.const_value();
        }
        ++i;  // the size argument is checked with its memory
        break;
      }
      case Kind::null:
      case Kind::unsupported: break;
    }
  }
  if (release && !release_regno)
    return reject("release kernel function {} expects refcounted PTR_TO_BTF_ID", name);

  // ---- RCU read sections and preemption (check_kfunc_call)
  const bool rcu_lock = name == "bpf_rcu_read_lock";
  const bool rcu_unlock = name == "bpf_rcu_read_unlock";
  const bool preempt_disable = name == "bpf_preempt_disable";
  const bool preempt_enable = name == "bpf_preempt_enable";
  if (st.active_rcu_lock) {
    if (rcu_lock) return reject("nested rcu read lock (kernel function {})", name);
    if (rcu_unlock) {
      st.active_rcu_lock = false;  // MEM_RCU pointers would turn untrusted: none are tracked
    } else if (sleepable) {
      return reject("kernel func {} is sleepable within rcu_read_lock region", name);
    }
  } else if (rcu_lock) {
    st.active_rcu_lock = true;
  } else if (rcu_unlock) {
    return reject("unmatched rcu read unlock (kernel function {})", name);
  }
  if (st.active_preempt_lock) {
    if (preempt_disable) {
      ++st.active_preempt_lock;
    } else if (preempt_enable) {
      --st.active_preempt_lock;
    } else if (sleepable) {
      return reject("kernel func {} is sleepable within non-preemptible region", name);
    }
  } else if (preempt_disable) {
    ++st.active_preempt_lock;
  } else if (preempt_enable) {
    return reject("unmatched attempt to enable preemption (kernel function {})", name);
  }

  if (release_regno && !release_reference(st, regs[release_regno].ref_obj_id))
    return reject("kfunc {}#{} reference has not been acquired before", name, insn.imm);

  // Scalar arguments may have been checked by value (constants, sizes): states must match them
  // to prune (precision.cpp).
  for (size_t i = 0; i < params.size(); ++i) mark_precise(st, static_cast<int>(i) + 1);
  for (int r = 0; r <= 5; ++r) regs[r] = RegState{};

  // ---- the return value
  const KfuncParam& ret = def->proto.ret;
  const bool acquire = flags & kf::kAcquire;
  if (acquire && !(ret.pointer && ret.is_struct))
    return reject("acquire kernel function does not return PTR_TO_BTF_ID");
  RegState& r0 = regs[0];
  if (!ret.pointer) {
    if (ret.type != "void") mark_unknown(r0);
    return true;
  }
  if (name == "bpf_cast_to_kern_ctx") {
    r0 = pointer_to(RegType::ptr_to_btf_id);
    r0.trusted = true;
    r0.btf_name = ret_btf_name;
  } else if (name == "bpf_rdonly_cast") {
    // The kernel type named by the constant is not looked up (userbpf's verifier reads no
    // vmlinux BTF): an untrusted pointer of unnamed type cannot be dereferenced directly.
    if (!arg_constant) return reject("verifier internal error: bpf_rdonly_cast without a type");
    r0 = pointer_to(RegType::ptr_to_btf_id);
    r0.untrusted = true;
  } else if (ret.type == "void") {
    mark_unknown(r0);  // 'void *' is a scalar
  } else if (!ret.is_struct) {
    if (ret.size == 0)
      return reject("kernel function {} returns pointer type {} {} is not supported", name,
                    btf_kind_str(ret), ret.type);
    r0 = pointer_to(RegType::ptr_to_mem);
    r0.mem_size = ret.size;
    r0.rdonly = true;
    r0.ref_obj_id = meta_ref_obj_id;  // no access after the object is released
  } else {
    r0 = pointer_to(RegType::ptr_to_btf_id);
    r0.btf_name = ret.type;
    if (flags & kf::kIterNext) r0.trusted = true;
  }
  if (flags & kf::kRetNull) {
    r0.maybe_null = true;
    r0.id = new_id();
  }
  if (acquire) {
    const uint32_t id = acquire_reference(st);
    if (flags & kf::kRetNull) r0.id = id;
    r0.ref_obj_id = id;
  }
  if (have_iter) return process_iter_next(st, iter_frame, iter_spi);
  return true;
}

}  // namespace userbpf::verifier
