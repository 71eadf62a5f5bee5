#pragma once
// The control protocol's one command table, and the dispatcher that answers a request line.
//
// Wire format (DESIGN.md §6), one request per connection, one line each way:
//
//   request:  {"command": "devices", "arguments": {"state": "managed", "limit": 2}}
//   response: {"result": 0, "text": "2 of 17 devices",
//              "arguments": {"devices": [{"mac": "3c:22:fb:00:00:01", ...}, ...],
//                            "total": 17, "offset": 0}}
//
// Result codes (Kea's): 0 ok, 1 error (malformed request, bad argument, refused, failed), 2
// unknown command, 3 empty (the command ran and found nothing, e.g. `device` with no match).
//
// A command is added in exactly one place: a row of the table in control_commands.cc
// {name, help, mutates, handler}. `list-commands` and the CLI help are generated from it.
// Mutating rows run only when the server says the caller may mutate (root or the admin group,
// decided from SO_PEERCRED by control_server.cc).
//
// Thread safety: the table is constant; handle_request() calls the ControlContext and must run
// on the agent's io_context thread (ControlContext's contract).

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "control_context.h"

namespace edgeid::agent {

inline constexpr int kResultOk = 0;
inline constexpr int kResultError = 1;
inline constexpr int kResultUnsupported = 2;
inline constexpr int kResultEmpty = 3;

/// One response envelope.
struct Answer {
  int result = kResultOk;
  std::string text;
  boost::json::object arguments;
};

/// A handler reads its arguments (already checked to be an object) and asks the context.
/// Throwing std::invalid_argument reports a bad argument (result 1 with its message); any other
/// exception is caught by handle_request() and answered with result 1 too.
using ControlHandler = Answer (*)(const boost::json::object& arguments, ControlContext& context);

struct ControlCommand {
  std::string_view name;  ///< kebab-case, unique
  std::string_view help;  ///< one line, never empty
  bool mutates;           ///< changes agent state: root or the admin group only
  ControlHandler handler;
};

/// The table, in the order `list-commands` shows it.
std::span<const ControlCommand> control_commands() noexcept;
/// The row named @p name, or nullptr.
const ControlCommand* find_control_command(std::string_view name) noexcept;

/// Parses and runs one request (the line without its '\n'). Never throws: every failure is an
/// Answer. @p may_mutate is asked only when the command mutates (it may consult the user
/// database, which can be slow).
Answer handle_request(std::string_view request, ControlContext& context,
                      const std::function<bool()>& may_mutate);

/// The response envelope as one line of JSON, without the newline.
std::string serialize_answer(const Answer& answer);

/// `devices` arguments → DeviceQuery: state (managed|unmanaged|identity_only), vlan (0-4095),
/// seen_since (unix seconds or RFC 3339), noncompliant and randomized (booleans), offset and
/// limit (limit 1-100000, default 1000). Unknown keys and bad values throw std::invalid_argument
/// naming the key.
DeviceQuery parse_device_query(const boost::json::object& arguments);

}  // namespace edgeid::agent
