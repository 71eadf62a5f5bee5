#pragma once
/// @file
/// Thread scheduling: making the agent's own work yield to capture.
///
/// Capture threads must never wait for a core behind a store flush or a Graph page: their
/// kernel ring is all that holds frames meanwhile. Raising a priority needs CAP_SYS_NICE, which
/// the agent drops; lowering one does not. So the capture threads are started first, at the
/// process's priority, and then the agent thread lowers its own (Linux: nice is per thread).
/// Threads created afterwards by the lowered thread inherit its lower priority.
///
/// Thread safety: affects the calling thread only.
/// Errors: std::error_code (system category).

#include <system_error>

namespace edgeid::platform {

/// Adds @p increment (> 0) to the calling thread's nice value (capped at 19 by the kernel).
std::error_code lower_thread_priority(int increment) noexcept;

/// The calling thread's nice value.
int thread_nice() noexcept;

}  // namespace edgeid::platform
