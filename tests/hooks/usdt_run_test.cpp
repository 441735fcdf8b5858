// `userbpf run OBJ -- CMD` auto-attaches usdt/PATH:PROVIDER:NAME sections as a user runs it: the
// probe binary found through PATH (libbpf's search), every hit printed once as a JSON event.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

namespace {

namespace fs = std::filesystem;

TEST(UsdtRun, AutoAttachesUsdtSectionsThroughPath) {
  char tmpl[] = "/tmp/userbpf-usdt-run-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  const std::string bin_dir = fs::path(USERBPF_USDT_PROBES).parent_path().string();
  const std::string line = "PATH=" + bin_dir + ":$PATH timeout 60 " + USERBPF_BIN_DIR +
                           "/userbpf --state-dir " + (dir / "state").string() + " run " +
                           USERBPF_HOOK_PROG_DIR + "/usdt_probes.bpf.o --event-type usdt_event " +
                           "-j -- usdt_probes 3 2>" + (dir / "err").string();
  FILE* pipe = popen(line.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  fs::remove_all(dir);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  std::map<int, int> hits;
  size_t start = 0;
  while (start < out.size()) {
    const size_t end = out.find('\n', start);
    const std::string l = out.substr(start, end - start);
    start = end == std::string::npos ? out.size() : end + 1;
    const size_t at = l.find("\"probe\":");
    if (at != std::string::npos) ++hits[std::atoi(l.c_str() + at + 8)];
  }
  for (int probe = 1; probe <= 5; ++probe) EXPECT_EQ(hits[probe], 3) << "probe " << probe;
  EXPECT_NE(out.find("\"str\":\"gamma\""), std::string::npos);
  EXPECT_NE(out.find("guarded=3"), std::string::npos);
}

}  // namespace
