#include "verifier/selftest_program.hpp"

#include <bpf/btf.h>

namespace userbpf::verifier_selftests {
namespace {

// Offset of a top-level member of struct type `name` (bpf_spin_lock, bpf_timer) in the value
// type, -1 when there is none.
int32_t member_offset(const ::btf* btf, uint32_t value_type_id, const char* name) {
  if (btf == nullptr || value_type_id == 0) return -1;
  const btf_type* t = btf__type_by_id(btf, value_type_id);
  while (t != nullptr && (btf_is_typedef(t) || btf_is_mod(t))) t = btf__type_by_id(btf, t->type);
  if (t == nullptr || !btf_is_struct(t)) return -1;
  const btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); ++i, ++m) {
    const btf_type* mt = btf__type_by_id(btf, m->type);
    while (mt != nullptr && (btf_is_typedef(mt) || btf_is_mod(mt))) {
      mt = btf__type_by_id(btf, mt->type);
    }
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

}  // namespace

verifier::Program verifier_program(const object::Object& obj, const object::Program& prog) {
  const ::btf* btf = obj.btf.get();
  verifier::Program p;
  p.insns = prog.insns;
  p.prog_type = prog.def.prog_type;
  p.expected_attach_type = prog.def.expected_attach_type;
  p.attach_target = prog.def.attach_target;
  p.gpl = obj.license.find("GPL") != std::string::npos;
  p.name = prog.name;
  for (const auto& def : obj.maps) p.maps.push_back(map_info(btf, def));
  for (size_t i = 0; i < obj.maps.size(); ++i) {
    if (obj.maps[i].inner) {
      p.maps[i].inner_map_index = static_cast<uint32_t>(p.maps.size());
      p.maps.push_back(map_info(btf, *obj.maps[i].inner));
    }
  }
  for (const auto& fi : prog.func_info) {
    std::string name;
    if (btf != nullptr) {
      if (const btf_type* t = btf__type_by_id(btf, fi.type_id)) {
        name = btf__name_by_offset(btf, t->name_off);
      }
    }
    p.funcs.push_back({fi.insn, name});
  }
  for (const auto& li : prog.line_info) {
    if (auto line = object::line_of(obj, prog, li.insn)) {
      p.lines.push_back({li.insn, line->file, line->line, line->column, line->text});
    }
  }
  return p;
}

}  // namespace userbpf::verifier_selftests
