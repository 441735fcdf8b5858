// The benchmark suite's programs (bench/suite/progs) and what each engine needs to run one: the
// object, the native twin, the map whose contents must agree, and the input frame they all get.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "native/native_twins.h"

namespace userbpf::bench::suite {

struct SuiteCase {
  const char* name;             // the XDP function, and the object <name>.bpf.o
  const char* what;             // one line for the table's legend
  suite_native_fn native;       // the same C compiled for the host
  const char* map_name;         // the map whose contents must agree; nullptr: none
  suite_native_map native_map;  // its native stand-in (when map_name is set)
  // The same C against userbpf's maps (native_twins_maps.c); `native` for programs without maps.
  suite_native_fn native_maps;
};

const std::vector<SuiteCase>& suite_cases();

// The compiled eBPF object of `c` (in the build's bench/suite/progs).
std::string object_path(const SuiteCase& c);

// The one input frame every program gets: Ethernet + IPv4 + UDP to port 53, 1,500 bytes, the
// parameters at the offsets suite_env.h names and deterministic pseudo-random bytes after them
// (lexer-like text in the data area, so the state machine sees tokens).
std::vector<uint8_t> suite_frame();

}  // namespace userbpf::bench::suite
