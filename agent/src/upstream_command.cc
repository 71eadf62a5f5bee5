// `edgeid upstream retry|clickhouse-ddl`: the operator's side of the upstream push. `retry` asks
// the running agent (control socket) to re-send its dead letters; `clickhouse-ddl` prints the
// tables a ClickHouse sink writes to, named as in the configuration when one is given.
#include <string>

#include "agent/cli.h"
#include "agent/config.h"
#include "args.h"
#include "cloud/upstream.h"
#include "commands.h"

namespace edgeid::agent {

int run_upstream(const CommandArgs& a) {
  ArgReader r(a.args);
  if (r.done()) throw UsageError("expected 'retry' or 'clickhouse-ddl'");
  const auto sub = r.next();
  const auto rest = a.args.subspan(1);
  if (sub == "retry") return run_upstream_retry(CommandArgs{rest, a.out, a.err});
  if (sub != "clickhouse-ddl") throw UsageError("unknown subcommand '" + std::string(sub) + "'");
  cloud::ClickHouseOptions o;
  std::string config_file;
  while (!r.done()) {
    const auto arg = r.next();
    if (arg == "--config") {
      config_file = r.value_of(arg);
    } else if (arg == "--database") {
      o.database = r.value_of(arg);
    } else {
      ArgReader::unknown(arg);
    }
  }
  if (!config_file.empty()) {
    try {
      const Config c = load_config(config_file);
      o.database = c.upstream.database;
      o.table = c.upstream.table;
      o.events_table = c.upstream.events_table;
    } catch (const ConfigError& e) {
      a.err << "edgeid upstream: " << e.what() << '\n';
      return kExitUsage;
    }
  }
  a.out << cloud::clickhouse_ddl(o);
  return kExitOk;
}

}  // namespace edgeid::agent
