#include "runtime/verify.hpp"

#include <bpf/btf.h>

#include <algorithm>

#include "runtime/kconfig.hpp"
#include "runtime/runtime_btf.hpp"
#include "userbpf/map.hpp"

namespace userbpf::runtime {
namespace {

const btf_type* skip_mods(const ::btf* btf, const btf_type* t) {
  while (t != nullptr && (btf_is_typedef(t) || btf_is_mod(t))) t = btf__type_by_id(btf, t->type);
  return t;
}

// Offset of a top-level member of struct type `name` (bpf_spin_lock, bpf_timer) in the value
// type, -1 when there is none.
int32_t member_offset(const ::btf* btf, uint32_t value_type_id, const char* name) {
  if (btf == nullptr || value_type_id == 0) return -1;
  const btf_type* t = skip_mods(btf, btf__type_by_id(btf, value_type_id));
  if (t == nullptr || !btf_is_struct(t)) return -1;
  const btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); ++i, ++m) {
    const btf_type* mt = skip_mods(btf, btf__type_by_id(btf, m->type));
    if (mt != nullptr && btf_is_struct(mt) &&
        std::string(btf__name_by_offset(btf, mt->name_off)) == name) {
      return static_cast<int32_t>(btf_member_bit_offset(t, i) / 8);
    }
  }
  return -1;
}

verifier::MapInfo map_info(const ::btf* btf, const object::MapDef& def) {
  verifier::MapInfo info;
  info.type = def.type;
  info.key_size = def.key_size;
  info.value_size = def.value_size;
  info.max_entries = def.max_entries;
  info.map_flags = def.map_flags;
  info.spin_lock_off = member_offset(btf, def.value_type_id, "bpf_spin_lock");
  info.timer_off = member_offset(btf, def.value_type_id, "bpf_timer");
  info.frozen = def.frozen;
  if (def.frozen) {
    info.frozen_contents = def.initial_data;
    info.frozen_contents.resize(def.value_size, 0);
  }
  info.name = def.name;
  return info;
}

// Whether the function's BTF return type is an integer of at most 8 bytes or an enum (Linux's
// btf_type_is_small_int || btf_is_any_enum after skipping modifiers and typedefs).
bool btf_returns_scalar(const ::btf* btf, const btf_type* func) {
  if (!btf_is_func(func)) return false;
  const btf_type* proto = btf__type_by_id(btf, func->type);
  if (proto == nullptr || !btf_is_func_proto(proto)) return false;
  const btf_type* ret = skip_mods(btf, btf__type_by_id(btf, proto->type));
  if (ret == nullptr) return false;
  return (btf_is_int(ret) && ret->size <= 8) || btf_is_any_enum(ret);
}

// The parameters of the function `func_id` (a BTF FUNC) as a global function's prototype gives
// them to the verifier: kinds, what pointers point to and the `arg:` decl tags on them.
std::vector<verifier::FuncArg> func_args(const ::btf* btf, uint32_t func_id) {
  std::vector<verifier::FuncArg> args;
  const btf_type* func = btf__type_by_id(btf, func_id);
  const btf_type* proto = func ? btf__type_by_id(btf, func->type) : nullptr;
  if (proto == nullptr || !btf_is_func_proto(proto)) return args;
  const btf_param* params = btf_params(proto);
  for (uint16_t i = 0; i < btf_vlen(proto); ++i) {
    verifier::FuncArg a;
    const btf_type* t = skip_mods(btf, btf__type_by_id(btf, params[i].type));
    if (t != nullptr && (btf_is_int(t) || btf_is_any_enum(t))) {
      a.kind = verifier::FuncArg::Kind::scalar;
    } else if (t != nullptr && btf_is_ptr(t)) {
      a.kind = verifier::FuncArg::Kind::pointer;
      const btf_type* p = btf__type_by_id(btf, t->type);
      while (p != nullptr && btf_is_mod(p)) p = btf__type_by_id(btf, p->type);
      if (p != nullptr && btf_is_typedef(p))
        a.pointee_typedef = btf__name_by_offset(btf, p->name_off);
      const btf_type* target = skip_mods(btf, p);
      if (target != nullptr && btf_is_struct(target))
        a.pointee_struct = btf__name_by_offset(btf, target->name_off);
      const __s64 size = t->type != 0 ? btf__resolve_size(btf, t->type) : -1;
      a.pointee_size = size > 0 && size <= UINT32_MAX ? static_cast<uint32_t>(size) : 0;
    }
    args.push_back(std::move(a));
  }
  // decl tags "arg:<tag>" on parameter i of this function
  const uint32_t n = btf__type_cnt(btf);
  for (uint32_t id = 1; id < n; ++id) {
    const btf_type* t = btf__type_by_id(btf, id);
    if (t == nullptr || !btf_is_decl_tag(t) || t->type != func_id) continue;
    const int idx = btf_decl_tag(t)->component_idx;
    const std::string tag = btf__name_by_offset(btf, t->name_off);
    if (idx >= 0 && static_cast<size_t>(idx) < args.size() && tag.rfind("arg:", 0) == 0)
      args[static_cast<size_t>(idx)].tags.push_back(tag.substr(4));
  }
  return args;
}

