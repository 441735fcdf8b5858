// Reads the program a command works on from a file, in any of the forms userbpf accepts, and
// decodes it strictly. The form is detected from the content unless --format forces one:
//   elf   starts with "\x7fELF" (ELF objects come with the object loader; refused for now)
//   data  text with a line starting with "--": a conformance-suite .data file; its program
//         (asm or raw section) is used, and its `-- mem` section becomes the default input data
//   asm   other text: assembly in the conformance suite's syntax
//   raw   anything else: little-endian 8-byte instruction slots
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::cli {

enum class InputFormat { asm_text, raw, data, elf };

// "asm", "raw", "data", "elf".
std::string_view format_name(InputFormat format);
Result<InputFormat> parse_format(std::string_view name);

InputFormat detect_format(std::span<const uint8_t> bytes);

// The whole file; "-" reads standard input. Errors: "can't read 'x': No such file or directory".
Result<std::vector<uint8_t>> read_file(const std::string& path);

struct LoadedProgram {
  InputFormat format = InputFormat::raw;
  isa::Program program;
  std::optional<std::vector<uint8_t>> memory;  // a .data file's `-- mem` section
};

// Reads, detects (or takes `forced`), assembles or splits, and decodes. Every error names the
// file, and where known the line (assembly) or instruction index (decoder).
// Gives an error the file name when the layer that made it did not know it.
Error with_file(Error error, const std::string& path);

Result<LoadedProgram> load_program(const std::string& path, std::optional<InputFormat> forced);

}  // namespace userbpf::cli
