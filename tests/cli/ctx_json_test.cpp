// `prog run --ctx-json`: contexts written as JSON objects of their struct's fields, encoded
// through the runtime's BTF; checked by what programs compute from the fields, by the bytes the
// encoder produces, and by the errors for fields that do not exist or do not fit.
#include "cli/ctx_json.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/subprocess.hpp"
#include "runtime/runtime_btf.hpp"

namespace userbpf::cli {
namespace {

const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kTracing = std::string(USERBPF_RUNTIME_PROG_DIR) + "/tracing_ctx.bpf.o";

std::vector<uint8_t> encode(const std::string& type, const std::string& text) {
  auto bytes = context_from_json(runtime::runtime_btf().get(), type, nlohmann::json::parse(text));
  EXPECT_TRUE(bytes) << bytes.error().to_string();
  return bytes ? *bytes : std::vector<uint8_t>{};
}

std::string encode_error(const std::string& type, const std::string& text) {
  auto bytes = context_from_json(runtime::runtime_btf().get(), type, nlohmann::json::parse(text));
  return bytes ? "" : bytes.error().message;
}

TEST(CtxJson, EncodesFieldsAtTheirOffsets) {
  const auto md = encode("xdp_md", R"({"data_end": 64, "ingress_ifindex": 3})");
  ASSERT_EQ(md.size(), sizeof(xdp_md));
  xdp_md x;
  std::memcpy(&x, md.data(), sizeof x);
  EXPECT_EQ(x.data, 0u);
  EXPECT_EQ(x.data_end, 64u);
  EXPECT_EQ(x.ingress_ifindex, 3u);

  const auto skb = encode("__sk_buff", R"({"mark": 7, "cb": [1, 2, 3, 4, 5]})");
  ASSERT_EQ(skb.size(), sizeof(__sk_buff));
  __sk_buff s;
  std::memcpy(&s, skb.data(), sizeof s);
  EXPECT_EQ(s.mark, 7u);
  EXPECT_EQ(s.cb[4], 5u);

  // A flexible array grows the context; negative numbers for signed fields.
  const auto raw = encode("bpf_raw_tracepoint_args", R"({"args": [1, 2, 3]})");
  ASSERT_EQ(raw.size(), 24u);
  uint64_t args[3];
  std::memcpy(args, raw.data(), sizeof args);
  EXPECT_EQ(args[2], 3u);
  const auto exit_rec = encode("trace_event_raw_sys_exit", R"({"id": 1, "ret": -2})");
  int64_t ret;
  std::memcpy(&ret, exit_rec.data() + 16, 8);
  EXPECT_EQ(ret, -2);
  const auto nested = encode("trace_event_raw_sys_enter", R"({"ent": {"pid": 42}})");
  int32_t pid;
  std::memcpy(&pid, nested.data() + 4, 4);
  EXPECT_EQ(pid, 42);
}

TEST(CtxJson, RefusesWhatTheStructCannotHold) {
  EXPECT_EQ(encode_error("xdp_md", R"({"nope": 1})"),
            "ctx field 'nope': no such field in struct xdp_md");
  EXPECT_EQ(encode_error("xdp_md", R"({"data": 4294967296})"),
            "ctx field 'data': 4294967296 does not fit in 4 bytes");
  EXPECT_EQ(encode_error("xdp_md", R"({"data": -1})"),
            "ctx field 'data': negative value for an unsigned field");
  EXPECT_EQ(encode_error("trace_event_raw_sys_enter", R"({"args": [1,2,3,4,5,6,7]})"),
            "ctx field 'args': 7 elements for an array of 6");
  EXPECT_EQ(encode_error("trace_event_raw_sys_enter", R"({"ent": 3})"),
            "ctx field 'ent': expected an object, got 3");
  EXPECT_EQ(encode_error("trace_event_raw_sys_enter", R"({"id": "x"})"),
            "ctx field 'id': expected an integer, got \"x\"");
}

class CtxJsonRun : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/userbpf-ctxjson-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  testing::ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", dir_ + "/state", "-j", "prog", "run", kTracing});
    return testing::run_process(kBinary, args);
  }
  uint64_t retval(const std::vector<std::string>& args) {
    const auto r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out).at("retval").get<uint64_t>() : ~0ull;
  }
  std::string dir_;
};

TEST_F(CtxJsonRun, ProgramsSeeTheFieldsGiven) {
  // PT_REGS_PARM1 * 100 + PT_REGS_PARM2 + PT_REGS_IP
  EXPECT_EQ(retval({"--prog", "kprobe_regs", "--ctx-json", R"({"di": 3, "si": 4, "ip": 5})"}),
            309u);
  EXPECT_EQ(retval({"--prog", "raw_tp_args", "--ctx-json", R"({"args": [7, 2]})"}), 72u);
  // id * 1000 + args[0] + args[5]
  EXPECT_EQ(retval({"--prog", "tp_sum", "--ctx-json", R"({"id": 2, "args": [10, 0, 0, 0, 0, 5]})"}),
            2015u);
  // A ctx_in file holding JSON is read the same way; ctx_out is decoded under -j.
  const std::string file = dir_ + "/ctx.json";
  std::ofstream(file) << "  {\"di\": 1, \"si\": 3}\n";
  const auto r = run({"--prog", "kprobe_regs", "ctx_in", file, "ctx_out", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("retval"), 103);
  EXPECT_EQ(j.at("ctx_out_formatted").at("di"), 1);
  EXPECT_EQ(j.at("ctx_out_formatted").at("si"), 3);
}

TEST_F(CtxJsonRun, ErrorsNameTheField) {
  const auto bad = run({"--prog", "kprobe_regs", "--ctx-json", R"({"rdi": 1})"});
  EXPECT_EQ(bad.exit_code, 255);
  EXPECT_NE(bad.out.find("ctx field 'rdi': no such field in struct pt_regs"), std::string::npos)
      << bad.out;
  const auto not_json = run({"--prog", "kprobe_regs", "--ctx-json", "[1]"});
  EXPECT_EQ(not_json.exit_code, 255);
  EXPECT_NE(not_json.out.find("the context is not a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace userbpf::cli
