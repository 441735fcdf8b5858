// Writes fuzz_verifier's seed corpus from compiled BPF objects:
//   fuzz_verifier_seeds OUT_DIR OBJ...
// One file per program of a fuzzed type (socket filter, xdp, kprobe, tracepoint; other types
// are seeded as socket filters), in fuzz_verifier's raw mode: the two header bytes, then the
// relocated instructions (map references as indexes, subprograms appended).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "object/object.hpp"
#include "verifier_program_gen.hpp"

namespace fs = std::filesystem;
using namespace userbpf;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR OBJ...\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out);
  int written = 0;
  for (int i = 2; i < argc; ++i) {
    auto obj = object::open(argv[i]);
    if (!obj) continue;
    for (const object::Program& prog : obj->programs) {
      if (prog.insns.empty()) continue;
      uint8_t type_index = 0;
      for (uint8_t t = 0; t < 4; ++t)
        if (fuzz::kFuzzProgTypes[t] == prog.def.prog_type) type_index = t;
      const std::string name = fs::path(argv[i]).stem().string() + "." + prog.name;
      std::ofstream file(out / name, std::ios::binary);
      const char header[2] = {static_cast<char>(fuzz::kRawMode), static_cast<char>(type_index)};
      file.write(header, 2);
      file.write(reinterpret_cast<const char*>(prog.insns.data()),
                 static_cast<std::streamsize>(prog.insns.size() * sizeof(prog.insns[0])));
      ++written;
    }
  }
  std::printf("wrote %d verifier seeds to %s\n", written, out.c_str());
  return written > 0 ? 0 : 1;
}
