#pragma once
/// @file
/// The edgeid command line: one binary, one table of subcommands.
///
/// Exit codes (DESIGN.md §10): 0 ok, 1 runtime failure, 2 usage or configuration error. Every
/// failure is reported as one line on stderr naming the problem.
/// Errors: subcommands may throw; run_cli() catches everything and maps it to an exit code.

#include <iosfwd>
#include <span>
#include <string_view>

namespace edgeid::agent {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

/// Runs the command line @p args (without argv[0]); writes results to @p out and diagnostics to
/// @p err. Returns the process exit code.
int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace edgeid::agent