// One BTF type as a kfunc parameter or return value (modifiers and typedefs skipped).
verifier::KfuncParam kfunc_param(const ::btf* btf, uint32_t type_id, const char* name) {
  verifier::KfuncParam p;
  p.name = name != nullptr ? name : "";
  const btf_type* t = skip_mods(btf, btf__type_by_id(btf, type_id));
  if (t != nullptr && btf_is_ptr(t)) {
    p.pointer = true;
    t = skip_mods(btf, btf__type_by_id(btf, t->type));
  }
  if (t == nullptr || btf_kind(t) == BTF_KIND_UNKN) {
    p.type = "void";
    return p;
  }
  p.type = btf__name_by_offset(btf, t->name_off);
  if (btf_is_func_proto(t)) p.type = "func_proto";
  p.is_struct = btf_is_composite(t);
  if (btf_is_int(t) || btf_is_any_enum(t) || btf_is_composite(t)) p.size = t->size;
  return p;
}

// The kfunc calls of `prog` with the extern's name and declared prototype (libbpf resolves the
// same externs against vmlinux BTF; the verifier resolves them against its kfunc table).
std::vector<verifier::KfuncCall> kfunc_calls(const object::Object& obj,
                                             const object::Program& prog) {
  std::vector<verifier::KfuncCall> calls;
  const ::btf* btf = obj.btf.get();
  for (const object::ExternUse& use : prog.extern_uses) {
    if (use.extern_index >= obj.externs.size()) continue;
    const object::Extern& ext = obj.externs[use.extern_index];
    if (ext.kind != object::ExternKind::ksym_func) continue;
    verifier::KfuncCall call;
    call.insn = use.insn;
    call.name = ext.name;
    call.weak = ext.weak;
    const btf_type* func = btf != nullptr ? btf__type_by_id(btf, ext.btf_id) : nullptr;
    const btf_type* proto =
        func != nullptr && btf_is_func(func) ? btf__type_by_id(btf, func->type) : nullptr;
    if (proto != nullptr && btf_is_func_proto(proto)) {
      call.declared = true;
      call.ret = kfunc_param(btf, proto->type, "");
      const btf_param* params = btf_params(proto);
      for (uint16_t i = 0; i < btf_vlen(proto); ++i)
        call.params.push_back(
            kfunc_param(btf, params[i].type, btf__name_by_offset(btf, params[i].name_off)));
    }
    calls.push_back(std::move(call));
  }
  std::sort(calls.begin(), calls.end(),
            [](const auto& a, const auto& b) { return a.insn < b.insn; });
  return calls;
}

}  // namespace

Status prepare_for_runtime(object::Object& obj) {
  if (auto core = object::apply_core(obj, runtime_btf().get()); !core) return core.take_error();
  if (auto kconfig = object::resolve_kconfig(obj, kconfig_value); !kconfig) {
    return kconfig.take_error();
  }
  return ok_status();
}

