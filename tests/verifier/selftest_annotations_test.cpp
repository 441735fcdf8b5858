// The reader of the verifier selftests' BTF decl-tag annotations, on BTF built in memory.
#include "verifier/selftest_annotations.hpp"

#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <memory>

namespace userbpf::verifier_selftests {
namespace {

struct BtfDeleter {
  void operator()(::btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<::btf, BtfDeleter>;

// A BTF with one function `name` carrying `tags`, and a second function `other` tagged
// __failure (its tags must not leak into `name`'s).
BtfPtr btf_with(const std::string& name, const std::vector<std::string>& tags) {
  BtfPtr b(btf__new_empty());
  const int proto = btf__add_func_proto(b.get(), 0);
  const int func = btf__add_func(b.get(), name.c_str(), BTF_FUNC_GLOBAL, proto);
  const int other = btf__add_func(b.get(), "other", BTF_FUNC_GLOBAL, proto);
  for (const auto& tag : tags) btf__add_decl_tag(b.get(), tag.c_str(), func, -1);
  btf__add_decl_tag(b.get(), "comment:test_expect_failure", other, -1);
  btf__add_decl_tag(b.get(), "comment:test_expect_msg=99=not mine", other, -1);
  btf__add_decl_tag(b.get(), "comment:test_expect_msg=98=parameter tag", func, 0);
  return b;
}

TEST(SelftestAnnotations, NoTagsMeansPrivilegedSuccess) {
  auto b = btf_with("f", {});
  auto a = read_annotations(b.get(), "f");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_TRUE(a->priv.tested);
  EXPECT_FALSE(a->priv.expect_failure);
  EXPECT_FALSE(a->unpriv.tested);
  EXPECT_TRUE(a->priv.messages.empty());  // the parameter's tag (component 0) is not the func's
  EXPECT_EQ(a->description, "f");
  EXPECT_TRUE(a->runs_on_x86_64());
}

TEST(SelftestAnnotations, FailureMessagesInOrderAndUnprivInherits) {
  auto b = btf_with("f", {"comment:test_description=a test", "comment:test_expect_failure",
                          "comment:test_expect_msg=3=R0 invalid mem access 'scalar'",
                          "comment:test_expect_msg=4=R0 invalid mem access 'scalar'",
                          "comment:test_expect_success_unpriv"});
  auto a = read_annotations(b.get(), "f");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->description, "a test");
  EXPECT_TRUE(a->priv.tested && a->priv.expect_failure);
  ASSERT_EQ(a->priv.messages.size(), 2u);
  EXPECT_EQ(a->priv.messages[0].text, "R0 invalid mem access 'scalar'");
  EXPECT_TRUE(a->priv.messages[0].regex.empty());
  EXPECT_TRUE(a->unpriv.tested);
  EXPECT_FALSE(a->unpriv.expect_failure);    // its own result
  EXPECT_EQ(a->unpriv.messages.size(), 2u);  // inherited messages
}

TEST(SelftestAnnotations, UnprivOnlyInheritsFailure) {
  auto b = btf_with("f", {"comment:test_expect_msg_unpriv=1=pointer comparison prohibited",
                          "comment:test_retval=0x10"});
  auto a = read_annotations(b.get(), "f");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->priv.tested);  // __retval implies privileged mode
  EXPECT_TRUE(a->unpriv.tested);
  EXPECT_EQ(a->unpriv.retval, "0x10");
  ASSERT_EQ(a->unpriv.messages.size(), 1u);
  EXPECT_TRUE(a->priv.messages.empty());
}

TEST(SelftestAnnotations, FlagsLogLevelArchAuxiliary) {
  auto b = btf_with(
      "f", {"comment:test_prog_flags=BPF_F_STRICT_ALIGNMENT",
            "comment:test_prog_flags=BPF_F_TEST_STATE_FREQ",
            "comment:test_prog_flags=!BPF_F_STRICT_ALIGNMENT", "comment:test_prog_flags=0x40",
            "comment:test_log_level=2", "comment:test_arch=ARM64", "comment:test_auxiliary"});
  auto a = read_annotations(b.get(), "f");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->prog_flags, static_cast<uint32_t>(BPF_F_TEST_STATE_FREQ | 0x40));
  EXPECT_EQ(a->log_level, 2);
  EXPECT_FALSE(a->runs_on_x86_64());
  EXPECT_TRUE(a->auxiliary);
}

TEST(SelftestAnnotations, BadTagsAreErrors) {
  auto flag = btf_with("f", {"comment:test_prog_flags=BPF_F_NO_SUCH_FLAG"});
  auto a = read_annotations(flag.get(), "f");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("test_prog_flags"), std::string::npos);
  auto arch = btf_with("f", {"comment:test_arch=MIPS"});
  EXPECT_FALSE(read_annotations(arch.get(), "f"));
  auto regex = btf_with("f", {"comment:test_expect_msg=1=R{{[0-9]"});
  EXPECT_FALSE(read_annotations(regex.get(), "f"));
  EXPECT_FALSE(read_annotations(flag.get(), "missing"));
}

TEST(SelftestAnnotations, MessagesMatchInOrderWithRegex) {
  auto b = btf_with("f", {"comment:test_expect_msg=1=R1 type=ctx",
                          "comment:test_expect_msg=2=r{{[0-9]+}} = *(u32 *)(r1 +0)",
                          "comment:test_expect_msg=3=invalid access"});
  auto a = read_annotations(b.get(), "f");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->priv.messages.size(), 3u);
  EXPECT_EQ(a->priv.messages[1].regex, "r[0-9]+ = \\*\\(u32 \\*\\)\\(r1 \\+0\\)");
  const std::string log = "0: R1 type=ctx\n1: (61) r2 = *(u32 *)(r1 +0)\ninvalid access to ctx\n";
  std::string missing;
  EXPECT_TRUE(log_matches(log, a->priv.messages, &missing)) << missing;
  // Order matters: each message is searched after the previous match.
  const std::string reordered = "invalid access\n0: R1 type=ctx\n1: r2 = *(u32 *)(r1 +0)\n";
  EXPECT_FALSE(log_matches(reordered, a->priv.messages, &missing));
  EXPECT_EQ(missing, "invalid access");
  EXPECT_FALSE(log_matches("r = *(u32 *)(r1 +0)", {a->priv.messages[1]}));
}

}  // namespace
}  // namespace userbpf::verifier_selftests
