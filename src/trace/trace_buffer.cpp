#include "trace/trace_buffer.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace userbpf::trace {
namespace {

constexpr uint64_t kMagic = 0x5452434642505355ull;  // "USPBFCRT"
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 4096;
constexpr size_t kMinCapacity = 1 << 16;
constexpr size_t kMaxMessage = 4096;
constexpr size_t kCommLen = 16;

struct Header {
  uint64_t magic;
  uint32_t version;
  uint32_t capacity;               // bytes of record data, a power of two
  std::atomic<uint32_t> lock;      // 0 = free, otherwise the holder's pid
  std::atomic<uint32_t> seq;       // bumped on every write; readers futex-wait on it
  std::atomic<uint64_t> head;      // bytes ever written
  std::atomic<uint64_t> tail;      // bytes ever consumed or overwritten
  std::atomic<uint64_t> overruns;  // events overwritten unread
};
static_assert(sizeof(Header) <= kHeaderBytes);
static_assert(std::atomic<uint32_t>::is_always_lock_free &&
                  std::atomic<uint64_t>::is_always_lock_free,
              "the header is shared between processes");

struct RecordHead {
  uint32_t total;  // bytes of the whole record, padded to 8
  uint32_t message_len;
  uint64_t timestamp_ns;
  int32_t pid;
  int32_t cpu;
  char comm[kCommLen];
};

size_t round_up_pow2(size_t n) {
  size_t p = kMinCapacity;
  while (p < n) p <<= 1;
  return p;
}

Error sys_error(const std::string& what, const std::filesystem::path& file) {
  Location where;
  where.file = file.string();
  return make_error(Errc::io, what + ": " + std::strerror(errno), where);
}

}  // namespace

struct TraceBuffer::Mapping {
  void* base = MAP_FAILED;
  size_t size = 0;
  Header* header() const { return static_cast<Header*>(base); }
  uint8_t* data() const { return static_cast<uint8_t*>(base) + kHeaderBytes; }
  uint64_t mask() const { return header()->capacity - 1; }

  ~Mapping() {
    if (base != MAP_FAILED) munmap(base, size);
  }

  // A process-shared spinlock; a holder that died is detected by its pid and replaced.
  void lock() const {
    const uint32_t me = static_cast<uint32_t>(getpid());
    auto& word = header()->lock;
    for (unsigned spins = 0;; ++spins) {
      uint32_t expected = 0;
      if (word.compare_exchange_weak(expected, me, std::memory_order_acquire)) return;
      if (spins > 1000) {
        if (expected != 0 && expected != me && kill(static_cast<pid_t>(expected), 0) != 0 &&
            errno == ESRCH) {
          word.compare_exchange_strong(expected, me, std::memory_order_acquire);
          if (word.load(std::memory_order_relaxed) == me) return;
        }
        sched_yield();
      }
    }
  }
  void unlock() const { header()->lock.store(0, std::memory_order_release); }

  void copy_in(uint64_t pos, const void* src, size_t n) const {
    const uint64_t off = pos & mask();
    const size_t first = std::min<size_t>(n, header()->capacity - off);
    std::memcpy(data() + off, src, first);
    std::memcpy(data(), static_cast<const uint8_t*>(src) + first, n - first);
  }
  void copy_out(uint64_t pos, void* dst, size_t n) const {
    const uint64_t off = pos & mask();
    const size_t first = std::min<size_t>(n, header()->capacity - off);
    std::memcpy(dst, data() + off, first);
    std::memcpy(static_cast<uint8_t*>(dst) + first, data(), n - first);
  }
};

static Result<std::unique_ptr<TraceBuffer::Mapping>> map_fd(int fd,
                                                            const std::filesystem::path& file) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return sys_error("cannot stat trace buffer", file);
  if (static_cast<size_t>(st.st_size) < kHeaderBytes + kMinCapacity) {
    Location where;
    where.file = file.string();
    return make_error(Errc::io, "trace buffer file is truncated", where);
  }
  auto m = std::make_unique<TraceBuffer::Mapping>();
  m->size = static_cast<size_t>(st.st_size);
  m->base = mmap(nullptr, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m->base == MAP_FAILED) return sys_error("cannot map trace buffer", file);
  const Header* h = m->header();
  if (h->magic != kMagic || h->version != kVersion || h->capacity < kMinCapacity ||
      (h->capacity & (h->capacity - 1)) != 0 || kHeaderBytes + h->capacity > m->size) {
    Location where;
    where.file = file.string();
    return make_error(Errc::io, "not a userbpf trace buffer (bad header)", where);
  }
  return m;
}

static Status init_file(int fd, size_t capacity, const std::filesystem::path& file) {
  if (ftruncate(fd, static_cast<off_t>(kHeaderBytes + capacity)) != 0)
    return sys_error("cannot size trace buffer", file);
  void* base = mmap(nullptr, kHeaderBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return sys_error("cannot map trace buffer", file);
  auto* h = new (base) Header{};
  h->version = kVersion;
  h->capacity = static_cast<uint32_t>(capacity);
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = kMagic;  // written last: a half-made file never looks valid
  munmap(base, kHeaderBytes);
  return ok_status();
}

Result<TraceBuffer> TraceBuffer::open(const std::filesystem::path& file, size_t capacity) {
  capacity = round_up_pow2(capacity);
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      auto m = map_fd(fd, file);
      ::close(fd);
      if (!m) return m.take_error();
      return TraceBuffer(std::move(*m));
    }
    if (errno != ENOENT) return sys_error("cannot open trace buffer", file);
    // Build the file under a private name, then link it into place: a concurrent creator or a
    // crash never exposes a half-initialized buffer.
    const std::filesystem::path tmp =
        file.string() + ".tmp." + std::to_string(getpid()) + "." + std::to_string(attempt);
    fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return sys_error("cannot create trace buffer", tmp);
    auto made = init_file(fd, capacity, tmp);
    ::close(fd);
    const bool linked = made && ::link(tmp.c_str(), file.c_str()) == 0;
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (!made) return made.take_error();
    if (!linked && link_errno != EEXIST) {
      errno = link_errno;
      return sys_error("cannot create trace buffer", file);
    }
  }
  Location where;
  where.file = file.string();
  return make_error(Errc::io, "trace buffer keeps disappearing while opened", where);
}

