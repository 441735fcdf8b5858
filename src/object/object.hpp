// A BPF ELF object as clang and libbpf build it, opened and relocated the way libbpf's
// bpf_object__open() + the relocation half of bpf_object__load() do it, but without touching the
// kernel: programs come out with map references encoded as map *indexes* of this object
// (BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE) so any later stage (the userbpf VM, or a kernel
// loader that creates the maps and rewrites indexes into fds) can consume them.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

struct btf;

namespace userbpf::object {

// One SEC() name matched against libbpf's section table.
// Types are plain integers, not the header's enums: Linux numbers newer than the installed
// <linux/bpf.h> (netfilter, tcx, ...) are valid here, and out-of-range enum values are not.
struct SectionDef {
  uint32_t prog_type = BPF_PROG_TYPE_UNSPEC;
  uint32_t expected_attach_type = 0;
  std::string attach_target;  // what follows "<prefix>/" (e.g. "syscalls/sys_enter_execve")
  bool sleepable = false;     // ".s" variants and SEC("syscall")
  bool known = false;         // false: no table entry matched (program type unspec)
};

// A .BTF.ext func_info record, with the instruction offset in instructions of the final program.
struct FuncInfo {
  uint32_t insn = 0;
  uint32_t type_id = 0;
};

// A .BTF.ext line_info record, instruction offset in instructions of the final program.
struct LineInfo {
  uint32_t insn = 0;
  uint32_t file_name_off = 0;  // offsets into the object's BTF string section
  uint32_t line_off = 0;
  uint32_t line_col = 0;  // line << 10 | column, as struct bpf_line_info
};

struct SourceLine {
  std::string file;
  std::string text;  // the source line as the compiler recorded it
  uint32_t line = 0;
  uint32_t column = 0;
};

// A CO-RE relocation (struct bpf_core_relo) of one program, instruction index in the final program.
struct CoreRelo {
  uint32_t insn = 0;
  uint32_t type_id = 0;  // root type in the object's BTF
  std::string access;    // "0:1:2" access string
  bpf_core_relo_kind kind = BPF_CORE_FIELD_BYTE_OFFSET;
};

// An extern (.kconfig or .ksyms) used by a program; resolution happens later.
enum class ExternKind : uint8_t { kconfig, ksym_var, ksym_func };

struct Extern {
  std::string name;
  ExternKind kind = ExternKind::kconfig;
  bool weak = false;
  uint32_t btf_id = 0;          // the VAR or FUNC type in the object's BTF
  uint32_t size = 0;            // kconfig: value size in bytes
  uint32_t kconfig_offset = 0;  // kconfig: offset inside the .kconfig map value
  bool resolved = false;
};

// Where an extern is used by a program: ld_imm64 of a ksym variable or a kfunc call.
struct ExternUse {
  uint32_t insn = 0;
  size_t extern_index = 0;
};

struct Program {
  std::string name;     // function name
  std::string section;  // SEC() name
  SectionDef def;
  std::vector<isa::RawInsn> insns;  // relocated, called subprograms appended
  size_t own_insns = 0;             // instructions of the entry function itself (before appends)
  size_t section_offset = 0;        // of the entry function inside its section, in instructions
  std::vector<FuncInfo> func_info;
  std::vector<LineInfo> line_info;
  std::vector<CoreRelo> core_relos;
  std::vector<ExternUse> extern_uses;
  std::vector<std::string> subprograms;  // names of the appended functions, in order
  // Those of hidden visibility: libbpf gives their BTF FUNC static linkage before loading, so
  // the verifier checks them with their callers' arguments, not as global functions.
  std::vector<std::string> hidden_subprograms;
};

enum class MapOrigin : uint8_t { btf_defined, legacy, data, rodata, bss, kconfig };

// An initial slot of a prog array (a program) or of a map-in-map (a map), from `.values = {...}`.
struct InitialSlot {
  uint32_t index = 0;
  std::string target;  // program or map name
};

struct MapDef {
  std::string name;     // libbpf's name; internal maps: "<obj prefix>.data" or the section name
  std::string section;  // ELF section that defined it (".maps", "maps", ".rodata", ...)
  MapOrigin origin = MapOrigin::btf_defined;
  uint32_t type = BPF_MAP_TYPE_UNSPEC;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint32_t numa_node = 0;
  uint32_t pinning = 0;  // LIBBPF_PIN_NONE / LIBBPF_PIN_BY_NAME
  uint64_t map_extra = 0;
  uint32_t key_type_id = 0;  // BTF ids in the object's BTF, 0 when unknown
  uint32_t value_type_id = 0;
  std::shared_ptr<MapDef> inner;  // map-in-map: the inner map template
  std::vector<InitialSlot> initial_slots;
  // Internal maps: the section's bytes. Empty for .bss (the map starts zeroed) until set_global()
  // writes one of its variables.
  std::vector<uint8_t> initial_data;
  bool frozen = false;        // .rodata and .kconfig: read-only for programs, frozen after load
  size_t section_offset = 0;  // offset of the definition inside its section
};

// A global variable of an internal map, found through its BTF DATASEC.
struct Variable {
  std::string name;
  size_t map_index = 0;
  uint32_t offset = 0;
  uint32_t size = 0;
  uint32_t type_id = 0;
};

struct Object {
  std::string name;  // file name without directories and extension (libbpf's object name)
  std::string path;  // as given to open(), or the name given with the bytes
  std::string license;
  uint32_t kern_version = 0;
  std::vector<Program> programs;
  std::vector<MapDef> maps;
  std::vector<Variable> variables;
  std::vector<Extern> externs;
  std::vector<std::string> warnings;  // what libbpf would pr_warn() about, in order
  std::shared_ptr<::btf> btf;         // the object's BTF (nullptr without .BTF)

  const Program* find_program(std::string_view name) const;
  Program* find_program(std::string_view name);
  // Index of the map called `name` (libbpf name, or section name for internal maps).
  std::optional<size_t> find_map(std::string_view name) const;
  const Variable* find_variable(std::string_view name) const;
};

// Opens an object file, or an image already in memory (`name` plays the file name's role).
Result<Object> open(const std::string& path);
Result<Object> open(std::span<const uint8_t> bytes, const std::string& name);

// The SEC() name's program type, expected attach type and attach target, as libbpf sees them.
SectionDef classify_section(std::string_view section);

// Sets a global variable's initial value (before load), by name, like a skeleton does. The size
// must be the variable's size. .kconfig variables are set by resolve_kconfig instead.
Status set_global(Object& obj, std::string_view name, std::span<const uint8_t> bytes);

// The source line of instruction `insn` of `prog`: the closest line_info record at or before it.
std::optional<SourceLine> line_of(const Object& obj, const Program& prog, size_t insn);

// Fills the .kconfig map: `value(name)` returns the bytes of a kconfig extern (e.g.
// LINUX_KERNEL_VERSION as a little-endian u32), or nullopt when unknown. Unknown weak externs stay
// zero; an unknown strong extern is an error.
using KconfigResolver = std::function<std::optional<std::vector<uint8_t>>(const std::string&)>;
Status resolve_kconfig(Object& obj, const KconfigResolver& value);

// Applies every program's CO-RE relocations (Program::core_relos) against `target`, a kernel's or
// the runtime's BTF, with libbpf's rules: patched values, poisoned instructions for what the
// target lacks (`call 0xbad2310`), errors for ambiguity. See object/core_relo.hpp.
Status apply_core(Object& obj, const ::btf* target);

}  // namespace userbpf::object
