// Reading .BTF.ext (func_info, line_info and CO-RE relocation records, grouped by ELF section) from
// its raw bytes. Section names are resolved through the object's BTF string table, so the BTF
// itself is parsed by libbpf (btf__new) and not here.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "userbpf/error.hpp"

struct btf;

namespace userbpf::object {

// One record, instruction offset still in *bytes* relative to its ELF section, as in the file.
struct ExtFuncInfo {
  uint32_t insn_off = 0;
  uint32_t type_id = 0;
};
struct ExtLineInfo {
  uint32_t insn_off = 0;
  uint32_t file_name_off = 0;
  uint32_t line_off = 0;
  uint32_t line_col = 0;
};
struct ExtCoreRelo {
  uint32_t insn_off = 0;
  uint32_t type_id = 0;
  uint32_t access_str_off = 0;
  uint32_t kind = 0;
};

struct BtfExt {
  std::map<std::string, std::vector<ExtFuncInfo>> func_info;  // by ELF section name
  std::map<std::string, std::vector<ExtLineInfo>> line_info;
  std::map<std::string, std::vector<ExtCoreRelo>> core_relos;
};

// Parses .BTF.ext. Every offset and count is bounds-checked; errors name the file, ".BTF.ext" and
// what is wrong.
Result<BtfExt> parse_btf_ext(std::span<const uint8_t> data, const ::btf* btf,
                             const std::string& file);

}  // namespace userbpf::object