bool gpl_compatible(const std::string& license) {
  for (const char* ok : {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
                         "Dual MIT/GPL", "Dual MPL/GPL"})
    if (license == ok) return true;
  return false;
}

verifier::Program verifier_program(const object::Object& obj, const object::Program& prog,
                                   uint32_t prog_type) {
  const ::btf* btf = obj.btf.get();
  verifier::Program p;
  p.insns = prog.insns;
  p.prog_type = prog_type != 0 ? prog_type : static_cast<uint32_t>(prog.def.prog_type);
  p.expected_attach_type = prog.def.expected_attach_type;
  p.attach_target = prog.def.attach_target;
  p.gpl = gpl_compatible(obj.license);
  p.name = prog.name;
  p.sleepable = prog.def.sleepable;
  p.kfunc_calls = kfunc_calls(obj, prog);
  for (const auto& def : obj.maps) p.maps.push_back(map_info(btf, def));
  for (size_t i = 0; i < obj.maps.size(); ++i) {
    if (obj.maps[i].inner) {
      p.maps[i].inner_map_index = static_cast<uint32_t>(p.maps.size());
      p.maps.push_back(map_info(btf, *obj.maps[i].inner));
    }
  }
  for (const auto& fi : prog.func_info) {
    verifier::FuncInfo info;
    info.insn = fi.insn;
    info.returns_scalar = false;
    if (btf != nullptr) {
      if (const btf_type* t = btf__type_by_id(btf, fi.type_id); t != nullptr && btf_is_func(t)) {
        info.name = btf__name_by_offset(btf, t->name_off);
        info.returns_scalar = btf_returns_scalar(btf, t);
        info.global = btf_vlen(t) == BTF_FUNC_GLOBAL &&
                      std::find(prog.hidden_subprograms.begin(), prog.hidden_subprograms.end(),
                                info.name) == prog.hidden_subprograms.end();
        if (info.global) info.args = func_args(btf, fi.type_id);
      }
    }
    p.funcs.push_back(std::move(info));
  }
  for (const auto& li : prog.line_info) {
    if (auto line = object::line_of(obj, prog, li.insn)) {
      p.lines.push_back({li.insn, line->file, line->line, line->column, line->text});
    }
  }
  return p;
}

Result<verifier::Verdict> verify_program(const object::Object& obj, const object::Program& prog,
                                         const verifier::Options& options, uint32_t prog_type) {
  verifier::Options with_cpus = options;
  // The CPU numbers bpf_get_smp_processor_id() returns are those the maps use.
  if (with_cpus.nr_cpu_ids == 0) with_cpus.nr_cpu_ids = maps::possible_cpus();
  auto verdict = verifier::verify(verifier_program(obj, prog, prog_type), with_cpus);
  if (!verdict) {
    Error e = verdict.take_error();
    e.message = "prog '" + prog.name + "': " + e.message;
    if (e.where.section.empty()) e.where.section = prog.section;
    return e;
  }
  return verdict;
}

std::string format_diagnosis(const verifier::Diagnosis& d, bool with_insn) {
  std::string out = d.message;
  if (with_insn) out += "\n  at insn " + std::to_string(d.insn);
  if (!d.source.empty()) out += "\n  source: " + d.source;
  if (!d.registers.empty()) out += "\n  registers: " + d.registers;
  if (!d.suggestion.empty()) out += "\n  suggestion: " + d.suggestion;
  return out;
}

Error rejection_error(const std::string& object_path, const object::Program& prog,
                      const verifier::Verdict& verdict) {
  Location where;
  where.file = object_path;
  where.section = prog.section;
  where.insn = verdict.diagnosis.insn;
  return make_error(Errc::verify,
                    "prog '" + prog.name + "': the verifier refused the program: " +
                        format_diagnosis(verdict.diagnosis, false),
                    where);
}

}  // namespace userbpf::runtime
