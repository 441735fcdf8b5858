// Reader for the `.data` files of the eBPF conformance suite (shared/conformance/*.data).
//
// File format (line oriented):
//   - `#` starts a comment anywhere on a line; text before the first section may only be comments
//     and blank lines.
//   - A line starting with `--` opens a section named by the rest of the line, trimmed:
//       asm     the program in the suite's assembly syntax; kept verbatim (comments included, the
//               assembler strips them) in asm_text, and asm_first_line says where it starts.
//       raw     the program as instruction words instead of asm. Each token is one 64-bit
//               little-endian instruction word (`0x5566778800000018` or decimal): its low byte is
//               the opcode, then dst|src<<4, then off (16 bits), then imm (32 bits). A line of
//               exactly 8 tokens, each at most two hex digits without `0x`, is instead 8 bytes of
//               one instruction in memory order (`07 00 01 00 01 00 00 00`, negative/unused-*).
//       mem     input memory as hex bytes (`aa bb`), possibly over several lines; a token of more
//               than two hex digits is a run of bytes (`aabbcc`).
//       result  the expected r0, one number (`0x1`, `-1` is not used by the suite but accepted).
//       error   the expected error text: the section's lines, comments removed, trimmed, joined by
//       '\n', without
//               leading or trailing blank lines. An empty section gives an engaged, empty error.
//       c, no register offset   listings only; ignored.
//     Any other name is recorded in unknown_sections and sets has_unknown_section: the reference
//     runner skips such a file.
// Sections may appear in any order; a repeated section is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::isa {

struct ConformanceCase {
  std::string asm_text;    // empty when the file has no asm section
  int asm_first_line = 0;  // 1-based file line of asm_text's first line, 0 without asm
  bool has_asm = false;
  bool has_raw = false;
  std::vector<uint64_t> raw_words;  // one per instruction slot
  std::vector<uint8_t> memory;
  std::optional<uint64_t> result;
  std::optional<std::string> error;
  bool has_unknown_section = false;
  std::vector<std::string> unknown_sections;
};

// Parses one .data file. Errors (Errc::invalid_argument) carry the 1-based line.
Result<ConformanceCase> parse_conformance_data(std::string_view text);

// Conversions between a suite instruction word and Linux's struct bpf_insn.
RawInsn raw_from_word(uint64_t word);
uint64_t word_from_raw(const RawInsn& insn);
std::vector<RawInsn> raw_from_words(const std::vector<uint64_t>& words);

}  // namespace userbpf::isa
