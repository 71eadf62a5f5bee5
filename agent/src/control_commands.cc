// The ONE table of control commands (DESIGN.md §6) and the dispatcher. Handlers are small and
// translate between the wire's JSON and ControlContext; the envelope, the authority check and
// the catch-all live in handle_request().

#include "control_commands.h"

#include <cstdint>
#include <exception>
#include <limits>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "agent/version.h"
#include "platform/time.h"

namespace edgeid::agent {

namespace json = boost::json;

namespace {

[[noreturn]] void bad_argument(std::string_view key, std::string_view what) {
  throw std::invalid_argument("argument '" + std::string(key) + "' " + std::string(what));
}

// Commands that take no arguments still reject unknown ones: a typo must not pass silently.
void expect_no_arguments(const json::object& arguments) {
  if (!arguments.empty()) bad_argument(arguments.begin()->key(), "is not accepted");
}

std::int64_t integer_argument(const json::value& v, std::string_view key, std::int64_t min,
                              std::int64_t max) {
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(max)) {
    n = static_cast<std::int64_t>(v.get_uint64());
  } else {
    bad_argument(key, "must be an integer");
  }
  if (n < min || n > max) {
    bad_argument(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

bool bool_argument(const json::value& v, std::string_view key) {
  if (!v.is_bool()) bad_argument(key, "must be true or false");
  return v.get_bool();
}

std::string string_argument(const json::value& v, std::string_view key) {
  if (!v.is_string() || v.get_string().empty()) bad_argument(key, "must be a non-empty string");
  return std::string(v.get_string());
}

Answer status_command(const json::object& arguments, ControlContext& context) {
  expect_no_arguments(arguments);
  return {kResultOk, "agent running", context.status()};
}

Answer devices_command(const json::object& arguments, ControlContext& context) {
  const DeviceQuery query = parse_device_query(arguments);
  Answer answer{kResultOk, "", context.devices(query)};
  std::size_t shown = 0;
  if (const auto* list = answer.arguments.if_contains("devices"); list && list->is_array()) {
    shown = list->get_array().size();
  }
  std::string total = "?";
  if (const auto* t = answer.arguments.if_contains("total"); t && t->is_number()) {
    total = json::serialize(*t);
  }
  answer.text = std::to_string(shown) + " of " + total + " devices";
  if (shown == 0) answer.result = kResultEmpty;
  return answer;
}

Answer device_command(const json::object& arguments, ControlContext& context) {
  std::string key;
  for (const auto& [k, v] : arguments) {
    if (k != "key") bad_argument(k, "is not accepted");
    key = string_argument(v, "key");
  }
  if (key.empty()) bad_argument("key", "is required (a MAC, IP, host name, UPN or serial)");
  auto record = context.device(key);
  if (!record) return {kResultEmpty, "no device matches '" + key + "'", {}};
  return {kResultOk, "device " + key, std::move(*record)};
}

// sync and flush share their shape: start something, report what happened.
template <std::error_code (ControlContext::*Action)(std::string&)>
Answer action_command(const json::object& arguments, ControlContext& context,
                      std::string_view what) {
  expect_no_arguments(arguments);
  std::string detail;
  const std::error_code ec = (context.*Action)(detail);
  Answer answer;
  answer.arguments["detail"] = detail;
  if (ec) {
    answer.result = kResultError;
    answer.text = std::string(what) + " failed: " + ec.message();
    if (!detail.empty()) answer.text += " (" + detail + ")";
  } else {
    answer.text = detail.empty() ? std::string(what) + " started" : detail;
  }
  return answer;
}

Answer sync_command(const json::object& arguments, ControlContext& context) {
  return action_command<&ControlContext::sync_now>(arguments, context, "sync");
}

Answer flush_command(const json::object& arguments, ControlContext& context) {
  return action_command<&ControlContext::flush_now>(arguments, context, "flush");
}

Answer upstream_retry_command(const json::object& arguments, ControlContext& context) {
  return action_command<&ControlContext::upstream_retry>(arguments, context, "upstream-retry");
}

Answer metrics_command(const json::object& arguments, ControlContext& context) {
  expect_no_arguments(arguments);
  Answer answer{kResultOk, "metrics (Prometheus text format 0.0.4)", {}};
  answer.arguments["metrics"] = context.metrics();
  return answer;
}

Answer config_get_command(const json::object& arguments, ControlContext& context) {
  expect_no_arguments(arguments);
  return {kResultOk, "running configuration (secrets redacted)", context.config_redacted()};
}

Answer version_command(const json::object& arguments, ControlContext&) {
  expect_no_arguments(arguments);
  Answer answer{kResultOk, std::string("edgeid ") + kVersion, {}};
  answer.arguments["version"] = kVersion;
  return answer;
}

Answer list_commands_command(const json::object& arguments, ControlContext&);

// Keep in the order `list-commands` should print. Help text is one line, lower case.
constexpr ControlCommand kControlCommands[] = {
    {"status", "agent state: uptime, capture counters, device counts, sync, outbox, store", false,
     status_command},
    {"devices",
     "list devices; arguments: state, vlan, seen_since, noncompliant, randomized, offset, limit",
     false, devices_command},
    {"device", "one device by MAC, IP, host name, UPN or serial; argument: key", false,
     device_command},
    {"sync", "start an identity sync (Intune and Entra ID) now", true, sync_command},
    {"flush", "write pending inventory changes to the store now", true, flush_command},
    {"upstream-retry", "re-send the batches the upstream refused (dead letters)", true,
     upstream_retry_command},
    {"metrics", "counters and gauges in Prometheus text format", false, metrics_command},
    {"config-get", "the running configuration with secrets redacted", false, config_get_command},
    {"list-commands", "the commands this agent accepts", false, list_commands_command},
    {"version", "the agent's version", false, version_command},
};

Answer list_commands_command(const json::object& arguments, ControlContext&) {
  expect_no_arguments(arguments);
  json::array list;
  for (const ControlCommand& c : kControlCommands) {
    list.push_back(json::object{{"name", c.name}, {"help", c.help}, {"mutates", c.mutates}});
  }
  Answer answer{kResultOk, std::to_string(list.size()) + " commands", {}};
  answer.arguments["commands"] = std::move(list);
  return answer;
}

Answer error(std::string text) {
  return {kResultError, std::move(text), {}};
}

}  // namespace

std::span<const ControlCommand> control_commands() noexcept {
  return kControlCommands;
}

const ControlCommand* find_control_command(std::string_view name) noexcept {
  for (const ControlCommand& c : kControlCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

DeviceQuery parse_device_query(const json::object& arguments) {
  DeviceQuery q;
  for (const auto& [key, v] : arguments) {
    if (key == "state") {
      q.state = string_argument(v, key);
      if (*q.state != "managed" && *q.state != "unmanaged" && *q.state != "identity_only") {
        bad_argument(key, "must be managed, unmanaged or identity_only");
      }
    } else if (key == "vlan") {
      q.vlan = static_cast<std::uint16_t>(integer_argument(v, key, 0, 4095));
    } else if (key == "seen_since") {
      if (v.is_string()) {
        const auto t = platform::Timestamp::parse_rfc3339(v.get_string());
        if (!t) bad_argument(key, "must be unix seconds or an RFC 3339 time");
        q.seen_since = t->unix_seconds();
      } else {
        q.seen_since = integer_argument(v, key, 0, std::numeric_limits<std::int64_t>::max());
      }
    } else if (key == "noncompliant") {
      q.noncompliant = bool_argument(v, key);
    } else if (key == "randomized") {
      q.randomized = bool_argument(v, key);
    } else if (key == "offset") {
      q.offset = static_cast<std::size_t>(
          integer_argument(v, key, 0, std::numeric_limits<std::int64_t>::max()));
    } else if (key == "limit") {
      q.limit = static_cast<std::size_t>(integer_argument(v, key, 1, 100'000));
    } else {
      bad_argument(key, "is not accepted");
    }
  }
  return q;
}

namespace {

Answer handle_request_unguarded(std::string_view request, ControlContext& context,
                                const std::function<bool()>& may_mutate) {
  if (request.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return error("empty request: expected {\"command\": NAME, \"arguments\": {...}}");
  }
  std::error_code ec;
  json::value parsed = json::parse(request, ec);
  if (ec) return error("malformed request: " + ec.message());
  if (!parsed.is_object()) return error("malformed request: not a JSON object");
  const json::object& envelope = parsed.get_object();
  const json::value* command = envelope.if_contains("command");
  if (command == nullptr || !command->is_string()) {
    return error("malformed request: \"command\" must be a string");
  }
  const json::object no_arguments;
  const json::object* arguments = &no_arguments;
  for (const auto& [key, v] : envelope) {
    if (key == "command") continue;
    if (key != "arguments") {
      return error("malformed request: unknown key '" + std::string(key) + "'");
    }
    if (!v.is_object()) return error("malformed request: \"arguments\" must be an object");
    arguments = &v.get_object();
  }

  const std::string name(command->get_string());
  const ControlCommand* row = find_control_command(name);
  if (row == nullptr) {
    return {kResultUnsupported, "unknown command '" + name + "'; try 'list-commands'", {}};
  }
  try {
    if (row->mutates && !may_mutate()) {
      return error("permission denied: '" + name +
                   "' changes the agent's state and needs root or the admin group");
    }
    return row->handler(*arguments, context);
  } catch (const std::invalid_argument& e) {
    return error(name + ": " + e.what());
  } catch (const std::exception& e) {
    return error(name + " failed: " + e.what());
  } catch (...) {
    return error(name + " failed: unknown exception");
  }
}

}  // namespace

Answer handle_request(std::string_view request, ControlContext& context,
                      const std::function<bool()>& may_mutate) {
  try {
    return handle_request_unguarded(request, context, may_mutate);
  } catch (const std::exception& e) {  // parsing or answer building ran out of memory, say
    return error(std::string("request failed: ") + e.what());
  } catch (...) {
    return error("request failed: unknown exception");
  }
}

std::string serialize_answer(const Answer& answer) {
  json::object envelope;
  envelope["result"] = answer.result;
  envelope["text"] = answer.text;
  envelope["arguments"] = answer.arguments;
  return json::serialize(envelope);
}

}  // namespace edgeid::agent
