// object::open(): reads the ELF, classifies its sections like libbpf's bpf_object__elf_collect,
// parses BTF with libbpf, then runs the loader steps (externs, maps, programs, relocations).
#include "object/object.hpp"

#include <bpf/btf.h>
#include <elf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "object/loader.hpp"

namespace userbpf::object {

const btf_type* skip_mods_and_typedefs(const ::btf* btf, uint32_t id, uint32_t* res_id) {
  const btf_type* t = btf__type_by_id(btf, id);
  // Bounded walk: a corrupt BTF could contain a modifier cycle.
  for (int guard = 0; t && guard < 64; ++guard) {
    if (!btf_is_mod(t) && !btf_is_typedef(t)) break;
    id = t->type;
    t = btf__type_by_id(btf, id);
  }
  if (t && (btf_is_mod(t) || btf_is_typedef(t))) return nullptr;
  if (res_id) *res_id = id;
  return t;
}

std::string btf_name(const ::btf* btf, uint32_t name_off) {
  if (!btf) return {};
  const char* s = btf__name_by_offset(btf, name_off);
  return s ? s : "";
}

const Program* Object::find_program(std::string_view wanted) const {
  for (const Program& p : programs)
    if (p.name == wanted) return &p;
  return nullptr;
}

Program* Object::find_program(std::string_view wanted) {
  for (Program& p : programs)
    if (p.name == wanted) return &p;
  return nullptr;
}

std::optional<size_t> Object::find_map(std::string_view wanted) const {
  for (size_t i = 0; i < maps.size(); ++i) {
    const MapDef& m = maps[i];
    const bool internal = m.origin != MapOrigin::btf_defined && m.origin != MapOrigin::legacy;
    // Like bpf_object__find_map_by_name: ".rodata" names an internal map by its section.
    if (wanted.starts_with(".") ? internal && m.section == wanted : m.name == wanted) return i;
  }
  return std::nullopt;
}

const Variable* Object::find_variable(std::string_view wanted) const {
  for (const Variable& v : variables)
    if (v.name == wanted) return &v;
  return nullptr;
}

namespace {

std::string object_name(const std::string& path) {
  std::string name =
      path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  if (auto dot = name.find('.'); dot != std::string::npos) name.resize(dot);
  return name;
}

Status collect_sections(Loader& ld, std::vector<uint8_t>& btf_bytes,
                        std::vector<uint8_t>& ext_bytes) {
  bool have_btf = false;
  for (const ElfSection& sec : ld.elf.sections) {
    if (sec.index == 0) continue;
    const std::string& name = sec.name;
    if (name == "license") {
      // Up to the first NUL; an empty section (no data pointer at all) is an empty license.
      const auto nul = std::find(sec.data.begin(), sec.data.end(), uint8_t{0});
      ld.obj.license.assign(sec.data.begin(), nul);
    } else if (name == "version") {
      if (sec.data.size() != sizeof(uint32_t))
        return ld.fail(Errc::decode, name,
                       "invalid kernel version section size " + std::to_string(sec.data.size()));
      std::memcpy(&ld.obj.kern_version, sec.data.data(), sizeof(uint32_t));
    } else if (name == "maps") {
      ld.legacy_maps_section = sec.index;
    } else if (name == ".maps") {
      ld.maps_section = sec.index;
    } else if (name == ".BTF") {
      btf_bytes = sec.data;
      have_btf = true;
    } else if (name == ".BTF.ext") {
      ext_bytes = sec.data;
    } else if (sec.type == SHT_PROGBITS && (sec.flags & SHF_EXECINSTR) && sec.size > 0) {
      if (name == ".text") ld.text_section = sec.index;
    } else if (name.starts_with(".struct_ops")) {
      ld.warn("sec '" + name + "': struct_ops maps are not supported yet, skipped");
    } else if (sec.type != SHT_NULL && sec.type != SHT_STRTAB && sec.type != SHT_SYMTAB &&
               sec.type != SHT_REL && sec.size > 0 && !(sec.flags & SHF_EXECINSTR) &&
               !(name == ".data" || name.starts_with(".data.") || name == ".rodata" ||
                 name.starts_with(".rodata.")) &&
               !(sec.type == SHT_NOBITS && (name == ".bss" || name.starts_with(".bss."))) &&
               !name.starts_with(".debug") && !name.starts_with(".llvm")) {
      ld.warn("skipping unrecognized data section(" + std::to_string(sec.index) + ") " + name);
    }
  }
  (void)have_btf;
  return ok_status();
}

// clang leaves DATASEC sizes and variable offsets at zero; the ELF section and symbols have the
// real ones (libbpf's btf_fixup_datasec). The DATASECs of externs (.kconfig, .ksyms) have no
// section and are laid out by collect_externs instead.
Status fixup_datasecs(Loader& ld, ::btf* btf) {
  const uint32_t n = btf__type_cnt(btf);
  for (uint32_t id = 1; id < n; ++id) {
    // libbpf's own fixup edits the parsed BTF in place too; btf__new() owns a private copy.
    auto* t = const_cast<btf_type*>(btf__type_by_id(btf, id));
    if (!btf_is_datasec(t)) continue;
    const std::string name = btf_name(btf, t->name_off);
    if (name == ".kconfig" || name == ".ksyms") continue;
    const ElfSection* sec = nullptr;
    for (const ElfSection& s : ld.elf.sections)
      if (s.index != 0 && s.name == name) sec = &s;
    if (!sec) return ld.fail(Errc::decode, ".BTF", "DATASEC '" + name + "' has no ELF section");
    if (t->size == 0) t->size = static_cast<uint32_t>(sec->size);
    btf_var_secinfo* vars = btf_var_secinfos(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      const btf_type* var = btf__type_by_id(btf, vars[i].type);
      if (!var || !btf_is_var(var))
        return ld.fail(Errc::decode, ".BTF",
                       "DATASEC '" + name + "' entry " + std::to_string(i) + " is not a VAR");
      const std::string var_name = btf_name(btf, var->name_off);
      const ElfSymbol* sym = nullptr;
      for (const ElfSymbol& s : ld.elf.symbols)
        if (s.shndx == sec->index && s.type == STT_OBJECT && s.name == var_name) sym = &s;
      if (!sym) {
        if (btf_var(var)->linkage == BTF_VAR_STATIC) continue;
        return ld.fail(Errc::not_found, name,
                       "failed to find symbol for variable '" + var_name + "'");
      }
      vars[i].offset = static_cast<uint32_t>(sym->value);
    }
    std::sort(vars, vars + btf_vlen(t), [](const btf_var_secinfo& a, const btf_var_secinfo& b) {
      return a.offset < b.offset;
    });
  }
  return ok_status();
}

}  // namespace

Result<Object> open(std::span<const uint8_t> bytes, const std::string& name) {
  const std::vector<uint8_t> image(bytes.begin(), bytes.end());
  auto elf = read_elf(image, name);
  if (!elf) return elf.take_error();
  Object obj;
  obj.path = name;
  obj.name = object_name(name);
  Loader ld(*elf, obj);

  std::vector<uint8_t> btf_bytes, ext_bytes;
  auto st = collect_sections(ld, btf_bytes, ext_bytes);
  if (!st) return st.take_error();

  // libbpf tolerates a missing or broken .BTF unless something needs it (.maps, externs).
  bool needs_btf = ld.maps_section != 0;
  for (const ElfSymbol& sym : elf->symbols)
    if (sym.index != 0 && sym.shndx == SHN_UNDEF && !sym.name.empty() &&
        (sym.bind == STB_GLOBAL || sym.bind == STB_WEAK))
      needs_btf = true;
  if (!btf_bytes.empty()) {
    ::btf* parsed = btf__new(btf_bytes.data(), static_cast<uint32_t>(btf_bytes.size()));
    if (!parsed) {
      const std::string why = "cannot parse BTF: " + std::string(std::strerror(errno));
      if (needs_btf) return ld.fail(Errc::decode, ".BTF", why);
      ld.warn(".BTF: " + why + "; continuing without BTF");
    } else {
      obj.btf.reset(parsed, btf__free);
      ld.btf = parsed;
      st = fixup_datasecs(ld, parsed);
      if (!st) return st.take_error();
    }
  }
  if (ld.btf && !ext_bytes.empty()) {
    auto ext = parse_btf_ext(ext_bytes, ld.btf, name);
    if (!ext) return ext.take_error();
    ld.ext = std::move(*ext);
  }

  for (auto step : {collect_externs, init_legacy_maps, init_btf_maps, init_data_maps,
                    init_kconfig_map, collect_functions, collect_map_relos, relocate_programs}) {
    st = step(ld);
    if (!st) return st.take_error();
  }
  return obj;
}

Result<Object> open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(Errc::io, "cannot open: " + std::string(std::strerror(errno)),
                      Location{path, "", -1, -1});
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return make_error(Errc::io, "read failed", Location{path, "", -1, -1});
  return open(bytes, path);
}

