#include "trace/trace_buffer.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>

namespace userbpf::trace {
namespace {

std::filesystem::path temp_file(const char* name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("userbpf-trace-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::filesystem::remove(path);
  return path;
}

TraceEvent event(std::string message, int32_t pid = 1234) {
  TraceEvent e;
  e.timestamp_ns = 2531'337'643'123ull;
  e.pid = pid;
  e.cpu = 1;
  e.comm = "bash";
  e.message = std::move(message);
  return e;
}

TEST(TraceLine, MatchesTheKernelsTracePipeFormat) {
  // As the host kernel prints it: comm right-aligned in 16, pid left-aligned in 7, cpu in 3
  // digits, flags, seconds right-aligned in 5 with microseconds.
  EXPECT_EQ(format_trace_line(event("Hello, eBPF World!")),
            "            bash-1234    [001] d..1.  2531.337643: bpf_trace_printk: Hello, eBPF "
            "World!\n");
}

TEST(TraceLine, MessageWithNewlineGivesAnEmptyLineAsTheKernelDoes) {
  EXPECT_TRUE(format_trace_line(event("x\n")).ends_with(": bpf_trace_printk: x\n\n"));
}

TEST(TraceBuffer, ReadsConsumeInOrder) {
  auto buf = TraceBuffer::anonymous();
  ASSERT_TRUE(buf.ok()) << buf.error().to_string();
  for (int i = 0; i < 100; ++i) buf->write(event("msg " + std::to_string(i), i));
  for (int i = 0; i < 100; ++i) {
    auto e = buf->read();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "msg " + std::to_string(i));
    EXPECT_EQ(e->pid, i);
    EXPECT_EQ(e->comm, "bash");
    EXPECT_EQ(e->cpu, 1);
  }
  EXPECT_FALSE(buf->read().has_value());
  EXPECT_EQ(buf->overruns(), 0u);
}

TEST(TraceBuffer, OverwritesTheOldestWhenFullAndCountsOverruns) {
  auto buf = TraceBuffer::anonymous(1);  // rounds up to the minimum capacity
  ASSERT_TRUE(buf.ok());
  const std::string big(1000, 'x');
  const int written = static_cast<int>(buf->capacity() / 1000) * 3;
  for (int i = 0; i < written; ++i) buf->write(event(big + std::to_string(i)));
  EXPECT_GT(buf->overruns(), 0u);
  int read = 0;
  std::string last;
  while (auto e = buf->read()) {
    ++read;
    last = e->message;
  }
  EXPECT_EQ(static_cast<uint64_t>(read) + buf->overruns(), static_cast<uint64_t>(written));
  EXPECT_EQ(last, big + std::to_string(written - 1)) << "the newest event survives";
}

TEST(TraceBuffer, AnotherProcessSeesEventsLive) {
  const auto path = temp_file("live.buf");
  auto reader = TraceBuffer::open(path);
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  const pid_t child = fork();
  if (child == 0) {
    auto writer = TraceBuffer::open(path);
    if (!writer) _exit(2);
    usleep(50'000);  // let the parent block in read()
    for (int i = 0; i < 10; ++i)
      writer->write(event_for_current_thread("from child " + std::to_string(i)));
    _exit(0);
  }
  for (int i = 0; i < 10; ++i) {
    auto e = reader->read(std::chrono::milliseconds(5000));
    ASSERT_TRUE(e.has_value()) << "event " << i << " did not arrive";
    EXPECT_EQ(e->message, "from child " + std::to_string(i));
    EXPECT_EQ(e->pid, child);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(TraceBuffer, ALockHeldByADeadProcessIsTakenOver) {
  const auto path = temp_file("deadlock.buf");
  auto buf = TraceBuffer::open(path);
  ASSERT_TRUE(buf.ok());
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  {  // the lock word is at offset 16 of the header: pretend the dead child holds it
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(16);
    const uint32_t dead = static_cast<uint32_t>(child);
    f.write(reinterpret_cast<const char*>(&dead), sizeof dead);
  }
  buf->write(event("after"));
  auto e = buf->read();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->message, "after");
}

TEST(TraceBuffer, RefusesAFileThatIsNotATraceBuffer) {
  const auto path = temp_file("garbage.buf");
  {
    std::ofstream f(path, std::ios::binary);
    f << std::string(200000, 'g');
  }
  auto buf = TraceBuffer::open(path);
  ASSERT_FALSE(buf.ok());
  EXPECT_NE(buf.error().message.find("bad header"), std::string::npos);
  EXPECT_EQ(buf.error().where.file, path.string());

  const auto small = temp_file("small.buf");
  {
    std::ofstream f(small, std::ios::binary);
    f << "x";
  }
  auto truncated = TraceBuffer::open(small);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message.find("truncated"), std::string::npos);
}

TEST(TraceBuffer, CurrentThreadEventHasThisThreadsIdentity) {
  auto e = event_for_current_thread("m");
  EXPECT_EQ(e.pid, gettid());
  EXPECT_FALSE(e.comm.empty());
  EXPECT_GT(e.timestamp_ns, 0u);
}

}  // namespace
}  // namespace userbpf::trace
