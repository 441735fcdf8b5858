// Assembled verifier test programs with placeholder map and function references, shared by the
// verifier's table-driven tests (core programs, program-type contexts, soundness findings): the
// same text is turned into a userbpf verifier::Program and, with real map fds, loaded into Linux.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/instruction.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::testing {

// `lddw %rN, 0x5a5a000K` stands for map K; `lddw %rN, 0x5a5b00NN` for the function starting at
// instruction NN (BPF_PSEUDO_FUNC, a callback).
inline constexpr int64_t kMapMarker = 0x5a5a0000;
inline constexpr int64_t kFuncMarker = 0x5a5b0000;

struct TestMap {
  uint32_t type, key_size, value_size, max_entries;
};

// The assembled text; a test failure (and no instructions) when it does not assemble.
std::vector<isa::RawInsn> assemble_or_fail(const char* text);

// Rewrites the markers: map K into map index K for userbpf (fds == nullptr) or into map fd
// fds[K] for Linux; function markers into BPF_PSEUDO_FUNC references.
void patch_markers(std::vector<isa::RawInsn>& insns, const std::vector<int>* fds);

// What userbpf's verifier is told about the maps.
std::vector<verifier::MapInfo> map_infos(std::span<const TestMap> maps);

// The same maps created in the host kernel; closed when this goes away.
class KernelMaps {
 public:
  explicit KernelMaps(std::span<const TestMap> maps);
  ~KernelMaps();
  KernelMaps(const KernelMaps&) = delete;
  KernelMaps& operator=(const KernelMaps&) = delete;
  bool ok() const { return ok_; }
  const std::vector<int>& fds() const { return fds_; }

 private:
  std::vector<int> fds_;
  bool ok_ = true;
};

// Loads the assembled `text` into the host kernel, with `maps` created there, and checks Linux's
// verdict: accepted when `message` is empty, else refused with `message` in its error. The caller
// skips first where bpf() is unavailable (USERBPF_SKIP_WITHOUT_KERNEL).
void expect_kernel_verdict(const char* name, const char* text, uint32_t prog_type,
                           std::span<const TestMap> maps, const char* message,
                           uint32_t expected_attach_type = 0);

}  // namespace userbpf::testing
