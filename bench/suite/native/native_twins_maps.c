/* The map programs' native twins once more, built against userbpf's own maps instead of the
 * private array and tables of native_twins.c (native/shared_maps.h): the same C, the same maps as
 * the JIT's, only the compiler differs. bench_suite's "native-maps" column; the programs without
 * maps are the same code as native_twins.c's. */
#define SUITE_SHARED_MAPS 1

#include "algo/array_map_loop.h"
#include "algo/hash_map_loop.h"
#include "algo/packet_parser.h"
#include "native/shared_maps.h"

struct suite_shared_map suite_shared_maps[3];

__attribute__((noinline)) __u32 suite_native_maps_array_map_loop(__u8* data, __u8* end) {
  return suite_array_map_loop(data, end);
}
__attribute__((noinline)) __u32 suite_native_maps_hash_map_loop(__u8* data, __u8* end) {
  return suite_hash_map_loop(data, end);
}
__attribute__((noinline)) __u32 suite_native_maps_packet_parser(__u8* data, __u8* end) {
  return suite_packet_parser(data, end);
}
