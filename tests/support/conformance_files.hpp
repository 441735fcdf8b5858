// Finds and loads the public conformance suite's .data files from the shared folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "isa/conformance_data.hpp"
#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::testing {

std::filesystem::path conformance_dir();

// Every *.data file directly in `dir`, sorted by name.
std::vector<std::filesystem::path> data_files(const std::filesystem::path& dir);

std::string read_text(const std::filesystem::path& path);

// The program of a parsed case: its raw words if present, otherwise its assembled asm.
Result<std::vector<isa::RawInsn>> case_program(const isa::ConformanceCase& c);

// True when the program uses callx (`call %rN`), which is not Linux eBPF.
bool uses_callx(const std::vector<isa::RawInsn>& raw);

}  // namespace userbpf::testing
