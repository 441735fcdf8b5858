// Embedding userbpf: open xdp_filter.bpf.o, configure it, load it, run its XDP program on a few
// frames, read its counters and its .bss, and take its drop reports from the ring buffer with
// poll() while another thread runs the program.
//
//   xdp_filter [OBJECT] [PORT]     (defaults: the object built next to this binary, port 53)
#include <arpa/inet.h>
#include <poll.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "userbpf/userbpf.hpp"

namespace {

// Must match struct drop_event in xdp_filter.bpf.c.
struct DropEvent {
  uint32_t saddr;
  uint32_t daddr;
  uint16_t sport;
  uint16_t dport;
  uint32_t frame_len;
};

// An Ethernet + IPv4 + UDP (or TCP header-less) frame with `payload` bytes.
std::vector<uint8_t> frame(const char* src, const char* dst, uint8_t protocol, uint16_t sport,
                           uint16_t dport, size_t payload) {
  std::vector<uint8_t> f(14 + 20 + 8 + payload, 0);
  f[12] = 0x08;  // ETH_P_IP
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;  // version 4, 5 words of header
  const uint16_t total = htons(static_cast<uint16_t>(20 + 8 + payload));
  std::memcpy(ip + 2, &total, 2);
  ip[8] = 64;
  ip[9] = protocol;
  inet_pton(AF_INET, src, ip + 12);
  inet_pton(AF_INET, dst, ip + 16);
  uint8_t* l4 = ip + 20;
  const uint16_t s = htons(sport), d = htons(dport);
  std::memcpy(l4, &s, 2);
  std::memcpy(l4 + 2, &d, 2);
  return f;
}

int fail(const char* what, const userbpf::Error& e) {
  std::fprintf(stderr, "%s: %s\n", what, e.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : USERBPF_EXAMPLE_OBJECT;
  const uint16_t port = argc > 2 ? static_cast<uint16_t>(std::stoi(argv[2])) : 53;

  // 1. Open: programs, maps and globals are known before anything is created.
  auto obj = userbpf::Object::open(path);
  if (!obj) return fail("open", obj.error());
  for (const auto& prog : obj->programs())
    std::printf("program %s (%s, section %s, %zu insns)\n", prog.name().c_str(),
                prog.type_name().c_str(), prog.section().c_str(), prog.insn_count());
  for (const auto& map : obj->maps())
    std::printf("map %s (%s, max_entries %u%s)\n", map.name.c_str(),
                userbpf::maps::map_type_name(map.type), map.max_entries,
                map.internal ? ", global data" : "");

  // 2. Configure the `const volatile` port, then load into a private runtime.
  if (auto s = obj->set_global("blocked_port", port); !s) return fail("set_global", s.error());
  if (auto s = obj->load(); !s) return fail("load", s.error());
  auto prog = obj->program("xdp_filter");
  if (!prog) return fail("program", prog.error());
  std::printf("loaded: blocking UDP port %u\n", port);

  // 3. A ring buffer consumer whose fd goes into poll().
  auto drops = obj->map("drops");
  if (!drops) return fail("map", drops.error());
  int reported = 0;
  auto rb = userbpf::RingBuffer::create(*drops, [&](const void* data, size_t size) {
    if (size != sizeof(DropEvent)) return -1;
    DropEvent e;
    std::memcpy(&e, data, sizeof(e));
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &e.saddr, src, sizeof(src));
    inet_ntop(AF_INET, &e.daddr, dst, sizeof(dst));
    std::printf("drop: %s:%u -> %s:%u, %u bytes\n", src, e.sport, dst, e.dport, e.frame_len);
    ++reported;
    return 0;
  });
  if (!rb) return fail("ring buffer", rb.error());
  auto fd = (*rb)->fd();
  if (!fd) return fail("ring buffer fd", fd.error());

  // 4. Another thread runs the program on frames, as traffic would arrive.
  const std::vector<std::vector<uint8_t>> frames = {
      frame("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 40000, port, 32),
      frame("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 40001, 80, 16),
      frame("10.0.0.3", "10.0.0.2", IPPROTO_TCP, 40002, port, 0),
      frame("10.0.0.4", "10.0.0.2", IPPROTO_UDP, 40003, port, 100),
  };
  std::vector<uint32_t> verdicts(frames.size());
  userbpf::Error run_error;
  bool run_failed = false;
  std::atomic<bool> done{false};
  std::thread traffic([&] {
    for (size_t i = 0; i < frames.size() && !run_failed; ++i) {
      auto r = prog->run_packet(frames[i]);
      if (r) {
        verdicts[i] = r->retval;
      } else {
        run_error = r.error();
        run_failed = true;
      }
    }
    done = true;
  });

  // 5. Wait on the fd and consume whenever it is readable, until the traffic stops.
  while (!done) {
    pollfd pfd{*fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) > 0 && (*rb)->consume() < 0) break;
  }
  traffic.join();
  (*rb)->consume();  // whatever arrived after the last wake-up
  if (run_failed) return fail("run", run_error);
  for (size_t i = 0; i < verdicts.size(); ++i)
    std::printf("frame %zu: %s\n", i, verdicts[i] == 1 ? "XDP_DROP" : "XDP_PASS");

  // 6. Maps and globals after the runs.
  auto counters = obj->map("counters");
  if (!counters) return fail("map", counters.error());
  auto passed = userbpf::lookup<uint64_t>(**counters, uint32_t{0});
  auto dropped = userbpf::lookup<uint64_t>(**counters, uint32_t{1});
  if (!passed || !dropped) return fail("lookup", passed ? dropped.error() : passed.error());
  auto seen = obj->global<uint64_t>("frames_seen");
  if (!seen) return fail("global", seen.error());
  std::printf("passed %llu, dropped %llu, reported %d, frames_seen %llu\n",
              static_cast<unsigned long long>(*passed), static_cast<unsigned long long>(*dropped),
              reported, static_cast<unsigned long long>(*seen));
  return 0;
}
