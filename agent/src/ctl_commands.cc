// The CLI side of the control socket: `edgeid status|devices|device|sync|flush|metrics|
// config-get|list-commands`. Each sends one request to the running agent and prints the answer:
// aligned human text by default, JSON with --json (the answer's arguments as one line; `devices`
// prints one record per line, NDJSON, like `ingest --json`).
//
// Exit codes: 0 ok (an empty `devices` list included), 1 when the agent is not running, refuses,
// fails, or `device` finds nothing, 2 for bad usage.

#include <charconv>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "agent/cli.h"
#include "args.h"
#include "commands.h"
#include "control_client.h"
#include "control_commands.h"
#include "device_json.h"

namespace edgeid::agent {

namespace json = boost::json;

namespace {

struct CtlOptions {
  bool json = false;
  ControlClientOptions client;
};

std::int64_t parse_integer(std::string_view option, std::string_view text) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw UsageError(std::string(option) + " needs an integer, not '" + std::string(text) + "'");
  }
  return n;
}

// The options every control subcommand takes; false when @p arg is not one of them.
bool common_option(ArgReader& r, std::string_view arg, CtlOptions& o) {
  if (arg == "--json") {
    o.json = true;
  } else if (arg == "--socket") {
    o.client.socket_path = r.value_of(arg);
  } else if (arg == "--timeout") {
    const auto seconds = parse_integer(arg, r.value_of(arg));
    if (seconds < 1 || seconds > 3600) throw UsageError("--timeout must be 1-3600 seconds");
    o.client.timeout = std::chrono::seconds(seconds);
  } else {
    return false;
  }
  return true;
}

CtlOptions only_common_options(const CommandArgs& a) {
  CtlOptions o;
  ArgReader r(a.args);
  while (!r.done()) {
    const std::string_view arg = r.next();
    if (!common_option(r, arg, o)) ArgReader::unknown(arg);
  }
  return o;
}

// Sends the request; on any failure prints one line and returns the exit code in @p exit_code.
bool call(const CommandArgs& a, const CtlOptions& o, std::string_view command,
          const json::object& arguments, ControlReply& reply, int& exit_code) {
  const std::error_code ec = control_request(o.client, command, arguments, reply);
  const std::string prefix = "edgeid " + std::string(command) + ": ";
  exit_code = kExitRuntime;
  if (ec) {
    if (is_agent_not_running(ec)) {
      a.err << prefix << "the agent is not running (cannot connect to " << o.client.socket_path
            << ": " << ec.message() << ")\n";
    } else if (ec == std::errc::permission_denied) {
      a.err << prefix << "permission denied on " << o.client.socket_path
            << " (run as root or as a member of the socket's group)\n";
    } else if (ec == std::errc::resource_unavailable_try_again) {
      a.err << prefix << "the agent did not answer in time\n";
    } else {
      a.err << prefix << "control socket " << o.client.socket_path << ": " << ec.message() << '\n';
    }
    return false;
  }
  if (reply.result == kResultUnsupported) {
    a.err << prefix << "the agent does not know this command (" << printable(reply.text)
          << "); is it an older version?\n";
    return false;
  }
  if (reply.result != kResultOk && reply.result != kResultEmpty) {
    a.err << prefix << printable(reply.text) << '\n';
    return false;
  }
  exit_code = kExitOk;
  return true;
}

// Display width in terminal columns, assuming one column per code point.
std::size_t width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

void pad(std::ostream& out, std::string_view s, std::size_t to) {
  out << s;
  for (std::size_t w = width(s); w < to; ++w) out << ' ';
}

// A scalar as text for a human: strings without quotes and made terminal-safe.
std::string scalar_text(const json::value& v) {
  if (v.is_string()) return printable(v.get_string());
  if (v.is_null()) return "-";
  if (v.is_double()) {  // 0.6, not Boost.JSON's 6E-1
    std::ostringstream out;
    out << v.get_double();
    return out.str();
  }
  return json::serialize(v);
}

