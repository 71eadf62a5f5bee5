#pragma once
/// @file
/// The systemd notification protocol without libsystemd: one datagram to $NOTIFY_SOCKET.
///
/// States the agent sends: "READY=1" once the control socket is up, "STATUS=<text>" for
/// `systemctl status`, "WATCHDOG=1" from a timer when WatchdogSec= is set, "STOPPING=1" and
/// "RELOADING=1". Several may be sent in one call, separated by '\n'.
///
/// Address: an absolute path, or an abstract-namespace name written with a leading '@'.
/// Thread safety: stateless; safe from any thread (one socket per call).
/// Errors: std::error_code; errc::invalid_argument for an address that is neither form.

#include <string>
#include <string_view>
#include <system_error>

namespace edgeid::platform {

/// Sends @p state to the socket named by $NOTIFY_SOCKET. Does nothing and returns success when
/// the variable is unset or empty (not started by systemd, or Type= is not notify).
std::error_code sd_notify(std::string_view state);

/// Sends @p state to @p address (path or '@abstract'): the testable core of sd_notify().
std::error_code sd_notify_to(std::string_view address, std::string_view state);

}  // namespace edgeid::platform
