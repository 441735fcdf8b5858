#include "suite_cases.hpp"

#include <cstring>

#include "suite_env.h"

namespace userbpf::bench::suite {

const std::vector<SuiteCase>& suite_cases() {
  static const std::vector<SuiteCase> cases = {
      {"prime_count", "primes below 5,000 by trial division (bpf_loop)", suite_native_prime_count,
       nullptr, SUITE_NATIVE_ARRAY, suite_native_prime_count},
      {"packet_hash", "64-bit FNV-1a over the 1,500-byte frame", suite_native_packet_hash, nullptr,
       SUITE_NATIVE_ARRAY, suite_native_packet_hash},
      {"byte_reverse", "reverse 1,024 frame bytes in place", suite_native_byte_reverse, nullptr,
       SUITE_NATIVE_ARRAY, suite_native_byte_reverse},
      {"state_machine", "switch-heavy lexer over 1,024 bytes (bpf_loop)",
       suite_native_state_machine, nullptr, SUITE_NATIVE_ARRAY, suite_native_state_machine},
      {"log2_array", "branchy log2 of 256 u32 words", suite_native_log2_array, nullptr,
       SUITE_NATIVE_ARRAY, suite_native_log2_array},
      {"call_chain", "1,000 rounds of 3 nested bpf-to-bpf calls", suite_native_call_chain, nullptr,
       SUITE_NATIVE_ARRAY, suite_native_call_chain},
      {"array_map_loop", "512 array map lookups + updates", suite_native_array_map_loop,
       "suite_array", SUITE_NATIVE_ARRAY, suite_native_maps_array_map_loop},
      {"hash_map_loop", "512 hash map lookups + updates", suite_native_hash_map_loop, "suite_hash",
       SUITE_NATIVE_HASH, suite_native_maps_hash_map_loop},
      {"packet_parser", "eth/ipv4/udp parse, count by port in a hash map",
       suite_native_packet_parser, "port_counts", SUITE_NATIVE_PORTS,
       suite_native_maps_packet_parser},
  };
  return cases;
}

std::string object_path(const SuiteCase& c) {
  return std::string(USERBPF_BENCH_SUITE_PROG_DIR) + "/" + c.name + ".bpf.o";
}

namespace {

// xorshift64*: deterministic bytes, the same on every run and machine.
class Bytes {
 public:
  uint8_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return static_cast<uint8_t>((state_ * 0x2545f4914f6cdd1dULL) >> 56);
  }

 private:
  uint64_t state_ = 0x9e3779b97f4a7c15ULL;
};

void put16_be(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

void put16_host(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  std::memcpy(&f[at], &v, 2);
}

}  // namespace

std::vector<uint8_t> suite_frame() {
  std::vector<uint8_t> f(SUITE_FRAME_BYTES, 0);
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(&f[0], dst, 6);
  std::memcpy(&f[6], src, 6);
  put16_be(f, 12, 0x0800);
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  put16_be(f, 16, SUITE_FRAME_BYTES - 14);
  ip[8] = 64;
  ip[9] = 17;  // UDP
  const uint8_t saddr[4] = {192, 168, 0, 1}, daddr[4] = {192, 168, 0, 2};
  std::memcpy(ip + 12, saddr, 4);
  std::memcpy(ip + 16, daddr, 4);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16_be(f, 24, static_cast<uint16_t>(~sum));
  put16_be(f, 34, 40000);                      // UDP source port
  put16_be(f, 36, 53);                         // destination port: what the parser counts
  put16_be(f, 38, SUITE_FRAME_BYTES - 34);     // UDP length (checksum left 0: none)
  put16_host(f, SUITE_OFF_PRIME_LIMIT, 5000);  // prime_count: primes below 5,000
  put16_host(f, SUITE_OFF_CALL_ROUNDS, 1000);  // call_chain: 1,000 rounds
  Bytes bytes;
  for (size_t i = SUITE_OFF_CALL_ROUNDS + 2; i < SUITE_OFF_DATA; ++i) f[i] = bytes.next();
  // Lexer-like text: letters, digits, blanks, quotes, escapes, operators, hex prefixes.
  static const char alphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_0123456789     \"\\+-*/<=>0x\n(),;";
  const size_t letters = sizeof(alphabet) - 1;
  for (size_t i = SUITE_OFF_DATA; i < SUITE_OFF_DATA + SUITE_DATA_BYTES; ++i)
    f[i] = static_cast<uint8_t>(alphabet[bytes.next() % letters]);
  for (size_t i = SUITE_OFF_DATA + SUITE_DATA_BYTES; i < f.size(); ++i) f[i] = bytes.next();
  return f;
}

}  // namespace userbpf::bench::suite
