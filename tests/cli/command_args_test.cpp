#include "cli/command_args.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace userbpf::cli {
namespace {

constexpr OptionSpec kSpecs[] = {
    {"data", 0, "data_in", "FILE", ""}, {"data-out", 0, "data_out", "FILE", ""},
    {"repeat", 0, "repeat", "N", ""},   {"checked", 0, "", "", ""},
    {"opcodes", 0, "opcodes", "", ""},  {"engine", 'e', "", "ENGINE", ""},
};
constexpr std::string_view kFile[] = {"FILE"};

Result<ParsedArgs> parse(std::vector<std::string> args) {
  return parse_args(args, kSpecs, ParseRules{"prog run", kFile});
}

std::string error_of(std::vector<std::string> args) {
  auto parsed = parse(std::move(args));
  return parsed ? "<ok>" : parsed.error().message;
}

TEST(CliCommandArgs, GnuOptions) {
  auto p = parse({"prog.asm", "--data", "in.bin", "--repeat=5", "--checked", "-e", "interp"});
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->positionals, std::vector<std::string>{"prog.asm"});
  EXPECT_EQ(*p->value("data"), "in.bin");
  EXPECT_EQ(*p->value("repeat"), "5");
  EXPECT_TRUE(p->has("checked"));
  EXPECT_EQ(*p->value("engine"), "interp");
  EXPECT_FALSE(p->has("data-out"));
}

TEST(CliCommandArgs, BpftoolKeywordsAfterPositional) {
  auto p = parse({"prog.asm", "data_in", "in.bin", "rep", "3", "opcodes"});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p->value("data"), "in.bin");
  EXPECT_EQ(*p->value("repeat"), "3");
  EXPECT_TRUE(p->has("opcodes"));
}

TEST(CliCommandArgs, KeywordSpellingIsThePositionalFirst) {
  // The first bare word is FILE even if it looks like a keyword, as in bpftool.
  auto p = parse({"repeat", "repeat", "2"});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->positionals[0], "repeat");
  EXPECT_EQ(*p->value("repeat"), "2");
}

TEST(CliCommandArgs, LastValueWins) {
  auto p = parse({"f", "--repeat", "2", "repeat", "7"});
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->value("repeat"), "7");
}

TEST(CliCommandArgs, LongOptionPrefix) {
  auto p = parse({"f", "--rep", "4", "--check"});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p->value("repeat"), "4");
  EXPECT_TRUE(p->has("checked"));
}

TEST(CliCommandArgs, DoubleDashEndsOptions) {
  auto p = parse({"--", "--weird-name"});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->positionals[0], "--weird-name");
}

TEST(CliCommandArgs, Errors) {
  EXPECT_EQ(error_of({"f", "--foo"}), "unknown option '--foo'");
  EXPECT_EQ(error_of({"f", "-z"}), "unknown option '-z'");
  EXPECT_EQ(error_of({"f", "--d", "x"}),
            "ambiguous prefix: '--d' could be '--data' or '--data-out'");
  EXPECT_EQ(error_of({"f", "--repeat"}), "option '--repeat' needs an argument (N)");
  EXPECT_EQ(error_of({"f", "repeat"}), "'repeat' needs an argument (N)");
  EXPECT_EQ(error_of({"f", "--checked=1"}), "option '--checked' takes no argument");
  EXPECT_EQ(error_of({"f", "data", "x"}),
            "ambiguous prefix: 'data' could be 'data_in' or 'data_out'");
  EXPECT_EQ(
      error_of({"f", "bogus"}),
      "expected no more arguments, 'data_in', 'data_out', 'repeat' or 'opcodes', got: 'bogus'?");
}

TEST(CliCommandArgs, GlobalOptionsStopAtTheObject) {
  const std::vector<std::string> args = {"-jp", "--state-dir", "/tmp/s", "prog", "-d"};
  auto p = parse_args(args, global_option_specs(), ParseRules{"", {}, true});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->consumed, 3u);
  std::ostringstream out, err;
  Context ctx(out, err);
  apply_global_options(*p, ctx);
  EXPECT_TRUE(ctx.json);
  EXPECT_TRUE(ctx.pretty);
  EXPECT_FALSE(ctx.debug);
  EXPECT_EQ(ctx.state_dir, "/tmp/s");
}

TEST(CliCommandArgs, CommandArgsAcceptGlobalsAndRequirePositionals) {
  std::ostringstream out, err;
  Context ctx(out, err);
  const std::vector<std::string> args = {"f", "-d", "--json"};
  auto p = parse_command_args(args, kSpecs, ParseRules{"prog run", kFile}, ctx);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(ctx.debug);
  EXPECT_TRUE(ctx.json);

  const std::vector<std::string> none = {"--checked"};
  auto missing = parse_command_args(none, kSpecs, ParseRules{"prog run", kFile}, ctx);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "'prog run' needs FILE");

  const std::vector<std::string> help = {"-h"};
  EXPECT_TRUE(parse_command_args(help, kSpecs, ParseRules{"prog run", kFile}, ctx));
}

TEST(CliCommandArgs, ParseUnsigned) {
  EXPECT_EQ(*parse_unsigned("42", "N"), 42u);
  EXPECT_EQ(*parse_unsigned("0x10", "N"), 16u);
  EXPECT_EQ(*parse_unsigned("18446744073709551615", "N"), UINT64_MAX);
  EXPECT_FALSE(parse_unsigned("18446744073709551616", "N"));
  EXPECT_FALSE(parse_unsigned("-1", "N"));
  EXPECT_FALSE(parse_unsigned("", "N"));
  EXPECT_FALSE(parse_unsigned("0x", "N"));
  EXPECT_EQ(parse_unsigned("5x", "repeat number").error().message,
            "can't parse '5x' as repeat number");
}

}  // namespace
}  // namespace userbpf::cli
