// libFuzzer target: object::open() on arbitrary bytes must return a value or an error, never
// crash, hang or leak (build with -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <span>

#include "object/object.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto obj = userbpf::object::open(std::span<const uint8_t>(data, size), "fuzz.bpf.o");
  if (obj) {
    for (const auto& prog : obj->programs)
      for (size_t i = 0; i < prog.insns.size(); ++i) (void)userbpf::object::line_of(*obj, prog, i);
  }
  return 0;
}
