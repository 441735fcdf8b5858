// Shared by the test-run and helper tests: load one program of a BPF object from
// tests/runtime/progs into a fresh userbpf runtime, and the same program into the host kernel
// with libbpf for comparison.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "object/object.hpp"
#include "runtime/runtime.hpp"
#include "runtime/test_run.hpp"

namespace userbpf::testing {

inline std::string runtime_prog(const std::string& file) {
  return std::string(USERBPF_RUNTIME_PROG_DIR) + "/" + file;
}

// A runtime in a private state directory with one instantiated program.
struct LoadedProgram {
  std::filesystem::path dir;
  std::optional<runtime::Runtime> rt;
  std::unique_ptr<runtime::RunnableProgram> prog;
  std::string error;  // why loading failed (empty when it worked)

  ~LoadedProgram() {
    prog.reset();
    rt.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// `unverified`: load without the verifier (the program then runs only checked), for programs that
// test runtime behaviour the verifier refuses (listed where they are used).
inline std::unique_ptr<LoadedProgram> load_program(const std::string& file, const std::string& name,
                                                   bool unverified = false) {
  static int counter = 0;
  auto out = std::make_unique<LoadedProgram>();
  out->dir = std::filesystem::temp_directory_path() /
             ("userbpf-test-run-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(out->dir);
  auto obj = object::open(runtime_prog(file));
  if (!obj) {
    out->error = obj.error().to_string();
    return out;
  }
  auto rt = runtime::Runtime::open(out->dir);
  if (!rt) {
    out->error = rt.error().to_string();
    return out;
  }
  out->rt.emplace(std::move(*rt));
  runtime::LoadOptions options;
  options.only_program = name;
  options.unverified = unverified;
  auto records = out->rt->load(*obj, options);
  if (!records) {
    out->error = records.error().to_string();
    return out;
  }
  auto prog = out->rt->instantiate(records->front());
  if (!prog) {
    out->error = prog.error().to_string();
    return out;
  }
  out->prog = std::move(*prog);
  return out;
}

// The same program loaded by libbpf into the host kernel (only that program is loaded).
class KernelObject {
 public:
  KernelObject(const std::string& file, const std::string& name) {
    libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });
    obj_ = bpf_object__open_file(runtime_prog(file).c_str(), nullptr);
    if (!obj_) {
      error_ = "bpf_object__open_file failed";
      return;
    }
    bpf_program* p;
    bpf_object__for_each_program(p, obj_) {
      const bool wanted = name == bpf_program__name(p);
      bpf_program__set_autoload(p, wanted);
      if (wanted) prog_ = p;
    }
    if (!prog_) {
      error_ = "no program " + name;
      return;
    }
    if (int e = bpf_object__load(obj_)) error_ = "bpf_object__load: " + std::to_string(e);
  }
  ~KernelObject() { bpf_object__close(obj_); }
  KernelObject(const KernelObject&) = delete;
  KernelObject& operator=(const KernelObject&) = delete;

  const std::string& error() const { return error_; }
  int fd() const { return prog_ ? bpf_program__fd(prog_) : -1; }

  struct Run {
    int err = 0;
    uint32_t retval = 0;
    std::vector<uint8_t> data_out;
    std::vector<uint8_t> ctx_out;
  };
  Run test_run(const std::vector<uint8_t>& data, const std::vector<uint8_t>& ctx,
               size_t ctx_out_size, uint32_t repeat = 1) const {
    Run r;
    r.data_out.assign(data.empty() ? 0 : 4096, 0);
    r.ctx_out.assign(ctx_out_size, 0);
    std::vector<uint8_t> ctx_copy = ctx;
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    if (!data.empty()) {
      opts.data_in = data.data();
      opts.data_size_in = static_cast<uint32_t>(data.size());
      opts.data_out = r.data_out.data();
      opts.data_size_out = static_cast<uint32_t>(r.data_out.size());
    }
    if (!ctx_copy.empty()) {
      opts.ctx_in = ctx_copy.data();
      opts.ctx_size_in = static_cast<uint32_t>(ctx_copy.size());
    }
    if (ctx_out_size) {
      opts.ctx_out = r.ctx_out.data();
      opts.ctx_size_out = static_cast<uint32_t>(ctx_out_size);
    }
    opts.repeat = repeat > 1 ? repeat : 0;  // syscall programs refuse any repeat
    r.err = bpf_prog_test_run_opts(fd(), &opts);
    r.retval = opts.retval;
    r.data_out.resize(data.empty() ? 0 : opts.data_size_out);
    // Syscall programs: Linux writes the context back into ctx_in.
    if (!ctx_out_size) r.ctx_out = ctx_copy;
    return r;
  }

 private:
  bpf_object* obj_ = nullptr;
  bpf_program* prog_ = nullptr;
  std::string error_;
};

template <class T>
std::vector<uint8_t> bytes_of(const T& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  return std::vector<uint8_t>(p, p + sizeof(T));
}

template <class T>
T from_bytes(const std::vector<uint8_t>& bytes) {
  T value{};
  std::memcpy(&value, bytes.data(), std::min(bytes.size(), sizeof(T)));
  return value;
}

// RFC 1071 Internet checksum of `bytes` (ones'-complement sum of big-endian 16-bit words).
inline uint16_t inet_checksum(const uint8_t* bytes, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (len & 1) sum += bytes[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct PacketSpec {
  uint8_t dest_mac[6] = {0, 0, 0, 0, 0, 0};
  uint8_t src_mac[6] = {2, 0, 0, 0, 0, 1};
  uint16_t ether_type = 0x0800;
  uint8_t protocol = 17;  // UDP
  uint8_t ttl = 64;
  uint32_t saddr = 0xc0a80001, daddr = 0xc0a80002;
  uint16_t sport = 1234, dport = 9;
  size_t payload = 8;
};

// Ethernet + IPv4 (no options) + UDP/TCP/ICMP header + payload, with valid IP and L4 checksums.
inline std::vector<uint8_t> make_packet(const PacketSpec& s) {
  const size_t l4 = s.protocol == 6 ? 20 : 8;
  std::vector<uint8_t> p(14 + 20 + l4 + s.payload, 0);
  std::memcpy(&p[0], s.dest_mac, 6);
  std::memcpy(&p[6], s.src_mac, 6);
  p[12] = s.ether_type >> 8;
  p[13] = s.ether_type & 0xff;
  if (s.ether_type != 0x0800) return p;
  uint8_t* ip = &p[14];
  const size_t ip_len = 20 + l4 + s.payload;
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_len >> 8);
  ip[3] = static_cast<uint8_t>(ip_len);
  ip[8] = s.ttl;
  ip[9] = s.protocol;
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = static_cast<uint8_t>(s.saddr >> (24 - 8 * i));
    ip[16 + i] = static_cast<uint8_t>(s.daddr >> (24 - 8 * i));
  }
  const uint16_t ip_check = inet_checksum(ip, 20);
  ip[10] = ip_check >> 8;
  ip[11] = ip_check & 0xff;
  uint8_t* l4h = ip + 20;
  for (size_t i = 0; i < s.payload; ++i) l4h[l4 + i] = static_cast<uint8_t>(i * 7 + 3);
  if (s.protocol == 1) {  // ICMP echo
    l4h[0] = 8;
    const uint16_t c = inet_checksum(l4h, l4 + s.payload);
    l4h[2] = c >> 8;
    l4h[3] = c & 0xff;
    return p;
  }
  l4h[0] = s.sport >> 8;
  l4h[1] = s.sport & 0xff;
  l4h[2] = s.dport >> 8;
  l4h[3] = s.dport & 0xff;
  if (s.protocol == 6) {
    l4h[12] = 5 << 4;
  } else {
    l4h[4] = static_cast<uint8_t>((l4 + s.payload) >> 8);
    l4h[5] = static_cast<uint8_t>(l4 + s.payload);
  }
  // Pseudo header sum, then the L4 checksum.
  uint32_t pseudo = (s.saddr >> 16) + (s.saddr & 0xffff) + (s.daddr >> 16) + (s.daddr & 0xffff) +
                    s.protocol + static_cast<uint32_t>(l4 + s.payload);
  uint16_t c = inet_checksum(l4h, l4 + s.payload, pseudo);
  if (s.protocol == 17 && c == 0) c = 0xffff;
  const size_t at = s.protocol == 6 ? 16 : 6;
  l4h[at] = c >> 8;
  l4h[at + 1] = c & 0xff;
  return p;
}

}  // namespace userbpf::testing
