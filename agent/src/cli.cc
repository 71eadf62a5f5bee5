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
    {"run", "[--config FILE] [--data-dir DIR] [--once]",
     "the agent as a service; --once: capture files, one identity sync, merge, store, push, exit",
     run_run},
    {"inventory", "--data-dir DIR [--json]",
     "the merged inventory, read from the store (agent stopped or running)", run_inventory},
    {"config", "check FILE", "validate a configuration file (exit 2 names the problem)",
     run_config},
    {"status", "[--json] [--socket PATH]", "the running agent's state", run_status},
    {"devices",
     "[--state S] [--vlan N] [--seen-since T] [--noncompliant] [--randomized] [--offset N] "
     "[--limit N] [--json] [--socket PATH]",
     "the running agent's devices, as a table or NDJSON", run_devices},
    {"device", "KEY [--json] [--socket PATH]", "one device by MAC, IP, host name, UPN or serial",
     run_device},
    {"sync", "[--json] [--socket PATH]",
     "ask the agent to sync identities now (root or admin group)", run_sync},
    {"flush", "[--json] [--socket PATH]",
     "ask the agent to write pending changes now (root or admin group)", run_flush},
    {"upstream", "retry [--json] [--socket PATH] | clickhouse-ddl [--config FILE] [--database D]",
     "re-send refused batches (root or admin group), or print the ClickHouse tables", run_upstream},
    {"metrics", "[--json] [--socket PATH]", "the agent's metrics in Prometheus text format",
     run_metrics},
    {"config-get", "[--json] [--socket PATH]", "the agent's running configuration, redacted",
     run_config_get},
    {"list-commands", "[--json] [--socket PATH]", "the commands the running agent accepts",
     run_list_commands},
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
