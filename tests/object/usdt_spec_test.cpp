// USDT argument specs (object/usdt_spec.hpp): every x86-64 form libbpf 1.1 accepts, turned into
// the struct __bpf_usdt_arg_spec the BPF side reads, and the forms it refuses, refused with its
// reasons. The specs gcc wrote into the test binary's notes are parsed too.
#include "object/usdt_spec.hpp"

#include <gtest/gtest.h>

#include <string>

#include "object/usdt_notes.hpp"

namespace userbpf::object {
namespace {

// struct pt_regs offsets, spelled out independently of the table under test.
constexpr int16_t kR15 = 0, kRbp = 32, kRbx = 40, kR9 = 64, kR8 = 72, kRax = 80, kRcx = 88,
                  kRdx = 96, kRsi = 104, kRdi = 112, kRip = 128, kRsp = 152;

UsdtArgSpec one(const std::string& text) {
  auto spec = parse_usdt_spec(text);
  EXPECT_TRUE(spec) << text << ": " << spec.error().message;
  if (!spec) return {};
  EXPECT_EQ(spec->arg_cnt, 1) << text;
  return spec->args[0];
}

void expect_arg(const std::string& text, UsdtArgType type, int16_t reg_off, int64_t val_off,
                bool is_signed, int bitshift) {
  const UsdtArgSpec a = one(text);
  EXPECT_EQ(a.arg_type, type) << text;
  EXPECT_EQ(a.reg_off, reg_off) << text;
  EXPECT_EQ(a.val_off, static_cast<uint64_t>(val_off)) << text;
  EXPECT_EQ(a.arg_signed, is_signed) << text;
  EXPECT_EQ(a.arg_bitshift, bitshift) << text;
}

std::string refusal(const std::string& text) {
  auto spec = parse_usdt_spec(text);
  EXPECT_FALSE(spec) << text << " was accepted";
  return spec ? std::string() : spec.error().message;
}

TEST(UsdtSpec, RegisterForms) {
  expect_arg("-4@%edi", kUsdtArgReg, kRdi, 0, true, 32);
  expect_arg("8@%rdi", kUsdtArgReg, kRdi, 0, false, 0);
  expect_arg("2@%di", kUsdtArgReg, kRdi, 0, false, 48);
  expect_arg("-1@%dil", kUsdtArgReg, kRdi, 0, true, 56);
  expect_arg("-1@%al", kUsdtArgReg, kRax, 0, true, 56);
  expect_arg("2@%dx", kUsdtArgReg, kRdx, 0, false, 48);
  expect_arg("1@%cl", kUsdtArgReg, kRcx, 0, false, 56);
  expect_arg("-8@%rsi", kUsdtArgReg, kRsi, 0, true, 0);
  expect_arg("4@%ebx", kUsdtArgReg, kRbx, 0, false, 32);
  expect_arg("-4@%r8d", kUsdtArgReg, kR8, 0, true, 32);
  expect_arg("2@%r9w", kUsdtArgReg, kR9, 0, false, 48);
  expect_arg("1@%r15b", kUsdtArgReg, kR15, 0, false, 56);
  expect_arg("8@%rsp", kUsdtArgReg, kRsp, 0, false, 0);
  expect_arg("-1@%spl", kUsdtArgReg, kRsp, 0, true, 56);
}

TEST(UsdtSpec, MemoryAndConstantForms) {
  expect_arg("8@-8(%rbp)", kUsdtArgRegDeref, kRbp, -8, false, 0);
  expect_arg("-4@-1204(%rbp)", kUsdtArgRegDeref, kRbp, -1204, true, 32);
  expect_arg("-2@24(%rsp)", kUsdtArgRegDeref, kRsp, 24, true, 48);
  expect_arg("8@(%rsp)", kUsdtArgRegDeref, kRsp, 0, false, 0);
  expect_arg("8@16(%rip)", kUsdtArgRegDeref, kRip, 16, false, 0);
  expect_arg("4@$5", kUsdtArgConst, 0, 5, false, 32);
  expect_arg("-4@$-9", kUsdtArgConst, 0, -9, true, 32);
  expect_arg("8@$123456789012", kUsdtArgConst, 0, 123456789012, false, 0);
  // Blanks may surround every part (sscanf's rules) but not follow the register name.
  expect_arg(" -4 @ -20 ( %rbp) ", kUsdtArgRegDeref, kRbp, -20, true, 32);
}

TEST(UsdtSpec, SeveralArgumentsAndCookie) {
  auto spec = parse_usdt_spec("-4@%esi -4@-24(%rbp) -4@%ecx 2@%ax 8@%rdx", 0xabcdef);
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->arg_cnt, 5);
  EXPECT_EQ(spec->usdt_cookie, 0xabcdefu);
  EXPECT_EQ(spec->args[1].arg_type, kUsdtArgRegDeref);
  EXPECT_EQ(spec->args[1].val_off, static_cast<uint64_t>(-24));
  EXPECT_EQ(spec->args[3].reg_off, kRax);
  EXPECT_EQ(spec->args[3].arg_bitshift, 48);
  EXPECT_EQ(spec->args[4].reg_off, kRdx);
  auto none = parse_usdt_spec("");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->arg_cnt, 0);
  std::string twelve;
  for (int i = 0; i < 12; ++i) twelve += "8@%rax ";
  auto max = parse_usdt_spec(twelve);
  ASSERT_TRUE(max) << max.error().message;
  EXPECT_EQ(max->arg_cnt, 12);
}

