// Internal state shared by the steps of object::open() (maps, externs, programs, relocation).
// Not a public interface: only src/object/*.cpp include it.
#pragma once

#include <bpf/btf.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "object/btf_ext.hpp"
#include "object/elf_file.hpp"
#include "object/object.hpp"

namespace userbpf::object {

// One function symbol of an executable section: an entry program, or (in .text) a subprogram.
struct Function {
  std::string name;
  size_t section = 0;  // ELF section index
  size_t first = 0;    // first instruction inside the section
  size_t count = 0;    // instructions
  bool subprogram = false;
  bool hidden = false;  // STV_HIDDEN: libbpf marks its BTF FUNC static (verified with its callers)
  std::vector<isa::RawInsn> insns;  // the section's code, with data/map relocations applied
};

struct Loader {
  Loader(const ElfFile& file, Object& object) : elf(file), obj(object) {}

  const ElfFile& elf;
  Object& obj;
  const ::btf* btf = nullptr;  // obj.btf.get(), or nullptr
  std::optional<BtfExt> ext;
  size_t text_section = 0;             // ".text" index, 0 when absent
  size_t maps_section = 0;             // ".maps"
  size_t legacy_maps_section = 0;      // "maps"
  std::map<size_t, size_t> data_maps;  // ELF section index -> internal map index
  std::optional<size_t> kconfig_map;
  std::map<size_t, size_t> extern_by_symbol;  // ELF symbol index -> obj.externs index
  std::vector<Function> functions;

  // A map of .maps with the BTF variable that defines it.
  struct BtfMapVar {
    size_t map = 0;
    uint32_t offset = 0;  // of the variable inside .maps
    uint32_t size = 0;
    const btf_type* def = nullptr;  // the map definition struct
  };
  std::vector<BtfMapVar> btf_map_vars;

  Location at(const std::string& section, int64_t insn = -1) const {
    return Location{obj.path, section, insn, -1};
  }
  Error fail(Errc code, const std::string& section, const std::string& message,
             int64_t insn = -1) const {
    return make_error(code, message, at(section, insn));
  }
  void warn(const std::string& message) { obj.warnings.push_back(message); }
};

// BTF helpers over libbpf's btf.h.
const btf_type* skip_mods_and_typedefs(const ::btf* btf, uint32_t id, uint32_t* res_id);
std::string btf_name(const ::btf* btf, uint32_t name_off);

// Steps of open(), in libbpf's order.
Status collect_externs(Loader& ld);
Status init_legacy_maps(Loader& ld);
Status init_btf_maps(Loader& ld);
Status init_data_maps(Loader& ld);
Status init_kconfig_map(Loader& ld);
Status collect_map_relos(Loader& ld);
Status collect_functions(Loader& ld);
Status relocate_programs(Loader& ld);

}  // namespace userbpf::object
