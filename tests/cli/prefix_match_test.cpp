#include "cli/prefix_match.hpp"

#include <gtest/gtest.h>

namespace userbpf::cli {
namespace {

// bpftool's prog commands, with list and dump preferred as in src/cli/prog.cpp.
const PrefixCandidate kCommands[] = {
    {"show"},    {"list", true}, {"help"},   {"dump", true}, {"pin"}, {"load"},
    {"loadall"}, {"attach"},     {"detach"}, {"tracelog"},   {"run"}, {"profile"},
};

std::string_view matched(std::string_view word) {
  const PrefixMatch m = match_prefix(word, kCommands);
  return m.found() ? kCommands[m.index].name : std::string_view("<none>");
}

TEST(CliPrefixMatch, ExactAndUniquePrefixes) {
  EXPECT_EQ(matched("run"), "run");
  EXPECT_EQ(matched("r"), "run");
  EXPECT_EQ(matched("ru"), "run");
  EXPECT_EQ(matched("tr"), "tracelog");
  EXPECT_EQ(matched("pr"), "profile");
}

TEST(CliPrefixMatch, ExactMatchBeatsLongerCandidate) {
  EXPECT_EQ(matched("load"), "load");
  EXPECT_EQ(matched("loada"), "loadall");
}

TEST(CliPrefixMatch, PreferredEntryWinsATie) {
  EXPECT_EQ(matched("d"), "dump");  // dump and detach
  EXPECT_EQ(matched("l"), "list");  // list, load, loadall
}

TEST(CliPrefixMatch, TieWithoutPreferenceIsAmbiguous) {
  const PrefixMatch m = match_prefix("lo", kCommands);
  ASSERT_EQ(m.status, PrefixMatch::Status::ambiguous);
  ASSERT_EQ(m.tied.size(), 2u);
  EXPECT_EQ(ambiguous_prefix_message("lo", m.tied),
            "ambiguous prefix: 'lo' could be 'load' or 'loadall'");
  EXPECT_EQ(match_prefix("p", kCommands).status, PrefixMatch::Status::ambiguous);
}

TEST(CliPrefixMatch, NoMatch) {
  EXPECT_EQ(match_prefix("x", kCommands).status, PrefixMatch::Status::none);
  EXPECT_EQ(match_prefix("runs", kCommands).status, PrefixMatch::Status::none);
  EXPECT_EQ(match_prefix("", kCommands).status, PrefixMatch::Status::none);
}

TEST(CliPrefixMatch, TwoPreferredInATieIsAmbiguous) {
  const PrefixCandidate both[] = {{"dump", true}, {"detach", true}};
  EXPECT_EQ(match_prefix("d", both).status, PrefixMatch::Status::ambiguous);
  EXPECT_TRUE(match_prefix("du", both).found());
}

}  // namespace
}  // namespace userbpf::cli
