// The runtime end to end: load the seed tutorial's object, list it, pin it, run it, read its
// output from the trace buffer, and see the state from a fresh Runtime as another process would.
#include "runtime/runtime.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "object/object.hpp"
#include "runtime/tag.hpp"

namespace userbpf::runtime {
namespace {

std::filesystem::path fresh_state_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("userbpf-runtime-test-" + std::to_string(getpid())) / name;
  std::filesystem::remove_all(dir);
  return dir;
}

std::string hello_object() {
  return std::string(USERBPF_BPF_OBJECT_DIR) + "/seed/hello_kern.o";
}

TEST(Sha256, MatchesKnownDigests) {
  auto hex = [](std::string_view s) {
    auto d = sha256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    std::string out;
    for (uint8_t b : d) out += "0123456789abcdef"[b >> 4], out += "0123456789abcdef"[b & 15];
    return out;
  };
  // FIPS 180 examples
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(std::string(1000, 'a')).substr(0, 16), "41edece42d63e8d9");
}

TEST(Runtime, LoadsTheTutorialProgramAndItPrintsToTheTracePipe) {
  auto obj = object::open(hello_object());
  ASSERT_TRUE(obj.ok()) << obj.error().to_string();
  auto rt = Runtime::open(fresh_state_dir("hello"));
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();

  auto loaded = rt->load(*obj);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  ASSERT_EQ(loaded->size(), 1u);
  const ProgramRecord& rec = loaded->front();
  EXPECT_EQ(rec.name, "hello");
  EXPECT_EQ(rec.prog_type, static_cast<uint32_t>(BPF_PROG_TYPE_TRACEPOINT));
  EXPECT_EQ(rec.attach_target, "syscalls/sys_enter_execve");
  EXPECT_EQ(rec.license, "GPL");
  EXPECT_TRUE(rec.gpl);
  EXPECT_EQ(rec.tag.size(), 16u);
  // The object's string section is a map, but hello never references it: like the kernel's
  // used_maps, bpftool's map_ids stays empty.
  EXPECT_TRUE(used_map_ids(rec).empty());

  auto pinned = rt->pin("/sys/fs/bpf/hello", {PinKind::prog, rec.id});
  ASSERT_TRUE(pinned.ok()) << pinned.error().to_string();
  auto again = rt->pin("/sys/fs/bpf/hello", {PinKind::prog, rec.id});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("File exists"), std::string::npos);

  auto runnable = rt->instantiate(rec);
  ASSERT_TRUE(runnable.ok()) << runnable.error().to_string();
  uint8_t record[64] = {};  // a sys_enter_execve record; hello does not read it
  const vm::Region ctx{reinterpret_cast<uint64_t>(record), sizeof record, false, "ctx"};
  for (bool checked : {true, false}) {
    auto out = (*runnable)->run(reinterpret_cast<uint64_t>(record), ctx, checked);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    EXPECT_EQ(out->retval, 0u);
    auto event = rt->trace().read();
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->message, "Hello, eBPF World!");
    EXPECT_EQ(event->pid, gettid());
  }
}

TEST(Runtime, AnotherProcessSeesPinnedProgramsAndTheirOwnersDeathCleansUnpinnedOnes) {
  const auto dir = fresh_state_dir("lifetime");
  const pid_t child = fork();
  if (child == 0) {
    auto obj = object::open(hello_object());
    auto rt = Runtime::open(dir);
    if (!obj || !rt) _exit(2);
    auto a = rt->load(*obj);
    auto b = rt->load(*obj);
    if (!a || !b) _exit(3);
    if (!rt->pin("/sys/fs/bpf/kept", {PinKind::prog, a->front().id})) _exit(4);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  auto rt = Runtime::open(dir);
  ASSERT_TRUE(rt.ok());
  const auto progs = rt->programs();  // collects the unpinned program of the dead child
  ASSERT_EQ(progs.size(), 1u);
  EXPECT_EQ(progs.front().name, "hello");
  auto target = rt->resolve_pin("/sys/fs/bpf/kept");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->id, progs.front().id);
  EXPECT_EQ(rt->pins_of({PinKind::prog, progs.front().id}),
            std::vector<std::string>{"/sys/fs/bpf/kept"});

  ASSERT_TRUE(rt->unpin("/sys/fs/bpf/kept").ok());
  EXPECT_TRUE(rt->programs().empty()) << "unpinned and ownerless: gone, like a closed fd";
}

TEST(Runtime, UsedMapIdsAreTheMapsTheInstructionsReference) {
  ProgramRecord rec;
  rec.map_ids = {10, 11, 12};
  rec.insns = {isa::make_raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_IDX, 0, 2),
               isa::make_raw(0, 0, 0, 0, 0),
               isa::make_raw(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_IDX_VALUE, 0, 0),
               isa::make_raw(0, 0, 0, 0, 8),
               isa::make_raw(BPF_LD | BPF_IMM | BPF_DW, 3, BPF_PSEUDO_MAP_IDX, 0, 2),
               isa::make_raw(0, 0, 0, 0, 0),
               isa::make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  EXPECT_EQ(used_map_ids(rec), (std::vector<uint32_t>{12, 10}));
}

TEST(Runtime, PinPathsMustBeOnTheBpfFileSystem) {
  auto rt = Runtime::open(fresh_state_dir("pins"));
  ASSERT_TRUE(rt.ok());
  for (const char* bad : {"/tmp/x", "/sys/fs/bpfx", "/sys/fs/bpf", "/sys/fs/bpf/../etc/passwd"}) {
    auto r = rt->pin(bad, {PinKind::prog, 1});
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_TRUE(rt->pin("/sys/fs/bpf/a/b/c", {PinKind::map, 7}).ok()) << "parents are created";
  auto t = rt->resolve_pin("/sys/fs/bpf/a/b/c");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, PinKind::map);
  EXPECT_EQ(t->id, 7u);
  EXPECT_FALSE(rt->resolve_pin("/sys/fs/bpf/none").ok());
}

TEST(Runtime, UnknownIdsAndProgramNamesAreReported) {
  auto rt = Runtime::open(fresh_state_dir("unknown"));
  ASSERT_TRUE(rt.ok());
  auto p = rt->program(12345);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, Errc::not_found);
  auto obj = object::open(hello_object());
  ASSERT_TRUE(obj.ok());
  LoadOptions options;
  options.only_program = "nope";
  auto loaded = rt->load(*obj, options);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("no program 'nope'"), std::string::npos);
}

}  // namespace
}  // namespace userbpf::runtime
