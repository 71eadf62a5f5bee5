#include "agent/cli.h"

#include <exception>
#include <ostream>
#include <stdexcept>
#include <string>

#include "agent/version.h"
#include "commands.h"

namespace edgeid::agent {

namespace {

int print_version(const CommandArgs& a) {
  a.out << "edgeid " << kVersion << '\n';
  return kExitOk;
}

int print_help(const CommandArgs& a);

// The one table of subcommands: `edgeid help` is generated from it.
const Command kCommands[] = {
    {"ingest", "--pcap FILE [--pcap FILE ...] [--json] [--oui-dir DIR]",
     "offline discovery: decode capture files and print the devices found", run_ingest},
    {"db", "stats|compact --data-dir DIR [--json]",
     "store maintenance: sizes and counters, or compaction (agent stopped)", run_db},
    {"identities",
     "--file PATH | --graph-url URL --authority-url URL --tenant T --client-id C "
     "--client-secret-file F [--ca-file F] [--json]",
     "one identity sync (Intune + Entra over Graph, or an offline file)", run_identities},
    {"version", "", "print the version", print_version},
    {"help", "", "print this help", print_help},
};

int print_help(const CommandArgs& a) {
  a.out << "usage: edgeid COMMAND [ARGS]\n\ncommands:\n";
  for (const auto& c : kCommands) {
    std::string usage = std::string(c.name);
    if (!c.usage.empty()) usage += " " + std::string(c.usage);
    a.out << "  " << usage;
    for (std::size_t pad = usage.size(); pad < 50; ++pad) a.out << ' ';
    a.out << ' ' << c.help << '\n';
  }
  a.out << "\nexit codes: 0 ok, 1 runtime failure, 2 usage or configuration error\n";
  return kExitOk;
}

}  // namespace

int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << "edgeid: no command given; try 'edgeid help'\n";
    return kExitUsage;
  }
  std::string_view name = args.front();
  if (name == "--version" || name == "-V") name = "version";
  if (name == "--help" || name == "-h") name = "help";
  for (const auto& c : kCommands) {
    if (c.name != name) continue;
    try {
      return c.run(CommandArgs{args.subspan(1), out, err});
    } catch (const UsageError& e) {
      err << "edgeid " << c.name << ": " << e.what() << '\n';
      return kExitUsage;
    } catch (const std::exception& e) {
      err << "edgeid " << c.name << ": " << e.what() << '\n';
      return kExitRuntime;
    }
  }
  err << "edgeid: unknown command '" << name << "'; try 'edgeid help'\n";
  return kExitUsage;
}

}  // namespace edgeid::agent
