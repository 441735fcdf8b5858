// What the state directory remembers of a loaded program or map: enough for any other userbpf
// process to list it, dump it, run it, or open its map memory. Stored as JSON, one file each.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"
#include "userbpf/map.hpp"

namespace userbpf::runtime {

struct SourceLineRecord {
  uint32_t insn = 0;
  std::string file;
  std::string text;
  uint32_t line = 0;
  uint32_t column = 0;
};

// A .BTF.ext func_info record: the function starting at `insn` has BTF_KIND_FUNC `type_id` in
// the program's BTF (btf_id).
struct FuncInfoRecord {
  uint32_t insn = 0;
  uint32_t type_id = 0;
};

struct ProgramRecord {
  uint32_t id = 0;
  std::string name;     // function name
  std::string section;  // SEC() name
  uint32_t prog_type = 0;
  uint32_t expected_attach_type = 0;
  std::string attach_target;
  std::string license;
  bool gpl = false;
  std::string tag;         // 16 hex digits, as the kernel computes it
  uint64_t loaded_at = 0;  // seconds since the epoch
  uint32_t uid = 0;
  int32_t owner_pid = 0;     // the process that loaded it; the program lives while it does or a pin
  uint64_t owner_start = 0;  // that process's start time, to tell a reused pid apart
  std::string object_path;
  // The program as loaded: map references are lddw BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE
  // whose imm indexes map_ids.
  std::vector<isa::RawInsn> insns;
  std::vector<uint32_t> map_ids;
  std::vector<SourceLineRecord> lines;
  std::vector<FuncInfoRecord> funcs;  // by instruction, the entry function first
  uint32_t btf_id = 0;  // raw BTF in <state>/btf/<btf_id>.btf, 0 when none
  // Whether the verifier accepted the program at load. An unverified program (loaded with
  // `--unverified` / LoadOptions::unverified) always runs in the checked interpreter and is
  // never handed to a JIT. Records written before verification existed read as unverified.
  bool verified = false;
  uint64_t verified_insns = 0;  // the verifier's processed instructions (bpf_prog_info's)
  // Helper calls where the verifier proved r1 holds one map on every path (its Verdict::call_map
  // without kNoMap / kMixedMaps): {instruction index, index into map_ids}. Engines inline map
  // helpers there (the JIT's array lookups and updates).
  std::vector<std::pair<uint32_t, uint32_t>> call_maps;
};

struct MapRecord {
  uint32_t id = 0;
  maps::MapSpec spec;
  bool frozen = false;  // .rodata/.kconfig after load: user space may not update it
  int32_t owner_pid = 0;
  uint64_t owner_start = 0;
  uint32_t btf_id = 0;
  uint32_t key_type_id = 0;
  uint32_t value_type_id = 0;
  std::string file;  // the map's memory (maps library backing file)
};

// A program attached to a hook point. `prog attach` makes persistent links (owner 0: they last
// until `link detach`, as the kernel's attachments made without a link fd do); `run` and the API
// make links owned by their process, which end with it unless pinned. A link keeps its program
// alive.
struct LinkRecord {
  uint32_t id = 0;
  uint32_t prog_id = 0;
  std::string target;  // the hook in SEC() form, e.g. "tracepoint/syscalls/sys_enter_execve"
  uint64_t cookie = 0;  // what bpf_get_attach_cookie returns
  uint64_t created_at = 0;  // seconds since the epoch
  int32_t owner_pid = 0;
  uint64_t owner_start = 0;
};

// The maps the program's instructions reference, in first-use order: what the kernel keeps as the
// program's used_maps and bpftool shows as map_ids. (ProgramRecord::map_ids holds every map of
// the object, by object index, for resolving those references.)
std::vector<uint32_t> used_map_ids(const ProgramRecord& record);

std::string to_json(const ProgramRecord& record);
std::string to_json(const MapRecord& record);
std::string to_json(const LinkRecord& record);
Result<ProgramRecord> program_from_json(std::string_view text, const std::string& origin);
Result<MapRecord> map_from_json(std::string_view text, const std::string& origin);
Result<LinkRecord> link_from_json(std::string_view text, const std::string& origin);

// Name of a program type as bpftool prints it ("tracepoint", "xdp", ...).
std::string prog_type_name(uint32_t type);
std::string map_type_name(uint32_t type);

}  // namespace userbpf::runtime
