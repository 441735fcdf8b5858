// The program tag userbpf shows is the one the kernel computes for the same instructions.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "object/object.hpp"
#include "oracle/kernel.hpp"
#include "runtime/tag.hpp"

namespace userbpf::runtime {
namespace {

std::string kernel_tag(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return "<no info>";
  std::string tag;
  for (uint8_t b : info.tag) tag += "0123456789abcdef"[b >> 4], tag += "0123456789abcdef"[b & 15];
  return tag;
}

TEST(ProgramTag, MatchesTheHostKernelsTag) {
  const auto& status = oracle::kernel_bpf_status();
  if (!status.available) GTEST_SKIP() << "host kernel bpf() unavailable: " << status.reason;
  auto obj = object::open(std::string(USERBPF_BPF_OBJECT_DIR) + "/seed/hello_kern.o");
  ASSERT_TRUE(obj.ok()) << obj.error().to_string();
  const auto& insns = obj->programs.at(0).insns;
  auto prog = oracle::KernelProgram::load(insns, BPF_PROG_TYPE_TRACEPOINT);
  ASSERT_TRUE(prog.ok()) << prog.error().to_string();
  EXPECT_EQ(program_tag(insns), kernel_tag(prog->fd()));
}

}  // namespace
}  // namespace userbpf::runtime