Result<TraceBuffer> TraceBuffer::anonymous(size_t capacity) {
  capacity = round_up_pow2(capacity);
  const int fd = memfd_create("userbpf-trace", MFD_CLOEXEC);
  if (fd < 0) return sys_error("cannot create trace buffer", "memfd");
  auto made = init_file(fd, capacity, "memfd");
  if (!made) {
    ::close(fd);
    return made.take_error();
  }
  auto m = map_fd(fd, "memfd");
  ::close(fd);
  if (!m) return m.take_error();
  return TraceBuffer(std::move(*m));
}

TraceBuffer::TraceBuffer(std::unique_ptr<Mapping> mapping) : m_(std::move(mapping)) {}
TraceBuffer::TraceBuffer(TraceBuffer&&) noexcept = default;
TraceBuffer& TraceBuffer::operator=(TraceBuffer&&) noexcept = default;
TraceBuffer::~TraceBuffer() = default;

size_t TraceBuffer::capacity() const {
  return m_->header()->capacity;
}
uint64_t TraceBuffer::overruns() const {
  return m_->header()->overruns.load();
}

void TraceBuffer::write(const TraceEvent& event) {
  RecordHead rec{};
  rec.message_len = static_cast<uint32_t>(std::min(event.message.size(), kMaxMessage));
  rec.total = static_cast<uint32_t>((sizeof(RecordHead) + rec.message_len + 7) & ~size_t{7});
  rec.timestamp_ns = event.timestamp_ns;
  rec.pid = event.pid;
  rec.cpu = event.cpu;
  std::strncpy(rec.comm, event.comm.c_str(), kCommLen - 1);

  Header* h = m_->header();
  m_->lock();
  uint64_t head = h->head.load(std::memory_order_relaxed);
  uint64_t tail = h->tail.load(std::memory_order_relaxed);
  while (head - tail + rec.total > h->capacity) {  // overwrite the oldest, as ftrace does
    uint32_t old_total = 0;
    m_->copy_out(tail, &old_total, sizeof old_total);
    tail += old_total;
    h->overruns.fetch_add(1, std::memory_order_relaxed);
  }
  h->tail.store(tail, std::memory_order_relaxed);
  m_->copy_in(head, &rec, sizeof rec);
  m_->copy_in(head + sizeof rec, event.message.data(), rec.message_len);
  h->head.store(head + rec.total, std::memory_order_release);
  m_->unlock();

  h->seq.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &h->seq, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

std::optional<TraceEvent> TraceBuffer::read(std::chrono::milliseconds wait) {
  Header* h = m_->header();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const uint32_t seq = h->seq.load(std::memory_order_acquire);
    m_->lock();
    const uint64_t tail = h->tail.load(std::memory_order_relaxed);
    if (tail != h->head.load(std::memory_order_acquire)) {
      RecordHead rec{};
      m_->copy_out(tail, &rec, sizeof rec);
      TraceEvent event;
      event.timestamp_ns = rec.timestamp_ns;
      event.pid = rec.pid;
      event.cpu = rec.cpu;
      event.comm.assign(rec.comm, strnlen(rec.comm, kCommLen));
      event.message.resize(rec.message_len);
      m_->copy_out(tail + sizeof rec, event.message.data(), rec.message_len);
      h->tail.store(tail + rec.total, std::memory_order_relaxed);
      m_->unlock();
      return event;
    }
    m_->unlock();
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
    timespec ts{static_cast<time_t>(left.count() / 1'000'000'000),
                static_cast<long>(left.count() % 1'000'000'000)};
    syscall(SYS_futex, &h->seq, FUTEX_WAIT, seq, &ts, nullptr, 0);
  }
}

std::string format_trace_line(const TraceEvent& event) {
  char head[96];
  const uint64_t usec = event.timestamp_ns / 1000;
  std::snprintf(head, sizeof head,
                "%16s-%-7d [%03d] d..1. %5llu.%06llu: bpf_trace_printk: ", event.comm.c_str(),
                event.pid, event.cpu, static_cast<unsigned long long>(usec / 1'000'000),
                static_cast<unsigned long long>(usec % 1'000'000));
  return std::string(head) + event.message + "\n";
}

TraceEvent event_for_current_thread(std::string message) {
  TraceEvent event;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  event.timestamp_ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  event.pid = static_cast<int32_t>(gettid());
  const int cpu = sched_getcpu();
  event.cpu = cpu < 0 ? 0 : cpu;
  char comm[kCommLen] = {};
  prctl(PR_GET_NAME, comm, 0, 0, 0);
  event.comm = comm;
  event.message = std::move(message);
  return event;
}

}  // namespace userbpf::trace
