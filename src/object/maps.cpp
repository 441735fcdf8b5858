// Map definitions of an object, in libbpf's order: legacy `maps` section, BTF-defined maps in
// `.maps`, internal maps for global data sections, then the `.kconfig` map.
#include <bpf/libbpf.h>
#include <elf.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "object/loader.hpp"

namespace userbpf::object {
namespace {

constexpr size_t kObjNameLen = 16;  // BPF_OBJ_NAME_LEN, including the terminating NUL
constexpr size_t kPtrSize = 8;      // BPF pointers
// Pinning values of bpf_helpers.h (a BPF-side header): none, or by name under the pin root.
constexpr uint32_t kPinNone = 0;
constexpr uint32_t kPinByName = 1;

bool is_map_in_map(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

// libbpf's internal map naming: as much of the object name as fits in front of the section name
// (which gets at least 7 characters), no prefix for "custom" sections like ".rodata.str1.1".
std::string internal_map_name(const std::string& obj_name, const std::string& real_name) {
  size_t sfx_len = std::max<size_t>(7, real_name.size());
  if (sfx_len >= kObjNameLen) sfx_len = kObjNameLen - 1;
  size_t pfx_len = 0;
  if (real_name.find('.', 1) == std::string::npos)
    pfx_len = std::min(kObjNameLen - sfx_len - 1, obj_name.size());
  std::string name = obj_name.substr(0, pfx_len) + real_name.substr(0, sfx_len);
  if (name.size() > kObjNameLen - 1) name.resize(kObjNameLen - 1);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') c = '_';
  return name;
}

// A map attribute written as `int (*name)[N]` (__uint/__type macros) or, for 64-bit values,
// `enum { x = N } *name` (__ulong): returns N.
std::optional<uint64_t> map_attr_value(const ::btf* btf, const btf_member& m) {
  const btf_type* t = skip_mods_and_typedefs(btf, m.type, nullptr);
  if (!t || !btf_is_ptr(t)) return std::nullopt;
  const btf_type* target = btf__type_by_id(btf, t->type);
  if (!target) return std::nullopt;
  if (btf_is_array(target)) return btf_array(target)->nelems;
  if (btf_is_enum(target) && btf_vlen(target) == 1)
    return static_cast<uint32_t>(btf_enum(target)->val);
  if (btf_is_enum64(target) && btf_vlen(target) == 1) return btf_enum64_value(btf_enum64(target));
  return std::nullopt;
}

struct ParsedDef {
  MapDef def;
  bool has_values = false;
  uint32_t values_offset = 0;  // byte offset of `values` inside the definition struct
};

// Parses one BTF map definition struct (libbpf's parse_btf_map_def), strict like libbpf's default.
Result<ParsedDef> parse_map_def(Loader& ld, const std::string& map_name, const btf_type* def,
                                bool is_inner) {
  const ::btf* btf = ld.btf;
  ParsedDef out;
  MapDef& md = out.def;
  md.name = map_name;
  auto fail = [&](const std::string& msg) {
    return ld.fail(Errc::decode, ".maps", "map '" + map_name + "': " + msg);
  };
  const btf_member* members = btf_members(def);
  const uint16_t vlen = btf_vlen(def);
  for (uint16_t i = 0; i < vlen; ++i) {
    const btf_member& m = members[i];
    const std::string name = btf_name(btf, m.name_off);
    if (name.empty()) return fail("member " + std::to_string(i) + " has no name");
    auto attr = [&]() -> Result<uint64_t> {
      auto v = map_attr_value(btf, m);
      if (!v) return fail("attr '" + name + "': expected a pointer to an array (__uint)");
      return *v;
    };
    if (name == "type" || name == "max_entries" || name == "map_flags" || name == "numa_node" ||
        name == "map_extra" || name == "pinning" || name == "key_size" || name == "value_size") {
      auto v = attr();
      if (!v) return v.take_error();
      const uint64_t value = *v;
      if (name != "map_extra" && value > UINT32_MAX) return fail("attr '" + name + "' too large");
      const uint32_t v32 = static_cast<uint32_t>(value);
      if (name == "type")
        md.type = v32;
      else if (name == "max_entries")
        md.max_entries = v32;
      else if (name == "map_flags")
        md.map_flags = v32;
      else if (name == "numa_node")
        md.numa_node = v32;
      else if (name == "map_extra")
        md.map_extra = value;
      else if (name == "pinning") {
        if (v32 != kPinNone && v32 != kPinByName)
          return fail("invalid pinning value " + std::to_string(v32));
        if (is_inner && v32 != kPinNone) return fail("inner maps cannot be pinned");
        md.pinning = v32;
      } else if (name == "key_size") {
        if (md.key_size && md.key_size != v32)
          return fail("conflicting key size " + std::to_string(md.key_size) +
                      " != " + std::to_string(v32));
        md.key_size = v32;
      } else {
        if (md.value_size && md.value_size != v32)
          return fail("conflicting value size " + std::to_string(md.value_size) +
                      " != " + std::to_string(v32));
        md.value_size = v32;
      }
    } else if (name == "key" || name == "value") {
      const btf_type* t = btf__type_by_id(btf, m.type);
      if (!t || !btf_is_ptr(t)) return fail(name + " spec is not a pointer");
      const int64_t size = btf__resolve_size(btf, t->type);
      if (size < 0 || size > UINT32_MAX) return fail("can't determine " + name + " size");
      const uint32_t sz = static_cast<uint32_t>(size);
      uint32_t& field = name == "key" ? md.key_size : md.value_size;
      if (field && field != sz)
        return fail("conflicting " + name + " size " + std::to_string(field) +
                    " != " + std::to_string(sz));
      field = sz;
      (name == "key" ? md.key_type_id : md.value_type_id) = t->type;
    } else if (name == "values") {
      const bool mim = is_map_in_map(md.type);
      const bool prog_array = md.type == BPF_MAP_TYPE_PROG_ARRAY;
      if (is_inner) return fail("multi-level inner maps are not supported");
      if (i != vlen - 1) return fail("'values' must be the last member");
      if (!mim && !prog_array)
        return fail("'values' needs a map-in-map or prog-array type, not type " +
                    std::to_string(md.type));
      if (md.value_size && md.value_size != 4)
        return fail("conflicting value size " + std::to_string(md.value_size) + " != 4");
      md.value_size = 4;
      const btf_type* t = btf__type_by_id(btf, m.type);
      if (!t || !btf_is_array(t) || btf_array(t)->nelems != 0)
        return fail("'values' is not a zero-sized array");
      t = skip_mods_and_typedefs(btf, btf_array(t)->type, nullptr);
      if (!t || !btf_is_ptr(t)) return fail("'values' must be an array of pointers");
      t = skip_mods_and_typedefs(btf, t->type, nullptr);
      out.has_values = true;
      out.values_offset = btf_member_bit_offset(def, i) / 8;
      if (prog_array) {
        if (!t || !btf_is_func_proto(t)) return fail("prog-array 'values' must point to functions");
        continue;
      }
      if (!t || !btf_is_struct(t)) return fail("map-in-map inner definition is not a struct");
      auto inner = parse_map_def(ld, map_name + ".inner", t, true);
      if (!inner) return inner.take_error();
      md.inner = std::make_shared<MapDef>(std::move(inner->def));
    } else {
      return fail("unknown field '" + name + "'");
    }
  }
  if (md.type == BPF_MAP_TYPE_UNSPEC) return fail("map type is missing");
  if (is_map_in_map(md.type) && !md.inner && !is_inner)
    ld.warn("map '" + map_name + "': map-in-map without an inner map definition");
  return out;
}

bool section_is_data(const ElfSection& s) {
  if (s.type == SHT_PROGBITS && !(s.flags & SHF_EXECINSTR) && s.size > 0)
    return s.name == ".data" || s.name.starts_with(".data.") || s.name == ".rodata" ||
           s.name.starts_with(".rodata.");
  return s.type == SHT_NOBITS && (s.name == ".bss" || s.name.starts_with(".bss."));
}

}  // namespace

Status init_legacy_maps(Loader& ld) {
  if (!ld.legacy_maps_section) return ok_status();
  const ElfSection& sec = ld.elf.sections[ld.legacy_maps_section];
  ld.warn("legacy map definitions in 'maps' section are deprecated; use BTF-defined maps in .maps");
  std::vector<const ElfSymbol*> syms;
  for (const ElfSymbol& sym : ld.elf.symbols)
    if (sym.shndx == sec.index && sym.type != STT_SECTION && !sym.name.empty())
      syms.push_back(&sym);
  if (syms.empty()) return ok_status();
  // libbpf deduces the definition size from the section size and the number of map symbols.
  if (sec.data.empty() || sec.data.size() % syms.size() != 0)
    return ld.fail(Errc::decode, sec.name,
                   "unable to determine map definition size: section size " +
                       std::to_string(sec.data.size()) + " for " + std::to_string(syms.size()) +
                       " maps");
  const size_t def_size = sec.data.size() / syms.size();
  constexpr size_t kKnown = 5 * sizeof(uint32_t);  // type, key, value, max_entries, flags
  if (def_size < 4 * sizeof(uint32_t))
    return ld.fail(Errc::decode, sec.name,
                   "map definition size " + std::to_string(def_size) + " is too small");
  for (const ElfSymbol* sym : syms) {
    if (sym->value > sec.data.size() || sec.data.size() - sym->value < def_size)
      return ld.fail(Errc::decode, sec.name,
                     "map '" + sym->name + "' definition at offset " + std::to_string(sym->value) +
                         " lies outside the section");
    uint32_t fields[5] = {};
    std::memcpy(fields, sec.data.data() + sym->value, std::min(def_size, kKnown));
    for (size_t b = kKnown; b < def_size; ++b)
      if (sec.data[sym->value + b] != 0)
        return ld.fail(
            Errc::unsupported, sec.name,
            "map '" + sym->name + "' has unrecognized non-zero bytes past struct " + "bpf_map_def");
    MapDef md;
    md.name = sym->name;
    md.section = sec.name;
    md.origin = MapOrigin::legacy;
    md.type = fields[0];
    md.key_size = fields[1];
    md.value_size = fields[2];
    md.max_entries = fields[3];
    md.map_flags = fields[4];
    md.section_offset = sym->value;
    if (md.type == BPF_MAP_TYPE_UNSPEC)
      return ld.fail(Errc::decode, sec.name, "map '" + md.name + "': map type is missing");
    ld.obj.maps.push_back(std::move(md));
  }
  return ok_status();
}

Status init_btf_maps(Loader& ld) {
  if (!ld.maps_section) return ok_status();
  const ElfSection& sec = ld.elf.sections[ld.maps_section];
  if (!ld.btf) return ld.fail(Errc::decode, ".maps", "BTF is required for .maps but is missing");
  const int32_t sec_id = btf__find_by_name_kind(ld.btf, ".maps", BTF_KIND_DATASEC);
  if (sec_id < 0) return ld.fail(Errc::decode, ".maps", "DATASEC '.maps' not found in BTF");
  const btf_type* datasec = btf__type_by_id(ld.btf, sec_id);
  const btf_var_secinfo* vars = btf_var_secinfos(datasec);
  for (uint16_t i = 0; i < btf_vlen(datasec); ++i) {
    const btf_var_secinfo& vi = vars[i];
    const btf_type* var = btf__type_by_id(ld.btf, vi.type);
    if (!var || !btf_is_var(var))
      return ld.fail(Errc::decode, ".maps", "entry " + std::to_string(i) + " is not a VAR");
    const std::string name = btf_name(ld.btf, var->name_off);
    const uint32_t linkage = btf_var(var)->linkage;
    if (linkage != BTF_VAR_GLOBAL_ALLOCATED && linkage != BTF_VAR_STATIC)
      return ld.fail(Errc::decode, ".maps", "map '" + name + "': unsupported map linkage");
    if (static_cast<uint64_t>(vi.offset) + vi.size > sec.size)
      return ld.fail(Errc::decode, ".maps",
                     "map '" + name + "': BTF places it at [" + std::to_string(vi.offset) + ", +" +
                         std::to_string(vi.size) + ") outside the " + std::to_string(sec.size) +
                         "-byte section");
    const btf_type* def = skip_mods_and_typedefs(ld.btf, var->type, nullptr);
    if (!def || !btf_is_struct(def))
      return ld.fail(Errc::decode, ".maps", "map '" + name + "': definition is not a struct");
    if (def->size > vi.size)
      return ld.fail(Errc::decode, ".maps", "map '" + name + "': invalid definition size");
    auto parsed = parse_map_def(ld, name, def, false);
    if (!parsed) return parsed.take_error();
    MapDef md = std::move(parsed->def);
    md.section = ".maps";
    md.origin = MapOrigin::btf_defined;
    md.section_offset = vi.offset;
    ld.btf_map_vars.push_back({ld.obj.maps.size(), vi.offset, vi.size, def});
    ld.obj.maps.push_back(std::move(md));
  }
  return ok_status();
}

Status init_data_maps(Loader& ld) {
  for (const ElfSection& sec : ld.elf.sections) {
    if (!section_is_data(sec)) continue;
    MapDef md;
    md.name = internal_map_name(ld.obj.name, sec.name);
    md.section = sec.name;
    md.origin = sec.type == SHT_NOBITS            ? MapOrigin::bss
                : sec.name.starts_with(".rodata") ? MapOrigin::rodata
                                                  : MapOrigin::data;
    md.type = BPF_MAP_TYPE_ARRAY;
    md.key_size = 4;
    // Linux's array maps take values up to INT_MAX bytes (array_map_alloc_check: E2BIG).
    if (sec.size > static_cast<uint64_t>(INT32_MAX))
      return ld.fail(Errc::invalid_argument, sec.name,
                     "data section of " + std::to_string(sec.size) +
                         " bytes cannot be a global data map (E2BIG: at most 2147483647)");
    md.value_size = static_cast<uint32_t>(sec.size);
    md.max_entries = 1;
    if (md.origin == MapOrigin::rodata) {
      md.map_flags |= BPF_F_RDONLY_PROG;
      md.frozen = true;
    }
    // .bss has no bytes in the file: its map starts zeroed, and initial_data stays empty until
    // set_global() writes a variable (a corrupt size must not make open() allocate gigabytes).
    if (sec.type != SHT_NOBITS) md.initial_data = sec.data;
    const size_t map_index = ld.obj.maps.size();
    if (ld.btf) {
      const int32_t id = btf__find_by_name_kind(ld.btf, sec.name.c_str(), BTF_KIND_DATASEC);
      if (id > 0) {
        md.value_type_id = static_cast<uint32_t>(id);
        const btf_type* ds = btf__type_by_id(ld.btf, id);
        bool mmapable = false;
        for (uint16_t i = 0; i < btf_vlen(ds); ++i) {
          const btf_var_secinfo& vi = btf_var_secinfos(ds)[i];
          const btf_type* var = btf__type_by_id(ld.btf, vi.type);
          if (!var || !btf_is_var(var)) continue;
          if (btf_var(var)->linkage != BTF_VAR_STATIC) mmapable = true;
          if (static_cast<uint64_t>(vi.offset) + vi.size > sec.size)
            return ld.fail(
                Errc::decode, sec.name,
                "variable '" + btf_name(ld.btf, var->name_off) + "' lies outside the section");
          ld.obj.variables.push_back(
              {btf_name(ld.btf, var->name_off), map_index, vi.offset, vi.size, var->type});
        }
        // Like libbpf: only sections with a global variable are exposed by mmap.
        if (mmapable) md.map_flags |= BPF_F_MMAPABLE;
      }
    }
    ld.data_maps[sec.index] = map_index;
    ld.obj.maps.push_back(std::move(md));
  }
  return ok_status();
}

Status collect_externs(Loader& ld) {
  std::vector<Extern> found;
  std::vector<size_t> symbol_of;
  for (const ElfSymbol& sym : ld.elf.symbols) {
    if (sym.index == 0 || sym.shndx != SHN_UNDEF || sym.name.empty()) continue;
    if (sym.bind != STB_GLOBAL && sym.bind != STB_WEAK) continue;
    if (!ld.btf)
      return ld.fail(Errc::decode, "", "extern '" + sym.name + "' needs BTF, but there is none");
    // The VAR or FUNC of that name, and the DATASEC (.kconfig or .ksyms) that holds it.
    int32_t id = -1;
    const uint32_t n = btf__type_cnt(ld.btf);
    for (uint32_t i = 1; i < n && id < 0; ++i) {
      const btf_type* t = btf__type_by_id(ld.btf, i);
      if ((btf_is_var(t) || btf_is_func(t)) && btf_name(ld.btf, t->name_off) == sym.name)
        id = static_cast<int32_t>(i);
    }
    if (id < 0)
      return ld.fail(Errc::not_found, "", "failed to find BTF for extern '" + sym.name + "'");
    std::string sec_name;
    for (uint32_t i = 1; i < n && sec_name.empty(); ++i) {
      const btf_type* t = btf__type_by_id(ld.btf, i);
      if (!btf_is_datasec(t)) continue;
      for (uint16_t j = 0; j < btf_vlen(t); ++j)
        if (btf_var_secinfos(t)[j].type == static_cast<uint32_t>(id))
          sec_name = btf_name(ld.btf, t->name_off);
    }
    Extern ext;
    ext.name = sym.name;
    ext.weak = sym.bind == STB_WEAK;
    ext.btf_id = static_cast<uint32_t>(id);
    const btf_type* t = btf__type_by_id(ld.btf, id);
    if (sec_name == ".kconfig") {
      if (!btf_is_var(t))
        return ld.fail(Errc::decode, ".kconfig", "extern '" + sym.name + "' is not a variable");
      const int64_t size = btf__resolve_size(ld.btf, t->type);
      if (size <= 0)
        return ld.fail(Errc::decode, ".kconfig", "extern '" + sym.name + "' has no size");
      // Kconfig values are integers, bools, tristates and strings: a larger extern can only come
      // from corrupt BTF, and its size would become the .kconfig map's allocation.
      constexpr int64_t kMaxKconfigExtern = 4096;
      if (size > kMaxKconfigExtern) {
        return ld.fail(Errc::decode, ".kconfig",
                       "extern '" + sym.name + "' has " + std::to_string(size) +
                           " bytes, more than a kconfig value can have (" +
                           std::to_string(kMaxKconfigExtern) + ")");
      }
      ext.kind = ExternKind::kconfig;
      ext.size = static_cast<uint32_t>(size);
    } else if (sec_name == ".ksyms") {
      ext.kind = btf_is_func(t) ? ExternKind::ksym_func : ExternKind::ksym_var;
    } else {
      return ld.fail(Errc::unsupported, sec_name,
                     "extern '" + sym.name + "' is in unrecognized section '" + sec_name + "'");
    }
    found.push_back(std::move(ext));
    symbol_of.push_back(sym.index);
  }
  // libbpf's order: kconfig externs first (larger alignment first, then smaller size, then
  // name), then ksyms by name. Kconfig offsets follow that order.
  std::vector<size_t> order(found.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto align_of = [&](const Extern& e) {
    return e.kind == ExternKind::kconfig
               ? btf__align_of(ld.btf, btf__type_by_id(ld.btf, e.btf_id)->type)
               : 0;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Extern& x = found[a];
    const Extern& y = found[b];
    const bool xk = x.kind == ExternKind::kconfig, yk = y.kind == ExternKind::kconfig;
    if (xk != yk) return xk;
    if (xk) {
      if (align_of(x) != align_of(y)) return align_of(x) > align_of(y);
      if (x.size != y.size) return x.size < y.size;
    }
    return x.name < y.name;
  });
  uint32_t off = 0;
  for (size_t i : order) {
    Extern& e = found[i];
    if (e.kind == ExternKind::kconfig) {
      const int align = std::max(1, align_of(e));
      off = (off + align - 1) / align * align;
      e.kconfig_offset = off;
      off += e.size;
    }
    ld.extern_by_symbol[symbol_of[i]] = ld.obj.externs.size();
    ld.obj.externs.push_back(std::move(e));
  }
  return ok_status();
}

Status init_kconfig_map(Loader& ld) {
  uint32_t size = 0;
  for (const Extern& e : ld.obj.externs)
    if (e.kind == ExternKind::kconfig) size = std::max(size, e.kconfig_offset + e.size);
  if (size == 0) return ok_status();
  MapDef md;
  md.name = internal_map_name(ld.obj.name, ".kconfig");
  md.section = ".kconfig";
  md.origin = MapOrigin::kconfig;
  md.type = BPF_MAP_TYPE_ARRAY;
  md.key_size = 4;
  md.value_size = size;
  md.max_entries = 1;
  md.map_flags = BPF_F_RDONLY_PROG | BPF_F_MMAPABLE;
  md.frozen = true;
  md.initial_data.assign(size, 0);
  if (ld.btf) {
    const int32_t id = btf__find_by_name_kind(ld.btf, ".kconfig", BTF_KIND_DATASEC);
    if (id > 0) md.value_type_id = static_cast<uint32_t>(id);
  }
  ld.kconfig_map = ld.obj.maps.size();
  ld.obj.maps.push_back(std::move(md));
  return ok_status();
}

// `.values = { [2] = &prog }` initializers of prog arrays and maps-in-maps arrive as relocations
// against .maps (libbpf's bpf_object__collect_map_relos).
Status collect_map_relos(Loader& ld) {
  for (const ElfSection& rel_sec : ld.elf.sections) {
    if (rel_sec.type != SHT_REL || rel_sec.info != ld.maps_section || !ld.maps_section) continue;
    auto rels = ld.elf.rels(rel_sec);
    if (!rels) return rels.take_error();
    for (const ElfRel& rel : *rels) {
      if (rel.symbol >= ld.elf.symbols.size())
        return ld.fail(Errc::decode, rel_sec.name,
                       "relocation against unknown symbol #" + std::to_string(rel.symbol));
      const ElfSymbol& sym = ld.elf.symbols[rel.symbol];
      const Loader::BtfMapVar* owner = nullptr;
      for (const auto& v : ld.btf_map_vars)
        if (v.offset <= rel.offset && rel.offset + kPtrSize <= uint64_t{v.offset} + v.size)
          owner = &v;
      if (!owner)
        return ld.fail(
            Errc::decode, ".maps",
            "no map value at offset " + std::to_string(rel.offset) + " for '" + sym.name + "'");
      MapDef& md = ld.obj.maps[owner->map];
      const uint16_t n = btf_vlen(owner->def);
      if (n == 0 || btf_name(ld.btf, btf_members(owner->def)[n - 1].name_off) != "values")
        return ld.fail(Errc::decode, ".maps", "map '" + md.name + "' has no 'values' member");
      const uint64_t values_off = btf_member_bit_offset(owner->def, n - 1) / 8;
      const uint64_t in_def = rel.offset - owner->offset;
      if (in_def < values_off || (in_def - values_off) % kPtrSize != 0)
        return ld.fail(Errc::decode, ".maps",
                       "map '" + md.name + "': misplaced initial value for '" + sym.name + "'");
      const uint32_t slot = static_cast<uint32_t>((in_def - values_off) / kPtrSize);
      if (is_map_in_map(md.type)) {
        if (sym.shndx != ld.maps_section || !ld.obj.find_map(sym.name))
          return ld.fail(Errc::not_found, ".maps",
                         "map '" + md.name + "': inner map '" + sym.name + "' not found");
      } else if (md.type == BPF_MAP_TYPE_PROG_ARRAY) {
        const Program* prog = ld.obj.find_program(sym.name);
        if (!prog)
          return ld.fail(Errc::not_found, ".maps",
                         "map '" + md.name + "': program '" + sym.name +
                             "' not found or not an entry program");
      } else {
        return ld.fail(Errc::decode, ".maps",
                       "map '" + md.name + "': initial values need a prog array or map-in-map");
      }
      if (slot >= md.max_entries)
        return ld.fail(Errc::decode, ".maps",
                       "map '" + md.name + "': initial slot " + std::to_string(slot) +
                           " is beyond max_entries " + std::to_string(md.max_entries));
      md.initial_slots.push_back({slot, sym.name});
    }
  }
  for (MapDef& md : ld.obj.maps)
    std::sort(md.initial_slots.begin(), md.initial_slots.end(),
              [](const InitialSlot& a, const InitialSlot& b) { return a.index < b.index; });
  return ok_status();
}

}  // namespace userbpf::object
