// A property check for fuzz targets: on failure, print what broke and abort so that libFuzzer
// records the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace userbpf::fuzz {

[[noreturn]] inline void property_failed(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property violated: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace userbpf::fuzz

#define FUZZ_CHECK(cond, detail)                                    \
  do {                                                              \
    if (!(cond)) ::userbpf::fuzz::property_failed(#cond, (detail)); \
  } while (0)
