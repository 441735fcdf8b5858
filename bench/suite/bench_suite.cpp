// bench_suite: runs every program of the benchmark suite in every engine (userbpf's interpreter,
// userbpf's JIT when built, the host kernel where bpf() is allowed, the native twin with private
// maps and with userbpf's maps: native-maps, where only the compiler differs), checks that
// all agree with the native twin on r0, the frame after the run and the map contents, and prints
// a Markdown table: the median time per run of each engine, the ratios, and the JIT's compile
// time. Exit status 1 when an engine disagrees or fails.
//
//   bench_suite [--samples N] [--sample-ms MS] [--engines interp,jit,kernel,native,native-maps]
//               [--only name,name]
//
// Each engine runs batches of `repeat` runs on one copy of the frame (as BPF_PROG_TEST_RUN
// does), repeat chosen so one batch lasts about --sample-ms; the engines take turns, one batch
// each per round, for --samples rounds, and the median of an engine's batch means per run is
// its figure. userbpf and native batches are timed with the
// thread's CPU clock (thread_clock.hpp), the kernel's by its test-run timer.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "engines.hpp"

namespace {

using namespace userbpf::bench::suite;

struct Options {
  int samples = 11;
  double sample_ms = 2.0;
  std::vector<EngineKind> engines = all_engines();
  std::vector<std::string> only;
};

struct Cell {
  bool ran = false;
  double median_ns = 0;
  bool checked = false;  // userbpf ran it in the checked interpreter (its verifier refused it)
  std::string problem;   // why there is no figure, or the disagreement
};

struct Row {
  const SuiteCase* c = nullptr;
  size_t insns = 0;
  double compile_us = -1;
  std::map<EngineKind, Cell> cells;
  std::vector<std::string> notes;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--samples" && value) {
      o.samples = std::max(1, std::atoi(value));
      ++i;
    } else if (arg == "--sample-ms" && value) {
      o.sample_ms = std::max(0.01, std::atof(value));
      ++i;
    } else if (arg == "--engines" && value) {
      o.engines.clear();
      for (const std::string& name : split(value)) {
        auto it = std::find_if(all_engines().begin(), all_engines().end(),
                               [&](EngineKind k) { return name == engine_name(k); });
        if (it == all_engines().end()) {
          std::fprintf(stderr, "bench_suite: unknown engine '%s'\n", name.c_str());
          return false;
        }
        o.engines.push_back(*it);
      }
      ++i;
    } else if (arg == "--only" && value) {
      o.only = split(value);
      ++i;
    } else {
      std::fprintf(stderr,
                   "usage: bench_suite [--samples N] [--sample-ms MS] "
                   "[--engines interp,jit,kernel,native,native-maps] [--only name,...]\n");
      return false;
    }
  }
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The batch size for `p`: grown until one batch of runs takes sample_ms.
userbpf::Result<uint32_t> calibrate(PreparedProgram& p, const std::vector<uint8_t>& frame,
                                    const Options& o) {
  const double target_ns = o.sample_ms * 1e6;
  uint32_t repeat = 1;
  for (;;) {
    auto mean = p.mean_ns(frame, repeat);
    if (!mean) return mean.take_error();
    const double batch = *mean * repeat;
    if (batch >= target_ns || repeat >= (1u << 24)) return repeat;
    const double grow = batch > 0 ? std::min(16.0, std::max(2.0, target_ns / batch)) : 16.0;
    repeat = static_cast<uint32_t>(std::min<double>(repeat * grow, 1u << 24));
  }
}

