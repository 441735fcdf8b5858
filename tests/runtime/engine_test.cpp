// The engine a runtime gives verified programs: the JIT by default where available, the
// interpreter on request (set_engine, USERBPF_ENGINE, the CLI's --engine); programs the verifier
// did not accept never get machine code.
#include "runtime/engine.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "jit/jit.hpp"
#include "object/object.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::runtime {
namespace {

std::filesystem::path fresh_state_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("userbpf-engine-test-" + std::to_string(getpid())) / name;
  std::filesystem::remove_all(dir);
  return dir;
}

// Sets USERBPF_ENGINE for one scope and puts the previous value back.
class ScopedEngineEnv {
 public:
  explicit ScopedEngineEnv(const char* value) {
    if (const char* old = std::getenv("USERBPF_ENGINE")) old_ = old;
    if (value)
      setenv("USERBPF_ENGINE", value, 1);
    else
      unsetenv("USERBPF_ENGINE");
  }
  ~ScopedEngineEnv() {
    if (old_)
      setenv("USERBPF_ENGINE", old_->c_str(), 1);
    else
      unsetenv("USERBPF_ENGINE");
  }

 private:
  std::optional<std::string> old_;
};

TEST(Engine, NamesParseAndUnknownOnesAreRefused) {
  auto interp = parse_engine("interp");
  ASSERT_TRUE(interp.ok());
  EXPECT_EQ(*interp, Engine::interpreter);
  EXPECT_EQ(engine_name(Engine::interpreter), "interp");
  EXPECT_EQ(engine_name(Engine::jit), "jit");
  auto bad = parse_engine("llvm");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_NE(bad.error().message.find("unknown engine 'llvm'"), std::string::npos);
  if (!jit::available()) GTEST_SKIP() << "no JIT on this machine (x86-64 only)";
  auto jit = parse_engine("jit");
  ASSERT_TRUE(jit.ok());
  EXPECT_EQ(*jit, Engine::jit);
}

TEST(Engine, DefaultIsTheJitUnlessTheEnvironmentSaysOtherwise) {
  {
    ScopedEngineEnv env(nullptr);
    auto engine = default_engine();
    ASSERT_TRUE(engine.ok());
    EXPECT_EQ(*engine, jit::available() ? Engine::jit : Engine::interpreter);
  }
  {
    ScopedEngineEnv env("interp");
    auto engine = default_engine();
    ASSERT_TRUE(engine.ok());
    EXPECT_EQ(*engine, Engine::interpreter);
    auto rt = Runtime::open(fresh_state_dir("env-interp"));
    ASSERT_TRUE(rt.ok()) << rt.error().to_string();
    EXPECT_EQ(rt->engine(), Engine::interpreter);
  }
  {
    ScopedEngineEnv env("fast");
    auto rt = Runtime::open(fresh_state_dir("env-bad"));
    ASSERT_FALSE(rt.ok());
    EXPECT_NE(rt.error().message.find("USERBPF_ENGINE: unknown engine 'fast'"), std::string::npos)
        << rt.error().message;
  }
}

// The tutorial's program, instantiated under each engine: machine code is attached exactly when
// the program is verified and the engine is the JIT, and both give the same output.
TEST(Engine, VerifiedProgramsGetMachineCodeUnverifiedOnesNever) {
  if (!jit::available()) GTEST_SKIP() << "no JIT on this machine (x86-64 only)";
  auto obj = object::open(std::string(USERBPF_BPF_OBJECT_DIR) + "/seed/hello_kern.o");
  ASSERT_TRUE(obj.ok()) << obj.error().to_string();
  auto rt = Runtime::open(fresh_state_dir("instances"));
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  auto verified = rt->load(*obj);
  ASSERT_TRUE(verified.ok()) << verified.error().to_string();
  LoadOptions unverified_options;
  unverified_options.unverified = true;
  auto unverified = rt->load(*obj, unverified_options);
  ASSERT_TRUE(unverified.ok()) << unverified.error().to_string();

  struct Expectation {
    Engine engine;
    const ProgramRecord* record;
    bool native;
  };
  const Expectation cases[] = {
      {Engine::jit, &verified->front(), true},
      {Engine::interpreter, &verified->front(), false},
      {Engine::jit, &unverified->front(), false},
  };
  for (const Expectation& c : cases) {
    rt->set_engine(c.engine);
    auto prog = rt->instantiate(*c.record);
    ASSERT_TRUE(prog.ok()) << prog.error().to_string();
    EXPECT_EQ((*prog)->interpreter().native() != nullptr, c.native)
        << engine_name(c.engine) << (c.record->verified ? " verified" : " unverified");
    uint8_t record[64] = {};
    const vm::Region ctx{reinterpret_cast<uint64_t>(record), sizeof record, false, "ctx"};
    auto out = (*prog)->run(reinterpret_cast<uint64_t>(record), ctx, /*checked=*/false);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto event = rt->trace().read();
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->message, "Hello, eBPF World!");
  }
}

}  // namespace
}  // namespace userbpf::runtime
