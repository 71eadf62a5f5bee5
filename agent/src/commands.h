#pragma once
// The subcommand table's row type and the handlers that live in their own files.

#include <ostream>
#include <span>
#include <stdexcept>
#include <string_view>

namespace edgeid::agent {

/// Thrown by a handler for bad arguments: reported with exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CommandArgs {
  std::span<const std::string_view> args;  ///< after the command name
  std::ostream& out;
  std::ostream& err;
};

struct Command {
  std::string_view name;
  std::string_view usage;
  std::string_view help;
  int (*run)(const CommandArgs&);
};

int run_ingest(const CommandArgs& a);
int run_db(const CommandArgs& a);
int run_identities(const CommandArgs& a);

int run_run(const CommandArgs& a);
int run_inventory(const CommandArgs& a);
int run_config(const CommandArgs& a);

// Control-socket clients (ctl_commands.cc): ask the running agent.
int run_status(const CommandArgs& a);
int run_devices(const CommandArgs& a);
int run_device(const CommandArgs& a);
int run_sync(const CommandArgs& a);
int run_flush(const CommandArgs& a);
int run_metrics(const CommandArgs& a);
int run_config_get(const CommandArgs& a);
int run_list_commands(const CommandArgs& a);
int run_upstream(const CommandArgs& a);
int run_upstream_retry(const CommandArgs& a);

}  // namespace edgeid::agent