Status set_global(Object& obj, std::string_view name, std::span<const uint8_t> bytes) {
  const Variable* var = obj.find_variable(name);
  if (!var) return make_error(Errc::not_found, "no global variable '" + std::string(name) + "'");
  MapDef& map = obj.maps[var->map_index];
  if (map.origin == MapOrigin::kconfig)
    return make_error(Errc::invalid_argument,
                      "'" + std::string(name) + "' is a .kconfig extern; use resolve_kconfig");
  if (bytes.size() != var->size)
    return make_error(Errc::invalid_argument, "variable '" + std::string(name) + "' has " +
                                                  std::to_string(var->size) + " bytes, not " +
                                                  std::to_string(bytes.size()));
  if (map.initial_data.size() < map.value_size) map.initial_data.resize(map.value_size, 0);  // .bss
  std::memcpy(map.initial_data.data() + var->offset, bytes.data(), bytes.size());
  return ok_status();
}

std::optional<SourceLine> line_of(const Object& obj, const Program& prog, size_t insn) {
  if (!obj.btf) return std::nullopt;
  const LineInfo* best = nullptr;
  for (const LineInfo& li : prog.line_info) {
    if (li.insn > insn) break;  // sorted by instruction
    best = &li;
  }
  if (!best) return std::nullopt;
  SourceLine out;
  out.file = btf_name(obj.btf.get(), best->file_name_off);
  out.text = btf_name(obj.btf.get(), best->line_off);
  out.line = best->line_col >> 10;
  out.column = best->line_col & 0x3ff;
  return out;
}

Status resolve_kconfig(Object& obj, const KconfigResolver& value) {
  std::optional<size_t> map;
  for (size_t i = 0; i < obj.maps.size(); ++i)
    if (obj.maps[i].origin == MapOrigin::kconfig) map = i;
  for (Extern& ext : obj.externs) {
    if (ext.kind != ExternKind::kconfig) continue;
    auto bytes = value(ext.name);
    if (!bytes) {
      if (ext.weak) continue;  // stays zero, as libbpf leaves unknown weak kconfig values
      return make_error(Errc::not_found, "unresolved kconfig extern '" + ext.name + "'",
                        Location{obj.path, ".kconfig", -1, -1});
    }
    if (bytes->size() > ext.size)
      return make_error(Errc::invalid_argument,
                        "kconfig extern '" + ext.name + "' has " + std::to_string(ext.size) +
                            " bytes, the value has " + std::to_string(bytes->size()),
                        Location{obj.path, ".kconfig", -1, -1});
    std::memcpy(obj.maps[*map].initial_data.data() + ext.kconfig_offset, bytes->data(),
                bytes->size());
    ext.resolved = true;
  }
  return ok_status();
}

}  // namespace userbpf::object
