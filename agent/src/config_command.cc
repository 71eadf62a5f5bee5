// `edgeid config check FILE`: parse and validate a configuration file, as the agent would at
// start-up. Exit 0 and the effective configuration (defaults filled in) as JSON, or exit 2 and
// the one-line error naming the JSON path.
#include <string>

#include "agent/cli.h"
#include "agent/config.h"
#include "args.h"
#include "commands.h"

namespace edgeid::agent {

int run_config(const CommandArgs& a) {
  ArgReader r(a.args);
  if (r.done()) throw UsageError("expected 'check FILE'");
  const auto sub = r.next();
  if (sub != "check") throw UsageError("unknown subcommand '" + std::string(sub) + "'");
  if (r.done()) throw UsageError("check needs a FILE");
  const std::string file(r.next());
  if (!r.done()) ArgReader::unknown(r.next());
  try {
    const Config c = load_config(file);
    a.out << config_to_json(c) << '\n';
    a.err << "edgeid config: " << file << ": ok\n";
    return kExitOk;
  } catch (const ConfigError& e) {
    a.err << "edgeid config: " << e.what() << '\n';
    return kExitUsage;
  }
}

}  // namespace edgeid::agent
