#include "support/verifier_asm_cases.hpp"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <string>

#include "isa/conformance_asm.hpp"
#include "oracle/kernel.hpp"

namespace userbpf::testing {

std::vector<isa::RawInsn> assemble_or_fail(const char* text) {
  auto insns = isa::assemble(text);
  EXPECT_TRUE(insns) << (insns ? "" : insns.error().message);
  return insns ? *insns : std::vector<isa::RawInsn>{};
}

void patch_markers(std::vector<isa::RawInsn>& insns, const std::vector<int>* fds) {
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    if (insns[i].code != (BPF_LD | BPF_IMM | BPF_DW) || insns[i + 1].imm != 0) continue;
    const int64_t imm = static_cast<uint32_t>(insns[i].imm);
    if ((imm & ~0xffll) == kFuncMarker) {
      insns[i].src_reg = BPF_PSEUDO_FUNC;
      insns[i].imm = static_cast<int32_t>((imm & 0xff) - static_cast<int64_t>(i) - 1);
    } else if ((imm & ~0xffll) == kMapMarker) {
      const int index = static_cast<int>(imm & 0xff);
      insns[i].src_reg = fds ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_IDX;
      insns[i].imm = fds ? (*fds)[index] : index;
    } else {
      continue;
    }
    ++i;
  }
}

std::vector<verifier::MapInfo> map_infos(std::span<const TestMap> maps) {
  std::vector<verifier::MapInfo> infos;
  for (const TestMap& m : maps) {
    verifier::MapInfo info;
    info.type = m.type;
    info.key_size = m.key_size;
    info.value_size = m.value_size;
    info.max_entries = m.max_entries;
    infos.push_back(info);
  }
  return infos;
}

KernelMaps::KernelMaps(std::span<const TestMap> maps) {
  for (const TestMap& m : maps) {
    const int fd = bpf_map_create(static_cast<bpf_map_type>(m.type), nullptr, m.key_size,
                                  m.value_size, m.max_entries, nullptr);
    if (fd < 0) {
      ok_ = false;
      return;
    }
    fds_.push_back(fd);
  }
}

KernelMaps::~KernelMaps() {
  for (int fd : fds_) close(fd);
}

void expect_kernel_verdict(const char* name, const char* text, uint32_t prog_type,
                           std::span<const TestMap> maps, const char* message,
                           uint32_t expected_attach_type) {
  const KernelMaps kernel_maps(maps);
  ASSERT_TRUE(kernel_maps.ok()) << name << ": map create failed";
  std::vector<isa::RawInsn> insns = assemble_or_fail(text);
  patch_markers(insns, &kernel_maps.fds());
  oracle::KernelLoadOptions options;
  options.keep_log = true;
  options.expected_attach_type = expected_attach_type;
  auto kernel = oracle::KernelProgram::load(insns, static_cast<bpf_prog_type>(prog_type), options);
  const bool expect_accept = std::string(message).empty();
  EXPECT_EQ(static_cast<bool>(kernel), expect_accept)
      << name << ": " << (kernel ? kernel->verifier_log() : kernel.error().message);
  if (!kernel && !expect_accept) {
    EXPECT_NE(kernel.error().message.find(message), std::string::npos)
        << name << ": kernel said " << kernel.error().message;
  }
}

}  // namespace userbpf::testing
