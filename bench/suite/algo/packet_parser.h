/* Packet parser: Ethernet, IPv4 (any header length, first fragments only), UDP or TCP, with a
 * bounds check before every header; counts packets by destination port in a hash map and
 * returns the port (0 when the frame is not IPv4 UDP/TCP or is cut short). */
#ifndef USERBPF_BENCH_SUITE_PACKET_PARSER_H
#define USERBPF_BENCH_SUITE_PACKET_PARSER_H

#include "suite_env.h"

#define SUITE_PORT_ENTRIES 1024

#if SUITE_BPF
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SUITE_PORT_ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} port_counts SEC(".maps");

SUITE_INLINE __u64* suite_port_lookup(__u32 port) {
  return bpf_map_lookup_elem(&port_counts, &port);
}
SUITE_INLINE long suite_port_insert(__u32 port, __u64 value) {
  return bpf_map_update_elem(&port_counts, &port, &value, BPF_NOEXIST);
}
#elif SUITE_SHARED_MAPS
#include "native/shared_maps.h"
SUITE_INLINE __u64* suite_port_lookup(__u32 port) {
  return (__u64*)suite_shared_lookup(SUITE_NATIVE_PORTS, &port);
}
SUITE_INLINE long suite_port_insert(__u32 port, __u64 value) {
  return suite_shared_update(SUITE_NATIVE_PORTS, &port, &value, 1 /* BPF_NOEXIST */);
}
#else
#include "native/suite_table.h"
static struct suite_table_slot suite_native_port_slots[2 * SUITE_PORT_ENTRIES];
static struct suite_table suite_native_ports = {SUITE_PORT_ENTRIES, 0, 2 * SUITE_PORT_ENTRIES - 1,
                                                suite_native_port_slots};

SUITE_INLINE __u64* suite_port_lookup(__u32 port) {
  return suite_table_lookup(&suite_native_ports, port);
}
SUITE_INLINE long suite_port_insert(__u32 port, __u64 value) {
  if (suite_table_lookup(&suite_native_ports, port)) return -17; /* -EEXIST (BPF_NOEXIST) */
  return suite_table_update(&suite_native_ports, port, value);
}
#endif

SUITE_INLINE __u32 suite_packet_parser(const __u8* data, const __u8* end) {
  if (data + 14 > end) return 0;
  if (data[12] != 0x08 || data[13] != 0x00) return 0; /* not IPv4 */
  const __u8* ip = data + 14;
  if (ip + 20 > end) return 0;
  if ((ip[0] >> 4) != 4) return 0;
  const __u32 ihl = ip[0] & 0xf;
  if (ihl < 5) return 0;
  if (((ip[6] & 0x1f) | ip[7]) != 0) return 0; /* not the first fragment */
  const __u8* l4 = ip + ihl * 4;
  __u32 port;
  if (ip[9] == 17) { /* UDP */
    if (l4 + 8 > end) return 0;
    port = (__u32)l4[2] << 8 | l4[3];
  } else if (ip[9] == 6) { /* TCP */
    if (l4 + 20 > end) return 0;
    port = (__u32)l4[2] << 8 | l4[3];
  } else {
    return 0;
  }
  __u64* count = suite_port_lookup(port);
  if (count)
    *count += 1;
  else
    suite_port_insert(port, 1);
  return port;
}

#endif
