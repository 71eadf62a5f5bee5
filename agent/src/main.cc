// edgeid's entry point: hand argv to the command table and return its exit code.
#include <iostream>
#include <string_view>
#include <vector>

#include "agent/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  return edgeid::agent::run_cli(args, std::cout, std::cerr);
}
