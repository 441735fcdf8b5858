// Writes the seed corpora of the fuzzers from the conformance suite:
//   fuzz_seeds SUITE_DIR OUT_DIR
// gives OUT_DIR/fuzz_assemble/<name> (each file's asm section) and OUT_DIR/fuzz_decode/<name>
// (its assembled instruction bytes), for every *.data in SUITE_DIR and SUITE_DIR/negative.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "isa/conformance_asm.hpp"
#include "isa/conformance_data.hpp"

namespace fs = std::filesystem;
using namespace userbpf::isa;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SUITE_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path suite = argv[1], out = argv[2];
  fs::create_directories(out / "fuzz_assemble");
  fs::create_directories(out / "fuzz_decode");
  int written = 0;
  for (const fs::path& dir : {suite, suite / "negative"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".data") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      auto c = parse_conformance_data(text.str());
      if (!c.ok()) continue;
      const std::string name = entry.path().stem().string();
      std::vector<RawInsn> raw;
      if (c->has_asm) {
        std::ofstream(out / "fuzz_assemble" / name, std::ios::binary) << c->asm_text;
        auto assembled = assemble(c->asm_text);
        if (assembled.ok()) raw = *assembled;
      }
      if (raw.empty() && c->has_raw) raw = raw_from_words(c->raw_words);
      if (raw.empty()) continue;
      std::ofstream(out / "fuzz_decode" / name, std::ios::binary)
          .write(reinterpret_cast<const char*>(raw.data()),
                 static_cast<std::streamsize>(raw.size() * sizeof(RawInsn)));
      ++written;
    }
  }
  std::printf("wrote seeds for %d programs to %s\n", written, out.c_str());
  return written > 0 ? 0 : 1;
}