TEST(UsdtSpec, RefusesWhatLibbpfRefuses) {
  // Scaled-index operands (gcc writes them for a[i]) have no arg type in libbpf 1.1.
  EXPECT_EQ(refusal("8@(%rax,%rdi,8)"), "unrecognized register 'rax,%rdi,8'");
  EXPECT_EQ(refusal("1@-96(%rbp,%rax,8)"), "unrecognized register 'rbp,%rax,8'");
  // Symbolic displacements (a global read %rip-relative) are not numbers.
  EXPECT_EQ(refusal("4@counter(%rip)"), "unrecognized arg #0 spec '4@counter(%rip)'");
  EXPECT_EQ(refusal("-4@%edi 4@counter(%rip)"), "unrecognized arg #1 spec '4@counter(%rip)'");
  EXPECT_EQ(refusal("4@%xmm0"), "unrecognized register 'xmm0'");
  EXPECT_EQ(refusal("4@-8( %rbp )"), "unrecognized register 'rbp '");
  EXPECT_EQ(refusal("3@%eax"), "unsupported arg #0 (spec '3@%eax') size: 3");
  EXPECT_EQ(refusal("8@%rax -16@%rdx"), "unsupported arg #1 (spec '-16@%rdx') size: 16");
  EXPECT_EQ(refusal("@%eax"), "unrecognized arg #0 spec '@%eax'");
  EXPECT_EQ(refusal("4%eax"), "unrecognized arg #0 spec '4%eax'");
  std::string thirteen;
  for (int i = 0; i < 13; ++i) thirteen += "8@%rax ";
  EXPECT_NE(refusal(thirteen).find("too many USDT arguments (> 12)"), std::string::npos);
}

TEST(UsdtSpec, RegisterOffsetsFollowPtRegs) {
  EXPECT_EQ(usdt_pt_regs_offset("rax"), kRax);
  EXPECT_EQ(usdt_pt_regs_offset("eip"), kRip);
  EXPECT_EQ(usdt_pt_regs_offset("r10w"), 56);
  EXPECT_EQ(usdt_pt_regs_offset("r11"), 48);
  EXPECT_EQ(usdt_pt_regs_offset("r12d"), 24);
  EXPECT_EQ(usdt_pt_regs_offset("r13b"), 16);
  EXPECT_EQ(usdt_pt_regs_offset("r14"), 8);
  EXPECT_EQ(usdt_pt_regs_offset(""), -1);
  EXPECT_EQ(usdt_pt_regs_offset("ip"), -1);
  EXPECT_EQ(usdt_pt_regs_offset("RAX"), -1);
}

// gcc's own argument specs: every note of the test binary parses, to the forms expected of it.
TEST(UsdtSpec, GccNotesOfTheTestBinary) {
  auto file = read_usdt_notes(USERBPF_USDT_PROBES);
  ASSERT_TRUE(file) << file.error().to_string();
  ASSERT_GE(file->notes.size(), 6u);
  bool saw_deref = false, saw_const = false, saw_reg = false;
  for (const UsdtNote& note : file->notes) {
    auto spec = parse_usdt_spec(note.args);
    ASSERT_TRUE(spec) << note.name << " '" << note.args << "': " << spec.error().message;
    for (int i = 0; i < spec->arg_cnt; ++i) {
      saw_deref |= spec->args[i].arg_type == kUsdtArgRegDeref;
      saw_const |= spec->args[i].arg_type == kUsdtArgConst;
      saw_reg |= spec->args[i].arg_type == kUsdtArgReg;
    }
    if (note.name == "stack") {
      // Built -O0: int16, uint8, int64 on the frame.
      ASSERT_EQ(spec->arg_cnt, 3) << note.args;
      EXPECT_EQ(spec->args[0].arg_type, kUsdtArgRegDeref);
      EXPECT_EQ(spec->args[0].reg_off, kRbp);
      EXPECT_TRUE(spec->args[0].arg_signed);
      EXPECT_EQ(spec->args[0].arg_bitshift, 48);
      EXPECT_FALSE(spec->args[1].arg_signed);
      EXPECT_EQ(spec->args[1].arg_bitshift, 56);
      EXPECT_EQ(spec->args[2].arg_bitshift, 0);
    }
    if (note.name == "wide") {
      ASSERT_EQ(spec->arg_cnt, 4) << note.args;
      EXPECT_EQ(spec->args[3].arg_type, kUsdtArgConst);
      EXPECT_EQ(spec->args[3].val_off, 42u);
    }
    if (note.name == "none") {
      EXPECT_EQ(spec->arg_cnt, 0);
    }
  }
  EXPECT_TRUE(saw_deref && saw_const && saw_reg);
}

}  // namespace
}  // namespace userbpf::object