std::string time_text(const Cell& cell) {
  if (!cell.ran) return "—";
  char buf[32];
  const double ns = cell.median_ns;
  if (ns >= 100000)
    std::snprintf(buf, sizeof buf, "%.1f µs", ns / 1000);
  else if (ns >= 1000)
    std::snprintf(buf, sizeof buf, "%.2f µs", ns / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.1f ns", ns);
  return std::string(buf) + (cell.checked ? " (checked)" : "");
}

std::optional<double> ratio(const Row& row, EngineKind a, EngineKind b) {
  auto ia = row.cells.find(a), ib = row.cells.find(b);
  if (ia == row.cells.end() || ib == row.cells.end() || !ia->second.ran || !ib->second.ran ||
      ib->second.median_ns <= 0)
    return std::nullopt;
  return ia->second.median_ns / ib->second.median_ns;
}

std::string ratio_text(std::optional<double> r) {
  if (!r) return "—";
  char buf[32];
  std::snprintf(buf, sizeof buf, *r >= 10 ? "%.0f×" : "%.2f×", *r);
  return buf;
}

struct Tally {
  int disagreements = 0;  // an engine's result differs from the native twin's
  int failures = 0;       // an engine could not load or run the program
};

// Prepares and checks the program in every engine, then times them interleaved: each of the
// `samples` rounds runs one batch in every engine in turn, so a slow spell of a noisy machine
// falls on all engines of a round rather than on one engine's whole measurement.
Row run_case(const SuiteCase& c, const Options& o, const std::vector<uint8_t>& frame,
             const std::map<EngineKind, std::string>& unavailable, Tally& tally) {
  Row row;
  row.c = &c;
  auto reference_prog = prepare_native(c);
  auto reference = (*reference_prog)->run_once(frame);
  struct Timed {
    EngineKind kind;
    std::unique_ptr<PreparedProgram> program;
    uint32_t repeat = 1;
    std::vector<double> means;
  };
  std::vector<Timed> timed;
  auto fail = [&](EngineKind kind, Cell& cell, std::string problem, int& count) {
    cell.problem = std::move(problem);
    row.notes.push_back(std::string(engine_name(kind)) + ": " + cell.problem);
    ++count;
  };
  for (EngineKind kind : o.engines) {
    Cell& cell = row.cells[kind];
    if (auto it = unavailable.find(kind); it != unavailable.end()) {
      cell.problem = it->second;
      continue;
    }
    auto prepared = prepare(kind, c);
    if (!prepared) {
      fail(kind, cell, prepared.error().to_string(), tally.failures);
      continue;
    }
    PreparedProgram& p = **prepared;
    if (p.insns) row.insns = p.insns;
    if (kind == EngineKind::jit) row.compile_us = p.compile_us;
    if (!p.note.empty()) row.notes.push_back(std::string(engine_name(kind)) + ": " + p.note);
    cell.checked = kind == EngineKind::interp && !p.note.empty();
    auto outcome = p.run_once(frame);
    if (!outcome) {
      fail(kind, cell, outcome.error().to_string(), tally.failures);
      continue;
    }
    if (std::string diff = difference(*reference, *outcome); !diff.empty()) {
      fail(kind, cell, "disagrees with native: " + diff, tally.disagreements);
      continue;
    }
    auto repeat = calibrate(p, frame, o);
    if (!repeat) {
      fail(kind, cell, repeat.error().to_string(), tally.failures);
      continue;
    }
    timed.push_back({kind, std::move(*prepared), *repeat, {}});
  }
  for (int round = 0; round < o.samples; ++round) {
    for (Timed& t : timed) {
      if (t.program == nullptr) continue;  // failed in an earlier round
      auto mean = t.program->mean_ns(frame, t.repeat);
      if (!mean) {
        fail(t.kind, row.cells[t.kind], mean.error().to_string(), tally.failures);
        t.program.reset();
        continue;
      }
      t.means.push_back(*mean);
    }
  }
  for (Timed& t : timed) {
    if (t.program == nullptr) continue;
    Cell& cell = row.cells[t.kind];
    cell.ran = true;
    cell.median_ns = median(t.means);
  }
  return row;
}

void print_table(const std::vector<Row>& rows, const Options& o) {
  auto has = [&](EngineKind k) {
    return std::find(o.engines.begin(), o.engines.end(), k) != o.engines.end();
  };
  std::printf(
      "| program | eBPF insns | interp | jit | kernel | native | native-maps | interp/native | "
      "jit/native | jit/kernel | kernel/native | jit/native-maps | jit compile (µs per 1k insns) "
      "|\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  const std::pair<EngineKind, EngineKind> ratios[] = {{EngineKind::interp, EngineKind::native},
                                                      {EngineKind::jit, EngineKind::native},
                                                      {EngineKind::jit, EngineKind::kernel},
                                                      {EngineKind::kernel, EngineKind::native},
                                                      {EngineKind::jit, EngineKind::native_maps}};
  std::vector<std::vector<double>> logs(std::size(ratios));
  for (const Row& row : rows) {
    std::printf("| %s | %zu |", row.c->name, row.insns);
    for (EngineKind k : all_engines()) {
      auto it = row.cells.find(k);
      std::printf(" %s |", has(k) && it != row.cells.end() ? time_text(it->second).c_str() : "—");
    }
    for (size_t i = 0; i < std::size(ratios); ++i) {
      auto r = ratio(row, ratios[i].first, ratios[i].second);
      if (r) logs[i].push_back(std::log(*r));
      std::printf(" %s |", ratio_text(r).c_str());
    }
    if (row.compile_us >= 0 && row.insns)
      std::printf(" %.1f (%.1f) |\n", row.compile_us, row.compile_us * 1000.0 / row.insns);
    else
      std::printf(" — |\n");
  }
  std::printf("| **geometric mean** | | | | | | |");
  for (const auto& l : logs) {
    if (l.empty()) {
      std::printf(" — |");
      continue;
    }
    double sum = 0;
    for (double x : l) sum += x;
    std::printf(" **%s** (%zu) |", ratio_text(std::exp(sum / l.size())).c_str(), l.size());
  }
  std::printf(" |\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return 2;
  const std::vector<uint8_t> frame = suite_frame();

  std::map<EngineKind, std::string> unavailable;
  for (EngineKind kind : o.engines) {
    std::string why;
    if (!engine_available(kind, why)) unavailable[kind] = why;
  }

  Tally tally;
  std::vector<Row> rows;
  for (const SuiteCase& c : suite_cases()) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), c.name) == o.only.end())
      continue;
    rows.push_back(run_case(c, o, frame, unavailable, tally));
    std::fprintf(stderr, "bench_suite: %s done\n", c.name);
  }

  print_table(rows, o);
  std::printf(
      "\nMedian over %d batches (each about %.1f ms of runs, the engines taking turns) of the mean "
      "time per run: thread CPU "
      "time for userbpf and native, the kernel's own test-run timer for the kernel.\nResults (r0, "
      "frame after the run, map contents) compared with the native twin: %d disagreement(s); %d "
      "engine run(s) failed.\n",
      o.samples, o.sample_ms, tally.disagreements, tally.failures);
  for (const auto& [kind, why] : unavailable)
    std::printf("- %s: not run: %s\n", engine_name(kind), why.c_str());
  for (const Row& row : rows)
    for (const std::string& note : row.notes) std::printf("- %s, %s\n", row.c->name, note.c_str());
  return tally.disagreements || tally.failures ? 1 : 0;
}
