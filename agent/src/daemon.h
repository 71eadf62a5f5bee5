#pragma once
// `edgeid run` without --once: the long-running agent (DESIGN.md §2, §6, §7).
//
// Threads: one capture thread (CaptureWorker) and the calling thread, which runs the io_context
// for everything else: identity syncs, store flushes, the control socket, signals and timers.
// Start-up order: signals blocked, store opened, capture files and interfaces opened, identity
// credentials read, control socket created — then privileges dropped (to `user` with no
// capability when started as root; capabilities cleared otherwise), then the capture thread
// starts and READY=1 goes to systemd.
//
// Errors: returns an exit code (DESIGN.md §10): 0 after a clean stop (SIGTERM/SIGINT), 1 when
// start-up fails (message on @p err), 2 for a configuration error.

#include <filesystem>
#include <ostream>

#include "agent/config.h"

namespace edgeid::agent {

struct DaemonOptions {
  std::filesystem::path config_file;  ///< re-read on SIGHUP; empty: the embedded default
};

int run_daemon(Config config, const DaemonOptions& options, std::ostream& err);

}  // namespace edgeid::agent