// Flattens nested objects into dotted keys; arrays of scalars become comma-separated values.
void flatten(const json::value& v, const std::string& key,
             std::vector<std::pair<std::string, std::string>>& rows) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.get_object()) {
      flatten(child, key.empty() ? std::string(k) : key + "." + std::string(k), rows);
    }
    return;
  }
  if (v.is_array()) {
    const auto& array = v.get_array();
    bool scalars = true;
    for (const auto& item : array) scalars = scalars && !item.is_object() && !item.is_array();
    if (scalars) {
      std::string joined;
      for (const auto& item : array) joined += (joined.empty() ? "" : ", ") + scalar_text(item);
      rows.emplace_back(key, array.empty() ? "-" : joined);
      return;
    }
    for (std::size_t i = 0; i < array.size(); ++i) {
      flatten(array[i], key + "[" + std::to_string(i) + "]", rows);
    }
    return;
  }
  rows.emplace_back(key, scalar_text(v));
}

void print_key_values(std::ostream& out, const json::object& o) {
  std::vector<std::pair<std::string, std::string>> rows;
  flatten(o, "", rows);
  std::size_t key_width = 0;
  for (const auto& [k, v] : rows) key_width = std::max(key_width, width(k));
  for (const auto& [k, v] : rows) {
    pad(out, k + ":", key_width + 2);
    out << v << '\n';
  }
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  }
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size()) {
        out << row[i];
      } else {
        pad(out, row[i], widths[i] + 2);
      }
    }
    out << '\n';
  }
}

// The text of a field of a record (possibly nested: "identity.user_principal_name"), or "-".
std::string cell(const json::object& record, std::string_view path) {
  const json::object* o = &record;
  for (;;) {
    const auto dot = path.find('.');
    const json::value* v = o->if_contains(path.substr(0, dot));
    if (v == nullptr) return "-";
    if (dot == std::string_view::npos) {
      if (v->is_array()) {
        std::string joined;
        for (const auto& item : v->get_array()) {
          joined += (joined.empty() ? "" : ",") + scalar_text(item);
        }
        return joined.empty() ? "-" : joined;
      }
      const std::string text = scalar_text(*v);
      return text.empty() ? "-" : text;
    }
    if (!v->is_object()) return "-";
    o = &v->get_object();
    path.remove_prefix(dot + 1);
  }
}

void print_json_line(std::ostream& out, const json::object& o) {
  out << json::serialize(o) << '\n';
}

int run_simple(const CommandArgs& a, std::string_view command) {
  const CtlOptions o = only_common_options(a);
  ControlReply reply;
  int exit_code = 0;
  if (!call(a, o, command, {}, reply, exit_code)) return exit_code;
  if (o.json) {
    print_json_line(a.out, reply.arguments);
  } else {
    print_key_values(a.out, reply.arguments);
  }
  return kExitOk;
}

}  // namespace

int run_status(const CommandArgs& a) {
  return run_simple(a, "status");
}

int run_config_get(const CommandArgs& a) {
  return run_simple(a, "config-get");
}

int run_devices(const CommandArgs& a) {
  CtlOptions o;
  json::object query;
  ArgReader r(a.args);
  while (!r.done()) {
    const std::string_view arg = r.next();
    if (common_option(r, arg, o)) continue;
    if (arg == "--state") {
      query["state"] = r.value_of(arg);
    } else if (arg == "--vlan") {
      query["vlan"] = parse_integer(arg, r.value_of(arg));
    } else if (arg == "--seen-since") {
      // Unix seconds or an RFC 3339 time: the agent checks which.
      const std::string value = r.value_of(arg);
      std::int64_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec == std::errc() && end == value.data() + value.size()) {
        query["seen_since"] = n;
      } else {
        query["seen_since"] = value;
      }
    } else if (arg == "--noncompliant") {
      query["noncompliant"] = true;
    } else if (arg == "--randomized") {
      query["randomized"] = true;
    } else if (arg == "--offset") {
      query["offset"] = parse_integer(arg, r.value_of(arg));
    } else if (arg == "--limit") {
      query["limit"] = parse_integer(arg, r.value_of(arg));
    } else {
      ArgReader::unknown(arg);
    }
  }
  ControlReply reply;
  int exit_code = 0;
  if (!call(a, o, "devices", query, reply, exit_code)) return exit_code;

  const json::value* list = reply.arguments.if_contains("devices");
  const json::array empty;
  const json::array& devices = list && list->is_array() ? list->get_array() : empty;
  if (o.json) {
    for (const auto& d : devices) {
      if (d.is_object()) print_json_line(a.out, d.get_object());
    }
    return kExitOk;
  }
  if (devices.empty()) {
    a.out << "no devices match\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"MAC", "STATE", "VLANS", "IPV4", "HOSTNAME", "OWNER/UPN", "COMPLIANCE", "LAST SEEN"});
  for (const auto& d : devices) {
    if (!d.is_object()) continue;
    const json::object& rec = d.get_object();
    rows.push_back({cell(rec, "mac"), cell(rec, "state"), cell(rec, "vlans"), cell(rec, "ipv4"),
                    cell(rec, "hostname"), cell(rec, "identity.user_principal_name"),
                    cell(rec, "identity.compliance_state"), cell(rec, "last_seen")});
  }
  print_table(a.out, rows);
  std::int64_t total = static_cast<std::int64_t>(devices.size());
  std::int64_t offset = 0;
  if (const auto* t = reply.arguments.if_contains("total"); t && t->is_int64()) {
    total = t->get_int64();
  }
  if (const auto* t = reply.arguments.if_contains("offset"); t && t->is_int64()) {
    offset = t->get_int64();
  }
  const auto shown = static_cast<std::int64_t>(devices.size());
  if (offset != 0 || shown < total) {
    a.out << "(devices " << offset + 1 << "-" << offset + shown << " of " << total
          << "; use --offset and --limit for more)\n";
  }
  return kExitOk;
}

