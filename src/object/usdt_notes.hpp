// USDT probes of an executable or shared library: the SystemTap `.note.stapsdt` notes that
// <sys/sdt.h> (DTRACE_PROBE*, STAP_PROBE*) leaves in a binary, read as libbpf's usdt.c reads
// them. Each note (type 3, owner "stapsdt") holds three addresses (the probe's pc, the link-time
// address of `.stapsdt.base`, the semaphore or 0) and three strings (provider, name, the
// argument specs such as "-4@%edi 8@-8(%rbp)").
//
// Prelink may have moved the binary after the notes were written: the pc is corrected by the
// difference between the `.stapsdt.base` section's address now and the base the note recorded.
// A uprobe is placed by file offset, so pc and semaphore are converted to file offsets through
// the PT_LOAD program headers (the pc must lie in an executable segment, the semaphore in a
// non-executable one), exactly as libbpf refuses otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "userbpf/error.hpp"

namespace userbpf::object {

struct UsdtNote {
  size_t index = 0;  // among the file's stapsdt notes, from 0
  std::string provider;
  std::string name;
  std::string args;        // "" for a probe without arguments
  uint64_t pc = 0;         // as recorded
  uint64_t base = 0;       // the `.stapsdt.base` address recorded in the note
  uint64_t semaphore = 0;  // address of the unsigned short semaphore, 0 when none
};

struct UsdtFile {
  std::string path;
  bool shared_object = false;   // ET_DYN (PIE executables too) rather than ET_EXEC
  uint64_t base_section = 0;    // address of `.stapsdt.base` now; 0 when there is none
  std::vector<UsdtNote> notes;  // every stapsdt note, in file order
};

// Reads every stapsdt note. Errors (naming the file and, for a bad note, its index): the file
// cannot be read, is not a 64-bit little-endian ET_EXEC/ET_DYN ELF, has no `.note.stapsdt`
// section (Errc::not_found), or holds a malformed note.
Result<UsdtFile> read_usdt_notes(const std::string& path);

// A probe ready to attach: the note plus the file offsets a uprobe and the kernel's uprobe
// reference counter take.
struct UsdtProbe {
  UsdtNote note;
  uint64_t address = 0;           // pc after the prelink correction (virtual address)
  uint64_t file_offset = 0;       // where the uprobe goes
  uint64_t semaphore_offset = 0;  // file offset of the semaphore, 0 when the probe has none
};

// The probes named provider:name, in note order. Errc::not_found when none matches; a pc or
// semaphore outside every PT_LOAD segment, or in a segment of the wrong kind, is an error naming
// the probe, the note and the address.
Result<std::vector<UsdtProbe>> find_usdt_probes(const std::string& path, std::string_view provider,
                                                std::string_view name);

}  // namespace userbpf::object
