// `edgeid db stats|compact --data-dir DIR [--json]`: store maintenance from the command line.
#include <ostream>
#include <stdexcept>

#include "agent/cli.h"
#include "args.h"
#include "commands.h"
#include "store/store.h"

namespace edgeid::agent {

namespace {

struct DbOptions {
  std::string action;
  std::string data_dir;
  bool json = false;
};

DbOptions parse_db(std::span<const std::string_view> args) {
  ArgReader r(args);
  DbOptions o;
  if (r.done()) throw UsageError("expected 'stats' or 'compact'");
  o.action = std::string(r.next());
  if (o.action != "stats" && o.action != "compact") {
    throw UsageError("unknown action '" + o.action + "' (expected 'stats' or 'compact')");
  }
  while (!r.done()) {
    const auto a = r.next();
    if (a == "--data-dir") {
      o.data_dir = r.value_of(a);
    } else if (a == "--json") {
      o.json = true;
    } else {
      ArgReader::unknown(a);
    }
  }
  if (o.data_dir.empty()) throw UsageError("--data-dir DIR is required");
  return o;
}

void print_stats(std::ostream& out, const store::StoreStats& s, bool json) {
  const auto oldest = s.outbox_oldest ? s.outbox_oldest->to_rfc3339() : std::string();
  if (json) {
    out << "{\"devices\":" << s.devices << ",\"identities\":" << s.identities
        << ",\"outbox_items\":" << s.outbox_items;
    if (s.outbox_oldest) out << ",\"outbox_oldest\":\"" << oldest << '"';
    out << ",\"outbox_shed_superseded\":" << s.outbox_shed_superseded
        << ",\"outbox_shed_oldest\":" << s.outbox_shed_oldest
        << ",\"outbox_over_bound\":" << s.outbox_over_bound
        << ",\"deadletter_items\":" << s.deadletter_items
        << ",\"deadletter_dropped\":" << s.deadletter_dropped << ",\"map_size\":" << s.map_size
        << ",\"used_bytes\":" << s.used_bytes << ",\"file_bytes\":" << s.file_bytes
        << ",\"schema_version\":" << s.schema_version << "}\n";
    return;
  }
  out << "devices                 " << s.devices << '\n'
      << "identities              " << s.identities << '\n'
      << "outbox items            " << s.outbox_items << '\n'
      << "outbox oldest           " << (oldest.empty() ? "-" : oldest) << '\n'
      << "outbox shed (superseded/oldest)  " << s.outbox_shed_superseded << '/'
      << s.outbox_shed_oldest << '\n'
      << "outbox over bound       " << s.outbox_over_bound << '\n'
      << "dead letters (dropped)  " << s.deadletter_items << " (" << s.deadletter_dropped << ")\n"
      << "map size                " << s.map_size << '\n'
      << "used bytes              " << s.used_bytes << '\n'
      << "file bytes              " << s.file_bytes << '\n'
      << "schema version          " << s.schema_version << '\n';
}

}  // namespace

int run_db(const CommandArgs& a) {
  const auto o = parse_db(a.args);
  if (o.action == "compact") {
    if (auto ec = store::Store::compact(o.data_dir)) {
      throw std::runtime_error("compact " + o.data_dir + ": " + ec.message());
    }
    a.out << "compacted " << o.data_dir << '\n';
    return kExitOk;
  }
  // Read-only: safe beside a running agent.
  store::StoreOptions so;
  so.environment.directory = o.data_dir;
  so.environment.read_only = true;
  so.environment.initial_map_size = 0;
  store::Store s;
  if (auto ec = s.open(so)) throw std::runtime_error("open " + o.data_dir + ": " + ec.message());
  store::StoreStats st;
  if (auto ec = s.stats(st)) throw std::runtime_error("stats: " + ec.message());
  print_stats(a.out, st, o.json);
  return kExitOk;
}

}  // namespace edgeid::agent