int run_device(const CommandArgs& a) {
  CtlOptions o;
  std::string key;
  ArgReader r(a.args);
  while (!r.done()) {
    const std::string_view arg = r.next();
    if (common_option(r, arg, o)) continue;
    if (arg.starts_with("--") || !key.empty()) ArgReader::unknown(arg);
    key = std::string(arg);
  }
  if (key.empty()) throw UsageError("needs a KEY: a MAC, IP address, host name, UPN or serial");
  ControlReply reply;
  int exit_code = 0;
  if (!call(a, o, "device", json::object{{"key", key}}, reply, exit_code)) return exit_code;
  if (reply.result == kResultEmpty) {
    a.err << "edgeid device: " << printable(reply.text) << '\n';
    return kExitRuntime;
  }
  if (o.json) {
    print_json_line(a.out, reply.arguments);
  } else {
    print_key_values(a.out, reply.arguments);
  }
  return kExitOk;
}

namespace {

int run_action(const CommandArgs& a, std::string_view command) {
  const CtlOptions o = only_common_options(a);
  ControlReply reply;
  int exit_code = 0;
  if (!call(a, o, command, {}, reply, exit_code)) return exit_code;
  if (o.json) {
    print_json_line(a.out, reply.arguments);
  } else {
    a.out << printable(reply.text) << '\n';
  }
  return kExitOk;
}

}  // namespace

int run_sync(const CommandArgs& a) {
  return run_action(a, "sync");
}

int run_flush(const CommandArgs& a) {
  return run_action(a, "flush");
}

int run_upstream_retry(const CommandArgs& a) {
  return run_action(a, "upstream-retry");
}

int run_metrics(const CommandArgs& a) {
  const CtlOptions o = only_common_options(a);
  ControlReply reply;
  int exit_code = 0;
  if (!call(a, o, "metrics", {}, reply, exit_code)) return exit_code;
  if (o.json) {
    print_json_line(a.out, reply.arguments);
    return kExitOk;
  }
  // Prometheus text as the agent wrote it (already line-oriented text for a scraper or a human).
  if (const auto* m = reply.arguments.if_contains("metrics"); m && m->is_string()) {
    a.out << std::string_view(m->get_string());
  }
  return kExitOk;
}

int run_list_commands(const CommandArgs& a) {
  const CtlOptions o = only_common_options(a);
  ControlReply reply;
  int exit_code = 0;
  if (!call(a, o, "list-commands", {}, reply, exit_code)) return exit_code;
  if (o.json) {
    print_json_line(a.out, reply.arguments);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"COMMAND", "ACCESS", "HELP"});
  if (const auto* list = reply.arguments.if_contains("commands"); list && list->is_array()) {
    for (const auto& c : list->get_array()) {
      if (!c.is_object()) continue;
      const auto* mutates = c.get_object().if_contains("mutates");
      rows.push_back({cell(c.get_object(), "name"),
                      mutates && mutates->is_bool() && mutates->get_bool() ? "admin" : "read",
                      cell(c.get_object(), "help")});
    }
  }
  print_table(a.out, rows);
  return kExitOk;
}

}  // namespace edgeid::agent
