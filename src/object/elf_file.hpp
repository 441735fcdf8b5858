// The parts of a BPF ELF relocatable object the loader needs, read once through libelf into plain
// data (sections with their bytes, the symbol table, relocation records) so nothing downstream
// touches libelf or raw ELF offsets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "userbpf/error.hpp"

namespace userbpf::object {

struct ElfSection {
  size_t index = 0;
  std::string name;
  uint32_t type = 0;   // SHT_*
  uint64_t flags = 0;  // SHF_*
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t size = 0;
  uint64_t offset = 0;  // of the data in the file
  uint64_t entsize = 0;
  std::vector<uint8_t> data;  // empty for SHT_NOBITS
};

struct ElfSymbol {
  size_t index = 0;
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t bind = 0;  // STB_*
  uint8_t type = 0;  // STT_*
  uint8_t visibility = 0;
  uint16_t shndx = 0;
};

struct ElfRel {
  uint64_t offset = 0;
  uint32_t symbol = 0;
  uint32_t type = 0;
};

struct ElfFile {
  std::string file;
  std::vector<ElfSection> sections;  // indexed by section index (0 is the null section)
  std::vector<ElfSymbol> symbols;    // indexed by symbol index
  size_t symtab_index = 0;           // 0 when there is no symbol table

  // Relocation records of a SHT_REL section.
  Result<std::vector<ElfRel>> rels(const ElfSection& section) const;
};

// Parses a 64-bit little-endian ET_REL object for EM_BPF. Corrupt headers, sections outside the
// image or unreadable symbol tables are errors naming the file and section.
Result<ElfFile> read_elf(const std::vector<uint8_t>& image, const std::string& file);

}  // namespace userbpf::object
