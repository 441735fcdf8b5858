// Uprobe targets: where in which file a uprobe or uretprobe fires, named as libbpf names them.
//
//   uprobe/PATH:FUNC          entry of FUNC (a .symtab or .dynsym STT_FUNC symbol of PATH)
//   uprobe/PATH:FUNC+OFF      OFF bytes into FUNC (must be an instruction boundary)
//   uprobe/PATH:0xADDR        a raw file offset (what the kernel's uprobe takes)
//   uretprobe/PATH:FUNC       FUNC's return (no +OFF, as libbpf refuses it)
//   uprobe.s/..., uretprobe.s/...   the sleepable forms, same targets
//   uprobe, uretprobe         no target: attached only through an explicit one (attach_uprobe)
//
// libbpf writes the absolute path after the '/': `uprobe//usr/bin/bash:readline`. A path without
// '/' is looked up as libbpf's resolve_full_path does (PATH for programs, LD_LIBRARY_PATH and the
// usual library directories for names containing ".so").
//
// A symbol becomes a file offset through the program headers (the PT_LOAD segment holding its
// address), as libbpf's elf_find_func_offset does; a probe then fires at every executable mapping
// of that file offset in every supervised process (supervisor.hpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "userbpf/error.hpp"

namespace userbpf::hooks {

// Where in a file: a symbol plus an offset, or (symbol empty) a file offset.
struct UprobeFunc {
  std::string symbol;
  uint64_t offset = 0;

  static UprobeFunc at_offset(uint64_t file_offset) { return {{}, file_offset}; }
  static UprobeFunc at_symbol(std::string name, uint64_t offset = 0) {
    return {std::move(name), offset};
  }
};

// A resolved target: the file (as found, and its identity) and the file offset of the probed
// instruction.
struct UprobeTarget {
  std::string path;  // the file, as resolved (absolute or relative to the cwd)
  dev_t dev = 0;     // its identity, to recognise its mappings in /proc/PID/maps
  ino_t ino = 0;
  uint64_t file_offset = 0;
  bool retprobe = false;
  bool library = false;  // mapped by the dynamic loader (mmap), not by exec: ET_DYN, no INTERP
  std::string spec;      // "FUNC", "FUNC+0x4" or "0x1234": for names and messages

  // "uprobe//usr/bin/bash:readline", "uretprobe/./app:0x1139".
  std::string name() const;
};

// The parts of a uprobe section name. `has_target` is false for a bare "uprobe"/"uretprobe".
struct UprobeSection {
  bool retprobe = false;
  bool sleepable = false;
  bool has_target = false;
  std::string path;
  UprobeFunc func;
};

// True when `section` is one of libbpf's uprobe section forms (with or without a target).
bool is_uprobe_section(std::string_view section);

// Parses a uprobe section name. Errc::invalid_argument with libbpf's reasons (missing
// ':function[+offset]', an offset on a uretprobe, a bad function or offset).
Result<UprobeSection> parse_uprobe_section(std::string_view section);

// Resolves `path` and `func` to a target. Errors name the file and the symbol: Errc::not_found
// for a missing file or symbol, Errc::invalid_argument for a file that is no ELF, an STT_GNU_IFUNC
// symbol, a symbol outside every executable segment or two different symbols of that name.
Result<UprobeTarget> resolve_uprobe(std::string_view path, const UprobeFunc& func, bool retprobe);

// The file offset of `symbol` in the ELF file `path` (.symtab first, then .dynsym).
Result<uint64_t> elf_function_offset(const std::string& path, std::string_view symbol);

}  // namespace userbpf::hooks
