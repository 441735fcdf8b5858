// userbpf: the command line, with bpftool's grammar. See src/cli/userbpf_cli.hpp.
#include <iostream>
#include <string>
#include <vector>

#include "cli/userbpf_cli.hpp"

int main(int argc, char** argv) {
  userbpf::cli::Context ctx(std::cout, std::cerr);
  if (argc > 0) ctx.bin_name = argv[0];
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  return userbpf::cli::run_userbpf(ctx, args);
}
