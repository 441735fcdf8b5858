#include "support/conformance_files.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "isa/conformance_asm.hpp"

namespace userbpf::testing {

std::filesystem::path conformance_dir() {
  return std::filesystem::path(USERBPF_SHARED_DIR) / "conformance";
}

std::vector<std::filesystem::path> data_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".data")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Result<std::vector<isa::RawInsn>> case_program(const isa::ConformanceCase& c) {
  if (!c.raw_words.empty()) {
    std::vector<isa::RawInsn> raw(c.raw_words.size());
    for (size_t i = 0; i < raw.size(); ++i) std::memcpy(&raw[i], &c.raw_words[i], 8);
    return raw;
  }
  return isa::assemble(c.asm_text);
}

bool uses_callx(const std::vector<isa::RawInsn>& raw) {
  return std::any_of(raw.begin(), raw.end(), [](const isa::RawInsn& r) {
    return r.code == (BPF_JMP | BPF_CALL | BPF_X);
  });
}

}  // namespace userbpf::testing
